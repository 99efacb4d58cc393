/**
 * Image transfer (IC 18) and Single action schedule (IC 22) codecs against A-XDR built by hand
 * from the Blue Book's types (§4.4.6, §4.5.7) and the Green Book's ACTION-Request encoding, not
 * from our simulator: each byte string is what a meter or a client following the books sends.
 */
import { describe, expect, it } from 'vitest';
import { encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import { decodeData, encodeData } from '../../../../protocols/dlms/axdr/codec.js';
import { INTERFACE_CLASSES } from '../../../../protocols/dlms/cosem/classes.js';
import {
  blockCount, decodeImageToActivateInfo, encodeExecutionTime, encodeImageBlockTransfer, encodeImageTransferInitiate, heldBlocks, IMAGE_METHOD_NO_DATA,
  imageBlock, imageInfoDifferences, imageTransferStatusOf, missingBlocks,
} from '../../../../protocols/dlms/cosem/imageTransfer.js';
import { methodDescriptor } from '../../../../protocols/dlms/client/refs.js';
import { DlmsDecodeError, DlmsEncodeError } from '../../../../protocols/dlms/errors.js';

const bytes = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const data = (s: string) => decodeData(bytes(s));
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const IMAGE = INTERFACE_CLASSES.imageTransfer;

describe('IC 18 method parameters', () => {
  it('encodes image_transfer_initiate as structure { octet-string identifier, double-long-unsigned size }', () => {
    // "GRD-FW-1.1" (10 octets), 262 144 octets = 0x00040000.
    expect(hex(encodeData(encodeImageTransferInitiate(ascii('GRD-FW-1.1'), 262_144))))
      .toBe('0202090A4752442D46572D312E31060004' + '0000');
  });

  it('encodes image_block_transfer as structure { double-long-unsigned number, octet-string value }', () => {
    expect(hex(encodeData(encodeImageBlockTransfer(5, bytes('AA BB CC'))))).toBe('02020600000005' + '0903AABBCC');
  });

  it('puts a whole ACTION-Request-Normal for block 5 of 0.0.44.0.0.255 on the wire as the Green Book lays it out', () => {
    const apdu = encodeApdu({
      type: 'action-request-normal', invoke: { invokeId: 1, confirmed: true, highPriority: false },
      method: methodDescriptor({ classId: IMAGE.classId, obis: '0.0.44.0.0.255', method: IMAGE.methods.image_block_transfer }),
      parameters: encodeImageBlockTransfer(5, bytes('AA BB CC')),
    });
    // C3 01 (action-request-normal), 41 (invoke-id 1, confirmed), 0012 class 18, instance, method 2, parameters present.
    expect(hex(apdu)).toBe('C30141' + '0012' + '00002C0000FF' + '02' + '01' + '020206000000050903AABBCC');
  });

  it('invokes image_verify and image_activate with integer 0', () => {
    const apdu = encodeApdu({
      type: 'action-request-normal', invoke: { invokeId: 2, confirmed: true, highPriority: false },
      method: methodDescriptor({ classId: IMAGE.classId, obis: '0.0.44.0.0.255', method: IMAGE.methods.image_verify }),
      parameters: IMAGE_METHOD_NO_DATA,
    });
    expect(hex(apdu)).toBe('C30142001200002C0000FF0301' + '0F00');
  });

  it('refuses a size or block number outside double-long-unsigned', () => {
    expect(() => encodeImageTransferInitiate(ascii('x'), 2 ** 32)).toThrow(DlmsEncodeError);
    expect(() => encodeImageBlockTransfer(-1, new Uint8Array(1))).toThrow(DlmsEncodeError);
  });
});

describe('IC 18 attributes', () => {
  it('names every image_transfer_status value 0..7 and keeps a number the Blue Book does not name', () => {
    expect(imageTransferStatusOf(data('16 00'))).toBe('image-transfer-not-initiated');
    expect(imageTransferStatusOf(data('16 01'))).toBe('image-transfer-initiated');
    expect(imageTransferStatusOf(data('16 02'))).toBe('image-verification-initiated');
    expect(imageTransferStatusOf(data('16 03'))).toBe('image-verification-successful');
    expect(imageTransferStatusOf(data('16 04'))).toBe('image-verification-failed');
    expect(imageTransferStatusOf(data('16 05'))).toBe('image-activation-initiated');
    expect(imageTransferStatusOf(data('16 06'))).toBe('image-activation-successful');
    expect(imageTransferStatusOf(data('16 07'))).toBe('image-activation-failed');
    expect(imageTransferStatusOf(data('16 09'))).toBe(9);
  });

  it('decodes image_to_activate_info: array of structure { size, identification, signature }', () => {
    const info = decodeImageToActivateInfo(data('01 02' + '02 03 06 00040000 09 0A 4752442D46572D312E31 09 00' + '02 03 06 00000010 09 01 41 09 02 BEEF'));
    expect(info).toEqual([
      { size: 262_144, identification: ascii('GRD-FW-1.1'), signature: new Uint8Array(0) },
      { size: 16, identification: ascii('A'), signature: bytes('BEEF') },
    ]);
    expect(decodeImageToActivateInfo(data('01 00'))).toEqual([]);
    expect(() => decodeImageToActivateInfo(data('01 01 02 02 06 00000010 09 01 41'))).toThrow(DlmsDecodeError);
  });

  it('reads image_transferred_blocks_status bit n (MSB of the first octet first) as block n; missing bits are blocks not held', () => {
    // 10 bits: 1111 1111 01 → blocks 0..7 and 9 held, 8 not; blocks 10, 11 beyond the bit-string.
    const held = heldBlocks(data('04 0A FF 40'), 12);
    expect(held).toEqual([true, true, true, true, true, true, true, true, false, true, false, false]);
    expect(missingBlocks(held)).toEqual([8, 10, 11]);
    expect(missingBlocks(heldBlocks(data('04 03 E0'), 3))).toEqual([]);
    expect(() => heldBlocks(data('09 01 FF'), 8)).toThrow(DlmsDecodeError);
  });

  it('cuts an image in blocks of exactly the block size, the last one shorter', () => {
    const image = Uint8Array.from({ length: 10 }, (_, i) => i);
    expect(blockCount(10, 4)).toBe(3);
    expect(blockCount(8, 4)).toBe(2);
    expect([...imageBlock(image, 0, 4)]).toEqual([0, 1, 2, 3]);
    expect([...imageBlock(image, 2, 4)]).toEqual([8, 9]);
    expect(() => blockCount(10, 0)).toThrow(DlmsDecodeError);
  });

  it('says what of image_to_activate_info differs from the image sent', () => {
    const entries = [{ size: 16, identification: ascii('A'), signature: bytes('BEEF') }];
    expect(imageInfoDifferences(entries, { identifier: ascii('A'), size: 16, signature: bytes('BEEF') })).toEqual([]);
    expect(imageInfoDifferences(entries, { identifier: ascii('A'), size: 16 })).toEqual([]);
    expect(imageInfoDifferences(entries, { identifier: ascii('B'), size: 16 })).toEqual(['identification']);
    expect(imageInfoDifferences(entries, { identifier: ascii('A'), size: 17, signature: bytes('BEEE') })).toEqual(['size', 'signature']);
    // A meter that reports no signature is not compared on it.
    expect(imageInfoDifferences([{ ...entries[0]!, signature: new Uint8Array(0) }], { identifier: ascii('A'), size: 16, signature: bytes('01') })).toEqual([]);
  });
});

describe('IC 22 execution_time', () => {
  it('encodes one instant as array of structure { time octet-string(4), date octet-string(5) } in the meter\'s local time', () => {
    // 2026-12-08T02:00:00Z on a meter at UTC+01:00 (deviation −60): local Tuesday 2026-12-08 03:00:00.00.
    const d = encodeExecutionTime(Date.UTC(2026, 11, 8, 2, 0, 0), -60);
    expect(hex(encodeData(d))).toBe('0101' + '0202' + '0904' + '03000000' + '0905' + '07EA0C0802');
  });

  it('crosses midnight into the local date', () => {
    // 23:30:15Z on 2026-12-31 at UTC+08:00 (deviation −480) is Friday 2027-01-01 07:30:15 local.
    const d = encodeExecutionTime(Date.UTC(2026, 11, 31, 23, 30, 15), -480);
    expect(hex(encodeData(d))).toBe('010102020904071E0F00090507EB010105');
  });
});
