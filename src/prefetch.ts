/**
 * The one prefetching loop of the library: walks `total` items in steps of at most `step` and
 * starts loading step k+1 before handing out step k, so loading (decoding with sharp, on libuv's
 * threads) overlaps with whatever the consumer does with step k (ONNX Runtime, stage-2
 * detectors). The encoder's `embed` and the pipeline's batch iterator both use it, each at its
 * own level: the pipeline never nests one inside the other.
 *
 * A load may take fewer items than offered (a batch cut short by the decoded-pixel budget):
 * `taken` says how many, and the next step starts after them.
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
  taken: (value: T) => number = () => Infinity,
): AsyncGenerator<Step<T>> {
  const begin = (start: number) => {
    const p = load(start, Math.min(start + step, total));
    // A prefetch that fails while the consumer is busy with the previous step must not become an
    // unhandled rejection; its error is thrown when the step is reached.
    p.catch(() => undefined);
    return p;
  };
  let next = total > 0 ? begin(0) : undefined;
  for (let start = 0; start < total;) {
    const value = await next!;
    const end = Math.min(start + step, total, start + Math.max(1, taken(value)));
    next = end < total ? begin(end) : undefined;
    yield { start, end, value };
    start = end;
  }
}
