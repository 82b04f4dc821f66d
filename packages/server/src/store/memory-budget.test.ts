import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databaseMemoryLimit, memoryBudget, parseMemorySize } from './memory-budget.ts';

describe('memory budget', () => {
  it('gives the database half and pending spans a quarter of the limit', () => {
    const b = memoryBudget(2 * 1024 ** 3);
    assert.equal(b.databaseMemoryLimit, '1024MiB');
    assert.equal(b.maxPendingSpans, 131_072);
    assert.equal(b.maxBatchSpans, 8_192);
    assert.equal(memoryBudget(64 * 1024 ** 2).maxBatchSpans, 2_500, 'a quarter of the pending spans');
  });
  it('gives request bodies in flight and bodies waiting to be committed an eighth each, at least 16 MiB', () => {
    const b = memoryBudget(512 * 1024 ** 2);
    assert.equal(b.maxInflightBodyBytes, 64 * 1024 ** 2);
    assert.equal(b.maxPendingLogBytes, 64 * 1024 ** 2);
    assert.equal(memoryBudget(64 * 1024 ** 2).maxInflightBodyBytes, 16 * 1024 ** 2);
  });
  it('keeps sane bounds for tiny and huge limits', () => {
    assert.equal(databaseMemoryLimit(1024 ** 2), '64MiB');
    assert.equal(memoryBudget(1024 ** 2).maxPendingSpans, 10_000);
    assert.equal(memoryBudget(64 * 1024 ** 3).maxPendingSpans, 200_000);
    assert.equal(memoryBudget(64 * 1024 ** 3).maxBatchSpans, 8_192);
  });
  it('parses the sizes the CLI produces, and rejects others', () => {
    assert.equal(parseMemorySize('512MiB'), 512 * 1024 ** 2);
    assert.equal(parseMemorySize('1.5GiB'), 1.5 * 1024 ** 3);
    assert.equal(parseMemorySize('2GB'), 2e9);
    assert.equal(parseMemorySize('4096'), 4096);
    assert.equal(parseMemorySize('lots'), undefined);
    assert.equal(parseMemorySize('3 parsecs'), undefined);
  });
});
