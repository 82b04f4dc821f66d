import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysisToJson, analyzeTrace, splitByTrace } from './analyze-trace.ts';
import { buildTrace } from './build-trace.ts';
import { criticalPath } from './critical-path.ts';
import { mergeDependencies, traceDependencies } from './dependencies.ts';
import { analyzeErrors, isErrorSpan } from './errors.ts';
import { toMermaid } from './mermaid.ts';
import { testSpan } from './test-support.ts';
import { selfTimes, timeByService } from './time-by-service.ts';
import { renderWaterfall } from './waterfall-text.ts';

describe('time per service', () => {
  it('counts concurrent children once in self time', () => {
    // parent |----------------------------| 0..100
    //   a       |--------|                    10..40
    //   b            |-----------|            25..60
    //   c                              |---------| 90..130 (clipped to 90..100)
    // union of children in parent: 10..60 + 90..100 = 60; self = 40
    // (one host, so that c is not moved by the clock-skew adjustment)
    const trace = buildTrace([
      testSpan({ id: 'parent', start: 0, end: 100, service: 'api', host: 'h' }),
      testSpan({ id: 'a', parent: 'parent', start: 10, end: 40, service: 'db', host: 'h' }),
      testSpan({ id: 'b', parent: 'parent', start: 25, end: 60, service: 'db', host: 'h' }),
      testSpan({ id: 'c', parent: 'parent', start: 90, end: 130, service: 'cache', host: 'h' }),
    ]);
    const self = selfTimes(trace);
    assert.deepEqual(Array.from(self), [40, 30, 35, 40]);
    const time = timeByService(trace);
    const api = time.byService.find((t) => t.service === 'api')!;
    assert.equal(api.selfNanos, 40n);
    // critical path: parent 0..25, b 25..60, parent 60..90, c 90..100; a ends at 40, after b
    // starts, so it overlaps b and is not on the path
    assert.deepEqual(
      time.byService.map((t) => [t.service, t.criticalPathNanos]),
      [
        ['api', 55n],
        ['db', 35n],
        ['cache', 10n],
      ],
    );
    const sum = time.byService.reduce((acc, t) => acc + t.criticalPathNanos, 0n);
    assert.equal(sum, 100n);
    assert.equal(time.byOperation.length, 4);
  });
});

