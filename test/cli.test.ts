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
import {
  CIFAR_ENCODER,
  EXAMPLES,
  exampleFiles,
  folderWith,
  TILE_ENCODER,
  tempDir,
} from './fixtures/eval/pipeline-helpers.js';
import type { CropsLocalization } from '../src/pipeline/model-file.js';

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
    expect((det.config.localization as CropsLocalization).geometry).toMatchObject({
      resize: 128,
      patchSize: 64,
      stride: 32,
    });
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
    // Which JPEG decoder runs: the addon's libjpeg-turbo when it was built with it, else sharp.
    const { jpegDecoder } = await import('../src/encoder/jpeg.js');
    expect(info.jpeg).toEqual(jpegDecoder());
    const text = await cli('info');
    expect(text.stdout).toMatch(
      info.jpeg.decoder === 'native' ? /JPEG decoding: native \(libjpeg-turbo/ : /JPEG decoding: sharp/,
    );
  });
});

describe('colour: images are converted to the encoder colour space, or refused with --strict-colour', () => {
  // Real tiles made into colour JPEGs: each gray level v becomes (v, 0.85 v + 12, 0.7 v + 30), so
  // the channels differ and the RGB -> gray conversion has real work to do.
  async function colourCopy(file: string, dir: string): Promise<string> {
    const { data, info } = await sharp(file).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    const rgb = new Uint8Array(info.width * info.height * 3);
    for (let p = 0; p < info.width * info.height; p++) {
      rgb[p * 3] = data[p];
      rgb[p * 3 + 1] = Math.min(255, Math.round(data[p] * 0.85 + 12));
      rgb[p * 3 + 2] = Math.min(255, Math.round(data[p] * 0.7 + 30));
    }
    const out = join(dir, file.split('/').pop()!);
    await sharp(rgb, { raw: { width: info.width, height: info.height, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(out);
    return out;
  }
  async function colourFolder(files: readonly string[], prefix: string): Promise<string> {
    const dir = tempDir(prefix);
    for (const f of files) await colourCopy(f, dir);
    return dir;
  }
  const sorted = (dir: string) =>
    readdirSync(dir)
      .sort()
      .map((f) => join(dir, f));
  function csvRows(stdout: string): { id: string; raw: number }[] {
    return stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const [id, , raw] = line.split(',');
        return { id, raw: Number(raw) };
      });
  }
  /** BT.601 in 16-bit fixed point, written out here as docs/encoders.md states it. */
  async function grayByFormula(file: string) {
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    const gray = new Uint8Array(info.width * info.height);
    for (let p = 0; p < gray.length; p++)
      gray[p] = (19595 * data[p * 3] + 38470 * data[p * 3 + 1] + 7471 * data[p * 3 + 2] + 32768) >> 16;
    return { data: gray, width: info.width, height: info.height, channels: 1 };
  }

  let rgbTrain: string;
  let rgbProbe: string;
  let rgbMvtec: string;
  const grayModelFile = join(work, 'gray-encoder-rgb-train.oneclass');
  beforeAll(async () => {
    rgbTrain = await colourFolder(exampleFiles('train/good', 8), 'rgb-train');
    rgbProbe = await colourFolder([...exampleFiles('test/good', 2), ...exampleFiles('test/crack', 2)], 'rgb-probe');
    rgbMvtec = tempDir('rgb-mvtec');
    for (const [sub, files] of [
      ['train/good', exampleFiles('train/good', 8)],
      ['test/good', exampleFiles('test/good', 2)],
      ['test/crack', exampleFiles('test/crack', 2)],
    ] as const) {
      mkdirSync(join(rgbMvtec, sub), { recursive: true });
      for (const f of files) await colourCopy(f, join(rgbMvtec, sub));
    }
  });

  it('a grayscale encoder fits, scores and localizes colour JPEGs as their gray conversion', async () => {
    const meta = await sharp(sorted(rgbTrain)[0]).metadata();
    expect([meta.space, meta.channels]).toEqual(['srgb', 3]);
    const fitted = await cli(
      'fit',
      '--encoder',
      TILE_ENCODER,
      '--train',
      rgbTrain,
      '--out',
      grayModelFile,
      '--detector',
      'knn',
      '--localize',
      ...FAST,
      '--quiet',
    );
    expect(fitted.code, fitted.stderr).toBe(EXIT.OK);
    const scored = await cli('score', '--model', grayModelFile, rgbProbe);
    expect(scored.code, scored.stderr).toBe(EXIT.OK);
    const rows = csvRows(scored.stdout);
    const probes = sorted(rgbProbe);
    expect(rows.map((r) => r.id)).toEqual(probes);
    // The same raw scores as the library gives for gray pixels converted by the stated formula.
    const det = await Detector.load(grayModelFile);
    try {
      const api = await det.score(await Promise.all(probes.map(grayByFormula)));
      rows.forEach((r, i) => expect(r.raw).toBe(api.items[i].raw));
    } finally {
      await det.release();
    }
    const out = join(work, 'rgb-heatmaps');
    const localized = await cli('localize', '--model', grayModelFile, '--out-dir', out, '--quiet', rgbProbe);
    expect(localized.code, localized.stderr).toBe(EXIT.OK);
    expect(readdirSync(out).filter((f) => f.endsWith('_heatmap.png'))).toHaveLength(probes.length);
    const evaluated = await cli('eval', '--model', grayModelFile, '--dataset', 'mvtec', '--data', rgbMvtec, '--json');
    expect(evaluated.code, evaluated.stderr).toBe(EXIT.OK);
    expect(JSON.parse(evaluated.stdout).images).toBe(4);
  });

  it('--strict-colour refuses colour images for a grayscale encoder with exit 3 (fit, score, localize, eval)', async () => {
    const refused = /is colour \(rgb\) but the model expects grayscale .*strict colour mode does not convert/;
    const out = join(work, 'strict.oneclass');
    const fit = await cli('fit', '--encoder', TILE_ENCODER, '--train', rgbTrain, '--out', out, '--strict-colour');
    expect(fit.code).toBe(EXIT.INPUT);
    expect(fit.stderr).toMatch(refused);
    expect(fit.stderr).toContain(rgbTrain);
    expect(existsSync(out)).toBe(false);
    const score = await cli('score', '--model', grayModelFile, '--strict-colour', rgbProbe);
    expect(score.code).toBe(EXIT.INPUT);
    expect(score.stderr).toMatch(refused);
    const loc = await cli(
      'localize',
      '--model',
      grayModelFile,
      '--out-dir',
      join(work, 'strict-maps'),
      '--strict-colour',
      rgbProbe,
    );
    expect(loc.code).toBe(EXIT.INPUT);
    expect(loc.stderr).toMatch(refused);
    for (const source of [
      ['--model', grayModelFile],
      ['--encoder', TILE_ENCODER, '--detector', 'knn'],
    ]) {
      const ev = await cli('eval', ...source, '--dataset', 'mvtec', '--data', rgbMvtec, '--strict-colour');
      expect(ev.code).toBe(EXIT.INPUT);
      expect(ev.stderr).toMatch(refused);
    }
    // The original grayscale tiles pass strict mode on the grayscale encoder.
    expect((await cli('score', '--model', grayModelFile, '--strict-colour', probeDir)).code).toBe(EXIT.OK);
  });

  it('an RGB encoder scores grayscale images (replicated), and refuses them with --strict-colour', async () => {
    const out = join(work, 'rgb-encoder.oneclass');
    const fitted = await cli(
      'fit',
      '--encoder',
      CIFAR_ENCODER,
      '--train',
      rgbTrain,
      '--out',
      out,
      '--detector',
      'knn',
      '--quiet',
    );
    expect(fitted.code, fitted.stderr).toBe(EXIT.OK);
    const grayProbes = sorted(probeDir);
    expect((await sharp(grayProbes[0]).metadata()).channels).toBe(1);
    const scored = await cli('score', '--model', out, probeDir);
    expect(scored.code, scored.stderr).toBe(EXIT.OK);
    const rows = csvRows(scored.stdout);
    const det = await Detector.load(out);
    try {
      const replicated = await Promise.all(
        grayProbes.map(async (f) => {
          const { data, info } = await sharp(f).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
          const rgb = new Uint8Array(data.length * 3);
          for (let p = 0; p < data.length; p++) rgb[p * 3] = rgb[p * 3 + 1] = rgb[p * 3 + 2] = data[p];
          return { data: rgb, width: info.width, height: info.height, channels: 3 };
        }),
      );
      const api = await det.score(replicated);
      rows.forEach((r, i) => expect(r.raw).toBe(api.items[i].raw));
    } finally {
      await det.release();
    }
    const strict = await cli('score', '--model', out, '--strict-colour', probeDir);
    expect(strict.code).toBe(EXIT.INPUT);
    expect(strict.stderr).toMatch(/is grayscale but the model expects RGB/);
  });

  it('--strict-colour is in the help of fit, score, localize and eval', async () => {
    for (const command of ['fit', 'score', 'localize', 'eval']) {
      expect((await cli(command, '--help')).stdout).toMatch(/--strict-colour +refuse \(exit 3\)/);
    }
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
