/**
 * One fee account: balance and fee-control stage, beside it the credit its meters keep where
 * they keep their own account (as fee control last read and compared it), the ledger page by page, the tariff
 * explanation of the latest charges (their `detail` lines), warnings and disconnections from
 * the decisions, and "record payment" for the billing role.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { PaymentDialog } from '../components/PaymentDialog.js';
import { fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, locale, t } from '../i18n.js';
import { fmtMoney } from '../money.js';
import { canBill } from '../roles.js';
import type { FeeAccountDetail, FeeDecision, LedgerEntry, MeterCredit, Page, Role } from '../types.js';

const POLL_MS = 5_000;
const LEDGER_PAGE = 20;
const CHARGE_KINDS = new Set(['charge', 'provisional-charge', 'true-up']);
/** How many of the newest charges the explanation shows. */
const EXPLAINED_CHARGES = 3;

export function FeeAccountPage({ accountId, role }: { accountId: string; role: Role }) {
  const id = encodeURIComponent(accountId);
  const [account, reload] = useLoad(() => api<FeeAccountDetail>(`/fees/accounts/${id}`), [id], POLL_MS);
  const [paying, setPaying] = useState(false);
  const [ledgerTick, setLedgerTick] = useState(0);
  if (account.status !== 'ok') return <p>{account.status === 'error' ? errorText(account.error) : t('common.loading')}</p>;
  const a = account.value;
  const money = (minor: number) => fmtMoney(minor, a.currency, locale());
  return (
    <div class="grid">
      <section class="card wide" data-account={a.id}>
        <h2>{a.name} <small>{a.id} · {a.customerRef}</small></h2>
        <div class="kpis">
          <div><small>{t('fee.balance')}</small><strong data-balance={a.balance.balanceMinor} class={a.balance.balanceMinor < 0 ? 'negative' : ''}>{money(a.balance.balanceMinor)}</strong></div>
          <div><small>{t('fee.stage')}</small><strong data-stage={a.control.stage}>{label('feeStage', a.control.stage)}</strong></div>
          <div><small>{t('fee.mode')}</small><span>{label('feeMode', a.mode)}</span></div>
          <div><small>{t('fee.tariff')}</small><span>{a.tariffId}</span></div>
          <div><small>{t('fee.thresholds')}</small><span>{t('fee.thresholdText', { first: money(a.warnFirstMinor), second: money(a.warnSecondMinor), limit: money(-a.creditLimitMinor), reconnect: money(a.reconnectMinor) })}</span></div>
          <div><small>{t('meters.title')}</small><span>{a.meterIds.map((m, i) => <span key={m}>{i > 0 && ', '}<a href={`#/meters/${encodeURIComponent(m)}`}>{m}</a></span>)}</span></div>
          {a.protected && <div><strong>{t('meter.protected')}</strong></div>}
          {a.control.nextWindowAt !== null && <div><small>{t('fee.nextWindow')}</small><span>{fmtTime(a.control.nextWindowAt)}</span></div>}
          {a.control.disconnectedAt !== null && <div><small>{t('fee.disconnectedSince')}</small><span>{fmtTime(a.control.disconnectedAt)}</span></div>}
        </div>
        {a.meterCredit.length > 0 && <MeterCredits readings={a.meterCredit} />}
        {canBill(role) && <p><button type="button" data-action="record-payment" onClick={() => { setPaying(true); }}>{t('fee.pay.title')}</button></p>}
      </section>
      <Explanation accountId={id} currency={a.currency} tick={ledgerTick} />
      <Decisions accountId={id} currency={a.currency} />
      <Ledger key={ledgerTick} accountId={id} currency={a.currency} />
      {paying && <PaymentDialog accountId={a.id} accountName={a.name} currency={a.currency} onClose={(booked) => {
        setPaying(false);
        if (booked) { reload(); setLedgerTick((n) => n + 1); }
      }} />}
    </div>
  );
}

