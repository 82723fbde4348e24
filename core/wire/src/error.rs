//! Bytes that are not a valid encoding.

/// Bytes that are not a valid encoding. Never a panic, never a huge allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("input ended early")]
    Truncated,
    #[error("not a Concord {0} (bad magic bytes)")]
    BadMagic(&'static str),
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    #[error("malformed variable-length integer")]
    BadVarint,
    #[error("declared length {0} exceeds the remaining input")]
    LengthTooLarge(u64),
    #[error("text is not valid UTF-8")]
    BadUtf8,
    #[error("unknown tag {0}")]
    UnknownTag(u8),
    #[error("{0} trailing bytes after the end")]
    TrailingBytes(usize),
    #[error("checksum mismatch: the data is corrupt")]
    Checksum,
    #[error("invalid data: {0}")]
    Invalid(&'static str),
}
