/**
 * TraceQL regular expressions (spec §4): RE2 syntax, fully anchored, `.` matching newlines, as
 * Tempo compiles `=~ "bar"` to `^(?s:bar)$`. JavaScript's `RegExp` is not RE2 (flags, escapes,
 * backtracking), so matching goes through `re2js`, a pure-JavaScript RE2 that also runs in the
 * browser.
 */

import { RE2JS } from 're2js';

/** Patterns without any RE2 metacharacter match exactly themselves. */
const METACHARACTERS = /[\\.+*?()|[\]{}^$]/;
/** Distinct inputs remembered per pattern before the memo starts over. */
const MEMO_LIMIT = 4096;

/**
 * One compiled pattern. Attribute values repeat a lot within a search (service names, routes,
 * status codes), and an RE2 match costs microseconds where a map lookup costs nanoseconds, so
 * results are remembered per input string, up to `MEMO_LIMIT` distinct inputs.
 */
export class TraceQLRegex {
  readonly pattern: string;
  readonly #re: RE2JS | undefined;
  readonly #memo = new Map<string, boolean>();

  /** Throws `re2js`'s syntax error for an invalid pattern. */
  constructor(pattern: string) {
    this.pattern = pattern;
    if (!METACHARACTERS.test(pattern)) {
      this.#re = undefined;
      return;
    }
    // Compiled alone first: wrapping could turn an invalid pattern such as `a)|(b` into a valid one.
    RE2JS.compile(pattern);
    this.#re = RE2JS.compile(`(?s:${pattern})`);
  }

  /** True when the whole of `text` matches. */
  matches(text: string): boolean {
    const re = this.#re;
    if (re === undefined) return text === this.pattern;
    let result = this.#memo.get(text);
    if (result === undefined) {
      result = re.matches(text);
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(text, result);
    }
    return result;
  }
}

/** Compiled patterns of one query, each compiled once. */
export class RegexCache {
  readonly #byPattern = new Map<string, TraceQLRegex | null>();

  /** The compiled pattern; throws on an invalid one. */
  compile(pattern: string): TraceQLRegex {
    const found = this.#byPattern.get(pattern);
    if (found) return found;
    const regex = new TraceQLRegex(pattern);
    this.#byPattern.set(pattern, regex);
    return regex;
  }

  /**
   * For patterns only known at run time (`.a =~ .b`): the compiled pattern, or undefined when it
   * is invalid (the comparison is then false for that span rather than an error for the search).
   */
  tryCompile(pattern: string): TraceQLRegex | undefined {
    const found = this.#byPattern.get(pattern);
    if (found !== undefined) return found ?? undefined;
    try {
      return this.compile(pattern);
    } catch {
      this.#byPattern.set(pattern, null);
      return undefined;
    }
  }
}
