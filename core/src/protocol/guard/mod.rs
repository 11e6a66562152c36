//! The allocation guard: walks a request body by its schema before `kafka-protocol` decodes
//! it, refuses any array whose element count exceeds the bytes left in the frame, and bounds
//! the memory the decoded request will take.
//!
//! Why: `kafka-protocol` 0.18 calls `Vec::with_capacity(count)` with the count straight off
//! the wire. Eight bytes announcing a Metadata topic array of 2^31 entries make it ask for
//! ~150 GB, and a failed allocation aborts the whole process (not a catchable panic). Upstream
//! fixes exist as open pull requests (kafka-protocol-rs #152, #161, #200); once a release
//! bounds the capacity itself, this module can go.
//!
//! Every array element takes at least one byte on the wire, so a count larger than the rest
//! of the frame cannot belong to a real request. With that checked for every array, what the
//! decoder allocates is bounded by the frame, which is bounded by `socket.request.max.bytes`.
//!
//! Bounded by the frame is not bounded enough: one byte on the wire can become far more in
//! memory. An empty compact string is one byte but a 32-byte `StrBytes` in the decoded `Vec`
//! (a 99 MiB ListGroups of them took 3.3 GB), an unknown tagged field is two bytes but a
//! B-tree node. So the walk also adds up a lower bound of what the decoder will allocate (see
//! [`Ty::in_memory`]): every array element costs the size of its Rust struct, every unknown
//! tagged field its map entry. String and bytes contents cost nothing extra, because the
//! decoder slices them out of the frame's `Bytes` without copying. That total must stay
//! within [`decode_budget`] of the body: a few times the frame, never more than
//! [`MAX_DECODED_BYTES`]. The server charges it to `queued.max.request.bytes` too.
//!
//! Strings longer than 32767 bytes are refused as Kafka's own decoders refuse them (a compact
//! string's varint length could claim more; a Kafka string cannot hold more).
//!
//! The walker must read exactly the fields the decoder reads, or the two would disagree about
//! where an array count sits. It mirrors the generated decoders: version-gated fields, compact
//! encodings in flexible versions, known tagged fields decoded by content (as the decoder does,
//! ignoring the announced size) and unknown ones skipped by size. It may accept bytes the
//! decoder then rejects (that only ends in a decode error), never the reverse; a test encodes
//! requests of every supported version and checks the walk consumes them exactly.

mod schemas;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::StrBytes;

/// Decoded bytes a request may take per byte of its body. Real requests stay far below: a
/// Fetch partition is ~30 bytes on the wire and 80 in memory, a topic name of ten characters
/// 12 and 32. Only arrays of near-empty strings or structs approach 8 (a CreatePartitions
/// assignment of one broker id is 6 to 8 bytes and 48), and those stay under
/// [`DECODE_FLOOR`] at any sane count.
pub const DECODE_FACTOR: usize = 8;
/// What any body may take decoded, whatever its size: small requests with a few unknown
/// tagged fields (a B-tree node each) must pass.
pub const DECODE_FLOOR: usize = 64 * 1024;
/// The hard cap on one decoded request, whatever the frame: 64 MiB is two million strings or
/// 800,000 Fetch partitions, far beyond any real request (whose bulk, records and metadata
/// bytes, is not copied).
pub const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
/// The longest string Kafka's decoders accept (`0x7fff`).
pub const MAX_STRING_BYTES: usize = i16::MAX as usize;

/// What a Rust `BTreeMap` leaf node of `i32 -> Bytes` takes (11 keys, 11 values, parent
/// pointer and lengths): the first unknown tagged field of a struct allocates one.
const TAG_NODE_BYTES: usize = 11 * (4 + std::mem::size_of::<Bytes>()) + 16;
/// Each further unknown tagged field: its entry, in nodes at least half full.
const TAG_ENTRY_BYTES: usize = 2 * (4 + std::mem::size_of::<Bytes>());
/// The `unknown_tagged_fields` map inside every decoded struct.
const TAG_MAP_BYTES: usize = std::mem::size_of::<std::collections::BTreeMap<i32, Bytes>>();

