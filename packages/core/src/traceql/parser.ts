/**
 * The TraceQL parser: text to the typed tree of ast.ts, by precedence climbing over the tokens of
 * lexer.ts. Precedence, lowest first (spec §1, Tempo's `expr.y`):
 *
 * ```
 * 1  |                                        pipeline stages
 * 2  &&  ||                                   one level, left-associative
 * 3  = != < <= > >= =~ !~  and  > >> < << ~ !> !>> !< !<< !~ &> &>> &< &<< &~   left
 * 4  +  -                                     left
 * 5  !x                                       prefix; its operand takes * / % ^ and -x
 * 6  *  /  %                                  left
 * 7  ^                                        right-associative
 * 8  -x                                       prefix; its operand is a single primary
 * ```
 *
 * So `{ a || b && c }` is `{ (a || b) && c }`, `{ !.a = .b }` is `{ (!.a) = .b }` and
 * `{a} && {b} >> {c}` is `{a} && ({b} >> {c})`. Unary minus follows the spec's table: in Tempo's
 * `expr.y` the rule for `-x` inside filters carries the precedence of binary minus, so Tempo reads
 * `-.a ^ 2` as `-(.a ^ 2)` where we read `(-.a) ^ 2`; for `* / %` the two groupings agree in value.
 *
 * Outside `{ }` the same operators combine spansets, pipelines and numbers, and what a node may
 * combine with is checked as it is built: spanset operators need spansets (or parenthesised
 * pipelines) on both sides; comparisons need numbers or aggregates, with an aggregate on at least
 * one side; arithmetic between plain numbers is `+ - * /` only, as in Tempo's `scalar` rule.
 */

import type {
  Aggregate,
  AggregateFunction,
  ArithmeticOperator,
  AttributeField,
  CoalesceOperation,
  ComparisonOperator,
  FieldBinaryOperator,
  FieldExpression,
  GroupBy,
  IntrinsicField,
  Literal,
  PipelineOperation,
  PipelineStage,
  QueryHint,
  ScalarExpression,
  ScalarFilter,
  ScalarNegation,
  ScalarPipeline,
  SelectOperation,
  SourceRange,
  SpansetExpression,
  SpansetFilter,
  SpansetOperator,
  SpansetPipeline,
  TraceQLQuery,
} from './ast.ts';
import {
  FIELD_PRECEDENCE,
  KIND_VALUES,
  MAX_INT,
  METRICS_FUNCTIONS,
  METRICS_SECOND_STAGE,
  MIN_INT,
  SCOPED_ONLY_SUGGESTIONS,
  STATUS_VALUES,
  UNSCOPED_INTRINSICS,
} from './keywords.ts';
import type { TraceQLLexer, TraceQLPunctuation, TraceQLToken } from './lexer.ts';
import { createTraceQLLexer } from './lexer.ts';
import { TraceQLError } from './traceql-error.ts';

/** Outside `{ }`: spanset operators, comparisons and arithmetic. `=~` is not among them. */
const TERM_PRECEDENCE: Readonly<Partial<Record<TraceQLPunctuation, number>>> = {
  '||': 1,
  '&&': 1,
  '=': 2,
  '!=': 2,
  '<': 2,
  '<=': 2,
  '>': 2,
  '>=': 2,
  '>>': 2,
  '<<': 2,
  '~': 2,
  '!>': 2,
  '!<': 2,
  '!>>': 2,
  '!<<': 2,
  '!~': 2,
  '&>': 2,
  '&<': 2,
  '&>>': 2,
  '&<<': 2,
  '&~': 2,
  '+': 3,
  '-': 3,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};

/** The operand of `!` takes `* / % ^` and unary minus (Tempo gives `!` a level between + and *). */
const NOT_OPERAND = 5;
/** The operand of unary minus is a single primary (spec §1: unary minus binds tightest). */
const MINUS_OPERAND = 8;

const COMPARISONS: ReadonlySet<string> = new Set(['=', '!=', '<', '<=', '>', '>=']);
const ARITHMETIC: ReadonlySet<string> = new Set(['+', '-', '*', '/', '%', '^']);
const AGGREGATES: ReadonlySet<string> = new Set(['count', 'avg', 'min', 'max', 'sum']);

