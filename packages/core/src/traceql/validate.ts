/**
 * The static checks Tempo runs after parsing (`pkg/traceql/ast_validate.go`, spec §4 and §6),
 * restated for the tree of ast.ts.
 */

import type {
  Aggregate,
  AttributeField,
  FieldBinaryOperator,
  FieldExpression,
  IntrinsicField,
  PipelineOperation,
  ScalarExpression,
  ScalarFilter,
  SpansetExpression,
  SpansetPipeline,
  TraceQLQuery,
} from './ast.ts';
import { INTRINSIC_TYPES } from './keywords.ts';
import { re2SyntaxError } from './re2-syntax.ts';
import { TraceQLError } from './traceql-error.ts';

/**
 * The static type of a field expression. `unknown` is an attribute (or arithmetic on attributes):
 * its type is only known per span, and a mismatch there is simply false at run time (spec §4).
 */
type FieldType = 'int' | 'float' | 'duration' | 'string' | 'bool' | 'status' | 'kind' | 'nil' | 'unknown';

const NUMERIC: ReadonlySet<FieldType> = new Set(['int', 'float', 'duration']);
const BOOLEAN_OPS: ReadonlySet<FieldBinaryOperator> = new Set([
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
]);

/** Which operators each static type allows (Tempo's `binaryTypeValid`). */
const ALLOWED_OPS: Readonly<Record<Exclude<FieldType, 'unknown'>, ReadonlySet<FieldBinaryOperator>>> = {
  bool: new Set(['&&', '||', '=', '!=']),
  int: new Set(['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=']),
  float: new Set(['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=']),
  duration: new Set(['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=']),
  string: new Set(['=', '!=', '=~', '!~', '<', '<=', '>', '>=']),
  status: new Set(['=', '!=']),
  kind: new Set(['=', '!=']),
  nil: new Set(['=', '!=']),
};

/**
 * Checks a parsed query and returns every problem found, ordered by position (empty when the
 * query is valid). `source` is the text the query was parsed from; it is used for line and
 * column numbers and to quote fields in messages.
 *
 * Errors with code `invalid` (Tempo's validation errors, HTTP 400):
 * - a `{ }` expression that is not boolean (`{ 1 + 1 }`, `{ status }`, `{ "foo" }`);
 * - operands of different types (`{ 1 = "foo" }`; int, float and duration are one numeric
 *   family, and a type only known per span, such as an attribute, matches anything);
 * - an operator the type does not have (`{ status > ok }`, `{ 1 =~ 2 }`, `{ -true }`, `{ !1 = 1 }`;
 *   numeric status such as `{ status = 2 }` is a type mismatch, as in Tempo);
 * - a regex operator whose right side is not a string literal, or an invalid RE2 pattern
 *   (checked syntactically, see re2-syntax.ts);
 * - `= nil` on an intrinsic or on `resource.service.name`, which always have a value;
 * - an aggregate over a non-number (`avg(name)`, `min(1 = 3)`) or over constants only
 *   (`sum(3)`); a `by()` over constants only (`by(1)`).
 *
 * Errors with code `unsupported` (parse, but neither Tempo nor Ariadne evaluates them):
 * - `parent.x` attributes and the `parent` intrinsic;
 * - scalar filters other than `aggregate op number` (`min(.a) < max(.b)`, `count() + 1 > 2`,
 *   `1 < count()`), and comparisons of whole pipelines at the root.
 *
 * Does not check hint names or values (unknown hints have no effect, spec §6), nor whether an id
 * literal such as `trace:id = "…"` is hexadecimal (Tempo accepts any string there).
 */