/// How many decoded bytes a body of `body_len` bytes may take.
pub fn decode_budget(body_len: usize) -> usize {
    MAX_DECODED_BYTES.min(DECODE_FLOOR.saturating_add(body_len.saturating_mul(DECODE_FACTOR)))
}

/// Why a body was refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("no request schema for {0:?} v{1}")]
    NoSchema(ApiKey, i16),
    #[error("truncated at byte {0}")]
    Truncated(usize),
    #[error("array of {count} elements at byte {at} but only {left} bytes follow")]
    ArrayTooLong {
        count: usize,
        at: usize,
        left: usize,
    },
    #[error("negative length {len} at byte {at}")]
    NegativeLength { len: i64, at: usize },
    #[error("tagged field {tag} is not valid in version {version}")]
    BadTag { tag: u32, version: i16 },
    #[error(
        "would take more than {budget} bytes of memory decoded (reached {decoded} at byte \
         {at}; the budget is {DECODE_FACTOR} per byte of the body plus {DECODE_FLOOR}, at most \
         {MAX_DECODED_BYTES})"
    )]
    TooLarge {
        decoded: usize,
        budget: usize,
        at: usize,
    },
    #[error("string of {len} bytes at byte {at}; Kafka strings hold at most {MAX_STRING_BYTES}")]
    StringTooLong { len: usize, at: usize },
}

/// A wire type, as the generated decoders read it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    Int8,
    Int16,
    Int32,
    Int64,
    Uuid,
    Bool,
    /// A string, nullable or not (the decoder refuses a null where it must).
    Str,
    /// A nullable string with an int16 length even in flexible versions: the request
    /// header's client id (its field has `flexibleVersions: none`).
    Int16Str,
    /// Bytes or records, nullable or not.
    Bytes,
    /// An array of structs.
    Array(&'static [Field]),
    /// An array of int32.
    Int32Array,
    /// An array of strings, nullable or not.
    StrArray,
    /// A struct inline (only as a tagged field).
    Struct(&'static [Field]),
    /// A nullable struct: an int8 marker, then the struct if the marker is 1 (any other
    /// value is null, as the decoder's `OptionStruct` reads it).
    OptStruct(&'static [Field]),
}

/// One field of a struct: its type, the versions it is present in, and its tag if tagged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub ty: Ty,
    pub min: i16,
    pub max: i16,
    pub tag: Option<u32>,
}

/// A request body: its fields and the first flexible version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema {
    pub flexible_from: i16,
    pub fields: &'static [Field],
}

impl Ty {
    /// A lower bound of what a value of this type takes inline in its decoded Rust struct:
    /// the sum of the field sizes, without padding, and only of the fields the schema lists.
    /// A unit test checks it against `size_of` of the generated structs.
    /// `tagged`: whether the message has flexible versions (only then do its structs carry a
    /// map of unknown tagged fields).
    pub(crate) fn in_memory(self, tagged: bool) -> usize {
        match self {
            Ty::Int8 | Ty::Bool => 1,
            Ty::Int16 => 2,
            Ty::Int32 => 4,
            Ty::Int64 => 8,
            Ty::Uuid => 16,
            Ty::Str | Ty::Int16Str => std::mem::size_of::<StrBytes>(),
            Ty::Bytes => std::mem::size_of::<Bytes>(),
            Ty::Array(_) | Ty::Int32Array | Ty::StrArray => std::mem::size_of::<Vec<u8>>(),
            Ty::Struct(fields) | Ty::OptStruct(fields) => struct_in_memory(fields, tagged),
        }
    }
}

/// [`Ty::in_memory`] of a struct: every field of every version (the Rust struct has them
/// all), plus its map of unknown tagged fields if the message has flexible versions.
pub(crate) fn struct_in_memory(fields: &[Field], tagged: bool) -> usize {
    let map = if tagged { TAG_MAP_BYTES } else { 0 };
    fields.iter().map(|f| f.ty.in_memory(tagged)).sum::<usize>() + map
}

/// What a walk found: the bytes it consumed and a lower bound of the bytes the decoded
/// request takes beyond the frame itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walked {
    pub consumed: usize,
    pub decoded: usize,
}

