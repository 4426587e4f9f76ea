/**
 * The CLI as a function: parse, dispatch, map errors to exit codes. main.ts only calls this, so
 * tests run commands in-process with their own output streams.
 */
import { removePendingTempFiles } from '../pipeline/atomic.js';
import { packageVersion } from '../pipeline/model-file.js';
import { type ParsedCommandLine, parseCommandLine } from './args.js';
import { type CliContext, makeContext } from './context.js';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { fitCommand } from './commands/fit.js';
import { infoCommand } from './commands/info.js';
import { localizeCommand } from './commands/localize.js';
import { scoreCommand } from './commands/score.js';
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
    const code = exitCodeFor(error);
    const e = error as Error & { code?: string };
    // Usage errors name the flag already; library errors carry their code for scripts and searches.
    const prefix = e.code === 'ERR_USAGE' ? '' : e.code ? `[${e.code}] ` : '';
    stderr.write(`oneclass ${parsed.command}: ${prefix}${e.message}\n`);
    if (code === EXIT.INTERNAL && process.env.ONECLASS_DEBUG) stderr.write(`${e.stack}\n`);
    return code;
  }
}

/** Ctrl-C: remove temporary files of writes in flight, so no half-written output remains. */
export function installSignalHandlers(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    const removed = removePendingTempFiles();
    process.stderr.write(
      `\noneclass: interrupted by ${signal}${removed.length ? `; removed ${removed.length} partial file(s)` : ''}; no output file was half-written\n`,
    );
    process.exit(EXIT.INTERRUPTED);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
