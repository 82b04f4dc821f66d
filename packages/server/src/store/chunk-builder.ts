/**
 * Builds rows for a DuckDB table as plain memory in DuckDB's own vector layout, one data chunk
 * (2,048 rows) at a time, without touching DuckDB: the result (`PreparedChunk`) is typed arrays
 * only, so it can be built on a worker thread and transferred to the thread that owns the
 * database, where chunk-writer.ts copies it into DuckDB vectors with a few calls per column.
 *
 * Layouts (DuckDB's C API, `duckdb.h`; little-endian, 64-bit pointers):
 * - fixed-width columns: the values, 1, 4, 8 or 16 bytes each (UHUGEINT: low 64 bits first);
 * - VARCHAR: one 16-byte `duckdb_string_t` per row: `u32 length`, then either the string itself
 *   (up to 12 bytes, zero-padded) or its first 4 bytes and a pointer. A pointer cannot be known
 *   here, so the builder writes every long string into one per-column `heap` and puts the
 *   string's offset in the heap where the pointer goes; the writer hands the heap to DuckDB as one
 *   string and adds its address to those offsets (`longRows` lists the rows to fix up);
 * - VARCHAR[]: per row `u64 offset, u64 length` into a child VARCHAR vector, built like the above;
 * - NULLs: a validity bit mask per column (bit set = valid), present only if a row is NULL.
 *
 * Strings are encoded to UTF-8 here exactly as Node does (lone surrogates become U+FFFD).
 *
 * Usage: `next()` starts a row and returns its index in the current chunk, then one setter per
 * column (every column of every row must be set), then `finish()` once all announced rows are
 * written. Not handled: other column types; more than 2^32 bytes of strings in one chunk column.
 */

/** How a column's values are laid out; the types the store's tables use. */
export type ColumnKind = 'u8' | 'u32' | 'u64' | 'u128' | 'varchar' | 'varchar[]';

/**
 * Rows per data chunk: DuckDB's standard vector size, the most one call of a table function can
 * hand DuckDB. The main thread copies each chunk into DuckDB's vectors in one piece (about 0.5 ms
 * for 2,048 spans); 512-row chunks, needed while the appender converted chunks on that thread
 * (3–11 ms at 2,048 rows, BENCHMARKS.md session 18), made a batch's insert a quarter slower with
 * the chunk feed and left the main thread no less busy (session 19).
 */
export const CHUNK_ROWS = 2048;

/** Bytes per row of a column's data, by kind. */
export const KIND_WIDTH: Record<ColumnKind, number> = { u8: 1, u32: 4, u64: 8, u128: 16, varchar: 16, 'varchar[]': 16 };

/** Strings in DuckDB's `duckdb_string_t` layout, with their long parts in `heap`. */
export interface PreparedStrings {
  /** Number of strings. */
  readonly count: number;
  /** 16 bytes per string; long strings hold their offset in `heap` where the pointer goes. */
  readonly structs: Uint8Array;
  /** The bytes of every string longer than 12 bytes, back to back. */
  readonly heap: Uint8Array;
  /** Indices of the strings stored in `heap`. */
  readonly longRows: Uint32Array;
}

/** One column of a prepared chunk. */
export interface PreparedColumn {
  readonly kind: ColumnKind;
  /** Fixed-width values, string structs, or list entries (`rows * KIND_WIDTH[kind]` bytes). */
  readonly data: Uint8Array;
  /** Long strings of a VARCHAR column. */
  readonly heap?: Uint8Array;
  readonly longRows?: Uint32Array;
  /** The list items of a VARCHAR[] column. */
  readonly items?: PreparedStrings;
  /** Validity mask (bit set = valid), only when some row is NULL. */
  readonly validity?: Uint32Array;
}

/** Up to `CHUNK_ROWS` rows of a table, ready for a `ChunkFeed` (chunk-writer.ts). */
export interface PreparedChunk {
  readonly rows: number;
  readonly columns: readonly PreparedColumn[];
}

/** The buffers of prepared chunks, to transfer (not copy) them to another thread. */
export function chunkBuffers(chunks: readonly PreparedChunk[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: { buffer: ArrayBufferLike } | undefined) => {
    if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  };
  for (const chunk of chunks) {
    for (const c of chunk.columns) {
      add(c.data);
      add(c.heap);
      add(c.longRows);
      add(c.validity);
      if (c.items) {
        add(c.items.structs);
        add(c.items.heap);
        add(c.items.longRows);
      }
    }
  }
  return [...out];
}

/** Value of each lowercase hex digit by character code; -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** A growable string vector in `duckdb_string_t` layout. */
class StringsBuilder {
  structs: Uint8Array;
  words: Uint32Array;
  heap: Uint8Array;
  used = 0;
  longRows: Uint32Array;
  longCount = 0;

  /** Bytes of `arena` a builder for `capacity` strings takes (a multiple of 8). */
  static arenaBytes(capacity: number): number {
    return capacity * 16 + Math.max(1024, capacity * 8) + align8(Math.max(16, capacity >> 2) * 4);
  }

