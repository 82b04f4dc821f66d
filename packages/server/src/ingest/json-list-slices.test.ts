import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonListPieces, type ListPiece, parseListPiece } from './json-list-slices.ts';

/** The elements of every piece, in order, and each piece's size. */
function readPieces(text: string, perPiece: number): { elements: unknown[]; sizes: number[] } | undefined {
  const body = Buffer.from(text);
  const pieces = jsonListPieces(body, perPiece);
  if (pieces === undefined) return undefined;
  const elements: unknown[] = [];
  for (const piece of pieces) {
    const parsed = parseListPiece(body, piece);
    assert.equal(parsed.length, piece.count, `piece ${JSON.stringify(piece)} of ${text}`);
    elements.push(...parsed);
  }
  return { elements, sizes: pieces.map((p: ListPiece) => p.count) };
}

describe('jsonListPieces', () => {
  it('cuts a list into pieces whose elements are the list’s, whatever the strings and nesting hold', () => {
    const list = [
      { a: 'x,y', b: ['[', ']', '{', '}'], c: { d: [1, [2, [3]]] } },
      'a "quoted" \\ string, with \\" escapes \\\\',
      '\\',
      [],
      {},
      null,
      true,
      -1.5e3,
      'zürich ✓ 😀',
      { '': '' },
    ];
    for (const text of [JSON.stringify(list), JSON.stringify(list, null, 2), ` \r\n\t${JSON.stringify(list)}\n `]) {
      for (const perPiece of [1, 2, 3, list.length, 100]) {
        const read = readPieces(text, perPiece);
        assert.ok(read, `cut ${perPiece}: ${text}`);
        assert.deepEqual(read.elements, list);
        assert.equal(read.sizes.length, Math.ceil(list.length / perPiece));
        assert.ok(
          read.sizes.every((n, i) => n === (i < read.sizes.length - 1 ? perPiece : list.length - perPiece * i)),
          `${read.sizes}`,
        );
      }
    }
    assert.deepEqual(readPieces('[]', 2), { elements: [], sizes: [] });
    assert.deepEqual(readPieces(' [ \n ] ', 2), { elements: [], sizes: [] });
    assert.deepEqual(readPieces('[7]', 2), { elements: [7], sizes: [1] });
  });

  it('leaves to the whole parse what it cannot cut', () => {
    for (const text of [
      '',
      '   ',
      '{"a": [1, 2]}',
      '"[1, 2]"',
      '[1, 2] x',
      '[1, 2]]',
      '[1, 2',
      '[1, "2]',
      '[1, 2}',
      '[1,]',
      '[,1]',
      '[1,,2]',
      '\uFEFF[1]',
    ]) {
      assert.equal(jsonListPieces(Buffer.from(text), 1), undefined, text);
    }
    assert.throws(() => jsonListPieces(Buffer.from('[]'), 0), RangeError);
  });

  it('leaves a piece whose elements are not JSON to JSON.parse, which refuses it', () => {
    // Only strings and brackets are looked at: `[1 2]` is cut as one element and fails to parse.
    const body = Buffer.from('[1 2, 3]');
    const pieces = jsonListPieces(body, 1);
    assert.deepEqual(
      pieces?.map((p) => p.count),
      [1, 1],
    );
    assert.throws(() => parseListPiece(body, (pieces as ListPiece[])[0]), SyntaxError);
    assert.deepEqual(parseListPiece(body, (pieces as ListPiece[])[1]), [3]);
  });

  it('reads a piece out of a view into a larger buffer', () => {
    const whole = Buffer.from('xxxx["a","b"]yy');
    const view = whole.subarray(4, 13);
    const pieces = jsonListPieces(view, 1) as ListPiece[];
    assert.deepEqual(
      pieces.map((p) => parseListPiece(view, p)),
      [['a'], ['b']],
    );
  });

  it('agrees with JSON.parse on generated lists and on generated text', () => {
    // A list cut anywhere reads back as JSON.parse reads it whole.
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), fc.integer({ min: 1, max: 5 }), fc.boolean(), (list, perPiece, pretty) => {
        const text = pretty ? JSON.stringify(list, null, 1) : JSON.stringify(list);
        const read = readPieces(text, perPiece);
        assert.ok(read, text);
        assert.deepEqual(read.elements, JSON.parse(text));
      }),
      { numRuns: 2_000, seed: 20261208 },
    );
    // Any text: what it cuts, JSON.parse reads whole to the same elements; what JSON.parse
    // refuses, it either cannot cut or a piece fails to parse.
    const jsonish = fc.string({
      unit: fc.constantFrom('[', ']', '{', '}', ',', '"', '\\', ':', ' ', '1', 'a', 'null'),
      maxLength: 40,
    });
    fc.assert(
      fc.property(jsonish, fc.integer({ min: 1, max: 3 }), (text, perPiece) => {
        let whole: unknown;
        try {
          whole = JSON.parse(text);
        } catch {
          whole = undefined;
        }
        let read: ReturnType<typeof readPieces>;
        try {
          read = readPieces(text, perPiece);
        } catch (error) {
          assert.ok(error instanceof SyntaxError, String(error));
          assert.equal(whole, undefined, `a piece failed, the whole parsed: ${text}`);
          return;
        }
        if (read === undefined) return;
        assert.ok(Array.isArray(whole), `cut, but not a list as a whole: ${text}`);
        assert.deepEqual(read.elements, whole, text);
      }),
      { numRuns: 20_000, seed: 20261208 },
    );
  });
});
