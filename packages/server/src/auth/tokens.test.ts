import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCookie } from './http-auth.ts';
import { safeNext } from './login.ts';
import { bearerToken, parseTokenFile, TokenFileError, TokenSet } from './tokens.ts';

const A = 'token-a-0123456789abcdef';
const B = 'token-b-0123456789abcdef';

describe('token files', () => {
  it('take one token per line, ignoring comments, blank lines and surrounding whitespace', () => {
    assert.deepEqual(parseTokenFile(`# ingest tokens\n\n  ${A}  \r\n# rotated in on Monday\n${B}\n`, 'f'), [A, B]);
  });

  it('refuse an empty file, a short token and a line with spaces, naming the line and never the token', () => {
    assert.throws(() => parseTokenFile('# nothing\n\n', 'empty.txt'), /empty.txt: no token in the file/);
    assert.throws(
      () => parseTokenFile(`${A}\nshort-secret\n`, 'f.txt'),
      (error: Error) =>
        error instanceof TokenFileError &&
        /f.txt:2: a token of 12 characters is too easy to guess/.test(error.message) &&
        !error.message.includes('short-secret'),
    );
    assert.throws(
      () => parseTokenFile('two words in one token line\n', 'f.txt'),
      (error: Error) => /f.txt:1: a token is one word/.test(error.message) && !error.message.includes('words'),
    );
    assert.throws(() => parseTokenFile('tökén-0123456789abcdef\n', 'f.txt'), /visible ASCII/);
  });
});

describe('TokenSet', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-tokens-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts every token of the file (rotation) and nothing else, not even a prefix or an extension', async () => {
    const path = join(dir, 'two');
    writeFileSync(path, `${A}\n${B}\n`);
    const set = await TokenSet.load(path, 'ingest');
    assert.equal(set.size, 2);
    assert.ok(set.verify(A));
    assert.ok(set.verify(B));
    for (const wrong of [undefined, '', A.slice(0, -1), `${A}x`, A.toUpperCase(), `${A}\n${B}`]) {
      assert.equal(set.verify(wrong), false, String(wrong));
    }
  });

  it('reload picks up a new file; a broken file keeps the tokens loaded before', async () => {
    const path = join(dir, 'rotating');
    writeFileSync(path, `${A}\n`);
    const set = await TokenSet.load(path, 'query');
    writeFileSync(path, `${B}\n`);
    assert.equal(await set.reload(), 1);
    assert.equal(set.verify(A), false);
    assert.ok(set.verify(B));
    writeFileSync(path, '# emptied by mistake\n');
    await assert.rejects(set.reload(), TokenFileError);
    assert.ok(set.verify(B));
  });

  it('a missing file is a clear error at load', async () => {
    await assert.rejects(TokenSet.load(join(dir, 'absent'), 'ingest'), /cannot read the ingest token file: .*ENOENT/);
  });

  it('session cookies: derived from a token, not holding it, and void once the token is gone', async () => {
    const path = join(dir, 'sessions');
    writeFileSync(path, `${A}\n${B}\n`);
    const set = await TokenSet.load(path, 'query');
    const session = set.sessionFor(A);
    assert.ok(session);
    assert.ok(!session.includes(A));
    assert.notEqual(session, set.sessionFor(B));
    assert.equal(set.sessionFor('not-a-token-0123456789'), undefined);
    assert.ok(set.verifySession(session));
    assert.equal(set.verifySession(A), false);
    assert.equal(set.verifySession(`${session[0] === 'A' ? 'B' : 'A'}${session.slice(1)}`), false);
    writeFileSync(path, `${B}\n`);
    await set.reload();
    assert.equal(set.verifySession(session), false);
  });

  it('watch calls back when the file is replaced', async () => {
    const path = join(dir, 'watched');
    writeFileSync(path, `${A}\n`);
    const set = await TokenSet.load(path, 'ingest');
    const changed = new Promise<void>((resolve) => set.watch(resolve, 10));
    // The poll's first stat may land after a write and take it as the starting point: the file is
    // replaced again until the watch sees a change (bounded). The poll does not hold the process
    // open (a server does): this interval holds it while the test waits.
    let writes = 0;
    const rewrite = () => writeFileSync(path, `${A}\n${B}\n# ${writes++}\n`);
    rewrite();
    const hold = setInterval(rewrite, 100);
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      changed,
      new Promise((_, reject) => {
        deadline = setTimeout(() => reject(new Error('watch never called back in 30 s')), 30_000);
      }),
    ]);
    clearTimeout(deadline);
    clearInterval(hold);
    set.unwatch();
    await set.reload();
    assert.ok(set.verify(B));
  });
});

describe('request parsing', () => {
  it('bearerToken reads RFC 6750 headers only', () => {
    assert.equal(bearerToken(`Bearer ${A}`), A);
    assert.equal(bearerToken(`bearer   ${A} `), A);
    assert.equal(bearerToken(`Basic ${A}`), undefined);
    assert.equal(bearerToken(`Bearer ${A} extra`), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });

  it('readCookie finds one cookie among others', () => {
    assert.equal(readCookie('a=1; ariadne_session=xyz; b=2', 'ariadne_session'), 'xyz');
    assert.equal(readCookie('xariadne_session=1', 'ariadne_session'), undefined);
    assert.equal(readCookie(undefined, 'ariadne_session'), undefined);
  });

  it('safeNext keeps the browser on this server', () => {
    assert.equal(safeNext('/trace/abc?span=1'), '/trace/abc?span=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'search', '/login', undefined, 5])
      assert.equal(safeNext(bad), '/search', String(bad));
  });
});
