/**
 * The DLMS session's payment metering capability: a meter's own account read, and credit added
 * as the endpoint says (`payment.topUp`), each read back (client/payment.ts does the COSEM).
 *
 * Before any request the association's object list (IC 15 attribute 2) must name the objects
 * with their class: a meter without an Account (or a Token gateway, where credit goes through
 * one) is PaymentMeteringUnsupported at once, without a request it would refuse.
 */
import type { CreditTopUp, MeterAccountState, PaymentMetering } from '../adapter.js';
import { PaymentMeteringUnsupported } from '../adapter.js';
import type { DlmsEndpoint } from './config.js';
import type { CosemClient } from './client/cosemAccess.js';
import { enterToken, rawCreditOf, readMeterAccount, updateCreditAmount } from './client/payment.js';
import { INTERFACE_CLASSES } from './cosem/classes.js';
import { PAYMENT_OBIS } from './cosem/payment.js';
import { DlmsEncodeError } from './errors.js';

/** Runs `work` on the association with the meter at `address`, with the class of every object it lists. */
export type WithMeter = <T>(address: string, signal: AbortSignal, work: (client: CosemClient, classes: ReadonlyMap<string, number>) => Promise<T>) => Promise<T>;

export function dlmsPaymentMetering(terminalId: string, endpoint: DlmsEndpoint, withMeter: WithMeter): PaymentMetering {
  const p = endpoint.payment ?? {};
  const account = p.account ?? PAYMENT_OBIS.account;
  const gateway = p.tokenGateway ?? PAYMENT_OBIS.tokenGateway;
  const read = (client: CosemClient, signal: AbortSignal) => readMeterAccount(client, { account, signal, terminalId });
  const listed = (classes: ReadonlyMap<string, number>, obis: string, classId: number, what: string) => {
    if (classes.get(obis) !== classId) {
      throw new PaymentMeteringUnsupported(`the meter's object list has no IC ${classId} ${what} at ${obis}`, terminalId);
    }
  };
  return {
    readAccount: (address, signal) => withMeter(address, signal, (client, classes) => {
      listed(classes, account, INTERFACE_CLASSES.account.classId, 'Account');
      return read(client, signal);
    }),
    addCredit: (request: CreditTopUp, signal) => withMeter(request.address, signal, async (client, classes) => {
      listed(classes, account, INTERFACE_CLASSES.account.classId, 'Account');
      const before: MeterAccountState = await read(client, signal);
      const raw = rawCreditOf(request, before);
      if ((p.topUp ?? 'update-amount') === 'token-gateway') {
        listed(classes, gateway, INTERFACE_CLASSES.tokenGateway.classId, 'Token gateway');
        if (request.token === undefined || !/^(?:[0-9a-fA-F]{2}){1,512}$/.test(request.token)) {
          throw new DlmsEncodeError('cosem', 'this meter takes credit through its token gateway: the top-up needs the vending system\'s token (hex)');
        }
        await enterToken(client, Uint8Array.from(Buffer.from(request.token, 'hex')), { gateway, signal, terminalId });
      } else {
        const credit = p.credit ?? before.credits.find((c) => c.type === 'token')?.credit;
        if (credit === undefined) throw new PaymentMeteringUnsupported('the account lists no token credit to add to (set payment.credit)', terminalId);
        listed(classes, credit, INTERFACE_CLASSES.credit.classId, 'Credit');
        await updateCreditAmount(client, credit, raw, { signal });
      }
      return { before, after: await read(client, signal) };
    }),
  };
}
