/**
 * A trace file that cannot be imported: an unknown format, or a field of the wrong type. The
 * message says which format was expected and, for a bad field, its path (`[3].timestamp`).
 */
export class TraceImportError extends Error {
  override readonly name = 'TraceImportError';
}
