/**
 * A page whose code loads only when it is opened (its own chunk in the build), so the
 * dashboard's first load stays small: `load` imports the page module and picks the component.
 */
import type { ComponentType } from 'preact';
import { errorText } from '../api.js';
import { useLoad } from '../hooks.js';
import { t } from '../i18n.js';

export function Lazy<P extends object>({ load, props }: { load: () => Promise<ComponentType<P>>; props: P }) {
  const [page] = useLoad(load, []);
  if (page.status === 'error') return <p class="error">{errorText(page.error)}</p>;
  if (page.status !== 'ok') return <p>{t('common.loading')}</p>;
  const Page = page.value;
  return <Page {...props} />;
}
