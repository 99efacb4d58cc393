/** The shapes of the API replies the dashboard reads (see /docs; the live/analysis ones follow the shared contract). */
import type { Explanation, ExplanationPart } from '../domain/explanation.js';

export type Role = 'viewer' | 'operator' | 'admin' | 'billing';
export interface Me { subject: string; role: Role; via: string }

export type AreaState = 'normal' | 'alarm' | 'abnormal';
export interface AreaLive {
  id: string; name: string; kind: string; parentId: string | null;
  loadKw: number | null; limitKw: number | null;
  meters: number; metersReporting: number; openAlarms: number;
  state: AreaState; abnormal: { ruleId: string; explanation: string; explanationData?: Explanation | null } | null;
}
export interface Overview { ts: string; totalKw: number | null; collectionSuccessTodayPct: number | null; areas: AreaLive[] }

export interface Point { ts: string; value: number }
export interface AreaLoad { areaId: string; unit: 'kW'; stepMs: number; points: Point[]; previous?: Point[] }

export interface Area { id: string; name: string; kind: string; parentId: string | null; transformerKva: number | null }
export interface Meter { id: string; name: string; terminalId: string; address: string; areaId: string | null; protected: boolean; customerRef: string | null }
export interface Page<T> { items: T[]; next: string | null }

export interface LatestValue { quantity: string; value: number; unit: string; ts: string; quality?: string }
export interface Series { meterId: string; quantity: string; unit: string; step: number | null; points: Point[] }

export interface MeterState {
  meterId: string; online: boolean | null; lastSeen: string | null;
  relay: { connected: boolean; at: string; source: 'command' | 'event' | 'read' } | null;
  limitKw: { value: number | null; at: string } | null;
  openAlarms: number; customerRef: string | null; protected: boolean;
}

export interface Alarm {
  id: string; ruleId: string; detector: string; subject: { kind: 'meter' | 'area' | 'terminal' | 'station'; id: string }; areaId: string | null;
  severity: string; state: string; raisedAt: string; since: string;
  acknowledgedAt: string | null; acknowledgedBy: string | null; clearedAt: string | null;
  explanation: string; explanationData?: Explanation | null; value: number; comments: { at: string; by: string; text: string }[];
}

export interface DeviceEvent { id: string; meterId: string | null; terminalId: string; code: string; ts: string; detail: string | null }

export interface CollectionStats { date: string; expected: number; collected: number; successRate: number | null; terminals: { terminalId: string; expected: number; collected: number; successRate: number | null }[] }

export type { CommandTargetView as CommandTarget, CommandView as Command } from '../api/commandSchemas.js';

export interface Program {
  id: string; name: string; kind: string; dryRun: boolean; state: string; round: number; since: number;
  load: number | null; limit: number | null; unit: string; basis: string; basisData?: ExplanationPart; nextRound: { round: number; dueAt: number | null } | null;
}
export interface ProgramDetail extends Program {
  tripped: { meterId: string; command: string; round: number; status: string; at: number }[];
  actions: { id: number; meterId: string; command: string; status: string; requestedAt: number; reason: string }[];
}
export interface ProgramPreview {
  programId: string; phase: string; value: number | null; limit: number | null; unit: string; basis: string; basisData?: ExplanationPart; over: boolean;
  rounds: { round: number; afterMs: number; action: string; done: boolean; meters: { meterId: string; outcome: string }[] }[];
  restore: { meterId: string; command: string }[];
}

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
