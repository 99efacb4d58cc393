/**
 * A throw-away self-signed certificate for 127.0.0.1 and localhost, made with the `openssl`
 * binary, for tests of TLS brokers. null (with the reason) when openssl is not installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
}

export function selfSignedCertificate(): { readonly ok: true; readonly value: TestCertificate } | { readonly ok: false; readonly reason: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', key, '-out', cert,
    ], { stdio: 'pipe' });
    return { ok: true, value: { key: readFileSync(key), cert: readFileSync(cert) } };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, reason: missing ? 'openssl is not installed (apt-get install openssl)' : `openssl failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
