#!/usr/bin/env node
// Runs the TypeScript sources through tsx: no build step between a checkout and a run.
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

// Loading opens about a hundred module files (and tsx's compiler process): below this open-file limit it fails
// before main could word the error, so the limit is checked first (Linux tells it in /proc).
const minOpenFiles = 128;
const limits = existsSync('/proc/self/limits') ? readFileSync('/proc/self/limits', 'utf8') : '';
const openFiles = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Infinity);
if (openFiles < minOpenFiles) {
  process.stderr.write(`hotline: the open-file limit is ${openFiles} (ulimit -n); hotline needs at least ${minOpenFiles} (EMFILE otherwise)\n`);
  process.exit(2);
}
register();
// A closed pipe (hotline inspect ... | head) ends the output, not the process with a trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
