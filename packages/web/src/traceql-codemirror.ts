/**
 * The TraceQL editor's CodeMirror 6 setup: highlighting from Grafana's Lezer grammar
 * (`@grafana/lezer-traceql`, used for colours only: queries are parsed and checked by core, and
 * by the server), error marks at a query error's position, and completion of scopes, intrinsics,
 * operators, attribute names and values (names and values from the tags API).
 *
 * This module is loaded on demand by `TraceQLEditor`, so that pages without an editor do not
 * download CodeMirror.
 */

import { compileTraceQL, TraceQLError } from '@ariadne/core';
import {
  autocompletion,
  type Completion,
  type CompletionContext,
  type CompletionResult,
  closeCompletion,
  completionStatus,
  snippetCompletion,
} from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { HighlightStyle, LRLanguage, syntaxHighlighting } from '@codemirror/language';
import { EditorState, Prec, type Range, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView, keymap, placeholder, WidgetType } from '@codemirror/view';
import { parser } from '@grafana/lezer-traceql';
import { styleTags, tags as t } from '@lezer/highlight';
import type { TagScope, TagValueJson } from './api.ts';
import type { TagSource } from './completion-data.ts';
import { type CompletionScope, type CompletionSpot, completionSpotAt, INTRINSIC_FIELDS } from './traceql-complete.ts';
import { traceQLAttributeName, traceQLString } from './traceql-form.ts';

/** A query error to mark: where (UTF-16 offsets into the text) and why, and who found it. */
export interface EditorQueryError {
  readonly origin: 'server' | 'local';
  /** The query text the error refers to. */
  readonly source: string;
  readonly kind: string;
  readonly offset: number;
  readonly end: number;
  readonly line: number;
  readonly col: number;
  readonly reason: string;
}

/** What the page gives the editor. */
export interface TraceQLEditorOptions {
  readonly parent: HTMLElement;
  readonly doc: string;
  /** Called after every change of the text; `byUser` is false for `setText`. */
  readonly onChange: (text: string, byUser: boolean) => void;
  /** Enter (with no completion open), Shift-Enter or Ctrl/Cmd-Enter. */
  readonly onRun: () => void;
  /** Attribute names and values (the tags API, in the page's time window). */
  readonly data: TagSource;
  readonly label: string;
}

/** The mounted editor. */
export interface TraceQLEditorHandle {
  text(): string;
  /** Replaces the text (the form wrote a query, the URL changed); clears the error mark. */
  setText(text: string): void;
  /** Marks an error's range, or clears the mark. */
  markError(error: EditorQueryError | undefined): void;
  focus(): void;
  destroy(): void;
}

/** Checks a query as the server will (core's parser and validator); undefined when it is fine. */
export function checkQuery(text: string): EditorQueryError | undefined {
  try {
    compileTraceQL(text);
    return undefined;
  } catch (error) {
    if (!(error instanceof TraceQLError)) throw error;
    const { code: kind, offset, end, line, col, reason } = error;
    return { origin: 'local', source: text, kind, offset, end, line, col, reason };
  }
}

// ------------------------------------------------------------------------------------------------
// Highlighting

const traceQLLanguage = LRLanguage.define({
  name: 'traceql',
  parser: parser.configure({
    props: [
      styleTags({
        String: t.string,
        'Integer Float Duration': t.number,
        Static: t.atom,
        IntrinsicField: t.special(t.variableName),
        'Span Resource Event Link Instrumentation Parent': t.namespace,
        'AttributeField Identifier': t.propertyName,
        'ComparisonOp FieldOp ScalarOp': t.compareOperator,
        'And Or': t.logicOperator,
        'Gt Lt Desc Anc Pipe ExperimentalOp UnionStructuralOp': t.operator,
        'AggregateExpression MetricsOperationBasicType MetricsOverTimeType MetricsAggregatorFunctionType': t.function(
          t.variableName,
        ),
        'With HintIdentifier': t.keyword,
        'LineComment BlockComment': t.comment,
      }),
    ],
  }),
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});

/** Colours come from styles.css (`.tql-*`), which has light and dark values. */
const traceQLHighlight = HighlightStyle.define([
  { tag: t.string, class: 'tql-string' },
  { tag: t.number, class: 'tql-number' },
  { tag: t.atom, class: 'tql-atom' },
  { tag: t.special(t.variableName), class: 'tql-intrinsic' },
  { tag: t.namespace, class: 'tql-scope' },
  { tag: t.propertyName, class: 'tql-attr' },
  { tag: [t.compareOperator, t.logicOperator, t.operator], class: 'tql-op' },
  { tag: t.function(t.variableName), class: 'tql-fn' },
  { tag: t.keyword, class: 'tql-keyword' },
  { tag: t.comment, class: 'tql-comment' },
]);

