/**
 * The key material of the Green Book's worked examples (DLMS UA 1000-2 §9.2.7, as quoted by
 * u9n/dlms-cosem tests/test_security.py): EK, AK, the client's and the server's system titles.
 */
import { hex } from '../apdu/helpers.js';

export const EK = hex('000102030405060708090A0B0C0D0E0F');
export const AK = hex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF');
export const CLIENT_TITLE = hex('4D4D4D0000000001');
export const SERVER_TITLE = hex('4D4D4D0000BC614E');
