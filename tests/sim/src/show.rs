//! Short forms of frames and versions for the trace.

use std::fmt::Write;

use concord_wire::{EncodedChange, Frame, Message, Record, VersionVector};

pub fn frame(f: &Frame) -> String {
    match f {
        Frame::Subscribe { doc, .. } => format!("Subscribe {doc}"),
        Frame::Unsubscribe { doc } => format!("Unsubscribe {doc}"),
        Frame::Subscribed { doc, access } => format!("Subscribed {doc} {access:?}"),
        Frame::Error { doc, code, .. } => match doc {
            Some(doc) => format!("Error {doc} {}", code.name()),
            None => format!("Error {}", code.name()),
        },
        Frame::Presence { doc, devices } => format!("Presence {doc} {devices:?}"),
        Frame::Sync { doc, message } => match message {
            Message::Hello { version } => format!("{doc} Hello {}", self::version(version)),
            Message::Ack { version } => format!("{doc} Ack {}", self::version(version)),
            Message::Records { records } => format!("{doc} Records {}", self::records(records)),
        },
    }
}

/// `{R101:3 R102:5}`.
pub fn version(v: &VersionVector) -> String {
    let mut s = String::from("{");
    for (i, (replica, seq)) in v.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(s, "{sep}{replica:?}:{seq}");
    }
    s.push('}');
    s
}

/// `[R101:3-5 R102:1]`, as `records` shows them.
pub fn changes(changes: &[EncodedChange]) -> String {
    records(
        &changes
            .iter()
            .cloned()
            .map(Record::from)
            .collect::<Vec<_>>(),
    )
}

/// `[R101:3-5 R102:1]`: runs of one replica's consecutive changes.
pub fn records(records: &[Record]) -> String {
    let mut runs: Vec<(String, u64, u64)> = Vec::new();
    for rec in records {
        let replica = format!("{:?}", rec.replica());
        match runs.last_mut() {
            Some((r, _, end)) if *r == replica && *end + 1 == rec.first_seq() => {
                *end = rec.last_seq();
            }
            _ => runs.push((replica, rec.first_seq(), rec.last_seq())),
        }
    }
    let parts: Vec<String> = runs
        .into_iter()
        .map(|(r, a, b)| {
            if a == b {
                format!("{r}:{a}")
            } else {
                format!("{r}:{a}-{b}")
            }
        })
        .collect();
    format!("[{}]", parts.join(" "))
}
