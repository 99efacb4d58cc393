/**
 * The wire shapes of the alarm routes: an alarm as the API shows it, a page of them and the
 * stream's change event. The dashboard derives its types from these (src/web/types.ts).
 * Types only from here on the browser side: this module must not import Node code.
 */
import Type from 'typebox';
import type { Explanation } from '../domain/explanation.js';
import { Nullable } from './schemas.js';

/** The explanation as data (src/rules/explanation.ts checks its shape when it is stored). */
const ExplanationData = (description?: string) => Nullable(Type.Unsafe<Explanation>(description === undefined ? {} : { description }));

export const AlarmOut = Type.Object({
  id: Type.String(),
  ruleId: Type.String(),
  detector: Type.String(),
  subject: Type.Object({
    kind: Type.Union([Type.Literal('meter'), Type.Literal('area'), Type.Literal('terminal'), Type.Literal('station')], { description: '`station`: the station\'s own infrastructure (id `mqtt-broker`, `reading-path`)' }),
    id: Type.String(),
  }),
  areaId: Nullable(Type.String()),
  severity: Type.String(),
  state: Type.String(),
  raisedAt: Type.String(),
  since: Type.String(),
  acknowledgedAt: Nullable(Type.String()),
  acknowledgedBy: Nullable(Type.String()),
  clearedAt: Nullable(Type.String()),
  explanation: Type.String(),
  clearExplanation: Nullable(Type.String()),
  explanationData: ExplanationData('The explanation as data: template parts with typed arguments (rendered per Accept-Language in `explanation`).'),
  clearExplanationData: ExplanationData(),
  value: Type.Number(),
  comments: Type.Array(Type.Object({ at: Type.String(), by: Type.String(), text: Type.String() })),
});

export const AlarmPageOut = Type.Object({ items: Type.Array(AlarmOut), next: Nullable(Type.String()) });

/** The data of the stream's `event: alarm`: the change and the alarm after it. */
export const AlarmEventOut = Type.Object({
  change: Type.String({ description: 'raised | updated | acknowledged | commented | cleared' }),
  alarm: AlarmOut,
});
