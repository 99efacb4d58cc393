/**
 * AES-256-GCM sealing of secrets at rest (NIST SP 800-38D): a fresh random 96-bit nonce
 * per record, so no (key, nonce) pair repeats, and additional authenticated data naming
 * what the record is, so a sealed value copied to another row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { MasterKey } from './masterKey.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  readonly nonce: Uint8Array;
  /** Ciphertext followed by the tag. */
  readonly sealed: Uint8Array;
}

export function seal(key: MasterKey, plaintext: Uint8Array, aad: string): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes(), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce, sealed: body };
}

/** The plaintext, or undefined when the key, the AAD or the bytes do not match. */
export function open(key: MasterKey, record: Sealed, aad: string): SecretBytes | undefined {
  if (record.nonce.length !== NONCE_BYTES || record.sealed.length < TAG_BYTES) return undefined;
  const split = record.sealed.length - TAG_BYTES;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes(), record.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(record.sealed.subarray(split));
    const plain = Buffer.concat([decipher.update(record.sealed.subarray(0, split)), decipher.final()]);
    const out = new SecretBytes(plain.length);
    out.set(plain);
    plain.fill(0);
    return out;
  } catch {
    // GCM reports every mismatch the same way (bad tag); the caller names the record.
    return undefined;
  }
}

/**
 * Key bytes that print as `[secret]` through JSON (pino) and util.inspect (console, error
 * dumps), so a log line that carries an object holding a key cannot leak it.
 */
export class SecretBytes extends Uint8Array {
  toJSON(): string {
    return '[secret]';
  }

  override toString(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return '[secret]';
  }
}
