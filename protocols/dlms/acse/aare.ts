/**
 * AARE, the A-ASSOCIATE response (IEC 62056-5-3 §8 / Green Book §9.4.2.2 and §9.5 ASN.1):
 * [APPLICATION 1] IMPLICIT SEQUENCE, identifier 0x61. The result and its source
 * diagnostic decide whether the association exists; `associationOutcome` turns a refusal
 * into the typed `AssociationRejected` the client throws.
 */
import { ByteWriter } from '../bytes.js';
import { BerReader, writeTlv } from './ber.js';
import {
  checkProtocolVersion, readAcseRequirements, readAuthenticationValue, readExplicitInteger, readExplicitOctets,
  readExplicitOid, readUserInformationField, writeAcseRequirements, writeAuthenticationValue, writeExplicitInteger,
  writeExplicitOctets, writeExplicitOid, writeImplicitOid, writeUserInformationField,
} from './fields.js';
import type { UserInformation } from './initiate.js';
import {
  ASSOCIATION_RESULT, AssociationRejected, type AssociationResult, type SourceDiagnostic,
} from './diagnostics.js';
import { keyOf } from '../apdu/results.js';

export const AARE_TAG = 0x61;

export interface Aare {
  readonly type: 'aare';
  /** OID echoed (or corrected) by the server. */
  readonly applicationContext: string;
  readonly result: AssociationResult;
  readonly diagnostic: SourceDiagnostic;
  /** The server's system title (ciphered contexts, HLS). */
  readonly respondingApTitle?: Uint8Array;
  readonly respondingAeQualifier?: Uint8Array;
  /** responder-acse-requirements with the authentication bit. */
  readonly authenticationRequired: boolean;
  readonly mechanismName?: string;
  /** HLS: the server-to-client challenge. */
  readonly respondingAuthenticationValue?: Uint8Array;
  /** InitiateResponse when accepted; often a ConfirmedServiceError when refused. */
  readonly userInformation?: UserInformation;
}

/** Field tags (Green Book §9.5 AARE-apdu). */
const F = {
  protocolVersion: 0x80,
  applicationContext: 0xa1,
  result: 0xa2,
  resultSourceDiagnostic: 0xa3,
  respondingApTitle: 0xa4,
  respondingAeQualifier: 0xa5,
  responderAcseRequirements: 0x88,
  mechanismName: 0x89,
  respondingAuthenticationValue: 0xaa,
  userInformation: 0xbe,
} as const;

/** Associate-source-diagnostic CHOICE alternatives: [1] acse-service-user, [2] acse-service-provider. */
const DIAGNOSTIC_SOURCE_TAG = { 'acse-service-user': 0xa1, 'acse-service-provider': 0xa2 } as const;

/** Decodes an AARE (identifier 0x61 included); responding AP/AE invocation ids (0xA6, 0xA7) are skipped. */
export function decodeAare(bytes: Uint8Array): Aare {
  const outer = new BerReader(bytes);
  const apdu = outer.next('AARE');
  if (apdu.tag !== AARE_TAG) outer.fail(`not an AARE: identifier 0x${apdu.tag.toString(16)}`, apdu.at);
  outer.done('AARE');
  const c = apdu.content;
  const seen = new Set<number>();
  let applicationContext: string | undefined;
  let result: AssociationResult | undefined;
  let diagnostic: SourceDiagnostic | undefined;
  let authenticationRequired = false;
  const out: { -readonly [K in keyof Aare]?: Aare[K] } = {};
  while (!c.atEnd) {
    const e = c.next('AARE field');
    if (seen.has(e.tag)) c.fail(`AARE: field 0x${e.tag.toString(16)} appears twice`, e.at);
    seen.add(e.tag);
    switch (e.tag) {
      case F.protocolVersion: checkProtocolVersion(e.content); break;
      case F.applicationContext: applicationContext = readExplicitOid(e.content, 'application-context-name'); break;
      case F.result: {
        const v = readExplicitInteger(e.content, 'result');
        result = keyOf(ASSOCIATION_RESULT, v);
        if (result === undefined) c.fail(`AARE: unknown association result ${v}`, e.at);
        break;
      }
      case F.resultSourceDiagnostic: diagnostic = readDiagnostic(e.content); break;
      case F.respondingApTitle: out.respondingApTitle = readExplicitOctets(e.content, 'responding-AP-title'); break;
      case F.respondingAeQualifier: out.respondingAeQualifier = readExplicitOctets(e.content, 'responding-AE-qualifier'); break;
      case F.responderAcseRequirements: authenticationRequired = readAcseRequirements(e.content, 'responder-acse-requirements'); break;
      case F.mechanismName: out.mechanismName = e.content.oid('mechanism-name'); break;
      case F.respondingAuthenticationValue:
        out.respondingAuthenticationValue = readAuthenticationValue(e.content, 'responding-authentication-value');
        break;
      case F.userInformation: out.userInformation = readUserInformationField(e.content); break;
      default:
        if ((e.tag & 0xc0) !== 0x80) c.fail(`AARE: unexpected identifier 0x${e.tag.toString(16)}`, e.at);
    }
  }
  if (applicationContext === undefined) return c.fail('AARE: application-context-name missing');
  if (result === undefined) return c.fail('AARE: result missing');
  if (diagnostic === undefined) return c.fail('AARE: result-source-diagnostic missing');
  return { type: 'aare', applicationContext, result, diagnostic, authenticationRequired, ...out };
}

