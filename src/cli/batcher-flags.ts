/** The dynamic batcher's flags (serve, bench's load modes, jobs worker) as BatcherOptions and load options. */
import type { BatcherOptions } from '../serve/options.js';
import { MAX_BATCH_SIZE } from '../validate.js';
import { num, type ParsedCommandLine } from './args.js';

export function batcherFlags(values: ParsedCommandLine['values']): BatcherOptions {
  const options: BatcherOptions = {
    maxBatch: num(values, 'max-batch', { integer: true, min: 1, max: MAX_BATCH_SIZE }),
    maxLocalizeBatch: num(values, 'max-localize-batch', { integer: true, min: 1, max: MAX_BATCH_SIZE }),
    maxDelayMs: num(values, 'max-delay-ms', { min: 0 }),
    maxQueue: num(values, 'max-queue', { integer: true, min: 1 }),
    timeoutMs: num(values, 'timeout-ms', { min: 0 }),
    pipelineDepth: num(values, 'pipeline-depth', { integer: true, min: 1, max: 16 }),
    allowResize: values['allow-resize'] === true ? true : undefined,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BatcherOptions;
}

/** --encoder-batch: images per ONNX Runtime call, an Encoder load option. */
export function encoderBatchFlag(values: ParsedCommandLine['values']): { batchSize?: number } {
  const n = num(values, 'encoder-batch', { integer: true, min: 1, max: MAX_BATCH_SIZE });
  return n === undefined ? {} : { batchSize: n };
}