/** Each meter's own credit against the station's balance it was compared with. */
function MeterCredits({ readings }: { readings: readonly MeterCredit[] }) {
  const money = (minor: number | null, currency: string) => (minor === null ? t('common.none') : fmtMoney(minor, currency, locale()));
  const [first] = readings;
  return (
    <div data-meter-credit>
      <h3>{t('fee.mc.title')}</h3>
      <table data-table="meter-credit">
        <thead><tr>
          <th>{t('fee.mc.meter')}</th><th class="num">{t('fee.mc.credit')}</th><th class="num">{t('fee.mc.station')}</th><th class="num">{t('fee.mc.difference')}</th>
          <th>{t('fee.mc.compared')}</th><th>{t('fee.mc.account')}</th><th>{t('fee.mc.credits')}</th><th>{t('fee.mc.readAt')}</th>
        </tr></thead>
        <tbody>{readings.map((r) => (
          <tr key={r.meterId} data-meter={r.meterId} data-comparison={r.comparison.kind}>
            <td><a href={`#/meters/${encodeURIComponent(r.meterId)}`}>{r.meterId}</a></td>
            <td class="num" data-available={r.availableMinor ?? ''}>{money(r.availableMinor, r.currency)}</td>
            <td class="num">{money(r.comparison.stationBalanceMinor, r.currency)}</td>
            <td class={`num ${r.comparison.kind === 'mismatch' ? 'negative' : ''}`}>{money(r.comparison.differenceMinor, r.currency)}</td>
            <td title={r.comparison.reason ?? undefined}><strong>{label('mcCompare', r.comparison.kind)}</strong></td>
            <td>{label('mcMode', r.mode)}, {label('mcStatus', r.status)}{r.creditStatus.length > 0 && ` (${r.creditStatus.join(', ')})`}</td>
            <td>{r.credits.map((c) => `${c.type}: ${c.status}`).join('; ') || t('common.none')}</td>
            <td class="time">{fmtTime(r.at)}</td>
          </tr>
        ))}</tbody>
      </table>
      {first !== undefined && <p class="muted">{t('fee.mc.tolerance', { tolerance: fmtMoney(first.comparison.toleranceMinor, first.currency, locale()) })}</p>}
    </div>
  );
}