export function encodeAare(a: Omit<Aare, 'type'>): Uint8Array {
  const w = new ByteWriter(64);
  writeAare(w, a);
  return w.toBytes();
}

export function writeAare(w: ByteWriter, a: Omit<Aare, 'type'>): void {
  writeTlv(w, AARE_TAG, (c) => {
    writeExplicitOid(c, F.applicationContext, a.applicationContext);
    writeExplicitInteger(c, F.result, ASSOCIATION_RESULT[a.result]);
    writeTlv(c, F.resultSourceDiagnostic, (d) => {
      writeExplicitInteger(d, DIAGNOSTIC_SOURCE_TAG[a.diagnostic.source], a.diagnostic.value);
    });
    if (a.respondingApTitle) writeExplicitOctets(c, F.respondingApTitle, a.respondingApTitle);
    if (a.respondingAeQualifier) writeExplicitOctets(c, F.respondingAeQualifier, a.respondingAeQualifier);
    if (a.authenticationRequired) writeAcseRequirements(c, F.responderAcseRequirements);
    if (a.mechanismName !== undefined) writeImplicitOid(c, F.mechanismName, a.mechanismName);
    if (a.respondingAuthenticationValue) writeAuthenticationValue(c, F.respondingAuthenticationValue, a.respondingAuthenticationValue);
    if (a.userInformation) writeUserInformationField(c, a.userInformation);
  });
}

/**
 * Accepted with an InitiateResponse → the negotiated parameters; anything else → the
 * typed rejection (a refused InitiateRequest counts as a rejection even if `result` says
 * accepted, since no xDLMS context exists without it).
 */
export function associationOutcome(
  aare: Aare,
  terminalId?: string,
): { readonly ok: true; readonly aare: Aare } | { readonly ok: false; readonly error: AssociationRejected } {
  const u = aare.userInformation;
  const initiateError = u?.type === 'confirmed-service-error' ? u : undefined;
  if (aare.result === 'accepted' && initiateError === undefined) return { ok: true, aare };
  return { ok: false, error: new AssociationRejected(aare.result, aare.diagnostic, initiateError, terminalId) };
}

function readDiagnostic(c: BerReader): SourceDiagnostic {
  const e = c.next('result-source-diagnostic');
  c.done('result-source-diagnostic');
  const source = (Object.keys(DIAGNOSTIC_SOURCE_TAG) as (keyof typeof DIAGNOSTIC_SOURCE_TAG)[])
    .find((k) => DIAGNOSTIC_SOURCE_TAG[k] === e.tag);
  if (source === undefined) return c.fail(`result-source-diagnostic: unknown choice 0x${e.tag.toString(16)}`, e.at);
  return { source, value: readExplicitInteger(e.content, 'result-source-diagnostic') };
}
