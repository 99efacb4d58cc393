/**
 * An instance's process drawn by bpmn-js's NavigatedViewer (pan and zoom, no editing), with the
 * steps it waits in marked, and the steps it finished marked differently. Loaded on demand
 * by the instance page, with bpmn-js and its style sheets.
 */
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import './bpmn.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { gridheadModdle } from '../../workflows/moddle.js';
import { errorText } from '../api.js';
import { type Canvas, type ElementRegistry, type ServiceLocator, fitDiagram } from './bpmnServices.js';

export const WAITING_MARKER = 'gh-waiting';
export const DONE_MARKER = 'gh-done';

export function InstanceDiagram({ xml, waiting, done }: { xml: string; waiting: readonly string[]; done: readonly string[] }) {
  const container = useRef<HTMLDivElement>(null);
  const [viewer, setViewer] = useState<NavigatedViewer | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    if (container.current === null) return undefined;
    const v = new NavigatedViewer({ container: container.current, moddleExtensions: { gh: gridheadModdle } });
    v.importXML(xml).then(() => { fitDiagram(v); setViewer(v); }, (err: unknown) => { setError(errorText(err)); });
    return () => { v.destroy(); };
  }, [xml]);

  // Markers follow the instance as the page polls it, without drawing the diagram again.
  useEffect(() => {
    if (viewer === undefined) return;
    const services: ServiceLocator = viewer;
    const canvas = services.get<Canvas>('canvas');
    const registry = services.get<ElementRegistry>('elementRegistry');
    for (const el of registry.getAll()) {
      canvas.removeMarker(el, WAITING_MARKER);
      canvas.removeMarker(el, DONE_MARKER);
    }
    for (const id of done) if (registry.get(id) !== undefined && !waiting.includes(id)) canvas.addMarker(id, DONE_MARKER);
    for (const id of waiting) if (registry.get(id) !== undefined) canvas.addMarker(id, WAITING_MARKER);
  }, [viewer, waiting.join(','), done.join(',')]);

  return (
    <>
      <div class="wf-viewer" ref={container} data-testid="wf-instance-diagram" data-ready={viewer !== undefined} data-waiting={waiting.join(' ')} data-done={done.join(' ')} />
      {error !== undefined && <p class="error">{error}</p>}
    </>
  );
}
