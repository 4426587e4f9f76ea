#!/usr/bin/env node
/**
 * The `oneclass` executable: a thin entry around runCli (src/cli/run.ts).
 *
 * ONNX Runtime 1.29+ starts Microsoft's telemetry (1DS) with the first session of a process: it
 * writes mat-debug-<pid>.log and .ses into the temporary folder and a device id and event cache
 * under ~/.cache/Microsoft/DeveloperTools/.onnxruntime/, and uploads events. Its documented
 * opt-out, ORT_DISABLE_TELEMETRY=1 set before the first session, turns all of it off and changes
 * nothing else; the command line sets it unless the environment already says otherwise
 * (ORT_DISABLE_TELEMETRY=0 keeps ONNX Runtime's default). docs/pipeline.md has the details.
 */
export {};
process.env.ORT_DISABLE_TELEMETRY ??= '1';

// Loading the library takes a moment; a signal meanwhile (nothing written, no worker started yet)
// must exit 130 as documented, not die of the signal's default action. This listener stays: removing
// the last listener of a signal drops one that arrived but was not yet dispatched.
let started = false;
const whileStarting = (signal: NodeJS.Signals) => {
  if (started) return;
  process.stderr.write(`\noneclass: interrupted by ${signal} while starting; nothing was written\n`);
  process.exit(130);
};
process.on('SIGINT', whileStarting);
process.on('SIGTERM', whileStarting);
const { installSignalHandlers, interrupted, runCli } = await import('./run.js');
installSignalHandlers();
started = true;

const code = await runCli(process.argv.slice(2));
// End now (every worker thread was released by the command): while a process winds down by
// itself its signal handlers are gone, and a Ctrl-C then killed it by the signal, or was lost.
// After a signal the handler exits, with 130.
if (!interrupted()) process.exit(code);
