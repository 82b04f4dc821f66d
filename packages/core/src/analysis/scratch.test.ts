import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTrace } from './build-trace.ts';
import { criticalPath } from './critical-path.ts';
import { releaseScratch, takeScratch } from './scratch.ts';
import { testSpan } from './test-support.ts';

describe('scratch memory', () => {
  it('hands the same buffer to the next call, zeroed where asked', () => {
    const first = takeScratch(64);
    first.int32(4).fill(7);
    const buffer = first.buffer;
    releaseScratch(first);
    const second = takeScratch(64);
    assert.equal(second.buffer, buffer);
    assert.deepEqual([...second.int32(4)], [0, 0, 0, 0]);
    releaseScratch(second);
  });

  it('gives a nested caller a buffer of its own', () => {
    const outer = takeScratch(64);
    const inner = takeScratch(64);
    assert.notEqual(inner.buffer, outer.buffer);
    releaseScratch(inner);
    releaseScratch(outer);
  });

  it('frees back to a mark, falls back to fresh arrays when full and grows for the next call', () => {
    const scratch = takeScratch(16);
    const size = scratch.buffer.byteLength;
    const mark = scratch.mark();
    const a = scratch.uint8(size);
    assert.equal(a.buffer, scratch.buffer);
    scratch.reset(mark);
    assert.equal(scratch.uint8(size).byteOffset, a.byteOffset);
    const fresh = scratch.float64Dirty(4);
    assert.notEqual(fresh.buffer, scratch.buffer);
    assert.equal(scratch.highWater, size + 32);
    releaseScratch(scratch);
    const next = takeScratch(0);
    assert.ok(next.buffer.byteLength >= size + 32);
    releaseScratch(next);
  });

  it('never lets results share memory with a later call', () => {
    // root 0..10 with a child 2..6, then a different trace: the first path must not change.
    const first = buildTrace([
      testSpan({ id: 'r', start: 0, end: 10 }),
      testSpan({ id: 'a', parent: 'r', start: 2, end: 6 }),
    ]);
    const path = criticalPath(first);
    const before = { span: [...path.span], start: [...path.start], end: [...path.end] };
    const second = buildTrace([
      testSpan({ id: 'x', start: 0, end: 100 }),
      testSpan({ id: 'y', parent: 'x', start: 50, end: 90 }),
      testSpan({ id: 'z', parent: 'x', start: 10, end: 40 }),
    ]);
    criticalPath(second);
    assert.deepEqual({ span: [...path.span], start: [...path.start], end: [...path.end] }, before);
    assert.deepEqual([...first.parent], [-1, 0]);
    assert.deepEqual([...first.children], [1]);
  });
});
