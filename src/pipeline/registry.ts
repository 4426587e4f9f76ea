/**
 * Stage-2 detector kinds the pipeline can use, as one table: kind -> how to fit it, how to read it
 * back, and how to score with it. A new kind plugs in with one entry here (or registerDetectorKind).
 *
 * Every adapter returns scores with the detectors' convention, higher = more normal; the pipeline
 * turns them into anomaly scores (negated) in one place (calibration.ts).
 */
import { GaussianDensity } from '../detectors/gaussian.js';
import { KernelDensity } from '../detectors/kde.js';
import { NearestNeighbors } from '../detectors/knn.js';
import { OneClassSVM } from '../detectors/ocsvm.js';
import { OneclassError } from '../errors.js';
import type { Device, Matrix } from '../validate.js';

export interface FittedDetector {
  /** Higher = more normal (scikit-learn's score_samples convention). */
  scoreSamples(x: Matrix): Promise<Float64Array>;
  toBytes(): Uint8Array;
  readonly backend: 'cpu' | 'cuda';
}

export interface DetectorKind {
  /** Fits on rows of x. `options` are the user's options minus `kind` (defaults already applied). */
  fit(x: Matrix, options: Record<string, unknown>): Promise<FittedDetector>;
  fromBytes(
    bytes: Uint8Array,
    options: Record<string, unknown>,
    compute: { device?: Device; threads?: number },
  ): Promise<FittedDetector>;
  /** Defaults merged under the user's options (the papers' settings). */
  defaults: Record<string, unknown>;
}

export interface DetectorSpec {
  kind: string;
  [option: string]: unknown;
}

const COMPUTE = ['device', 'threads'];
function compute(options: Record<string, unknown>): { device?: Device; threads?: number } {
  return { device: options.device as Device | undefined, threads: options.threads as number | undefined };
}
function without(options: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([k]) => !keys.includes(k)));
}

/** k-NN keeps `k` outside the NearestNeighbors model (it is a scoring parameter there). */
function knnAdapter(model: NearestNeighbors, k: number): FittedDetector {
  return { scoreSamples: (x) => model.scoreSamples(x, k), toBytes: () => model.toBytes(), backend: model.backend };
}

function expectK(value: unknown): number {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1)) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected integer >= 1 for detector.k but received ${String(value)}`,
      { path: 'detector.k' },
    );
  }
  return value;
}

const KINDS = new Map<string, DetectorKind>([
  [
    'kde',
    {
      defaults: { bandwidth: 'droc', normalize: true },
      fit: (x, o) => KernelDensity.fit(x, o as never),
      fromBytes: (b, _o, c) => KernelDensity.fromBytes(b, c),
    },
  ],
  [
    'gde',
    {
      defaults: { shrinkage: 'ledoit-wolf', normalize: true },
      fit: (x, o) => GaussianDensity.fit(x, o as never),
      fromBytes: (b, _o, c) => GaussianDensity.fromBytes(b, c),
    },
  ],
  [
    'knn',
    {
      defaults: { metric: 'cosine', k: 1 },
      fit: async (x, o) => {
        const k = expectK(o.k);
        if (k > x.rows) {
          throw new OneclassError(
            'ERR_INVALID_ARGUMENT',
            `detector.k is ${k} but only ${x.rows} training rows remain for the detector`,
            { path: 'detector.k' },
          );
        }
        return knnAdapter(await NearestNeighbors.fit(x, without(o, ['k']) as never), k);
      },
      fromBytes: async (b, o, c) => knnAdapter(await NearestNeighbors.fromBytes(b, c), expectK(o.k)),
    },
  ],
  [
    'ocsvm',
    {
      // The official deep one-class code's setting: nu = 0.5 and the KDE's gamma ('droc') on
      // unit-normalized embeddings.
      defaults: { nu: 0.5, gamma: 'droc', normalize: true },
      fit: (x, o) => OneClassSVM.fit(x, o as never),
      fromBytes: (b, _o, c) => OneClassSVM.fromBytes(b, c),
    },
  ],
]);

export function registerDetectorKind(kind: string, impl: DetectorKind): void {
  KINDS.set(kind, impl);
}

export function detectorKinds(): string[] {
  return [...KINDS.keys()];
}

export async function detectorKind(kind: unknown, path = 'detector.kind'): Promise<DetectorKind> {
  if (typeof kind === 'string' && KINDS.has(kind)) return KINDS.get(kind)!;
  throw new OneclassError(
    'ERR_INVALID_ARGUMENT',
    `Expected one of ${detectorKinds()
      .map((k) => `'${k}'`)
      .join(', ')} for ${path} but received ${JSON.stringify(kind)}`,
    {
      path,
    },
  );
}

/** The user's spec with the kind's defaults filled in; `kind` removed. */
export function resolveDetectorOptions(spec: DetectorSpec, impl: DetectorKind): Record<string, unknown> {
  const { kind: _kind, ...options } = spec;
  return { ...impl.defaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
}

/** Options that go into the model file (compute placement is chosen again when loading). */
export function persistedOptions(options: Record<string, unknown>): Record<string, unknown> {
  return without(options, COMPUTE);
}
