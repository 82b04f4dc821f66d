/**
 * Compiles the field expressions of a query (inside `{ … }`, `by(…)`, aggregates and `select(…)`)
 * into closures over an evaluation context, once per query.
 *
 * **Filters.** `&&`, `||` and `!` combine *units*; a unit is a comparison (`=` … `>=`, `=~`,
 * `!~`, the existence tests `= nil` / `!= nil`) or any other expression used as a boolean
 * (`{ span.cached }`, `{ true }`). A unit is true, false or nil:
 * - a comparison with a nil (missing) operand is false, `!=` and `!~` included; a type mismatch
 *   is false; division by zero makes the operand nil, hence the comparison false;
 * - `&&` and `||` count a nil operand as false (spec §4, Tempo issue #7957: `{ true || .missing }`
 *   matches); `!` keeps nil nil, so `{ !.missing }` matches nothing while `{ !(.a = 1) }` matches
 *   spans without `a`.
 *
 * **Unscoped `.x`** (spec §3.3): a unit holds when *some* choice of scope (span or resource) for
 * each unscoped attribute in it makes it true. So `.foo = "x"` matches when either scope has
 * `foo = "x"`, even if the other has another value; `.x = nil` holds only when neither scope has
 * `x`, and `.x != nil` when one has. Outside filters (`by()`, aggregates, fields shown with a
 * result) `.x` is the span attribute if present, else the resource attribute.
 *
 * **Events and links** (spec §3.4): the whole filter is evaluated once per binding of one event and
 * one link of the span, and the span matches when one binding makes it true. So
 * `{ event:name = "retry" && event.attempt = 3 }` needs one event with both; a span without
 * events has every `event.` and `event:` field nil. A consequence: `{ event.x = nil }` holds when
 * some event lacks `x` (or the span has no events), `{ event.x != nil }` when some event has it.
 * Outside filters, the first binding giving a non-nil value is used.
 *
 * **Hot path.** `field op constant` (the common case, and every condition Grafana's search form
 * writes) compares the raw OTLP value or intrinsic with the constant's raw value and allocates
 * nothing; other expressions build `TraceQLValue`s.
 */

import type { AnyValue, KeyValue, Span } from '../model/span.ts';
import { durationNanos } from '../model/units.ts';
import type { AttributeField, BinaryOperation, FieldExpression, IntrinsicField, IntrinsicName } from './ast.ts';
import type { TraceQLRegex } from './evaluate-regex.ts';
import { RegexCache } from './evaluate-regex.ts';
import type { TraceIndex } from './evaluate-trace-index.ts';
import { TraceQLError } from './traceql-error.ts';
import type { ArithmeticOp, CompareOperator, TraceQLValue } from './traceql-values.ts';
import {
  arithmetic,
  compareAnyArray,
  compareScalars,
  compareValues,
  FALSE,
  fromAnyValue,
  Kind,
  kindOf,
  kindOfAny,
  kindWord,
  NIL,
  negate,
  statusWord,
  TRUE,
} from './traceql-values.ts';

/**
 * Where an evaluation stands: the trace, the span, the bound event and link (-1 for none), and the
 * scope choice of the unscoped attributes of the unit being evaluated (bit k set: the k-th
 * unscoped attribute reads the resource). One object per trace, updated in place.
 */
export interface EvalContext {
  readonly trace: TraceIndex;
  span: number;
  event: number;
  link: number;
  choice: number;
}

/** A compiled filter: true when span `ctx.span` satisfies it for some event/link binding. */
export type SpanTest = (ctx: EvalContext) => boolean;
/** A compiled expression giving one value for span `ctx.span` (see the file comment). */
export type SpanValue = (ctx: EvalContext) => TraceQLValue;

type Tri = boolean | undefined;
type Predicate = (ctx: EvalContext) => Tri;
type ValueFn = (ctx: EvalContext) => TraceQLValue;
type RawGetter = (ctx: EvalContext) => unknown;

