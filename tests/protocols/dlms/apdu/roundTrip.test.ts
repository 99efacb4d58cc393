import { describe, expect, it } from 'vitest';
import { decodeApdu, encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import {
  decodeInvokeIdAndPriority, decodeLongInvokeIdAndPriority, encodeInvokeIdAndPriority, encodeLongInvokeIdAndPriority,
} from '../../../../protocols/dlms/apdu/invokeId.js';
import { parseProfileSelectiveAccess, profileSelectiveAccess } from '../../../../protocols/dlms/apdu/selectiveAccess.js';
import { DlmsDecodeError, DlmsEncodeError } from '../../../../protocols/dlms/errors.js';
import { ACSE_SAMPLES, XDLMS_SAMPLES } from './samples.js';
import { ln } from './helpers.js';

describe('every APDU variant round-trips', () => {
  const variants = new Set([...XDLMS_SAMPLES, ...ACSE_SAMPLES].map((a) => a.type));

  it('covers every member of the Apdu union', () => {
    // A Record over the union's discriminants: the compiler fails this file if a variant is missing here.
    const all: Record<Apdu['type'], true> = {
      aarq: true, aare: true, rlrq: true, rlre: true,
      'get-request-normal': true, 'get-request-next': true, 'get-request-with-list': true,
      'get-response-normal': true, 'get-response-with-datablock': true, 'get-response-with-list': true,
      'set-request-normal': true, 'set-request-with-first-datablock': true, 'set-request-with-datablock': true,
      'set-request-with-list': true, 'set-request-with-list-and-first-datablock': true,
      'set-response-normal': true, 'set-response-datablock': true, 'set-response-last-datablock': true,
      'set-response-last-datablock-with-list': true, 'set-response-with-list': true,
      'action-request-normal': true, 'action-request-next-pblock': true, 'action-request-with-list': true,
      'action-request-with-first-pblock': true, 'action-request-with-list-and-first-pblock': true,
      'action-request-with-pblock': true,
      'action-response-normal': true, 'action-response-with-pblock': true, 'action-response-with-list': true,
      'action-response-next-pblock': true,
      'data-notification': true, 'event-notification-request': true, 'exception-response': true,
      'confirmed-service-error': true,
    };
    expect([...variants].sort()).toEqual(Object.keys(all).sort());
  });

  for (const [i, apdu] of [...XDLMS_SAMPLES, ...ACSE_SAMPLES].entries()) {
    it(`${apdu.type} #${i}`, () => {
      const bytes = encodeApdu(apdu);
      expect(decodeApdu(bytes)).toEqual(apdu);
      expect(encodeApdu(decodeApdu(bytes))).toEqual(bytes);
    });
  }
});

describe('invoke-id-and-priority', () => {
  it('packs invoke id, service class and priority into one octet (0xC1 = high, confirmed, id 1)', () => {
    expect(encodeInvokeIdAndPriority({ invokeId: 1, confirmed: true, highPriority: true })).toBe(0xc1);
    expect(encodeInvokeIdAndPriority({ invokeId: 15, confirmed: false, highPriority: false })).toBe(0x0f);
    expect(decodeInvokeIdAndPriority(0x4a)).toEqual({ invokeId: 10, confirmed: true, highPriority: false });
  });

  it('ignores the reserved bits 4-5 on decode', () => {
    expect(decodeInvokeIdAndPriority(0x31)).toEqual({ invokeId: 1, confirmed: false, highPriority: false });
  });

  it('refuses an invoke id that does not fit in 4 bits', () => {
    expect(() => encodeInvokeIdAndPriority({ invokeId: 16, confirmed: true, highPriority: false })).toThrow(DlmsEncodeError);
  });

  it('packs the long form: 24-bit id, self-descriptive 28, break-on-error 29, confirmed 30, priority 31', () => {
    const all = { invokeId: 0xabcdef, selfDescriptive: true, breakOnError: true, confirmed: true, highPriority: true };
    expect(encodeLongInvokeIdAndPriority(all)).toBe(0xf0abcdef);
    expect(decodeLongInvokeIdAndPriority(0xf0abcdef)).toEqual(all);
    expect(decodeLongInvokeIdAndPriority(0x20000005)).toEqual({ invokeId: 5, selfDescriptive: false, breakOnError: true, confirmed: false, highPriority: false });
  });
});

describe('profile selective access', () => {
  it('reads a range descriptor with selected columns back into its typed form', () => {
    const range = {
      kind: 'range' as const,
      restrictingObject: { classId: 8, logicalName: ln('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 },
      from: { type: 'octet-string' as const, value: new Uint8Array(12) },
      to: { type: 'octet-string' as const, value: new Uint8Array(12).fill(1) },
      selectedValues: [
        { classId: 8, logicalName: ln('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 },
        { classId: 3, logicalName: ln('1.0.1.8.0.255'), attributeIndex: 2, dataIndex: 0 },
      ],
    };
    expect(parseProfileSelectiveAccess(profileSelectiveAccess(range))).toEqual(range);
  });

  it('refuses parameters of the wrong shape with a typed error', () => {
    expect(() => parseProfileSelectiveAccess({ selector: 1, parameters: { type: 'null-data' } })).toThrow(DlmsDecodeError);
    expect(() => parseProfileSelectiveAccess({ selector: 2, parameters: { type: 'structure', value: [] } })).toThrow(DlmsDecodeError);
    expect(() => parseProfileSelectiveAccess({ selector: 3, parameters: { type: 'null-data' } })).toThrow(/selector 3/);
  });

  it('refuses to encode a logical name that is not 6 octets', () => {
    expect(() => profileSelectiveAccess({
      kind: 'range',
      restrictingObject: { classId: 8, logicalName: new Uint8Array(5), attributeIndex: 2, dataIndex: 0 },
      from: { type: 'null-data' }, to: { type: 'null-data' }, selectedValues: [],
    })).toThrow(DlmsEncodeError);
  });
});

describe('encoding refuses values that do not fit their field', () => {
  const invoke = { invokeId: 1, confirmed: true, highPriority: true };
  it('rejects an instance id that is not 6 octets, a class id above 65535, an attribute id above 127', () => {
    expect(() => encodeApdu({ type: 'get-request-normal', invoke, attribute: { classId: 8, instanceId: new Uint8Array(5), attributeId: 2 } })).toThrow(DlmsEncodeError);
    expect(() => encodeApdu({ type: 'get-request-normal', invoke, attribute: { classId: 0x10000, instanceId: new Uint8Array(6), attributeId: 2 } })).toThrow(DlmsEncodeError);
    expect(() => encodeApdu({ type: 'get-request-normal', invoke, attribute: { classId: 8, instanceId: new Uint8Array(6), attributeId: 128 } })).toThrow(DlmsEncodeError);
  });

  it('rejects a with-list whose descriptors and values differ in number', () => {
    expect(() => encodeApdu({ type: 'set-request-with-list', invoke, attributes: [], values: [{ type: 'null-data' }] })).toThrow(DlmsEncodeError);
    expect(() => encodeApdu({ type: 'action-request-with-list', invoke, methods: [], parameters: [{ type: 'null-data' }] })).toThrow(DlmsEncodeError);
  });

  it('keeps a negative (manufacturer-specific) attribute id as Integer8', () => {
    const apdu = { type: 'get-request-normal' as const, invoke, attribute: { classId: 1, instanceId: new Uint8Array(6), attributeId: -3 } };
    const bytes = encodeApdu(apdu);
    expect(bytes[11]).toBe(0xfd);
    expect(decodeApdu(bytes)).toEqual(apdu);
  });
});
