/** The DLMS endpoint's `dedicatedKey` option in the config schema: an optional boolean. */
import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { DlmsEndpointSchema } from '../../../src/config/schema.js';

const endpoint = { host: '127.0.0.1', port: 4059, framing: 'wrapper', clientSap: 48, auth: 'high-gmac', security: 'auth-enc' };

describe('DlmsEndpointSchema dedicatedKey', () => {
  it('accepts a boolean or nothing, and refuses anything else', () => {
    expect(Value.Check(DlmsEndpointSchema, { ...endpoint, dedicatedKey: true })).toBe(true);
    expect(Value.Check(DlmsEndpointSchema, { ...endpoint, dedicatedKey: false })).toBe(true);
    expect(Value.Check(DlmsEndpointSchema, endpoint)).toBe(true);
    expect(Value.Check(DlmsEndpointSchema, { ...endpoint, dedicatedKey: 'yes' })).toBe(false);
  });
});
