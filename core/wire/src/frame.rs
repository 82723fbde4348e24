//! Frames on a relay connection: many documents over one websocket.
//!
//! Every websocket binary message is exactly one frame:
//! ```text
//! "CF" version(2) tag
//!   tag 1 Subscribe:   doc token device[16]      client -> relay
//!   tag 2 Unsubscribe: doc                       client -> relay
//!   tag 3 Sync:        doc message               both ways ("CS" message, length-prefixed)
//!   tag 4 Subscribed:  doc access(u8: 0 read, 1 read-write)   relay -> client
//!   tag 5 Error:       doc code(uvarint) detail  relay -> client (doc "" = the connection)
//!   tag 6 Presence:    doc n device[16]*n        relay -> client (sorted, distinct)
//! ```
//! Strings are a uvarint length then UTF-8. `PROTOCOL.md` at the repository
//! root is the full specification; this file is its implementation.
//!
//! Version 2 carries sync messages of version 2 (records, not single
//! changes); the frames themselves are laid out as in version 1. A relay
//! answers a client that speaks another version with an Error frame it can
//! read (`Frame::encode_as`: an Error frame is the same in both) and closes
//! with `close::UNSUPPORTED_VERSION`.

use std::fmt;

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::id::ReplicaId;
use crate::message::Message;

const MAGIC: &[u8; 2] = b"CF";
/// The frame version this crate speaks.
pub const VERSION: u8 = 2;
/// The oldest frame version whose Error frames this crate can write
/// (`Frame::encode_as`), to tell such a client why it is refused.
pub const OLDEST_VERSION: u8 = 1;
const SUBSCRIBE: u8 = 1;
const UNSUBSCRIBE: u8 = 2;
const SYNC: u8 = 3;
const SUBSCRIBED: u8 = 4;
const ERROR: u8 = 5;
const PRESENCE: u8 = 6;

/// Longest document id, in bytes.
pub const MAX_DOC_ID_LEN: usize = 64;
/// Longest access token, in bytes.
pub const MAX_TOKEN_LEN: usize = 1024;
/// Longest error detail, in bytes.
pub const MAX_DETAIL_LEN: usize = 1024;

/// A document's name on a relay: 1 to 64 ASCII letters, digits, `-` or `_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId(String);

impl DocId {
    pub fn new(id: impl Into<String>) -> Result<Self, DecodeError> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= MAX_DOC_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(DocId(id))
        } else {
            Err(DecodeError::Invalid(
                "document id must be 1-64 ASCII letters, digits, '-' or '_'",
            ))
        }
    }

    /// A fresh id from 16 random bytes the caller drew (the core draws none).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(32);
        for b in bytes {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
        DocId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DocId {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocId::new(s)
    }
}

/// What a subscription may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Read,
    ReadWrite,
}

impl Access {
    pub fn can_write(self) -> bool {
        self == Access::ReadWrite
    }

    /// The access a relay token claims, read from its payload without
    /// checking the signature (`v1.<base64url "doc:r|rw:expiry">.<sig>`,
    /// minted by the relay's `token.rs`), so a client knows it offline too.
    /// `None` for anything that is not such a token (a `--dev` relay's
    /// empty token, garbage). The relay has the last word: `Subscribed`
    /// carries the access it granted.
    pub fn claimed_by_token(token: &str) -> Option<Access> {
        use base64::Engine as _;
        let payload = token.strip_prefix("v1.")?.split('.').next()?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut fields = text.rsplitn(3, ':');
        let (_expiry, access) = (fields.next()?, fields.next()?);
        fields.next()?;
        match access {
            "r" => Some(Access::Read),
            "rw" => Some(Access::ReadWrite),
            _ => None,
        }
    }
}