/** An intrinsic's raw value: `undefined` for nil, else per `kind` a string, number or bigint. */
interface RawField {
  readonly kind: Kind;
  readonly get: RawGetter;
  /**
   * Span, parent, trace and link ids: the getter gives the id as stored (lowercase hex, what
   * regexes and results see); comparisons drop leading zeros first (spec §3.2).
   */
  readonly id: boolean;
}

const COMPARISONS: ReadonlySet<string> = new Set(['=', '!=', '<', '<=', '>', '>=']);
const FLIPPED: Readonly<Record<CompareOperator, CompareOperator>> = {
  '=': '=',
  '!=': '!=',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};
/** Beyond this many unscoped attributes in one unit, the later ones read span-then-resource. */
const MAX_CHOICE_BITS = 12;

/** Compiles field expressions of one query; holds the query's compiled regexes. */
export class FieldCompiler {
  readonly #source: string;
  readonly #regexes = new RegexCache();

  /** `source` is the query text, for the positions of errors. */
  constructor(source: string) {
    this.#source = source;
  }

  /** Compiles the body of `{ … }`; undefined (`{}`) matches every span. */
  filter(expr: FieldExpression | undefined): SpanTest {
    if (expr === undefined) return () => true;
    const predicate = this.#predicate(expr);
    return bindFilter(expr, (ctx) => predicate(ctx) === true);
  }

  /** Compiles an expression evaluated per span outside filters (`by()`, aggregates, fields). */
  value(expr: FieldExpression): SpanValue {
    return bindValue(expr, this.#value(expr, undefined));
  }

  // ----------------------------------------------------------------------------------------------
  // Predicates

  #predicate(expr: FieldExpression): Predicate {
    if (expr.kind === 'binary') {
      if (expr.op === '&&') {
        const p = this.#predicate(expr.lhs);
        const q = this.#predicate(expr.rhs);
        return (ctx) => p(ctx) === true && q(ctx) === true;
      }
      if (expr.op === '||') {
        const p = this.#predicate(expr.lhs);
        const q = this.#predicate(expr.rhs);
        return (ctx) => p(ctx) === true || q(ctx) === true;
      }
      if (COMPARISONS.has(expr.op) || expr.op === '=~' || expr.op === '!~') return this.#comparisonUnit(expr);
    }
    if (expr.kind === 'unary' && expr.op === '!') {
      const p = this.#predicate(expr.operand);
      return (ctx) => {
        const v = p(ctx);
        return v === undefined ? undefined : !v;
      };
    }
    return this.#booleanUnit(expr);
  }

