/**
 * The serving commands in-process (runCli with captured output): `bench`'s load modes against the
 * in-process batcher, single-image calls and a running server, and the usage errors of `serve`,
 * `bench` and `jobs`. Windows are short: these check the report, not the speed.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { Detector } from '../src/pipeline/detector.js';
import type { LoadReport } from '../src/serve/load.js';
import { OneclassServer } from '../src/serve/server.js';
import { parseServerTiming } from '../src/serve/http-target.js';
import { exampleFiles, folderWith, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';

let modelFile = '';
let probeDir = '';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _e, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await runCli(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

const SHORT = ['--window-ms', '300', '--warmup-ms', '100', '--max-windows', '3', '--json'];

beforeAll(async () => {
  const det = await Detector.fit({
    encoder: TILE_ENCODER,
    encoderOptions: { device: 'cpu' },
    images: exampleFiles('train/good', 8),
    detector: { kind: 'knn' },
  });
  modelFile = join(tempDir('serve-cli'), 'tile.oneclass');
  await det.save(modelFile);
  await det.release();
  probeDir = folderWith([...exampleFiles('test/good', 3), ...exampleFiles('test/crack', 1)], 'serve-cli-probe');
});

describe('oneclass bench load modes', () => {
  it('--concurrency against the in-process batcher reports percentiles and the stage split', async () => {
    const r = await cli('bench', '--model', modelFile, '--concurrency', '4', '--max-batch', '4', ...SHORT, probeDir);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as LoadReport & { target: string };
    expect(report.target).toMatch(/in-process batcher \(maxBatch 4/);
    expect(report).toMatchObject({ mode: 'concurrency', concurrency: 4, rate: null, errors: {}, dropped: 0 });
    expect(report.windows).toHaveLength(3);
    expect(report.imagesPerSecond).toBeGreaterThan(0);
    const l = report.latency;
    expect(l.count).toBeGreaterThan(0);
    expect(l.p50Ms).toBeLessThanOrEqual(l.p90Ms);
    expect(l.p90Ms).toBeLessThanOrEqual(l.p95Ms);
    expect(l.p95Ms).toBeLessThanOrEqual(l.p99Ms);
    expect(l.p99Ms).toBeLessThanOrEqual(l.maxMs);
    for (const k of ['queueMs', 'decodeMs', 'encodeMs', 'detectMs'] as const)
      expect(report.stages[k]).toBeGreaterThan(0);
  });

  it('--unbatched --rate: one Detector.score per image, open loop', async () => {
    const r = await cli('bench', '--model', modelFile, '--unbatched', '--rate', '20', ...SHORT, probeDir);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as LoadReport & { target: string };
    expect(report.target).toMatch(/one image per call/);
    expect(report).toMatchObject({ mode: 'rate', rate: 20, concurrency: null });
    expect(report.latency.count).toBeGreaterThan(0);
    // Detector.score reports no split.
    expect(report.stages).toEqual({});
  });

  it('--url loads a running server and reads its Server-Timing split', async () => {
    const server = await OneclassServer.start({
      models: [{ name: 'tile', file: modelFile }],
      port: 0,
      logLevel: 'silent',
      load: { device: 'cpu' },
    });
    try {
      const r = await cli('bench', '--url', server.url, '--concurrency', '3', ...SHORT, probeDir);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as LoadReport & { target: string };
      expect(report.target).toBe(`server ${server.url}/v1/score`);
      expect(report.errors).toEqual({});
      expect(report.stages.encodeMs).toBeGreaterThan(0);
      const text = await (await fetch(server.url + '/metrics')).text();
      expect(text).toMatch(/oneclass_images_total\{model="tile",mode="score",outcome="ok"\} [1-9]/);
    } finally {
      await server.drain();
    }
  });

  it('parses Server-Timing', () => {
    expect(
      parseServerTiming('queue;dur=1.5, decode;dur=2, encode;dur=3.25, detect;dur=0.5, batch;desc="4 images"'),
    ).toEqual({ queueMs: 1.5, decodeMs: 2, encodeMs: 3.25, detectMs: 0.5 });
    expect(parseServerTiming(null)).toEqual({});
  });
});

describe('usage errors of serve, bench and jobs', () => {
  it('name the flag and exit 2 (or 3 for bad values the library catches)', async () => {
    const cases: [string[], number, RegExp][] = [
      [['serve'], 2, /Missing required option --model/],
      [['serve', '--model', 'bad name=x.oneclass'], 3, /Expected a model name/],
      [['serve', '--model', join(probeDir, 'missing.oneclass')], 3, /Model file not found/],
      [['serve', '--model', modelFile, '--max-delay-ms', '-1'], 2, /--max-delay-ms/],
      [['bench', '--model', modelFile, '--concurrency', '2', '--rate', '5', probeDir], 2, /not both/],
      [
        ['bench', '--url', 'http://127.0.0.1:1', '--unbatched', '--concurrency', '2', probeDir],
        2,
        /--url loads a running server/,
      ],
      [['bench', '--url', 'ftp://x', '--concurrency', '2', probeDir], 3, /Expected an http:\/\/ URL for --url/],
      [['jobs'], 2, /Expected one of submit, worker, status, collect, fit after 'oneclass jobs'/],
      [['jobs', 'submit', '--images', probeDir], 2, /Missing required option --model/],
      [['jobs', 'collect', '--run', 'x'], 2, /Missing required option --out/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(...args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code, stderr: expect.stringMatching(message) });
    }
  });

  it('help lists the serving options with their defaults', async () => {
    const serve = await cli('serve', '--help');
    expect(serve.stdout).toMatch(/--max-delay-ms MS\s+longest an image waits for a fuller batch \(default 5\)/);
    expect(serve.stdout).toMatch(/--host HOST\s+interface to listen on \(default '127\.0\.0\.1': loopback only\)/);
    const jobs = await cli('jobs', '--help');
    expect(jobs.stdout).toMatch(/oneclass jobs worker/);
    const main = await cli('--help');
    expect(main.stdout).toMatch(/serve\s+HTTP server/);
    expect(main.stdout).toMatch(/jobs\s+distributed batch scoring/);
  });
});
