import {
  type DuckDBAppender,
  DuckDBDataChunk,
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
 * Appends chunks built by chunk-builder.ts (possibly on another thread) to a DuckDB table: per
 * column one copy of its data into the DuckDB vector, plus, for a string column with strings
 * longer than 12 bytes, one string holding all of them (DuckDB copies it into the vector's own
 * string heap) and a pass that turns their heap offsets into pointers into that copy.
 *
 * Why not one call per value (the appender's, or `vector_assign_string_element`): the store's
 * write path appends ~50 values per span, and one native call per string was about as much time
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

/** Appends prepared chunks whose column kinds match the appender's table (see `checkColumnKinds`). */
export function appendPreparedChunks(
  appender: DuckDBAppender,
  types: readonly DuckDBType[],
  chunks: readonly PreparedChunk[],
): void {
  for (const prepared of chunks) {
    const chunk = DuckDBDataChunk.create([...types], prepared.rows);
    for (let c = 0; c < prepared.columns.length; c++) {
      const column = prepared.columns[c];
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
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
    appender.appendDataChunk(chunk);
  }
}