/**
 * What a piece of text outside `{ }` turned out to be, while the tree is built bottom-up:
 * - `spanset`: a spanset expression (`{…}`, `({…} && {…})`);
 * - `pipeline`: a parenthesised pipeline that is more than a spanset expression, or pipelines
 *   combined with a spanset operator;
 * - `scalar`: numbers and aggregates; `shape` says what it is built from (`literal`: numbers
 *   only; `aggregate`: at least one aggregate; `pipeline`: `(… | aggregate)` pipelines);
 * - `filter`: a comparison; `piped` when it compares `(… | aggregate)` pipelines;
 * - `stage`: `by()`, `coalesce()` or `select()`.
 */
type Term =
  | { readonly t: 'spanset'; readonly node: SpansetExpression }
  | { readonly t: 'pipeline'; readonly node: SpansetPipeline | PipelineOperation }
  | { readonly t: 'scalar'; readonly node: ScalarExpression; readonly shape: 'literal' | 'aggregate' | 'pipeline' }
  | { readonly t: 'filter'; readonly node: ScalarFilter; readonly piped: boolean }
  | { readonly t: 'stage'; readonly node: GroupBy | CoalesceOperation | SelectOperation };

/**
 * Parses a TraceQL search query into a {@link TraceQLQuery}. Throws a `TraceQLError`:
 * code `syntax` for text that does not parse, with the position and what was expected
 * (`1:15: expected "}" or an operator, found "status"`); code `unsupported` for a metrics query
 * (`1:6: metrics queries (rate()) are not supported yet`).
 *
 * Does not type-check (`{ 1 = "a" }` parses; see `validateTraceQL`) and does not fold constants
 * (`{ 1 + 1 > 1 }` stays a tree; Tempo folds it to `{ true }`). Accepts a little more than
 * Tempo's LALR grammar where the meaning is plain: `({a}) && ({b} | count() > 1)` (Tempo fails on
 * the first operand being a bare spanset), a parenthesised pipeline as a stage, which is flattened
 * (`({a} | {b}) | {c}` is `{a} | {b} | {c}`), several `with (…)` clauses, and any word as a hint
 * name.
 */
export function parseTraceQL(source: string): TraceQLQuery {
  const query = new Parser(source).parseQuery();
  checkDepth(query, source);
  return query;
}

/**
 * The deepest tree accepted, counting both nesting (`((…))`) and operator chains (`a || b || …`
 * is as deep as it is long). The validator, the printer and the evaluator recurse over the tree,
 * so a deeper one would overflow the stack instead of failing with a clear error.
 */
export const MAX_QUERY_DEPTH = 1000;

/** Holds the lexer and the one-token lookahead of a single parse. */
class Parser {
  private readonly lexer: TraceQLLexer;
  private tok: TraceQLToken;
  private prevEnd = 0;
  /** How deeply the parse functions have recursed, to refuse `((((…))))` before the stack does. */
  private nesting = 0;

  constructor(private readonly source: string) {
    this.lexer = createTraceQLLexer(source);
    this.tok = this.lexer.next();
  }

  parseQuery(): TraceQLQuery {
    const start = this.tok.start;
    const body = this.finishRoot(this.parseChain('root'));
    const hints: QueryHint[] = [];
    while (this.isWord('with')) hints.push(...this.parseHints());
    if (this.tok.kind !== 'eof') {
      throw this.expected(hints.length > 0 ? 'end of query' : 'an operator, "|", "with" or end of query');
    }
    return { kind: 'query', body, hints, start, end: this.prevEnd };
  }

  // ----------------------------------------------------------------------------------------------
  // Tokens

  private advance(): TraceQLToken {
    const t = this.tok;
    this.prevEnd = t.end;
    this.tok = this.lexer.next();
    return t;
  }

  private isPunct(p: TraceQLPunctuation): boolean {
    return this.tok.kind === 'punct' && this.tok.value === p;
  }

  private isWord(w: string): boolean {
    return this.tok.kind === 'word' && this.tok.value === w;
  }

  private expectPunct(p: TraceQLPunctuation, what = `"${p}"`): TraceQLToken {
    if (!this.isPunct(p)) throw this.expected(what);
    return this.advance();
  }

