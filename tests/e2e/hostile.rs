//! Issue 13, item 5: one writer must not be able to jam a document for
//! everyone. A change whose ops do not decode is acknowledged and served by
//! the relay (which never reads ops); every device applies it as an empty
//! change, says so, and keeps syncing, a fresh device included.

use std::time::Duration;

use concord_core::{Access, EncodedChange, ReplicaId};
use concord_e2e::raw_socket::{RawSocket, doc};
use concord_e2e::relay_process::mint_token;

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
