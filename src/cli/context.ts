/** What every command gets: where to write, and whether to be quiet / print JSON / draw progress. */
import { type ProgressSink, progressBar, silentProgress } from './progress.js';

export interface CliContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  quiet: boolean;
  json: boolean;
  progress: ProgressSink;
  /** Human-readable line to stderr unless --quiet or --json. */
  info(line: string): void;
  /** Always printed (stderr), even with --quiet: warnings about skipped input must not vanish. */
  warn(line: string): void;
}

export function makeContext(
  values: Record<string, unknown>,
  io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {},
): CliContext {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const quiet = values.quiet === true;
  const json = values.json === true;
  const tty = (stderr as NodeJS.WriteStream).isTTY === true;
  return {
    stdout,
    stderr,
    quiet,
    json,
    progress: tty && !quiet && !json ? progressBar(stderr as NodeJS.WriteStream) : silentProgress,
    info: (line) => {
      if (!quiet && !json) stderr.write(line + '\n');
    },
    warn: (line) => {
      stderr.write(`warning: ${line}\n`);
    },
  };
}
