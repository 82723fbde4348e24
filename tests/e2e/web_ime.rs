//! IME composition in the browser's text field (issue 14, item 4): text
//! composed through an input method lands in the document once, where the
//! caret was, also when a remote edit arrives mid-composition, and the
//! native client ends with the same text.

use concord_e2e::browser::BrowserScript;
use concord_note::note;
use serde_json::json;

use crate::converge::{CONVERGE, wait_until};
use crate::web::{STEP, native_note, native_synced, native_text, setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ime_composition_in_the_browser_lands_once_even_with_a_remote_edit_mid_composition() {
    let s = setup("web-ime");
    let initial = "Hello world";
    native_note(&s, "IME", initial).await;

    let mut browser =
        BrowserScript::start("ime", &[&s.link, initial]).expect("the browser script starts");
    let first = browser
        .step("first", STEP)
        .await
        .expect("the first composition was committed");
    assert_eq!(
        first["events"],
        json!(["compositionstart", "compositionupdate", "compositionend"]),
        "the page saw a real composition"
    );
    assert_eq!(first["text"], json!("Hello 日本world"));
    assert_eq!(first["value"], json!("Hello 日本world"));
    assert_eq!(
        first["caret"],
        json!(8),
        "the caret after what was composed"
    );

    let composing = browser
        .step("composing", STEP)
        .await
        .expect("the second composition started");
    assert_eq!(composing["value"], json!("Hello 日本worldせかい"));
    // The native client writes in front while the browser composes.
    wait_until(
        "the first composition on the native client",
        CONVERGE,
        || {
            let text = native_text(&s.native, &s.doc);
            if text == "Hello 日本world" {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .await;
    s.native
        .edit(&s.doc, |tx| note::splice(tx, 0, 0, ">> "))
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("edit");
    native_synced(&s.native, &s.doc).await;
    browser
        .go("remote", &json!({ "text": ">> Hello 日本world" }))
        .expect("go");
    let done = browser
        .step("done", STEP)
        .await
        .expect("the second composition was committed");
    let want = ">> Hello 日本world世界!";
    assert_eq!(
        done["during"],
        json!("Hello 日本worldせかい"),
        "the field is left alone while composing"
    );
    assert_eq!(done["text"], json!(want));
    assert_eq!(done["value"], json!(want), "the field shows the document");
    assert_eq!(
        done["caret"],
        json!(want.encode_utf16().count()),
        "typing went on right after the composed text"
    );
    wait_until("the browser's text on the native client", CONVERGE, || {
        let text = native_text(&s.native, &s.doc);
        if text == want { Ok(()) } else { Err(text) }
    })
    .await;
    browser
        .finish(STEP)
        .await
        .expect("the browser script succeeds");
    drop(s.relay);
}
