import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databaseMemoryLimit, memoryBudget, PROCESS_BASELINE_BYTES, parseMemorySize } from './memory-budget.ts';

describe('memory budget', () => {
  it('sets the process baseline aside, then gives the database three eighths and pending spans a quarter', () => {
    const b = memoryBudget(2 * 1024 ** 3);
    assert.equal(PROCESS_BASELINE_BYTES, 352 * 1024 ** 2);
    assert.equal(b.databaseMemoryLimit, '636MiB', '(2048 - 352) * 3/8');
    assert.equal(b.maxPendingSpans, 108_544, '(2048 - 352) MiB / 4 / 4 KiB');
    assert.equal(b.maxBatchSpans, 8_192);
    assert.equal(memoryBudget(64 * 1024 ** 2).maxBatchSpans, 2_500, 'a quarter of the pending spans');
  });
  it('gives request bodies in flight and bodies waiting to be committed an eighth each, at least 16 MiB', () => {
    const b = memoryBudget(512 * 1024 ** 2);
    assert.equal(b.maxInflightBodyBytes, 20 * 1024 ** 2, '(512 - 352) / 8');
    assert.equal(b.maxPendingLogBytes, 20 * 1024 ** 2);
    assert.equal(b.databaseMemoryLimit, '64MiB', 'its floor');
    assert.equal(memoryBudget(64 * 1024 ** 2).maxInflightBodyBytes, 16 * 1024 ** 2);
  });
  it('keeps sane bounds for tiny and huge limits', () => {
    assert.equal(databaseMemoryLimit(1024 ** 2), '64MiB');
    assert.equal(databaseMemoryLimit(300 * 1024 ** 2), '64MiB', 'less than the baseline: a quarter is shared');
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
