/**
 * A node that campaigns for the `leader` lease in a process of its own, so a test can pause it
 * (SIGSTOP) while another node takes over, and wake it (SIGCONT) to see what it can still do:
 * `forkTypeScript('tests/helpers/leaseHolderProcess.ts', ['--lease-holder', url, nodeId])`.
 *
 * IPC: child → `{ type: 'gained' | 'lost', token }`; parent → `{ type: 'send', commandId,
 * meterId }`, which marks that target `sent` under the token this node was last given, as a
 * dispatcher that started before a pause would; child → `{ type: 'sent' }` or
 * `{ type: 'refused', code }`, each with whether the node believed it held the lease.
 */
import { Lease } from '../../src/cluster/lease.js';
import { PostgresCommandStore } from '../../src/control/postgresCommandStore.js';
import { openPostgres } from '../../src/storage/postgres/connection.js';
import { POSTGRES_TEST_CONFIG } from './postgresStore.js';

export const HOLDER_LEASE_MS = 600;

export type HolderReply =
  | { readonly type: 'gained' | 'lost'; readonly token: number }
  | { readonly type: 'sent'; readonly wasHolder: boolean }
  | { readonly type: 'refused'; readonly code: string; readonly wasHolder: boolean };

export interface SendRequest { readonly type: 'send'; readonly commandId: string; readonly meterId: string }

export const isReply = <T extends HolderReply['type']>(type: T) => (m: unknown): m is Extract<HolderReply, { type: T }> =>
  (m as { type?: unknown } | null)?.type === type;

const at = process.argv.indexOf('--lease-holder');
if (typeof process.send === 'function' && at >= 0) {
  const post = process.send.bind(process);
  // A lease lost while the parent disconnects (it woke the process only to end it) has no one
  // to tell: the callback takes the broken pipe, which would otherwise crash the process.
  const send = (m: HolderReply): void => { if (process.connected) post(m, undefined, undefined, () => undefined); };
  const [url = '', holder = ''] = process.argv.slice(at + 1);
  void (async () => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    const store = new PostgresCommandStore(db);
    const lease = new Lease(db, { name: 'leader', holder, leaseMs: HOLDER_LEASE_MS, renewEveryMs: 200 });
    let token = 0;
    lease.on('gained', (t) => { token = t; send({ type: 'gained', token: t } satisfies HolderReply); });
    lease.on('lost', (t) => { send({ type: 'lost', token: t } satisfies HolderReply); });
    process.on('message', (m: SendRequest) => {
      const wasHolder = lease.isHolder();
      store.transition(m.commandId, m.meterId, 'sent', Date.now(), { fence: { lease: 'leader', token } }).then(
        () => { send({ type: 'sent', wasHolder } satisfies HolderReply); },
        (err: unknown) => { send({ type: 'refused', code: (err as { code?: string }).code ?? String(err), wasHolder } satisfies HolderReply); },
      );
    });
    process.once('disconnect', () => { void lease.close().then(() => db.close()).then(() => process.exit(0)); });
    lease.start();
  })();
}
