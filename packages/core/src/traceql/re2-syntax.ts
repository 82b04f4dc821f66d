/**
 * A syntax-only check of RE2 regular expressions (Go's `regexp/syntax` with Perl flags, which is
 * what Tempo compiles `=~` patterns with), so that `{ span.foo =~ "[" }` is a validation error
 * without a regex dependency in core. It finds the errors Go reports while parsing:
 *
 * - missing closing `]` or `)`, unexpected `)`, trailing backslash;
 * - a repetition with nothing to repeat (`*a`, `(+)`, `a|?b`) or stacked on another (`a**`);
 * - repeat counts above 1000 or with min > max (`a{2,1}`);
 * - escapes RE2 does not have (`\1` back-references, `\Z`, `\C`, `\q`), bad `\x` and `\p{…}`;
 * - Perl syntax RE2 does not support (`(?=…)`, `(?!…)`, `(?<=…)`, `(?#…)`), bad flags, bad or
 *   duplicate capture names;
 * - character class ranges out of order (`[z-a]`) and unknown `[[:name:]]` classes.
 *
 * It does not check program size or nesting depth limits, and it checks `\p{Name}` against the
 * Unicode names JavaScript knows, which differ a little from Go's tables. The evaluator's RE2
 * engine remains the final word.
 */

const POSIX_CLASSES = new Set([
  'alnum',
  'alpha',
  'ascii',
  'blank',
  'cntrl',
  'digit',
  'graph',
  'lower',
  'print',
  'punct',
  'space',
  'upper',
  'word',
  'xdigit',
]);

/** Returns Go's message for the first syntax error in `pattern`, or undefined if there is none. */
export function re2SyntaxError(pattern: string): string | undefined {
  try {
    checkPattern(pattern);
    return undefined;
  } catch (error) {
    if (error instanceof RegexSyntaxError) return error.message;
    throw error;
  }
}

class RegexSyntaxError extends Error {}

function fail(message: string): never {
  throw new RegexSyntaxError(message);
}

function checkPattern(p: string): void {
  let open = 0;
  const names = new Set<string>();
  // Whether the previous item can take a repetition, and whether it was itself one.
  let canRepeat = false;
  let afterRepeat = false;
  let i = 0;
  const repeat = (length: number, text: string): void => {
    let end = i + length;
    if (p[end] === '?') end++; // non-greedy
    if (afterRepeat) fail(`invalid nested repetition operator: \`${text}\``);
    if (!canRepeat) fail(`missing argument to repetition operator: \`${p.slice(i, end)}\``);
    afterRepeat = true;
    i = end;
  };
  while (i < p.length) {
    const c = p[i];
    if (c === '*' || c === '+' || c === '?') {
      repeat(1, p.slice(i - 1, i + 1));
      continue;
    }
    if (c === '{') {
      const counts = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
      if (counts !== null && !hasLeadingZero(counts[1]) && !hasLeadingZero(counts[3] ?? '')) {
        const min = Number(counts[1]);
        const max = counts[2] === undefined ? min : counts[3] === '' ? -1 : Number(counts[3]);
        if (min > 1000 || max > 1000 || (max >= 0 && min > max)) fail(`invalid repeat count: \`${counts[0]}\``);
        repeat(counts[0].length, counts[0]);
        continue;
      }
    }
    afterRepeat = false;
    if (c === '(') {
      i = openGroup(p, i, names);
      if (p[i - 1] === ')') continue; // flags only, as in `(?i)`: no group opened
      open++;
      canRepeat = false;
    } else if (c === ')') {
      if (open === 0) fail('unexpected ): `' + p + '`');
      open--;
      canRepeat = true;
      i++;
    } else if (c === '|') {
      canRepeat = false;
      i++;
    } else if (c === '[') {
      i = checkClass(p, i);
      canRepeat = true;
    } else if (c === '\\') {
      i = checkEscape(p, i, false);
      canRepeat = true;
    } else {
      canRepeat = true;
      i += c.length;
    }
  }
  if (open > 0) fail('missing closing ): `' + p + '`');
}

function hasLeadingZero(digits: string): boolean {
  return digits.length >= 2 && digits[0] === '0';
}

