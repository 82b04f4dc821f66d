/**
 * The exact TraceQL evaluator: one validated query, one trace at a time (spec §1, §5, §6, §8).
 *
 * A query runs as a pipeline of spansets. The first stage sees one spanset holding every span of
 * the trace; each stage maps a list of spansets to a new list; the trace matches when the last
 * stage leaves at least one (non-empty) spanset:
 * ```
 * { status = error } | by(resource.service.name) | count() > 1
 *  [all spans] ─▶ [errors] ─▶ [errors of order, errors of payment] ─▶ [errors of order]
 * ```
 * - `{ … }` keeps the spans of each spanset that satisfy it and drops spansets left empty.
 *   `{A} && {B}` needs both sides non-empty and returns their union, `{A} || {B}` the union;
 *   structural operators return right-hand spans (`evaluate-structural.ts`).
 * - `count()`, `avg`, `min`, `max`, `sum` compare an aggregate per spanset, skipping nil values;
 *   a spanset whose values are all nil is dropped. The spanset is annotated with the aggregate.
 * - `by(x)` splits each spanset by the value of `x` (missing values form one `nil` group), in the
 *   order of each group's earliest span, annotating each with `by(x)`.
 * - `coalesce()` merges every spanset into one (annotations dropped: they described the parts).
 * - `select(…)` keeps the spansets; its fields are shown with the spans (`fieldsOf`).
 * - `(pipeline) op (pipeline)` runs both pipelines on the whole trace and combines their single
 *   spansets; when either side yields several (after `by()`), the query fails as in Tempo.
 *
 * Hints (`with(…)`) are ignored: `most_recent` and sampling are the caller's business. Comparing
 * whole pipelines (`({…} | count()) > ({…} | count())`) is unsupported, as in Tempo.
 */

import type { Span } from '../model/span.ts';
import { durationNanos } from '../model/units.ts';
import type {
  Aggregate,
  AggregateFunction,
  AttributeField,
  FieldExpression,
  IntrinsicField,
  PipelineOperation,
  PipelineStage,
  ScalarExpression,
  ScalarFilter,
  SpansetExpression,
  SpansetPipeline,
  TraceQLNode,
  TraceQLQuery,
} from './ast.ts';
import type { EvalContext, SpanValue } from './evaluate-fields.ts';
import { FieldCompiler } from './evaluate-fields.ts';
import { aggregateLabel, fieldKey, fieldText, groupLabel } from './evaluate-labels.ts';
import { structural, union } from './evaluate-structural.ts';
import { TraceIndex } from './evaluate-trace-index.ts';
import { TraceQLError } from './traceql-error.ts';
import type { TraceQLValue } from './traceql-values.ts';
import { arithmetic, compareNumbers, compareValues, NIL, negate, toFloat, valueKey } from './traceql-values.ts';

/** A spanset annotation: a `by()` group's value or an aggregate's value (spec §6, §8). */
export interface TraceQLSpansetAttribute {
  /** As Tempo names it: `by(resource.service.name)`, `count()`, `avg(duration)`. */
  readonly name: string;
  /** The group value (`nil` for the group of missing values) or the aggregate's value. */
  readonly value: TraceQLValue;
}

/** One matched spanset of a trace. */
export interface TraceQLSpanset {
  /** Every matched span, ordered by start time (input order among equal starts). Never empty. */
  readonly spans: readonly Span[];
  /**
   * `spans.length`. The search API cuts `spans` to its `spss` parameter and reports this as
   * `matched`, the size before the cut (Tempo issue #2307).
   */
  readonly matched: number;
  /** `by()` and aggregate annotations, in the order the stages added them. */
  readonly attributes: readonly TraceQLSpansetAttribute[];
}

/**
 * A field the query read or `select()`ed, with its value on one span: what the search API shows
 * in a span's `attributes` (spec §8).
 */