/// Whether requests of `api_key` have a schema (every API in the version table must).
pub fn has_schema(api_key: ApiKey) -> bool {
    schemas::of(api_key).is_some()
}

/// Checks that `body` (a request of `api_key`/`version`, header removed) holds no array count
/// larger than the bytes after it. Returns the bytes the walk consumed.
pub fn check(api_key: ApiKey, version: i16, body: &[u8]) -> Result<usize, GuardError> {
    walk(api_key, version, body).map(|w| w.consumed)
}

/// [`check`], and that the decoded body stays within [`decode_budget`]; returns what the
/// decoded request will take.
pub fn walk(api_key: ApiKey, version: i16, body: &[u8]) -> Result<Walked, GuardError> {
    let schema = schemas::of(api_key).ok_or(GuardError::NoSchema(api_key, version))?;
    let mut w = Walker::new(body, version, version >= schema.flexible_from);
    w.tagged = schema.flexible_from != schemas::NEVER;
    w.walk_struct(schema.fields)?;
    Ok(w.walked())
}

/// The request header of `header_version` at the start of `frame`: api key, version,
/// correlation id, client id (v1+) and, in v2, tagged fields. The header has no known tags,
/// so every one would be an entry of its decoded map.
pub fn walk_header(header_version: i16, frame: &[u8]) -> Result<Walked, GuardError> {
    const HEADER: &[Field] = &[
        schemas::ALL_INT16,     // request_api_key
        schemas::ALL_INT16,     // request_api_version
        schemas::ALL_INT32,     // correlation_id
        schemas::CLIENT_ID_STR, // client_id
    ];
    let mut w = Walker::new(frame, header_version, header_version >= 2);
    w.walk_struct(HEADER)?;
    Ok(w.walked())
}

struct Walker<'a> {
    buf: &'a [u8],
    pos: usize,
    version: i16,
    flexible: bool,
    /// What the decoded message takes so far, and what it may take.
    decoded: usize,
    budget: usize,
    /// Whether the message's structs have a map of unknown tagged fields.
    tagged: bool,
}

impl<'a> Walker<'a> {
    fn new(buf: &'a [u8], version: i16, flexible: bool) -> Self {
        Walker {
            buf,
            pos: 0,
            version,
            flexible,
            decoded: 0,
            budget: decode_budget(buf.len()),
            tagged: true,
        }
    }

    fn walked(&self) -> Walked {
        Walked {
            consumed: self.pos,
            decoded: self.decoded,
        }
    }

    /// Adds `bytes` to what the decoded message takes; refuses once over the budget. Called
    /// when a count is read, before its elements are walked, so a huge count fails at once.
    fn charge(&mut self, bytes: usize, at: usize) -> Result<(), GuardError> {
        self.decoded = self.decoded.saturating_add(bytes);
        if self.decoded > self.budget {
            return Err(GuardError::TooLarge {
                decoded: self.decoded,
                budget: self.budget,
                at,
            });
        }
        Ok(())
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&[u8], GuardError> {
        if n > self.left() {
            return Err(GuardError::Truncated(self.pos));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn int16(&mut self) -> Result<i16, GuardError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn int32(&mut self) -> Result<i32, GuardError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Exactly the decoder's unsigned varint: at most five bytes, excess bits dropped.
    fn uvarint(&mut self) -> Result<u32, GuardError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = u32::from(self.take(1)?[0]);
            value |= (b & 0x7f).wrapping_shl(i * 7);
            if b < 0x80 {
                break;
            }
        }
        Ok(value)
    }

    /// A length-prefixed run of bytes; `wide` selects the int32 prefix of non-compact bytes
    /// over the int16 one of strings.
    fn skip_sized(&mut self, wide: bool) -> Result<(), GuardError> {
        let compact = self.flexible;
        self.skip_sized_as(wide, compact).map(|_| ())
    }

    /// A string: compact in flexible versions, at most [`MAX_STRING_BYTES`] (only a compact
    /// length can claim more).
    fn skip_str(&mut self, compact: bool) -> Result<(), GuardError> {
        let at = self.pos;
        let len = self.skip_sized_as(false, compact)?;
        if len > MAX_STRING_BYTES {
            return Err(GuardError::StringTooLong { len, at });
        }
        Ok(())
    }

    /// Returns the length of the run (0 for null).
    fn skip_sized_as(&mut self, wide: bool, compact: bool) -> Result<usize, GuardError> {
        let at = self.pos;
        let len: i64 = if compact {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.int32()?)
        } else {
            i64::from(self.int16()?)
        };
        match len {
            -1 => Ok(0),
            n if n < 0 => Err(GuardError::NegativeLength { len: n, at }),
            n => self.take(n as usize).map(<[u8]>::len),
        }
    }

