//! What the top bar says about sync, as pure functions of what the client
//! reports: the status line, who else is here, and the notices that sync
//! events become. The window only reads the client and draws the result.

use concord_client::{ConnectionStatus, SyncStatus};
use concord_core::ChangeId;
use egui::Color32;

/// What the client says about the open document, read once per frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncFacts {
    /// A relay is configured (otherwise the device works local-only).
    pub relay: bool,
    /// The person has not chosen "Work offline".
    pub online: bool,
    /// The document's sync status, or why the client cannot say.
    pub status: Result<SyncStatus, String>,
    pub connection: ConnectionStatus,
    /// The document's changes the relay has not acknowledged.
    pub unacked: u64,
}

/// The colour of the status dot: how the person should feel about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Nothing open.
    Idle,
    /// Local only or offline: nothing is wrong, nothing moves.
    Quiet,
    Synced,
    /// Connecting or changes on their way.
    Busy,
    Refused,
}

impl Tone {
    pub fn colour(self) -> Color32 {
        match self {
            Tone::Idle => Color32::GRAY,
            Tone::Quiet => Color32::from_rgb(120, 120, 120),
            Tone::Synced => Color32::from_rgb(30, 140, 60),
            Tone::Busy => Color32::from_rgb(200, 130, 0),
            Tone::Refused => Color32::from_rgb(190, 30, 30),
        }
    }
}

/// The status line for the open document (`None`: nothing open).
pub fn status_line(open: Option<&SyncFacts>) -> (String, Tone) {
    let Some(facts) = open else {
        return ("No document open".into(), Tone::Idle);
    };
    if !facts.relay {
        return ("Local only: no relay configured".into(), Tone::Quiet);
    }
    let not_on_relay = |what: &str, n: u64| {
        if n == 0 {
            what.to_owned()
        } else {
            format!("{what}: {n} changes not yet on the relay")
        }
    };
    if !facts.online {
        return (not_on_relay("Working offline", facts.unacked), Tone::Quiet);
    }
    match &facts.status {
        Ok(SyncStatus::Synced) => ("Synced".into(), Tone::Synced),
        Ok(SyncStatus::Syncing { unacked }) => {
            let text = if *unacked == 0 {
                "Syncing…".into()
            } else {
                format!("Syncing: {unacked} changes not yet on the relay")
            };
            (text, Tone::Busy)
        }
        Ok(SyncStatus::Connecting) => ("Connecting…".into(), Tone::Busy),
        Ok(SyncStatus::Offline) => {
            let what = match facts.connection {
                ConnectionStatus::Connecting => "Connecting…",
                _ => "Offline",
            };
            (not_on_relay(what, facts.unacked), Tone::Quiet)
        }
        Ok(SyncStatus::Refused { code, detail }) => (
            format!("The relay refused this document: {code} {detail}"),
            Tone::Refused,
        ),
        Err(e) => (e.clone(), Tone::Refused),
    }
}

/// "2 other devices are here", or nothing when this device is alone.
pub fn presence_line(others: usize) -> Option<String> {
    (others > 0).then(|| {
        format!(
            "{others} other device{} here",
            if others == 1 { " is" } else { "s are" }
        )
    })
}

/// What the person is told when someone wrote under this device's id and
/// `remade` of its edits were made again under a new one.
pub fn id_forged_notice(forged: &ChangeId, remade: usize) -> String {
    format!(
        "Another device wrote into this document under this device's id \
         ({forged:?}). Your {remade} edit{} since then {} kept and sent again \
         under a new device id.",
        if remade == 1 { "" } else { "s" },
        if remade == 1 { "was" } else { "were" },
    )
}

