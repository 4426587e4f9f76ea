/** Programmatic access to the CLI (tests, wrappers). */
export { runCli } from './run.js';
export { parseCommandLine, COMMANDS, CliUsageError, type ParsedCommandLine } from './args.js';
export { EXIT, exitCodeFor } from './exit-codes.js';
