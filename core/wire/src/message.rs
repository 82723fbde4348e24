//! Sync protocol messages on the wire.
//!
//! ```text
//! "CS" version(2) tag
//!   tag 1 Hello:   version vector (n, (replica[16] seq)*n)
//!   tag 2 Records: n, record_bytes*n  (each length-prefixed: a change or a
//!                  run record, `record.rs`)
//!   tag 3 Ack:     version vector
//! ```
//! Version 1 had `Changes` (one change per entry) where version 2 has
//! `Records`; a relay refuses version 1 clients (see `frame.rs`).

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::id::ReplicaId;
use crate::record::Record;
use crate::version::VersionVector;

const MAGIC: &[u8; 2] = b"CS";
const VERSION: u8 = 2;
const HELLO: u8 = 1;
const RECORDS: u8 = 2;
const ACK: u8 = 3;

/// What two peers say to each other about one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// "This is everything I have." Starts a sync and repeats periodically:
    /// the receiver answers with exactly what the sender lacks.
    Hello { version: VersionVector },
    /// Changes the receiver lacks, in causal order, as records (a record
    /// may hold changes the receiver has too).
    Records { records: Vec<Record> },
    /// "I have durably stored everything in this version."
    Ack { version: VersionVector },
}

impl Message {
    /// The number of changes this message carries (records may hold many).
    pub fn change_count(&self) -> u64 {
        match self {
            Message::Records { records } => records.iter().map(Record::count).sum(),
            Message::Hello { .. } | Message::Ack { .. } => 0,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u8(VERSION);
        match self {
            Message::Hello { version } => {
                w.u8(HELLO);
                write_vv(&mut w, version);
            }
            Message::Records { records } => {
                w.u8(RECORDS);
                w.len(records.len());
                for r in records {
                    w.bytes(r.bytes());
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
            RECORDS => {
                let n = r.count(1)?;
                let mut records = Vec::with_capacity(n);
                for _ in 0..n {
                    records.push(Record::decode(r.bytes()?.to_vec())?);
                }
                Message::Records { records }
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
