//! Issue 13, item 1, as a person met it with the CLI: a device that opens a
//! share link and types before its first sync finished made a second body,
//! and one side's whole text vanished on every device (10 of 10 trials).
//! Through a real relay and real `concord` processes, both texts stay.

use std::path::Path;
use std::time::Duration;

use concord_wire::Access;

use concord_e2e::device_process::Device;
use concord_e2e::relay_process::RelayProcess;

fn device(dir: &Path, relay: &RelayProcess) -> Device {
    Device::new(
        Path::new(env!("CARGO_BIN_EXE_concord-under-test")),
        dir,
        &relay.url(),
    )
}

#[test]
fn a_device_that_types_before_its_first_sync_loses_no_one_s_text() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = RelayProcess::start(
        Path::new(env!("CARGO_BIN_EXE_relay-under-test")),
        &dir.path().join("relay"),
        &[],
    )?;
    // Both orders of who syncs first after the join.
    for trial in 0..2 {
        let a = device(&dir.path().join(format!("a{trial}")), &relay);
        let b = device(&dir.path().join(format!("b{trial}")), &relay);
        let id = a.ok(&["doc", "new", "Shared"])?;
        a.ok(&["doc", "append", &id, "The creator wrote this. "])?;
        // The relay's operator gives the document a token; the creator
        // takes it by opening the link, then shares it.
        let token = relay.mint_token(&id, Access::ReadWrite, Duration::from_hours(1));
        a.ok(&[
            "doc",
            "open",
            &format!("{}/#doc={id}&token={token}", relay.http_url("")),
        ])?;
        a.ok(&["sync", "--once"])?;
        let link = a.ok(&["doc", "share", &id])?;

        assert_eq!(b.ok(&["doc", "open", &link])?, id);
        b.ok(&["doc", "append", &id, "The joiner typed before syncing."])?;
        let (first, second) = if trial == 0 { (&a, &b) } else { (&b, &a) };
        first.ok(&["sync", "--once"])?;
        second.ok(&["sync", "--once"])?;
        first.ok(&["sync", "--once"])?;

        let (ta, tb) = (a.cat(&id)?, b.cat(&id)?);
        assert_eq!(ta, tb, "the devices disagree");
        assert!(ta.contains("The creator wrote this. "), "{ta:?}");
        assert!(ta.contains("The joiner typed before syncing."), "{ta:?}");
    }
    Ok(())
}
