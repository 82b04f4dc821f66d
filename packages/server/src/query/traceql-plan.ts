import type {
  FieldExpression,
  Literal,
  PipelineOperation,
  PipelineStage,
  SpansetExpression,
  SpansetOperator,
  SpansetPipeline,
  TraceQLQuery,
} from '@ariadne/core';
import type { SpanCompareOp, SpanField, SpanPredicate, SpanRequirement, SpanValue } from './span-store.ts';

/**
 * What a store must find for a TraceQL query: requirements every matching trace meets (so that
 * the store reads only traces that can match), derived from the query's structure:
 *
 * ```
 * { A }                → a span meeting A
 * { A } && { B }       → a span meeting A, and a span meeting B
 * { A } || { B }       → a span meeting A or B
 * { A } >> { B }       → a span meeting A, and one meeting B (the same for > < << ~ and & forms)
 * { A } !>> { B }      → a span meeting B (the A side may be empty)
 * { A } | count() > 2  → three spans meeting A
 * { A } | { B }        → a span meeting A and B
 * ```
 *
 * Always a necessary condition, never a sufficient one: whatever cannot be expressed as a span
 * predicate (regexes, arithmetic, `nil`, trace-level intrinsics, events and links) is left out,
 * and the engine evaluates each candidate trace exactly.
 */
export function planTraceQL(query: TraceQLQuery): SpanRequirement[] {
  const body = query.body;
  if (body.kind === 'scalarFilter') return [];
  return bodyRequirements(body);
}

function bodyRequirements(body: SpansetPipeline | PipelineOperation): SpanRequirement[] {
  if (body.kind === 'pipelineOperation')
    return combine(body.op, bodyRequirements(body.lhs), bodyRequirements(body.rhs));
  return pipelineRequirements(body.stages);
}

function pipelineRequirements(stages: readonly PipelineStage[]): SpanRequirement[] {
  const [first, ...rest] = stages;
  let reqs: SpanRequirement[];
  if (first.kind === 'spansetFilter' || first.kind === 'spansetOperation') reqs = spansetRequirements(first);
  else if (first.kind === 'scalarFilter') reqs = [{ predicate: { kind: 'all' }, minSpans: 1 }];
  else return [];
  // One requirement: every span that later stages keep met it, so they narrow it further.
  let single = reqs.length === 1 ? reqs[0] : undefined;
  let grouped = false;
  for (const stage of rest) {
    if (single === undefined) break;
    if (stage.kind === 'spansetFilter') {
      single = { predicate: and([single.predicate, fieldPredicate(stage.expr)]), minSpans: 1 };
    } else if (stage.kind === 'groupBy') {
      grouped = true;
    } else if (stage.kind === 'scalarFilter' && !grouped && !stagesFilteredAfter(rest, stage)) {
      const min = minCount(stage);
      if (min !== undefined && min > single.minSpans) single = { ...single, minSpans: min };
    } else if (stage.kind === 'spansetOperation') {
      break;
    }
  }
  return single === undefined ? reqs : [single];
}

/** Whether a spanset filter stage comes after `stage` (a count then is of fewer spans). */
function stagesFilteredAfter(stages: readonly PipelineStage[], stage: PipelineStage): boolean {
  return stages.slice(stages.indexOf(stage) + 1).some((s) => s.kind === 'spansetFilter');
}

/** The least number of spans a `count() > n` stage (count on the left, a number on the right) needs. */
function minCount(stage: Extract<PipelineStage, { kind: 'scalarFilter' }>): number | undefined {
  const { lhs, rhs, op } = stage;
  if (lhs.kind !== 'aggregate' || lhs.fn !== 'count' || rhs.kind !== 'int') return undefined;
  const n = Number(rhs.value);
  if (!Number.isSafeInteger(n)) return undefined;
  if (op === '>') return n + 1;
  if (op === '>=' || op === '=') return Math.max(n, 1);
  return undefined;
}

function spansetRequirements(expr: SpansetExpression): SpanRequirement[] {
  if (expr.kind === 'spansetFilter') return [{ predicate: fieldPredicate(expr.expr), minSpans: 1 }];
  return combine(expr.op, spansetRequirements(expr.lhs), spansetRequirements(expr.rhs));
}

function combine(op: SpansetOperator, lhs: SpanRequirement[], rhs: SpanRequirement[]): SpanRequirement[] {
  if (op === '||') {
    const either = or([...lhs, ...rhs].map((r) => r.predicate));
    return [{ predicate: either, minSpans: 1 }];
  }
  // Negated structural operators return right-hand spans with no such relative on the left.
  if (op.startsWith('!')) return rhs;
  const useful = [...lhs, ...rhs].filter((r) => r.predicate.kind !== 'all' || r.minSpans > 1);
  return useful.length > 0 ? useful : [{ predicate: { kind: 'all' }, minSpans: 1 }];
}

function and(args: SpanPredicate[]): SpanPredicate {
  const kept = args.filter((a) => a.kind !== 'all');
  return kept.length === 0 ? { kind: 'all' } : kept.length === 1 ? kept[0] : { kind: 'and', args: kept };
}

function or(args: SpanPredicate[]): SpanPredicate {
  if (args.length === 0 || args.some((a) => a.kind === 'all')) return { kind: 'all' };
  return args.length === 1 ? args[0] : { kind: 'or', args };
}

