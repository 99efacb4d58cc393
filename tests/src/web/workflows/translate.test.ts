import * as ReplaceOptions from 'bpmn-js/lib/features/replace/ReplaceOptions.js';
import { describe, expect, it } from 'vitest';
import { filterReplace } from '../../../../src/web/workflows/restrictions.js';
import { bpmnTranslator, TRANSLATED } from '../../../../src/web/workflows/translate.js';

/** The titles bpmn-js gives the palette tools and context-pad entries the restrictions keep (bpmn-js PaletteProvider, ContextPadProvider). */
const KEPT_TITLES = [
  'Activate hand tool', 'Activate lasso tool', 'Activate create/remove space tool', 'Activate global connect tool',
  'Create start event', 'Create end event', 'Create gateway',
  'Append end event', 'Append gateway', 'Append message intermediate catch event', 'Append timer intermediate catch event',
  'Change element', 'Delete', 'Connect to other element', 'Toggle non-interrupting',
];

describe("bpmn-js's words in the reader's language", () => {
  it('has Chinese for every tool, context-pad entry and header toggle the modeler keeps', () => {
    const zh = bpmnTranslator('zh');
    for (const title of KEPT_TITLES) expect({ title, zh: zh(title) }).not.toEqual({ title, zh: title });
  });

  it('has Chinese for every replace-menu option the restrictions leave', () => {
    const options = Object.values(ReplaceOptions).filter(Array.isArray).flat() as { actionName: string; label?: unknown }[];
    const kept = new Set(Object.keys(filterReplace(Object.fromEntries(options.map((o) => [o.actionName, {}])))));
    const labels = [...new Set(options.filter((o) => kept.has(o.actionName) && typeof o.label === 'string').map((o) => o.label as string))];
    expect(labels.length).toBeGreaterThan(5);
    expect(labels.filter((l) => !TRANSLATED.includes(l))).toEqual([]);
  });

  it('fills placeholders, and leaves English and unknown words as bpmn-js wrote them', () => {
    expect(bpmnTranslator('zh')('Delete')).toBe('删除');
    expect(bpmnTranslator('en')('Delete')).toBe('Delete');
    expect(bpmnTranslator('zh')('Element {id} has {n} parts', { id: 'task_1', n: '3' })).toBe('Element task_1 has 3 parts');
    expect(bpmnTranslator('zh')('No such {thing}')).toBe('No such {thing}');
  });
});
