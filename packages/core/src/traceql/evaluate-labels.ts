/**
 * The names Tempo shows in a search response (spec §8): span attribute keys for the fields a
 * query reads, and spanset attribute names for `by()` and aggregates (`by(resource.service.name)`,
 * `count()`, `avg(duration)`). These follow Tempo's own rendering of the query, which differs from
 * our canonical printer (`print.ts`): intrinsics keep their old unscoped names, strings are in
 * back-ticks.
 */

import type { AggregateFunction, AttributeField, FieldExpression, IntrinsicField, IntrinsicName } from './ast.ts';
import { UNSCOPED_INTRINSICS } from './keywords.ts';
import { formatGoDuration } from './traceql-values.ts';

/** Old unscoped spelling of each intrinsic that has one (`span:duration` → `duration`). */
const UNSCOPED_NAME: ReadonlyMap<IntrinsicName, string> = new Map(
  [...UNSCOPED_INTRINSICS].map(([word, name]) => [name, word] as const),
);

/** An intrinsic as Tempo names it: the old spelling where there is one, else `scope:name`. */
export function intrinsicLabel(name: IntrinsicName): string {
  return UNSCOPED_NAME.get(name) ?? name;
}

/** The key of a field in a span's `attributes`: an attribute's name without scope, or `intrinsicLabel`. */
export function fieldKey(field: AttributeField | IntrinsicField): string {
  return field.kind === 'attribute' ? field.name : intrinsicLabel(field.name);
}

/** The field as written with its scope: `resource.service.name`, `.foo`, `span:status`. */
export function fieldText(field: AttributeField | IntrinsicField): string {
  if (field.kind === 'intrinsic') return field.name;
  const parent = field.parent ? 'parent' : '';
  const scope = field.scope === 'none' ? '' : field.scope;
  return `${parent}${parent && scope ? '.' : ''}${scope}.${field.name}`;
}

/** A field expression as Tempo renders it in labels. */
export function expressionLabel(expr: FieldExpression): string {
  switch (expr.kind) {
    case 'attribute': {
      const parent = expr.parent ? 'parent.' : '';
      return expr.scope === 'none' ? `${parent}.${expr.name}` : `${parent}${expr.scope}.${expr.name}`;
    }
    case 'intrinsic':
      return intrinsicLabel(expr.name);
    case 'string':
      return `\`${expr.value}\``;
    case 'int':
      return expr.value.toString();
    case 'float':
      return String(expr.value);
    case 'duration':
      return formatGoDuration(expr.nanos);
    case 'bool':
      return String(expr.value);
    case 'status':
    case 'spanKind':
      return expr.value;
    case 'nil':
      return 'nil';
    case 'unary':
      return `${expr.op}${wrapped(expr.operand)}`;
    case 'binary':
      return `${wrapped(expr.lhs)} ${expr.op} ${wrapped(expr.rhs)}`;
  }
}

function wrapped(expr: FieldExpression): string {
  const text = expressionLabel(expr);
  return expr.kind === 'binary' ? `(${text})` : text;
}

/** `count()`, `avg(duration)`, `max(span.bytes)`. */
export function aggregateLabel(fn: AggregateFunction, arg: FieldExpression | undefined): string {
  return `${fn}(${arg === undefined ? '' : expressionLabel(arg)})`;
}

/** `by(resource.service.name)`. */
export function groupLabel(expr: FieldExpression): string {
  return `by(${expressionLabel(expr)})`;
}
