/**
 * bpmn-moddle 10 ships element types (`bpmn-moddle/types`) but none for its entry point: the
 * little of it the deploy check calls.
 */
declare module 'bpmn-moddle' {
  export interface ParseWarning {
    readonly message: string;
    /** Set for an unresolved reference: the element holding it. */
    readonly element?: { readonly id?: string };
  }
  export interface ParseResult {
    readonly rootElement: unknown;
    readonly warnings: readonly ParseWarning[];
  }
  export class BpmnModdle {
    constructor(packages?: Record<string, unknown>);
    fromXML(xml: string): Promise<ParseResult>;
  }
}