  private expected(what: string): TraceQLError {
    return this.errorAt(this.tok, `expected ${what}, found ${describeToken(this.tok)}`);
  }

  private errorAt(at: { readonly start: number; readonly end: number }, reason: string): TraceQLError {
    return new TraceQLError('syntax', reason, this.source, at.start, at.end);
  }

  // ----------------------------------------------------------------------------------------------
  // Pipelines

  /** `term | term | …`. A bare scalar may only end a parenthesised chain (`({…} | count())`). */
  private parseChain(context: 'root' | 'paren'): Term[] {
    const terms: Term[] = [];
    for (;;) {
      const term = this.parseTerm(1);
      terms.push(term);
      if (term.t === 'scalar' && !(context === 'paren' && this.isPunct(')'))) {
        throw this.expected('a comparison operator ("=", "!=", "<", "<=", ">" or ">=")');
      }
      if (!this.isPunct('|')) return terms;
      this.advance();
    }
  }

  private finishRoot(terms: readonly Term[]): TraceQLQuery['body'] {
    if (terms.length > 1) return this.pipelineOf(terms);
    const term = terms[0];
    switch (term.t) {
      case 'pipeline':
        return term.node;
      case 'filter':
        return term.piped ? term.node : this.pipelineOf(terms);
      default:
        return this.pipelineOf(terms);
    }
  }

  /** What `( chain )` is: see {@link Term}. */
  private finishParenthesised(terms: readonly Term[]): Term {
    const last = terms[terms.length - 1];
    if (terms.length === 1) {
      if (last.t === 'spanset' || last.t === 'scalar' || last.t === 'pipeline') return last;
      if (last.t === 'filter' && last.piped) {
        throw this.errorAt(last.node, 'a comparison between pipelines must be the whole query');
      }
      return { t: 'pipeline', node: this.pipelineOf(terms) };
    }
    if (last.t !== 'scalar') return { t: 'pipeline', node: this.pipelineOf(terms) };
    if (last.node.kind !== 'aggregate') {
      throw this.errorAt(last.node, 'a pipeline in parentheses may end in one aggregate, such as count(), only');
    }
    const pipeline = this.pipelineOf(terms.slice(0, -1));
    const node: ScalarPipeline = {
      kind: 'scalarPipeline',
      pipeline,
      aggregate: last.node,
      start: pipeline.start,
      end: last.node.end,
    };
    return { t: 'scalar', node, shape: 'pipeline' };
  }

  /** The stages of a chain; parenthesised pipelines are flattened into it. */
  private pipelineOf(terms: readonly Term[]): SpansetPipeline {
    const stages: PipelineStage[] = [];
    for (const term of terms) {
      switch (term.t) {
        case 'spanset':
          stages.push(term.node);
          break;
        case 'filter':
          if (term.piped) throw this.errorAt(term.node, 'a comparison between pipelines must be the whole query');
          stages.push(term.node);
          break;
        case 'stage':
          if (stages.length === 0 && term.node.kind === 'coalesce') {
            throw this.errorAt(term.node, 'coalesce() cannot be the first stage of a pipeline');
          }
          stages.push(term.node);
          break;
        case 'pipeline':
          if (term.node.kind === 'pipelineOperation') {
            throw this.errorAt(
              term.node,
              `pipelines combined with "${term.node.op}" cannot be a stage of another pipeline`,
            );
          }
          stages.push(...term.node.stages);
          break;
        case 'scalar':
          throw this.errorAt(term.node, 'expected a comparison operator after this expression');
      }
    }
    return { kind: 'pipeline', stages, start: stages[0].start, end: stages[stages.length - 1].end };
  }

  /** Precedence climbing over terms (everything outside `{ }`). */
  private parseTerm(minPrecedence: number, after?: TraceQLPunctuation): Term {
    let lhs = this.parseTermPrefix(after);
    for (;;) {
      const tok = this.tok;
      if (tok.kind !== 'punct') return lhs;
      const precedence = TERM_PRECEDENCE[tok.value];
      if (precedence === undefined || precedence < minPrecedence) return lhs;
      this.advance();
      // `^` is right-associative, the rest left-associative.
      const rhs = this.parseTerm(tok.value === '^' ? precedence : precedence + 1, tok.value);
      lhs = this.combine(tok, lhs, rhs);
    }
  }

