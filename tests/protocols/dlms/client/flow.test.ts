import { describe, expect, it } from 'vitest';
import { ConnectionError, TimeoutError } from '../../../../protocols/adapter.js';
import { encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import {
  AssociationUnavailable, ClientBusy, RequestAborted, ServiceRejected, UnexpectedResponse,
} from '../../../../protocols/dlms/client/errors.js';
import { hex, toHex } from '../apdu/helpers.js';
import { answerData, connect, invokeOf, type Step } from './scriptedServer.js';

const REF = { classId: 1, obis: '0.0.96.1.0.255', attribute: 2 };
const ok = answerData({ type: 'unsigned', value: 1 });

describe('DlmsClient request flow', () => {
  it('rolls the invoke-id through 1..15 and back to 0', async () => {
    const { client, server } = await connect([], {}, undefined, ok);
    for (let i = 0; i < 17; i++) await client.get(REF);
    expect(server.requests.slice(1).map((r) => invokeOf(r).invokeId)).toEqual([...Array.from({ length: 15 }, (_, i) => i + 1), 0, 1]);
    expect(server.requests.slice(1).every((r) => invokeOf(r).highPriority && invokeOf(r).confirmed)).toBe(true);
  });

  it('rejects a reply carrying another invoke-id and refuses later requests', async () => {
    const { client, server } = await connect([
      (req) => ({ type: 'get-response-normal', invoke: { ...invokeOf(req), invokeId: (invokeOf(req).invokeId + 1) & 15 }, result: { ok: true, data: { type: 'null-data' } } }),
    ], {}, undefined, ok);

    const e = await client.get(REF).catch((x: unknown) => x);

    expect(e).toBeInstanceOf(UnexpectedResponse);
    expect((e as UnexpectedResponse).reason).toBe('invoke-id');
    expect((e as UnexpectedResponse).code).toBe('DLMS_UNEXPECTED_RESPONSE');
    await expect(client.get(REF)).rejects.toBeInstanceOf(AssociationUnavailable);
    expect(server.requests).toHaveLength(2);
  });

  it('breaks the association on a reply of the wrong service', async () => {
    const { client } = await connect([(req) => ({ type: 'set-response-normal', invoke: invokeOf(req), result: 'success' })]);
    expect(((await client.get(REF).catch((x: unknown) => x)) as UnexpectedResponse).reason).toBe('apdu-type');
    expect(client.state).toBe('broken');
  });

  it('throws exception-response as ServiceRejected and keeps the association', async () => {
    const { client } = await connect([
      () => ({ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'operation-not-possible' }),
      ok,
    ]);

    const e = await client.get(REF).catch((x: unknown) => x);

    expect(e).toBeInstanceOf(ServiceRejected);
    expect((e as ServiceRejected).reason).toBe('service-not-allowed / operation-not-possible');
    expect((e as ServiceRejected).code).toBe('DLMS_SERVICE_REJECTED');
    expect(await client.get(REF)).toEqual({ ok: true, value: { type: 'unsigned', value: 1 } });
  });

  it('throws confirmed-service-error as ServiceRejected with its class and value names', async () => {
    const { client } = await connect([() => ({ type: 'confirmed-service-error', service: 'read', errorClass: 'access', value: 4 })]);
    const e = await client.get(REF).catch((x: unknown) => x);
    expect((e as ServiceRejected).reason).toBe('read: access: object-unavailable');
  });

  it('fails only the request whose complete reply does not decode; the association stays in step', async () => {
    // An octet-string of 5 holding one octet: the reply arrived whole, its value is broken.
    const { client } = await connect([() => hex('C4 01 C1 00 09 05 01'), ok]);
    await expect(client.get(REF)).rejects.toMatchObject({ code: 'DLMS_DECODE' });
    expect(client.state).toBe('associated');
    expect(await client.get(REF)).toEqual({ ok: true, value: { type: 'unsigned', value: 1 } });
  });

  it('ignores bytes after a complete reply and reports them', async () => {
    const events: unknown[] = [];
    const { client } = await connect([() => hex('C4 01 C1 00 11 07 00 00 00'), ok], { terminalId: 't1', onTrailingBytes: (e) => { events.push(e); } });
    expect(await client.get(REF)).toEqual({ ok: true, value: { type: 'unsigned', value: 7 } });
    expect(events).toEqual([{ what: 'get 1/0.0.96.1.0.255/2', apduType: 'get-response-normal', count: 3, terminalId: 't1' }]);
    expect(await client.get(REF)).toEqual({ ok: true, value: { type: 'unsigned', value: 1 } });
    expect(events).toHaveLength(1);
  });

  it('times out with TimeoutError and refuses further requests until reconnected', async () => {
    const { client, server } = await connect([() => 'silence'], { timeoutMs: 25 }, undefined, ok);

    const e = await client.get(REF).catch((x: unknown) => x);

    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeoutMs).toBe(25);
    expect(client.state).toBe('broken');
    const refused = await client.get(REF).catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(AssociationUnavailable);
    expect((refused as AssociationUnavailable).cause).toBe(e);
    expect(server.requests).toHaveLength(2);
  });

  it('never takes a late reply for the answer to the next request', async () => {
    let deliver: (a: Apdu) => void = () => undefined;
    const late: Step = () => new Promise<Apdu>((resolve) => { deliver = resolve; });
    const { client, server } = await connect([late], { timeoutMs: 25 }, undefined, ok);

    await expect(client.get(REF)).rejects.toBeInstanceOf(TimeoutError);
    const first = server.requests[1]!;
    deliver({ type: 'get-response-normal', invoke: invokeOf(first), result: { ok: true, data: { type: 'unsigned', value: 99 } } });

    await expect(client.get(REF)).rejects.toBeInstanceOf(AssociationUnavailable);
    expect(server.requests).toHaveLength(2);
  });

  it('aborts with the caller signal and breaks the association', async () => {
    const { client } = await connect([() => 'silence']);
    const ctl = new AbortController();
    const pending = client.get(REF, undefined, ctl.signal);
    setImmediate(() => { ctl.abort(); });
    await expect(pending).rejects.toBeInstanceOf(RequestAborted);
    expect(client.state).toBe('broken');
  });

  it('wraps a transport failure in ConnectionError', async () => {
    const { client } = await connect([() => { throw new Error('socket reset'); }]);
    const e = await client.get(REF).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectionError);
    expect((e as Error).message).toContain('socket reset');
    expect(client.state).toBe('broken');
  });

  it('serialises concurrent calls: never two requests outstanding at the transport', async () => {
    const echo: Step = (req) => ({
      type: 'get-response-normal', invoke: invokeOf(req),
      result: { ok: true, data: { type: 'unsigned', value: req.type === 'get-request-normal' ? req.attribute.attributeId : 0 } },
    });
    const { client, server } = await connect([], {}, undefined, echo);

    const results = await Promise.all([2, 3, 4, 5, 6].map((attribute) => client.get({ ...REF, attribute })));

    expect(server.maxInFlight).toBe(1);
    expect(results.map((r) => r.ok && r.value)).toEqual([2, 3, 4, 5, 6].map((value) => ({ type: 'unsigned', value })));
  });

  it('refuses calls beyond the queue bound with ClientBusy', async () => {
    const { client, server } = await connect([], { maxQueued: 1 }, undefined, ok);

    const outcomes = await Promise.allSettled([client.get(REF), client.get(REF), client.get(REF)]);

    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(ClientBusy);
    expect(server.requests).toHaveLength(3);
  });

  it('refuses queued requests once closed while one is in flight', async () => {
    const { client, server } = await connect([() => 'silence'], {}, undefined, ok);
    const inFlight = client.get(REF);
    const queued = client.get(REF);
    setImmediate(() => { void client.close(); });
    await expect(inFlight).rejects.toBeInstanceOf(AssociationUnavailable);
    await expect(queued).rejects.toMatchObject({ state: 'closed' });
    expect(server.closeCalls).toBe(1);
  });
});

