/**
 * How many sharp calls (header reads, decodes) run at once, process-wide.
 *
 * Every sharp call costs the JS thread a little: building the pipeline object, then its callback
 * (a few tenths of a millisecond). A batch of 64 images started at once held the event loop for 15
 * to 30 ms in a row (bench/event-loop-lag.mjs). sharp does its work on libuv's thread pool, which
 * runs UV_THREADPOOL_SIZE calls (default 4) at a time anyway: letting a few more than that be in
 * flight keeps those threads fed, and spreads the JS work over many short turns of the event loop.
 * p-limit queues the rest in order.
 */
import pLimit from 'p-limit';

/** libuv's thread pool size, as Node reads it at startup (1 to 1024, default 4). */
function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

const slots = pLimit(threadPoolSize() + 2);

/** Runs `call` (one sharp call, or a short sequence on one image) when a slot is free. */
export function withSharp<T>(call: () => Promise<T>): Promise<T> {
  return slots(call);
}
