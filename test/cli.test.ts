/**
 * End-to-end tests of the `oneclass` CLI, run in-process through runCli (the same function the
 * executable calls) with captured output: fit, score, localize, eval, bench, info on real images,
 * numbers checked against the library API and scikit-learn references, and bad input.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import { COMMANDS, parseCommandLine } from '../src/cli/args.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { runCli } from '../src/cli/run.js';
import { rocAuc } from '../src/eval/roc.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { Detector } from '../src/pipeline/detector.js';
import { FIXTURES, hasSharedData, REPO } from './helpers.js';
import { EXAMPLES, exampleFiles, folderWith, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (chunk, _e, cb) => (f(String(chunk)), cb()) });
  const code = await runCli(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

const FAST = ['--resize', '128', '--patch-size', '64', '--stride', '32'];
const trainDir = folderWith(exampleFiles('train/good', 12), 'train');
const probeDir = folderWith([...exampleFiles('test/good', 2), ...exampleFiles('test/crack', 2)], 'probe');
const work = tempDir('cli');
const model = join(work, 'tile.oneclass');

beforeAll(async () => {
  const r = await cli(
    'fit',
    '--encoder',
    TILE_ENCODER,
    '--train',
    trainDir,
    '--out',
    model,
    '--detector',
    'kde',
    '--localize',
    ...FAST,
    '--device',
    'cpu',
    '--quiet',
  );
  if (r.code !== 0) throw new Error(`fit failed: ${r.stderr}`);
});

describe('oneclass fit / score / localize', () => {
  it('fit writes one model file with the options given', async () => {
    const det = await Detector.load(model);
    expect(det.config.detector.kind).toBe('kde');
    expect(det.config.localization?.geometry).toMatchObject({ resize: 128, patchSize: 64, stride: 32 });
    expect(det.config.training.images).toBe(12);
    await det.release();
  });

  it('fit with a labelled validation set sets an F1-optimal threshold, and needs both folders', async () => {
    const good = folderWith(exampleFiles('test/good', 3), 'val-good');
    const bad = folderWith(exampleFiles('test/uneven', 2), 'val-bad');
    const out = join(work, 'validated.oneclass');
    const r = await cli(
      'fit',
      '--encoder',
      TILE_ENCODER,
      '--train',
      trainDir,
      '--validation-good',
      good,
      '--validation-anomalous',
      bad,
      '--out',
      out,
      '--quiet',
    );
    expect(r.code).toBe(EXIT.OK);
    const det = await Detector.load(out);
    try {
      expect(det.config.image.threshold).toBeTypeOf('number');
      expect(det.config.image.method).toBe('f1-max');
    } finally {
      await det.release();
    }
    const half = await cli(
      'fit',
      '--encoder',
      TILE_ENCODER,
      '--train',
      trainDir,
      '--validation-good',
      good,
      '--out',
      join(work, 'half.oneclass'),
    );
    expect(half.code).toBe(EXIT.USAGE);
    expect(half.stderr).toMatch(/--validation-anomalous/);
    expect(existsSync(join(work, 'half.oneclass'))).toBe(false);
  });

  it('score CSV equals the library API on the same images', async () => {
    const r = await cli('score', '--model', model, probeDir);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('image,score,raw_score,anomalous,threshold');
    const det = await Detector.load(model);
    const files = readdirSync(probeDir)
      .sort()
      .map((f) => join(probeDir, f));
    const api = await det.score(files);
    expect(lines.length - 1).toBe(files.length);
    lines.slice(1).forEach((line, i) => {
      const [id, score, raw, anomalous] = line.split(',');
      expect(id).toBe(files[i]);
      expect(Number(score)).toBe(api.items[i].score);
      expect(Number(raw)).toBe(api.items[i].raw);
      expect(anomalous).toBe(api.items[i].anomalous ? '1' : '0');
    });
    await det.release();
  });

  it('score --out FILE.json writes JSON atomically', async () => {
    const out = join(work, 'scores.json');
    const r = await cli('score', '--model', model, '--out', out, '--quiet', probeDir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.scores).toHaveLength(4);
    expect(typeof doc.threshold).toBe('number');
  });

  it('localize writes a heatmap and an overlay per image, at the image size, plus scores.csv', async () => {
    const out = join(work, 'heatmaps');
    const r = await cli('localize', '--model', model, '--out-dir', out, '--quiet', probeDir);
    expect(r.code).toBe(0);
    for (const f of readdirSync(probeDir)) {
      const stem = f.replace(/\.jpg$/, '');
      const input = await sharp(join(probeDir, f)).metadata();
      const heat = await sharp(join(out, `${stem}_heatmap.png`)).metadata();
      const over = await sharp(join(out, `${stem}_overlay.png`)).metadata();
      expect([heat.width, heat.height, heat.channels]).toEqual([input.width, input.height, 1]);
      expect([over.width, over.height, over.channels]).toEqual([input.width, input.height, 3]);
    }
    expect(readFileSync(join(out, 'scores.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
  });
});

describe('oneclass eval against scikit-learn', () => {
  function fixture(name: string) {
    return JSON.parse(readFileSync(join(FIXTURES, 'eval', name), 'utf8')) as {
      command: string;
      sklearn: { roc_auc_score: number; f1_max: number };
      scores: { id: string; label: number; score: number }[];
    };
  }

  async function check(name: string) {
    const f = fixture(name);
    const saved = join(work, `${name}.scores.json`);
    const args = f.command
      .split(' ')
      .map((a) =>
        a.startsWith('models/') || a.startsWith('examples/')
          ? join(REPO, a)
          : a.startsWith('../shared')
            ? join(REPO, a)
            : a,
      );
    const r = await cli(...args, '--json', '--save-scores', saved);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const scores = JSON.parse(readFileSync(saved, 'utf8')).scores as { label: number; score: number }[];
    // Same scores as when the reference was made (ONNX Runtime on another CPU may differ in the last bits).
    expect(scores.map((s) => s.label)).toEqual(f.scores.map((s) => s.label));
    scores.forEach((s, i) => expect(s.score).toBeCloseTo(f.scores[i].score, 4));
    // The CLI's AUROC is the library's on the same scores, and scikit-learn's roc_auc_score.
    expect(report.imageAuroc).toBe(
      rocAuc(
        scores.map((s) => s.score),
        scores.map((s) => s.label),
      ),
    );
    expect(report.imageAuroc).toBeCloseTo(f.sklearn.roc_auc_score, 10);
    expect(report.imageF1.f1).toBeCloseTo(f.sklearn.f1_max, 10);
  }

  it('MVTec layout (bundled magnetic-tile examples), 1-NN', () => check('cli-examples-knn.json'));
  it.skipIf(!hasSharedData)('CIFAR-10 one-class protocol (subsampled), KDE', () => check('cli-cifar10-kde.json'));

  it('--pixel reports pixel AUROC and AUPRO from the masks', async () => {
    const r = await cli(
      'eval',
      '--model',
      model,
      '--dataset',
      'mvtec',
      '--data',
      EXAMPLES,
      '--pixel',
      '--json',
      '--test-limit',
      '8',
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.pixel.pixelAuroc).toBeGreaterThan(0);
    expect(report.pixel.pixelAuroc).toBeLessThan(1);
    expect(report.pixel.aupro).toBeGreaterThanOrEqual(0);
    expect(report.pixel.defectPixels).toBeGreaterThan(0);
  });
});

describe('oneclass bench and info', () => {
  it('bench --json reports percentiles and throughput per stage', async () => {
    const r = await cli('bench', '--model', model, '--repeat', '1', '--batch-size', '2', '--json', probeDir);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const stage of ['decode', 'encode', 'detect', 'heatmaps', 'endToEnd']) {
      expect(report.stages[stage].images).toBe(4);
      expect(report.stages[stage].p90Ms).toBeGreaterThanOrEqual(report.stages[stage].p50Ms);
      expect(report.stages[stage].imagesPerSecond).toBeGreaterThan(0);
    }
  });

  it('info --json says which backend runs and why CUDA is or is not used', async () => {
    const r = await cli('info', '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(['cpu', 'cuda']).toContain(info.stage2.auto);
    if (info.stage2.auto === 'cpu') expect(info.stage2.cudaUnavailableReason.length).toBeGreaterThan(0);
  });
});

describe('bad input: clear messages, exit codes, nothing overwritten', () => {
  it('a missing training folder exits 3 naming it, and leaves an existing model untouched', async () => {
    const before = readFileSync(model);
    const r = await cli('fit', '--encoder', TILE_ENCODER, '--train', join(work, 'nope'), '--out', model);
    expect(r.code).toBe(EXIT.INPUT);
    expect(r.stderr).toContain(join(work, 'nope'));
    // Buffer.equals: vitest's deep equality walks a 4 MB buffer element by element.
    expect(readFileSync(model).equals(before)).toBe(true);
  });

  it('an empty training folder exits 3', async () => {
    const empty = tempDir('empty');
    const out = join(work, 'never.oneclass');
    const r = await cli('fit', '--encoder', TILE_ENCODER, '--train', empty, '--out', out);
    expect(r.code).toBe(EXIT.INPUT);
    expect(r.stderr).toMatch(/holds no images/);
    expect(existsSync(out)).toBe(false);
  });

  it('an unreadable image among good ones: error naming it, or skipped with a warning listing it', async () => {
    const dir = folderWith(exampleFiles('train/good', 6), 'mixed');
    writeFileSync(join(dir, 'zz_truncated.jpg'), readFileSync(exampleFiles('train/good', 1)[0]).subarray(0, 300));
    const out = join(work, 'mixed.oneclass');
    const failed = await cli('fit', '--encoder', TILE_ENCODER, '--train', dir, '--out', out);
    expect(failed.code).toBe(EXIT.INPUT);
    expect(failed.stderr).toContain('zz_truncated.jpg');
    expect(existsSync(out)).toBe(false);
    const skipped = await cli('fit', '--encoder', TILE_ENCODER, '--train', dir, '--out', out, '--skip-unreadable');
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(/warning: skipped 1 unreadable image/);
    expect(skipped.stderr).toContain('zz_truncated.jpg');
    const scored = await cli('score', '--model', out, '--skip-unreadable', dir);
    expect(scored.code).toBe(0);
    expect(scored.stdout.trim().split('\n')).toHaveLength(7);
  });

  it('a model file from a newer version exits 4 with an upgrade message', async () => {
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(model)));
    const newer = join(work, 'newer.oneclass');
    writeFileSync(newer, encodeSafetensors(tensors, { ...metadata, version: '99' }));
    const r = await cli('score', '--model', newer, probeDir);
    expect(r.code).toBe(EXIT.MODEL_FORMAT);
    expect(r.stderr).toMatch(/newer oneclass \(model layout version 99/);
  });

  it('a corrupted model file exits 4', async () => {
    const bytes = readFileSync(model);
    bytes[bytes.length - 5] ^= 0xff;
    const bad = join(work, 'corrupt.oneclass');
    writeFileSync(bad, bytes);
    const r = await cli('score', '--model', bad, probeDir);
    expect(r.code).toBe(EXIT.MODEL_FORMAT);
    expect(r.stderr).toMatch(/checksum mismatch/);
  });

  it('a wrong image size for a fixed-size model exits 3 naming the image', async () => {
    const dir = tempDir('fixed');
    mkdirSync(join(dir, 'train'));
    for (let i = 0; i < 6; i++) {
      await sharp(exampleFiles('train/good', 6)[i])
        .resize(96, 96)
        .toColourspace('b-w')
        .toFile(join(dir, 'train', `t${i}.png`));
    }
    await sharp(exampleFiles('test/good', 1)[0]).resize(120, 96).toColourspace('b-w').toFile(join(dir, 'odd.png'));
    const out = join(dir, 'fixed.oneclass');
    const fitted = await cli(
      'fit',
      '--encoder',
      TILE_ENCODER,
      '--train',
      join(dir, 'train'),
      '--out',
      out,
      '--detector',
      'knn',
    );
    expect(fitted.code, fitted.stderr).toBe(0);
    const r = await cli('score', '--model', out, join(dir, 'odd.png'));
    expect(r.code).toBe(EXIT.INPUT);
    expect(r.stderr).toMatch(/odd\.png is 120x96 but the model was fitted on 96x96/);
    expect((await cli('score', '--model', out, '--allow-resize', join(dir, 'odd.png'))).code).toBe(0);
  });

  it('usage errors exit 2; --help works for every command', async () => {
    expect((await cli('fit', '--bogus')).code).toBe(EXIT.USAGE);
    expect((await cli('frobnicate')).code).toBe(EXIT.USAGE);
    const missing = await cli('fit', '--train', trainDir);
    expect(missing.code).toBe(EXIT.USAGE);
    expect(missing.stderr).toMatch(/--encoder/);
    expect((await cli('score', '--model', model, '--batch-size', 'many', probeDir)).stderr).toMatch(
      /--batch-size but received 'many'/,
    );
    for (const command of Object.keys(COMMANDS)) {
      const r = await cli(command, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: oneclass ${command}`);
    }
  });

  it('parseCommandLine is callable without running anything', () => {
    const p = parseCommandLine(['score', '-m', 'x.oneclass', '--json', 'a.png', 'b.png']);
    expect(p).toMatchObject({
      command: 'score',
      values: { model: 'x.oneclass', json: true },
      positionals: ['a.png', 'b.png'],
    });
  });
});
