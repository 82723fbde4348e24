//! Issue 13, item 6: `concord sync --once` printed "synced 1 document" and
//! exited 0 for a document the relay refused (no token, a bad or expired
//! one) and for local edits a read-only link could not upload. Now it says
//! per document what happened and exits non-zero unless every one synced.

use std::path::Path;
use std::time::Duration;

use concord_e2e::device_process::Device;
use concord_e2e::relay_process::RelayProcess;
use concord_wire::Access;

fn device(dir: &Path, relay: &RelayProcess) -> Device {
    Device::new(
        Path::new(env!("CARGO_BIN_EXE_concord-under-test")),
        dir,
        &relay.url(),
    )
}

/// `sync --once` with a short deadline: (exit 0?, stdout, stderr).
fn sync(device: &Device) -> (bool, String, String) {
    let out = device
        .run(&["sync", "--once", "--timeout", "20"])
        .expect("concord runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sync_once_says_per_document_what_happened_and_fails_unless_all_synced() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = RelayProcess::start(
        Path::new(env!("CARGO_BIN_EXE_relay-under-test")),
        &dir.path().join("relay"),
        &[],
    )?;
    let link = |id: &str, access, ttl| {
        format!(
            "{}/#doc={id}&token={}",
            relay.http_url(""),
            relay.mint_token(id, access, ttl)
        )
    };

    // A document made here has no token: the relay refuses it.
    let a = device(&dir.path().join("a"), &relay);
    let id = a.ok(&["doc", "new", "Plans"])?;
    a.ok(&["doc", "append", &id, "hello"])?;
    let (ok, stdout, stderr) = sync(&a);
    assert!(!ok, "a refused document is no success: {stdout}");
    assert!(
        stdout.contains(&format!("{id}: NOT synced: the relay refused it")),
        "{stdout}"
    );
    assert!(stderr.contains("1 of 1 document did not sync"), "{stderr}");

    // With a token it syncs, and says so.
    a.ok(&[
        "doc",
        "open",
        &link(&id, Access::ReadWrite, Duration::from_hours(1)),
    ])?;
    let (ok, stdout, _) = sync(&a);
    assert!(ok, "{stdout}");
    assert!(stdout.contains(&format!("{id}: synced")), "{stdout}");
    assert!(stdout.contains("synced 1 document with"), "{stdout}");

    // A read-only link: the document arrives, local edits cannot leave.
    let b = device(&dir.path().join("b"), &relay);
    b.ok(&[
        "doc",
        "open",
        &link(&id, Access::Read, Duration::from_hours(1)),
    ])?;
    let (ok, stdout, _) = sync(&b);
    assert!(ok, "reading is all a read-only link promises: {stdout}");
    assert_eq!(b.cat(&id)?, "hello");
    b.ok(&["doc", "append", &id, " from b"])?;
    let (ok, stdout, _) = sync(&b);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{id}: NOT synced: 1 local change not uploaded, the link is read-only"
        )),
        "{stdout}"
    );

    // An expired link is refused, with the reason.
    let c = device(&dir.path().join("c"), &relay);
    c.ok(&["doc", "open", &link(&id, Access::ReadWrite, Duration::ZERO)])?;
    let (ok, stdout, _) = sync(&c);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("NOT synced: the relay refused it"),
        "{stdout}"
    );
    assert!(stdout.to_lowercase().contains("expired"), "{stdout}");
    Ok(())
}