export interface TraceQLSpanField {
  /**
   * The key Tempo shows: an attribute's name without its scope (`service.name`, `http.method`);
   * an intrinsic's old spelling where it has one (`name`, `status`, `kind`, `duration`,
   * `statusMessage`, `nestedSetLeft`), else its scoped one (`span:id`, `event:name`). The API
   * shows `name` as the span's `name` rather than as an attribute.
   */
  readonly key: string;
  /** The field as written with its scope: `resource.service.name`, `.foo`, `span:status`. */
  readonly field: string;
  /** Never nil: a field the span does not have is left out. */
  readonly value: TraceQLValue;
}

/** How one trace matched a query. */
export interface TraceQLTraceMatch {
  /** The matched spansets, never empty. */
  readonly spansets: readonly TraceQLSpanset[];
  /**
   * The fields the query referenced (in filters, `by()`, aggregates) or `select()`ed, with their
   * values on `span`, in the order they first appear in the query; empty for a span not in this
   * trace. Trace-level intrinsics (`trace:duration`, `trace:rootName`, `trace:rootService`,
   * `trace:id`) are left out: the API reports them per trace. Event and link fields show the
   * value of the span's first event (link) that has one. Computed on demand, because the API
   * shows only a few spans per spanset.
   */
  fieldsOf(span: Span): readonly TraceQLSpanField[];
}

/** A query compiled once, evaluated on many traces. */
export interface TraceQLEvaluator {
  /**
   * Evaluates the query on the spans of one trace: undefined when the trace does not match.
   * Throws a `TraceQLError` (code `unsupported`) when a spanset operator meets several spansets
   * (spec §5). Expects the spans of one trace, as stored; does not repair them.
   */
  evaluate(spans: readonly Span[]): TraceQLTraceMatch | undefined;
}

/** Options for `createTraceQLEvaluator`. */
export interface TraceQLEvaluatorOptions {
  /** The query text, so that errors carry a line and column. Without it they point at 1:1. */
  readonly source?: string;
}

/** A spanset inside the evaluator: span indices in ascending order, never empty. */
interface WorkSet {
  readonly spans: readonly number[];
  readonly attributes: readonly TraceQLSpansetAttribute[];
}

type Run = (ctx: EvalContext, all: WorkSet) => WorkSet[];
type Stage = (input: WorkSet[], ctx: EvalContext) => WorkSet[];
type SpansetFn = (spans: readonly number[], ctx: EvalContext) => readonly number[];
type ScalarFn = (set: WorkSet, ctx: EvalContext, notes: TraceQLSpansetAttribute[]) => TraceQLValue;

const MULTIPLE_SPANSETS =
  'spanset operators are not supported for multiple spansets per trace. consider using coalesce()';
const TRACE_INTRINSICS: ReadonlySet<string> = new Set([
  'trace:duration',
  'trace:rootName',
  'trace:rootService',
  'trace:id',
]);

/**
 * Compiles a validated query (`validateTraceQL` must have accepted it) for evaluation on many
 * traces: regular expressions are compiled once here, and per-trace work is limited to what the
 * query needs. Throws a `TraceQLError` for what validation should have rejected (`parent`,
 * comparisons of whole pipelines, an invalid regular expression).
 */
