// Runs `tsc` when dist/ is missing or older than any TypeScript source, so `npm start` works on a fresh clone.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const marker = 'dist/src/cli.js';
const roots = ['src', 'protocols', 'simulators', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const built = existsSync(marker) ? statSync(marker).mtimeMs : 0;
const sources = Math.max(...roots.filter((r) => existsSync(r)).map(newest));
if (sources > built) {
  process.stdout.write('gridhead: building (tsc)…\n');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
