/**
 * Helpers for the TraceQL tests only: a compact rendering of trees for precedence assertions,
 * position stripping for "same tree" comparisons, and a seeded random tree generator for the
 * printer's round-trip property. Not for production code.
 */

import { seededRandom } from '../model/seeded-random.ts';
import { durationNanos } from '../model/units.ts';
import type {
  Aggregate,
  ArithmeticOperator,
  AttributeField,
  AttributeScope,
  ComparisonOperator,
  FieldBinaryOperator,
  FieldExpression,
  IntrinsicField,
  IntrinsicName,
  KindValue,
  Literal,
  PipelineOperation,
  PipelineStage,
  QueryHint,
  ScalarExpression,
  ScalarFilter,
  SpansetExpression,
  SpansetOperator,
  SpansetPipeline,
  StatusValue,
  TraceQLNode,
  TraceQLQuery,
} from './ast.ts';
import { MAX_INT, MIN_INT } from './keywords.ts';

/**
 * Renders a tree as S-expressions, independent of the printer, so parser tests can state the
 * grouping: `{ .a || .b && .c }` is `{(&& (|| .a .b) .c)}`. Pipelines are `(| …)` except a root
 * pipeline of one stage; pipeline operations are `(P&& …)`; scalar pipelines `(S| … agg)`;
 * floats end in `f`, durations are nanoseconds with `ns`, strings are JSON-quoted.
 */
export function sexpr(node: TraceQLNode): string {
  switch (node.kind) {
    case 'query': {
      const body =
        node.body.kind === 'pipeline' && node.body.stages.length === 1 ? sexpr(node.body.stages[0]) : sexpr(node.body);
      const hints = node.hints.map((h) => `${h.name}=${sexpr(h.value)}`).join(' ');
      return hints === '' ? body : `${body} with(${hints})`;
    }
    case 'hint':
      return `${node.name}=${sexpr(node.value)}`;
    case 'pipeline':
      return `(| ${node.stages.map(sexpr).join(' ')})`;
    case 'pipelineOperation':
      return `(P${node.op} ${sexpr(node.lhs)} ${sexpr(node.rhs)})`;
    case 'spansetFilter':
      return node.expr === undefined ? '{}' : `{${sexpr(node.expr)}}`;
    case 'spansetOperation':
    case 'scalarFilter':
    case 'scalarOperation':
    case 'binary':
      return `(${node.op} ${sexpr(node.lhs)} ${sexpr(node.rhs)})`;
    case 'scalarNegation':
      return `(- ${sexpr(node.operand)})`;
    case 'unary':
      return `(${node.op} ${sexpr(node.operand)})`;
    case 'scalarPipeline':
      return `(S| ${node.pipeline.stages.map(sexpr).join(' ')} ${sexpr(node.aggregate)})`;
    case 'aggregate':
      return `${node.fn}(${node.arg === undefined ? '' : sexpr(node.arg)})`;
    case 'groupBy':
      return `by(${sexpr(node.expr)})`;
    case 'coalesce':
      return 'coalesce()';
    case 'select':
      return `select(${node.fields.map(sexpr).join(' ')})`;
    case 'attribute': {
      const prefix =
        (node.parent ? 'parent.' : '') + (node.scope === 'none' ? (node.parent ? '' : '.') : `${node.scope}.`);
      return prefix + (/^[\w.-]+$/.test(node.name) ? node.name : JSON.stringify(node.name));
    }
    case 'intrinsic':
      return node.name;
    case 'string':
      return JSON.stringify(node.value);
    case 'int':
      return node.value.toString();
    case 'float':
      return `${node.value}f`;
    case 'duration':
      return `${node.nanos}ns`;
    case 'bool':
    case 'status':
    case 'spanKind':
      return String(node.value);
    case 'nil':
      return 'nil';
  }
}

/** A deep copy without `start` and `end`, for comparing trees from different texts. */
export function stripPositions<T>(node: T): T {
  if (Array.isArray(node)) return node.map(stripPositions) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'start' && key !== 'end') out[key] = stripPositions(value);
  }
  return out as T;
}

// ------------------------------------------------------------------------------------------------
// Random trees, in the shapes the parser produces (see the invariants in ast.ts): no negative
// literals, nil only beside = and !=, coalesce never first, pipeline operations with at least one
// real pipeline side, scalar shapes as Tempo's grammar allows them.

const FIELD_OPS: readonly FieldBinaryOperator[] = [
  '&&',
  '||',
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '=~',
  '!~',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];