export function createTraceQLEvaluator(query: TraceQLQuery, options: TraceQLEvaluatorOptions = {}): TraceQLEvaluator {
  const source = options.source ?? '';
  const fields = new FieldCompiler(source);
  const unsupported = (reason: string, node: TraceQLNode) =>
    new TraceQLError('unsupported', reason, source, node.start, node.end);

  const spansetFn = (expr: SpansetExpression): SpansetFn => {
    if (expr.kind === 'spansetFilter') {
      if (expr.expr === undefined) return (spans) => spans;
      const test = fields.filter(expr.expr);
      return (spans, ctx) => {
        const out: number[] = [];
        for (let k = 0; k < spans.length; k++) {
          ctx.span = spans[k];
          if (test(ctx)) out.push(spans[k]);
        }
        return out;
      };
    }
    const lhs = spansetFn(expr.lhs);
    const rhs = spansetFn(expr.rhs);
    const op = expr.op;
    if (op === '&&') {
      return (spans, ctx) => {
        const l = lhs(spans, ctx);
        if (l.length === 0) return l;
        const r = rhs(spans, ctx);
        return r.length === 0 ? r : union(l, r);
      };
    }
    if (op === '||') return (spans, ctx) => union(lhs(spans, ctx), rhs(spans, ctx));
    return (spans, ctx) => {
      const r = rhs(spans, ctx);
      // Every structural operator, negated and union forms included, returns nothing without B.
      if (r.length === 0) return r;
      return structural(op, lhs(spans, ctx), r, ctx.trace.tree);
    };
  };

  const aggregateFn = (node: Aggregate): ScalarFn => {
    const label = aggregateLabel(node.fn, node.arg);
    if (node.fn === 'count') {
      return (set, _ctx, notes) => {
        const value: TraceQLValue = { type: 'int', value: BigInt(set.spans.length) };
        notes.push({ name: label, value });
        return value;
      };
    }
    if (node.arg === undefined) throw unsupported(`${node.fn}() needs an argument`, node);
    const value = fields.value(node.arg);
    const fn = node.fn;
    return (set, ctx, notes) => {
      const result = aggregate(fn, value, set.spans, ctx);
      if (result.type !== 'nil') notes.push({ name: label, value: result });
      return result;
    };
  };

  const scalarFn = (expr: ScalarExpression): ScalarFn => {
    switch (expr.kind) {
      case 'int':
      case 'float':
      case 'duration': {
        const value: TraceQLValue =
          expr.kind === 'duration'
            ? { type: 'duration', value: expr.nanos }
            : ({ type: expr.kind, value: expr.value } as TraceQLValue);
        return () => value;
      }
      case 'aggregate':
        return aggregateFn(expr);
      case 'scalarNegation': {
        const operand = scalarFn(expr.operand);
        return (set, ctx, notes) => negate(operand(set, ctx, notes));
      }
      case 'scalarOperation': {
        const lhs = scalarFn(expr.lhs);
        const rhs = scalarFn(expr.rhs);
        const op = expr.op;
        return (set, ctx, notes) => {
          const l = lhs(set, ctx, notes);
          const r = rhs(set, ctx, notes);
          return l.type === 'nil' || r.type === 'nil' ? NIL : arithmetic(op, l, r);
        };
      }
      case 'scalarPipeline':
        throw unsupported('comparing pipelines is not supported', expr);
    }
  };

  const scalarFilterStage = (filter: ScalarFilter): Stage => {
    const lhs = scalarFn(filter.lhs);
    const rhs = scalarFn(filter.rhs);
    const op = filter.op;
    return (input, ctx) => {
      const out: WorkSet[] = [];
      for (const set of input) {
        const notes: TraceQLSpansetAttribute[] = [];
        const l = lhs(set, ctx, notes);
        const r = rhs(set, ctx, notes);
        if (l.type === 'nil' || r.type === 'nil' || !compareValues(op, l, r)) continue;
        out.push({ spans: set.spans, attributes: annotate(set.attributes, notes) });
      }
      return out;
    };
  };

  const stageFn = (stage: PipelineStage): Stage => {
    switch (stage.kind) {
      case 'spansetFilter':
      case 'spansetOperation': {
        const fn = spansetFn(stage);
        return (input, ctx) => {
          const out: WorkSet[] = [];
          for (const set of input) {
            const spans = fn(set.spans, ctx);
            if (spans.length > 0) out.push(spans === set.spans ? set : { spans, attributes: set.attributes });
          }
          return out;
        };
      }
      case 'scalarFilter':
        return scalarFilterStage(stage);
      case 'groupBy': {
        const value = fields.value(stage.expr);
        const label = groupLabel(stage.expr);
        return (input, ctx) => input.flatMap((set) => groupBy(set, value, label, ctx));
      }
      case 'coalesce':
        return (input) => {
          if (input.length <= 1) return input.length === 0 ? input : [{ spans: input[0].spans, attributes: [] }];
          let spans: readonly number[] = [];
          for (const set of input) spans = union(spans, set.spans);
          return [{ spans, attributes: [] }];
        };
      case 'select':
        return (input) => input;
    }
  };

  const pipelineRun = (pipeline: SpansetPipeline): Run => {
    const stages = pipeline.stages.map(stageFn);
    return (ctx, all) => {
      let sets: WorkSet[] = [all];
      for (const stage of stages) {
        sets = stage(sets, ctx);
        if (sets.length === 0) break;
      }
      return sets;
    };
  };

  const operationRun = (operation: PipelineOperation): Run => {
    const lhs = bodyRun(operation.lhs);
    const rhs = bodyRun(operation.rhs);
    const op = operation.op;
    return (ctx, all) => {
      const l = lhs(ctx, all);
      const r = rhs(ctx, all);
      if (l.length > 1 || r.length > 1) throw unsupported(MULTIPLE_SPANSETS, operation);
      const left = l[0];
      const right = r[0];
      if (op === '&&') {
        if (left === undefined || right === undefined) return [];
        return [{ spans: union(left.spans, right.spans), attributes: annotate(left.attributes, right.attributes) }];
      }
      if (op === '||') {
        if (left === undefined || right === undefined) return left === undefined ? r : l;
        return [{ spans: union(left.spans, right.spans), attributes: annotate(left.attributes, right.attributes) }];
      }
      const spans = structural(op, left?.spans ?? [], right?.spans ?? [], ctx.trace.tree);
      if (spans.length === 0) return [];
      const attributes =
        op[0] === '&' ? annotate(left?.attributes ?? [], right?.attributes ?? []) : (right?.attributes ?? []);
      return [{ spans, attributes }];
    };
  };

  const bodyRun = (body: TraceQLQuery['body'] | PipelineOperation['lhs']): Run => {
    if (body.kind === 'pipeline') return pipelineRun(body);
    if (body.kind === 'pipelineOperation') return operationRun(body);
    // A scalar filter alone (`count() > 10`) is a one-stage pipeline; stageFn rejects pipelines in it.
    return pipelineRun({ kind: 'pipeline', stages: [body], start: body.start, end: body.end });
  };

  const run = bodyRun(query.body);
  const referenced = referencedFields(query);
  const numbered = referenced.some((f) => f.kind === 'intrinsic' && f.name.startsWith('nestedSet'));
  const shown = referenced.map((field) => ({
    key: fieldKey(field),
    field: fieldText(field),
    value: fields.value(field),
  }));

  return {
    evaluate(spans) {
      if (spans.length === 0) return undefined;
      const trace = new TraceIndex(spans, numbered);
      const ctx: EvalContext = { trace, span: 0, event: -1, link: -1, choice: 0 };
      const all: number[] = new Array(spans.length);
      for (let i = 0; i < spans.length; i++) all[i] = i;
      const sets = run(ctx, { spans: all, attributes: [] });
      if (sets.length === 0) return undefined;
      return {
        spansets: sets.map((set) => {
          const ordered = byStart(set.spans, trace);
          return { spans: Array.from(ordered, (i) => spans[i]), matched: ordered.length, attributes: set.attributes };
        }),
        fieldsOf: fieldsOfTrace(trace, shown),
      };
    },
  };
}

