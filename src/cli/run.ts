/**
 * The CLI as a function: parse, dispatch, map errors to exit codes. main.ts only calls this, so
 * tests run commands in-process with their own output streams.
 */
import { closeAllPools } from '../encoder/inference-pool.js';
import { removePendingTempFiles, stopWrites } from '../pipeline/atomic.js';
import { packageVersion } from '../pipeline/model-file.js';
import { type ParsedCommandLine, parseCommandLine } from './args.js';
import { type CliContext, makeContext } from './context.js';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { fitCommand } from './commands/fit.js';
import { infoCommand } from './commands/info.js';
import { jobsCommand } from './commands/jobs.js';
import { localizeCommand } from './commands/localize.js';
import { scoreCommand } from './commands/score.js';
import { serveCommand } from './commands/serve.js';
import { trainCommand } from './commands/train.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

type Command = (args: ParsedCommandLine, ctx: CliContext) => Promise<number>;

const HANDLERS: Record<string, Command> = {
  fit: fitCommand,
  score: scoreCommand,
  localize: localizeCommand,
  eval: evalCommand,
  bench: benchCommand,
  info: infoCommand,
  demo: demoCommand,
  serve: serveCommand,
  jobs: jobsCommand,
  train: trainCommand,
};

export async function runCli(
  argv: readonly string[],
  io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {},
): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    stderr.write(`oneclass: ${(error as Error).message}\n`);
    return EXIT.USAGE;
  }
  const stdout = io.stdout ?? process.stdout;
  if (parsed.help) {
    stdout.write(parsed.help + '\n');
    return EXIT.OK;
  }
  if (parsed.command === 'version') {
    stdout.write(packageVersion() + '\n');
    return EXIT.OK;
  }
  const ctx = makeContext(parsed.values, { stdout, stderr });
  try {
    return await HANDLERS[parsed.command](parsed, ctx);
  } catch (error) {
    ctx.progress.done();
    // After a signal the command fails because writes stopped; the handler reports and exits.
    if (interruptedBy) return EXIT.INTERRUPTED;
    const code = exitCodeFor(error);
    const e = error as Error & { code?: string };
    // Usage errors name the flag already; library errors carry their code for scripts and searches.
    const prefix = e.code === 'ERR_USAGE' ? '' : e.code ? `[${e.code}] ` : '';
    stderr.write(`oneclass ${parsed.command}: ${prefix}${e.message}\n`);
    if (code === EXIT.INTERNAL && process.env.ONECLASS_DEBUG) stderr.write(`${e.stack}\n`);
    return code;
  }
}

let interruptedBy: NodeJS.Signals | null = null;

/** True once SIGINT or SIGTERM arrived (the signal handler then ends the process). */
export function interrupted(): boolean {
  return interruptedBy !== null;
}

const onSignal = (signal: NodeJS.Signals) => {
  if (interruptedBy) {
    process.stderr.write(`oneclass: ${signal} again; still waiting for the encoder's current batch to finish\n`);
    return;
  }
  interruptedBy = signal;
  stopWrites();
  const removed = removePendingTempFiles();
  process.stderr.write(
    `\noneclass: interrupted by ${signal}${removed.length ? `; removed ${removed.length} temporary file(s) or folder(s)` : ''}; no output file was half-written\n`,
  );
  void closeAllPools()
    .catch(() => undefined)
    .finally(() => {
      removePendingTempFiles();
      process.exit(EXIT.INTERRUPTED);
    });
};

/**
 * SIGINT / SIGTERM: no new output is started, temporary files and staging folders are removed,
 * and the process exits 130 once the encoder's worker threads have finished the batch they are
 * running (ending the process while ONNX Runtime runs in a worker aborts it). A second signal
 * meanwhile only says what is being waited for.
 */
export function installSignalHandlers(): void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** For long-running commands (serve, jobs worker) that drain on a signal instead of exiting. */
export function removeSignalHandlers(): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