  /** A non-comparison used as a boolean: true, false, or nil when it is not a bool. */
  #booleanUnit(expr: FieldExpression): Predicate {
    const bits = unscopedBits(expr);
    const value = this.#value(expr, bits);
    return overChoices(bits, (ctx) => {
      const v = value(ctx);
      return v.type === 'bool' ? v.value : undefined;
    });
  }

  #comparisonUnit(expr: BinaryOperation): Predicate {
    const { lhs, rhs } = expr;
    if (lhs.kind === 'nil' || rhs.kind === 'nil') return this.#existence(expr);
    const fast = this.#fastComparison(expr);
    if (fast !== undefined) return fast;
    const bits = unscopedBits(expr);
    const test = this.#comparisonValue(expr, bits);
    return overChoices(bits, (ctx) => test(ctx) === TRUE);
  }

  /** `x = nil` (absent in every scope) and `x != nil` (present in one); `nil = nil` is false. */
  #existence(expr: BinaryOperation): Predicate {
    const other = expr.lhs.kind === 'nil' ? expr.rhs : expr.lhs;
    if (other.kind === 'nil' || (expr.op !== '=' && expr.op !== '!=')) return () => false;
    const wantPresent = expr.op === '!=';
    if (other.kind === 'attribute') {
      const scopes = this.#attributeGetters(other);
      return (ctx) => {
        for (const get of scopes) {
          const v = get(ctx);
          if (v !== undefined && kindOfAny(v) !== Kind.Nil) return wantPresent;
        }
        return !wantPresent;
      };
    }
    const bits = unscopedBits(other);
    const value = this.#value(other, bits);
    const present = overChoices(bits, (ctx) => value(ctx).type !== 'nil');
    return (ctx) => present(ctx) === wantPresent;
  }

  /**
   * `attribute op constant`, `intrinsic op constant` (either order) and their regex forms,
   * compared on raw values; undefined when `expr` has another shape.
   */
  #fastComparison(expr: BinaryOperation): Predicate | undefined {
    const regex = expr.op === '=~' || expr.op === '!~';
    let field: FieldExpression = expr.lhs;
    let constant = this.#constant(expr.rhs);
    let op = expr.op as CompareOperator;
    if (!isField(field) || constant === undefined) {
      if (regex) return undefined;
      field = expr.rhs;
      constant = this.#constant(expr.lhs);
      op = FLIPPED[op];
      if (!isField(field) || constant === undefined) return undefined;
    }
    if (constant.type === 'nil' || constant.type === 'array') return undefined;
    const c = constant;
    if (field.kind === 'attribute') {
      const getters = this.#attributeGetters(field);
      let test: (v: AnyValue) => boolean;
      if (regex) {
        if (c.type !== 'string') return () => false;
        const re = this.#regex(c.value, expr);
        const negated = expr.op === '!~';
        test = (v) => regexAny(v, re, negated);
      } else {
        const kc = kindOf(c);
        const cv = (c as { readonly value: unknown }).value;
        test = (v) =>
          v.type === 'array'
            ? compareAnyArray(op, v.value, kc, cv, true)
            : compareScalars(op, kindOfAny(v), (v as { readonly value?: unknown }).value, kc, cv);
      }
      if (getters.length === 1) {
        const get = getters[0];
        return (ctx) => {
          const v = get(ctx);
          return v !== undefined && test(v);
        };
      }
      const [span, resource] = getters;
      return (ctx) => {
        const s = span(ctx);
        if (s !== undefined && test(s)) return true;
        const r = resource(ctx);
        return r !== undefined && test(r);
      };
    }
    const raw = this.#intrinsic(field as IntrinsicField);
    const get = raw.get;
    if (regex) {
      if (c.type !== 'string' || raw.kind !== Kind.String) return () => false;
      const re = this.#regex(c.value, expr);
      const negated = expr.op === '!~';
      return (ctx) => {
        const v = get(ctx);
        return v !== undefined && re.matches(v as string) !== negated;
      };
    }
    const kind = raw.kind;
    const kc = kindOf(c);
    if (raw.id && c.type === 'string') {
      const id = normalizeId(c.value.toLowerCase());
      return (ctx) => {
        const v = get(ctx);
        return v !== undefined && compareScalars(op, kind, normalizeId(v as string), kc, id);
      };
    }
    const cv = c.value;
    return (ctx) => {
      const v = get(ctx);
      return v !== undefined && compareScalars(op, kind, v, kc, cv);
    };
  }

  /** A comparison's value (TRUE or FALSE) under the current scope choice. */
  #comparisonValue(expr: BinaryOperation, bits: Bits): ValueFn {
    const lhs = this.#value(expr.lhs, bits);
    if (expr.op === '=~' || expr.op === '!~') {
      const negated = expr.op === '!~';
      const constant = this.#constant(expr.rhs);
      if (constant !== undefined) {
        if (constant.type !== 'string') return () => FALSE;
        const re = this.#regex(constant.value, expr);
        return (ctx) => (regexValue(lhs(ctx), re, negated) ? TRUE : FALSE);
      }
      const rhs = this.#value(expr.rhs, bits);
      return (ctx) => {
        const pattern = rhs(ctx);
        if (pattern.type !== 'string') return FALSE;
        const re = this.#regexes.tryCompile(pattern.value);
        return re !== undefined && regexValue(lhs(ctx), re, negated) ? TRUE : FALSE;
      };
    }
    const op = expr.op as CompareOperator;
    const rhs = this.#value(expr.rhs, bits);
    const ids = isIdField(expr.lhs) || isIdField(expr.rhs);
    return (ctx) => {
      let a = lhs(ctx);
      let b = rhs(ctx);
      if (ids) {
        a = idValue(a);
        b = idValue(b);
      }
      return compareValues(op, a, b) ? TRUE : FALSE;
    };
  }

  // ----------------------------------------------------------------------------------------------
  // Values

  /** The value of a constant subexpression (no fields), or undefined if it reads a field. */
  #constant(expr: FieldExpression): TraceQLValue | undefined {
    if (!isConstant(expr)) return undefined;
    // A constant expression never reads the context.
    return this.#value(expr, undefined)(undefined as unknown as EvalContext);
  }

  #value(expr: FieldExpression, bits: Bits | undefined): ValueFn {
    switch (expr.kind) {
      case 'string':
        return constantFn({ type: 'string', value: expr.value });
      case 'int':
        return constantFn({ type: 'int', value: expr.value });
      case 'float':
        return constantFn({ type: 'float', value: expr.value });
      case 'duration':
        return constantFn({ type: 'duration', value: expr.nanos });
      case 'bool':
        return constantFn(expr.value ? TRUE : FALSE);
      case 'status':
        return constantFn({ type: 'status', value: expr.value });
      case 'spanKind':
        return constantFn({ type: 'kind', value: expr.value });
      case 'nil':
        return constantFn(NIL);
      case 'attribute':
        return this.#attributeValue(expr, bits);
      case 'intrinsic':
        return boxed(this.#intrinsic(expr));
      case 'unary': {
        const operand = this.#value(expr.operand, bits);
        if (expr.op === '-') return (ctx) => negate(operand(ctx));
        return (ctx) => {
          const v = operand(ctx);
          return v.type === 'bool' ? (v.value ? FALSE : TRUE) : NIL;
        };
      }
      case 'binary':
        return this.#binaryValue(expr, bits);
    }
  }

  #binaryValue(expr: BinaryOperation, bits: Bits | undefined): ValueFn {
    const { op } = expr;
    if (op === '&&' || op === '||') {
      const lhs = this.#value(expr.lhs, bits);
      const rhs = this.#value(expr.rhs, bits);
      const isTrue = (v: TraceQLValue) => v.type === 'bool' && v.value;
      if (op === '&&') return (ctx) => (isTrue(lhs(ctx)) && isTrue(rhs(ctx)) ? TRUE : FALSE);
      return (ctx) => (isTrue(lhs(ctx)) || isTrue(rhs(ctx)) ? TRUE : FALSE);
    }
    if (expr.lhs.kind === 'nil' || expr.rhs.kind === 'nil') {
      const other = expr.lhs.kind === 'nil' ? expr.rhs : expr.lhs;
      if (other.kind === 'nil' || (op !== '=' && op !== '!=')) return () => FALSE;
      const value = this.#value(other, bits);
      const wantPresent = op === '!=';
      return (ctx) => ((value(ctx).type !== 'nil') === wantPresent ? TRUE : FALSE);
    }
    if (COMPARISONS.has(op) || op === '=~' || op === '!~') return this.#comparisonValue(expr, bits ?? NO_BITS);
    const lhs = this.#value(expr.lhs, bits);
    const rhs = this.#value(expr.rhs, bits);
    const arith = op as ArithmeticOp;
    return (ctx) => arithmetic(arith, lhs(ctx), rhs(ctx));
  }

  /** An attribute's value; an unscoped one reads the scope chosen by its bit, or span-then-resource. */
  #attributeValue(field: AttributeField, bits: Bits | undefined): ValueFn {
    const getters = this.#attributeGetters(field);
    if (getters.length === 1) {
      const get = getters[0];
      return (ctx) => fromAnyValue(searchable(get(ctx)));
    }
    const [span, resource] = getters;
    const bit = bits?.get(field);
    if (bit === undefined) return (ctx) => fromAnyValue(searchable(span(ctx)) ?? searchable(resource(ctx)));
    return (ctx) => fromAnyValue(searchable(((ctx.choice >> bit) & 1) === 0 ? span(ctx) : resource(ctx)));
  }

  /** Raw getters of an attribute: one, or span then resource for an unscoped attribute. */
  #attributeGetters(field: AttributeField): readonly ((ctx: EvalContext) => AnyValue | undefined)[] {
    if (field.parent) throw this.#unsupported('parent attributes are not supported', field);
    const name = field.name;
    const inList = (list: (span: Span) => readonly KeyValue[]) => (ctx: EvalContext) =>
      ctx.trace.lookup(list(ctx.trace.spans[ctx.span]), name);
    const span = inList((s) => s.attributes);
    const resource = inList((s) => s.resource.attributes);
    switch (field.scope) {
      case 'span':
        return [span];
      case 'resource':
        return [resource];
      case 'none':
        return [span, resource];
      case 'instrumentation':
        return [inList((s) => s.scope.attributes)];
      case 'event':
        return [
          (ctx) =>
            ctx.event < 0 ? undefined : ctx.trace.lookup(ctx.trace.spans[ctx.span].events[ctx.event].attributes, name),
        ];
      case 'link':
        return [
          (ctx) =>
            ctx.link < 0 ? undefined : ctx.trace.lookup(ctx.trace.spans[ctx.span].links[ctx.link].attributes, name),
        ];
    }
  }

  #intrinsic(field: IntrinsicField): RawField {
    const raw = intrinsicField(field.name);
    if (raw === undefined) throw this.#unsupported(`${field.name} is not supported`, field);
    return raw;
  }

  #regex(pattern: string, node: BinaryOperation): TraceQLRegex {
    try {
      return this.#regexes.compile(pattern);
    } catch (error) {
      throw new TraceQLError('invalid', (error as Error).message, this.#source, node.rhs.start, node.rhs.end);
    }
  }

  #unsupported(reason: string, node: { readonly start: number; readonly end: number }): TraceQLError {
    return new TraceQLError('unsupported', reason, this.#source, node.start, node.end);
  }
}

