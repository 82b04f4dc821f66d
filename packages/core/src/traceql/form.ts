/**
 * The search form as TraceQL: one search path. The web form, `/api/v1/search`'s form parameters
 * and the CLI's flags all become one spanset filter, evaluated by the same TraceQL search as a
 * typed query; this module writes it, as Grafana's search builder does:
 *
 *   service=frontend, operation=GET /api, status=error, min 100ms, attr http.status_code=500
 *
 *   { resource.service.name = "frontend" && name = "GET /api" && status = error &&
 *     duration >= 100ms && (."http.status_code" = "500" || ."http.status_code" = 500) }
 *
 * Every condition holds for one and the same span, as in Jaeger. An attribute condition
 * `key=value` keeps the form's meaning, "a span or resource attribute whose value reads as the
 * text": TraceQL never converts types, so a value that spells a number or a boolean is compared
 * both as the string and as that number or boolean (`500` finds the int 500 and the string
 * "500"). Text is produced by the canonical printer, so any name or value (quotes, newlines,
 * dots) reads back exactly.
 */

import type { DurationNanos } from '../model/units.ts';
import type { FieldExpression, Literal, StatusValue } from './ast.ts';
import { printTraceQL } from './print.ts';

/** The form's filters, parsed: what `/api/v1/search`'s form parameters and the CLI's flags hold. */
export interface FormSearch {
  readonly service?: string;
  readonly operation?: string;
  readonly status?: StatusValue;
  /** Inclusive bounds of the matching span's duration. */
  readonly minDurationNanos?: bigint;
  readonly maxDurationNanos?: bigint;
  /** `key=value` conditions: the value is the text the attribute reads as. */
  readonly attributes?: readonly { readonly key: string; readonly value: string }[];
}

const AT = { start: 0, end: 0 } as const;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The literals an attribute whose value reads as `text` may equal: the string, and the number or boolean it spells. */
function literalsReadingAs(text: string): Literal[] {
  const out: Literal[] = [{ kind: 'string', value: text, ...AT }];
  if (/^-?\d{1,19}$/.test(text)) {
    const n = BigInt(text);
    if (n >= INT64_MIN && n <= INT64_MAX) out.push({ kind: 'int', value: n, ...AT });
  } else if (/^-?(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+)$/.test(text) && Number.isFinite(Number(text))) {
    out.push({ kind: 'float', value: Number(text), ...AT });
  } else if (text === 'true' || text === 'false') {
    out.push({ kind: 'bool', value: text === 'true', ...AT });
  }
  return out;
}

function and(lhs: FieldExpression, rhs: FieldExpression): FieldExpression {
  return { kind: 'binary', op: '&&', lhs, rhs, ...AT };
}

/**
 * One `key=value` attribute condition as TraceQL: `.key = "value"`, or the alternatives when the
 * value spells a number or a boolean (`(.key = "500" || .key = 500)`). A negative number prints
 * as `-7`, which TraceQL reads as the negation of 7: the same value.
 */
export function formAttributeCondition(key: string, value: string): FieldExpression {
  const field = { kind: 'attribute', scope: 'none', parent: false, name: key, ...AT } as const;
  return literalsReadingAs(value)
    .map((literal): FieldExpression => ({ kind: 'binary', op: '=', lhs: field, rhs: literal, ...AT }))
    .reduce((a, b) => ({ kind: 'binary', op: '||', lhs: a, rhs: b, ...AT }));
}

/** The form's conditions as TraceQL field expressions, in the form's order (service, operation, status, durations, attributes). */
export function formSearchConditions(form: FormSearch): FieldExpression[] {
  const out: FieldExpression[] = [];
  const compare = (lhs: FieldExpression, op: '=' | '>=' | '<=', rhs: FieldExpression): void => {
    out.push({ kind: 'binary', op, lhs, rhs, ...AT });
  };
  if (form.service !== undefined && form.service !== '')
    compare({ kind: 'attribute', scope: 'resource', parent: false, name: 'service.name', ...AT }, '=', {
      kind: 'string',
      value: form.service,
      ...AT,
    });
  if (form.operation !== undefined && form.operation !== '')
    compare({ kind: 'intrinsic', name: 'span:name', ...AT }, '=', { kind: 'string', value: form.operation, ...AT });
  if (form.status !== undefined)
    compare({ kind: 'intrinsic', name: 'span:status', ...AT }, '=', { kind: 'status', value: form.status, ...AT });
  const duration = { kind: 'intrinsic', name: 'span:duration', ...AT } as const;
  if (form.minDurationNanos !== undefined)
    compare(duration, '>=', { kind: 'duration', nanos: form.minDurationNanos as DurationNanos, ...AT });
  if (form.maxDurationNanos !== undefined)
    compare(duration, '<=', { kind: 'duration', nanos: form.maxDurationNanos as DurationNanos, ...AT });
  for (const { key, value } of form.attributes ?? []) out.push(formAttributeCondition(key, value));
  return out;
}

/** The whole form as one TraceQL query in canonical text; `{}` (every span) when no filter is set. */
export function formSearchToTraceQL(form: FormSearch): string {
  const conditions = formSearchConditions(form);
  const expr = conditions.length === 0 ? undefined : conditions.reduce(and);
  return printTraceQL({ kind: 'spansetFilter', expr, ...AT });
}
