/**
 * Cross-field checks of `fees.tariffs`: each tariff against its kind's schema, then the rules
 * a schema cannot express (src/fees/tariffs/check.ts), each naming its key path.
 */
import { tariffListIssues } from '../fees/tariffs/check.js';
import type { FeesConfig } from './fees.js';
import type { ConfigIssue } from './load.js';

export function checkTariffs(fees: Pick<FeesConfig, 'tariffs' | 'currency'>): ConfigIssue[] {
  return tariffListIssues(fees.tariffs, 'fees.tariffs', fees.currency).map((i) => ({ path: i.field, message: i.message }));
}
