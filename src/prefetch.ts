/**
 * The one prefetching loop of the library: walks `total` items in steps of `step` and starts
 * loading step k+1 before handing out step k, so loading (decoding with sharp, on libuv's
 * threads) overlaps with whatever the consumer does with step k (ONNX Runtime, stage-2
 * detectors). The encoder's `embed` and the pipeline's batch iterator both use it, each at its
 * own level: the pipeline never nests one inside the other.
 */
export interface Step<T> {
  /** Index of the first item of this step. */
  start: number;
  /** One past the last item. */
  end: number;
  value: T;
}

export async function* prefetched<T>(
  total: number,
  step: number,
  load: (start: number, end: number) => Promise<T>,
): AsyncGenerator<Step<T>> {
  const begin = (start: number) => {
    const p = load(start, Math.min(start + step, total));
    // A prefetch that fails while the consumer is busy with the previous step must not become an
    // unhandled rejection; its error is thrown when the step is reached.
    p.catch(() => undefined);
    return p;
  };
  let next = total > 0 ? begin(0) : undefined;
  for (let start = 0; start < total; start += step) {
    const value = await next!;
    const end = Math.min(start + step, total);
    next = end < total ? begin(end) : undefined;
    yield { start, end, value };
  }
}