describe('errors', () => {
  it('tells propagated, recovered and swallowed errors apart', () => {
    // GET /checkout (ERROR)       |----------------------------------------|  propagated
    //   reserve (ERROR)             |--------|                                propagated
    //     db (ERROR)                  |--|                                    propagated, root cause
    //   charge (ERROR)                         |----|                         recovered by the retry
    //     card (ERROR)                          |-|                           recovered through charge
    //   charge (ok)                                  |----|
    //   notify (ERROR)                                      |----|           propagated, root cause
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 100, name: 'GET /checkout', status: 2 }),
      testSpan({ id: 'res', parent: 'root', start: 5, end: 20, name: 'reserve', status: 2 }),
      testSpan({ id: 'db', parent: 'res', start: 6, end: 9, name: 'db', status: 2, service: 'db' }),
      testSpan({ id: 'ch1', parent: 'root', start: 25, end: 40, name: 'charge', status: 2 }),
      testSpan({ id: 'card', parent: 'ch1', start: 26, end: 30, name: 'card', status: 2 }),
      testSpan({ id: 'ch2', parent: 'root', start: 45, end: 60, name: 'charge' }),
      testSpan({ id: 'ntf', parent: 'root', start: 65, end: 80, name: 'notify', status: 2 }),
    ]);
    const result = analyzeErrors(trace);
    assert.deepEqual(
      result.errors.map((e) => `${e.name}:${e.outcome}${e.rootCause ? '*' : ''}`),
      [
        'GET /checkout:propagated',
        'reserve:propagated',
        'db:propagated*',
        'charge:recovered',
        'card:recovered*',
        'notify:propagated*',
      ],
    );
    assert.equal(result.hasSwallowed, false);
    assert.deepEqual(
      result.rootCauses.map((c) => c.chain.map((i) => trace.spans[i].name)),
      [
        ['db', 'reserve', 'GET /checkout'],
        ['card', 'charge', 'GET /checkout'],
        ['notify', 'GET /checkout'],
      ],
    );
  });

  it('is not a root cause when an error lies deeper, below spans that succeeded', () => {
    // GET / (ERROR)        |------------------------|   propagated, not a root cause
    //   proxy (ok)           |------------------|
    //     auth (ok)            |-------------|
    //       ldap (ERROR)         |---|              swallowed, the root cause
    const trace = buildTrace([
      testSpan({ id: 'ldap', parent: 'auth', start: 3, end: 5, name: 'ldap', status: 2 }),
      testSpan({ id: 'root', start: 0, end: 50, name: 'GET /', status: 2 }),
      testSpan({ id: 'auth', parent: 'proxy', start: 2, end: 20, name: 'auth' }),
      testSpan({ id: 'proxy', parent: 'root', start: 1, end: 30, name: 'proxy' }),
    ]);
    const result = analyzeErrors(trace);
    assert.deepEqual(
      result.errors.map((e) => `${e.name}:${e.outcome}${e.rootCause ? '*' : ''}`),
      ['GET /:propagated', 'ldap:swallowed*'],
    );
    assert.deepEqual(
      result.rootCauses.map((c) => c.chain.map((i) => trace.spans[i].name)),
      [['ldap', 'auth', 'proxy', 'GET /']],
    );
  });

  it('flags a swallowed error: the lost order', () => {
    // GET /order (ok)    |---------------------|
    //   save (ok)          |-----------|
    //     queue (ERROR)      |--|          nobody retried, save reported success
    //   save2 (ERROR)                   |--|  concurrent "save" does not count as a retry
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 50, name: 'GET /order' }),
      testSpan({ id: 'save', parent: 'root', start: 5, end: 30, name: 'save' }),
      testSpan({ id: 'q', parent: 'save', start: 6, end: 9, name: 'queue', status: 2, statusMessage: 'full' }),
    ]);
    const result = analyzeErrors(trace);
    assert.deepEqual(
      result.errors.map((e) => [e.name, e.outcome, e.reason]),
      [['queue', 'swallowed', 'full']],
    );
    assert.equal(result.hasSwallowed, true);
  });

  it('does not count a concurrent or earlier sibling as a retry', () => {
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 50 }),
      testSpan({ id: 'ok1', parent: 'root', start: 1, end: 5, name: 'call' }),
      testSpan({ id: 'bad', parent: 'root', start: 10, end: 20, name: 'call', status: 2 }),
      testSpan({ id: 'ok2', parent: 'root', start: 10, end: 15, name: 'call' }),
    ]);
    assert.equal(analyzeErrors(trace).errors[0].outcome, 'swallowed');
  });

  it('reads HTTP 5xx on server spans and exception events when the status is unset', () => {
    const http = (code: string | bigint, kind: number) =>
      testSpan({
        id: 'x',
        start: 0,
        end: 1,
        kind,
        attributes: [
          {
            key: typeof code === 'string' ? 'http.status_code' : 'http.response.status_code',
            value: typeof code === 'string' ? { type: 'string', value: code } : { type: 'int', value: code },
          },
        ],
      });
    assert.equal(isErrorSpan(http(503n, 2)), true);
    assert.equal(isErrorSpan(http('500', 2)), true);
    assert.equal(isErrorSpan(http(404n, 2)), false);
    assert.equal(isErrorSpan(http(503n, 3)), false);
    assert.equal(isErrorSpan({ ...http(503n, 2), status: { code: 1, message: '' } }), false);
    const exception = testSpan({
      id: 'e',
      start: 0,
      end: 1,
      events: [{ timeUnixNano: 0n as never, name: 'exception', attributes: [], droppedAttributesCount: 0 }],
    });
    assert.equal(isErrorSpan(exception), true);
  });
});

