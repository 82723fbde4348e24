//! The crate stays pure: no clock, no randomness, no threads, no IO in its
//! sources (on wasm32 a clock read would compile and then panic).

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn no_clock_randomness_threads_or_io_in_the_sources() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10, "found the sources");
    let forbidden = [
        "::now(",
        "SystemTime",
        "time::Instant",
        "std::thread",
        "std::fs",
        "std::net",
        "std::env",
        "rand::",
        "getrandom",
        "Uuid",
        "Event::new(",
    ];
    for (path, text) in &files {
        for word in forbidden {
            assert!(!text.contains(word), "{path} uses {word}");
        }
    }
}