// ------------------------------------------------------------------------------------------------
// Helpers

/** Unscoped attributes of a unit, each with its bit in `EvalContext.choice`. */
type Bits = ReadonlyMap<AttributeField, number>;
const NO_BITS: Bits = new Map();

/** Numbers the unscoped attributes of `expr` (at most `MAX_CHOICE_BITS`). */
function unscopedBits(expr: FieldExpression): Bits {
  const bits = new Map<AttributeField, number>();
  const visit = (e: FieldExpression): void => {
    if (e.kind === 'attribute') {
      if (e.scope === 'none' && !e.parent && bits.size < MAX_CHOICE_BITS) bits.set(e, bits.size);
    } else if (e.kind === 'binary') {
      visit(e.lhs);
      visit(e.rhs);
    } else if (e.kind === 'unary') visit(e.operand);
  };
  visit(expr);
  return bits;
}

/**
 * Evaluates `unit` under every scope choice of its unscoped attributes: true if one choice gives
 * true, else false if one gives false, else nil.
 */
function overChoices(bits: Bits, unit: Predicate): Predicate {
  if (bits.size === 0) return unit;
  const choices = 1 << bits.size;
  return (ctx) => {
    let result: Tri;
    for (let choice = 0; choice < choices; choice++) {
      ctx.choice = choice;
      const v = unit(ctx);
      if (v === true) {
        ctx.choice = 0;
        return true;
      }
      if (v === false) result = false;
    }
    ctx.choice = 0;
    return result;
  };
}

