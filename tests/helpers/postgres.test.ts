import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkTypeScript, nextMessage } from '../bench/forkTs.js';
import { eventually } from './headend.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from './postgres.js';
import { isClusterReply } from './postgresProcess.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL test-cluster tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('throw-away PostgreSQL cluster', () => {
  let server: TestPostgres;
  let url: string;

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('serves PostgreSQL 15 on 127.0.0.1 to the test role with its password, and refuses a wrong one', async () => {
    const [row] = await queryPostgres<{ version: string; user: string }>(url, 'SELECT current_setting(\'server_version_num\') AS version, current_user AS user');
    expect(row).toEqual({ version: expect.stringMatching(/^15\d{4}$/) as string, user: 'gridhead' });
    const wrong = url.replace(`:${server.password}@`, ':not-the-password@');
    await expect(queryPostgres(wrong, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });

  it('gives each caller a database of its own', async () => {
    const other = await server.createDatabase();
    expect(other).not.toBe(url);
    await queryPostgres(url, 'CREATE TABLE only_here (x int)');
    const tables = await queryPostgres(other, "SELECT 1 FROM pg_tables WHERE tablename = 'only_here'");
    expect(tables).toEqual([]);
  });

  it('keeps every committed row through a SIGKILL of the whole server and a restart on the same URL', async () => {
    await queryPostgres(url, 'CREATE TABLE survivors (n int PRIMARY KEY)');
    await queryPostgres(url, 'INSERT INTO survivors SELECT generate_series(1, 1000)');
    const before = server.serverPids();
    expect(before.length).toBeGreaterThan(1);

    await server.kill();
    expect(server.serverPids()).toEqual([]);
    expect(before.some((pid) => existsSync(`/proc/${pid}`))).toBe(false);
    await expect(queryPostgres(url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);

    await server.start();
    const [row] = await queryPostgres<{ n: string }>(url, 'SELECT count(*) AS n FROM survivors');
    expect(row?.n).toBe('1000');
  });

  it('restarts cleanly and keeps its port', async () => {
    const port = server.port;
    await server.restart();
    expect(server.port).toBe(port);
    const [row] = await queryPostgres<{ n: string }>(url, 'SELECT count(*) AS n FROM survivors');
    expect(row?.n).toBe('1000');
  });

  it('counts the server processes\' CPU time', async () => {
    const before = server.serverCpuSeconds();
    await queryPostgres(url, 'SELECT count(*) FROM generate_series(1, 3000000)');
    // The query's backend exits with its connection; its time joins the postmaster's count of
    // reaped children once the postmaster has reaped it, a moment later.
    await eventually(() => Promise.resolve(server.serverCpuSeconds() > before ? true : undefined), 10_000, 'the query\'s CPU time counted');
  });
});

describe.skipIf(unavailable !== undefined)('throw-away PostgreSQL cluster disposal', () => {
  it('stops the server and removes its directory', async () => {
    const server = await startPostgres();
    const pids = server.serverPids();
    await server.dispose();
    expect(existsSync(server.dataDir)).toBe(false);
    expect(pids.some((pid) => existsSync(`/proc/${pid}`))).toBe(false);
  });

  it('goes with the process that started it when that process is killed outright (SIGKILL, as a timed-out worker)', async () => {
    const forked = await forkTypeScript('tests/helpers/postgresProcess.ts', ['--cluster']);
    try {
      const reply = await nextMessage(forked.child, isClusterReply);
      if (reply.type !== 'started') throw new Error(`cluster did not start: ${reply.message}`);
      expect(reply.pids.length).toBeGreaterThan(1);
      expect(existsSync(reply.dataDir)).toBe(true);

      const exited = new Promise((resolve) => forked.child.once('exit', resolve));
      forked.child.kill('SIGKILL');
      await exited;

      const gone = () => Promise.resolve(reply.pids.every((pid) => !existsSync(`/proc/${pid}`)) && !existsSync(dirname(reply.dataDir)) ? true : undefined);
      await eventually(gone, 20_000, 'the orphaned cluster to be stopped and removed');
    } finally {
      await forked.dispose();
    }
  });
});
