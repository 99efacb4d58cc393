/**
 * Ending an mqtt.js client without hanging: `end(false)` sends DISCONNECT but first waits
 * for every publish of ours still awaiting its PUBACK, which never comes from a broker
 * that has gone quiet. Shared by every station client and the simulated terminal.
 */
import type { MqttClient } from 'mqtt';

/**
 * Disconnects cleanly (MQTT 3.1.1 §3.14: no last will is published) when the broker
 * answers within `graceMs`; otherwise destroys the socket. Resolves either way.
 */
export async function disconnect(client: MqttClient, graceMs = 2_000): Promise<void> {
  if (!client.connected) {
    await client.endAsync(true);
    return;
  }
  if ((await withDeadline(client.endAsync(false), graceMs)) === 'late') client.stream.destroy();
}

/** Resolves with `promise`'s value, or `'late'` after `ms`; the timer never outlives it. */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, ms, 'late');
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
