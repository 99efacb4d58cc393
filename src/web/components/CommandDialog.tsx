/**
 * Confirms a command naming the customer and the meter, sends it once (one Idempotency-Key
 * per dialog, so a double click or a retried request never makes a second command), then
 * follows GET /commands/:id until the command is no longer open, showing each transition.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, idempotencyKey } from '../api.js';
import { fmtClock } from '../format.js';
import { label, t } from '../i18n.js';
import type { Command } from '../types.js';

export type CommandKind = 'disconnect' | 'reconnect' | 'set-limit';

export interface CommandDialogProps {
  readonly kind: CommandKind;
  readonly meterId: string;
  readonly customerRef: string | null;
  readonly onClose: () => void;
}

const POLL_MS = 700;
/** Polls at most this many times (about 3 minutes): the command's own timeout ends it well before. */
const MAX_POLLS = 260;
const LABEL = { disconnect: 'cmd.disconnect', reconnect: 'cmd.reconnect', 'set-limit': 'cmd.setLimit' } as const;

export function CommandDialog({ kind, meterId, customerRef, onClose }: CommandDialogProps) {
  const key = useRef(idempotencyKey());
  const dialog = useRef<HTMLDialogElement>(null);
  const [limitKw, setLimitKw] = useState('10');
  const [reason, setReason] = useState('');
  const [command, setCommand] = useState<Command | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => { dialog.current?.showModal(); }, []);
  useEffect(() => {
    if (command?.status !== 'open') return undefined;
    let polls = 0;
    const timer = setInterval(() => {
      polls += 1;
      if (polls > MAX_POLLS) clearInterval(timer);
      api<Command>(`/commands/${encodeURIComponent(command.id)}`).then(setCommand, (err: unknown) => { setError(errorText(err)); });
    }, POLL_MS);
    return () => { clearInterval(timer); };
  }, [command?.id, command?.status]);

  const send = (e: Event) => {
    e.preventDefault();
    setSending(true);
    setError(null);
    const body = {
      type: kind, meterIds: [meterId],
      ...(kind === 'set-limit' ? { params: { limitKw: Number(limitKw) } } : {}),
      ...(reason.trim() === '' ? {} : { reason: reason.trim() }),
    };
    api<Command>('/commands', { method: 'POST', body, headers: { 'idempotency-key': key.current } })
      .then(setCommand, (err: unknown) => { setError(errorText(err)); })
      .finally(() => { setSending(false); });
  };
  const target = command?.targets[0];
  return (
    <dialog ref={dialog} class="card dialog" data-dialog="command" onClose={onClose}>
      <form onSubmit={send}>
        <h3>{t('cmd.confirmTitle')}</h3>
        <p data-confirm-text>{t('cmd.confirmText', { cmd: t(LABEL[kind]), meter: meterId, customer: customerRef ?? t('cmd.noCustomer') })}</p>
        {kind === 'set-limit' && <label>{t('cmd.limitKw')}<input name="limitKw" type="number" min="0" step="0.1" value={limitKw} disabled={command !== null} onInput={(e) => { setLimitKw(e.currentTarget.value); }} required /></label>}
        <label>{t('cmd.reason')}<input name="reason" value={reason} maxLength={500} disabled={command !== null} onInput={(e) => { setReason(e.currentTarget.value); }} /></label>
        {command !== null && (
          <div class="status">
            {t('cmd.status')}: <strong data-command-status={command.status}>{label('cmdStatus', command.status)}</strong>
            {target !== undefined && (
              <ol class="transitions" data-target-status={target.status}>
                {target.transitions.map((x) => <li key={x.status + x.at} data-status={x.status}>{label('cmdStatus', x.status)} <small>{fmtClock(x.at)}</small></li>)}
              </ol>
            )}
            {target?.error && <p class="error">{target.error.code}: {target.error.message}</p>}
          </div>
        )}
        {error !== null && <p class="error" role="alert">{error}</p>}
        <div class="buttons">
          {command === null && <button type="submit" class="danger" disabled={sending} data-action="send">{t('cmd.send')}</button>}
          <button type="button" onClick={() => { dialog.current?.close(); }} data-action="close">{command === null ? t('cmd.cancel') : t('cmd.close')}</button>
        </div>
      </form>
    </dialog>
  );
}