// ------------------------------------------------------------------------------------------------
// Error marks

const setErrorMark = StateEffect.define<{ from: number; to: number } | null>();

/** A caret for an error at the very end of the text, where a mark would cover nothing. */
class EndOfTextError extends WidgetType {
  override eq(): boolean {
    return true;
  }
  toDOM(): HTMLElement {
    const span = document.createElement('span');
    span.className = 'tql-error-mark tql-error-eof';
    span.setAttribute('data-testid', 'traceql-error-mark');
    return span;
  }
}

const errorMarkField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = marks.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(setErrorMark)) continue;
      if (e.value === null) {
        next = Decoration.none;
        continue;
      }
      const length = tr.state.doc.length;
      const from = Math.min(e.value.from, length);
      const to = Math.min(Math.max(e.value.to, from), length);
      const ranges: Range<Decoration>[] = [];
      if (to > from) {
        ranges.push(
          Decoration.mark({ class: 'tql-error-mark', attributes: { 'data-testid': 'traceql-error-mark' } }).range(
            from,
            to,
          ),
        );
      } else if (from < length) {
        ranges.push(
          Decoration.mark({ class: 'tql-error-mark', attributes: { 'data-testid': 'traceql-error-mark' } }).range(
            from,
            from + 1,
          ),
        );
      } else {
        ranges.push(Decoration.widget({ widget: new EndOfTextError(), side: 1 }).range(from));
      }
      next = Decoration.set(ranges);
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// ------------------------------------------------------------------------------------------------
// Completion

const SCOPES: readonly { label: string; detail: string }[] = [
  { label: 'resource.', detail: 'resource attribute' },
  { label: 'span.', detail: 'span attribute' },
  { label: '.', detail: 'span or resource attribute' },
  { label: 'event.', detail: 'event attribute' },
  { label: 'link.', detail: 'link attribute' },
  { label: 'instrumentation.', detail: 'scope attribute' },
];

const OPERATORS: readonly { label: string; detail: string }[] = [
  { label: '=', detail: 'equals' },
  { label: '!=', detail: 'not equal (and present)' },
  { label: '=~', detail: 'matches regex (RE2, whole value)' },
  { label: '!~', detail: 'does not match regex' },
  { label: '>', detail: 'greater than' },
  { label: '>=', detail: 'greater or equal' },
  { label: '<', detail: 'less than' },
  { label: '<=', detail: 'less or equal' },
];

const STATUS_VALUES = ['error', 'ok', 'unset'];
const KIND_VALUES = ['server', 'client', 'internal', 'producer', 'consumer', 'unspecified'];

function fieldOptions(): Completion[] {
  const scopes = SCOPES.map((s, i) => ({ label: s.label, detail: s.detail, type: 'namespace', boost: 20 - i }));
  const intrinsics = Object.entries(INTRINSIC_FIELDS)
    .filter(([name]) => !name.startsWith('nestedSet'))
    .map(([name, type]) => ({ label: name, detail: type, type: 'keyword', boost: name.includes(':') ? 0 : 1 }));
  return [...scopes, ...intrinsics];
}

function scopesFor(scope: CompletionScope): readonly TagScope[] {
  if (scope === 'span' || scope === 'resource') return [scope];
  return scope === 'none' ? ['span', 'resource'] : [];
}

/** The type of a field's values: intrinsic types, or undefined for attributes (any type). */
function fieldType(field: string): string | undefined {
  return INTRINSIC_FIELDS[field];
}

function valueOption(v: TagValueJson): Completion {
  const text = v.type === 'string' ? traceQLString(v.value) : v.value;
  return { label: text, detail: v.type, type: v.type === 'string' ? 'text' : 'constant' };
}

