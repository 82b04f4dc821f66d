/**
 * The canonical printer: tree to TraceQL text that parses back to the same tree (positions aside).
 * One spelling per construct, so equal trees print alike:
 *
 * - parentheses only where precedence needs them: `{ (.a || .b) && .c }`, `{ .a + .b * 2 }`;
 *   operands of unary operators are parenthesised unless they are a single field or literal;
 * - intrinsics in their scoped spelling (`span:duration`, `trace:rootService`), except
 *   `nestedSetLeft/Right/Parent` and `parent`, which have none;
 * - strings in double quotes with Go escapes; attribute names quoted (`."foo bar"`) only when
 *   the lexer would otherwise end or misread them;
 * - durations as exact whole units, largest first (`1h2m3s500ms`, `0s`); floats always with a
 *   `.` or an exponent (`2.0`); `minInt` for the least int64;
 * - spaces around binary operators and `|`, `{ … }` with inner spaces, `{}` when empty, and all
 *   hints in one ` with (a = 1, b = "x")` at the end.
 */

import type {
  AttributeField,
  FieldExpression,
  IntrinsicField,
  Literal,
  PipelineOperation,
  PipelineStage,
  ScalarExpression,
  SpansetExpression,
  SpansetPipeline,
  TraceQLNode,
  TraceQLQuery,
} from './ast.ts';
import { FIELD_PRECEDENCE, MIN_INT } from './keywords.ts';
import { isAttributeNameChar } from './lexer.ts';

/** Precedence of a primary (above every operator of FIELD_PRECEDENCE). */
const PRIMARY = 9;
/** Structural spanset operators share level 2 with comparisons. */
const STRUCTURAL = 2;

/**
 * Prints any node of a TraceQL tree (usually a whole `TraceQLQuery`) in canonical form.
 * For a tree the parser produced, `parseTraceQL(printTraceQL(q))` equals `q` apart from
 * positions. Hand-built trees print too, but a shape the parser never produces may read back
 * differently: a negative literal prints as `-1`, which parses as unary minus on `1`; `nil` away
 * from `=`/`!=` prints but does not parse. Throws a `RangeError` for a string or name holding a
 * lone surrogate, and for `parent` combined with the event, link or instrumentation scope.
 */
export function printTraceQL(node: TraceQLNode): string {
  switch (node.kind) {
    case 'query': {
      const hints = node.hints.map((h) => `${h.name} = ${printLiteral(h.value)}`).join(', ');
      return printBody(node.body) + (hints === '' ? '' : ` with (${hints})`);
    }
    case 'hint':
      return `${node.name} = ${printLiteral(node.value)}`;
    case 'pipeline':
      return printPipeline(node);
    case 'pipelineOperation':
      return printPipelineOperation(node, 0);
    case 'spansetFilter':
    case 'spansetOperation':
    case 'scalarFilter':
    case 'groupBy':
    case 'coalesce':
    case 'select':
      return printStage(node);
    case 'aggregate':
    case 'scalarOperation':
    case 'scalarNegation':
    case 'scalarPipeline':
      return printScalar(node, 0);
    default:
      return printField(node, 0);
  }
}

function printBody(body: TraceQLQuery['body']): string {
  if (body.kind === 'pipeline') return printPipeline(body);
  if (body.kind === 'pipelineOperation') return printPipelineOperation(body, 0);
  return printStage(body);
}

function printPipeline(pipeline: SpansetPipeline): string {
  return pipeline.stages.map(printStage).join(' | ');
}

function printPipelineOperation(node: PipelineOperation, minPrecedence: number): string {
  const precedence = node.op === '&&' || node.op === '||' ? 1 : STRUCTURAL;
  const side = (operand: SpansetPipeline | PipelineOperation, min: number): string =>
    operand.kind === 'pipeline' ? `(${printPipeline(operand)})` : printPipelineOperation(operand, min);
  const text = `${side(node.lhs, precedence)} ${node.op} ${side(node.rhs, precedence + 1)}`;
  return precedence < minPrecedence ? `(${text})` : text;
}

function printStage(stage: PipelineStage): string {
  switch (stage.kind) {
    case 'spansetFilter':
    case 'spansetOperation':
      return printSpanset(stage, 0);
    case 'scalarFilter':
      return `${printScalar(stage.lhs, 3)} ${stage.op} ${printScalar(stage.rhs, 3)}`;
    case 'groupBy':
      return `by(${printField(stage.expr, 0)})`;
    case 'coalesce':
      return 'coalesce()';
    case 'select':
      return `select(${stage.fields.map((f) => printField(f, 0)).join(', ')})`;
  }
}

function printSpanset(expr: SpansetExpression, minPrecedence: number): string {
  if (expr.kind === 'spansetFilter') return expr.expr === undefined ? '{}' : `{ ${printField(expr.expr, 0)} }`;
  const precedence = expr.op === '&&' || expr.op === '||' ? 1 : STRUCTURAL;
  const text = `${printSpanset(expr.lhs, precedence)} ${expr.op} ${printSpanset(expr.rhs, precedence + 1)}`;
  return precedence < minPrecedence ? `(${text})` : text;
}

