/**
 * The structural spanset operators (spec §5) on span index lists. Each relation is computed for
 * whole lists in linear time with marks over the trace's tree (`TraceTree`), never by comparing
 * every lhs span with every rhs span:
 * ```
 * {A} >  {B}   B spans whose parent is in A           mark A, test parent[b]
 * {A} <  {B}   B spans that are the parent of an A     mark parent[a], test b
 * {A} >> {B}   B spans below an A span                 cover A's subtrees in preorder, test b
 * {A} << {B}   B spans above an A span                 mark A's ancestors, test b
 * {A} ~  {B}   B spans with a sibling in A (not self)  count A per sibling group, test b
 * ```
 * Only connected spans take part (see `evaluate-trace-index.ts`): a disconnected span is in no
 * result, positive or negated. The `!` forms return the connected B spans the plain form does
 * not return (all connected B spans when A is empty). The `&` forms return both sides: `A &> B`
 * is `(A > B) ∪ (B < A)`, the B children of A spans and the A parents of B spans.
 *
 * Lists are span indices in ascending order, and so are the results.
 */

import type { SpansetOperator } from './ast.ts';
import type { TraceTree } from './evaluate-trace-index.ts';

/** The structural operators: every spanset operator except `&&` and `||`. */
export type StructuralOperator = Exclude<SpansetOperator, '&&' | '||'>;

type Relation = '>' | '<' | '>>' | '<<' | '~';

/** Evaluates `lhs op rhs` for a structural operator; returns ascending span indices. */
export function structural(
  op: StructuralOperator,
  lhs: readonly number[],
  rhs: readonly number[],
  tree: TraceTree,
): number[] {
  switch (op) {
    case '>':
    case '<':
    case '>>':
    case '<<':
    case '~':
      return related(op, lhs, rhs, tree, false);
    case '!>':
    case '!<':
    case '!>>':
    case '!<<':
    case '!~':
      return related(op.slice(1) as Relation, lhs, rhs, tree, true);
    case '&>':
      return union(related('>', lhs, rhs, tree, false), related('<', rhs, lhs, tree, false));
    case '&<':
      return union(related('<', lhs, rhs, tree, false), related('>', rhs, lhs, tree, false));
    case '&>>':
      return union(related('>>', lhs, rhs, tree, false), related('<<', rhs, lhs, tree, false));
    case '&<<':
      return union(related('<<', lhs, rhs, tree, false), related('>>', rhs, lhs, tree, false));
    case '&~':
      return union(related('~', lhs, rhs, tree, false), related('~', rhs, lhs, tree, false));
  }
}

/** The connected `rhs` spans that have (or, with `negate`, have not) the relation to an lhs span. */
function related(relation: Relation, lhs: readonly number[], rhs: readonly number[], tree: TraceTree, negate: boolean) {
  const connected = tree.connected;
  const out: number[] = [];
  if (lhs.length === 0 || rhs.length === 0) {
    if (negate) for (const b of rhs) if (connected[b] === 1) out.push(b);
    return out;
  }
  const test = tester(relation, lhs, tree);
  for (const b of rhs) if (connected[b] === 1 && test(b) !== negate) out.push(b);
  return out;
}

/** Builds the marks for one relation and returns the test for a connected rhs span. */
function tester(relation: Relation, lhs: readonly number[], tree: TraceTree): (b: number) => boolean {
  const { connected, parent } = tree;
  const n = connected.length;
  switch (relation) {
    case '>': {
      const inA = new Uint8Array(n);
      for (const a of lhs) if (connected[a] === 1) inA[a] = 1;
      return (b) => parent[b] >= 0 && inA[parent[b]] === 1;
    }
    case '<': {
      const parentOfA = new Uint8Array(n);
      for (const a of lhs) if (connected[a] === 1 && parent[a] >= 0) parentOfA[parent[a]] = 1;
      return (b) => parentOfA[b] === 1;
    }
    case '>>': {
      // +1 where an A subtree (without A itself) starts in preorder, -1 where it ends.
      const { position, subtreeEnd } = tree;
      const size = tree.preorder.length;
      const delta = new Int32Array(size + 1);
      for (const a of lhs) {
        if (connected[a] !== 1) continue;
        delta[position[a] + 1]++;
        delta[subtreeEnd[a]]--;
      }
      const covered = new Uint8Array(size);
      let depth = 0;
      for (let p = 0; p < size; p++) {
        depth += delta[p];
        if (depth > 0) covered[p] = 1;
      }
      return (b) => covered[position[b]] === 1;
    }
    case '<<': {
      const ancestor = new Uint8Array(n);
      for (const a of lhs) {
        if (connected[a] !== 1) continue;
        // Stop at the first marked ancestor: everything above it is marked already.
        for (let p = parent[a]; p >= 0 && ancestor[p] === 0; p = parent[p]) ancestor[p] = 1;
      }
      return (b) => ancestor[b] === 1;
    }
    case '~': {
      const group = tree.siblingGroup;
      const inA = new Uint8Array(n);
      const count = new Int32Array(2 * n);
      for (const a of lhs) {
        if (connected[a] !== 1 || group[a] < 0 || inA[a] === 1) continue;
        inA[a] = 1;
        count[group[a]]++;
      }
      return (b) => group[b] >= 0 && count[group[b]] - inA[b] > 0;
    }
  }
}

/** Merges two ascending lists of span indices, without repeats. */
export function union(a: readonly number[], b: readonly number[]): number[] {
  if (b.length === 0) return a.slice();
  if (a.length === 0) return b.slice();
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x < y) {
      out.push(x);
      i++;
    } else if (y < x) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}