describe('DlmsClient release', () => {
  it('sends RLRQ, accepts RLRE and closes the transport', async () => {
    const { client, server } = await connect([() => ({ type: 'rlre', reason: 'normal' })]);

    expect(await client.release()).toEqual({ ok: true });

    // Green Book §9.5 RLRQ-apdu: [APPLICATION 2], reason [0] IMPLICIT INTEGER normal (0).
    expect(toHex(server.rawRequests[1]!)).toBe(toHex(hex('62 03 80 01 00')));
    expect(server.closeCalls).toBe(1);
    expect(client.state).toBe('closed');
  });

  it('closes anyway when the server does not answer the release', async () => {
    const { client, server } = await connect([() => 'silence'], { timeoutMs: 25 });
    const outcome = await client.release();
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toBeInstanceOf(TimeoutError);
    expect(server.closeCalls).toBe(1);
    await client.close();
    expect(server.closeCalls).toBe(1);
  });

  it('does not send RLRQ on a broken association, but still closes', async () => {
    const { client, server } = await connect([() => 'silence'], { timeoutMs: 25 });
    await expect(client.get(REF)).rejects.toBeInstanceOf(TimeoutError);
    const outcome = await client.release();
    expect(!outcome.ok && outcome.error).toBeInstanceOf(AssociationUnavailable);
    expect(server.requests.map((r) => r.type)).toEqual(['aarq', 'get-request-normal']);
    expect(server.closeCalls).toBe(1);
  });

  it('encodes nothing it cannot: a bad value fails before it is sent and keeps the association', async () => {
    const { client, server } = await connect([], {}, undefined, ok);
    await expect(client.set(REF, { type: 'unsigned', value: 300 })).rejects.toMatchObject({ code: 'DLMS_ENCODE' });
    expect(server.requests).toHaveLength(1);
    expect(client.state).toBe('associated');
    expect(encodeApdu({ type: 'rlrq', reason: 'normal' })).toEqual(hex('62 03 80 01 00'));
  });
});