  /** One operand outside `{ }`; `after` is the operator before it, to say what was expected. */
  private parseTermPrefix(after?: TraceQLPunctuation): Term {
    this.enter();
    try {
      return this.parseTermPrefixInner(after);
    } finally {
      this.nesting--;
    }
  }

  private enter(): void {
    if (++this.nesting > MAX_QUERY_DEPTH) {
      throw this.errorAt(this.tok, `the query nests too deeply (more than ${MAX_QUERY_DEPTH} levels)`);
    }
  }

  private parseTermPrefixInner(after?: TraceQLPunctuation): Term {
    const tok = this.tok;
    if (tok.kind === 'punct') {
      if (tok.value === '{') return { t: 'spanset', node: this.parseSpansetFilter() };
      if (tok.value === '(') {
        this.advance();
        const term = this.finishParenthesised(this.parseChain('paren'));
        const close = this.expectPunct(')', '")" or an operator');
        return { ...term, node: withRange(term.node, tok.start, close.end) } as Term;
      }
      if (tok.value === '-') {
        this.advance();
        const operand = this.parseTerm(MINUS_OPERAND, '-');
        if (operand.t !== 'scalar' || operand.shape !== 'literal') {
          throw this.errorAt(tok, `outside "{ }", "-" can only negate a number, not ${describeTerm(operand)}`);
        }
        const node: ScalarNegation = {
          kind: 'scalarNegation',
          operand: operand.node,
          start: tok.start,
          end: operand.node.end,
        };
        return { t: 'scalar', node, shape: 'literal' };
      }
    }
    if (tok.kind === 'int' || tok.kind === 'float' || tok.kind === 'duration') {
      return { t: 'scalar', node: this.parseNumericLiteral(), shape: 'literal' };
    }
    if (tok.kind === 'word') {
      if (AGGREGATES.has(tok.value)) return { t: 'scalar', node: this.parseAggregate(), shape: 'aggregate' };
      switch (tok.value) {
        case 'by':
          return { t: 'stage', node: this.parseGroupBy() };
        case 'coalesce':
          return { t: 'stage', node: this.parseCoalesce() };
        case 'select':
          return { t: 'stage', node: this.parseSelect() };
      }
      if (METRICS_FUNCTIONS.has(tok.value)) {
        throw new TraceQLError(
          'unsupported',
          `metrics queries (${tok.value}()) are not supported yet`,
          this.source,
          tok.start,
          tok.end,
        );
      }
      if (METRICS_SECOND_STAGE.has(tok.value)) {
        throw this.errorAt(tok, `${tok.value}() can only follow a metrics function such as rate()`);
      }
    }
    if (after === '<' || after === '>') throw this.expected(`a spanset, a number or an aggregate after "${after}"`);
    if (after !== undefined && (COMPARISONS.has(after) || ARITHMETIC.has(after))) {
      throw this.expected(`a number or an aggregate after "${after}"`);
    }
    if (after !== undefined) throw this.expected(`a spanset filter "{ … }" or "(" after "${after}"`);
    throw this.expected('a spanset filter "{ … }" or a pipeline stage');
  }

