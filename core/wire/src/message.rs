//! Sync protocol messages on the wire.
//!
//! ```text
//! "CS" version(1) tag
//!   tag 1 Hello:   version vector (n, (replica[16] seq)*n)
//!   tag 2 Changes: n, change_bytes*n  (each length-prefixed)
//!   tag 3 Ack:     version vector
//! ```

use crate::codec::{Reader, Writer};
use crate::encoded::EncodedChange;
use crate::error::DecodeError;
use crate::id::ReplicaId;
use crate::version::VersionVector;

const MAGIC: &[u8; 2] = b"CS";
const VERSION: u8 = 1;
const HELLO: u8 = 1;
const CHANGES: u8 = 2;
const ACK: u8 = 3;

/// What two peers say to each other about one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// "This is everything I have." Starts a sync and repeats periodically:
    /// the receiver answers with exactly what the sender lacks.
    Hello { version: VersionVector },
    /// Changes the receiver lacks, in causal order.
    Changes { changes: Vec<EncodedChange> },
    /// "I have durably stored everything in this version."
    Ack { version: VersionVector },
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u8(VERSION);
        match self {
            Message::Hello { version } => {
                w.u8(HELLO);
                write_vv(&mut w, version);
            }
            Message::Changes { changes } => {
                w.u8(CHANGES);
                w.len(changes.len());
                for c in changes {
                    w.bytes(c.bytes());
                }
            }
            Message::Ack { version } => {
                w.u8(ACK);
                write_vv(&mut w, version);
            }
        }
        w.into_inner()
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.raw(2)
            .map_err(|_| DecodeError::BadMagic("sync message"))?
            != MAGIC
        {
            return Err(DecodeError::BadMagic("sync message"));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let msg = match r.u8()? {
            HELLO => Message::Hello {
                version: read_vv(&mut r)?,
            },
            CHANGES => {
                let n = r.count(1)?;
                let mut changes = Vec::with_capacity(n);
                for _ in 0..n {
                    changes.push(EncodedChange::decode(r.bytes()?.to_vec())?);
                }
                Message::Changes { changes }
            }
            ACK => Message::Ack {
                version: read_vv(&mut r)?,
            },
            other => return Err(DecodeError::UnknownTag(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

fn write_vv(w: &mut Writer, vv: &VersionVector) {
    w.len(vv.len());
    for (r, s) in vv.iter() {
        w.raw(&r.to_bytes());
        w.uvarint(s);
    }
}

fn read_vv(r: &mut Reader<'_>) -> Result<VersionVector, DecodeError> {
    let n = r.count(17)?;
    let mut vv = VersionVector::new();
    let mut last = None;
    for _ in 0..n {
        let replica = ReplicaId::from_bytes(r.array()?);
        let seq = r.uvarint()?;
        if seq == 0 || last.is_some_and(|l| l >= replica) {
            return Err(DecodeError::Invalid("version vector not canonical"));
        }
        last = Some(replica);
        vv.observe(replica, seq);
    }
    Ok(vv)
}