  /** Starts in `arena` at `offset` (8-aligned), taking `arenaBytes(capacity)` bytes. */
  constructor(capacity: number, arena: ArrayBuffer, offset: number) {
    this.structs = new Uint8Array(arena, offset, capacity * 16);
    this.words = new Uint32Array(arena, offset, capacity * 4);
    offset += capacity * 16;
    const heapBytes = Math.max(1024, capacity * 8);
    this.heap = new Uint8Array(arena, offset, heapBytes);
    this.longRows = new Uint32Array(arena, offset + heapBytes, Math.max(16, capacity >> 2));
  }

  /** Room for `rows` strings. */
  reserve(rows: number): void {
    if (rows * 16 <= this.structs.length) return;
    const grown = new Uint8Array(Math.max(rows * 16, this.structs.length * 2));
    grown.set(this.structs);
    this.structs = grown;
    this.words = new Uint32Array(grown.buffer);
  }

  setAscii(row: number, bytes: Uint8Array, length: number): void {
    const at = row * 16;
    this.words[row * 4] = length;
    if (length <= 12) {
      for (let i = 0; i < length; i++) this.structs[at + 4 + i] = bytes[i];
      return;
    }
    this.reserveHeap(length);
    this.heap.set(bytes.subarray(0, length), this.used);
    this.setLong(row, at, length);
  }

  private reserveHeap(bytes: number): void {
    if (this.used + bytes <= this.heap.length) return;
    const grown = new Uint8Array(Math.max(this.heap.length * 2, this.used + bytes));
    grown.set(this.heap.subarray(0, this.used));
    this.heap = grown;
  }

  /** Row `row` is the `length` bytes at the end of the heap. */
  private setLong(row: number, at: number, length: number): void {
    const structs = this.structs;
    const heap = this.heap;
    const from = this.used;
    structs[at + 4] = heap[from];
    structs[at + 5] = heap[from + 1];
    structs[at + 6] = heap[from + 2];
    structs[at + 7] = heap[from + 3];
    this.words[row * 4 + 2] = this.used;
    this.words[row * 4 + 3] = 0;
    if (this.longCount === this.longRows.length) {
      const grown = new Uint32Array(this.longRows.length * 2);
      grown.set(this.longRows);
      this.longRows = grown;
    }
    this.longRows[this.longCount++] = row;
    this.used += length;
  }

  set(row: number, value: string): void {
    const n = value.length;
    const at = row * 16;
    if (n <= 12) {
      // Short ASCII straight into the inline bytes (most values).
      const structs = this.structs;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        structs[at + 4 + i] = c;
      }
      if (i === n) {
        this.words[row * 4] = n;
        return;
      }
    }
    // Encode into the heap (at most 3 bytes per UTF-16 unit), then inline it if it fits.
    this.reserveHeap(n * 3);
    const length = encodeUtf8(value, this.heap, this.used);
    this.words[row * 4] = length;
    if (length <= 12) {
      this.structs.set(this.heap.subarray(this.used, this.used + length), at + 4);
      return;
    }
    this.setLong(row, at, length);
  }

  finish(count: number): PreparedStrings {
    // Views, not copies: the buffers are transferred whole.
    return {
      count,
      structs: this.structs.subarray(0, count * 16),
      heap: this.heap.subarray(0, this.used),
      longRows: this.longRows.subarray(0, this.longCount),
    };
  }
}

const encoder = new TextEncoder();

/** Writes `value` as UTF-8 into `out` at `at` (room for 3 bytes per unit is there); returns the length. */
function encodeUtf8(value: string, out: Uint8Array, at: number): number {
  const n = value.length;
  let i = 0;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) break;
    out[at + i] = c;
  }
  if (i === n) return n;
  return i + encoder.encodeInto(value.slice(i), out.subarray(at + i)).written;
}

export class ChunkBuilder {
  private readonly chunks: PreparedChunk[] = [];
  private data: Uint8Array[] = [];
  private words: Uint32Array[] = [];
  private validity: (Uint32Array | undefined)[] = [];
  private strings: (StringsBuilder | undefined)[] = [];
  private items: (StringsBuilder | undefined)[] = [];
  private itemCount: number[] = [];
  private row = 0;
  private rows = 0;

  constructor(
    private readonly kinds: readonly ColumnKind[],
    private remaining: number,
  ) {}

