/**
 * A throw-away PostgreSQL cluster (Debian package `postgresql`, version 15) for integration
 * tests and benchmarks: `initdb` into a temp directory, `pg_ctl` on a free port of 127.0.0.1,
 * a password (SCRAM) for the test role so URLs look like production ones. One cluster per
 * test file; `createDatabase()` gives each suite its own database in it.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root every server binary runs
 * as the unprivileged `postgres` system user (through `setpriv`), in a directory that user
 * owns. `kill()` and `start()` are the fault injection: the whole server killed with SIGKILL,
 * then started again on the same port and data, which replays its WAL.
 *
 * The cluster lives no longer than the test process: an `exit` handler covers a normal end,
 * and a watchdog process (detached, so a signal to the test's process group spares it) covers
 * the rest, a worker killed by a timeout above all: when the process that started the cluster
 * is gone, the watchdog shuts the server down (SIGQUIT, then SIGKILL) and removes its folder.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './victoriaMetrics.js';

export interface TestPostgresOptions {
  /**
   * Default false: tests never outlive a power cut, so commits skip fsync (and full-page
   * writes) and the cluster is fast. A SIGKILL of the server still loses nothing committed:
   * the WAL is written to the OS at every commit, only not flushed to the disk. Benchmarks
   * that compare durability with the embedded store turn it on.
   */
  readonly fsync?: boolean;
}

export interface TestPostgres {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** `postgres://user:password@127.0.0.1:port/database`, database `postgres` by default. */
  url(database?: string): string;
  /** Creates an empty database with a unique name and returns its URL. */
  createDatabase(): Promise<string>;
  /** The postmaster and its live children (backends, WAL writer, checkpointer...). */
  serverPids(): number[];
  /** CPU seconds the server has used so far: live processes plus the children it reaped. */
  serverCpuSeconds(): number;
  /** Starts the server again on the same port and data (after `stop()` or `kill()`). */
  start(): Promise<void>;
  /** A clean shutdown (`pg_ctl stop -m fast`); no-op when it is not running. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and every child at once, as a crash would; waits until they are gone. */
  kill(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
  /** Stops the server (immediately) and removes its directory. */
  dispose(): Promise<void>;
}

const PG_MAJOR = '15';

/** The directory of `initdb`, `pg_ctl` and `postgres` 15; undefined when they are not installed. */
export function postgresBinDir(): string | undefined {
  const candidates = [`/usr/lib/postgresql/${PG_MAJOR}/bin`];
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (fromPgConfig.status === 0) candidates.push(fromPgConfig.stdout.trim());
  return candidates.find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b))));
}

