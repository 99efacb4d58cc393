// Runs `tsc` when dist/ is missing or older than any TypeScript source, and `vite build` when the
// dashboard bundle (dist/web) is missing or older than src/web, so `npm start` works on a fresh clone.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(path, skip) {
  if (skip.includes(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry), skip));
  return max;
}

function stale(marker, roots, skip = []) {
  const built = existsSync(marker) ? statSync(marker).mtimeMs : 0;
  const sources = Math.max(...roots.filter((r) => existsSync(r)).map((r) => newest(r, skip)));
  return sources > built;
}

if (stale('dist/src/cli.js', ['src', 'protocols', 'simulators', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'], [join('src', 'web')])) {
  process.stdout.write('gridhead: building (tsc)…\n');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
if (stale('dist/web/index.html', ['src/web', 'vite.config.ts', 'package-lock.json'])) {
  process.stdout.write('gridhead: building the dashboard (vite)…\n');
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], { stdio: 'inherit' });
}
