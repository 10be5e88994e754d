//! Constants of the binary format (docs/FORMAT.md) shared by the encoder and the decoder.

/// Format version written and understood.
pub(crate) const VERSION: u8 = 2;
/// High nibble of the first byte of every update and document encoding; the low nibble is the
/// format version.
pub(crate) const MAGIC: u8 = 0xA0;
/// First byte of the encodings of format version 1 (`'W'`, then a version byte): refused.
pub(crate) const MAGIC_V1: u8 = b'W';

/// Envelope flag: a CRC-32 of the body follows the flags byte.
pub(crate) const F_CHECKSUM: u8 = 1;
/// Envelope flag: sequence content is laid out in document order per container (whole-document
/// encodings) rather than per operation.
pub(crate) const F_SNAPSHOT: u8 = 2;
/// Envelope flag of the row layout (the same bit as [`F_SNAPSHOT`]): one row stream, of replica
/// index 0, written without a count and an index.
pub(crate) const R_ONE_STREAM: u8 = 2;
/// Envelope flag: operations are written one after another (row layout, for small updates)
/// rather than in columns.
pub(crate) const F_ROWS: u8 = 4;
/// Flag: the body has a container table.
pub(crate) const S_CONTAINERS: u8 = 8;
/// Flag: the body has deletions.
pub(crate) const S_DELETES: u8 = 16;
/// Flag: the body has a text block (columnar layout).
pub(crate) const S_TEXT: u8 = 32;
/// Flag: the body has list values (columnar layout).
pub(crate) const S_VALUES: u8 = 64;
/// Flag: the body carries further updates.
pub(crate) const S_EXTRA: u8 = 128;

/// Container table entry flag: a nested container (named by the op that created it).
pub(crate) const C_NESTED: u8 = 8;
/// Container table entry flag: the last entry of the table.
pub(crate) const C_LAST: u8 = 16;

/// Row layout op head: the container is implied (inserts: the container of their origins;
/// other ops: the container of the previous op of the stream).
pub(crate) const H_IMPLIED: u8 = 8;
/// Row layout op head: the last operation of its stream.
pub(crate) const H_LAST: u8 = 128;
/// Row layout insert head: bits 4–6 hold `len − 1` below this value; this value means the
/// length follows as a varint.
pub(crate) const H_LEN_ESCAPE: u8 = 7;

/// Bits of an insert length kept in the low bits of an insert code (columnar layout): `len − 1`
/// below [`INSERT_LEN_ESCAPE`], which means the length follows as a varint.
pub(crate) const INSERT_LEN_BITS: u32 = 3;
/// See [`INSERT_LEN_BITS`].
pub(crate) const INSERT_LEN_ESCAPE: u64 = 7;

/// Deletion run code, low three bits: a run of another replica's elements.
pub(crate) const D_OTHER: u64 = 1;
/// Deletion run code, low three bits (with bit 0 for reversed): the length follows.
pub(crate) const D_LONG: u64 = 6;

/// Value tag (after the `Value` tags 0–8) for "no value": a deleted map key, a cleared register.
pub(crate) const V_NONE: u8 = 9;
/// Value tag for a new container (its kind follows; its id is the operation's or element's).
pub(crate) const V_NEW: u8 = 10;

/// Text blocks at least this long are LZ4-compressed when that makes them smaller.
pub(crate) const COMPRESS_MIN: usize = 128;

/// Updates with at most this many operations are written in the row layout when that is smaller.
pub(crate) const ROWS_MAX_OPS: u64 = 32;

/// Operation kinds (kind column, or the low three bits of a row head).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpTag {
    TextInsert = 0,
    MapSet = 1,
    CounterAdd = 2,
    SetAdd = 3,
    SetRemove = 4,
    RegisterSet = 5,
    ListInsert = 6,
}

impl OpTag {
    pub(crate) fn from_u8(t: u8) -> Option<OpTag> {
        Some(match t {
            0 => OpTag::TextInsert,
            1 => OpTag::MapSet,
            2 => OpTag::CounterAdd,
            3 => OpTag::SetAdd,
            4 => OpTag::SetRemove,
            5 => OpTag::RegisterSet,
            6 => OpTag::ListInsert,
            _ => return None,
        })
    }

    /// True for the two sequence inserts.
    pub(crate) fn is_insert(self) -> bool {
        matches!(self, OpTag::TextInsert | OpTag::ListInsert)
    }

    /// True for the writes that carry a Lamport clock.
    pub(crate) fn has_lamport(self) -> bool {
        matches!(self, OpTag::MapSet | OpTag::RegisterSet)
    }
}
