//! Edits whose effect a checker can read back, and the ledger of what the
//! devices said about them (as `concord chaos-edit` and the end-to-end
//! chaos test do, without processes).
//!
//! A note's body is a sequence of tokens `<TAG.N>`, each unique. An edit
//! inserts a new token at a token boundary, deletes one whole token, or
//! replaces one (both in one change), so concurrent edits can reorder
//! tokens but never split one. An edit is *tried* when the device applied
//! it and *saved* once the device says its store holds the change
//! (`Device::durable`); a crash in between may keep it or lose it.

use std::collections::BTreeMap;
use std::ops::Range;

use concord_core::{EditError, Transaction};
use concord_note::note;
use concord_wire::DocId;

use crate::rng::Rng;

/// What one edit did to one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Inserted(String),
    Deleted(String),
}

/// One edit of `tx`'s note body, its new token `<tag.n>`: delete a fifth
/// of the time, replace a tenth, insert the rest.
pub fn edit(
    tx: &mut Transaction<'_>,
    rng: &mut Rng,
    tag: &str,
    n: u64,
) -> Result<Vec<Line>, EditError> {
    let text = note::body_text(tx.doc());
    let tokens = token_spans(&text);
    let roll = rng.unit();
    let victim =
        (!tokens.is_empty() && roll < 0.3).then(|| tokens[rng.index(tokens.len())].clone());
    let insert = victim.is_none() || roll >= 0.2;
    let mut lines = Vec::new();
    if let Some(span) = &victim {
        let token: String = text.chars().skip(span.start).take(span.len()).collect();
        note::splice(tx, span.start, span.len(), "")?;
        lines.push(Line::Deleted(token));
    }
    if insert {
        let fresh = format!("<{tag}.{n}>");
        let gaps = boundaries(&note::body_text(tx.doc()));
        let at = gaps[rng.index(gaps.len())];
        note::splice(tx, at, 0, &fresh)?;
        lines.push(Line::Inserted(fresh));
    }
    Ok(lines)
}

/// Where the tokens `<…>` of `text` are, in chars.
fn token_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.chars().enumerate() {
        match c {
            '<' => start = Some(i),
            '>' => {
                if let Some(s) = start.take() {
                    spans.push(s..i + 1);
                }
            }
            _ => {}
        }
    }
    spans
}

/// The char positions where an insert splits no token.
fn boundaries(text: &str) -> Vec<usize> {
    let mut gaps = vec![0, text.chars().count()];
    for span in token_spans(text) {
        gaps.push(span.start);
        gaps.push(span.end);
    }
    gaps.sort_unstable();
    gaps.dedup();
    gaps
}

/// What the devices said about one edit of a token.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Report {
    #[default]
    None,
    /// Applied; the device may have died before its store held it.
    Tried,
    /// The device said its store holds it.
    Saved,
}

/// What the devices said about one token: its insert and its deletes.
#[derive(Debug, Default, Clone, Copy)]
struct Fate {
    insert: Report,
    delete: Report,
}

/// Per document, what the devices said about every token.
#[derive(Debug, Default)]
pub struct Ledger {
    docs: BTreeMap<DocId, BTreeMap<String, Fate>>,
    pub saved_inserts: u64,
    pub saved_deletes: u64,
}

impl Ledger {
    /// Records `lines` of `doc` as tried, or as saved.
    pub fn record(&mut self, doc: &DocId, lines: &[Line], report: Report) {
        let fates = self.docs.entry(doc.clone()).or_default();
        for line in lines {
            let (token, insert) = match line {
                Line::Inserted(t) => (t, true),
                Line::Deleted(t) => (t, false),
            };
            let fate = fates.entry(token.clone()).or_default();
            let slot = if insert {
                &mut fate.insert
            } else {
                &mut fate.delete
            };
            if report == Report::Saved && *slot != Report::Saved {
                if insert {
                    self.saved_inserts += 1;
                } else {
                    self.saved_deletes += 1;
                }
            }
            // Several devices may delete the same token; the surest counts.
            *slot = (*slot).max(report);
        }
    }

