/**
 * Password hashing for dashboard users: scrypt (RFC 7914) from node:crypto, a random
 * 16-octet salt per hash, and the cost parameters stored with the hash so they can be
 * raised later without invalidating existing passwords.
 *
 * Default cost N = 2^15, r = 8, p = 1 (32 MiB of memory per hash, roughly 50–100 ms on
 * a small server core): the RFC 7914 §2 interactive-login recommendation. Login is rate
 * limited as well (loginLimiter.ts), so the cost only has to hold against an offline attack
 * on a stolen database. Hashing runs on libuv's thread pool and never blocks the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptCost {
  /** log2 of N, the CPU/memory cost. */
  readonly log2N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { log2N: 15, r: 8, p: 1 };

/** Shortest and longest password accepted (the upper bound keeps a request from buying CPU). */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** `scrypt$<log2N>$<r>$<p>$<salt base64>$<key base64>` */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return ['scrypt', cost.log2N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `password` matches `stored`; a malformed stored hash never matches. Constant time in the key comparison. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (parsed === undefined) return false;
  const key = await derive(password, parsed.salt, parsed.cost);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/**
 * A hash of a random password, to verify against when the user does not exist, so the
 * reply time does not tell which user names exist.
 */
export async function decoyHash(cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  return hashPassword(randomBytes(24).toString('base64'), cost);
}

function parseHash(stored: string): { cost: ScryptCost; salt: Buffer; key: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [log2N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // Bounds keep a tampered row from asking for gigabytes.
  if (!Number.isInteger(log2N) || log2N < 10 || log2N > 20 || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return undefined;
  return { cost: { log2N, r, p }, salt: Buffer.from(parts[4] ?? '', 'base64'), key: Buffer.from(parts[5] ?? '', 'base64') };
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  // scrypt needs 128·N·r octets; node's default ceiling (32 MiB) is exactly that at the default cost, so allow twice it.
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => {
      if (err !== null) reject(err);
      else resolve(key);
    });
  });
}