async function optionsFor(spot: CompletionSpot, data: TagSource, explicit: boolean): Promise<Completion[]> {
  switch (spot.kind) {
    case 'spanset':
      return explicit
        ? // biome-ignore lint/suspicious/noTemplateCurlyInString: a CodeMirror snippet, `${}` is where the cursor goes
          [snippetCompletion('{ ${} }', { label: '{ }', detail: 'spanset filter', type: 'keyword' })]
        : [];
    case 'afterSpanset':
      if (!explicit) return [];
      return ['&&', '||', '>>', '>', '<<', '<', '~', '|'].map((op) => ({
        label: op,
        apply: `${op} `,
        type: 'keyword',
      }));
    case 'pipeline':
      return ['count()', 'avg(', 'min(', 'max(', 'sum(', 'by(', 'select(', 'coalesce()'].map((f) =>
        f.endsWith('(')
          ? snippetCompletion(`${f}\${})`, { label: `${f})`, type: 'function' })
          : { label: f, type: 'function' },
      );
    case 'field':
      return fieldOptions();
    case 'attribute': {
      const lists = await Promise.all(scopesFor(spot.scope).map((s) => data.names(s)));
      const names = [...new Set(lists.flat())].sort();
      return names.map((name) => ({ label: name, apply: traceQLAttributeName(name), type: 'property' }));
    }
    case 'operator':
      return OPERATORS.map((op, i) => ({
        label: op.label,
        apply: `${op.label} `,
        detail: op.detail,
        type: 'operator',
        boost: OPERATORS.length - i,
      }));
    case 'value': {
      const type = fieldType(spot.field);
      if (type === 'status') return STATUS_VALUES.map((v) => ({ label: v, type: 'enum', detail: 'status' }));
      if (type === 'kind') return KIND_VALUES.map((v) => ({ label: v, type: 'enum', detail: 'kind' }));
      if (type === 'duration' || type === 'int') return [];
      const values = (await data.values(spot.field, spot.where)).map(valueOption);
      return type === undefined
        ? [...values, { label: 'nil', detail: 'not set', type: 'keyword', boost: -10 }]
        : values;
    }
    case 'connective':
      if (!explicit) return [];
      return [
        { label: '&&', apply: '&& ', detail: 'and', type: 'keyword' },
        { label: '||', apply: '|| ', detail: 'or', type: 'keyword' },
        { label: '}', detail: 'end of spanset', type: 'keyword' },
      ];
  }
}

function completionSource(data: TagSource) {
  return async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const spot = completionSpotAt(ctx.state.doc.toString(), ctx.pos);
    if (spot === undefined) return null;
    let options: Completion[];
    try {
      options = await optionsFor(spot, data, ctx.explicit);
    } catch {
      return null; // the tags API failing must not break typing
    }
    if (options.length === 0 || ctx.aborted) return null;
    return { from: spot.from, options, validFor: VALID_FOR[spot.kind] };
  };
}

/** While the typed text still fits these, the list is filtered instead of asked for again. */
const VALID_FOR: Readonly<Record<CompletionSpot['kind'], RegExp>> = {
  spanset: /^\{?$/,
  afterSpanset: /^[&|<>!~]*$/,
  pipeline: /^\w*\(?$/,
  // No dot: `resource.` must ask again, for the attribute names.
  field: /^[\p{L}\p{Nd}_:]*$/u,
  attribute: /^[^\s{}()=~!<>&|^,]*$/u,
  operator: /^[=!~<>]*$/,
  value: /^(?:"(?:[^"\\]|\\.)*"?|[\w.-]*)$/,
  connective: /^[&|}]*$/,
};

// ------------------------------------------------------------------------------------------------
// The editor

/** Mounts a TraceQL editor into `options.parent`. */
export function createTraceQLEditor(options: TraceQLEditorOptions): TraceQLEditorHandle {
  const run = (): boolean => {
    options.onRun();
    return true;
  };
  const programmatic = StateEffect.define<null>();
  const view = new EditorView({
    parent: options.parent,
    state: EditorState.create({
      doc: options.doc,
      extensions: [
        Prec.highest(
          keymap.of([
            { key: 'Mod-Enter', run },
            { key: 'Shift-Enter', run },
          ]),
        ),
        // Enter accepts a completion while the list is open (the completion keymap comes first),
        // and otherwise runs the query: it never inserts a line break (Alt-Enter does).
        keymap.of([
          {
            key: 'Enter',
            run: (v) => (completionStatus(v.state) === 'active' ? true : run()),
          },
          { key: 'Alt-Enter', run: insertNewlineAndIndent },
        ]),
        history(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        traceQLLanguage,
        syntaxHighlighting(traceQLHighlight),
        errorMarkField,
        autocompletion({
          override: [completionSource(options.data)],
          activateOnCompletion: (c) => c.label.endsWith('.') || c.type === 'operator',
          // An open list takes Enter at once: Enter never falls through to running the query
          // while suggestions are shown.
          interactionDelay: 0,
          icons: false,
        }),
        placeholder('{ resource.service.name = "frontend" && status = error }'),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({
          'aria-label': options.label,
          'data-testid': 'traceql-input',
          spellcheck: 'false',
          autocapitalize: 'off',
          autocorrect: 'off',
        }),
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return;
          const byUser = !update.transactions.some((tr) => tr.effects.some((e) => e.is(programmatic)));
          options.onChange(update.state.doc.toString(), byUser);
        }),
      ],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    setText(text) {
      if (text === view.state.doc.toString()) return;
      closeCompletion(view);
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        selection: { anchor: text.length },
        effects: [programmatic.of(null), setErrorMark.of(null)],
      });
    },
    markError(error) {
      view.dispatch({ effects: setErrorMark.of(error ? { from: error.offset, to: error.end } : null) });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