  /** Builds `lhs op rhs` outside `{ }`, checking that the operator fits what its sides are. */
  private combine(opToken: TraceQLToken & { readonly kind: 'punct' }, lhs: Term, rhs: Term): Term {
    const op = opToken.value;
    const start = lhs.node.start;
    const end = rhs.node.end;
    const setLike = (t: Term): boolean => t.t === 'spanset' || t.t === 'pipeline';
    const structural = !COMPARISONS.has(op) && !ARITHMETIC.has(op);
    if (structural || ((op === '<' || op === '>') && setLike(lhs) && setLike(rhs))) {
      for (const [side, t] of [
        ['left', lhs],
        ['right', rhs],
      ] as const) {
        if (!setLike(t)) {
          throw this.errorAt(opToken, `"${op}" combines spansets, but its ${side} side is ${describeTerm(t)}`);
        }
      }
      const spansetOp = op as SpansetOperator;
      if (lhs.t === 'spanset' && rhs.t === 'spanset') {
        return {
          t: 'spanset',
          node: { kind: 'spansetOperation', op: spansetOp, lhs: lhs.node, rhs: rhs.node, start, end },
        };
      }
      const node: PipelineOperation = {
        kind: 'pipelineOperation',
        op: spansetOp,
        lhs: asPipeline(lhs),
        rhs: asPipeline(rhs),
        start,
        end,
      };
      return { t: 'pipeline', node };
    }
    if (lhs.t !== 'scalar' || rhs.t !== 'scalar') {
      const what = op === '<' || op === '>' ? 'two spansets or two numbers' : 'numbers or aggregates';
      throw this.errorAt(opToken, `"${op}" needs ${what}, found ${describeTerm(lhs)} and ${describeTerm(rhs)}`);
    }
    const piped = lhs.shape === 'pipeline' || rhs.shape === 'pipeline';
    if (COMPARISONS.has(op)) {
      if (lhs.shape === 'literal' && rhs.shape === 'literal') {
        throw this.errorAt(opToken, 'a scalar filter needs an aggregate such as count() on one side');
      }
      if (piped && (lhs.shape !== 'pipeline' || rhs.shape === 'aggregate')) {
        throw this.errorAt(
          opToken,
          'a comparison of pipelines needs "(… | aggregate)" on the left and a pipeline or a number on the right',
        );
      }
      const node: ScalarFilter = {
        kind: 'scalarFilter',
        op: op as ComparisonOperator,
        lhs: lhs.node,
        rhs: rhs.node,
        start,
        end,
      };
      return { t: 'filter', node, piped };
    }
    if (piped && (lhs.shape !== 'pipeline' || rhs.shape !== 'pipeline')) {
      throw this.errorAt(opToken, `"${op}" between "(… | aggregate)" pipelines needs a pipeline on both sides`);
    }
    if (lhs.shape === 'literal' && rhs.shape === 'literal' && (op === '%' || op === '^')) {
      throw this.errorAt(opToken, `"${op}" needs an aggregate on one side; between numbers only + - * / are allowed`);
    }
    const shape = piped ? 'pipeline' : lhs.shape === 'literal' && rhs.shape === 'literal' ? 'literal' : 'aggregate';
    const node: ScalarExpression = {
      kind: 'scalarOperation',
      op: op as ArithmeticOperator,
      lhs: lhs.node,
      rhs: rhs.node,
      start,
      end,
    };
    return { t: 'scalar', node, shape };
  }

  private parseAggregate(): Aggregate {
    const name = this.advance();
    const fn = name.kind === 'word' ? (name.value as AggregateFunction) : 'count';
    this.expectPunct('(', `"(" after "${fn}"`);
    let arg: FieldExpression | undefined;
    if (fn !== 'count') arg = this.parseFieldOperand();
    const close = this.expectPunct(')', fn === 'count' ? '")": count() takes no argument' : '")" or an operator');
    return { kind: 'aggregate', fn, arg, start: name.start, end: close.end };
  }

  private parseGroupBy(): GroupBy {
    const name = this.advance();
    this.expectPunct('(', '"(" after "by"');
    const expr = this.parseFieldOperand();
    const close = this.expectPunct(')', '")" or an operator');
    return { kind: 'groupBy', expr, start: name.start, end: close.end };
  }

  private parseCoalesce(): CoalesceOperation {
    const name = this.advance();
    this.expectPunct('(', '"(" after "coalesce"');
    const close = this.expectPunct(')', '")": coalesce() takes no argument');
    return { kind: 'coalesce', start: name.start, end: close.end };
  }

  private parseSelect(): SelectOperation {
    const name = this.advance();
    this.expectPunct('(', '"(" after "select"');
    const fields: (AttributeField | IntrinsicField)[] = [];
    for (;;) {
      const field = this.parseFieldReference();
      if (field === undefined) throw this.expected('an attribute or an intrinsic (select() takes fields only)');
      fields.push(field);
      if (!this.isPunct(',')) break;
      this.advance();
    }
    const close = this.expectPunct(')', '"," or ")"');
    return { kind: 'select', fields, start: name.start, end: close.end };
  }

