import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBTableFunction,
  type DuckDBType,
  DuckDBTypeId,
  LIST,
  UBIGINT,
  UHUGEINT,
  UINTEGER,
  UTINYINT,
  VARCHAR,
} from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { type ColumnKind, KIND_WIDTH, type PreparedChunk, type PreparedStrings } from './chunk-builder.ts';

/**
 * Inserts chunks built by chunk-builder.ts (possibly on another thread) into a DuckDB table,
 * through a table function (`ChunkFeed`): per column one copy of its data into the DuckDB vector, plus, for a string column with strings
 * longer than 12 bytes, one string holding all of them (DuckDB copies it into the vector's own
 * string heap) and a pass that turns their heap offsets into pointers into that copy.
 *
 * Why not one call per value (the appender's, or `vector_assign_string_element`): the store's
 * write path inserts ~50 values per span, and one native call per string was about as much time
 * as everything else in the write together (BENCHMARKS.md, ingest). Writing the 16-byte
 * `duckdb_string_t`s ourselves relies on that struct's layout, which is part of DuckDB's C API
 * (`duckdb.h`); chunk-writer.test.ts checks the round trip for every string shape.
 */

/** The DuckDB type of each column kind. */
export function duckdbTypeOf(kind: ColumnKind): DuckDBType {
  switch (kind) {
    case 'u8':
      return UTINYINT;
    case 'u32':
      return UINTEGER;
    case 'u64':
      return UBIGINT;
    case 'u128':
      return UHUGEINT;
    case 'varchar':
      return VARCHAR;
    case 'varchar[]':
      return LIST(VARCHAR);
  }
}

/** The kind of a DuckDB column type; throws for types the builder does not support. */
export function kindOf(type: DuckDBType): ColumnKind {
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
  throw new Error(`chunk writer: unsupported column type ${type}`);
}

/** Throws unless the appender's table has exactly these column kinds. */
export function checkColumnKinds(appender: DuckDBAppender, kinds: readonly ColumnKind[], table: string): void {
  const actual = Array.from({ length: appender.columnCount }, (_, i) => kindOf(appender.columnType(i)));
  if (actual.join() !== kinds.join()) {
    throw new Error(`table ${table} has columns (${actual.join(', ')}), the writer expects (${kinds.join(', ')})`);
  }
}

/** Copies strings into a VARCHAR vector (rows from 0). */
function copyStrings(vector: duckdb.Vector, strings: PreparedStrings | undefined, structs: Uint8Array): void {
  const longRows = strings?.longRows;
  if (strings && longRows && longRows.length > 0) {
    // All long strings as one string (longer than 12 bytes, so not inlined): DuckDB copies it into
    // the vector's string heap; its struct in row 0 then holds the copy's address.
    duckdb.vector_assign_string_element_len(vector, 0, strings.heap);
    const head = duckdb.vector_get_data(vector, 16);
    const address = new Uint32Array(head.buffer, head.byteOffset + 8, 2);
    const low = address[0];
    const high = address[1];
    const words = new Uint32Array(structs.buffer, structs.byteOffset, structs.length >> 2);
    for (let i = 0; i < longRows.length; i++) {
      const at = longRows[i] * 4 + 2;
      const sum = words[at] + low;
      words[at] = sum >>> 0;
      words[at + 1] = high + (sum > 0xffffffff ? 1 : 0);
    }
  }
  duckdb.copy_data_to_vector(vector, 0, structs.buffer as ArrayBuffer, structs.byteOffset, structs.length);
}

/** Writes one prepared chunk into `chunk`'s vectors, rows from 0 (the chunk's size is the caller's). */
function writePreparedChunk(chunk: duckdb.DataChunk, prepared: PreparedChunk): void {
  for (let c = 0; c < prepared.columns.length; c++) {
    const column = prepared.columns[c];
    const vector = duckdb.data_chunk_get_vector(chunk, c);
    if (column.kind === 'varchar') {
      copyStrings(
        vector,
        { count: prepared.rows, structs: column.data, heap: column.heap!, longRows: column.longRows! },
        column.data,
      );
    } else {
      const items = column.items;
      if (items && items.count > 0) {
        duckdb.list_vector_reserve(vector, items.count);
        copyStrings(duckdb.list_vector_get_child(vector), items, items.structs);
      }
      if (column.kind === 'varchar[]') duckdb.list_vector_set_size(vector, items?.count ?? 0);
      const bytes = KIND_WIDTH[column.kind] * prepared.rows;
      duckdb.copy_data_to_vector(vector, 0, column.data.buffer as ArrayBuffer, column.data.byteOffset, bytes);
    }
    if (column.validity) {
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(
        vector,
        0,
        column.validity.buffer as ArrayBuffer,
        column.validity.byteOffset,
        Math.ceil(prepared.rows / 64) * 8,
      );
    }
  }
}

/**
 * Inserts prepared chunks into a table with `INSERT INTO table SELECT * FROM feed()`, where
 * `feed` is a table function of this connection that hands DuckDB one prepared chunk per call.
 *
 * Why not the appender: its `appendDataChunk` copies every chunk (strings too) into the
 * appender's own buffer, and its flush, which moves those rows into the table, is synchronous in
 * @duckdb/node-api, so both ran on the thread that answers queries (the flush: 3–13 ms for 2,048
 * rows under ingest, BENCHMARKS.md session 18). An `INSERT … SELECT` runs on DuckDB's threads; only
 * the table function's calls come back to this thread, each copying one chunk into the vectors
 * DuckDB hands it, with a turn of the event loop between calls (DuckDB's thread waits for each).
 * Insertion order is kept (DuckDB's `preserve_insertion_order`, on by default), and a single
 * scan thread calls the function.
 */
export class ChunkFeed {
  private chunks: readonly PreparedChunk[] = [];
  private next = 0;
  private busy = false;

  private constructor(readonly functionName: string) {}

  /**
   * Registers the feed's table function, named `functionName`, on `db` (DuckDB keeps it in the
   * database's catalog: one name per database), with columns of `types`.
   */
  static register(db: DuckDBConnection, functionName: string, types: readonly DuckDBType[]): ChunkFeed {
    const feed = new ChunkFeed(functionName);
    const fn = DuckDBTableFunction.create({
      name: functionName,
      bindFunction: (bind) => {
        for (let i = 0; i < types.length; i++) bind.addResultColumn(`c${i}`, types[i]);
      },
      initFunction: () => {},
      mainFunction: (info, output) => {
        try {
          const prepared = feed.chunks[feed.next];
          if (prepared === undefined) {
            output.rowCount = 0;
            return;
          }
          feed.next++;
          output.rowCount = prepared.rows;
          writePreparedChunk(output.chunk, prepared);
        } catch (error) {
          info.setError(`${functionName}: ${(error as Error).message}`);
        }
      },
    });
    db.registerTableFunction(fn);
    return feed;
  }

  /** Inserts `chunks` into `table` (its columns in the feed's order) on `db`, the connection the feed is registered on. */
  async insert(db: DuckDBConnection, table: string, chunks: readonly PreparedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    if (this.busy) throw new Error(`${this.functionName} is already feeding an insert`);
    this.busy = true;
    this.chunks = chunks;
    this.next = 0;
    try {
      await db.run(`INSERT INTO ${table} SELECT * FROM ${this.functionName}()`);
    } finally {
      this.chunks = [];
      this.busy = false;
    }
  }
}
