//! The allocation guard: walks a request body by its schema before `kafka-protocol` decodes
//! it, and refuses any array whose element count exceeds the bytes left in the frame.
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
//! The walker must read exactly the fields the decoder reads, or the two would disagree about
//! where an array count sits. It mirrors the generated decoders: version-gated fields, compact
//! encodings in flexible versions, known tagged fields decoded by content (as the decoder does,
//! ignoring the announced size) and unknown ones skipped by size. It may accept bytes the
//! decoder then rejects (that only ends in a decode error), never the reverse; a test encodes
//! requests of every supported version and checks the walk consumes them exactly.

mod schemas;

use kafka_protocol::messages::ApiKey;

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

/// Whether requests of `api_key` have a schema (every API in the version table must).
pub fn has_schema(api_key: ApiKey) -> bool {
    schemas::of(api_key).is_some()
}

/// Checks that `body` (a request of `api_key`/`version`, header removed) holds no array count
/// larger than the bytes after it. Returns the bytes the walk consumed.
pub fn check(api_key: ApiKey, version: i16, body: &[u8]) -> Result<usize, GuardError> {
    let schema = schemas::of(api_key).ok_or(GuardError::NoSchema(api_key, version))?;
    let mut w = Walker {
        buf: body,
        pos: 0,
        version,
        flexible: version >= schema.flexible_from,
    };
    w.walk_struct(schema.fields)?;
    Ok(w.pos)
}

struct Walker<'a> {
    buf: &'a [u8],
    pos: usize,
    version: i16,
    flexible: bool,
}

impl Walker<'_> {
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
        let at = self.pos;
        let len: i64 = if self.flexible {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.int32()?)
        } else {
            i64::from(self.int16()?)
        };
        match len {
            -1 => Ok(()),
            n if n < 0 => Err(GuardError::NegativeLength { len: n, at }),
            n => self.take(n as usize).map(|_| ()),
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
        for _ in 0..n {
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
            Ty::Str => self.skip_sized(false),
            Ty::Bytes => self.skip_sized(true),
            Ty::Struct(fields) => self.walk_struct(fields),
            Ty::OptStruct(fields) => match self.take(1)?[0] {
                1 => self.walk_struct(fields),
                _ => Ok(()),
            },
            Ty::Int32Array => match self.count()? {
                Some(n) => self.take(n.saturating_mul(4)).map(|_| ()),
                None => Ok(()),
            },
            Ty::StrArray => {
                for _ in 0..self.count()?.unwrap_or(0) {
                    self.skip_sized(false)?;
                }
                Ok(())
            }
            Ty::Array(fields) => {
                for _ in 0..self.count()?.unwrap_or(0) {
                    self.walk_struct(fields)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
