/**
 * Bearer secrets: API tokens and session ids. Both are 32 random octets, shown once and
 * stored only as their SHA-256 (a 256-bit random secret needs no slow hash: nothing can
 * be guessed offline). A token also keeps a short public prefix, shown in listings and
 * used to find its row; the comparison of hashes is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every generated API token starts with this, so secret scanners can recognise one. */
export const TOKEN_MARK = 'ght_';
/** Characters of a token kept in clear for lookup and display: the mark and 8 more (48 of 256 random bits). */
export const TOKEN_PREFIX_LENGTH = TOKEN_MARK.length + 8;
/** Shortest token accepted, also for GRIDHEAD_BOOTSTRAP_TOKEN. */
export const MIN_TOKEN_LENGTH = 32;
/** Longest bearer value even looked at. */
export const MAX_TOKEN_LENGTH = 256;

export function newToken(): string {
  return `${TOKEN_MARK}${randomBytes(32).toString('base64url')}`;
}

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX_LENGTH);
}

export function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
