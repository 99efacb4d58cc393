/**
 * One value of every APDU variant (xDLMS and ACSE), used for round trips and as fuzz seeds.
 */
import type { Apdu } from '../../../../protocols/dlms/apduCodec.js';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { invokeIdAndPriority } from '../../../../protocols/dlms/apdu/invokeId.js';
import { profileSelectiveAccess } from '../../../../protocols/dlms/apdu/selectiveAccess.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../../../../protocols/dlms/acse/names.js';
import { LN_CLIENT_CONFORMANCE, conformance } from '../../../../protocols/dlms/acse/conformance.js';
import { userDiagnostic, providerDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import { ascii, ln } from './helpers.js';

const invoke = invokeIdAndPriority(1);
const low = invokeIdAndPriority(7, false, false);
const clock = { classId: 8, instanceId: ln('0.0.1.0.0.255'), attributeId: 2 };
const energy = { classId: 3, instanceId: ln('1.0.1.8.0.255'), attributeId: 2 };
const profile = { classId: 7, instanceId: ln('1.0.99.1.0.255'), attributeId: 2 };
const disconnect = { classId: 70, instanceId: ln('0.0.96.3.10.255'), methodId: 1 };
const dateTime = Uint8Array.of(0x07, 0xe8, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0xff);

const value: DlmsData = { type: 'double-long-unsigned', value: 123456 };
const row: DlmsData = {
  type: 'structure',
  value: [{ type: 'octet-string', value: dateTime }, { type: 'long-unsigned', value: 5 }, { type: 'boolean', value: true }],
};
const range = profileSelectiveAccess({
  kind: 'range',
  restrictingObject: { classId: 8, logicalName: ln('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 },
  from: { type: 'octet-string', value: dateTime },
  to: { type: 'octet-string', value: dateTime },
  selectedValues: [],
});
const entry = profileSelectiveAccess({ kind: 'entry', fromEntry: 1, toEntry: 96, fromSelectedValue: 1, toSelectedValue: 0 });
const block = { lastBlock: false, blockNumber: 1, rawData: Uint8Array.of(1, 2, 3, 4) };

export const XDLMS_SAMPLES: readonly Apdu[] = [
  { type: 'get-request-normal', invoke, attribute: clock },
  { type: 'get-request-normal', invoke, attribute: profile, access: range },
  { type: 'get-request-next', invoke: low, blockNumber: 0xfffffffe },
  { type: 'get-request-with-list', invoke, attributes: [{ attribute: clock }, { attribute: profile, access: entry }] },
  { type: 'get-response-normal', invoke, result: { ok: true, data: value } },
  { type: 'get-response-normal', invoke, result: { ok: false, result: 'object-undefined' } },
  { type: 'get-response-with-datablock', invoke, lastBlock: true, blockNumber: 3, block: { ok: true, rawData: new Uint8Array(300).fill(0x5a) } },
  { type: 'get-response-with-datablock', invoke, lastBlock: true, blockNumber: 4, block: { ok: false, result: 'long-get-aborted' } },
  { type: 'get-response-with-list', invoke, results: [{ ok: true, data: row }, { ok: false, result: 'other-reason' }] },
  { type: 'set-request-normal', invoke, attribute: clock, value: { type: 'octet-string', value: dateTime } },
  { type: 'set-request-normal', invoke, attribute: profile, access: entry, value: { type: 'null-data' } },
  { type: 'set-request-with-first-datablock', invoke, attribute: energy, block },
  { type: 'set-request-with-datablock', invoke, block: { ...block, lastBlock: true, blockNumber: 2 } },
  { type: 'set-request-with-list', invoke, attributes: [{ attribute: clock }, { attribute: energy }], values: [value, row] },
  { type: 'set-request-with-list-and-first-datablock', invoke, attributes: [{ attribute: energy }], block },
  { type: 'set-response-normal', invoke, result: 'success' },
  { type: 'set-response-datablock', invoke, blockNumber: 1 },
  { type: 'set-response-last-datablock', invoke, result: 'type-unmatched', blockNumber: 2 },
  { type: 'set-response-last-datablock-with-list', invoke, results: ['success', 'read-write-denied'], blockNumber: 9 },
  { type: 'set-response-with-list', invoke, results: ['success', 'data-block-number-invalid'] },
  { type: 'action-request-normal', invoke, method: disconnect, parameters: { type: 'integer', value: 0 } },
  { type: 'action-request-normal', invoke, method: disconnect },
  { type: 'action-request-next-pblock', invoke, blockNumber: 5 },
  { type: 'action-request-with-list', invoke, methods: [disconnect, { ...disconnect, methodId: 2 }], parameters: [{ type: 'integer', value: 0 }, { type: 'null-data' }] },
  { type: 'action-request-with-first-pblock', invoke, method: disconnect, block },
  { type: 'action-request-with-list-and-first-pblock', invoke, methods: [disconnect], block },
  { type: 'action-request-with-pblock', invoke, block },
  { type: 'action-response-normal', invoke, response: { result: 'success' } },
  { type: 'action-response-normal', invoke, response: { result: 'success', returnParameters: { ok: true, data: value } } },
  { type: 'action-response-normal', invoke, response: { result: 'temporary-failure', returnParameters: { ok: false, result: 'hardware-fault' } } },
  { type: 'action-response-with-pblock', invoke, block },
  { type: 'action-response-with-list', invoke, responses: [{ result: 'success' }, { result: 'long-action-aborted' }] },
  { type: 'action-response-next-pblock', invoke, blockNumber: 6 },
  {
    type: 'data-notification',
    invoke: { invokeId: 0x123456, selfDescriptive: false, breakOnError: true, confirmed: false, highPriority: true },
    dateTime,
    body: row,
  },
  {
    type: 'data-notification',
    invoke: { invokeId: 1, selfDescriptive: true, breakOnError: false, confirmed: false, highPriority: false },
    body: value,
  },
  { type: 'event-notification-request', attribute: { classId: 1, instanceId: ln('0.0.96.11.0.255'), attributeId: 2 }, value: { type: 'long-unsigned', value: 17 } },
  { type: 'event-notification-request', time: dateTime, attribute: clock, value: { type: 'octet-string', value: dateTime } },
  { type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'operation-not-possible' },
  { type: 'exception-response', stateError: 'service-unknown', serviceError: 'invocation-counter-error', invocationCounter: 42 },
  { type: 'confirmed-service-error', service: 'initiateError', errorClass: 'initiate', value: 2 },
];

export const ACSE_SAMPLES: readonly Apdu[] = [
  {
    type: 'aarq',
    applicationContext: APPLICATION_CONTEXT['logical-name'],
    authenticationRequired: true,
    mechanismName: MECHANISM.low,
    callingAuthenticationValue: ascii('12345678'),
    userInformation: {
      type: 'initiate-request', responseAllowed: true, proposedDlmsVersion: 6,
      proposedConformance: LN_CLIENT_CONFORMANCE, clientMaxReceivePduSize: 0xffff,
    },
  },
  {
    type: 'aarq',
    applicationContext: APPLICATION_CONTEXT['logical-name-ciphered'],
    calledApTitle: ascii('SERVER01'),
    calledAeQualifier: Uint8Array.of(1, 2),
    callingApTitle: ascii('GRIDHEAD'),
    callingAeQualifier: new Uint8Array(200).fill(7),
    authenticationRequired: true,
    mechanismName: MECHANISM['high-gmac'],
    callingAuthenticationValue: ascii('K56iVagY'),
    userInformation: {
      type: 'initiate-request', dedicatedKey: new Uint8Array(16).fill(0xaa), responseAllowed: false,
      proposedQualityOfService: -3, proposedDlmsVersion: 6, proposedConformance: conformance('get'), clientMaxReceivePduSize: 512,
    },
  },
  { type: 'aarq', applicationContext: APPLICATION_CONTEXT['logical-name'], authenticationRequired: false },
  {
    type: 'aare',
    applicationContext: APPLICATION_CONTEXT['logical-name'],
    result: 'accepted',
    diagnostic: userDiagnostic('null'),
    authenticationRequired: false,
    userInformation: {
      type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: 0x00501f,
      serverMaxReceivePduSize: 500, vaaName: 7,
    },
  },
  {
    type: 'aare',
    applicationContext: APPLICATION_CONTEXT['logical-name'],
    result: 'accepted',
    diagnostic: userDiagnostic('authentication-required'),
    respondingApTitle: ascii('SERVER01'),
    respondingAeQualifier: Uint8Array.of(9),
    authenticationRequired: true,
    mechanismName: MECHANISM['high-gmac'],
    respondingAuthenticationValue: ascii('P6wRJ21F'),
    userInformation: {
      type: 'initiate-response', negotiatedQualityOfService: 1, negotiatedDlmsVersion: 6,
      negotiatedConformance: 0x00501f, serverMaxReceivePduSize: 500, vaaName: 7,
    },
  },
  {
    type: 'aare',
    applicationContext: APPLICATION_CONTEXT['logical-name'],
    result: 'rejected-transient',
    diagnostic: providerDiagnostic('no-common-acse-version'),
    authenticationRequired: false,
  },
  {
    type: 'aare',
    applicationContext: APPLICATION_CONTEXT['short-name'],
    result: 'rejected-permanent',
    diagnostic: userDiagnostic('application-context-name-not-supported'),
    authenticationRequired: false,
    userInformation: { type: 'confirmed-service-error', service: 'initiateError', errorClass: 'initiate', value: 1 },
  },
  { type: 'rlrq', reason: 'normal' },
  { type: 'rlrq' },
  {
    type: 'rlrq',
    reason: 'urgent',
    userInformation: { type: 'other', tag: 0x21, bytes: Uint8Array.of(0x10, 0x30, 0, 0, 0, 1, 0xaa) },
  },
  { type: 'rlre', reason: 'normal' },
  { type: 'rlre', reason: 'not-finished', userInformation: { type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: 0, serverMaxReceivePduSize: 128, vaaName: 7 } },
];
