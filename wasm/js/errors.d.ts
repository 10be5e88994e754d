/** What went wrong, as `WeftError.code`. */
export type WeftErrorCode =
  /** An index or range end lies past the end, or is not a non-negative integer. */
  | 'OUT_OF_RANGE'
  /** A UTF-16 index falls between the two halves of a surrogate pair. */
  | 'INSIDE_CHARACTER'
  /** A handle names a container of another kind. */
  | 'WRONG_KIND'
  /** A value cannot be stored (unsupported type, too deeply nested, cyclic, bigint out of range). */
  | 'INVALID_VALUE'
  /** An argument has the wrong type or shape. */
  | 'INVALID_ARGUMENT'
  /** An update or state vector is malformed or contradicts the document. */
  | 'MALFORMED_UPDATE'
  /** The document reached the engine's size limit. */
  | 'TOO_LARGE'
  /** A call that cannot run inside `doc.transact()` (applying an update). */
  | 'IN_TRANSACTION'
  /** The document was called from inside one of its own operations. */
  | 'BUSY'
  /** `crypto.getRandomValues` is missing, so no random replica id can be drawn. */
  | 'NO_RANDOMNESS'
  /** Another refused edit. */
  | 'EDIT_FAILED';

/** Every error weft-crdt throws. The document that threw is unchanged and still usable. */
export declare class WeftError extends Error {
  constructor(message: string, code: WeftErrorCode);
  readonly name: 'WeftError';
  /** What went wrong. */
  readonly code: WeftErrorCode;
  /** For `MALFORMED_UPDATE`: the byte offset where decoding failed. */
  readonly offset?: number;
}
