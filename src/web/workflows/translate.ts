/**
 * bpmn-js's own words in the reader's language. diagram-js asks its `translate` service for
 * every tooltip and menu label it draws (`translate(template, replacements)`, `{name}`
 * placeholders); this module gives it one that knows Simplified Chinese for what the modeler
 * can show here: the tools and entries the restrictions keep (restrictions.ts) and the
 * replace menu's supported elements. A string not listed stays as bpmn-js wrote it.
 */
import type { Lang } from '../i18n.js';

const ZH: Readonly<Record<string, string>> = {
  // Palette tools and the entries kept from bpmn-js's palette.
  'Activate hand tool': '抓手工具（平移画布）',
  'Activate lasso tool': '套索工具（框选）',
  'Activate create/remove space tool': '插入/删除空白工具',
  'Activate global connect tool': '全局连线工具',
  'Create start event': '创建开始事件',
  'Create end event': '创建结束事件',
  'Create gateway': '创建网关',
  // Context pad.
  'Append end event': '追加结束事件',
  'Append gateway': '追加网关',
  'Append message intermediate catch event': '追加消息捕获事件',
  'Append timer intermediate catch event': '追加定时器事件',
  'Change element': '更改元素类型',
  'Delete': '删除',
  'Connect to other element': '连线到其他元素',
  // Replace menu: the elements and event definitions the engine runs here.
  'Start event': '开始事件',
  'End event': '结束事件',
  'User task': '用户任务',
  'Service task': '服务任务',
  'Exclusive gateway': '排他网关',
  'Parallel gateway': '并行网关',
  'Event-based gateway': '事件网关',
  'Message start event': '消息开始事件',
  'Timer start event': '定时器开始事件',
  'Message start event (non-interrupting)': '消息开始事件（非中断）',
  'Timer start event (non-interrupting)': '定时器开始事件（非中断）',
  'Message end event': '消息结束事件',
  'Message intermediate catch event': '消息捕获事件',
  'Timer intermediate catch event': '定时器事件',
  'Message boundary event': '消息边界事件',
  'Timer boundary event': '定时器边界事件',
  'Message boundary event (non-interrupting)': '消息边界事件（非中断）',
  'Timer boundary event (non-interrupting)': '定时器边界事件（非中断）',
  'Toggle non-interrupting': '切换中断/非中断',
  'Sequence flow': '顺序流',
  'Default flow': '默认流',
  'Conditional flow': '条件流',
};

/** diagram-js's translate service for `lang`: the template in that language, placeholders filled. */
export function bpmnTranslator(lang: Lang): (template: string, replacements?: Readonly<Record<string, string>>) => string {
  const words = lang === 'zh' ? ZH : {};
  return (template, replacements = {}) =>
    (words[template] ?? template).replace(/\{([^}]+)\}/g, (whole, key: string) => replacements[key] ?? whole);
}

/** Give to the Modeler or Viewer as one of its `additionalModules`. */
export function translateModule(lang: Lang): { readonly translate: readonly ['value', ReturnType<typeof bpmnTranslator>] } {
  return { translate: ['value', bpmnTranslator(lang)] };
}

/** The words translated, for the test that every label the modeler offers is covered. */
export const TRANSLATED = Object.keys(ZH);
