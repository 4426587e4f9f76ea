/**
 * Stage-2 detector kinds the pipeline can use, as one typed table: kind -> its options (from the
 * detector class), its defaults (the papers' settings), how to fit it and how to read it back.
 * A new kind is one entry in `DetectorKinds` and one in `KINDS` (after its class in
 * src/detectors/); `DetectorSpec` and `detectorKinds()` follow from them.
 *
 * Every adapter returns scores with the detectors' convention, higher = more normal; the pipeline
 * turns them into anomaly scores (negated) in one place (calibration.ts).
 */
import type { ComputeOptions } from '../detectors/common.js';
import { GaussianDensity, type GaussianDensityOptions } from '../detectors/gaussian.js';
import { KernelDensity, type KernelDensityOptions } from '../detectors/kde.js';
import { NearestNeighbors, type NearestNeighborsOptions } from '../detectors/knn.js';
import { OneClassSVM, type OneClassSvmOptions } from '../detectors/ocsvm.js';
import { invalidArgument } from '../errors.js';
import { type Backend, expectInteger, type Matrix } from '../validate.js';

export interface FittedDetector {
  /** Higher = more normal (scikit-learn's score_samples convention). */
  scoreSamples(x: Matrix): Promise<Float64Array>;
  toBytes(): Uint8Array;
  readonly backend: Backend;
}

/** A detector class's options without the compute placement (chosen per call, never stored). */
type Stored<O> = Omit<O, keyof ComputeOptions>;

/** Each kind's options in a DetectorSpec; omitted ones take the kind's defaults. */
export interface DetectorKinds {
  kde: Partial<Stored<KernelDensityOptions>>;
  gde: Stored<GaussianDensityOptions>;
  /** `k`: neighbours averaged when scoring (default 1). */
  knn: Stored<NearestNeighborsOptions> & { k?: number };
  ocsvm: Stored<OneClassSvmOptions>;
}

export type DetectorKindName = keyof DetectorKinds;

/** A stage-2 detector and its options, e.g. `{ kind: 'ocsvm', nu: 0.1 }`. */
export type DetectorSpec = { [K in DetectorKindName]: SpecOf<K> }[DetectorKindName];
type SpecOf<K extends DetectorKindName> = { kind: K } & DetectorKinds[K];

export interface DetectorKind<K extends DetectorKindName> {
  /** Merged under the user's options. */
  defaults: DetectorKinds[K];
  /** Fits on rows of x; `path` names the spec in messages ('detector', 'localization.detector'). */
  fit(x: Matrix, spec: SpecOf<K>, compute: ComputeOptions, path: string): Promise<FittedDetector>;
  /** Reads a fitted detector back; `stored` are the options kept in the model file. */
  fromBytes(
    bytes: Uint8Array,
    stored: Readonly<Record<string, unknown>>,
    compute: ComputeOptions,
    path: string,
  ): Promise<FittedDetector>;
}

/** k-NN keeps `k` outside the NearestNeighbors model (it is a scoring parameter there). */
function knnAdapter(model: NearestNeighbors, k: number): FittedDetector {
  return { scoreSamples: (x) => model.scoreSamples(x, k), toBytes: () => model.toBytes(), backend: model.backend };
}

const KDE_DEFAULTS = { bandwidth: 'droc', normalize: true } as const;

const KINDS: { [K in DetectorKindName]: DetectorKind<K> } = {
  kde: {
    defaults: KDE_DEFAULTS,
    // `bind` always passes the defaults merged in; spelled out so the types see a bandwidth.
    fit: (x, { kind: _kind, ...o }, compute) => KernelDensity.fit(x, { ...KDE_DEFAULTS, ...o, ...compute }),
    fromBytes: (b, _stored, compute) => KernelDensity.fromBytes(b, compute),
  },
  gde: {
    defaults: { shrinkage: 'ledoit-wolf', normalize: true },
    fit: (x, { kind: _kind, ...o }, compute) => GaussianDensity.fit(x, { ...o, ...compute }),
    fromBytes: (b, _stored, compute) => GaussianDensity.fromBytes(b, compute),
  },
  knn: {
    defaults: { metric: 'cosine', k: 1 },
    fit: async (x, { kind: _kind, k = 1, ...o }, compute, path) => {
      // k cannot exceed the training rows left after the calibration hold-out.
      const neighbours = expectInteger(`${path}.k`, k, 1, x.rows);
      return knnAdapter(await NearestNeighbors.fit(x, { ...o, ...compute }), neighbours);
    },
    fromBytes: async (b, stored, compute, path) => {
      const model = await NearestNeighbors.fromBytes(b, compute);
      // A stored k beyond the stored rows would fail at every score, not at load.
      return knnAdapter(model, expectInteger(`${path}.k`, stored.k, 1, model.nSamples));
    },
  },
  ocsvm: {
    // The official deep one-class code's setting: nu = 0.5 and the KDE's gamma ('droc') on
    // unit-normalized embeddings.
    defaults: { nu: 0.5, gamma: 'droc', normalize: true },
    fit: (x, { kind: _kind, ...o }, compute) => OneClassSVM.fit(x, { ...o, ...compute }),
    fromBytes: (b, _stored, compute) => OneClassSVM.fromBytes(b, compute),
  },
};

export function detectorKinds(): DetectorKindName[] {
  return Object.keys(KINDS) as DetectorKindName[];
}

export function isDetectorKind(kind: unknown): kind is DetectorKindName {
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind);
}

function expectKind(path: string, kind: unknown): DetectorKindName {
  if (isDetectorKind(kind)) return kind;
  throw invalidArgument(
    `${path}.kind`,
    `one of ${detectorKinds()
      .map((k) => `'${k}'`)
      .join(', ')}`,
    kind,
  );
}

/** A spec with its kind's defaults filled in, ready to fit, and the options to store. */
export interface ResolvedDetector {
  readonly kind: DetectorKindName;
  /** What goes into the model file: the spec's options over the defaults, without `kind`. */
  readonly options: Readonly<Record<string, unknown>>;
  fit(x: Matrix, compute: ComputeOptions): Promise<FittedDetector>;
}

/** Checks a spec given by a caller (it may come from plain JS) and binds it to its kind. */
export function resolveDetector(spec: DetectorSpec, path: string): ResolvedDetector {
  if (spec === null || typeof spec !== 'object') {
    throw invalidArgument(path, `an object { kind: ${detectorKinds().join(' | ')}, ... }`, spec);
  }
  expectKind(path, spec.kind);
  return bind(definedOnly(spec), path);
}

function bind<K extends DetectorKindName>(spec: SpecOf<K>, path: string): ResolvedDetector {
  const impl: DetectorKind<K> = KINDS[spec.kind];
  const { kind, ...given } = spec;
  const merged = { ...impl.defaults, ...given };
  return {
    kind,
    options: merged,
    fit: (x, compute) => impl.fit(x, { ...merged, kind }, compute, path),
  };
}

/** Reads back a detector stored in a model file (kind and options as written by `resolveDetector`). */
export async function restoreDetector(
  stored: { kind: string; options: Readonly<Record<string, unknown>> },
  bytes: Uint8Array,
  compute: ComputeOptions,
  path: string,
): Promise<FittedDetector> {
  return KINDS[expectKind(path, stored.kind)].fromBytes(bytes, stored.options, compute, path);
}

/** Options left undefined mean "default", as if they were not given. */
function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