    /// Every problem with `text` as the final body of `doc`: a token saved
    /// and not deleted must appear exactly once, a token whose delete was
    /// saved must not appear, nothing no one wrote may appear.
    pub fn check(&self, doc: &DocId, text: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let spans = token_spans(text);
        let mut covered = 0;
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        let chars: Vec<char> = text.chars().collect();
        for span in &spans {
            if span.start != covered {
                problems.push(format!("{doc}: text outside any token in {text:?}"));
            }
            covered = span.end;
            *count
                .entry(chars[span.clone()].iter().collect())
                .or_default() += 1;
        }
        if covered != chars.len() {
            problems.push(format!("{doc}: text outside any token in {text:?}"));
        }
        let none = BTreeMap::new();
        let fates = self.docs.get(doc).unwrap_or(&none);
        for (token, n) in &count {
            if *n > 1 {
                problems.push(format!("{doc}: {token} appears {n} times"));
            }
            let fate = fates.get(token).copied().unwrap_or_default();
            if fate.insert == Report::None {
                problems.push(format!("{doc}: {token} appears, but no one wrote it"));
            } else if fate.delete == Report::Saved {
                problems.push(format!("{doc}: {token} was deleted (saved), but is back"));
            }
        }
        for (token, fate) in fates {
            if fate.insert == Report::Saved
                && fate.delete == Report::None
                && !count.contains_key(token)
            {
                problems.push(format!(
                    "{doc}: {token} was inserted (saved) and never deleted, but is gone"
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_holds_the_text_to_exactly_what_the_devices_said() {
        let doc = DocId::new("checked").unwrap();
        let mut ledger = Ledger::default();
        let ins = |t: &str| Line::Inserted(t.into());
        let del = |t: &str| Line::Deleted(t.into());
        ledger.record(
            &doc,
            &[ins("<a.1>"), ins("<a.2>"), ins("<a.3>")],
            Report::Saved,
        );
        ledger.record(&doc, &[del("<a.2>")], Report::Saved);
        ledger.record(&doc, &[del("<a.3>"), ins("<a.4>")], Report::Tried);
        assert_eq!((ledger.saved_inserts, ledger.saved_deletes), (3, 1));
        // <a.3>'s delete and <a.4>'s insert may or may not have survived.
        assert!(ledger.check(&doc, "<a.1>").is_empty());
        assert!(ledger.check(&doc, "<a.3><a.1><a.4>").is_empty());
        let problems = |text| ledger.check(&doc, text).join("; ");
        assert!(problems("").contains("<a.1> was inserted (saved) and never deleted, but is gone"));
        assert!(problems("<a.1><a.2>").contains("<a.2> was deleted (saved), but is back"));
        assert!(problems("<a.1><a.1>").contains("<a.1> appears 2 times"));
        assert!(problems("<a.1><b.1>").contains("<b.1> appears, but no one wrote it"));
        assert!(problems("<a.<a.4>1>").contains("text outside any token"));
        assert!(problems("x<a.1>").contains("text outside any token"));
    }

    #[test]
    fn an_edit_inserts_only_between_tokens() {
        assert_eq!(boundaries("<a.1><b.2>"), vec![0, 5, 10]);
        assert_eq!(boundaries(""), vec![0]);
        let mut doc = concord_core::Document::new(concord_core::ReplicaId(1));
        let mut rng = Rng::new(3);
        for n in 0..50 {
            let mut tx = doc.transaction();
            edit(&mut tx, &mut rng, "t", n).unwrap();
            tx.commit();
            let text = note::body_text(&doc);
            let spans = token_spans(&text);
            let whole: usize = spans.iter().map(ExactSizeIterator::len).sum();
            assert_eq!(whole, text.chars().count(), "{text}");
        }
    }
}
