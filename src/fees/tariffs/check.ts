/**
 * Checks a tariff definition and names the field of every problem: first its kind's own
 * schema, then what a schema cannot say — TOU periods that overlap within a season, a bucket
 * without a price, a month in two seasons, tiers not ascending, an unknown time zone or
 * currency. The configuration loader reports these as ConfigIssues; compileTariff throws them.
 */
import Type, { type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { OneOf, strict } from '../../../protocols/config.js';
import { TimeZone } from './timeZone.js';
import type { TariffIssue } from './errors.js';
import { MoneyFormatError, isCurrency, priceMicros } from './money.js';
import {
  BUCKET_PATTERN, CapacityBasic, DemandBasic, FlatEnergy, KIND_SCHEMAS, TARIFF_KINDS, TouEnergy, TwoPartTariff,
  type TariffDefinition, type TouFields,
} from './schema.js';

const DAY_MINUTES = 1440;
const WEEK_MINUTES = 7 * DAY_MINUTES;
const BUCKET_NAME = new RegExp(BUCKET_PATTERN);
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Two-part with its nested unions reduced to their discriminators; each branch is checked on its own. */
const TwoPartShell = Type.Object({
  ...TwoPartTariff.properties,
  basic: Type.Object({ by: OneOf(['capacity', 'demand'] as const) }),
  energy: Type.Object({ kind: OneOf(['flat', 'tou'] as const) }),
}, strict);

/** Every problem of one definition; `at` is its path (`fees.tariffs[2]`). `defaultCurrency` applies when it names none. */
export function tariffIssues(def: unknown, at: string, defaultCurrency?: string): TariffIssue[] {
  const kind = (def as { kind?: unknown } | null)?.kind;
  if (typeof def !== 'object' || def === null || Array.isArray(def)) return [{ field: at, reason: 'schema', message: 'expected a tariff object' }];
  if (typeof kind !== 'string' || !(TARIFF_KINDS as readonly string[]).includes(kind)) {
    return [{ field: `${at}.kind`, reason: 'unknown-kind', message: `expected one of ${TARIFF_KINDS.join(', ')}` }];
  }
  const structural = structuralIssues(def as TariffDefinition, at);
  if (structural.length > 0) return structural;
  return semanticIssues(def as TariffDefinition, at, defaultCurrency);
}

/** Every problem of a list of definitions, ids unique among them. */
export function tariffListIssues(defs: readonly unknown[], at: string, defaultCurrency?: string): TariffIssue[] {
  const issues: TariffIssue[] = [];
  const ids = new Set<string>();
  defs.forEach((d, i) => {
    issues.push(...tariffIssues(d, `${at}[${i}]`, defaultCurrency));
    const id = (d as { id?: unknown } | null)?.id;
    if (typeof id === 'string') {
      if (ids.has(id)) issues.push({ field: `${at}[${i}].id`, reason: 'duplicate-id', message: `duplicate tariff id ${JSON.stringify(id)}` });
      ids.add(id);
    }
  });
  return issues;
}

function structuralIssues(def: TariffDefinition, at: string): TariffIssue[] {
  if (def.kind !== 'two-part') return schemaIssues(KIND_SCHEMAS[def.kind], def, at);
  const shell = schemaIssues(TwoPartShell, def, at);
  if (shell.length > 0) return shell;
  return [
    ...schemaIssues(def.basic.by === 'capacity' ? CapacityBasic : DemandBasic, def.basic, `${at}.basic`),
    ...schemaIssues(def.energy.kind === 'flat' ? FlatEnergy : TouEnergy, def.energy, `${at}.energy`),
  ];
}

function schemaIssues(schema: TSchema, value: unknown, at: string): TariffIssue[] {
  const out: TariffIssue[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    // TypeBox reports an unknown key twice (once as a boolean schema); keep the readable one.
    if (e.keyword === 'boolean') continue;
    let field = at + pathOf(e.instancePath);
    const { additionalProperties: extra, requiredProperties: missing } = e.params as { additionalProperties?: unknown; requiredProperties?: unknown };
    let message = e.message;
    if (e.keyword === 'required' && Array.isArray(missing) && missing.length === 1) {
      field += `.${String(missing[0])}`;
      message = 'required';
    }
    if (e.keyword === 'additionalProperties' && Array.isArray(extra)) {
      field += extra.length === 1 ? `.${String(extra[0])}` : '';
      message = extra.length === 1 ? 'unknown key' : `unknown keys: ${extra.map(String).join(', ')}`;
    }
    const isPrice = /(\.price|\.prices\.[^.[]+)$/.test(field) && (e.keyword === 'pattern' || e.keyword === 'type');
    const issue = { field, reason: isPrice ? 'bad-price' : 'schema', message: isPrice ? 'expected a decimal string with at most 6 decimals, e.g. "0.5583"' : message };
    if (seen.has(`${field}\u0000${message}`)) continue;
    seen.add(`${field}\u0000${message}`);
    out.push(issue);
  }
  return out;
}

function semanticIssues(def: TariffDefinition, at: string, defaultCurrency: string | undefined): TariffIssue[] {
  const issues: TariffIssue[] = [];
  const currency = def.currency ?? defaultCurrency;
  if (currency === undefined) issues.push({ field: `${at}.currency`, reason: 'missing-currency', message: 'required (no default currency)' });
  else if (!isCurrency(currency)) issues.push({ field: `${at}.currency`, reason: 'unknown-currency', message: `${JSON.stringify(currency)} is not an ISO 4217 currency code` });
  if (def.kind !== 'flat') {
    try {
      TimeZone.named(def.timeZone);
    } catch {
      issues.push({ field: `${at}.timeZone`, reason: 'unknown-time-zone', message: `unknown time zone ${JSON.stringify(def.timeZone)} (expected an IANA name such as Asia/Shanghai)` });
    }
  }
  switch (def.kind) {
    case 'flat':
      issues.push(...priceIssues(def.price, `${at}.price`));
      break;
    case 'tou':
      issues.push(...touIssues(def, at));
      break;
    case 'tiered':
      def.tiers.forEach((t, i) => {
        const f = `${at}.tiers[${i}]`;
        issues.push(...priceIssues(t.price, `${f}.price`));
        const last = i === def.tiers.length - 1;
        if (last && t.upToKwh !== undefined) issues.push({ field: `${f}.upToKwh`, reason: 'last-tier-bounded', message: 'the last tier is open: remove its upper bound' });
        if (!last && t.upToKwh === undefined) issues.push({ field: `${f}.upToKwh`, reason: 'tier-without-bound', message: 'required on every tier but the last' });
        if (t.upToKwh !== undefined && !isMilli(t.upToKwh)) issues.push({ field: `${f}.upToKwh`, reason: 'bad-bound', message: 'at most 3 decimals (whole Wh)' });
        const prev = def.tiers[i - 1]?.upToKwh;
        if (t.upToKwh !== undefined && prev !== undefined && t.upToKwh <= prev) {
          issues.push({ field: `${f}.upToKwh`, reason: 'tiers-not-ascending', message: `must be above the previous tier's bound (${prev} kWh)` });
        }
      });
      break;
    case 'two-part':
      issues.push(...priceIssues(def.basic.price, `${at}.basic.price`));
      if (def.basic.by === 'capacity' && !isMilli(def.basic.contractedKva)) issues.push({ field: `${at}.basic.contractedKva`, reason: 'bad-bound', message: 'at most 3 decimals (whole VA)' });
      if (def.energy.kind === 'flat') issues.push(...priceIssues(def.energy.price, `${at}.energy.price`));
      else issues.push(...touIssues(def.energy, `${at}.energy`));
      break;
  }
  return issues;
}

function touIssues(def: TouFields, at: string): TariffIssue[] {
  const issues: TariffIssue[] = [];
  for (const [bucket, price] of Object.entries(def.prices)) {
    if (!BUCKET_NAME.test(bucket)) issues.push({ field: `${at}.prices.${bucket}`, reason: 'schema', message: 'a bucket name has letters, digits, _ and - (at most 32)' });
    issues.push(...priceIssues(price, `${at}.prices.${bucket}`));
  }
  const priced = (bucket: string, field: string) => {
    if (!Object.hasOwn(def.prices, bucket)) issues.push({ field, reason: 'bucket-without-price', message: `bucket ${JSON.stringify(bucket)} has no price under prices` });
  };
  if (def.defaultBucket !== undefined) priced(def.defaultBucket, `${at}.defaultBucket`);
  const seasonOf = new Map<number, number>();
  def.seasons.forEach((season, j) => {
    const sa = `${at}.seasons[${j}]`;
    if (season.months === undefined && def.seasons.length > 1) issues.push({ field: `${sa}.months`, reason: 'season-without-months', message: 'required when there is more than one season' });
    (season.months ?? []).forEach((m, k) => {
      const other = seasonOf.get(m);
      if (other !== undefined) issues.push({ field: `${sa}.months[${k}]`, reason: 'month-in-two-seasons', message: `month ${m} is already in seasons[${other}]` });
      else seasonOf.set(m, j);
    });
    // Which period covers each minute of the week: the after-midnight part of an overnight
    // period lies on the next weekday, as the calendar reads it (src/billing/tou.ts).
    const week = new Int16Array(WEEK_MINUTES).fill(-1);
    season.periods.forEach((p, k) => {
      const pa = `${sa}.periods[${k}]`;
      priced(p.bucket, `${pa}.bucket`);
      const from = minutesOf(p.from);
      const to = minutesOf(p.to);
      if (from === DAY_MINUTES) {
        issues.push({ field: `${pa}.from`, reason: 'bad-time', message: '24:00 only ends a period' });
        return;
      }
      let clash: number | undefined;
      for (const d of p.weekdays ?? [0, 1, 2, 3, 4, 5, 6]) {
        const spans: [number, number][] = from < to
          ? [[d * DAY_MINUTES + from, d * DAY_MINUTES + to]]
          : [[d * DAY_MINUTES + from, (d + 1) * DAY_MINUTES], [((d + 1) % 7) * DAY_MINUTES, ((d + 1) % 7) * DAY_MINUTES + to]];
        for (const [s, e] of spans) {
          for (let m = s; m < e; m++) {
            const held = week[m] ?? -1;
            if (held >= 0 && held !== k) clash ??= held;
            else week[m] = k;
          }
        }
      }
      if (clash !== undefined) issues.push({ field: `${pa}.from`, reason: 'overlapping-periods', message: `overlaps ${sa}.periods[${clash}] (${season.periods[clash]?.from ?? ''}–${season.periods[clash]?.to ?? ''})` });
    });
    if (def.defaultBucket === undefined) {
      const gap = week.indexOf(-1);
      if (gap >= 0) {
        const minute = gap % DAY_MINUTES;
        const hhmm = `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
        issues.push({ field: `${sa}.periods`, reason: 'uncovered-time', message: `no period covers ${WEEKDAYS[Math.floor(gap / DAY_MINUTES)] ?? ''} ${hhmm}: add a period or a defaultBucket` });
      }
    }
  });
  const uncovered = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].filter((m) => !seasonOf.has(m));
  if (seasonOf.size > 0 && uncovered.length > 0) issues.push({ field: `${at}.seasons`, reason: 'month-without-season', message: `months ${uncovered.join(', ')} are in no season` });
  return issues;
}

function priceIssues(price: string, field: string): TariffIssue[] {
  try {
    priceMicros(price);
    return [];
  } catch (err) {
    if (err instanceof MoneyFormatError) return [{ field, reason: 'bad-price', message: err.message }];
    throw err;
  }
}

/** A quantity in whole units with at most 3 decimals, i.e. whole thousandths. */
export function isMilli(x: number): boolean {
  return Math.abs(x * 1000 - Math.round(x * 1000)) < 1e-6;
}

export function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** `/seasons/0/periods/1/from` → `.seasons[0].periods[1].from`. */
function pathOf(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
  }
  return out;
}