  /** Starts the next row; returns its index in the current chunk. */
  next(): number {
    if (this.row === this.rows) {
      this.endChunk();
      this.rows = Math.min(CHUNK_ROWS, this.remaining);
      if (this.rows === 0) throw new Error('ChunkBuilder: more rows than announced');
      const rows = this.rows;
      this.data = [];
      this.words = [];
      this.validity = [];
      this.strings = [];
      this.items = [];
      this.itemCount = [];
      // One allocation for the chunk's columns (string heaps that outgrow their share get their own).
      let bytes = 0;
      for (const kind of this.kinds) {
        if (kind === 'varchar') bytes += StringsBuilder.arenaBytes(rows);
        else bytes += align8(Math.max(4, KIND_WIDTH[kind] * rows));
        if (kind === 'varchar[]') bytes += StringsBuilder.arenaBytes(rows);
      }
      const arena = new ArrayBuffer(bytes);
      let offset = 0;
      for (const kind of this.kinds) {
        let strings: StringsBuilder | undefined;
        let data: Uint8Array;
        if (kind === 'varchar') {
          strings = new StringsBuilder(rows, arena, offset);
          offset += StringsBuilder.arenaBytes(rows);
          data = strings.structs;
        } else {
          const length = Math.max(4, KIND_WIDTH[kind] * rows);
          data = new Uint8Array(arena, offset, length);
          offset += align8(length);
        }
        this.strings.push(strings);
        this.data.push(data);
        this.words.push(strings ? strings.words : new Uint32Array(arena, data.byteOffset, data.length >> 2));
        this.validity.push(undefined);
        let items: StringsBuilder | undefined;
        if (kind === 'varchar[]') {
          items = new StringsBuilder(rows, arena, offset);
          offset += StringsBuilder.arenaBytes(rows);
        }
        this.items.push(items);
        this.itemCount.push(0);
      }
      this.row = 0;
    }
    this.remaining--;
    return this.row++;
  }

  setNull(column: number, row: number): void {
    let mask = this.validity[column];
    if (mask === undefined) {
      mask = new Uint32Array(CHUNK_ROWS / 32).fill(0xffffffff);
      this.validity[column] = mask;
    }
    mask[row >>> 5] &= ~(1 << (row & 31));
  }

  u8(column: number, row: number, value: number): void {
    this.data[column][row] = value;
  }

  u32(column: number, row: number, value: number): void {
    this.words[column][row] = value;
  }

  /** A 64-bit unsigned value from a bigint in range (checked by the caller's types). */
  u64(column: number, row: number, value: bigint): void {
    const w = this.words[column];
    w[row * 2] = Number(value & 0xffffffffn);
    w[row * 2 + 1] = Number(value >> 32n);
  }

  /**
   * A 64-bit value given as up to 16 lowercase hex digits ('' is 0), or a 128-bit value as up
   * to 32 (u128 columns); no BigInt on the way.
   */
  hex(column: number, row: number, hex: string): void {
    const kind = this.kinds[column];
    const words = kind === 'u128' ? 4 : 2;
    const n = hex.length;
    if (n > words * 8) throw new Error(`ChunkBuilder: not a ${kind} id: ${hex}`);
    const w = this.words[column];
    const base = row * words;
    // Little-endian words: the last 8 digits are word 0.
    for (let i = 0; i < words; i++) {
      const end = n - i * 8;
      let value = 0;
      for (let k = end > 8 ? end - 8 : 0; k < end; k++) {
        const c = hex.charCodeAt(k);
        const digit = c < 128 ? HEX_VALUE[c] : -1;
        if (digit < 0) throw new Error(`ChunkBuilder: not a ${kind} id: ${hex}`);
        value = value * 16 + digit;
      }
      w[base + i] = value;
    }
  }

  varchar(column: number, row: number, value: string | null): void {
    if (value === null) this.setNull(column, row);
    else (this.strings[column] as StringsBuilder).set(row, value);
  }

  /** A string of `length` ASCII bytes from `bytes` (no JavaScript string needed). */
  varcharAscii(column: number, row: number, bytes: Uint8Array, length: number): void {
    (this.strings[column] as StringsBuilder).setAscii(row, bytes, length);
  }

  /** A list of strings (an empty list is not NULL). */
  varcharList(column: number, row: number, values: readonly string[]): void {
    const offset = this.itemCount[column];
    const w = this.words[column];
    w[row * 4] = offset;
    w[row * 4 + 2] = values.length;
    if (values.length === 0) return;
    const items = this.items[column] as StringsBuilder;
    items.reserve(offset + values.length);
    for (let i = 0; i < values.length; i++) items.set(offset + i, values[i]);
    this.itemCount[column] = offset + values.length;
  }

  /** The chunks built; every announced row must have been written. */
  finish(): PreparedChunk[] {
    this.endChunk();
    if (this.remaining !== 0) throw new Error(`ChunkBuilder: ${this.remaining} announced rows not written`);
    return this.chunks;
  }

  private endChunk(): void {
    if (this.rows === 0) return;
    if (this.row !== this.rows) throw new Error('ChunkBuilder: fewer rows than announced');
    const columns: PreparedColumn[] = this.kinds.map((kind, c) => {
      const strings = this.strings[c];
      const items = this.items[c];
      const validity = this.validity[c];
      if (strings) {
        const s = strings.finish(this.rows);
        return { kind, data: s.structs, heap: s.heap, longRows: s.longRows, validity };
      }
      const data = this.data[c].subarray(0, KIND_WIDTH[kind] * this.rows);
      return { kind, data, items: items?.finish(this.itemCount[c]), validity };
    });
    this.chunks.push({ rows: this.rows, columns });
    this.rows = 0;
    this.row = 0;
  }
}