/**
 * A filter evaluated once per event/link binding that `expr` needs (none, the span's events, its
 * links, or every pair), true when one binding satisfies it; see the file comment. A span without
 * events (links) has one binding with no event (link).
 */
function bindFilter(expr: FieldExpression, test: SpanTest): SpanTest {
  const events = readsScope(expr, 'event');
  const links = readsScope(expr, 'link');
  if (!events && !links) return test;
  return (ctx) => {
    const span = ctx.trace.spans[ctx.span];
    const eventCount = events ? span.events.length : 0;
    const linkCount = links ? span.links.length : 0;
    let matched = false;
    for (let e = 0; e < Math.max(eventCount, 1) && !matched; e++) {
      ctx.event = eventCount === 0 ? -1 : e;
      for (let l = 0; l < Math.max(linkCount, 1) && !matched; l++) {
        ctx.link = linkCount === 0 ? -1 : l;
        matched = test(ctx);
      }
    }
    ctx.event = -1;
    ctx.link = -1;
    return matched;
  };
}

/** A value evaluated per binding as `bindFilter` does: the first non-nil one, else nil. */
function bindValue(expr: FieldExpression, value: ValueFn): SpanValue {
  const events = readsScope(expr, 'event');
  const links = readsScope(expr, 'link');
  if (!events && !links) return value;
  return (ctx) => {
    const span = ctx.trace.spans[ctx.span];
    const eventCount = events ? span.events.length : 0;
    const linkCount = links ? span.links.length : 0;
    let result = NIL;
    for (let e = 0; e < Math.max(eventCount, 1) && result.type === 'nil'; e++) {
      ctx.event = eventCount === 0 ? -1 : e;
      for (let l = 0; l < Math.max(linkCount, 1) && result.type === 'nil'; l++) {
        ctx.link = linkCount === 0 ? -1 : l;
        result = value(ctx);
      }
    }
    ctx.event = -1;
    ctx.link = -1;
    return result;
  };
}

