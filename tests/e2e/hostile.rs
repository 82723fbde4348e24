//! Issue 13, item 5: one writer must not be able to jam a document for
//! everyone. A change whose ops do not decode is acknowledged and served by
//! the relay (which never reads ops); every device applies it as an empty
//! change, says so, and keeps syncing, a fresh device included.

use std::time::Duration;

use concord_core::{EncodedChange, ReplicaId};
use concord_e2e::raw_socket::{RawSocket, doc};
use concord_e2e::relay_process::mint_token;
use concord_wire::Access;

use crate::converge::{
    CONVERGE, converged, create_bodies, start_client, start_relay, text_of, wait_until,
};

/// A change with a valid header (replica `replica`, seq 1, Lamport 1, no
/// dependencies) whose ops block is three bytes of garbage.
fn garbage_change(replica: ReplicaId) -> EncodedChange {
    let mut bytes = b"CC\x01".to_vec();
    bytes.extend_from_slice(&replica.to_bytes());
    bytes.extend_from_slice(&[1, 1, 0, 0, 3, 0xff, 0xff, 0xff]);
    EncodedChange::decode(bytes).expect("the header is valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_ops_do_not_decode_stalls_no_one() {
    let (relay, _dir) = start_relay(&[]);
    let docs = [doc("jammed")];
    let alice = start_client(&relay.url(), 0xA11CE, &docs);
    create_bodies(&alice, std::slice::from_ref(&alice), &docs).await;

    // Mallory, with a valid read-write link, sends the garbage.
    let mallory = ReplicaId(0x6A11);
    let bad = garbage_change(mallory);
    let mut socket = RawSocket::connect(&relay.url()).await.unwrap();
    let token = mint_token("jammed", Access::ReadWrite, Duration::from_hours(1));
    socket
        .subscribe(&docs[0], &token, mallory)
        .await
        .unwrap()
        .expect("subscribed");
    let acked = socket
        .upload(&docs[0], std::slice::from_ref(&bad))
        .await
        .unwrap();
    assert!(acked.is_ok(), "the relay cannot read ops: it stores them");

    // Alice keeps typing; Bob joins afterwards from nothing.
    alice
        .edit(&docs[0], |tx| concord_note::note::append(tx, " and more"))
        .unwrap()
        .value_if_saved()
        .expect("saved")
        .unwrap();
    let bob = start_client(&relay.url(), 0xB0B, &docs);
    let both = [alice, bob];
    wait_until("both devices to converge, Synced", CONVERGE, || {
        converged(&both, &docs)
    })
    .await;
    for client in &both {
        let (text, unreadable) = client
            .with_document(&docs[0], |d| (text_of(d), d.unreadable().clone()))
            .unwrap();
        assert_eq!(text, "start and more", "nothing anyone wrote is missing");
        assert!(
            unreadable[&bad.id()].contains("do not decode"),
            "{unreadable:?}"
        );
        let summary = client
            .with_document(&docs[0], concord_core::Document::unreadable_summary)
            .unwrap()
            .unwrap();
        assert!(
            summary.starts_with("1 change from device 00000000"),
            "{summary}"
        );
    }
}

/// Issue 13: a change forged under another device's replica id and next
/// seq was acknowledged; the real device's edits then reached no one while
/// it said "synced". Now the device notices (its own change at that seq is
/// refused as an equivocation), says so, and gets its edits out under a
/// fresh replica id: every device ends with everything anyone wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_under_a_forged_device_id_are_kept_and_sent_under_a_new_one() {
    let (relay, _dir) = start_relay(&[]);
    let docs = [doc("forged")];
    let alice = start_client(&relay.url(), 0xA11CE, &docs);
    let mut events = alice.events();
    create_bodies(&alice, std::slice::from_ref(&alice), &docs).await;
    wait_until("Alice synced", CONVERGE, || {
        converged(std::slice::from_ref(&alice), &docs)
    })
    .await;

    // Alice types offline.
    alice.set_online(false);
    for words in [" world", "!"] {
        alice
            .edit(&docs[0], |tx| concord_note::note::append(tx, words))
            .unwrap()
            .value_if_saved()
            .expect("saved")
            .unwrap();
    }

    // Mallory writes as Alice: her id, her next seq, on what the relay has.
    let mut socket = RawSocket::connect(&relay.url()).await.unwrap();
    let token = mint_token("forged", Access::ReadWrite, Duration::from_hours(1));
    socket
        .subscribe(&docs[0], &token, ReplicaId(0x6A11))
        .await
        .unwrap()
        .expect("subscribed");
    let mut as_alice = concord_core::Document::new(ReplicaId(0xA11CE));
    as_alice
        .apply_all(socket.download(&docs[0]).await.unwrap())
        .unwrap();
    let mut tx = as_alice.transaction();
    concord_note::note::append(&mut tx, " [forged]").unwrap();
    let forged = tx.commit().unwrap();
    assert_eq!(forged.id().replica, ReplicaId(0xA11CE));
    let acked = socket
        .upload(&docs[0], std::slice::from_ref(&forged))
        .await
        .unwrap();
    assert!(
        acked.is_ok(),
        "until changes are signed the relay cannot tell"
    );

    alice.set_online(true);
    let bob = start_client(&relay.url(), 0xB0B, &docs);
    let both = [alice, bob];
    wait_until("both devices to converge, Synced", CONVERGE, || {
        converged(&both, &docs)
    })
    .await;
    for client in &both {
        let text = client.with_document(&docs[0], text_of).unwrap();
        for words in ["start", " world", "!", " [forged]"] {
            assert!(text.contains(words), "{words:?} missing from {text:?}");
        }
    }
    // Alice was told, and edits as a new id now.
    let mut told = None;
    while let Ok(event) = events.try_recv() {
        if let concord_client::DeviceEvent::IdForged {
            forged: id,
            remade,
            new_replica,
            ..
        } = event
        {
            told = Some((id, remade, new_replica));
        }
    }
    let (id, remade, new_replica) = told.expect("an IdForged event");
    assert_eq!(id, forged.id());
    assert_eq!(remade, 2);
    let replica = both[0]
        .with_document(&docs[0], concord_core::Document::replica)
        .unwrap();
    assert_eq!(replica, new_replica);
}