/// Why the relay refused something. The numbers are on the wire; never reuse one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// The frame could not be decoded.
    Malformed,
    /// The token is missing, forged, or for another document.
    Unauthorized,
    /// The token has expired.
    TokenExpired,
    /// A write with a read-only token.
    ReadOnly,
    /// A Sync or Unsubscribe for a document not subscribed on this connection.
    NotSubscribed,
    /// Too many documents on one connection.
    TooManyDocuments,
    /// Too many changes waiting for their dependencies on this connection.
    TooManyPending,
    /// Too many changes per second on this connection.
    RateLimited,
    /// A change id already stored with different content.
    Equivocation,
    /// A change that can never be stored (e.g. its seq skips ahead of its replica's).
    InvalidChange,
    /// The relay failed (storage); retry later.
    Internal,
    /// The relay's store cannot take writes right now (disk full, database
    /// locked): nothing of the batch was stored; the relay asks for it again
    /// (Hello) later. Reads go on.
    StoreUnavailable,
    /// The client speaks a protocol version the relay does not (then close
    /// `close::UNSUPPORTED_VERSION`).
    UnsupportedVersion,
    /// A code this version does not know.
    Other(u64),
}

impl ErrorCode {
    pub fn to_u64(self) -> u64 {
        match self {
            ErrorCode::Malformed => 1,
            ErrorCode::Unauthorized => 2,
            ErrorCode::TokenExpired => 3,
            ErrorCode::ReadOnly => 4,
            ErrorCode::NotSubscribed => 5,
            ErrorCode::TooManyDocuments => 6,
            ErrorCode::TooManyPending => 7,
            ErrorCode::RateLimited => 8,
            ErrorCode::Equivocation => 9,
            ErrorCode::InvalidChange => 10,
            ErrorCode::Internal => 11,
            ErrorCode::StoreUnavailable => 12,
            ErrorCode::UnsupportedVersion => 13,
            ErrorCode::Other(n) => n,
        }
    }

    pub fn from_u64(n: u64) -> Self {
        match n {
            1 => ErrorCode::Malformed,
            2 => ErrorCode::Unauthorized,
            3 => ErrorCode::TokenExpired,
            4 => ErrorCode::ReadOnly,
            5 => ErrorCode::NotSubscribed,
            6 => ErrorCode::TooManyDocuments,
            7 => ErrorCode::TooManyPending,
            8 => ErrorCode::RateLimited,
            9 => ErrorCode::Equivocation,
            10 => ErrorCode::InvalidChange,
            11 => ErrorCode::Internal,
            12 => ErrorCode::StoreUnavailable,
            13 => ErrorCode::UnsupportedVersion,
            n => ErrorCode::Other(n),
        }
    }

    /// A short stable name, for logs and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::NotSubscribed => "not_subscribed",
            ErrorCode::TooManyDocuments => "too_many_documents",
            ErrorCode::TooManyPending => "too_many_pending",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Equivocation => "equivocation",
            ErrorCode::InvalidChange => "invalid_change",
            ErrorCode::Internal => "internal",
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::Other(_) => "other",
        }
    }

    /// Does this error end the subscription (the client must fix something
    /// before subscribing again)?
    pub fn ends_subscription(self) -> bool {
        matches!(
            self,
            ErrorCode::Unauthorized
                | ErrorCode::TokenExpired
                | ErrorCode::TooManyDocuments
                | ErrorCode::NotSubscribed
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.to_u64())
    }
}

/// Websocket close codes the relay uses (RFC 6455 section 7.4 plus ours).
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The relay is shutting down: reconnect later.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame that is not a valid frame (bad magic, version, truncation).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message, where only binary frames are allowed.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// Repeated abuse of a limit (rate, pending changes).
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A message over the size limit.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The relay failed.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Too many connections: try again later (with backoff).
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// This connection fell too far behind: reconnect and resync
    /// (anti-entropy on reconnect repairs everything).
    pub const RESYNC: u16 = 4000;
    /// The client speaks a protocol version the relay does not: update it.
    pub const UNSUPPORTED_VERSION: u16 = 4001;
}