/** True when `expr` reads an event (or link) attribute or intrinsic. */
function readsScope(expr: FieldExpression, scope: 'event' | 'link'): boolean {
  switch (expr.kind) {
    case 'attribute':
      return expr.scope === scope;
    case 'intrinsic':
      return expr.name.startsWith(`${scope}:`);
    case 'binary':
      return readsScope(expr.lhs, scope) || readsScope(expr.rhs, scope);
    case 'unary':
      return readsScope(expr.operand, scope);
    default:
      return false;
  }
}

function isField(expr: FieldExpression): expr is AttributeField | IntrinsicField {
  return expr.kind === 'attribute' || expr.kind === 'intrinsic';
}

function isConstant(expr: FieldExpression): boolean {
  switch (expr.kind) {
    case 'attribute':
    case 'intrinsic':
      return false;
    case 'binary':
      return isConstant(expr.lhs) && isConstant(expr.rhs);
    case 'unary':
      return isConstant(expr.operand);
    default:
      return true;
  }
}

function constantFn(value: TraceQLValue): ValueFn {
  return () => value;
}

/** Bytes, kvlists and empty values are not searchable (spec §4): they read as missing. */
function searchable(value: AnyValue | undefined): AnyValue | undefined {
  return value === undefined || kindOfAny(value) === Kind.Nil ? undefined : value;
}

/** `=~` / `!~` on an OTLP value: strings match or not; arrays any / no string element. */
function regexAny(value: AnyValue, re: TraceQLRegex, negated: boolean): boolean {
  if (value.type === 'string') return re.matches(value.value) !== negated;
  if (value.type !== 'array') return false;
  let strings = false;
  for (const element of value.value) {
    if (element.type !== 'string') continue;
    strings = true;
    if (re.matches(element.value)) return !negated;
  }
  return negated && strings;
}

/** `regexAny` for a `TraceQLValue`. */
function regexValue(value: TraceQLValue, re: TraceQLRegex, negated: boolean): boolean {
  if (value.type === 'string') return re.matches(value.value) !== negated;
  if (value.type !== 'array') return false;
  let strings = false;
  for (const element of value.value) {
    if (element.type !== 'string') continue;
    strings = true;
    if (re.matches(element.value)) return !negated;
  }
  return negated && strings;
}

const ID_INTRINSICS: ReadonlySet<IntrinsicName> = new Set([
  'span:id',
  'span:parentID',
  'trace:id',
  'link:traceID',
  'link:spanID',
]);

function isIdField(expr: FieldExpression): boolean {
  return expr.kind === 'intrinsic' && ID_INTRINSICS.has(expr.name);
}

/** Hex ids compare as numbers: leading zeros are optional (spec §3.2). Model ids are lowercase. */
export function normalizeId(id: string): string {
  return id.charCodeAt(0) === 48 ? id.replace(/^0+/, '') : id;
}

function idValue(value: TraceQLValue): TraceQLValue {
  return value.type === 'string' ? { type: 'string', value: normalizeId(value.value.toLowerCase()) } : value;
}