function Ledger({ accountId, currency }: { accountId: string; currency: string }) {
  // The cursors of the pages before the one shown, so "newer" goes back without refetching from the top.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const [page] = useLoad(() => api<Page<LedgerEntry>>(`/fees/accounts/${accountId}/ledger?limit=${LEDGER_PAGE}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`), [accountId, cursor]);
  return (
    <section class="card wide">
      <h3>{t('fee.ledger')}</h3>
      {page.status !== 'ok' ? <p>{page.status === 'error' ? errorText(page.error) : t('common.loading')}</p> : (
        <>
          {page.value.items.length === 0 ? <p class="muted">{t('fee.noLedger')}</p> : (
            <table data-table="ledger">
              <thead><tr><th>#</th><th>{t('common.time')}</th><th>{t('fee.kind')}</th><th class="num">{t('fee.amount')}</th><th>{t('fee.period')}</th><th>{t('fee.reference')}</th></tr></thead>
              <tbody>{page.value.items.map((e) => (
                <tr key={e.seq} data-seq={e.seq} data-kind={e.kind}>
                  <td>{e.seq}</td><td class="time">{fmtTime(e.at)}</td><td>{label('feeKind', e.kind)}</td>
                  <td class={`num ${e.amountMinor < 0 ? 'negative' : ''}`} data-amount={e.amountMinor}>{fmtMoney(e.amountMinor, currency, locale())}</td>
                  <td>{e.periodFrom === undefined ? '—' : `${fmtTime(e.periodFrom)} – ${fmtTime(e.periodTo)}`}</td>
                  <td>{e.paymentId ?? e.actor}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
          <div class="buttons">
            <button type="button" data-action="newer" disabled={cursors.length === 0} onClick={() => { setCursors((c) => c.slice(0, -1)); }}>{t('fee.newer')}</button>
            <button type="button" data-action="older" disabled={page.value.next === null} onClick={() => { const next = page.value.next; if (next !== null) setCursors((c) => [...c, next]); }}>{t('fee.older')}</button>
          </div>
        </>
      )}
    </section>
  );
}

function Explanation({ accountId, currency, tick }: { accountId: string; currency: string; tick: number }) {
  const [page] = useLoad(() => api<Page<LedgerEntry>>(`/fees/accounts/${accountId}/ledger?limit=100`), [accountId, tick]);
  if (page.status !== 'ok') return null;
  const charges = page.value.items.filter((e) => CHARGE_KINDS.has(e.kind)).slice(0, EXPLAINED_CHARGES);
  return (
    <section class="card">
      <h3>{t('fee.explanation')}</h3>
      {charges.length === 0 ? <p class="muted">{t('fee.noCharges')}</p> : charges.map((c) => (
        <div key={c.seq} data-explained={c.seq}>
          <p><strong>{label('feeKind', c.kind)}</strong> {fmtMoney(c.amountMinor, currency, locale())} · {c.periodFrom === undefined ? fmtTime(c.at) : `${fmtTime(c.periodFrom)} – ${fmtTime(c.periodTo)}`}</p>
          <ChargeLines detail={c.detail} currency={currency} />
        </div>
      ))}
    </section>
  );
}

/** A charge's tariff lines (label, quantity and unit, price, amount), as the tariff engine explains a charge. */
function ChargeLines({ detail, currency }: { detail: unknown; currency: string }) {
  const lines = linesOf(detail);
  if (lines === undefined) return detail === undefined ? null : <pre class="detail">{JSON.stringify(detail, null, 1)}</pre>;
  return (
    <table data-table="charge-lines">
      <thead><tr><th>{t('fee.line')}</th><th class="num">{t('fee.quantity')}</th><th class="num">{t('fee.price')}</th><th class="num">{t('fee.amount')}</th></tr></thead>
      <tbody>{lines.map((l, i) => (
        <tr key={i}><td>{l.label}</td><td class="num">{l.quantity} {l.unit}</td><td class="num">{l.price}</td><td class="num">{l.amountMinor === undefined ? '—' : fmtMoney(l.amountMinor, currency, locale())}</td></tr>
      ))}</tbody>
    </table>
  );
}

interface ChargeLine { label: string; quantity: string; unit: string; price: string; amountMinor: number | undefined }

function linesOf(detail: unknown): ChargeLine[] | undefined {
  const raw = Array.isArray(detail) ? detail : (detail as { lines?: unknown } | null | undefined)?.lines;
  if (!Array.isArray(raw)) return undefined;
  return raw.map((l: unknown) => {
    const o = (typeof l === 'object' && l !== null ? l : {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    return { label: text(o.label ?? o.kind), quantity: text(o.quantity), unit: text(o.unit), price: text(o.price), amountMinor: typeof o.amountMinor === 'number' ? o.amountMinor : undefined };
  });
}

function Decisions({ accountId, currency }: { accountId: string; currency: string }) {
  const [page] = useLoad(() => api<Page<FeeDecision>>(`/fees/accounts/${accountId}/decisions?limit=100`), [accountId], POLL_MS);
  if (page.status !== 'ok') return <section class="card">{page.status === 'error' ? errorText(page.error) : t('common.loading')}</section>;
  // What an operator looks back on: warnings sent, disconnections and reconnections, and what was waited for.
  const shown = page.value.items.filter((d) => d.action !== 'none' && d.dryRun !== true);
  return (
    <section class="card">
      <h3>{t('fee.history')}</h3>
      {shown.length === 0 ? <p class="muted">{t('fee.noHistory')}</p> : (
        <table data-table="decisions">
          <thead><tr><th>{t('common.time')}</th><th>{t('fee.action')}</th><th>{t('fee.why')}</th><th class="num">{t('fee.balance')}</th></tr></thead>
          <tbody>{shown.map((d) => (
            <tr key={d.seq} data-action={d.action} data-reason={d.reason}>
              <td class="time">{fmtTime(d.at)}</td><td>{label('feeAction', d.action)}</td>
              <td>{label('feeReason', d.reason)}{d.nextWindowAt !== undefined && ` → ${fmtTime(d.nextWindowAt)}`}</td>
              <td class="num">{fmtMoney(d.balanceMinor, currency, locale())}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
