/**
 * The CLI over a dense encoder (the tiny random-init fixture): fit --patch-method / --coreset-ratio /
 * --image-score, info --model showing the localization method and the memory bank, localize
 * writing heatmaps, and the option named when the encoder has no dense block.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../src/cli/exit-codes.js';
import { runCli } from '../src/cli/run.js';
import { fitDistributed } from '../src/jobs/fit.js';
import { CIFAR_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';
import { TINY_DENSE, tinyImages } from './fixtures/dense/helpers.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (chunk, _e, cb) => (f(String(chunk)), cb()) });
  const code = await runCli(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

const work = tempDir('cli-dense');
const trainDir = join(work, 'train');
const probeDir = join(work, 'probe');
const model = join(work, 'dense.oneclass');

beforeAll(async () => {
  mkdirSync(trainDir);
  mkdirSync(probeDir);
  const write = (dir: string, images: ReturnType<typeof tinyImages>, prefix: string) =>
    Promise.all(
      images.map((im, i) =>
        sharp(im.data, { raw: { width: im.width, height: im.height, channels: 1 } })
          .png()
          .toFile(join(dir, `${prefix}${i}.png`)),
      ),
    );
  await write(trainDir, tinyImages(12, 1), 'train');
  await write(probeDir, tinyImages(1, 2), 'good');
  await write(probeDir, tinyImages(1, 3, true), 'bad');
  const r = await cli(
    'fit',
    '--encoder',
    TINY_DENSE,
    '--train',
    trainDir,
    '--out',
    model,
    '--detector',
    'gde',
    '--patch-method',
    'patchcore',
    '--coreset-ratio',
    '0.5',
    '--image-score',
    'top-k-mean',
    '--device',
    'cpu',
    '--quiet',
  );
  if (r.code !== 0) throw new Error(`fit failed: ${r.stderr}`);
});

describe('oneclass with a dense encoder', () => {
  it('info --model shows the localization method, bank rows, source rows and coreset ratio', async () => {
    const r = await cli('info', '--model', model, '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.imageScore).toBe('heatmap-top-k');
    expect(info.localization).toMatchObject({
      method: 'patchcore',
      grid: { height: 8, width: 8, stride: 8 },
      bank: { rows: 6 * 64, sourceRows: 12 * 64, coresetRatio: 0.5, dim: 16 },
    });
    const text = await cli('info', '--model', model);
    expect(text.stdout).toMatch(/localization: patchcore, 8x8 grid at stride 8/);
    expect(text.stdout).toMatch(/memory bank: 384 rows x 16 \(from 768 source rows, coreset ratio 0\.500\)/);
  });

  it('localize writes a heatmap and an overlay per image', async () => {
    const out = join(work, 'maps');
    const r = await cli('localize', '--model', model, '--out-dir', out, probeDir, '--quiet');
    expect(r.code).toBe(0);
    for (const name of ['good0', 'bad0']) {
      expect(existsSync(join(out, `${name}_heatmap.png`))).toBe(true);
      const meta = await sharp(join(out, `${name}_overlay.png`)).metadata();
      expect([meta.width, meta.height]).toEqual([64, 64]);
    }
  });

  it('a distributed fit refuses a dense method before it contacts Redis', async () => {
    const images = ['train0.png', 'train1.png'].map((f) => join(trainDir, f));
    await expect(
      fitDistributed({
        fit: { encoder: TINY_DENSE, images, detector: { kind: 'gde' }, localization: true },
        redisUrl: 'redis://127.0.0.1:1',
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: 'localization.method' });
  });

  it('a dense method for an encoder without a dense block names the option', async () => {
    const r = await cli(
      'fit',
      '--encoder',
      CIFAR_ENCODER,
      '--train',
      trainDir,
      '--out',
      join(work, 'never.oneclass'),
      '--patch-method',
      'padim',
      '--quiet',
    );
    expect(r.code).toBe(EXIT.INPUT);
    expect(r.stderr).toMatch(/localization\.method/);
    expect(existsSync(join(work, 'never.oneclass'))).toBe(false);
  });
});