/** `(`, `(?:`, `(?flags)`, `(?flags:`, `(?P<name>`, `(?<name>`; returns the index after it. */
function openGroup(p: string, i: number, names: Set<string>): number {
  if (p[i + 1] !== '?') return i + 1;
  const named = /^\(\?P?<(?![=!])/.exec(p.slice(i));
  if (named !== null) {
    const close = p.indexOf('>', i);
    const name = close === -1 ? '' : p.slice(i + named[0].length, close);
    if (close === -1 || !/^\w+$/.test(name)) fail(`invalid named capture: \`${p.slice(i, close + 1 || p.length)}\``);
    if (names.has(name)) fail(`duplicate capture group name: \`${name}\``);
    names.add(name);
    return close + 1;
  }
  let j = i + 2;
  let negated = false;
  let sawFlag = false;
  while (j < p.length) {
    const c = p[j];
    if ('imsU'.includes(c)) {
      sawFlag = true;
    } else if (c === '-' && !negated) {
      negated = true;
      sawFlag = false;
    } else if (c === ':' || c === ')') {
      if (negated && !sawFlag) break;
      return j + 1;
    } else {
      break;
    }
    j++;
  }
  return fail(`invalid or unsupported Perl syntax: \`${p.slice(i, j + 1)}\``);
}

/** `[…]`; returns the index after the closing `]`. */
function checkClass(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '^') i++;
  let first = true;
  for (;;) {
    if (i >= p.length) fail(`missing closing ]: \`${p.slice(start)}\``);
    if (p[i] === ']' && !first) return i + 1;
    first = false;
    if (p.startsWith('[:', i)) {
      const close = p.indexOf(':]', i + 2);
      if (close !== -1) {
        const name = p.slice(i + 2, close).replace(/^\^/, '');
        if (!POSIX_CLASSES.has(name)) fail(`invalid character class range: \`${p.slice(i, close + 2)}\``);
        i = close + 2;
        continue;
      }
    }
    if (p[i] === '\\' && /^[dDsSwWpP]$/.test(p[i + 1] ?? '')) {
      i = checkEscape(p, i, true);
      continue;
    }
    const lo = classChar(p, i);
    i = lo.next;
    if (p[i] === '-' && i + 1 < p.length && p[i + 1] !== ']') {
      const hi = classChar(p, i + 1);
      if (hi.codePoint < lo.codePoint) fail(`invalid character class range: \`${p.slice(lo.at, hi.next)}\``);
      i = hi.next;
    }
  }
}

/** One character of a class, literal or escaped. */
function classChar(p: string, i: number): { readonly codePoint: number; readonly next: number; readonly at: number } {
  if (p[i] !== '\\') {
    const codePoint = p.codePointAt(i)!;
    return { codePoint, next: i + String.fromCodePoint(codePoint).length, at: i };
  }
  const next = checkEscape(p, i, true);
  return { codePoint: escapedCodePoint(p.slice(i, next)), next, at: i };
}

/** The code point a single-character escape stands for (only used to order range ends). */
function escapedCodePoint(text: string): number {
  const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
  const e = text[1];
  if (e in simple) return simple[e];
  if (e === 'x') return Number.parseInt(text.slice(2).replace(/[{}]/g, ''), 16);
  if (e >= '0' && e <= '7') return Number.parseInt(text.slice(1), 8);
  return text.codePointAt(1)!;
}

/** A backslash escape at `i`; returns the index after it. Inside a class fewer escapes exist. */
function checkEscape(p: string, i: number, inClass: boolean): number {
  const e = p[i + 1];
  if (e === undefined) fail('trailing backslash at end of expression: ``');
  const invalid = (): never => fail(`invalid escape sequence: \`${p.slice(i, i + 2)}\``);
  if (!inClass && 'AzbB'.includes(e)) return i + 2;
  if ('dDsSwW'.includes(e)) return i + 2;
  if (e === 'p' || e === 'P') {
    if (p[i + 2] !== '{') {
      if (p[i + 2] === undefined || !isUnicodeClassName(p[i + 2]))
        fail(`invalid character class range: \`${p.slice(i, i + 3)}\``);
      return i + 3;
    }
    const close = p.indexOf('}', i + 3);
    const name = close === -1 ? '' : p.slice(i + 3, close).replace(/^\^/, '');
    if (close === -1 || !isUnicodeClassName(name)) {
      fail(`invalid character class range: \`${p.slice(i, close === -1 ? p.length : close + 1)}\``);
    }
    return close + 1;
  }
  if (!inClass && e === 'Q') {
    const end = p.indexOf('\\E', i + 2);
    return end === -1 ? p.length : end + 2;
  }
  if (e >= '1' && e <= '7') {
    // A lone \1 … \7 would be a back-reference, which RE2 does not have.
    if (!/[0-7]/.test(p[i + 2] ?? '')) invalid();
  }
  if (e >= '0' && e <= '7') {
    let j = i + 2;
    while (j < i + 4 && /[0-7]/.test(p[j] ?? '')) j++;
    return j;
  }
  if (e === 'x') {
    if (p[i + 2] === '{') {
      const close = p.indexOf('}', i + 3);
      const hex = close === -1 ? '' : p.slice(i + 3, close);
      if (!/^[0-9a-fA-F]+$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff) invalid();
      return close + 1;
    }
    if (!/^[0-9a-fA-F]{2}$/.test(p.slice(i + 2, i + 4))) invalid();
    return i + 4;
  }
  if ('afnrtv'.includes(e)) return i + 2;
  // Any ASCII punctuation (and other non-alphanumeric ASCII) may be escaped to stand for itself.
  if (e.charCodeAt(0) < 0x80 && !/[0-9A-Za-z]/.test(e)) return i + 2;
  return invalid();
}

/**
 * `Any`, `Assigned`, `ASCII`, a general category (`L`, `Lu`, `Letter`) or a script (`Greek`),
 * checked against the Unicode property values JavaScript knows. Slightly more lenient than Go
 * (JavaScript also knows four-letter script codes such as `Grek`).
 */
function isUnicodeClassName(name: string): boolean {
  if (/^(?:any|assigned|ascii)$/i.test(name)) return true;
  if (!/^[A-Za-z][A-Za-z_]*$/.test(name)) return false;
  return ['General_Category', 'Script'].some((property) => {
    try {
      new RegExp(`\\p{${property}=${name}}`, 'u');
      return true;
    } catch {
      return false;
    }
  });
}
