/**
 * Byte-exact xDLMS vectors worked out by hand from the Green Book §9.5 ASN.1 with A-XDR
 * rules, each byte group commented; plus published encodings from the dlms-cosem project
 * (u9n/dlms-cosem tests/test_xdlms/*), decoded and re-encoded byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { decodeApdu, encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { invokeIdAndPriority } from '../../../../protocols/dlms/apdu/invokeId.js';
import { parseProfileSelectiveAccess, profileSelectiveAccess } from '../../../../protocols/dlms/apdu/selectiveAccess.js';
import { hex, ln } from './helpers.js';

const C1 = invokeIdAndPriority(1); // 0xC1: high priority (0x80) | confirmed (0x40) | invoke id 1

function vector(name: string, bytes: Uint8Array, apdu: Apdu): void {
  it(`${name}: encodes to the hand-made bytes and decodes back`, () => {
    expect(encodeApdu(apdu)).toEqual(bytes);
    expect(decodeApdu(bytes)).toEqual(apdu);
  });
}

describe('xDLMS vectors by hand', () => {
  vector('GET-Request-Normal for the clock time', hex(
    'C0',           // get-request [192]
    '01',           // get-request-normal [1]
    'C1',           // invoke-id-and-priority: high, confirmed, id 1
    '00 08',        // class-id 8 (Clock), long-unsigned
    '00 00 01 00 00 FF', // instance-id 0.0.1.0.0.255, 6 octets without a length
    '02',           // attribute-id 2 (time)
    '00',           // access-selection OPTIONAL: absent
  ), { type: 'get-request-normal', invoke: C1, attribute: { classId: 8, instanceId: ln('0.0.1.0.0.255'), attributeId: 2 } });

  vector('GET-Response-Normal carrying a double-long-unsigned', hex(
    'C4',           // get-response [196]
    '01',           // get-response-normal [1]
    'C1',           // invoke-id-and-priority echoed
    '00',           // Get-Data-Result choice data [0]
    '06 00 00 30 39', // Data double-long-unsigned (tag 6) 12345
  ), { type: 'get-response-normal', invoke: C1, result: { ok: true, data: { type: 'double-long-unsigned', value: 12345 } } });

  vector('GET-Response-Normal with a data-access-result', hex(
    'C4 01 C1',     // get-response-normal, invoke C1
    '01',           // Get-Data-Result choice data-access-result [1]
    '04',           // object-undefined (4)
  ), { type: 'get-response-normal', invoke: C1, result: { ok: false, result: 'object-undefined' } });

  vector('GET-Request-Next', hex(
    'C0 02 C1',     // get-request-next [2], invoke C1
    '00 00 00 01',  // block-number Unsigned32 = 1 (the block last received)
  ), { type: 'get-request-next', invoke: C1, blockNumber: 1 });

  vector('GET-Response-With-Datablock, last block of raw data', hex(
    'C4 02 C1',     // get-response-with-datablock [2], invoke C1
    '01',           // last-block BOOLEAN true
    '00 00 00 02',  // block-number 2
    '00',           // DataBlock-G result choice raw-data [0]
    '03 AA BB CC',  // OCTET STRING length 3
  ), { type: 'get-response-with-datablock', invoke: C1, lastBlock: true, blockNumber: 2, block: { ok: true, rawData: hex('AABBCC') } });

  vector('GET-Request-With-List of two attributes', hex(
    'C0 03 C1',     // get-request-with-list [3], invoke C1
    '02',           // SEQUENCE OF quantity 2
    '00 03 01 00 01 08 00 FF 02 00', // Register 1.0.1.8.0.255 attr 2, no access-selection
    '00 03 01 00 01 08 00 FF 03 00', // same register, attr 3 (scaler_unit)
  ), {
    type: 'get-request-with-list', invoke: C1, attributes: [
      { attribute: { classId: 3, instanceId: ln('1.0.1.8.0.255'), attributeId: 2 } },
      { attribute: { classId: 3, instanceId: ln('1.0.1.8.0.255'), attributeId: 3 } },
    ],
  });

  const from = hex('07E8 03 01 05 00 00 00 00 8000 FF'); // 2024-03-01 Fri 00:00:00.00, deviation and status unspecified
  const to = hex('07E8 03 02 06 00 00 00 00 8000 FF');   // 2024-03-02 Sat 00:00
  vector('GET-Request-Normal with a range descriptor by clock for the load profile', hex(
    'C0 01 C1',     // get-request-normal, invoke C1
    '00 07',        // class-id 7 (Profile generic)
    '01 00 63 01 00 FF', // 1.0.99.1.0.255
    '02',           // attribute 2 (buffer)
    '01',           // access-selection present
    '01',           // access-selector 1 = range_descriptor
    '02 04',        // structure of 4: restricting_object, from_value, to_value, selected_values
    '02 04',        //   capture_object_definition, structure of 4
    '12 00 08',     //     class_id long-unsigned 8 (Clock)
    '09 06 00 00 01 00 00 FF', // logical_name octet-string 0.0.1.0.0.255
    '0F 02',        //     attribute_index integer 2
    '12 00 00',     //     data_index long-unsigned 0
    '09 0C', '07E8 03 01 05 00 00 00 00 8000 FF', // from_value octet-string(12) date-time
    '09 0C', '07E8 03 02 06 00 00 00 00 8000 FF', // to_value
    '01 00',        // selected_values: empty array = all columns
  ), {
    type: 'get-request-normal', invoke: C1,
    attribute: { classId: 7, instanceId: ln('1.0.99.1.0.255'), attributeId: 2 },
    access: profileSelectiveAccess({
      kind: 'range',
      restrictingObject: { classId: 8, logicalName: ln('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 },
      from: { type: 'octet-string', value: from },
      to: { type: 'octet-string', value: to },
      selectedValues: [],
    }),
  });

  vector('GET-Request-Normal with an entry descriptor', hex(
    'C0 01 C1 00 07 01 00 63 01 00 FF 02', // get-request-normal for 1.0.99.1.0.255 attr 2
    '01 02',        // access-selection present, selector 2 = entry_descriptor
    '02 04',        // structure of 4
    '06 00 00 00 01', // from_entry double-long-unsigned 1
    '06 00 00 00 0A', // to_entry 10
    '12 00 01',     // from_selected_value long-unsigned 1
    '12 00 00',     // to_selected_value 0 = to the last column
  ), {
    type: 'get-request-normal', invoke: C1,
    attribute: { classId: 7, instanceId: ln('1.0.99.1.0.255'), attributeId: 2 },
    access: profileSelectiveAccess({ kind: 'entry', fromEntry: 1, toEntry: 10, fromSelectedValue: 1, toSelectedValue: 0 }),
  });

  vector('SET-Request-Normal and its response', hex(
    'C1 01 C1',     // set-request [193], set-request-normal [1], invoke C1
    '00 03 01 00 01 08 00 FF 02', // Register 1.0.1.8.0.255 attribute 2
    '00',           // no access-selection
    '06 00 00 00 00', // value: double-long-unsigned 0
  ), {
    type: 'set-request-normal', invoke: C1,
    attribute: { classId: 3, instanceId: ln('1.0.1.8.0.255'), attributeId: 2 },
    value: { type: 'double-long-unsigned', value: 0 },
  });

  vector('SET-Response-Normal read-write-denied', hex(
    'C5 01 C1',     // set-response [197], normal [1], invoke C1
    '03',           // Data-Access-Result read-write-denied (3)
  ), { type: 'set-response-normal', invoke: C1, result: 'read-write-denied' });

  vector('ACTION-Request-Normal remote_disconnect', hex(
    'C3 01 C1',     // action-request [195], normal [1], invoke C1
    '00 46',        // class-id 70 (Disconnect control)
    '00 00 60 03 0A FF', // 0.0.96.3.10.255
    '01',           // method-id 1 (remote_disconnect)
    '01 0F 00',     // parameters present: integer 0 (the method's dummy argument)
  ), {
    type: 'action-request-normal', invoke: C1,
    method: { classId: 70, instanceId: ln('0.0.96.3.10.255'), methodId: 1 },
    parameters: { type: 'integer', value: 0 },
  });

  vector('ACTION-Response-Normal success without return parameters', hex(
    'C7 01 C1',     // action-response [199], normal [1], invoke C1
    '00',           // Action-Result success
    '00',           // return-parameters OPTIONAL: absent
  ), { type: 'action-response-normal', invoke: C1, response: { result: 'success' } });

  vector('Exception-Response', hex(
    'D8',           // exception-response [216]
    '01',           // state-error service-not-allowed (1)
    '02',           // service-error service-not-supported (2)
  ), { type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'service-not-supported' });

  vector('Confirmed-Service-Error', hex(
    '0E',           // confirmedServiceError [14]
    '01',           // initiateError [1]
    '06',           // ServiceError choice initiate [6]
    '02',           // incompatible-conformance (2)
  ), { type: 'confirmed-service-error', service: 'initiateError', errorClass: 'initiate', value: 2 });

  vector('Event-Notification-Request without time', hex(
    'C2',           // event-notification-request [194]
    '00',           // time OPTIONAL: absent
    '00 01 00 00 60 0B 00 FF 02', // Data 0.0.96.11.0.255 (event code) attribute 2
    '12 00 11',     // attribute-value long-unsigned 17
  ), {
    type: 'event-notification-request',
    attribute: { classId: 1, instanceId: ln('0.0.96.11.0.255'), attributeId: 2 },
    value: { type: 'long-unsigned', value: 17 },
  });

  vector('Data-Notification with a date-time', hex(
    '0F',           // data-notification [15]
    '40 00 00 2A',  // long-invoke-id-and-priority: confirmed bit 30, id 42
    '0C', '07E8 03 01 05 0C 00 00 00 FFC4 00', // date-time OCTET STRING of 12
    '11 07',        // notification-body: unsigned 7
  ), {
    type: 'data-notification',
    invoke: { invokeId: 42, selfDescriptive: false, breakOnError: false, confirmed: true, highPriority: false },
    dateTime: hex('07E8 03 01 05 0C 00 00 00 FFC4 00'),
    body: { type: 'unsigned', value: 7 },
  });
});

describe('published xDLMS encodings (u9n/dlms-cosem tests)', () => {
  it('decodes and re-encodes the range-descriptor GET of tests/test_xdlms/test_selective_access.py', () => {
    // 15-minute profile 1.0.99.1.0.255, 2017-10-01 00:00 to 01:00 (deviation -60, DST), by clock.
    const bytes = hex(
      'C0 01 C1 00 07 01 00 63 01 00 FF 02 01 01 02 04 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00',
      '09 0C 07 E1 0A 01 07 00 00 00 00 FF C4 80 09 0C 07 E1 0A 01 07 01 00 00 00 FF C4 80 01 00',
    );
    const apdu = decodeApdu(bytes);
    if (apdu.type !== 'get-request-normal' || apdu.access === undefined) return expect.fail('expected a GET with access');
    const range = parseProfileSelectiveAccess(apdu.access);
    expect(range).toMatchObject({
      kind: 'range',
      restrictingObject: { classId: 8, logicalName: ln('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 },
      selectedValues: [],
    });
    expect(encodeApdu(apdu)).toEqual(bytes);
  });

  it('decodes and re-encodes the data-notification of tests/test_xdlms/test_data_notification.py', () => {
    const bytes = hex(
      '0F 00 00 01 DB 00 09 22',
      '12 5A 85 91 36 00 00 00 00 49 00 00 00 11 00 00 00 0A 5A 85 13 D0 14 80 00 00 00 0D 00 00 00 0A 01 00',
    );
    const apdu = decodeApdu(bytes);
    expect(apdu).toMatchObject({ type: 'data-notification', invoke: { invokeId: 0x1db, confirmed: false } });
    if (apdu.type !== 'data-notification') return expect.fail('expected a data-notification');
    expect(apdu.dateTime).toBeUndefined();
    expect(apdu.body.type).toBe('octet-string');
    expect(encodeApdu(apdu)).toEqual(bytes);
  });
});