/**
 * Compiles and evaluates in one call: for one trace or a test. A search over many traces should
 * create the evaluator once (`createTraceQLEvaluator`).
 */
export function evaluateTraceQL(
  query: TraceQLQuery,
  spans: readonly Span[],
  options?: TraceQLEvaluatorOptions,
): TraceQLTraceMatch | undefined {
  return createTraceQLEvaluator(query, options).evaluate(spans);
}

// ------------------------------------------------------------------------------------------------

/** `base` with `notes` added; a note replaces an earlier annotation of the same name. */
function annotate(
  base: readonly TraceQLSpansetAttribute[],
  notes: readonly TraceQLSpansetAttribute[],
): readonly TraceQLSpansetAttribute[] {
  if (notes.length === 0) return base;
  const out = base.filter((a) => !notes.some((n) => n.name === a.name));
  for (const note of notes) if (!out.some((a) => a.name === note.name)) out.push(note);
  return out;
}

/**
 * An aggregate over the spans' values (spec §6); nil and non-numeric values are skipped, and nil
 * comes back when none is left. Types: `sum` of ints is an int (int64, wrapping), of durations a
 * duration, else a float; `avg` of durations is a duration (truncated to the nanosecond), else a
 * float; `min` and `max` keep the type of the value they pick.
 */
