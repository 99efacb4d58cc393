/** Sign in with a user name and password; the server sets the HttpOnly session cookie. */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { lang, setLang, t } from '../i18n.js';
import type { LoginReply, Me } from '../types.js';

export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    api<LoginReply>('/auth/login', { method: 'POST', body: { username, password } })
      .then((r) => { onLogin({ subject: `user:${r.name}`, role: r.role, via: 'session' }); })
      .catch((err: unknown) => { setError(`${t('login.failed')}: ${errorText(err)}`); })
      .finally(() => { setBusy(false); });
  };
  return (
    <div class="login">
      <form onSubmit={submit} class="card" data-form="login">
        <h1>{t('app.title')}</h1>
        <h2>{t('login.title')}</h2>
        <label>{t('login.user')}<input name="username" autocomplete="username" value={username} onInput={(e) => { setUsername(e.currentTarget.value); }} required /></label>
        <label>{t('login.password')}<input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => { setPassword(e.currentTarget.value); }} required /></label>
        {error !== null && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{t('login.submit')}</button>
        <button type="button" class="link" data-action="language" onClick={() => { setLang(lang() === 'en' ? 'zh' : 'en'); }}>{t('nav.language')}</button>
      </form>
    </div>
  );
}