/// One websocket message between a client and a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Start syncing `doc`; `device` is the client's replica id (for presence).
    Subscribe {
        doc: DocId,
        token: String,
        device: ReplicaId,
    },
    Unsubscribe {
        doc: DocId,
    },
    /// A sync protocol message about one document.
    Sync {
        doc: DocId,
        message: Message,
    },
    /// The relay accepted a subscription.
    Subscribed {
        doc: DocId,
        access: Access,
    },
    /// The relay refused something; `doc` is `None` for the connection.
    Error {
        doc: Option<DocId>,
        code: ErrorCode,
        detail: String,
    },
    /// The devices currently subscribed to `doc` (including the receiver).
    Presence {
        doc: DocId,
        devices: Vec<ReplicaId>,
    },
}

impl Frame {
    pub fn doc(&self) -> Option<&DocId> {
        match self {
            Frame::Subscribe { doc, .. }
            | Frame::Unsubscribe { doc }
            | Frame::Sync { doc, .. }
            | Frame::Subscribed { doc, .. }
            | Frame::Presence { doc, .. } => Some(doc),
            Frame::Error { doc, .. } => doc.as_ref(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(VERSION)
    }

    /// The frame in the framing of `version` (from `OLDEST_VERSION` to
    /// `VERSION`). Only frames laid out alike in both versions read the
    /// same there: Error frames (what a relay sends a client it refuses)
    /// and the others without a sync message.
    pub fn encode_as(&self, version: u8) -> Vec<u8> {
        debug_assert!((OLDEST_VERSION..=VERSION).contains(&version));
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u8(version);
        match self {
            Frame::Subscribe { doc, token, device } => {
                w.u8(SUBSCRIBE);
                w.str(doc.as_str());
                w.str(token);
                w.raw(&device.to_bytes());
            }
            Frame::Unsubscribe { doc } => {
                w.u8(UNSUBSCRIBE);
                w.str(doc.as_str());
            }
            Frame::Sync { doc, message } => {
                w.u8(SYNC);
                w.str(doc.as_str());
                w.bytes(&message.encode());
            }
            Frame::Subscribed { doc, access } => {
                w.u8(SUBSCRIBED);
                w.str(doc.as_str());
                w.u8(match access {
                    Access::Read => 0,
                    Access::ReadWrite => 1,
                });
            }
            Frame::Error { doc, code, detail } => {
                w.u8(ERROR);
                w.str(doc.as_ref().map_or("", DocId::as_str));
                w.uvarint(code.to_u64());
                w.str(truncate(detail, MAX_DETAIL_LEN));
            }
            Frame::Presence { doc, devices } => {
                w.u8(PRESENCE);
                w.str(doc.as_str());
                let mut sorted = devices.clone();
                sorted.sort_unstable();
                sorted.dedup();
                w.len(sorted.len());
                for d in sorted {
                    w.raw(&d.to_bytes());
                }
            }
        }
        w.into_inner()
    }

    pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.raw(2).map_err(|_| DecodeError::BadMagic("relay frame"))? != MAGIC {
            return Err(DecodeError::BadMagic("relay frame"));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let frame = match r.u8()? {
            SUBSCRIBE => {
                let doc = read_doc(&mut r)?;
                let token = r.str()?;
                if token.len() > MAX_TOKEN_LEN {
                    return Err(DecodeError::Invalid("token too long"));
                }
                let token = token.to_owned();
                let device = ReplicaId::from_bytes(r.array()?);
                Frame::Subscribe { doc, token, device }
            }
            UNSUBSCRIBE => Frame::Unsubscribe {
                doc: read_doc(&mut r)?,
            },
            SYNC => {
                let doc = read_doc(&mut r)?;
                let message = Message::decode(r.bytes()?)?;
                Frame::Sync { doc, message }
            }
            SUBSCRIBED => {
                let doc = read_doc(&mut r)?;
                let access = match r.u8()? {
                    0 => Access::Read,
                    1 => Access::ReadWrite,
                    _ => return Err(DecodeError::Invalid("unknown access level")),
                };
                Frame::Subscribed { doc, access }
            }
            ERROR => {
                let doc = r.str()?;
                let doc = if doc.is_empty() {
                    None
                } else {
                    Some(DocId::new(doc)?)
                };
                let code = r.uvarint()?;
                if code == 0 {
                    return Err(DecodeError::Invalid("error code 0"));
                }
                let code = ErrorCode::from_u64(code);
                let detail = r.str()?;
                if detail.len() > MAX_DETAIL_LEN {
                    return Err(DecodeError::Invalid("error detail too long"));
                }
                Frame::Error {
                    doc,
                    code,
                    detail: detail.to_owned(),
                }
            }
            PRESENCE => {
                let doc = read_doc(&mut r)?;
                let n = r.count(16)?;
                let mut devices = Vec::with_capacity(n);
                for _ in 0..n {
                    let d = ReplicaId::from_bytes(r.array()?);
                    if devices.last().is_some_and(|&last| last >= d) {
                        return Err(DecodeError::Invalid("presence list not sorted"));
                    }
                    devices.push(d);
                }
                Frame::Presence { doc, devices }
            }
            other => return Err(DecodeError::UnknownTag(other)),
        };
        r.finish()?;
        Ok(frame)
    }
}

/// The version byte of what looks like a frame of a version other than
/// ours ("CF", then a version byte that is not `VERSION`): a client of
/// another protocol version, to be told so rather than called malformed.
pub fn foreign_version(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [b'C', b'F', v, ..] if *v != VERSION => Some(*v),
        _ => None,
    }
}

fn read_doc(r: &mut Reader<'_>) -> Result<DocId, DecodeError> {
    DocId::new(r.str()?)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::VersionVector;

    fn doc(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    #[test]
    fn a_token_claims_its_access_and_garbage_claims_none() {
        use base64::Engine as _;
        let token = |payload: &str| {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
            format!("v1.{b64}.c2ln")
        };
        assert_eq!(
            Access::claimed_by_token(&token("doc:r:99")),
            Some(Access::Read)
        );
        assert_eq!(
            Access::claimed_by_token(&token("doc:rw:99")),
            Some(Access::ReadWrite)
        );
        for bad in [
            String::new(),
            "dev".to_owned(),
            "v1.".to_owned(),
            "v1.!!!.sig".to_owned(),
            "v2.ZG9jOnI6OTk.sig".to_owned(),
            token("doc:w:99"),
            token("r:99"),
            token("doc:r"),
        ] {
            assert_eq!(Access::claimed_by_token(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_frame_round_trips() {
        let mut vv = VersionVector::new();
        vv.observe(ReplicaId(7), 3);
        let frames = [
            Frame::Subscribe {
                doc: doc("notes"),
                token: "t.sig".into(),
                device: ReplicaId(9),
            },
            Frame::Unsubscribe { doc: doc("a-b_c") },
            Frame::Sync {
                doc: doc("x"),
                message: Message::Hello {
                    version: vv.clone(),
                },
            },
            Frame::Sync {
                doc: doc("x"),
                message: Message::Records { records: vec![] },
            },
            Frame::Subscribed {
                doc: doc("x"),
                access: Access::Read,
            },
            Frame::Error {
                doc: None,
                code: ErrorCode::RateLimited,
                detail: "slow down".into(),
            },
            Frame::Error {
                doc: Some(doc("x")),
                code: ErrorCode::Other(99),
                detail: String::new(),
            },
            Frame::Presence {
                doc: doc("x"),
                devices: vec![ReplicaId(1), ReplicaId(2)],
            },
        ];
        for f in frames {
            let bytes = f.encode();
            assert_eq!(Frame::decode(&bytes), Ok(f));
        }
    }

    #[test]
    fn document_ids_are_checked() {
        for bad in ["", "a b", "é", "../etc", &"x".repeat(65)] {
            assert!(DocId::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(DocId::from_random([0xab; 16]).as_str().len(), 32);
        let mut bytes = Frame::Unsubscribe { doc: doc("ok") }.encode();
        let n = bytes.len();
        bytes[n - 1] = b' ';
        assert!(Frame::decode(&bytes).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(Frame::decode(b""), Err(DecodeError::BadMagic(_))));
        assert!(matches!(
            Frame::decode(b"CF\x01\x01"),
            Err(DecodeError::UnsupportedVersion(1))
        ));
        assert!(matches!(
            Frame::decode(b"CF\x02\x63"),
            Err(DecodeError::UnknownTag(0x63))
        ));
        // A huge declared length.
        assert!(Frame::decode(b"CF\x02\x02\xff\xff\xff\xff\x0f").is_err());
        let full = Frame::Subscribe {
            doc: doc("d"),
            token: "tok".into(),
            device: ReplicaId(1),
        }
        .encode();
        for cut in 0..full.len() {
            assert!(Frame::decode(&full[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn error_codes_round_trip_and_long_details_are_cut() {
        for n in 1..=13 {
            assert_eq!(ErrorCode::from_u64(n).to_u64(), n);
        }
        let f = Frame::Error {
            doc: None,
            code: ErrorCode::Internal,
            detail: "é".repeat(1000),
        };
        let Ok(Frame::Error { detail, .. }) = Frame::decode(&f.encode()) else {
            panic!("decodes");
        };
        assert!(detail.len() <= MAX_DETAIL_LEN);
    }

    /// Golden bytes: a format change must never be silent.
    #[test]
    fn frames_and_messages_of_version_2_have_exactly_these_bytes() {
        let sync = |message| Frame::Sync {
            doc: doc("ab"),
            message,
        };
        let mut vv = VersionVector::new();
        vv.observe(ReplicaId(1), 3);
        let mut hello = b"CF\x02\x03\x02ab\x16CS\x02\x01\x01".to_vec();
        hello.extend_from_slice(&ReplicaId(1).to_bytes());
        hello.push(3);
        assert_eq!(
            sync(Message::Hello {
                version: vv.clone()
            })
            .encode(),
            hello
        );
        let mut ack = hello.clone();
        ack[11] = 3;
        assert_eq!(sync(Message::Ack { version: vv }).encode(), ack);
        let run = crate::record::RunRecord::new(ReplicaId(1), 1, 1, &[], &[(1, b"x")]).unwrap();
        let record = run.bytes().to_vec();
        let mut records = b"CF\x02\x03\x02ab".to_vec();
        records.push(4 + 1 + 1 + record.len() as u8);
        records.extend_from_slice(b"CS\x02\x02\x01");
        records.push(record.len() as u8);
        records.extend_from_slice(&record);
        let frame = sync(Message::Records {
            records: vec![run.into()],
        });
        assert_eq!(frame.encode(), records);
        assert_eq!(Frame::decode(&records), Ok(frame));
        assert_eq!(
            Frame::Unsubscribe { doc: doc("ab") }.encode(),
            b"CF\x02\x02\x02ab"
        );
    }

    #[test]
    fn a_client_of_another_version_is_recognised_and_can_read_its_refusal() {
        let v1_hello = b"CF\x01\x01\x02ab";
        assert_eq!(foreign_version(v1_hello), Some(1));
        assert_eq!(foreign_version(b"CF\x07"), Some(7));
        assert_eq!(
            foreign_version(&Frame::Unsubscribe { doc: doc("ab") }.encode()),
            None
        );
        assert_eq!(foreign_version(b"XX\x01"), None);
        let refusal = Frame::Error {
            doc: None,
            code: ErrorCode::UnsupportedVersion,
            detail: "v2 only".into(),
        };
        // A version 1 Error frame, byte for byte.
        assert_eq!(
            refusal.encode_as(1),
            b"CF\x01\x05\x00\x0d\x07v2 only".to_vec()
        );
        assert_eq!(refusal.encode()[3..], refusal.encode_as(1)[3..]);
    }
}
