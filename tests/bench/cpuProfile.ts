/**
 * CPU profiles of the measured process for the benchmarks: with GRIDHEAD_BENCH_CPU_PROFILE=<file>
 * set, a bench samples itself over its measured run and writes a .cpuprofile (Chrome DevTools,
 * speedscope). Sampling costs some CPU: a profiled run's figures are not the benchmark's.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

/** Starts sampling when `file` is set; the returned function stops and writes the profile. */
export async function startProfiler(file: string | undefined): Promise<(() => Promise<void>) | undefined> {
  if (file === undefined || file === '') return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await writeFile(file, JSON.stringify(profile));
    console.log(`bench: CPU profile written to ${file}`);
  };
}
