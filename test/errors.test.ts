/**
 * One error hierarchy and one set of validation messages: every error is a OneclassError with a
 * code (the CLI's usage errors included), ranges read the same in the library and on the command
 * line, and the CLI's exit codes are those documented in docs/cli.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { batchSizeFlag, CliUsageError, parseCommandLine } from '../src/cli/args.js';
import { EXIT, exitCodeFor } from '../src/cli/exit-codes.js';
import { type ErrorCode, invalidArgument, OneclassError } from '../src/errors.js';
import { describeRange, expectBatchSize, expectNumber } from '../src/validate.js';
import { REPO } from './helpers.js';

describe('one error hierarchy', () => {
  it('usage errors are OneclassErrors with code ERR_USAGE and exit code 2', () => {
    let caught: unknown;
    try {
      parseCommandLine(['frobnicate']);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CliUsageError);
    expect(caught).toBeInstanceOf(OneclassError);
    expect((caught as OneclassError).code).toBe('ERR_USAGE');
    expect(exitCodeFor(caught)).toBe(EXIT.USAGE);
  });

  it('messages follow "Expected <what> for <parameter> but received <value>"', () => {
    expect(invalidArgument('options.k', 'integer >= 1', -2).message).toBe(
      'Expected integer >= 1 for options.k but received -2 of type number',
    );
    expect(() => expectNumber('holdout', 1, { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true })).toThrow(
      'Expected number in (0, 1) for holdout but received 1 of type number',
    );
    expect(describeRange({ min: 0, exclusiveMin: true })).toBe('positive finite number');
    expect(describeRange({ integer: true, min: 1, max: 4096 })).toBe('integer in [1, 4096]');
  });

  it('the batch-size bound is one: the library and the CLI say the same', () => {
    expect(() => expectBatchSize('batchSize', 0, 32)).toThrow(
      'Expected integer in [1, 4096] for batchSize but received 0 of type number',
    );
    expect(expectBatchSize('batchSize', undefined, 32)).toBe(32);
    const flags = parseCommandLine(['score', '--batch-size', '5000']).values;
    expect(() => batchSizeFlag(flags)).toThrow("Expected integer in [1, 4096] for --batch-size but received '5000'");
  });
});

describe('exit codes', () => {
  it('are the ones docs/cli.md documents, for every error code', () => {
    const doc = readFileSync(join(REPO, 'docs', 'cli.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Exit codes'));
    const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual(Object.values(EXIT));
    const byCode: Record<ErrorCode, number> = {
      ERR_USAGE: 2,
      ERR_INVALID_ARGUMENT: 3,
      ERR_IMAGE_DECODE: 3,
      ERR_NOT_FITTED: 3,
      ERR_MODEL_FORMAT: 4,
      ERR_BACKEND_UNAVAILABLE: 5,
      ERR_CUDA: 5,
      ERR_NUMERICAL: 6,
      ERR_OUT_OF_MEMORY: 6,
      ERR_ABORTED: 130,
      ERR_INTERNAL: 1,
      ERR_RELEASED: 1,
      ERR_QUEUE_FULL: 7,
      ERR_CLOSED: 7,
      ERR_TIMEOUT: 7,
      ERR_UNAVAILABLE: 7,
    };
    for (const [code, exit] of Object.entries(byCode))
      expect(exitCodeFor(new OneclassError(code as ErrorCode, 'x'))).toBe(exit);
    expect(exitCodeFor(new Error('plain'))).toBe(EXIT.INTERNAL);
  });
});
