import { expect, it } from 'vitest';
import { decodeData, encodeData } from '../../protocols/dlms/axdr/codec.js';
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import { encodeCosemDateTime, epochMsToCosemDateTime } from '../../protocols/dlms/axdr/dateTime.js';

// A load-profile buffer as a meter returns it (IC 7 attribute 2): an array of rows, each a
// structure of the capture time (octet-string of 12, as Clock attribute 2 is captured) and
// six values. 2,880 rows is a month of 15-minute intervals: 118,084 octets.
const ROWS = 2_880;
const SECONDS_PER_FIGURE = 3;

function profileBuffer(): DlmsData {
  const t0 = Date.UTC(2026, 0, 1);
  const rows: DlmsData[] = [];
  for (let i = 0; i < ROWS; i++) {
    rows.push({
      type: 'structure',
      value: [
        { type: 'octet-string', value: encodeCosemDateTime(epochMsToCosemDateTime(t0 + i * 900_000, -60, 0)) },
        { type: 'double-long-unsigned', value: 12_345_678 + i * 17 }, // active energy import, Wh
        { type: 'double-long-unsigned', value: 1_234 + i }, // active energy export, Wh
        { type: 'double-long-unsigned', value: 456_789 + i * 3 }, // reactive energy import, varh
        { type: 'double-long', value: 2_300 - (i % 500) }, // active power, W
        { type: 'long-unsigned', value: 2_301 + (i % 40) }, // voltage, dV
        { type: 'unsigned', value: i % 256 }, // status
      ],
    });
  }
  return { type: 'array', value: rows };
}

/** Runs `fn` over `bytesPerCall` for about SECONDS_PER_FIGURE seconds and returns MB/s. */
function throughput(bytesPerCall: number, fn: () => void): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up: let the JIT settle before timing
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < SECONDS_PER_FIGURE) {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return (calls * bytesPerCall) / 1e6 / elapsed;
}

it('measures A-XDR decode and encode throughput on a profile buffer', () => {
  const data = profileBuffer();
  const bytes = encodeData(data);
  expect(decodeData(bytes)).toEqual(data);

  const decode = throughput(bytes.length, () => { decodeData(bytes); });
  const encode = throughput(bytes.length, () => { encodeData(data); });
  console.log(`bench: axdr.decode = ${decode.toFixed(1)} MB/s`);
  console.log(`bench: axdr.encode = ${encode.toFixed(1)} MB/s`);
});