describe('dependencies', () => {
  it('counts calls between services, including uninstrumented databases, and merges exactly', () => {
    // frontend GET /         |--------------------|
    //   frontend GET /cart     |--------|             client
    //     cart GET /cart        |------|              server (ERROR)
    //       cart HGET             |-|                 client, db.system=redis
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 100, service: 'frontend', kind: 2 }),
      testSpan({ id: 'cli', parent: 'root', start: 10, end: 50, service: 'frontend', kind: 3 }),
      testSpan({ id: 'srv', parent: 'cli', start: 12, end: 48, service: 'cart', kind: 2, status: 2 }),
      testSpan({
        id: 'db',
        parent: 'srv',
        start: 20,
        end: 30,
        service: 'cart',
        kind: 3,
        attributes: [{ key: 'db.system', value: { type: 'string', value: 'redis' } }],
      }),
    ]);
    const deps = traceDependencies(trace, analyzeErrors(trace).isError);
    assert.deepEqual(deps.edges, [
      { caller: 'cart', callee: 'redis', callCount: 1, errorCount: 0, durationNanos: 10n },
      { caller: 'frontend', callee: 'cart', callCount: 1, errorCount: 1, durationNanos: 36n },
    ]);
    const merged = mergeDependencies([deps, deps, { edges: [] }]);
    assert.deepEqual(merged.edges[1], {
      caller: 'frontend',
      callee: 'cart',
      callCount: 2,
      errorCount: 2,
      durationNanos: 72n,
    });
  });
});

describe('toMermaid and renderWaterfall', () => {
  const spans = [
    testSpan({ id: 'root', start: 0, end: 100_000_000, service: 'frontend', name: 'GET "/"' }),
    testSpan({ id: 'a', parent: 'root', start: 10_000_000, end: 60_000_000, service: 'cart', status: 2 }),
  ];
  it('draws one subgraph per service, escaped labels and error classes', () => {
    const trace = buildTrace(spans);
    const text = toMermaid(trace, { criticalPath: criticalPath(trace) });
    assert.match(text, /^graph TD\n/);
    assert.match(text, /subgraph svc0\["frontend"\]/);
    assert.match(text, /s0\["GET #quot;\/#quot;<br\/>\+0ns · 100ms"\]/);
    assert.match(text, /s0 --> s1/);
    assert.match(text, /class s1 error/);
    assert.match(text, /class s1 critical/);
    assert.match(toMermaid(trace, { maxSpans: 1 }), /%% 1 more spans not drawn/);
  });
  it('renders a waterfall with the critical path marked', () => {
    const trace = buildTrace(spans);
    const text = renderWaterfall(trace, { width: 80, criticalPath: criticalPath(trace) });
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[1], /^frontend GET "\/"\s+\|#+=+#+\| 100ms$/);
    assert.match(lines[2], /^ {2}! cart a\s+\| +#+ +\| 50ms$/);
  });
});

describe('analyzeTrace', () => {
  it('produces the JSON fields of ariadne analyze --json', () => {
    const spans = [
      testSpan({ id: 'root', start: 0, end: 100, service: 'frontend' }),
      testSpan({ id: 'a', parent: 'root', start: 10, end: 60, service: 'cart', status: 2 }),
      testSpan({
        id: 'o',
        parent: 'gone',
        start: 10,
        end: 60,
        service: 'cart',
        traceId: 'ffffffffffffffffffffffffffffffff',
      }),
    ];
    assert.equal(splitByTrace(spans).length, 2);
    const json = analysisToJson(analyzeTrace(splitByTrace(spans)[0].spans));
    assert.equal(json.rootService, 'frontend');
    assert.equal(json.durationNanos, '100');
    assert.equal(json.errorCount, 1);
    assert.deepEqual(json.timeByService.cart, { selfNanos: '50', criticalPathNanos: '50', spanCount: 1 });
    assert.equal(json.criticalPath.length, 3);
    assert.equal(json.errors[0].outcome, 'swallowed');
    assert.equal(json.errors[0].chain.length, 2);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });
});