export function validateTraceQL(query: TraceQLQuery, source: string): readonly TraceQLError[] {
  const errors: TraceQLError[] = [];
  const report = (code: 'invalid' | 'unsupported', at: { start: number; end: number }, reason: string): void => {
    errors.push(new TraceQLError(code, reason, source, at.start, at.end));
  };
  // A string literal is quoted already; anything else gets quotes so it stands out in the message.
  const quote = (node: FieldExpression): string => {
    const text = source.slice(node.start, node.end);
    return node.kind === 'string' ? text : `"${text}"`;
  };

  function checkBody(body: TraceQLQuery['body']): void {
    if (body.kind === 'pipeline') checkPipeline(body);
    else if (body.kind === 'pipelineOperation') checkPipelineOperation(body);
    else {
      checkScalar(body.lhs);
      checkScalar(body.rhs);
      report('unsupported', body, 'comparing the results of pipelines is not supported yet');
    }
  }

  function checkPipelineOperation(op: PipelineOperation): void {
    for (const side of [op.lhs, op.rhs]) {
      if (side.kind === 'pipeline') checkPipeline(side);
      else checkPipelineOperation(side);
    }
  }

  function checkPipeline(pipeline: SpansetPipeline): void {
    for (const stage of pipeline.stages) {
      switch (stage.kind) {
        case 'spansetFilter':
        case 'spansetOperation':
          checkSpanset(stage);
          break;
        case 'scalarFilter':
          checkScalarFilter(stage);
          break;
        case 'groupBy':
          typeOf(stage.expr);
          if (!referencesSpan(stage.expr)) {
            report(
              'invalid',
              stage.expr,
              'by() must refer to the span (an attribute or an intrinsic), not constants only',
            );
          }
          break;
        case 'select':
          for (const field of stage.fields) typeOf(field);
          break;
        case 'coalesce':
          break;
      }
    }
  }

  function checkSpanset(expr: SpansetExpression): void {
    if (expr.kind === 'spansetOperation') {
      checkSpanset(expr.lhs);
      checkSpanset(expr.rhs);
      return;
    }
    if (expr.expr === undefined) return;
    const type = typeOf(expr.expr);
    if (type !== 'bool' && type !== 'unknown') {
      report(
        'invalid',
        expr.expr,
        `a spanset filter needs a boolean condition, but ${quote(expr.expr)} is ${article(type)}`,
      );
    }
  }

  function checkScalarFilter(filter: ScalarFilter): void {
    checkScalar(filter.lhs);
    checkScalar(filter.rhs);
    if (filter.lhs.kind !== 'aggregate' || !isNumberExpression(filter.rhs)) {
      report(
        'unsupported',
        filter,
        'only scalar filters of the form "aggregate op number", such as "count() > 2", are supported yet',
      );
    }
  }

  function checkScalar(expr: ScalarExpression): void {
    switch (expr.kind) {
      case 'aggregate':
        checkAggregate(expr);
        break;
      case 'scalarOperation':
        checkScalar(expr.lhs);
        checkScalar(expr.rhs);
        break;
      case 'scalarNegation':
        checkScalar(expr.operand);
        break;
      case 'scalarPipeline':
        checkPipeline(expr.pipeline);
        checkAggregate(expr.aggregate);
        break;
      default:
        break;
    }
  }

  function checkAggregate(aggregate: Aggregate): void {
    if (aggregate.arg === undefined) return;
    const type = typeOf(aggregate.arg);
    if (type !== 'unknown' && !NUMERIC.has(type)) {
      report(
        'invalid',
        aggregate.arg,
        `${aggregate.fn}() needs a number, but ${quote(aggregate.arg)} is ${article(type)}`,
      );
    } else if (!referencesSpan(aggregate.arg)) {
      report(
        'invalid',
        aggregate.arg,
        `${aggregate.fn}() must refer to the span (an attribute or an intrinsic), not constants only`,
      );
    }
  }

  /** The static type of `expr`, reporting problems inside it; `unknown` after an error. */
  function typeOf(expr: FieldExpression): FieldType {
    switch (expr.kind) {
      case 'string':
      case 'int':
      case 'float':
      case 'duration':
      case 'bool':
      case 'status':
      case 'nil':
        return expr.kind;
      case 'spanKind':
        return 'kind';
      case 'attribute':
      case 'intrinsic':
        return fieldType(expr);
      case 'unary': {
        const type = typeOf(expr.operand);
        if (type === 'unknown') return type;
        if (expr.op === '-' && !NUMERIC.has(type)) {
          report('invalid', expr, `"-" needs a number, but ${quote(expr.operand)} is ${article(type)}`);
          return 'unknown';
        }
        if (expr.op === '!' && type !== 'bool') {
          report('invalid', expr, `"!" needs a boolean, but ${quote(expr.operand)} is ${article(type)}`);
          return 'unknown';
        }
        return type;
      }
      case 'binary':
        return binaryType(expr.op, expr.lhs, expr.rhs, expr);
    }
  }

  function fieldType(field: AttributeField | IntrinsicField): FieldType {
    if (field.kind === 'attribute') {
      if (field.parent) report('unsupported', field, 'parent attributes (parent.x) are not supported yet');
      return 'unknown';
    }
    if (field.name === 'parent') {
      report('unsupported', field, 'the intrinsic "parent" is not supported yet');
      return 'unknown';
    }
    return INTRINSIC_TYPES[field.name];
  }

  function binaryType(
    op: FieldBinaryOperator,
    lhs: FieldExpression,
    rhs: FieldExpression,
    at: { start: number; end: number },
  ): FieldType {
    if ((op === '=' || op === '!=') && (lhs.kind === 'nil' || rhs.kind === 'nil')) {
      const other = lhs.kind === 'nil' ? rhs : lhs;
      if (other.kind === 'nil') return 'bool';
      typeOf(other);
      if (op === '=' && other.kind === 'intrinsic' && other.name !== 'parent') {
        report('invalid', other, `${quote(other)} = nil is never true: intrinsics always have a value`);
      }
      if (op === '=' && isServiceName(other)) {
        report('invalid', other, `${quote(other)} = nil is never true: every resource has a service.name`);
      }
      return 'bool';
    }
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    if (lt !== 'unknown' && rt !== 'unknown' && lt !== rt && !(NUMERIC.has(lt) && NUMERIC.has(rt))) {
      report('invalid', at, `cannot use "${op}" between ${article(lt)} and ${article(rt)}`);
      return 'unknown';
    }
    for (const type of [lt, rt]) {
      if (type !== 'unknown' && !ALLOWED_OPS[type].has(op)) {
        const allowed = type === 'status' || type === 'kind' ? ` (${type} values only take "=" and "!=")` : '';
        report('invalid', at, `"${op}" cannot be used with ${article(type)}${allowed}`);
        return 'unknown';
      }
    }
    if (op === '=~' || op === '!~') {
      if (rhs.kind !== 'string') {
        report('invalid', rhs, `the right side of "${op}" must be a string literal holding a regular expression`);
      } else {
        const problem = re2SyntaxError(rhs.value);
        if (problem !== undefined) report('invalid', rhs, `invalid regular expression: ${problem}`);
      }
    }
    if (BOOLEAN_OPS.has(op)) return 'bool';
    if (lt === 'unknown' || rt === 'unknown') return lt === 'unknown' ? rt : lt;
    if (lt === 'int' && rt === 'int') return 'int';
    return lt === 'float' || rt === 'float' ? 'float' : 'duration';
  }

  checkBody(query.body);
  return errors.sort((a, b) => a.offset - b.offset);
}

/** True if the expression reads the span: it has an attribute or an intrinsic somewhere. */
function referencesSpan(expr: FieldExpression): boolean {
  switch (expr.kind) {
    case 'attribute':
    case 'intrinsic':
      return true;
    case 'binary':
      return referencesSpan(expr.lhs) || referencesSpan(expr.rhs);
    case 'unary':
      return referencesSpan(expr.operand);
    default:
      return false;
  }
}

/** Numbers and `+ - * /` on them, which Tempo folds into one static at parse time. */
function isNumberExpression(expr: ScalarExpression): boolean {
  switch (expr.kind) {
    case 'int':
    case 'float':
    case 'duration':
      return true;
    case 'scalarNegation':
      return isNumberExpression(expr.operand);
    case 'scalarOperation':
      return isNumberExpression(expr.lhs) && isNumberExpression(expr.rhs);
    default:
      return false;
  }
}

function isServiceName(expr: FieldExpression): boolean {
  return expr.kind === 'attribute' && expr.scope === 'resource' && !expr.parent && expr.name === 'service.name';
}

function article(type: FieldType): string {
  return type === 'int' ? 'an int' : `a ${type}`;
}
