/**
 * Where the spans of an OTLP/JSON request lie in its text, so that a huge request can be parsed a
 * slice of spans at a time. `JSON.parse` takes no slices: a 38.8 MB request (25,000 spans) took
 * 0.5–1.2 s to parse whole, during which the prepare worker answered no other client (issue 16
 * asks for at most 200 ms). This scanner finds every `resourceSpans[r].scopeSpans[s].spans` array
 * and the text of each of its elements, without building anything; `JSON.parse` then reads the
 * rest of the document (the resources and scopes, small) and the spans a slice at a time.
 *
 * The pieces are checked as the whole would be: every character of the text is in the skeleton or
 * in one slice, except the separators between slices, which the scanner checks itself (whitespace,
 * one comma, whitespace). So the request is valid JSON exactly when the skeleton and every slice
 * are, and each piece parses to what the whole would have held there. Where the scanner meets what
 * it does not follow (`resourceSpans`, `scopeSpans` or `spans` given twice in one object, where
 * `JSON.parse` would keep the last; broken structure), it gives up and the caller parses the text
 * whole, which also gives the exact error message.
 */

/** One `resourceSpans[r].scopeSpans[s].spans` array of the text. */
export interface SpanArrayText {
  readonly resourceIndex: number;
  readonly scopeIndex: number;
  /** Where each element starts, and one past where it ends (`ends[i]`), in the text. */
  readonly starts: number[];
  readonly ends: number[];
}

/** A request's text cut into the part around its span arrays and the arrays' elements. */
export interface SplitOtlpJson {
  /** The text with every span array emptied (`"spans": []`): resources and scopes. */
  readonly skeleton: string;
  /** The span arrays, in the order of the text (which is the order of `resourceSpans`). */
  readonly arrays: SpanArrayText[];
}

/** Thrown inside the scanner when it gives up; never leaves this module. */
class NotFollowed extends Error {}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
/** The next character that opens or closes something a value skip must follow. */
const STRUCTURE = /["{}[\]]/g;

/**
 * Cuts an OTLP/JSON request's text at its span arrays (see the module comment); undefined when the
 * scanner does not follow the text, and it must be parsed whole.
 */
export function splitOtlpJson(text: string): SplitOtlpJson | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.document();
  } catch (error) {
    if (error instanceof NotFollowed) return undefined;
    throw error;
  }
  let skeleton = '';
  let from = 0;
  for (const [start, end] of scanner.cuts) {
    skeleton += text.slice(from, start);
    from = end;
  }
  skeleton += text.slice(from);
  return { skeleton, arrays: scanner.arrays };
}

class Scanner {
  private i = 0;
  /** The contents of each span array, `[start, end)`: left out of the skeleton. */
  readonly cuts: [number, number][] = [];
  readonly arrays: SpanArrayText[] = [];

  constructor(private readonly text: string) {}

  document(): void {
    this.ws();
    this.object('resourceSpans', () => this.objects((r) => this.resourceSpans(r)));
    this.ws();
    if (this.i !== this.text.length) throw new NotFollowed();
  }

  private resourceSpans(r: number): void {
    this.object('scopeSpans', () => this.objects((s) => this.scopeSpans(r, s)));
  }

  private scopeSpans(r: number, s: number): void {
    this.object('spans', () => {
      if (this.peek() === OPEN_BRACKET) this.spans(r, s);
      else this.value();
    });
  }

  /** A span array: records where each element is, and its contents as a cut. */
  private spans(resourceIndex: number, scopeIndex: number): void {
    const starts: number[] = [];
    const ends: number[] = [];
    this.i++;
    const contentStart = this.i;
    this.items(CLOSE_BRACKET, () => {
      starts.push(this.i);
      this.value();
      ends.push(this.i);
    });
    this.cuts.push([contentStart, this.i - 1]);
    this.arrays.push({ resourceIndex, scopeIndex, starts, ends });
  }

  /**
   * An object: the value of its key `tracked` is scanned by `scan`, every other value skipped
   * (anything but an object is skipped whole). `tracked` given twice is not followed: `JSON.parse`
   * keeps the last of duplicated keys.
   */
  private object(tracked: string, scan: () => void): void {
    if (this.peek() !== OPEN_BRACE) {
      this.value();
      return;
    }
    this.i++;
    let seen = false;
    this.items(CLOSE_BRACE, () => {
      if (this.peek() !== QUOTE) throw new NotFollowed();
      const key = this.key();
      this.ws();
      if (this.peek() !== COLON) throw new NotFollowed();
      this.i++;
      this.ws();
      if (key !== tracked) {
        this.value();
        return;
      }
      if (seen) throw new NotFollowed();
      seen = true;
      scan();
    });
  }

  /** An array whose elements go to `each` with their index; anything else is skipped. */
  private objects(each: (index: number) => void): void {
    if (this.peek() !== OPEN_BRACKET) {
      this.value();
      return;
    }
    this.i++;
    this.items(CLOSE_BRACKET, each);
  }

  /**
   * The comma-separated items of an object or array, the scanner just past its opening bracket:
   * `each` scans one item (with its index), at its first character; ends past `close`.
   */
  private items(close: number, each: (index: number) => void): void {
    this.ws();
    if (this.peek() === close) {
      this.i++;
      return;
    }
    for (let index = 0; ; index++) {
      each(index);
      this.ws();
      const c = this.peek();
      this.i++;
      if (c === close) return;
      if (c !== COMMA) throw new NotFollowed();
      this.ws();
    }
  }

  /** A key: its text as `JSON.parse` reads it (escapes decoded). */
  private key(): string {
    const start = this.i;
    this.string();
    const raw = this.text.slice(start + 1, this.i - 1);
    if (raw.indexOf('\\') < 0) return raw;
    try {
      return JSON.parse(this.text.slice(start, this.i)) as string;
    } catch {
      throw new NotFollowed();
    }
  }

  /** Skips a string, the scanner at its opening quote. */
  private string(): void {
    const text = this.text;
    let at = this.i + 1;
    while (true) {
      const quote = text.indexOf('"', at);
      if (quote < 0) throw new NotFollowed();
      // The quote is escaped when an odd number of backslashes comes before it.
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
      at = quote + 1;
      if (backslashes % 2 === 0) break;
    }
    this.i = at;
  }

  /**
   * Skips one value without reading it: strings whole, objects and arrays by their brackets,
   * anything else up to the next delimiter. Whether it is valid JSON is for `JSON.parse` to say.
   */
  private value(): void {
    const c = this.peek();
    if (c === QUOTE) {
      this.string();
      return;
    }
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
      const start = this.i;
      while (this.i < this.text.length) {
        const d = this.text.charCodeAt(this.i);
        if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isWhitespace(d)) break;
        this.i++;
      }
      if (this.i === start) throw new NotFollowed();
      return;
    }
    let depth = 0;
    while (true) {
      STRUCTURE.lastIndex = this.i;
      const found = STRUCTURE.exec(this.text);
      if (found === null) throw new NotFollowed();
      this.i = found.index;
      const d = this.text.charCodeAt(this.i);
      if (d === QUOTE) {
        this.string();
        continue;
      }
      this.i++;
      if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (--depth === 0) return;
    }
  }

  private peek(): number {
    return this.text.charCodeAt(this.i);
  }

  private ws(): void {
    while (isWhitespace(this.text.charCodeAt(this.i))) this.i++;
  }
}

/** JSON's whitespace: space, tab, line feed, carriage return. */
export function isWhitespace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}