function printScalar(expr: ScalarExpression, minPrecedence: number): string {
  let text: string;
  let precedence = PRIMARY;
  switch (expr.kind) {
    case 'aggregate':
      text = `${expr.fn}(${expr.arg === undefined ? '' : printField(expr.arg, 0)})`;
      break;
    case 'scalarPipeline':
      text = `(${printPipeline(expr.pipeline)} | ${printScalar(expr.aggregate, 0)})`;
      break;
    case 'scalarNegation':
      precedence = 7;
      text = `-${printScalar(expr.operand, PRIMARY)}`;
      break;
    case 'scalarOperation': {
      precedence = FIELD_PRECEDENCE[expr.op];
      const [left, right] = expr.op === '^' ? [precedence + 1, precedence] : [precedence, precedence + 1];
      text = `${printScalar(expr.lhs, left)} ${expr.op} ${printScalar(expr.rhs, right)}`;
      break;
    }
    default:
      text = printLiteral(expr);
  }
  return precedence < minPrecedence ? `(${text})` : text;
}

function printField(expr: FieldExpression, minPrecedence: number): string {
  let text: string;
  let precedence = PRIMARY;
  switch (expr.kind) {
    case 'attribute':
      text = printAttribute(expr);
      break;
    case 'intrinsic':
      text = printIntrinsic(expr);
      break;
    case 'unary':
      // `!x` takes `* / % ^` into its operand, so it ranks between `+` and `*`; `-x` takes a
      // primary only. Anything else as operand is parenthesised.
      precedence = expr.op === '!' ? 4 : 7;
      text = expr.op + printField(expr.operand, PRIMARY);
      break;
    case 'binary': {
      precedence = FIELD_PRECEDENCE[expr.op];
      const [left, right] = expr.op === '^' ? [precedence + 1, precedence] : [precedence, precedence + 1];
      text = `${printField(expr.lhs, left)} ${expr.op} ${printField(expr.rhs, right)}`;
      break;
    }
    default:
      text = printLiteral(expr);
  }
  return precedence < minPrecedence ? `(${text})` : text;
}

function printLiteral(literal: Literal): string {
  switch (literal.kind) {
    case 'string':
      return printString(literal.value);
    case 'int':
      return literal.value === MIN_INT ? 'minInt' : literal.value.toString();
    case 'float':
      return printFloat(literal.value);
    case 'duration':
      return printDuration(literal.nanos);
    case 'bool':
      return String(literal.value);
    case 'status':
    case 'spanKind':
      return literal.value;
    case 'nil':
      return 'nil';
  }
}

/** Go interpreted-string syntax, so the lexer decodes it back to the same value. */
function printString(value: string): string {
  assertWellFormed(value);
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function printFloat(value: number): string {
  const text = String(value);
  return /[.eE]|Infinity|NaN/.test(text) ? text : `${text}.0`;
}

const DURATION_UNITS: readonly (readonly [string, bigint])[] = [
  ['h', 3_600_000_000_000n],
  ['m', 60_000_000_000n],
  ['s', 1_000_000_000n],
  ['ms', 1_000_000n],
  ['us', 1_000n],
  ['ns', 1n],
];

/** Whole units, largest first: valid Go duration syntax, and Prometheus syntax above 1ms. */
function printDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const sign = nanos < 0n ? '-' : '';
  let rest = nanos < 0n ? -nanos : nanos;
  let out = '';
  for (const [unit, size] of DURATION_UNITS) {
    const count = rest / size;
    if (count > 0n) out += `${count}${unit}`;
    rest %= size;
  }
  return sign + out;
}

const SCOPE_PREFIX = {
  none: '.',
  span: 'span.',
  resource: 'resource.',
  event: 'event.',
  link: 'link.',
  instrumentation: 'instrumentation.',
} as const;

function printAttribute(attribute: AttributeField): string {
  const { scope, parent, name } = attribute;
  let prefix: string = SCOPE_PREFIX[scope];
  if (parent) {
    if (scope !== 'none' && scope !== 'span' && scope !== 'resource') {
      throw new RangeError(`parent attributes have no ${scope} scope`);
    }
    prefix = scope === 'none' ? 'parent.' : `parent.${prefix}`;
  }
  assertWellFormed(name);
  const needsQuotes =
    name === '' ||
    [...name].some((c) => c === '"' || !isAttributeNameChar(c)) ||
    // `.5` is a float, not the attribute "5".
    (prefix === '.' && /^[0-9]/.test(name)) ||
    // After `parent.`, a leading `span.` or `resource.` would be read as a scope.
    (prefix === 'parent.' && /^(?:span|resource)\./.test(name));
  return prefix + (needsQuotes ? `"${name.replace(/[\\"]/g, '\\$&')}"` : name);
}

function printIntrinsic(intrinsic: IntrinsicField): string {
  return intrinsic.name;
}

function assertWellFormed(text: string): void {
  if (/\p{Cs}/u.test(text)) throw new RangeError(`cannot print a lone surrogate: ${JSON.stringify(text)}`);
}
