import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from './logger.ts';

/** A stream that keeps what is written to it. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('createLogger', () => {
  it('writes one JSON object a line by default when not on a terminal, with the cause', () => {
    const out = sink();
    const logger = createLogger({ destination: out.stream, isTerminal: false });
    logger.error({ err: new Error('disk full'), spans: 3 }, 'write failed');
    const line = JSON.parse(out.text().trim());
    assert.equal(line.msg, 'write failed');
    assert.equal(line.spans, 3);
    assert.equal(line.err.message, 'disk full');
    assert.equal(line.name, 'ariadne');
  });

  it('writes readable text on a terminal (auto) or when asked, not JSON', () => {
    for (const options of [{ isTerminal: true }, { format: 'text' as const, isTerminal: false }]) {
      const out = sink();
      const logger = createLogger({ destination: out.stream, ...options });
      logger.warn({ err: new Error('timeout'), shard: 2 }, 'ClickHouse insert retried');
      const text = out.text();
      assert.match(text, /WARN/);
      assert.match(text, /ClickHouse insert retried/);
      assert.match(text, /shard: 2/);
      assert.match(text, /timeout/);
      assert.throws(() => JSON.parse(text.split('\n')[0]), 'not a JSON line');
    }
  });

  it('writes JSON on a terminal when asked, and honours the level', () => {
    const out = sink();
    const logger = createLogger({ destination: out.stream, format: 'json', isTerminal: true, level: 'warn' });
    logger.info('hidden');
    logger.warn('shown');
    const lines = out.text().trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]).msg, 'shown');
  });
});
