import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServeArgs, SERVE_USAGE } from './config.ts';

describe('ariadne serve: token and TLS options', () => {
  it('are unset by default: nothing changes', () => {
    const config = parseServeArgs([], {});
    assert.ok(config !== 'help');
    assert.equal(config.ingestTokenFile, undefined);
    assert.equal(config.queryTokenFile, undefined);
    assert.equal(config.tls, undefined);
  });

  it('come from flags or ARIADNE_* variables, flags first', () => {
    const config = parseServeArgs(['--ingest-token-file', '/etc/ariadne/ingest', '--tls-cert', 'c.pem'], {
      ARIADNE_INGEST_TOKEN_FILE: '/ignored',
      ARIADNE_QUERY_TOKEN_FILE: '/etc/ariadne/query',
      ARIADNE_TLS_KEY: 'k.pem',
    });
    assert.ok(config !== 'help');
    assert.equal(config.ingestTokenFile, '/etc/ariadne/ingest');
    assert.equal(config.queryTokenFile, '/etc/ariadne/query');
    assert.deepEqual(config.tls, { certFile: 'c.pem', keyFile: 'k.pem' });
  });

  it('a certificate without its key (or the reverse) is a usage error', () => {
    assert.throws(
      () => parseServeArgs(['--tls-cert', 'c.pem'], {}),
      /--tls-cert and --tls-key go together: --tls-key is missing/,
    );
    assert.throws(() => parseServeArgs([], { ARIADNE_TLS_KEY: 'k.pem' }), /--tls-cert is missing/);
  });

  it('are in the help', () => {
    for (const flag of ['--ingest-token-file', '--query-token-file', '--tls-cert', '--tls-key'])
      assert.ok(SERVE_USAGE.includes(flag), flag);
    assert.match(SERVE_USAGE, /ARIADNE_QUERY_TOKEN_FILE/);
  });
});