const FLIPPED: Record<SpanCompareOp, SpanCompareOp> = {
  '=': '=',
  '!=': '!=',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};
const STATUS_CODES = { unset: 0n, ok: 1n, error: 2n } as const;
const KIND_CODES = { unspecified: 0n, internal: 1n, server: 2n, client: 3n, producer: 4n, consumer: 5n } as const;

/** A span predicate that every span meeting `expr` meets (`all` where nothing narrower is known). */
export function fieldPredicate(expr: FieldExpression | undefined): SpanPredicate {
  if (expr === undefined || expr.kind !== 'binary') return { kind: 'all' };
  if (expr.op === '&&') return and([fieldPredicate(expr.lhs), fieldPredicate(expr.rhs)]);
  if (expr.op === '||') return or([fieldPredicate(expr.lhs), fieldPredicate(expr.rhs)]);
  if (!(expr.op in FLIPPED)) return { kind: 'all' };
  const op = expr.op as SpanCompareOp;
  if (isLiteral(expr.rhs)) return comparison(expr.lhs, op, expr.rhs);
  if (isLiteral(expr.lhs)) return comparison(expr.rhs, FLIPPED[op], expr.lhs);
  return { kind: 'all' };
}

function isLiteral(e: FieldExpression): e is Literal {
  return (
    e.kind === 'string' ||
    e.kind === 'int' ||
    e.kind === 'float' ||
    e.kind === 'duration' ||
    e.kind === 'bool' ||
    e.kind === 'status' ||
    e.kind === 'spanKind' ||
    e.kind === 'nil'
  );
}

function comparison(field: FieldExpression, op: SpanCompareOp, literal: Literal): SpanPredicate {
  const all: SpanPredicate = { kind: 'all' };
  if (literal.kind === 'nil') return all;
  let target: SpanField | undefined;
  let value: SpanValue | undefined;
  if (field.kind === 'intrinsic') {
    switch (field.name) {
      case 'span:name':
        target = { kind: 'name' };
        break;
      case 'span:statusMessage':
        target = { kind: 'statusMessage' };
        break;
      case 'span:duration':
        target = { kind: 'duration' };
        break;
      case 'span:status':
        if (literal.kind !== 'status') return all;
        return { kind: 'compare', field: { kind: 'status' }, op, value: STATUS_CODES[literal.value] };
      case 'span:kind':
        if (literal.kind !== 'spanKind') return all;
        return { kind: 'compare', field: { kind: 'kind' }, op, value: KIND_CODES[literal.value] };
      default:
        return all;
    }
  } else if (field.kind === 'attribute' && !field.parent) {
    if (field.scope === 'resource' && field.name === 'service.name') target = { kind: 'service' };
    else if (field.scope === 'span' || field.scope === 'resource' || field.scope === 'none')
      target = { kind: 'attribute', scope: field.scope === 'none' ? 'any' : field.scope, key: field.name };
    else return all;
  } else return all;
  switch (literal.kind) {
    case 'string':
    case 'bool':
    case 'float':
      value = literal.value;
      break;
    case 'int':
      value = literal.value;
      break;
    case 'duration':
      value = literal.nanos as bigint;
      break;
    default:
      return all;
  }
  return { kind: 'compare', field: target, op, value };
}

/**
 * The span predicate of a query that stores answer exactly, or undefined: a query that is one
 * spanset filter (no pipeline, no spanset operators) comparing only what every store expresses
 * in SQL without loss (see `TraceCandidateQuery`):
 *
 * ```
 * { resource.service.name = "order" && name != "GET /health" && (status = error || duration >= 2s) }
 * ```
 *
 * For such a query the store's candidates are the matching traces, and a search returning
 * summaries needs no span read back. Not exact: the span kind (ClickHouse's index has no kind),
 * attributes (unscoped names look at the span
 * first and then its resource, `=` matches array elements, the index hashes values), nor are
 * regexes, `nil`, arithmetic and string order.
 */
export function exactSpanPredicate(query: TraceQLQuery): SpanPredicate | undefined {
  const body = query.body;
  if (body.kind !== 'pipeline' || body.stages.length !== 1) return undefined;
  const stage = body.stages[0];
  if (stage.kind !== 'spansetFilter' || !isExact(stage.expr)) return undefined;
  return fieldPredicate(stage.expr);
}

function isExact(expr: FieldExpression | undefined): boolean {
  if (expr === undefined) return true;
  if (expr.kind !== 'binary') return false;
  if (expr.op === '&&' || expr.op === '||') return isExact(expr.lhs) && isExact(expr.rhs);
  const [field, literal] = isLiteral(expr.rhs) ? [expr.lhs, expr.rhs] : [expr.rhs, expr.lhs];
  if (!isLiteral(literal)) return false;
  const equality = expr.op === '=' || expr.op === '!=';
  if (field.kind === 'attribute')
    return (
      !field.parent &&
      field.scope === 'resource' &&
      field.name === 'service.name' &&
      expr.op === '=' &&
      literal.kind === 'string'
    );
  if (field.kind !== 'intrinsic') return false;
  switch (field.name) {
    case 'span:name':
      return equality && literal.kind === 'string';
    case 'span:status':
      return equality && literal.kind === 'status';
    case 'span:duration':
      return literal.kind === 'duration' && expr.op in FLIPPED;
    default:
      return false;
  }
}