/** Why a test cluster cannot run here (to print when skipping), or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (postgresBinDir() === undefined) return `PostgreSQL ${PG_MAJOR} binaries not found (apt-get install postgresql)`;
  if (process.getuid?.() === 0 && serverAccount() === undefined) return 'running as root and there is no `postgres` system user to run the server as';
  return undefined;
}

/** One statement on its own connection to `url`: for tests that check what a station left in the database. */
export async function queryPostgres<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** initdb's a cluster in a fresh temp directory and starts it; throws when that cannot be done here. */
export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const reason = postgresUnavailable();
  const bin = postgresBinDir();
  if (reason !== undefined || bin === undefined) throw new Error(`cannot start PostgreSQL: ${reason ?? 'no binaries'}`);
  const account = process.getuid?.() === 0 ? serverAccount() : undefined;
  const root = mkdtempSync(join(tmpdir(), 'gridhead-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  const user = 'gridhead';
  const password = randomBytes(12).toString('hex');
  const fsync = options.fsync ?? false;
  let port = 0;

  // Asynchronous, so a test's own station keeps running while the server starts or stops.
  const run = (binary: string, args: readonly string[]): Promise<{ status: number | null; output: string }> => {
    const command = account === undefined
      ? [join(bin, binary), ...args]
      : ['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--', join(bin, binary), ...args];
    const [file = '', ...rest] = command;
    return new Promise((resolve) => {
      // With `-l` the postmaster writes to the log file, not to these pipes, so they close when pg_ctl exits.
      const child = spawn(file, rest, { cwd: root, env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-4000); };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', (err) => { resolve({ status: null, output: err.message }); });
      child.once('close', (status) => { resolve({ status, output }); });
    });
  };
  const logTail = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '');
  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const serverPids = (): number[] => {
    const pid = postmasterPid();
    return pid === undefined ? [] : [pid, ...childrenOf(pid)];
  };

  // The first start picks the port; later ones keep it, so URLs stay valid across restarts.
  const start = async (first: boolean): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (first) port = await freePort();
      writeFileSync(join(dataDir, 'gridhead-test.conf'), [
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        // TCP only: the socket directory would have to be writable by the server user.
        "unix_socket_directories = ''",
        `fsync = ${fsync ? 'on' : 'off'}`,
        `full_page_writes = ${fsync ? 'on' : 'off'}`,
        'max_connections = 50',
        "password_encryption = 'scram-sha-256'",
        '',
      ].join('\n'));
      const r = await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '30', 'start']);
      if (r.status === 0) return;
      // Another process may have taken the port between probing and binding: try a new one.
      if (first && attempt < 2 && /could not bind|Address already in use/.test(logTail())) continue;
      throw new Error(`PostgreSQL did not start on port ${port}: ${r.output}\n${logTail()}`);
    }
  };

  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    if (postmasterPid() === undefined) return;
    const r = await run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
    if (r.status !== 0) throw new Error(`pg_ctl stop failed: ${r.output}\n${logTail()}`);
  };

  const kill = async (pids = serverPids()): Promise<void> => {
    for (const pid of pids) killQuietly(pid);
    // The next postmaster refuses to start while the old one's pid still exists, so wait
    // until every process has been reaped.
    const deadline = Date.now() + 10_000;
    while (pids.some((pid) => existsSync(`/proc/${pid}`))) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL processes ${pids.join(', ')} still exist 10 s after SIGKILL`);
      await sleep(20);
    }
  };

  // A test runner that exits without `dispose()` must not leave a server behind; one killed
  // outright (a timeout, SIGKILL) runs no handler, which is what the watchdog is for.
  const watchdog = startWatchdog(root, dataDir);
  const onExit = (): void => {
    for (const pid of serverPids()) killQuietly(pid);
    rmSync(root, { recursive: true, force: true });
    watchdog.kill('SIGKILL');
  };
  process.once('exit', onExit);

  try {
    const passwordFile = join(root, 'password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (account !== undefined) {
      chownSync(root, account.uid, account.gid);
      chownSync(passwordFile, account.uid, account.gid);
    }
    const init = await run('initdb', [
      '-D', dataDir, '-U', user, `--pwfile=${passwordFile}`, '--auth=scram-sha-256',
      '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ]);
    rmSync(passwordFile, { force: true });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.output}`);
    writeFileSync(join(dataDir, 'postgresql.conf'), "\ninclude = 'gridhead-test.conf'\n", { flag: 'a' });
    if (account !== undefined) chownSync(join(dataDir, 'postgresql.conf'), account.uid, account.gid);
    await start(true);
  } catch (err) {
    onExit();
    process.off('exit', onExit);
    throw err;
  }

  const url = (database = 'postgres'): string => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
  let databases = 0;
  let disposed: Promise<void> | undefined;
  return {
    get port() { return port; },
    user,
    password,
    dataDir,
    url,
    async createDatabase() {
      const name = `test_${++databases}_${randomBytes(3).toString('hex')}`;
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    serverPids,
    serverCpuSeconds() {
      const pid = postmasterPid();
      if (pid === undefined) return 0;
      return cpuTicks(pid, true) / CLOCK_TICKS + childrenOf(pid).reduce((s, child) => s + cpuTicks(child, false) / CLOCK_TICKS, 0);
    },
    start: async () => {
      if (postmasterPid() === undefined) await start(false);
    },
    stop: () => stop('fast'),
    kill: () => kill(),
    restart: async () => {
      await stop('fast');
      await start(false);
    },
    dispose() {
      disposed ??= (async () => {
        const pids = serverPids();
        try {
          await stop('immediate');
        } finally {
          // Also waits for the processes `stop` ended, so nothing is left when this resolves.
          await kill(pids);
          process.off('exit', onExit);
          rmSync(root, { recursive: true, force: true });
          watchdog.kill('SIGKILL');
        }
      })();
      return disposed;
    },
  };
}

/**
 * The watchdog: a small detached node process polling whether the process that started the
 * cluster still exists (the same pid with the same start time, so a reused pid does not fool
 * it). When it is gone: SIGQUIT to the postmaster (PostgreSQL's immediate shutdown, which ends
 * every backend too), SIGKILL if it is still there 10 s later, then the folder removed.
 */
const WATCHDOG = `
const fs = require('node:fs');
const [parent, root, dataDir, started] = process.argv.slice(1);
const startOf = (pid) => {
  try { const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]; } catch { return undefined; }
};
let postmaster;
const alive = (pid) => pid !== undefined && fs.existsSync('/proc/' + pid);
const signal = (pid, sig) => { try { process.kill(pid, sig); } catch {} };
const poll = setInterval(() => {
  try { postmaster = Number(fs.readFileSync(dataDir + '/postmaster.pid', 'utf8').split('\\n')[0]) || postmaster; } catch {}
  if (startOf(parent) === started) return;
  clearInterval(poll);
  if (alive(postmaster)) signal(postmaster, 'SIGQUIT');
  const deadline = Date.now() + 10000;
  const wait = setInterval(() => {
    if (alive(postmaster) && Date.now() < deadline) return;
    if (alive(postmaster)) signal(postmaster, 'SIGKILL');
    clearInterval(wait);
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(0);
  }, 50);
}, 200);
`;

function startWatchdog(root: string, dataDir: string): ChildProcess {
  const started = statFields(process.pid)?.[19];
  if (started === undefined) throw new Error('cannot read this process\'s start time from /proc');
  const child = spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), root, dataDir, started], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

interface Account { readonly uid: number; readonly gid: number }

function serverAccount(): Account | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return uid > 0 ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Fields of /proc/<pid>/stat after the parenthesised command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // Field 4 of proc(5) is the ppid; index 1 once pid and comm are cut off.
    if (Number(statFields(Number(entry))?.[1]) === parent) out.push(Number(entry));
  }
  return out;
}

/** utime + stime (proc(5) fields 14, 15), plus cutime + cstime (16, 17) of reaped children when asked. */
function cpuTicks(pid: number, withReapedChildren: boolean): number {
  const f = statFields(pid);
  if (f === undefined) return 0;
  const own = Number(f[11]) + Number(f[12]);
  return withReapedChildren ? own + Number(f[13]) + Number(f[14]) : own;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