    /// Reads an array count; `None` for a null array.
    fn count(&mut self) -> Result<Option<usize>, GuardError> {
        let at = self.pos;
        let n: i64 = if self.flexible {
            i64::from(self.uvarint()?) - 1
        } else {
            i64::from(self.int32()?)
        };
        if n == -1 {
            return Ok(None);
        }
        if n < 0 {
            return Err(GuardError::NegativeLength { len: n, at });
        }
        let count = n as usize;
        if count > self.left() {
            return Err(GuardError::ArrayTooLong {
                count,
                at,
                left: self.left(),
            });
        }
        Ok(Some(count))
    }

    /// An array count, charged `element` decoded bytes per element.
    fn charged_count(&mut self, element: usize) -> Result<usize, GuardError> {
        let at = self.pos;
        let n = self.count()?.unwrap_or(0);
        self.charge(n.saturating_mul(element), at)?;
        Ok(n)
    }

    fn walk_struct(&mut self, fields: &'static [Field]) -> Result<(), GuardError> {
        let v = self.version;
        for f in fields {
            if f.tag.is_none() && (f.min..=f.max).contains(&v) {
                self.walk(f.ty)?;
            }
        }
        if self.flexible {
            self.walk_tagged(fields)?;
        }
        Ok(())
    }

    fn walk_tagged(&mut self, fields: &'static [Field]) -> Result<(), GuardError> {
        let n = self.uvarint()?;
        let mut unknown = 0usize;
        for _ in 0..n {
            let at = self.pos;
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            match fields.iter().find(|f| f.tag == Some(tag)) {
                // The decoder reads a known tag by its type and ignores `size`; so must we.
                Some(f) if (f.min..=f.max).contains(&self.version) => self.walk(f.ty)?,
                Some(_) => {
                    return Err(GuardError::BadTag {
                        tag,
                        version: self.version,
                    })
                }
                None => {
                    self.take(size)?;
                    // A repeated tag replaces its entry, so this may overcount; that only
                    // makes the bound stricter for requests no client sends.
                    let cost = if unknown == 0 {
                        TAG_NODE_BYTES
                    } else {
                        TAG_ENTRY_BYTES
                    };
                    unknown += 1;
                    self.charge(cost, at)?;
                }
            }
        }
        Ok(())
    }

    fn walk(&mut self, ty: Ty) -> Result<(), GuardError> {
        match ty {
            Ty::Int8 | Ty::Bool => self.take(1).map(|_| ()),
            Ty::Int16 => self.take(2).map(|_| ()),
            Ty::Int32 => self.take(4).map(|_| ()),
            Ty::Int64 => self.take(8).map(|_| ()),
            Ty::Uuid => self.take(16).map(|_| ()),
            Ty::Str => self.skip_str(self.flexible),
            Ty::Int16Str => self.skip_str(false),
            Ty::Bytes => self.skip_sized(true),
            Ty::Struct(fields) => self.walk_struct(fields),
            Ty::OptStruct(fields) => match self.take(1)?[0] {
                1 => self.walk_struct(fields),
                _ => Ok(()),
            },
            Ty::Int32Array => {
                let n = self.charged_count(4)?;
                self.take(n.saturating_mul(4)).map(|_| ())
            }
            Ty::StrArray => {
                for _ in 0..self.charged_count(Ty::Str.in_memory(self.tagged))? {
                    self.skip_str(self.flexible)?;
                }
                Ok(())
            }
            Ty::Array(fields) => {
                for _ in 0..self.charged_count(struct_in_memory(fields, self.tagged))? {
                    self.walk_struct(fields)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
