/**
 * Firmware images: the upload form (an administrator's; the file goes as it is, as
 * application/octet-stream, its identity in the query) and the images the station holds,
 * each with the size and SHA-256 the station computed on receipt.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { fmtNumber, fmtSubject, fmtTime } from '../format.js';
import type { Loaded } from '../hooks.js';
import { t } from '../i18n.js';
import type { FirmwareImage, FirmwareImageList } from '../types.js';

export function fmtBytes(n: number): string {
  return t('fw.bytes', { n: fmtNumber(n, 0) });
}

export function ImageUpload({ onUploaded }: { onUploaded: (image: FirmwareImage) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [fields, setFields] = useState({ identifier: '', name: '', version: '', signature: '' });
  const [uploaded, setUploaded] = useState<FirmwareImage | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const set = (name: keyof typeof fields, value: string) => { setFields((f) => ({ ...f, [name]: value })); };
  const choose = (chosen: File | null) => {
    setFile(chosen);
    // The file's name without its extension is the usual identifier; the operator may change it.
    if (chosen !== null && fields.identifier === '') set('identifier', chosen.name.replace(/\.[^.]*$/, ''));
  };
  const submit = (e: Event) => {
    e.preventDefault();
    if (file === null) return;
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) if (v.trim() !== '') query.set(k, v.trim());
    setBusy(true);
    setError(undefined);
    setUploaded(undefined);
    api<FirmwareImage>(`/firmware/images?${query.toString()}`, { method: 'POST', bytes: file }).then(
      (image) => { setBusy(false); setUploaded(image); onUploaded(image); },
      (err: unknown) => { setBusy(false); setError(errorText(err)); },
    );
  };
  return (
    <section class="card" data-testid="fw-upload">
      <h3>{t('fw.upload')}</h3>
      <form class="fw-form" onSubmit={submit}>
        <label>{t('fw.file')} <input type="file" name="file" required onChange={(e) => { choose(e.currentTarget.files?.[0] ?? null); }} /></label>
        <label>{t('fw.identifier')} *
          <input name="identifier" required value={fields.identifier} onInput={(e) => { set('identifier', e.currentTarget.value); }} />
          <small>{t('fw.identifierHint')}</small>
        </label>
        <label>{t('fw.name')} <input name="name" value={fields.name} onInput={(e) => { set('name', e.currentTarget.value); }} /></label>
        <label>{t('fw.version')}
          <input name="version" value={fields.version} onInput={(e) => { set('version', e.currentTarget.value); }} />
          <small>{t('fw.versionHint')}</small>
        </label>
        <label>{t('fw.signature')} <input name="signature" pattern="([0-9a-fA-F]{2})*" value={fields.signature} onInput={(e) => { set('signature', e.currentTarget.value); }} /></label>
        <div class="buttons"><button type="submit" data-testid="fw-upload-submit" disabled={busy || file === null}>{t('fw.upload')}</button></div>
      </form>
      {uploaded !== undefined && (
        <p data-testid="fw-uploaded" data-image={uploaded.id} data-sha256={uploaded.sha256} data-size={uploaded.size}>
          {t('fw.uploaded', { name: uploaded.name, size: fmtBytes(uploaded.size) })} <code class="hash">{uploaded.sha256}</code>
        </p>
      )}
      {error !== undefined && <p class="error" data-testid="fw-upload-error">{error}</p>}
    </section>
  );
}

export function ImageList({ images }: { images: Loaded<FirmwareImageList> }) {
  return (
    <section class="card" data-testid="fw-images">
      <h3>{t('fw.images')}</h3>
      {images.status !== 'ok' ? <p>{images.status === 'error' ? errorText(images.error) : t('common.loading')}</p>
        : images.value.items.length === 0 ? <p class="muted">{t('fw.noImages')}</p> : (
          <table data-table="fw-images">
            <thead><tr>
              <th>{t('fw.name')}</th><th>{t('fw.identifier')}</th><th>{t('fw.version')}</th><th class="num">{t('fw.size')}</th>
              <th>{t('fw.sha256')}</th><th>{t('fw.uploadedAt')}</th><th>{t('fw.uploadedBy')}</th>
            </tr></thead>
            <tbody>{images.value.items.map((i) => (
              <tr key={i.id} data-image={i.id}>
                <td>{i.name}</td><td>{i.identifier}</td><td>{i.version}</td><td class="num">{fmtBytes(i.size)}</td>
                <td><code class="hash" title={i.sha256}>{i.sha256.slice(0, 16)}…</code></td>
                <td class="time">{fmtTime(i.uploadedAt)}</td><td>{fmtSubject(i.uploadedBy)}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
    </section>
  );
}
