/**
 * The Disconnect control state machine (IC 70, IEC 62056-6-2 §4.5.8, DLMS UA Blue Book
 * "state diagram of the Disconnect control IC"). States: 0 Disconnected, 1 Connected,
 * 2 Ready_for_reconnection. Transitions:
 *
 *   a remote_reconnect   0 → 1        e manual_reconnect   2 → 1
 *   b remote_disconnect  1 → 0        f manual_disconnect  1 → 2
 *   c remote_disconnect  2 → 0        g local_disconnect   1 → 2
 *   d remote_reconnect   0 → 2        h local_reconnect    2 → 1
 *
 * control_mode selects which transitions exist: 0 none (always connected); 1 b c f g d e;
 * 2 b c f g a e; 3 b c g d e; 4 b c g a e; 5 b c f g d e h; 6 b c g d e h.
 */
export type ControlState = 0 | 1 | 2;
export const DISCONNECTED = 0;
export const CONNECTED = 1;
export const READY_FOR_RECONNECTION = 2;

export type DisconnectTrigger =
  | 'remote_disconnect' | 'remote_reconnect' | 'manual_disconnect' | 'manual_reconnect' | 'local_disconnect' | 'local_reconnect';

type Letter = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h';

const TRANSITIONS: Readonly<Record<Letter, { readonly trigger: DisconnectTrigger; readonly from: ControlState; readonly to: ControlState }>> = {
  a: { trigger: 'remote_reconnect', from: 0, to: 1 },
  b: { trigger: 'remote_disconnect', from: 1, to: 0 },
  c: { trigger: 'remote_disconnect', from: 2, to: 0 },
  d: { trigger: 'remote_reconnect', from: 0, to: 2 },
  e: { trigger: 'manual_reconnect', from: 2, to: 1 },
  f: { trigger: 'manual_disconnect', from: 1, to: 2 },
  g: { trigger: 'local_disconnect', from: 1, to: 2 },
  h: { trigger: 'local_reconnect', from: 2, to: 1 },
};

const MODES: readonly (readonly Letter[])[] = [
  [],
  ['b', 'c', 'f', 'g', 'd', 'e'],
  ['b', 'c', 'f', 'g', 'a', 'e'],
  ['b', 'c', 'g', 'd', 'e'],
  ['b', 'c', 'g', 'a', 'e'],
  ['b', 'c', 'f', 'g', 'd', 'e', 'h'],
  ['b', 'c', 'g', 'd', 'e', 'h'],
];

export function isControlMode(mode: number): boolean {
  return Number.isInteger(mode) && mode >= 0 && mode < MODES.length;
}

/** The state `trigger` leads to from `state` in `mode`, or undefined when the mode has no such transition. */
export function nextControlState(mode: number, state: ControlState, trigger: DisconnectTrigger): ControlState | undefined {
  for (const letter of MODES[mode] ?? []) {
    const t = TRANSITIONS[letter];
    if (t.trigger === trigger && t.from === state) return t.to;
  }
  return undefined;
}
