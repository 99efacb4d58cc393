/**
 * The control methods of a meter node — Disconnect(Reason), Reconnect(Reason),
 * SetPowerLimit(LimitKw, Reason) → CommandId — and their one handler, which goes through the
 * command service like the API does: same guard rails, same audit, actor `opcua:<user>`.
 *
 * Roles: operator and admin may call; viewer, billing and anonymous sessions get
 * BadUserAccessDenied (OPC UA Part 4 §5.11.2). The role is looked up on every call, so a
 * demoted or disabled user loses control at once. There is no override argument: a protected
 * meter (保电) is refused over OPC UA even for an admin, who overrides through the API.
 */
import { randomUUID } from 'node:crypto';
import {
  DataType, StatusCodes, UserNameIdentityToken, type CallMethodResultOptions, type ISessionContext, type Namespace, type StatusCode, type Variant,
} from 'node-opcua';
import type { Role } from '../auth/roles.js';
import type { CommandRequest, Principal, SubmitOutcome } from '../control/commands.js';
import type { CommandType } from '../control/commandModel.js';
import type { MeterNode } from './topologyNodes.js';

export type MeterMethod = 'Disconnect' | 'Reconnect' | 'SetPowerLimit';

export interface MethodDeps {
  readonly commands: { submit(req: CommandRequest, idempotencyKey: string, who: Principal): Promise<SubmitOutcome> };
  /** The user's current role, or undefined when the user is unknown or disabled. */
  readonly roleOf: (user: string) => Promise<Role | undefined>;
  /** A failure that is not the caller's (logged rate-limited by the owner). */
  readonly onProblem: (method: MeterMethod, meterId: string, err: unknown) => void;
}

/** Longest reason accepted, as in the API's command body. */
export const MAX_REASON_LENGTH = 500;

const CONTROL_ROLES: ReadonlySet<Role> = new Set(['operator', 'admin']);

const REASON = { name: 'Reason', dataType: DataType.String, description: 'Why, in words an operator reads in the audit log' };
const COMMAND_ID = [{ name: 'CommandId', dataType: DataType.String, description: 'The command, as GET /api/v1/commands/:id shows it' }];

/** Adds the three methods to a meter's object; every call goes to `call`. */
export function addMeterMethods(ns: Namespace, node: MeterNode, call: (method: MeterMethod, meterId: string, args: Variant[], context: ISessionContext) => Promise<CallMethodResultOptions>): void {
  const defs: readonly { name: MeterMethod; inputs: { name: string; dataType: DataType; description: string }[] }[] = [
    { name: 'Disconnect', inputs: [REASON] },
    { name: 'Reconnect', inputs: [REASON] },
    { name: 'SetPowerLimit', inputs: [{ name: 'LimitKw', dataType: DataType.Double, description: 'Active power limit, kW' }, REASON] },
  ];
  for (const def of defs) {
    const method = ns.addMethod(node.object, {
      nodeId: `ns=${ns.index};s=meter:${node.meter.id}.${def.name}`, browseName: def.name, inputArguments: def.inputs, outputArguments: COMMAND_ID,
    });
    const meterId = node.meter.id;
    method.bindMethod((args: Variant[], context: ISessionContext) => call(def.name, meterId, args, context));
  }
}

export class MeterMethodHandler {
  constructor(private readonly deps: MethodDeps) {}

  async call(method: MeterMethod, meterId: string, args: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> {
    const user = userOf(context);
    const role = user === undefined ? undefined : await this.deps.roleOf(user);
    if (user === undefined || role === undefined || !CONTROL_ROLES.has(role)) return { statusCode: StatusCodes.BadUserAccessDenied };
    const request = requestOf(method, meterId, args);
    if (request === undefined) return { statusCode: StatusCodes.BadInvalidArgument };
    const who: Principal = { actor: `opcua:${user}`, source: 'opcua', isAdmin: role === 'admin' };
    try {
      let outcome = await this.deps.commands.submit(request, randomUUID(), who);
      // The call names one meter explicitly: it is its own confirmation when confirmAbove is 0.
      if (outcome.kind === 'preview') outcome = await this.deps.commands.submit({ ...request, confirmationToken: outcome.preview.confirmationToken }, randomUUID(), who);
      if (outcome.kind === 'preview') return { statusCode: StatusCodes.BadInvalidState };
      return { statusCode: StatusCodes.Good, outputArguments: [{ dataType: DataType.String, value: outcome.command.id }] };
    } catch (err) {
      const status = statusOfError(err);
      if (status === undefined) {
        this.deps.onProblem(method, meterId, err);
        return { statusCode: StatusCodes.BadInternalError };
      }
      return { statusCode: status };
    }
  }
}

/** The user name of a session authenticated by user name and password; undefined for anonymous. */
function userOf(context: ISessionContext): string | undefined {
  const token = context.session?.userIdentityToken;
  return token instanceof UserNameIdentityToken && token.userName !== null && token.userName !== '' ? token.userName : undefined;
}

function requestOf(method: MeterMethod, meterId: string, args: Variant[]): CommandRequest | undefined {
  const reasonArg = method === 'SetPowerLimit' ? args[1] : args[0];
  const reason: unknown = reasonArg?.value;
  if (reason !== null && reason !== undefined && typeof reason !== 'string') return undefined;
  if (typeof reason === 'string' && reason.length > MAX_REASON_LENGTH) return undefined;
  const base = { meterIds: [meterId], ...(typeof reason === 'string' && reason.trim() !== '' ? { reason: reason.trim() } : {}) };
  const types: Record<MeterMethod, CommandType> = { Disconnect: 'disconnect', Reconnect: 'reconnect', SetPowerLimit: 'set-limit' };
  if (method !== 'SetPowerLimit') return { type: types[method], ...base };
  const limit: unknown = args[0]?.value;
  if (typeof limit !== 'number' || !Number.isFinite(limit)) return undefined;
  return { type: 'set-limit', params: { limitKw: limit }, ...base };
}

/** The command service's refusals as OPC UA status codes; undefined for an unexpected error. */
function statusOfError(err: unknown): StatusCode | undefined {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  switch (code) {
    case 'UNKNOWN_METER': return StatusCodes.BadNodeIdUnknown;
    case 'BAD_PARAMS': return StatusCodes.BadInvalidArgument;
    case 'PROTECTED_METER':
    case 'NO_TARGETS':
    case 'OVERRIDE_FORBIDDEN': return StatusCodes.BadUserAccessDenied;
    case 'COMMAND_QUEUE_FULL': return StatusCodes.BadResourceUnavailable;
    default: return undefined;
  }
}
