import { useEffect, useRef, useState } from 'preact/hooks';
import type { TraceQLErrorJson } from '../api.ts';
import type { TagSource } from '../completion-data.ts';
import type { checkQuery as CheckQuery, EditorQueryError, TraceQLEditorHandle } from '../traceql-codemirror.ts';

/** How long typing pauses before the query is checked in the browser. */
const CHECK_DELAY_MS = 300;

/**
 * Text written into the editor from outside (the form, the URL). A new object replaces the
 * editor's text; the editor's own edits come back through `onChange` only, so that a render that
 * lags behind typing can never write an older text over newer keystrokes.
 */
export interface EditorText {
  readonly text: string;
}

/** Props of `TraceQLEditor`. */
export interface TraceQLEditorProps {
  readonly value: EditorText;
  readonly onChange: (text: string) => void;
  readonly onRun: () => void;
  /** The server's refusal of the last search, for the query text it refused. */
  readonly serverError: { readonly source: string; readonly error: TraceQLErrorJson } | undefined;
  readonly data: TagSource;
}

/**
 * The TraceQL query box: CodeMirror with highlighting and completion (loaded on demand), the
 * error of the query under it with its line and a caret at its position. Errors come from the
 * server when a search is refused, and from core's own checker while typing.
 */
export function TraceQLEditor(props: TraceQLEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<TraceQLEditorHandle | undefined>(undefined);
  const check = useRef<typeof CheckQuery | undefined>(undefined);
  const latest = useRef(props);
  latest.current = props;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [shown, setShown] = useState<EditorQueryError | undefined>(undefined);
  const [ready, setReady] = useState(false);
  const [loadFailed, setLoadFailed] = useState(false);

  const show = (error: EditorQueryError | undefined) => {
    setShown(error);
    editor.current?.markError(error);
  };

  useEffect(() => {
    let cancelled = false;
    void import('../traceql-codemirror.ts').then(
      (cm) => {
        if (cancelled || !host.current) return;
        check.current = cm.checkQuery;
        editor.current = cm.createTraceQLEditor({
          parent: host.current,
          doc: latest.current.value.text,
          label: 'TraceQL query',
          data: {
            names: (scope) => latest.current.data.names(scope),
            values: (field, where) => latest.current.data.values(field, where),
          },
          onRun: () => {
            clearTimeout(timer.current);
            latest.current.onRun();
          },
          onChange: (text, byUser) => {
            clearTimeout(timer.current);
            if (!byUser) {
              setShown(undefined);
              return;
            }
            latest.current.onChange(text);
            timer.current = setTimeout(() => {
              const found = check.current?.(text);
              setShown((current) => (current && found && sameError(current, found) ? current : found));
              editor.current?.markError(found);
            }, CHECK_DELAY_MS);
          },
        });
        setReady(true);
      },
      () => setLoadFailed(true),
    );
    return () => {
      cancelled = true;
      clearTimeout(timer.current);
      editor.current?.destroy();
      editor.current = undefined;
    };
  }, []);

  useEffect(() => {
    editor.current?.setText(props.value.text);
  }, [props.value, ready]);

  const server = props.serverError;
  useEffect(() => {
    if (!server || !editor.current || editor.current.text() !== server.source) return;
    show({ origin: 'server', source: server.source, ...server.error });
  }, [server, ready]);

  return (
    <div class="tql">
      <div class="tql-editor" ref={host} data-testid="traceql-editor">
        {!ready && <div class="tql-loading mono">{props.value.text}</div>}
      </div>
      {loadFailed && (
        <div class="tql-error" role="alert">
          The query editor could not be loaded (a network error?); reload the page to try again.
        </div>
      )}
      {shown && <ErrorAt error={shown} />}
    </div>
  );
}

function sameError(a: EditorQueryError, b: EditorQueryError): boolean {
  return a.source === b.source && a.offset === b.offset && a.end === b.end && a.reason === b.reason;
}

/** The error's line of the query with a caret under the refused part, then `line:col: reason`. */
function ErrorAt(props: { error: EditorQueryError }) {
  const { error } = props;
  const lines = error.source.split('\n');
  const lineText = (lines[error.line - 1] ?? '').replace(/\t/g, ' ');
  const lineStart = lines.slice(0, error.line - 1).reduce((n, l) => n + l.length + 1, 0);
  const endInLine = Math.min(error.end, lineStart + lineText.length);
  const width = Math.max(1, [...error.source.slice(error.offset, endInLine)].length);
  const caret = `${' '.repeat(Math.max(0, error.col - 1))}${'^'.repeat(width)}`;
  return (
    <div
      class="tql-error"
      role="alert"
      data-testid="traceql-error"
      data-origin={error.origin}
      data-kind={error.kind}
      data-offset={error.offset}
      data-end={error.end}
    >
      <pre class="tql-error-at">
        {lineText}
        {'\n'}
        <span class="tql-caret">{caret}</span>
      </pre>
      <div class="tql-error-reason">
        <strong>
          {error.line}:{error.col}
        </strong>{' '}
        {error.reason}
      </div>
    </div>
  );
}