const SPANSET_OPS: readonly SpansetOperator[] = [
  '&&',
  '||',
  '>',
  '<',
  '>>',
  '<<',
  '~',
  '!>',
  '!<',
  '!>>',
  '!<<',
  '!~',
  '&>',
  '&<',
  '&>>',
  '&<<',
  '&~',
];
const COMPARISON_OPS: readonly ComparisonOperator[] = ['=', '!=', '<', '<=', '>', '>='];
const ARITHMETIC_OPS: readonly ArithmeticOperator[] = ['+', '-', '*', '/', '%', '^'];
const CONSTANT_OPS: readonly ArithmeticOperator[] = ['+', '-', '*', '/'];
const SCOPES: readonly AttributeScope[] = ['none', 'span', 'resource', 'event', 'link', 'instrumentation'];
const INTRINSICS: readonly IntrinsicName[] = [
  'span:name',
  'span:status',
  'span:statusMessage',
  'span:kind',
  'span:duration',
  'span:id',
  'span:parentID',
  'span:childCount',
  'trace:duration',
  'trace:rootName',
  'trace:rootService',
  'trace:id',
  'event:name',
  'event:timeSinceStart',
  'link:traceID',
  'link:spanID',
  'instrumentation:name',
  'instrumentation:version',
  'nestedSetLeft',
  'nestedSetRight',
  'nestedSetParent',
  'parent',
];
const NAMES = [
  'a',
  'http.method',
  'service.name',
  'foo bar',
  'a"b',
  'a\\b',
  '5xx',
  '0',
  'span.x',
  'resource.y',
  '',
  'x+1',
  'a-b',
  'µs',
  '😝',
  'a{b}',
  'tab\there',
  'new\nline',
  'é',
  'a=b',
  'a,b',
  '.',
  '..x',
  '"',
  'x//y',
];
const STRINGS = [
  '',
  'a',
  'GET /api',
  'quote"d',
  'back\\slash',
  'line\nbreak',
  '\t\r\x00\x7f',
  'é😝',
  '\u2028',
  '`tick`',
];
const STATUSES: readonly StatusValue[] = ['ok', 'error', 'unset'];
const KINDS: readonly KindValue[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const HINT_NAMES = ['most_recent', 'sample', 'span_sample', 'exemplars', 'name', 'x'];
const AT = { start: 0, end: 0 } as const;

/** A random query tree for seed `seed`; the same seed gives the same tree. */
export function randomQuery(seed: number): TraceQLQuery {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const chance = (p: number): boolean => random() < p;

  function bigRandom(max: bigint): bigint {
    const which = int(4);
    if (which === 0) return BigInt(int(10));
    if (which === 1) return max;
    const value = (BigInt(int(2 ** 31)) << 32n) | BigInt(int(2 ** 32));
    return value % (max + 1n);
  }

  function literal(allowString = true): Exclude<Literal, { kind: 'nil' }> {
    switch (int(allowString ? 7 : 3)) {
      case 0:
        // `minInt` is a field value only; Tempo's scalar filters take digits.
        return allowString && chance(0.1)
          ? { kind: 'int', value: MIN_INT, ...AT }
          : { kind: 'int', value: bigRandom(MAX_INT), ...AT };
      case 1: {
        const floats = [0, 0.5, 1, 2.25, 1e21, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, random() * 1000];
        return { kind: 'float', value: pick(floats), ...AT };
      }
      case 2:
        return { kind: 'duration', nanos: durationNanos(bigRandom(MAX_INT)), ...AT };
      case 3:
        return { kind: 'string', value: pick(STRINGS), ...AT };
      case 4:
        return { kind: 'bool', value: chance(0.5), ...AT };
      case 5:
        return { kind: 'status', value: pick(STATUSES), ...AT };
      default:
        return { kind: 'spanKind', value: pick(KINDS), ...AT };
    }
  }

  function attribute(): AttributeField {
    const scope = pick(SCOPES);
    const parent = (scope === 'none' || scope === 'span' || scope === 'resource') && chance(0.15);
    return { kind: 'attribute', scope, parent, name: pick(NAMES), ...AT };
  }

  function fieldReference(): AttributeField | IntrinsicField {
    return chance(0.6) ? attribute() : { kind: 'intrinsic', name: pick(INTRINSICS), ...AT };
  }

  function field(depth: number): FieldExpression {
    if (depth <= 0 || chance(0.3)) return chance(0.5) ? literal() : fieldReference();
    if (chance(0.15)) {
      return { kind: 'unary', op: chance(0.5) ? '!' : '-', operand: field(depth - 1), ...AT };
    }
    const op = pick(FIELD_OPS);
    if ((op === '=' || op === '!=') && chance(0.2)) {
      const nil = { kind: 'nil', ...AT } as const;
      const other = chance(0.2) ? nil : field(depth - 1);
      return chance(0.5)
        ? { kind: 'binary', op, lhs: nil, rhs: other, ...AT }
        : { kind: 'binary', op, lhs: other, rhs: nil, ...AT };
    }
    return { kind: 'binary', op, lhs: field(depth - 1), rhs: field(depth - 1), ...AT };
  }

  function spanset(depth: number): SpansetExpression {
    if (depth <= 0 || chance(0.5)) {
      return { kind: 'spansetFilter', expr: chance(0.15) ? undefined : field(3), ...AT };
    }
    return { kind: 'spansetOperation', op: pick(SPANSET_OPS), lhs: spanset(depth - 1), rhs: spanset(depth - 1), ...AT };
  }

  function aggregate(): Aggregate {
    const fn = pick(['count', 'avg', 'min', 'max', 'sum'] as const);
    return { kind: 'aggregate', fn, arg: fn === 'count' ? undefined : field(2), ...AT };
  }

  function scalar(shape: 'literal' | 'aggregate' | 'pipeline', depth: number): ScalarExpression {
    const leaf = depth <= 0 || chance(0.4);
    if (shape === 'literal') {
      if (leaf) return literal(false) as ScalarExpression;
      if (chance(0.3)) return { kind: 'scalarNegation', operand: scalar('literal', depth - 1), ...AT };
      const [lhs, rhs] = [scalar('literal', depth - 1), scalar('literal', depth - 1)];
      return { kind: 'scalarOperation', op: pick(CONSTANT_OPS), lhs, rhs, ...AT };
    }
    if (shape === 'pipeline') {
      if (leaf) return { kind: 'scalarPipeline', pipeline: pipeline(1), aggregate: aggregate(), ...AT };
      const [lhs, rhs] = [scalar('pipeline', depth - 1), scalar('pipeline', depth - 1)];
      return { kind: 'scalarOperation', op: pick(ARITHMETIC_OPS), lhs, rhs, ...AT };
    }
    if (leaf) return aggregate();
    const other = chance(0.5) ? 'literal' : 'aggregate';
    const [lhs, rhs] = chance(0.5)
      ? [scalar('aggregate', depth - 1), scalar(other, depth - 1)]
      : [scalar(other, depth - 1), scalar('aggregate', depth - 1)];
    return { kind: 'scalarOperation', op: pick(ARITHMETIC_OPS), lhs, rhs, ...AT };
  }

  function scalarFilter(): ScalarFilter {
    const shapes = pick([
      ['aggregate', 'aggregate'],
      ['aggregate', 'literal'],
      ['literal', 'aggregate'],
    ] as const);
    return {
      kind: 'scalarFilter',
      op: pick(COMPARISON_OPS),
      lhs: scalar(shapes[0], 2),
      rhs: scalar(shapes[1], 2),
      ...AT,
    };
  }

  function stage(index: number): PipelineStage {
    switch (int(index === 0 ? 4 : 5)) {
      case 0:
        return spanset(2);
      case 1:
        return scalarFilter();
      case 2:
        return { kind: 'groupBy', expr: field(2), ...AT };
      case 3:
        return { kind: 'select', fields: Array.from({ length: 1 + int(3) }, fieldReference), ...AT };
      default:
        return { kind: 'coalesce', ...AT };
    }
  }

  function pipeline(depth: number): SpansetPipeline {
    const count = 1 + int(depth > 0 ? 4 : 2);
    return { kind: 'pipeline', stages: Array.from({ length: count }, (_, i) => stage(i)), ...AT };
  }

  /** A pipeline that is more than a spanset expression, so it stays a pipeline when parsed. */
  function realPipeline(): SpansetPipeline {
    for (;;) {
      const p = pipeline(1);
      if (p.stages.length > 1 || !isSpansetExpression(p.stages[0])) return p;
    }
  }

  function pipelineOperation(depth: number): PipelineOperation {
    const side = (real: boolean): SpansetPipeline | PipelineOperation => {
      if (depth > 0 && chance(0.3)) return pipelineOperation(depth - 1);
      return real ? realPipeline() : pipeline(1);
    };
    const realLeft = chance(0.5);
    return { kind: 'pipelineOperation', op: pick(SPANSET_OPS), lhs: side(realLeft), rhs: side(!realLeft), ...AT };
  }

  function body(): TraceQLQuery['body'] {
    const which = random();
    if (which < 0.7) return pipeline(2);
    if (which < 0.9) return pipelineOperation(2);
    const rhs = chance(0.5) ? scalar('pipeline', 2) : scalar('literal', 2);
    return { kind: 'scalarFilter', op: pick(COMPARISON_OPS), lhs: scalar('pipeline', 2), rhs, ...AT };
  }

  const hints: QueryHint[] = Array.from({ length: chance(0.7) ? 0 : 1 + int(3) }, () => ({
    kind: 'hint',
    name: pick(HINT_NAMES),
    value: literal(),
    ...AT,
  }));
  return { kind: 'query', body: body(), hints, ...AT };
}

function isSpansetExpression(stage: PipelineStage): boolean {
  return stage.kind === 'spansetFilter' || stage.kind === 'spansetOperation';
}
