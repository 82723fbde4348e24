//! What can go wrong in the browser binding; JavaScript sees the message.

use concord_core::{ApplyError, DecodeError, EditError};
use concord_wire::DocId;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("no document {0} is open")]
    NotOpen(DocId),
    #[error("document {0} is already open")]
    AlreadyOpen(DocId),
    #[error("{0:?} is not a valid document id (1-64 letters, digits, '-' or '_')")]
    BadDocId(String),
    #[error("{0:?} is not a replica id (32 hexadecimal digits)")]
    BadDevice(String),
    #[error("a device id needs 16 random bytes, got {0}")]
    BadRandom(usize),
    #[error("document {doc} cannot be loaded: {reason}")]
    Load { doc: DocId, reason: String },
    #[error("not a Concord document file: {0}")]
    Import(DecodeError),
    #[error("the relay sent a frame that does not decode: {0}")]
    Frame(DecodeError),
    #[error("document {0} is read-only (opened with a read-only link)")]
    ReadOnly(DocId),
    #[error("edit refused: {0}")]
    Edit(#[from] EditError),
    #[error("changes refused: {0}")]
    Apply(#[from] ApplyError),
    #[error("position {pos} is outside the text (length {len} in UTF-16 units)")]
    Position { pos: usize, len: usize },
    #[error("{0}")]
    Calendar(#[from] concord_calendar::CalendarError),
    #[error("{0}")]
    Time(String),
    #[error("there is no time {0} to pick")]
    NoSuchChoice(usize),
    #[error("an attendee needs a name or an address")]
    EmptyAttendee,
    #[error("name one occurrence of a repeating event, not \"series\"")]
    NotAnOccurrence,
    #[error("a map value must be a string, number, boolean, null or Uint8Array")]
    Value,
}
