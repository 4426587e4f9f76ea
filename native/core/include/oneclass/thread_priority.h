// Background priority for the threads that compute (libuv's workers while they run a call, and
// the parallel-loop helpers): on Linux each raises its own nice value once, so that a Node
// process's JS thread, at the default priority, gets a core at once when a timer or a request
// wakes it (the event loop keeps ticking while both cores compute). The same idea as the
// encoder's `inferenceNice` for ONNX Runtime's threads (src/encoder/inference-worker.mjs).
//
// How much the nice value is raised: ONECLASS_COMPUTE_NICE (0 to 19; 0 leaves the threads alone;
// at most 19 in all), default 10. A nice value cannot be lowered again without privileges, so a
// libuv worker keeps it for the process's life; it only yields the CPU to busier threads of a
// higher priority.
#pragma once

namespace oneclass {

// Raises the calling thread's nice value to the JS (main) thread's plus computeNice() (at most 19;
// never lowers it); once per thread, a no-op after the first call and off Linux.
void backgroundPriority();

// The configured raise (ONECLASS_COMPUTE_NICE, read once; a value that is not an integer: 10).
int computeNice();

}  // namespace oneclass
