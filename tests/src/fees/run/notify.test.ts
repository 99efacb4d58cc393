/**
 * Fee notices to each account's own target over real sockets: a signed POST to a real HTTP
 * receiver, a QoS 1 message through an in-process aedes broker to a subscriber.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import type { FeeDecision } from '../../../../src/fees/model.js';
import { FeeRunConfig } from '../../../../src/config/feeRun.js';
import { FeeNotifier } from '../../../../src/fees/run/notify.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { startAedes, type TestBroker } from '../../../helpers/aedes.js';
import { eventually } from '../../../helpers/headend.js';
import { account } from '../policy/fixtures.js';

const SECRET = 'fee-notice-secret-0123';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function notifyConfig(over: Record<string, unknown> = {}): FeeRunConfig['notify'] {
  return (Value.Default(FeeRunConfig, { notify: { timeoutMs: 2_000, ...over } }) as FeeRunConfig).notify;
}

function decision(over: Partial<FeeDecision> = {}): FeeDecision {
  return { seq: 1, accountId: 'acc-1', at: 1_700_000_000_000, action: 'warn-first', reason: 'below-first-warning', message: 'first warning', balanceMinor: 1_900, ...over };
}

async function receiver(): Promise<{ url: string; received: { body: string; signature: string | undefined }[] }> {
  const received: { body: string; signature: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-gridhead-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`, received };
}

function started(n: FeeNotifier): FeeNotifier {
  n.start();
  closers.push(() => n.stop());
  return n;
}

describe('FeeNotifier', () => {
  it('posts a signed notice of a warning to the account’s webhook, and nothing for a wait', async () => {
    const { url, received } = await receiver();
    const n = started(new FeeNotifier(notifyConfig({ webhookSecret: SECRET }), undefined, createLogger('silent')));
    const acc = account({ notify: { kind: 'webhook', url } });
    n.notify(acc, decision({ action: 'wait', reason: 'night' }));
    n.notify(acc, decision());
    await eventually(() => Promise.resolve(received.length > 0 ? true : undefined), 10_000, 'the webhook notice');
    const got = received[0];
    expect(JSON.parse(got?.body ?? '')).toEqual({
      type: 'fee-control', accountId: 'acc-1', customerRef: 'C-1', name: 'Flat 1', action: 'warn-first', reason: 'below-first-warning',
      message: 'first warning', balanceMinor: 1_900, currency: 'CNY', at: 1_700_000_000_000,
    });
    expect(got?.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(got?.body ?? '').digest('hex')}`);
    expect(received).toHaveLength(1);
    expect(n.stats()).toEqual({ queued: 1, refused: 0 });
  });

  it('publishes a disconnection notice to the account’s MQTT topic', async () => {
    const broker: TestBroker = await startAedes();
    closers.push(() => broker.close());
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'sub' });
    closers.push(() => sub.endAsync());
    const got: { topic: string; payload: string }[] = [];
    sub.on('message', (topic, payload) => got.push({ topic, payload: payload.toString('utf8') }));
    await sub.subscribeAsync('utility/fees/#', { qos: 1 });
    const n = started(new FeeNotifier(notifyConfig(), { url: broker.url, clientId: 'station-fees' }, createLogger('silent')));
    n.notify(account({ notify: { kind: 'mqtt', topic: 'utility/fees/acc-1' } }), decision({ action: 'disconnect', reason: 'credit-exhausted', commandId: 'cmd-9' }));
    await eventually(() => Promise.resolve(got.length > 0 ? true : undefined), 10_000, 'the MQTT notice');
    expect(got[0]?.topic).toBe('utility/fees/acc-1');
    expect(JSON.parse(got[0]?.payload ?? '')).toMatchObject({ action: 'disconnect', reason: 'credit-exhausted', commandId: 'cmd-9' });
  });

  it('refuses, and counts, a webhook without a secret and webhook URLs beyond the limit', async () => {
    const unsigned = new FeeNotifier(notifyConfig(), undefined, createLogger('silent'));
    unsigned.notify(account({ notify: { kind: 'webhook', url: 'http://127.0.0.1:9/x' } }), decision());
    expect(unsigned.stats()).toEqual({ queued: 0, refused: 1 });
    const bounded = new FeeNotifier(notifyConfig({ webhookSecret: SECRET, maxWebhookTargets: 1 }), undefined, createLogger('silent'));
    bounded.notify(account({ notify: { kind: 'webhook', url: 'http://127.0.0.1:9/a' } }), decision());
    bounded.notify(account({ notify: { kind: 'webhook', url: 'http://127.0.0.1:9/b' } }), decision());
    bounded.notify(account({ notify: { kind: 'mqtt', topic: 'x' } }), decision());
    expect(bounded.stats()).toEqual({ queued: 1, refused: 2 });
    await bounded.stop();
  });
});
