/**
 * When a campaign may work: between notBefore and notAfter, and inside its daily window in
 * station local time (station.utcOffsetMinutes). A daily window whose `from` is after its `to`
 * spans midnight (22:00–05:00). Pure: the runner hands it the time.
 */
import type { CampaignWindow } from './model.js';

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes after midnight of 'HH:MM'; undefined when the text is not a time of day. */
export function minutesOf(text: string): number | undefined {
  const m = HH_MM.exec(text);
  return m === null ? undefined : Number(m[1]) * 60 + Number(m[2]);
}

export function insideWindow(window: CampaignWindow, now: number, utcOffsetMinutes: number): boolean {
  if (window.notBefore !== undefined && now < window.notBefore) return false;
  if (window.notAfter !== undefined && now >= window.notAfter) return false;
  if (window.daily === undefined) return true;
  const from = minutesOf(window.daily.from);
  const to = minutesOf(window.daily.to);
  if (from === undefined || to === undefined || from === to) return true;
  const day = 24 * 60;
  const minute = (((Math.floor(now / 60_000) + utcOffsetMinutes) % day) + day) % day;
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}