/// What the person is told after an import that skipped or adjusted
/// something; nothing when it went cleanly.
pub fn import_notice(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| {
        format!(
            "imported with {} warning{}: {}",
            warnings.len(),
            if warnings.len() == 1 { "" } else { "s" },
            warnings.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::ReplicaId;
    use concord_wire::ErrorCode;

    fn facts(status: SyncStatus) -> SyncFacts {
        SyncFacts {
            relay: true,
            online: true,
            status: Ok(status),
            connection: ConnectionStatus::Connected,
            unacked: 0,
        }
    }

    #[test]
    fn nothing_open_and_local_only_say_so() {
        assert_eq!(status_line(None), ("No document open".into(), Tone::Idle));
        let local = SyncFacts {
            relay: false,
            ..facts(SyncStatus::Synced)
        };
        assert_eq!(
            status_line(Some(&local)),
            ("Local only: no relay configured".into(), Tone::Quiet)
        );
    }

    #[test]
    fn working_offline_counts_what_the_relay_lacks() {
        let mut offline = SyncFacts {
            online: false,
            ..facts(SyncStatus::Synced)
        };
        assert_eq!(status_line(Some(&offline)).0, "Working offline");
        offline.unacked = 3;
        assert_eq!(
            status_line(Some(&offline)),
            (
                "Working offline: 3 changes not yet on the relay".into(),
                Tone::Quiet
            )
        );
    }

    #[test]
    fn every_sync_status_has_its_line() {
        assert_eq!(
            status_line(Some(&facts(SyncStatus::Synced))),
            ("Synced".into(), Tone::Synced)
        );
        assert_eq!(
            status_line(Some(&facts(SyncStatus::Syncing { unacked: 0 }))),
            ("Syncing…".into(), Tone::Busy)
        );
        assert_eq!(
            status_line(Some(&facts(SyncStatus::Syncing { unacked: 2 }))),
            ("Syncing: 2 changes not yet on the relay".into(), Tone::Busy)
        );
        assert_eq!(
            status_line(Some(&facts(SyncStatus::Connecting))),
            ("Connecting…".into(), Tone::Busy)
        );
        let refused = SyncStatus::Refused {
            code: ErrorCode::ReadOnly,
            detail: "no".into(),
        };
        let (text, tone) = status_line(Some(&facts(refused)));
        assert!(text.starts_with("The relay refused this document: "));
        assert!(text.ends_with(" no"));
        assert_eq!(tone, Tone::Refused);
        let broken = SyncFacts {
            status: Err("document not open".into()),
            ..facts(SyncStatus::Synced)
        };
        assert_eq!(
            status_line(Some(&broken)),
            ("document not open".into(), Tone::Refused)
        );
    }

    #[test]
    fn a_document_offline_says_whether_the_connection_is_coming() {
        let mut offline = facts(SyncStatus::Offline);
        offline.connection = ConnectionStatus::Offline;
        assert_eq!(status_line(Some(&offline)), ("Offline".into(), Tone::Quiet));
        offline.connection = ConnectionStatus::Connecting;
        offline.unacked = 1;
        assert_eq!(
            status_line(Some(&offline)).0,
            "Connecting…: 1 changes not yet on the relay"
        );
    }

    #[test]
    fn presence_counts_other_devices_only() {
        assert_eq!(presence_line(0), None);
        assert_eq!(presence_line(1).as_deref(), Some("1 other device is here"));
        assert_eq!(
            presence_line(3).as_deref(),
            Some("3 other devices are here")
        );
    }

    #[test]
    fn notices_agree_in_number() {
        let forged = ChangeId {
            replica: ReplicaId(7),
            seq: 4,
        };
        let one = id_forged_notice(&forged, 1);
        assert!(one.contains("Your 1 edit since then was kept"), "{one}");
        let two = id_forged_notice(&forged, 2);
        assert!(two.contains("Your 2 edits since then were kept"), "{two}");

        assert_eq!(import_notice(&[]), None);
        assert_eq!(
            import_notice(&["a".into()]).as_deref(),
            Some("imported with 1 warning: a")
        );
        assert_eq!(
            import_notice(&["a".into(), "b".into()]).as_deref(),
            Some("imported with 2 warnings: a; b")
        );
    }
}
