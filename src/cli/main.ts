#!/usr/bin/env node
/** The `oneclass` executable: a thin entry around runCli (src/cli/run.ts). */
import { installSignalHandlers, runCli } from './run.js';

installSignalHandlers();
process.exitCode = await runCli(process.argv.slice(2));
