/**
 * The models a server holds, by name: each a loaded Detector with its own Batcher (batches never
 * mix models). Names come from the command line (`--model name=file.oneclass`) or from the file's
 * base name; the first model is the default one (`/v1/score`).
 */
import path from 'node:path';

import { invalidInput } from '../errors.js';
import { Detector, type LoadOptions } from '../pipeline/detector.js';
import { Batcher } from './batcher.js';
import type { BatcherOptions, BatchReport } from './options.js';

export interface ModelEntry {
  readonly name: string;
  readonly file: string;
  readonly detector: Detector;
  readonly batcher: Batcher;
}

/** A model given as `name=file` or `file` (named after the file, without its extension). */
export function parseModelArg(arg: string): { name: string; file: string } {
  const eq = arg.indexOf('=');
  const [name, file] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [path.basename(arg, path.extname(arg)), arg];
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw invalidInput(
      '--model',
      `Expected a model name of letters, digits, '.', '_' or '-' (at most 64) but received '${name}' in '${arg}'; use --model NAME=FILE`,
    );
  }
  if (file.length === 0) throw invalidInput('--model', `No file given for model '${name}' in '${arg}'`);
  return { name, file };
}

export class ModelSet {
  private readonly byName = new Map<string, ModelEntry>();

  private constructor(entries: ModelEntry[]) {
    for (const e of entries) this.byName.set(e.name, e);
  }

  /**
   * Loads every model (all or nothing: on a failure the ones loaded are released). `onBatch`
   * receives each batch's report with the model's name (metrics).
   */
  static async load(
    models: readonly { name: string; file: string }[],
    options: { load?: LoadOptions; batcher?: BatcherOptions; onBatch?: (model: string, r: BatchReport) => void } = {},
  ): Promise<ModelSet> {
    if (models.length === 0) throw invalidInput('models', 'No model given: pass at least one --model FILE');
    const seen = new Set<string>();
    for (const m of models) {
      if (seen.has(m.name)) throw invalidInput('models', `Two models are named '${m.name}'; name them with NAME=FILE`);
      seen.add(m.name);
    }
    const entries: ModelEntry[] = [];
    try {
      for (const m of models) {
        const detector = await Detector.load(m.file, options.load);
        const onBatch = options.onBatch;
        const batcher = new Batcher(detector, {
          ...options.batcher,
          ...(onBatch ? { onBatch: (r: BatchReport) => onBatch(m.name, r) } : {}),
        });
        entries.push({ name: m.name, file: m.file, detector, batcher });
      }
    } catch (error) {
      await Promise.all(entries.map((e) => e.detector.release().catch(() => undefined)));
      throw error;
    }
    return new ModelSet(entries);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get default(): ModelEntry {
    return this.byName.values().next().value!;
  }

  get(name: string): ModelEntry | undefined {
    return this.byName.get(name);
  }

  entries(): ModelEntry[] {
    return [...this.byName.values()];
  }

  /** Finishes every accepted request (Batcher.close), then releases the models. */
  async close(): Promise<void> {
    await Promise.all(this.entries().map((e) => e.batcher.close()));
    await Promise.all(this.entries().map((e) => e.detector.release()));
  }
}