  private parseHints(): QueryHint[] {
    this.advance();
    this.expectPunct('(', '"(" after "with"');
    const hints: QueryHint[] = [];
    for (;;) {
      const name = this.tok;
      if (name.kind !== 'word') throw this.expected('a hint name');
      this.advance();
      this.expectPunct('=', `"=" after the hint name`);
      const value = this.parseFieldPrimaryLiteral();
      if (value === undefined || value.kind === 'nil')
        throw this.expected('a hint value (a string, number or keyword)');
      hints.push({ kind: 'hint', name: name.value, value, start: name.start, end: value.end });
      if (!this.isPunct(',')) break;
      this.advance();
    }
    this.expectPunct(')', '"," or ")"');
    return hints;
  }

  // ----------------------------------------------------------------------------------------------
  // Spansets and fields

  private parseSpansetFilter(): SpansetFilter {
    const open = this.advance();
    if (this.isPunct('}')) {
      const close = this.advance();
      return { kind: 'spansetFilter', expr: undefined, start: open.start, end: close.end };
    }
    const expr = this.parseFieldOperand();
    const close = this.expectPunct('}', '"}" or an operator');
    return { kind: 'spansetFilter', expr, start: open.start, end: close.end };
  }

  /** A whole field expression where `nil` alone is not allowed (inside `{ }`, `( )`, `by( )` …). */
  private parseFieldOperand(): FieldExpression {
    return this.notNil(this.parseField(1));
  }

  private parseField(minPrecedence: number): FieldExpression {
    let lhs = this.parseFieldPrefix();
    for (;;) {
      const tok = this.tok;
      if (tok.kind !== 'punct') return lhs;
      const precedence = FIELD_PRECEDENCE[tok.value];
      if (precedence === undefined || precedence < minPrecedence) return lhs;
      this.advance();
      const rhs = this.parseField(tok.value === '^' ? precedence : precedence + 1);
      const op = tok.value as FieldBinaryOperator;
      // nil is only an operand of = and != (the existence tests), as in Tempo's grammar.
      if (op !== '=' && op !== '!=') {
        this.notNil(lhs);
        this.notNil(rhs);
      }
      lhs = { kind: 'binary', op, lhs, rhs, start: lhs.start, end: rhs.end };
    }
  }

  private parseFieldPrefix(): FieldExpression {
    this.enter();
    try {
      return this.parseFieldPrefixInner();
    } finally {
      this.nesting--;
    }
  }

  private parseFieldPrefixInner(): FieldExpression {
    const tok = this.tok;
    if (tok.kind === 'punct' && (tok.value === '!' || tok.value === '-')) {
      this.advance();
      const operand = this.notNil(this.parseField(tok.value === '!' ? NOT_OPERAND : MINUS_OPERAND));
      return { kind: 'unary', op: tok.value, operand, start: tok.start, end: operand.end };
    }
    if (tok.kind === 'punct' && tok.value === '(') {
      this.advance();
      const inner = this.parseFieldOperand();
      const close = this.expectPunct(')', '")" or an operator');
      return withRange(inner, tok.start, close.end);
    }
    const reference = this.parseFieldReference();
    if (reference !== undefined) return reference;
    const literal = this.parseFieldPrimaryLiteral();
    if (literal !== undefined) return literal;
    if (tok.kind === 'word') {
      const scoped = SCOPED_ONLY_SUGGESTIONS.get(tok.value);
      if (scoped !== undefined) throw this.errorAt(tok, `unknown identifier "${tok.value}"; did you mean ${scoped}?`);
      if (!/^(?:count|avg|min|max|sum|by|select|coalesce|with)$/.test(tok.value) && !METRICS_FUNCTIONS.has(tok.value)) {
        throw this.errorAt(
          tok,
          `unknown identifier "${tok.value}": attribute names start with "." or a scope such as "span."`,
        );
      }
    }
    throw this.expected('a field or a value');
  }

  /** An attribute or an intrinsic (either spelling), or undefined without consuming anything. */
  private parseFieldReference(): AttributeField | IntrinsicField | undefined {
    const tok = this.tok;
    if (tok.kind === 'attribute') {
      this.advance();
      const { scope, parent, name, start, end } = tok;
      return { kind: 'attribute', scope, parent, name, start, end };
    }
    if (tok.kind === 'intrinsic') {
      this.advance();
      return { kind: 'intrinsic', name: tok.name, start: tok.start, end: tok.end };
    }
    const alias = tok.kind === 'word' ? UNSCOPED_INTRINSICS.get(tok.value) : undefined;
    if (alias === undefined) return undefined;
    this.advance();
    return { kind: 'intrinsic', name: alias, start: tok.start, end: tok.end };
  }

