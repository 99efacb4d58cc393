import { describe, expect, it } from 'vitest';
import { BROKER_DROPS_RULE_ID, BrokerDropWatch } from '../../../src/broker/dropWatch.js';
import { renderExplanation } from '../../../src/rules/explanation.js';

const T0 = Date.UTC(2026, 2, 3, 2, 58, 0);
const S = 1000;
const MIN = 60 * S;

function watch(extra: Partial<ConstructorParameters<typeof BrokerDropWatch>[0]> = {}) {
  return new BrokerDropWatch({ clearAfterMs: 15 * MIN, now: T0, ...extra });
}

describe('broker dropped-message watch', () => {
  it('takes the first value as a baseline: drops from before the station watched are not news', () => {
    const w = watch();
    expect(w.dropped(5000, T0)).toBeUndefined();
    expect(w.state()).toMatchObject({ counter: 5000, droppedSeen: 0, alarmOpen: false });
  });

  it('raises a major station alarm on growth, with how many, over which interval, and what to raise', () => {
    const w = watch();
    w.dropped(10, T0);
    w.heartbeat(T0 + 10 * S);
    w.heartbeat(T0 + 20 * S); // the counter held 10 at least until the pass at +10 s
    const s = w.dropped(94, T0 + 3 * MIN + 30 * S, { storedMessages: 1000 });
    expect(s).toMatchObject({
      ruleId: BROKER_DROPS_RULE_ID, kind: 'raise', severity: 'major', subject: { kind: 'station', id: 'mqtt-broker' },
      value: 84, since: T0 + 10 * S, at: T0 + 3 * MIN + 30 * S, areaId: null,
    });
    expect(s?.explanation).toContain('dropped 84 QoS 1 messages between 02:58:10Z and 03:01:30Z (3 min 20 s)');
    expect(s?.explanation).toContain('told they were delivered');
    expect(s?.explanation).toContain('max_queued_messages');
    expect(s?.explanation).toContain('config/mosquitto.conf');
    expect(s?.explanation).toContain('fell behind or was disconnected');
    expect(s?.explanation).toContain('holds 1000 messages');
  });

  it('writes its raise and clear explanations as data, read in English as stored and in Chinese', () => {
    const w = watch();
    w.dropped(0, T0);
    w.dropped(5, T0 + MIN);
    const raise = w.dropped(12, T0 + 2 * MIN, { storedMessages: 1000 });
    const data = raise?.explanationData;
    if (raise === undefined || data === undefined) throw new Error('expected a raise with its explanation as data');
    expect(renderExplanation(data, 'en')).toBe(raise.explanation);
    expect(renderExplanation(data, 'zh')).toBe('MQTT 代理在 02:59:00Z 至 03:00:00Z（1 分钟）之间丢弃了 7 条 QoS 1 消息（自 02:58:00Z 起共 12 条）：'
      + '发送这些消息的终端已收到送达确认（PUBACK），其读数已丢失。主站处理滞后或曾断开连接，代理中为主站排队的消息已满：'
      + '请调大代理配置（config/mosquitto.conf）中的 max_queued_messages，并检查主站与代理的连接及入库；代理存储中现有 1000 条消息');
    const clear = w.tick(T0 + 17 * MIN);
    const clearData = clear?.explanationData;
    if (clear === undefined || clearData === undefined) throw new Error('expected a clear with its explanation as data');
    expect(clear.explanation).toBe('the MQTT broker dropped no further messages for 15 min (last drop seen 03:00:00Z); 12 messages were lost in all since 02:58:00Z');
    expect(renderExplanation(clearData, 'zh')).toBe('MQTT 代理已 15 分钟 未再丢弃消息（最后一次发现丢弃于 03:00:00Z）；自 02:58:00Z 起共丢失 12 条消息');
  });

  it('keeps one episode: further growth updates the same alarm with the running total', () => {
    const w = watch();
    w.dropped(0, T0);
    w.dropped(5, T0 + MIN);
    const s = w.dropped(12, T0 + 2 * MIN);
    expect(s).toMatchObject({ kind: 'raise', value: 12, since: T0 });
    expect(s?.explanation).toContain('dropped 7 QoS 1 messages');
    expect(s?.explanation).toContain('(12 since 02:58:00Z)');
  });

  it('reads a lower value as a broker restart: the new value is all growth, never negative', () => {
    const w = watch();
    w.dropped(500, T0);
    expect(w.dropped(3, T0 + MIN)).toMatchObject({ kind: 'raise', value: 3 });
    expect(w.state()).toMatchObject({ counter: 3, droppedSeen: 3, resets: 1 });
    expect(w.dropped(3, T0 + 2 * MIN)).toBeUndefined();
  });

  it('says nothing after a restart to 0 with nothing dropped since', () => {
    const w = watch();
    w.dropped(500, T0);
    expect(w.dropped(0, T0 + MIN)).toBeUndefined();
    expect(w.state()).toMatchObject({ counter: 0, resets: 1, alarmOpen: false });
  });

  it('clears once the counter has not grown for the quiet period, counted from the last growth', () => {
    const w = watch({ clearAfterMs: 15 * MIN });
    w.dropped(0, T0);
    w.dropped(5, T0 + MIN);
    w.dropped(6, T0 + 10 * MIN);
    expect(w.tick(T0 + 16 * MIN)).toBeUndefined(); // 15 min after the first growth, 6 after the last
    expect(w.tick(T0 + 25 * MIN - 1)).toBeUndefined();
    const c = w.tick(T0 + 25 * MIN);
    expect(c).toMatchObject({ kind: 'clear', value: 6, since: T0, at: T0 + 25 * MIN });
    expect(c?.explanation).toContain('no further messages for 15 min (last drop seen 03:08:00Z)');
    expect(w.tick(T0 + 40 * MIN)).toBeUndefined();
    expect(w.state().alarmOpen).toBe(false);
  });

  it('counts the drops of a time the station was down from the counter it kept, heartbeats before the counter confirming nothing', () => {
    const w = watch({ mark: { value: 40, confirmedAt: T0 - 30 * MIN }, now: T0 - 2 * S });
    w.heartbeat(T0 - 2 * S);
    w.heartbeat(T0 - S);
    const s = w.dropped(1040, T0);
    expect(s).toMatchObject({ kind: 'raise', value: 1000, since: T0 - 30 * MIN });
    expect(s?.explanation).toContain('between 02:28:00Z and 02:58:00Z (30 min)');
  });

  it('continues an alarm left open by the previous run and clears it after a quiet period from the start', () => {
    const w = watch({ mark: { value: 84, confirmedAt: T0 - MIN }, open: { since: T0 - 10 * MIN, dropped: 84 }, now: T0 });
    expect(w.dropped(84, T0 + S)).toBeUndefined();
    expect(w.tick(T0 + 15 * MIN - 1)).toBeUndefined();
    expect(w.tick(T0 + 15 * MIN)).toMatchObject({ kind: 'clear', value: 84, since: T0 - 10 * MIN });
  });

  it('takes a retained copy on subscribing for the value of the broker\'s last pass, not of now', () => {
    const w = watch({ mark: { value: 40, confirmedAt: T0 - 30 * MIN }, now: T0 });
    expect(w.dropped(40, T0, { retained: true })).toBeUndefined(); // published before the drops were counted
    w.heartbeat(T0 + S);
    const s = w.dropped(55, T0 + 1500);
    expect(s).toMatchObject({ value: 15, since: T0 - 30 * MIN });
  });

  it('spans a disconnection: heartbeats before it confirm the counter only up to the pass before the last', () => {
    const w = watch();
    w.dropped(0, T0);
    w.heartbeat(T0 + 1 * S);
    w.heartbeat(T0 + 2 * S);
    w.disconnected();
    w.heartbeat(T0 + 5 * MIN); // first pass after reconnecting: says nothing about the time away
    const s = w.dropped(20, T0 + 5 * MIN + 10);
    expect(s).toMatchObject({ since: T0 + 1 * S });
  });
});
