/** Data hooks: one-shot loads, polling, and server-sent event streams, each cleaned up on unmount. */
import { useEffect, useRef, useState } from 'preact/hooks';

export type Loaded<T> = { status: 'loading' } | { status: 'ok'; value: T } | { status: 'error'; error: unknown };

/** Runs `load` when `deps` change (and every `everyMs` when given); the latest answer wins. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], everyMs?: number): [Loaded<T>, () => void] {
  const [state, setState] = useState<Loaded<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      loadRef.current().then(
        (value) => { if (live) setState({ status: 'ok', value }); },
        (error: unknown) => { if (live) setState({ status: 'error', error }); },
      ).finally(() => {
        if (live && everyMs !== undefined) timer = setTimeout(run, everyMs);
      });
    };
    run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick, everyMs]);
  return [state, () => { setTick((n) => n + 1); }];
}

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

/**
 * An EventSource on `url` (the session cookie authenticates it) calling `handlers[event]`
 * with the parsed data. The browser reconnects by itself after a drop; a stream the server
 * refuses outright (404, 401) ends as `unavailable`, and the caller falls back to polling.
 */
export function useEventStream(url: string | null, handlers: Record<string, (data: unknown) => void>): StreamStatus {
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;
  useEffect(() => {
    if (url === null) return undefined;
    setStatus('connecting');
    const source = new EventSource(url);
    source.onopen = () => { setStatus('live'); };
    source.onerror = () => { setStatus(source.readyState === EventSource.CLOSED ? 'unavailable' : 'reconnecting'); };
    const names = Object.keys(handlersRef.current);
    const listener = (e: MessageEvent<string>) => {
      let data: unknown;
      try {
        data = JSON.parse(e.data) as unknown;
      } catch {
        return;
      }
      handlersRef.current[e.type]?.(data);
    };
    for (const name of names) source.addEventListener(name, listener);
    return () => { source.close(); };
  }, [url]);
  return status;
}