  /** A literal, or undefined without consuming anything. */
  private parseFieldPrimaryLiteral(): Literal | undefined {
    const tok = this.tok;
    const { start, end } = tok;
    switch (tok.kind) {
      case 'string':
        this.advance();
        return { kind: 'string', value: tok.value, start, end };
      case 'int':
      case 'float':
      case 'duration':
        return this.parseNumericLiteral();
      case 'word':
        break;
      default:
        return undefined;
    }
    const word = tok.value;
    let literal: Literal | undefined;
    if (word === 'true' || word === 'false') literal = { kind: 'bool', value: word === 'true', start, end };
    else if (word === 'nil') literal = { kind: 'nil', start, end };
    else if (word === 'minInt') literal = { kind: 'int', value: MIN_INT, start, end };
    else if (word === 'maxInt') literal = { kind: 'int', value: MAX_INT, start, end };
    else if (STATUS_VALUES.has(word)) literal = { kind: 'status', value: word as 'ok', start, end };
    else if (KIND_VALUES.has(word)) literal = { kind: 'spanKind', value: word as 'server', start, end };
    if (literal !== undefined) this.advance();
    return literal;
  }

  private parseNumericLiteral(): ScalarExpression & Literal {
    const tok = this.advance();
    const { start, end } = tok;
    if (tok.kind === 'int') return { kind: 'int', value: tok.value, start, end };
    if (tok.kind === 'float') return { kind: 'float', value: tok.value, start, end };
    if (tok.kind === 'duration') return { kind: 'duration', nanos: tok.value, start, end };
    throw this.errorAt(tok, `expected a number, found ${describeToken(tok)}`);
  }

  private notNil(expr: FieldExpression): FieldExpression {
    if (expr.kind === 'nil') throw this.errorAt(expr, 'nil can only be compared with "=" or "!="');
    return expr;
  }
}

/** Throws if the tree is deeper than {@link MAX_QUERY_DEPTH}; walks with its own stack. */
function checkDepth(query: TraceQLQuery, source: string): void {
  const stack: [object, number][] = [[query, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (depth > MAX_QUERY_DEPTH) {
      const { start, end } = node as SourceRange;
      const reason = `the query nests too deeply (more than ${MAX_QUERY_DEPTH} levels)`;
      throw new TraceQLError('syntax', reason, source, start, end);
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) for (const child of value) stack.push([child, depth + 1]);
      else if (typeof value === 'object' && value !== null) stack.push([value, depth + 1]);
    }
  }
}

/** The node with its range widened to the parentheses around it. */
function withRange<T extends SourceRange>(node: T, start: number, end: number): T {
  return { ...node, start, end };
}

function asPipeline(term: Term): SpansetPipeline | PipelineOperation {
  if (term.t === 'pipeline') return term.node;
  if (term.t !== 'spanset') throw new Error(`unreachable: ${term.t} is not a pipeline`);
  return { kind: 'pipeline', stages: [term.node], start: term.node.start, end: term.node.end };
}

function describeTerm(term: Term): string {
  switch (term.t) {
    case 'spanset':
      return 'a spanset';
    case 'pipeline':
      return 'a pipeline';
    case 'filter':
      return 'a scalar filter';
    case 'stage':
      return `${term.node.kind === 'groupBy' ? 'by' : term.node.kind}()`;
    case 'scalar':
      if (term.shape === 'literal') return 'a number';
      return term.shape === 'aggregate' ? 'an aggregate' : 'a pipeline ending in an aggregate';
  }
}

/** How a token is named in "found …": quoted source text, or "end of query". */
function describeToken(tok: TraceQLToken): string {
  if (tok.kind === 'eof') return 'end of query';
  const text = tok.text.length > 40 ? `${tok.text.slice(0, 37)}...` : tok.text;
  return tok.kind === 'string' ? text : `"${text}"`;
}
