/**
 * Association results and diagnostics (IEC 62056-5-3 §8 / Green Book §9.5 ACSE ASN.1:
 * Association-result, Associate-source-diagnostic) and the typed error a client throws
 * when a server refuses an association.
 */
import { ProtocolError } from '../../adapter.js';
import { serviceErrorName, type ConfirmedServiceError } from '../apdu/serviceErrors.js';

export const ASSOCIATION_RESULT = { accepted: 0, 'rejected-permanent': 1, 'rejected-transient': 2 } as const;
export type AssociationResult = keyof typeof ASSOCIATION_RESULT;

/** acse-service-user diagnostics, by value. */
export const ACSE_SERVICE_USER_DIAGNOSTIC = [
  'null',
  'no-reason-given',
  'application-context-name-not-supported',
  'calling-AP-title-not-recognized',
  'calling-AP-invocation-identifier-not-recognized',
  'calling-AE-qualifier-not-recognized',
  'calling-AE-invocation-identifier-not-recognized',
  'called-AP-title-not-recognized',
  'called-AP-invocation-identifier-not-recognized',
  'called-AE-qualifier-not-recognized',
  'called-AE-invocation-identifier-not-recognized',
  'authentication-mechanism-name-not-recognised',
  'authentication-mechanism-name-required',
  'authentication-failure',
  'authentication-required',
] as const;
export type AcseServiceUserDiagnostic = (typeof ACSE_SERVICE_USER_DIAGNOSTIC)[number];

/** acse-service-provider diagnostics, by value. */
export const ACSE_SERVICE_PROVIDER_DIAGNOSTIC = ['null', 'no-reason-given', 'no-common-acse-version'] as const;
export type AcseServiceProviderDiagnostic = (typeof ACSE_SERVICE_PROVIDER_DIAGNOSTIC)[number];

/**
 * The diagnostic as sent. `value` stays numeric because the ASN.1 INTEGER may carry values
 * without a name; `diagnosticName` names it.
 */
export interface SourceDiagnostic {
  readonly source: 'acse-service-user' | 'acse-service-provider';
  readonly value: number;
}

/** Builds the diagnostic a server sends, by name. */
export function userDiagnostic(name: AcseServiceUserDiagnostic): SourceDiagnostic {
  return { source: 'acse-service-user', value: ACSE_SERVICE_USER_DIAGNOSTIC.indexOf(name) };
}

export function providerDiagnostic(name: AcseServiceProviderDiagnostic): SourceDiagnostic {
  return { source: 'acse-service-provider', value: ACSE_SERVICE_PROVIDER_DIAGNOSTIC.indexOf(name) };
}

/** The diagnostic's name, or `unknown(n)` for a value the standard does not name. */
export function diagnosticName(d: SourceDiagnostic): string {
  const names: readonly string[] = d.source === 'acse-service-user' ? ACSE_SERVICE_USER_DIAGNOSTIC : ACSE_SERVICE_PROVIDER_DIAGNOSTIC;
  return names[d.value] ?? `unknown(${d.value})`;
}

/** The server refused the association (AARE result ≠ accepted, or the InitiateRequest was refused). */
export class AssociationRejected extends ProtocolError {
  readonly code = 'DLMS_ASSOCIATION_REJECTED';
  /** e.g. `authentication-failure`. */
  readonly diagnosticName: string;

  constructor(
    readonly result: AssociationResult,
    readonly diagnostic: SourceDiagnostic,
    /** The ConfirmedServiceError carried in user-information, when the server sent one. */
    readonly initiateError: ConfirmedServiceError | undefined,
    terminalId?: string,
  ) {
    const name = diagnosticName(diagnostic);
    const initiate = initiateError === undefined ? '' : `; initiate refused (${serviceErrorName(initiateError)})`;
    super(`association ${result}: ${diagnostic.source} ${name}${initiate}`, terminalId);
    this.diagnosticName = name;
  }
}
