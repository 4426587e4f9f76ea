/**
 * The CLI's argument parser (node:util parseArgs, no dependency) over the command table
 * (command-table.ts), the help generated from that table, and typed accessors for option values.
 * Exported so tests can parse command lines without spawning a process.
 */
import { parseArgs } from 'node:util';

import { OneclassError } from '../errors.js';
import { COMMANDS } from './command-table.js';
import { describeRange, isInRange, MAX_BATCH_SIZE, type Range } from '../validate.js';

export { COMMANDS, type CommandSpec } from './command-table.js';

/** A bad command line (exit code 2): a OneclassError with code ERR_USAGE naming the flag. */
export class CliUsageError extends OneclassError {
  constructor(message: string, flag?: string) {
    super('ERR_USAGE', message, { path: flag });
  }
}

export interface ParsedCommandLine {
  command: string;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Set when --help was asked for (or no command): print it and exit 0. */
  help?: string;
}

export function mainHelp(): string {
  const lines = ['Usage: oneclass <command> [options]', '', 'Commands:'];
  for (const [name, spec] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${spec.summary}`);
  lines.push(
    '',
    "Run 'oneclass <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input data, 4 bad model file, 5 backend unavailable, 6 numerical, 7 service unavailable, 130 interrupted.',
  );
  return lines.join('\n');
}

export function commandHelp(name: string): string {
  const spec = COMMANDS[name];
  const lines = [`oneclass ${name}: ${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  for (const [opt, o] of Object.entries(spec.options)) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${opt}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(38)} ${o.help}${o.default !== undefined ? ` (default ${String(o.default)})` : ''}`);
  }
  return lines.join('\n');
}

export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    return { command: 'help', values: {}, positionals: [], help: mainHelp() };
  }
  if (command === '--version' || command === '-v') return { command: 'version', values: {}, positionals: [] };
  const spec = COMMANDS[command];
  if (!spec) throw new CliUsageError(`Unknown command '${command}'. Commands: ${Object.keys(COMMANDS).join(', ')}`);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: Object.fromEntries(
        // parseArgs rejects keys that are present but undefined: copy only the ones set.
        Object.entries(spec.options).map(([k, o]) => [
          k,
          Object.fromEntries(
            Object.entries({ type: o.type, short: o.short, multiple: o.multiple, default: o.default }).filter(
              ([, v]) => v !== undefined,
            ),
          ),
        ]),
      ) as never,
      allowPositionals: spec.positionals,
      strict: true,
    });
  } catch (cause) {
    throw new CliUsageError(
      `${(cause as Error).message.replace(/\. To specify a positional.*$/s, '')} (see 'oneclass ${command} --help')`,
    );
  }
  const values = parsed.values as ParsedCommandLine['values'];
  if (values.help) return { command, values, positionals: parsed.positionals, help: commandHelp(command) };
  return { command, values, positionals: parsed.positionals };
}

/** Typed accessors that turn bad option values into usage errors naming the option. */
export function str(values: ParsedCommandLine['values'], name: string, required: true): string;
export function str(values: ParsedCommandLine['values'], name: string, required?: false): string | undefined;
export function str(values: ParsedCommandLine['values'], name: string, required = false): string | undefined {
  const v = values[name];
  if (v === undefined || v === '') {
    if (required) throw new CliUsageError(`Missing required option --${name}`, `--${name}`);
    return undefined;
  }
  return v as string;
}

/** A numeric flag within `range` (described as the library describes its own bounds). */
export function num(values: ParsedCommandLine['values'], name: string, range: Range = {}): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!isInRange(n, range))
    throw new CliUsageError(`Expected ${describeRange(range)} for --${name} but received '${v}'`, `--${name}`);
  return n;
}

/** --batch-size, bounded as the library bounds batchSize. */
export function batchSizeFlag(values: ParsedCommandLine['values']): number | undefined {
  return num(values, 'batch-size', { integer: true, min: 1, max: MAX_BATCH_SIZE });
}

/** A flag that is one of `rules` or a number within `range` (e.g. --bandwidth droc|0.5). */
export function ruleOrNumber<T extends string>(
  values: ParsedCommandLine['values'],
  name: string,
  rules: readonly T[],
  range: Range,
): T | number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if ((rules as readonly string[]).includes(v)) return v as T;
  const n = Number(v);
  if (!isInRange(n, range)) {
    throw new CliUsageError(
      `Expected one of ${rules.join(', ')} or a ${describeRange(range)} for --${name} but received '${v}'`,
      `--${name}`,
    );
  }
  return n;
}

export function choice<T extends string>(
  values: ParsedCommandLine['values'],
  name: string,
  choices: readonly T[],
): T | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v))
    throw new CliUsageError(`Expected one of ${choices.join(', ')} for --${name} but received '${v}'`, `--${name}`);
  return v as T;
}