function aggregate(fn: AggregateFunction, value: SpanValue, spans: readonly number[], ctx: EvalContext): TraceQLValue {
  let count = 0;
  let allInt = true;
  let allDuration = true;
  let exact = 0n;
  let float = 0;
  let best: TraceQLValue = NIL;
  for (let k = 0; k < spans.length; k++) {
    ctx.span = spans[k];
    const v = value(ctx);
    if (v.type !== 'int' && v.type !== 'float' && v.type !== 'duration') continue;
    count++;
    if (fn === 'min' || fn === 'max') {
      if (best.type === 'nil') best = v;
      else {
        const order = compareNumbers(v.value, (best as { readonly value: bigint | number }).value);
        if (fn === 'min' ? order < 0 : order > 0) best = v;
      }
      continue;
    }
    allInt &&= v.type === 'int';
    allDuration &&= v.type === 'duration';
    if (v.type !== 'float') exact += v.value;
    float += toFloat(v) as number;
  }
  if (count === 0) return NIL;
  switch (fn) {
    case 'min':
    case 'max':
      return best;
    case 'sum':
      if (allInt) return { type: 'int', value: BigInt.asIntN(64, exact) };
      if (allDuration) return { type: 'duration', value: durationNanos(exact) };
      return { type: 'float', value: float };
    default:
      if (allDuration) return { type: 'duration', value: durationNanos(exact / BigInt(count)) };
      return { type: 'float', value: (allInt ? Number(exact) : float) / count };
  }
}

/** Splits one spanset by the value of the `by()` expression, groups in order of earliest span. */
function groupBy(set: WorkSet, value: SpanValue, label: string, ctx: EvalContext): WorkSet[] {
  const all = ctx.trace.spans;
  type Group = { value: TraceQLValue; spans: number[]; first: number };
  const groups: Group[] = [];
  // Per type, groups keyed by the raw value (strings, bigints and numbers are map keys by value),
  // so that grouping builds no key strings; arrays are keyed by their text.
  const byType = new Map<string, Map<unknown, Group>>();
  for (const i of set.spans) {
    ctx.span = i;
    const v = value(ctx);
    let keyed = byType.get(v.type);
    if (keyed === undefined) {
      keyed = new Map();
      byType.set(v.type, keyed);
    }
    const key = v.type === 'array' ? valueKey(v) : v.type === 'nil' ? undefined : v.value;
    const group = keyed.get(key);
    if (group === undefined) {
      const created = { value: v, spans: [i], first: i };
      keyed.set(key, created);
      groups.push(created);
    } else {
      group.spans.push(i);
      // Indices ascend, so an equal start keeps the earlier span.
      if (all[i].startTimeUnixNano < all[group.first].startTimeUnixNano) group.first = i;
    }
  }
  const earliest = (g: { first: number }) => all[g.first].startTimeUnixNano;
  return groups
    .sort((a, b) => (earliest(a) < earliest(b) ? -1 : earliest(a) > earliest(b) ? 1 : a.first - b.first))
    .map((group) => ({
      spans: group.spans,
      attributes: annotate(set.attributes, [{ name: label, value: group.value }]),
    }));
}

