/**
 * The `notify` action through the alarm notifiers as the station builds them, to real peers: a
 * webhook receiver over HTTP (signed body) and an aedes broker (QoS 1, the workflow topic beside
 * the alarms'). The notice's id is the step's key on every delivery, so a receiver drops the
 * repeat of a step run again; bad parameters are refused, naming the parameter, before anything
 * is posted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlarmNotifiers } from '../../../../src/alarms/notify/index.js';
import { AlarmsConfig } from '../../../../src/config/schema.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { ActionAbortedError, ActionParamError, alarmNotifierChannel } from '../../../../src/workflows/actions/index.js';
import { notifyAction, type WorkflowNotice } from '../../../../src/workflows/actions/notify.js';
import { startAedes } from '../../../helpers/aedes.js';
import { eventually } from '../../../helpers/headend.js';
import { stepContext } from './context.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SECRET = 'workflow-notice-secret';
const T0 = Date.UTC(2026, 0, 5, 8);

interface Posted {
  readonly body: string;
  readonly signature: string | undefined;
}

/** A real webhook receiver that answers 204 to every POST. */
async function receiver(): Promise<{ url: string; posted: Posted[] }> {
  const posted: Posted[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posted.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-gridhead-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, posted };
}

/** The receiver's side of the signature: HMAC-SHA256 of the bytes received, compared in constant time. */
function signedBySecret(p: Posted): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(p.body).digest('hex')}`);
  const given = Buffer.from(p.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The station's alarm notifiers (MQTT on the broker, one webhook) as the notify action's channel, and both peers. */
async function station() {
  const broker = await startAedes();
  cleanups.push(() => broker.close());
  const heard: { topic: string; qos: number; notice: WorkflowNotice }[] = [];
  const subscriber = await mqtt.connectAsync(broker.url, { clientId: 'workflow-notice-sub', reconnectPeriod: 0 });
  cleanups.push(() => subscriber.endAsync(true));
  subscriber.on('message', (topic, payload, packet) => {
    heard.push({ topic, qos: packet.qos, notice: JSON.parse(payload.toString('utf8')) as WorkflowNotice });
  });
  await subscriber.subscribeAsync('gridhead/v1/_alarms/#', { qos: 1 });
  const hook = await receiver();
  const config = Value.Default(AlarmsConfig, { mqtt: { enabled: true }, webhooks: [{ url: hook.url, secret: SECRET, minSeverity: 'info', timeoutMs: 2_000 }] }) as AlarmsConfig;
  const notifiers = createAlarmNotifiers(config, { url: broker.url, clientId: 'gridhead-workflow-notices' }, createLogger('silent'));
  notifiers.start();
  cleanups.push(() => notifiers.close());
  const action = notifyAction(alarmNotifierChannel(notifiers, config.mqtt.topicPrefix), () => T0);
  const both = (n: number, what: string) => eventually(() => Promise.resolve(hook.posted.length >= n && heard.length >= n ? true : undefined), 10_000, what);
  return { action, posted: hook.posted, heard, both };
}

describe('notify action through the alarm notifiers', () => {
  it('posts a signed webhook and a QoS 1 message under <prefix>/<severity>/workflow/<target>, with the step key as id on every run', async () => {
    const s = await station();
    const params = { message: 'Theft confirmed at m-1: bill the unmetered energy', severity: 'major', target: 'billing' };
    expect(await s.action.run(stepContext(params, { stepKey: 'i-1:notify-1' }))).toEqual({ notified: true, notifiedChannels: 2 });
    await s.both(1, 'the first notice on both channels');
    const notice: WorkflowNotice = {
      type: 'workflow', id: 'i-1:notify-1', processKey: 'suspected-theft', instanceId: 'i-1', elementId: 'step',
      severity: 'major', target: 'billing', message: params.message, at: new Date(T0).toISOString(),
    };
    expect(JSON.parse(s.posted[0]?.body ?? 'null')).toEqual(notice);
    expect(s.posted.every(signedBySecret)).toBe(true);
    expect(s.heard[0]).toEqual({ topic: 'gridhead/v1/_alarms/major/workflow/billing', qos: 1, notice });

    // The step run again (a restart before its output was recorded): the same id, which the receivers drop.
    await s.action.run(stepContext(params, { stepKey: 'i-1:notify-1' }));
    await s.both(2, 'the repeated notice');
    expect(s.posted.map((p) => (JSON.parse(p.body) as WorkflowNotice).id)).toEqual(['i-1:notify-1', 'i-1:notify-1']);
    expect(s.heard.map((h) => h.notice.id)).toEqual(['i-1:notify-1', 'i-1:notify-1']);
    expect(s.posted.every(signedBySecret)).toBe(true);
  });

  it('tells the process by default at severity info, and keeps MQTT wildcards out of the target\'s topic level', async () => {
    const s = await station();
    await s.action.run(stepContext({ message: 'Repair order opened' }, { stepKey: 'i-1:notify-2', processKey: 'communication-loss' }));
    await s.action.run(stepContext({ message: 'Crew east', target: 'dispatch/east+1' }, { stepKey: 'i-1:notify-3' }));
    await s.both(2, 'both notices');
    expect(s.heard.map((h) => [h.topic, h.notice.target, h.notice.severity])).toEqual([
      ['gridhead/v1/_alarms/info/workflow/communication-loss', 'communication-loss', 'info'],
      ['gridhead/v1/_alarms/info/workflow/dispatch_east_1', 'dispatch/east+1', 'info'],
    ]);
    expect(s.posted.map((p) => (JSON.parse(p.body) as WorkflowNotice).target)).toEqual(['communication-loss', 'dispatch/east+1']);
  });

  it('refuses a bad parameter, naming it, and an aborted step, posting nothing for either', async () => {
    const s = await station();
    const refused = async (params: Record<string, string>, param: string): Promise<void> => {
      const err: unknown = await s.action.run(stepContext(params)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ActionParamError);
      expect(err).toMatchObject({ code: 'WORKFLOW_ACTION_PARAM', action: 'notify', param });
    };
    await refused({}, 'message');
    await refused({ message: '   ' }, 'message');
    await refused({ message: 'x'.repeat(2_001) }, 'message');
    await refused({ message: 'Overdue', severity: 'urgent' }, 'severity');
    await refused({ message: 'Overdue', target: 't'.repeat(65) }, 'target');
    await expect(s.action.run(stepContext({ message: 'Overdue' }, { signal: AbortSignal.abort() }))).rejects.toBeInstanceOf(ActionAbortedError);
    // Deliveries are in order on both channels: the first to arrive is the one good notice.
    await s.action.run(stepContext({ message: 'Overdue' }, { stepKey: 'i-1:good' }));
    await s.both(1, 'the good notice');
    expect(s.posted.map((p) => (JSON.parse(p.body) as WorkflowNotice).id)).toEqual(['i-1:good']);
    expect(s.heard.map((h) => h.notice.id)).toEqual(['i-1:good']);
  });
});
