import { type DuckDBAppender, DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';

/**
 * Appends rows to a DuckDB table a data chunk (2,048 rows) at a time, with the column values
 * written into plain typed arrays and copied into DuckDB once per column per chunk.
 *
 * Why not the appender's per-value calls or @duckdb/node-api's vector classes: the write path of
 * the store appends ~50 values per span; one native call per value, and the vector classes'
 * validity bookkeeping (two BigInts per value set), were most of its JavaScript time and garbage.
 * Here only strings cross into DuckDB one by one (`vector_assign_string_element`), and NULLs are
 * bits in a validity mask. Ids given as hex text are parsed into 32-bit halves, without a BigInt.
 *
 * Usage: `next()` starts a row and returns its index, then one setter per column (every column
 * of every row must be set), then `finish()` once all announced rows are written.
 */

/** How a column's values are laid out in a DuckDB vector. */
type ColumnKind = 'u8' | 'u32' | 'u64' | 'u128' | 'varchar' | 'varchar[]';

/** The layout of a column type; the writer supports only the types the store's tables use. */
function kindOf(type: DuckDBType): ColumnKind {
  switch (type.typeId) {
    case DuckDBTypeId.UTINYINT:
      return 'u8';
    case DuckDBTypeId.UINTEGER:
      return 'u32';
    case DuckDBTypeId.UBIGINT:
      return 'u64';
    case DuckDBTypeId.UHUGEINT:
      return 'u128';
    case DuckDBTypeId.VARCHAR:
      return 'varchar';
    case DuckDBTypeId.LIST:
      if (type.valueType.typeId === DuckDBTypeId.VARCHAR) return 'varchar[]';
  }
  throw new Error(`ChunkWriter: unsupported column type ${type}`);
}

/** Rows per DuckDB data chunk (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

/** Bytes per row in the vector's data, by kind (strings are 16-byte `string_t`s set by DuckDB). */
const WIDTH: Record<ColumnKind, number> = { u8: 1, u32: 4, u64: 8, u128: 16, varchar: 0, 'varchar[]': 16 };

const HEX_ID = /^[0-9a-f]*$/;

export class ChunkWriter {
  private chunk: DuckDBDataChunk | undefined;
  private vectors: duckdb.Vector[] = [];
  private readonly buffers: ArrayBuffer[];
  private readonly validityBuffers: ArrayBuffer[];
  /** Per column: 32-bit words of its fixed-width data (lists: offset/length pairs). */
  private readonly words: Uint32Array[];
  private readonly bytes: Uint8Array[];
  /** Per column: its validity mask (bit set = valid), and whether any bit is clear. */
  private readonly validity: Uint32Array[];
  private readonly hasNull: boolean[];
  /** List columns: child vector, rows used and capacity reserved. */
  private readonly listChild: (duckdb.Vector | undefined)[];
  private readonly listSize: number[];
  private readonly listCapacity: number[];
  private readonly kinds: readonly ColumnKind[];
  private row = 0;
  private rows = 0;

  constructor(
    private readonly appender: DuckDBAppender,
    private readonly types: readonly DuckDBType[],
    private remaining: number,
  ) {
    const kinds = types.map(kindOf);
    this.kinds = kinds;
    const width = (k: ColumnKind) => Math.max(4, WIDTH[k]) * CHUNK_ROWS;
    this.buffers = kinds.map((k) => new ArrayBuffer(width(k)));
    this.bytes = this.buffers.map((b) => new Uint8Array(b));
    this.words = this.buffers.map((b) => new Uint32Array(b));
    this.validityBuffers = kinds.map(() => new ArrayBuffer(CHUNK_ROWS / 8));
    this.validity = this.validityBuffers.map((b) => new Uint32Array(b));
    this.hasNull = kinds.map(() => false);
    this.listChild = kinds.map(() => undefined);
    this.listSize = kinds.map(() => 0);
    this.listCapacity = kinds.map(() => 0);
  }

  /** Starts the next row; returns its index in the current chunk. */
  next(): number {
    if (this.chunk === undefined || this.row === this.rows) {
      this.flushChunk();
      this.rows = Math.min(CHUNK_ROWS, this.remaining);
      if (this.rows === 0) throw new Error('ChunkWriter: more rows than announced');
      const chunk = DuckDBDataChunk.create([...this.types], this.rows);
      this.chunk = chunk;
      this.vectors = this.types.map((_, i) => duckdb.data_chunk_get_vector(chunk.chunk, i));
      for (let c = 0; c < this.kinds.length; c++) {
        this.validity[c].fill(0xffffffff);
        this.hasNull[c] = false;
        if (this.kinds[c] === 'varchar[]') {
          this.listChild[c] = duckdb.list_vector_get_child(this.vectors[c]);
          this.listSize[c] = 0;
          this.listCapacity[c] = 0;
        }
      }
      this.row = 0;
    }
    this.remaining--;
    return this.row++;
  }

  setNull(column: number, row: number): void {
    this.validity[column][row >>> 5] &= ~(1 << (row & 31));
    this.hasNull[column] = true;
  }

  u8(column: number, row: number, value: number): void {
    this.bytes[column][row] = value;
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
    if (hex.length > words * 8 || !HEX_ID.test(hex)) throw new Error(`ChunkWriter: not a ${kind} id: ${hex}`);
    const w = this.words[column];
    const base = row * words;
    // Little-endian words: the last 8 digits are word 0.
    for (let i = 0; i < words; i++) {
      const end = hex.length - i * 8;
      w[base + i] = end <= 0 ? 0 : Number.parseInt(hex.slice(Math.max(0, end - 8), end), 16);
    }
  }

  varchar(column: number, row: number, value: string | null): void {
    if (value === null) this.setNull(column, row);
    else duckdb.vector_assign_string_element(this.vectors[column], row, value);
  }

  /** A list of strings (an empty list is not NULL). */
  varcharList(column: number, row: number, values: readonly string[]): void {
    const offset = this.listSize[column];
    const w = this.words[column];
    w[row * 4] = offset;
    w[row * 4 + 1] = 0;
    w[row * 4 + 2] = values.length;
    w[row * 4 + 3] = 0;
    if (values.length === 0) return;
    const size = offset + values.length;
    const vector = this.vectors[column];
    if (size > this.listCapacity[column]) {
      const capacity = Math.max(size, this.listCapacity[column] * 2, 64);
      duckdb.list_vector_reserve(vector, capacity);
      this.listCapacity[column] = capacity;
      this.listChild[column] = duckdb.list_vector_get_child(vector);
    }
    const child = this.listChild[column]!;
    for (let i = 0; i < values.length; i++) duckdb.vector_assign_string_element(child, offset + i, values[i]);
    this.listSize[column] = size;
  }

  /** Hands the last chunk to the appender, flushes and closes it. */
  finish(): void {
    this.flushChunk();
    if (this.remaining !== 0) throw new Error(`ChunkWriter: ${this.remaining} announced rows not written`);
    this.appender.flushSync();
    this.appender.closeSync();
  }

  private flushChunk(): void {
    if (this.chunk === undefined) return;
    if (this.row !== this.rows) throw new Error('ChunkWriter: fewer rows than announced');
    for (let c = 0; c < this.kinds.length; c++) {
      const vector = this.vectors[c];
      const kind = this.kinds[c];
      if (kind === 'varchar[]') duckdb.list_vector_set_size(vector, this.listSize[c]);
      if (kind !== 'varchar') {
        duckdb.copy_data_to_vector(vector, 0, this.buffers[c], 0, WIDTH[kind] * this.rows);
      }
      if (this.hasNull[c]) {
        duckdb.vector_ensure_validity_writable(vector);
        duckdb.copy_data_to_vector_validity(vector, 0, this.validityBuffers[c], 0, Math.ceil(this.rows / 64) * 8);
      }
    }
    this.appender.appendDataChunk(this.chunk);
    this.chunk = undefined;
  }
}