/** Span indices (ascending) reordered by start time, input order among equal starts. */
function byStart(spans: readonly number[], trace: TraceIndex): ArrayLike<number> {
  return spans.length <= 1 ? spans : trace.sortByStart(spans);
}

interface ShownField {
  readonly key: string;
  readonly field: string;
  readonly value: SpanValue;
}

function fieldsOfTrace(trace: TraceIndex, shown: readonly ShownField[]): (span: Span) => readonly TraceQLSpanField[] {
  let indexOf: Map<Span, number> | undefined;
  return (span) => {
    if (shown.length === 0) return [];
    indexOf ??= new Map(trace.spans.map((s, i) => [s, i]));
    const i = indexOf.get(span);
    if (i === undefined) return [];
    const ctx: EvalContext = { trace, span: i, event: -1, link: -1, choice: 0 };
    const out: TraceQLSpanField[] = [];
    for (const field of shown) {
      const value = field.value(ctx);
      if (value.type !== 'nil') out.push({ key: field.key, field: field.field, value });
    }
    return out;
  };
}

/** Every attribute and span-level intrinsic the query reads or selects, first appearance first. */
function referencedFields(query: TraceQLQuery): (AttributeField | IntrinsicField)[] {
  const found = new Map<string, AttributeField | IntrinsicField>();
  const add = (field: AttributeField | IntrinsicField) => {
    if (field.kind === 'intrinsic' && (field.name === 'parent' || TRACE_INTRINSICS.has(field.name))) return;
    if (field.kind === 'attribute' && field.parent) return;
    const text = fieldText(field);
    if (!found.has(text)) found.set(text, field);
  };
  const field = (expr: FieldExpression | undefined): void => {
    if (expr === undefined) return;
    if (expr.kind === 'attribute' || expr.kind === 'intrinsic') add(expr);
    else if (expr.kind === 'binary') {
      field(expr.lhs);
      field(expr.rhs);
    } else if (expr.kind === 'unary') field(expr.operand);
  };
  const scalar = (expr: ScalarExpression): void => {
    if (expr.kind === 'aggregate') field(expr.arg);
    else if (expr.kind === 'scalarOperation') {
      scalar(expr.lhs);
      scalar(expr.rhs);
    } else if (expr.kind === 'scalarNegation') scalar(expr.operand);
    else if (expr.kind === 'scalarPipeline') {
      pipeline(expr.pipeline);
      scalar(expr.aggregate);
    }
  };
  const spanset = (expr: SpansetExpression): void => {
    if (expr.kind === 'spansetFilter') field(expr.expr);
    else {
      spanset(expr.lhs);
      spanset(expr.rhs);
    }
  };
  const stage = (s: PipelineStage): void => {
    switch (s.kind) {
      case 'spansetFilter':
      case 'spansetOperation':
        spanset(s);
        return;
      case 'scalarFilter':
        scalar(s.lhs);
        scalar(s.rhs);
        return;
      case 'groupBy':
        field(s.expr);
        return;
      case 'select':
        for (const f of s.fields) add(f);
        return;
      case 'coalesce':
        return;
    }
  };
  const pipeline = (p: SpansetPipeline): void => {
    for (const s of p.stages) stage(s);
  };
  const body = (b: TraceQLQuery['body'] | PipelineOperation['lhs']): void => {
    if (b.kind === 'pipeline') pipeline(b);
    else if (b.kind === 'pipelineOperation') {
      body(b.lhs);
      body(b.rhs);
    } else {
      scalar(b.lhs);
      scalar(b.rhs);
    }
  };
  body(query.body);
  return [...found.values()];
}
