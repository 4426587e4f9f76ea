/** `oneclass/server`: the HTTP server of `oneclass serve` as a library (docs/serving.md). */
export { OneclassServer, SERVER_DEFAULTS, type ServerOptions } from './serve/server.js';
export { serverTiming } from './serve/answers.js';
export { ModelSet, parseModelArg, type ModelEntry } from './serve/models.js';
export { ServerMetrics } from './serve/metrics.js';
