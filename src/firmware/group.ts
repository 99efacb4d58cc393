/**
 * A campaign's target devices, resolved once at creation (the snapshot): the meters of the
 * registry that meet every criterion of the group. The version a meter runs comes from the
 * device register; a meter it knows no version of does not match `currentVersion`.
 */
import type { Meter, Terminal } from '../domain/index.js';
import type { CampaignGroup } from './model.js';
import type { DeviceFirmwareRegister } from './ports.js';
import type { NewCampaignDevice } from './store.js';

/** The registry as the group resolution reads it. */
export interface FleetView {
  listMeters(filter?: { readonly areaId?: string }): Meter[];
  findMeter(id: string): Meter | undefined;
  findTerminal(id: string): Terminal | undefined;
  hasArea(id: string): boolean;
}

/** The meters of `group`, by meter id; at most `max + 1` (the caller refuses a group past `max`). */
export async function resolveGroup(
  fleet: FleetView, group: CampaignGroup, register: Pick<DeviceFirmwareRegister, 'currentVersionOf'> | undefined, max: number,
): Promise<NewCampaignDevice[]> {
  const candidates = group.meterIds !== undefined
    ? group.meterIds.map((id) => fleet.findMeter(id)).filter((m): m is Meter => m !== undefined)
    : fleet.listMeters(group.areaId === undefined ? {} : { areaId: group.areaId });
  const inArea = group.areaId === undefined || group.meterIds === undefined
    ? undefined : new Set(fleet.listMeters({ areaId: group.areaId }).map((m) => m.id));
  const chosen: NewCampaignDevice[] = [];
  for (const meter of candidates) {
    if (chosen.length > max) break;
    if (inArea !== undefined && !inArea.has(meter.id)) continue;
    const terminal = fleet.findTerminal(meter.terminalId);
    if (terminal === undefined) continue;
    if (group.protocol !== undefined && terminal.protocol !== group.protocol) continue;
    if (group.meterType !== undefined && (terminal.protocol !== 'dlms' || terminal.dlms.meterType !== group.meterType)) continue;
    if (group.currentVersion !== undefined && (register === undefined || await register.currentVersionOf(meter.id) !== group.currentVersion)) continue;
    chosen.push({ meterId: meter.id, terminalId: meter.terminalId });
  }
  return [...new Map(chosen.map((d) => [d.meterId, d])).values()].sort((a, b) => (a.meterId < b.meterId ? -1 : a.meterId > b.meterId ? 1 : 0));
}