/** A raw intrinsic as a `TraceQLValue`. */
function boxed(raw: RawField): ValueFn {
  const get = raw.get;
  switch (raw.kind) {
    case Kind.String:
      return (ctx) => {
        const v = get(ctx);
        return v === undefined ? NIL : { type: 'string', value: v as string };
      };
    case Kind.Int:
      return (ctx) => {
        const v = get(ctx);
        return v === undefined ? NIL : { type: 'int', value: BigInt(v as number) };
      };
    case Kind.Duration:
      return (ctx) => {
        const v = get(ctx);
        return v === undefined ? NIL : { type: 'duration', value: durationNanos(v as bigint) };
      };
    case Kind.Status:
      return (ctx) => {
        const v = get(ctx);
        return v === undefined ? NIL : { type: 'status', value: v as ReturnType<typeof statusWord> };
      };
    default:
      return (ctx) => {
        const v = get(ctx);
        return v === undefined ? NIL : { type: 'kind', value: v as ReturnType<typeof kindWord> };
      };
  }
}

const spanOf = (ctx: EvalContext): Span => ctx.trace.spans[ctx.span];

/**
 * The raw getter of every supported intrinsic (spec §3.2); undefined for `parent`. Ints are
 * returned as numbers (exact: counts and nested-set numbers), durations as bigints.
 */
function intrinsicField(name: IntrinsicName): RawField | undefined {
  const field = (kind: Kind, get: RawGetter, id = false): RawField => ({ kind, get, id });
  switch (name) {
    case 'span:name':
      return field(Kind.String, (ctx) => spanOf(ctx).name);
    case 'span:status':
      return field(Kind.Status, (ctx) => statusWord(spanOf(ctx).status.code));
    case 'span:statusMessage':
      return field(Kind.String, (ctx) => spanOf(ctx).status.message);
    case 'span:kind':
      return field(Kind.SpanKind, (ctx) => kindWord(spanOf(ctx).kind));
    case 'span:duration':
      return field(Kind.Duration, (ctx) => ctx.trace.duration(ctx.span));
    case 'span:id':
      return field(Kind.String, (ctx) => spanOf(ctx).spanId, true);
    case 'span:parentID':
      return field(Kind.String, (ctx) => spanOf(ctx).parentSpanId, true);
    case 'span:childCount':
      return field(Kind.Int, (ctx) => ctx.trace.tree.childCount[ctx.span]);
    case 'trace:duration':
      return field(Kind.Duration, (ctx) => ctx.trace.traceDuration);
    case 'trace:rootName':
      return field(Kind.String, (ctx) => (ctx.trace.root < 0 ? undefined : ctx.trace.spans[ctx.trace.root].name));
    case 'trace:rootService':
      return field(Kind.String, (ctx) => ctx.trace.rootService);
    case 'trace:id':
      return field(Kind.String, (ctx) => spanOf(ctx).traceId, true);
    case 'event:name':
      return field(Kind.String, (ctx) => (ctx.event < 0 ? undefined : spanOf(ctx).events[ctx.event].name));
    case 'event:timeSinceStart':
      return field(Kind.Duration, (ctx) => {
        if (ctx.event < 0) return undefined;
        const span = spanOf(ctx);
        return span.events[ctx.event].timeUnixNano - span.startTimeUnixNano;
      });
    case 'link:traceID':
      return field(Kind.String, (ctx) => (ctx.link < 0 ? undefined : spanOf(ctx).links[ctx.link].traceId), true);
    case 'link:spanID':
      return field(Kind.String, (ctx) => (ctx.link < 0 ? undefined : spanOf(ctx).links[ctx.link].spanId), true);
    case 'instrumentation:name':
      return field(Kind.String, (ctx) => spanOf(ctx).scope.name);
    case 'instrumentation:version':
      return field(Kind.String, (ctx) => spanOf(ctx).scope.version);
    case 'nestedSetLeft':
      return field(Kind.Int, (ctx) => ctx.trace.tree.left[ctx.span]);
    case 'nestedSetRight':
      return field(Kind.Int, (ctx) => ctx.trace.tree.right[ctx.span]);
    case 'nestedSetParent':
      return field(Kind.Int, (ctx) => ctx.trace.tree.nestedParent[ctx.span]);
    case 'parent':
      return undefined;
  }
}
