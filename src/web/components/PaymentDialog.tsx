/**
 * Records a payment taken at the counter (billing role): the amount typed in major units and
 * converted exactly to minor units (src/web/money.ts), posted once to /fees/payments with one
 * Idempotency-Key and one paymentId per dialog, so a double click or a retried request credits once.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, idempotencyKey } from '../api.js';
import { locale, t, type Key } from '../i18n.js';
import { fmtMoney, minorDigits, parseMajor } from '../money.js';
import type { Booked } from '../types.js';

export interface PaymentDialogProps {
  readonly accountId: string;
  readonly accountName: string;
  readonly currency: string;
  readonly onClose: (booked: boolean) => void;
}

const REASONS: Readonly<Record<'format' | 'digits' | 'positive' | 'large', Key>> = {
  format: 'fee.pay.badFormat', digits: 'fee.pay.badDigits', positive: 'fee.pay.badPositive', large: 'fee.pay.badLarge',
};

export function PaymentDialog({ accountId, accountName, currency, onClose }: PaymentDialogProps) {
  const key = useRef(idempotencyKey());
  const dialog = useRef<HTMLDialogElement>(null);
  const [paymentId, setPaymentId] = useState(() => `counter-${key.current.slice(4, 20)}`);
  const [amount, setAmount] = useState('');
  const [booked, setBooked] = useState<Booked | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const digits = minorDigits(currency);

  useEffect(() => { dialog.current?.showModal(); }, []);

  const send = (e: Event) => {
    e.preventDefault();
    const parsed = parseMajor(amount, digits);
    if (!parsed.ok) {
      setError(t(REASONS[parsed.reason], { digits }));
      return;
    }
    setSending(true);
    setError(null);
    const body = { paymentId: paymentId.trim(), accountId, amountMinor: parsed.minor, currency, paidAt: new Date().toISOString() };
    api<Booked>('/fees/payments', { method: 'POST', body, headers: { 'idempotency-key': key.current } })
      .then(setBooked, (err: unknown) => { setError(errorText(err)); })
      .finally(() => { setSending(false); });
  };
  return (
    <dialog ref={dialog} class="card dialog" data-dialog="payment" onClose={() => { onClose(booked !== null); }}>
      <form onSubmit={send}>
        <h3>{t('fee.pay.title')}</h3>
        <p>{accountName} · {accountId}</p>
        <label>{t('fee.pay.amount', { currency })}<input name="amount" inputMode="decimal" autocomplete="off" value={amount} disabled={booked !== null} onInput={(e) => { setAmount(e.currentTarget.value); }} required /></label>
        <label>{t('fee.pay.paymentId')}<input name="paymentId" value={paymentId} maxLength={128} disabled={booked !== null} onInput={(e) => { setPaymentId(e.currentTarget.value); }} required /></label>
        {booked !== null && (
          <p class="status" data-booked={booked.entry.amountMinor}>
            {t('fee.pay.done', { amount: fmtMoney(booked.entry.amountMinor, booked.entry.currency, locale()), balance: fmtMoney(booked.balance.balanceMinor, booked.balance.currency, locale()) })}
            {booked.replayed && ` (${t('fee.pay.replayed')})`}
          </p>
        )}
        {error !== null && <p class="error" role="alert">{error}</p>}
        <div class="buttons">
          {booked === null && <button type="submit" disabled={sending} data-action="record">{t('fee.pay.record')}</button>}
          <button type="button" onClick={() => { dialog.current?.close(); }} data-action="close">{booked === null ? t('cmd.cancel') : t('cmd.close')}</button>
        </div>
      </form>
    </dialog>
  );
}
