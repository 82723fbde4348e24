//! The open note: its title (with the pick-a-title row after concurrent
//! renames) and its body, edited through the sync client.
//!
//! Every edit goes through `Client::edit`, which applies it at once and
//! saves it before the frame ends. Remote edits arrive in the client in the
//! background; each frame the view notices the new version, reloads the
//! text, and puts the caret back on the characters it was on
//! (`editor::Anchor`).

use concord_client::{Client, ClientError, Edited};
use concord_core::VersionVector;
use concord_wire::DocId;
use egui::{Color32, RichText};

use crate::editor::{self, Anchor};
use crate::note;
use crate::note_body::BodyView;

/// Id of the body text field (tests and the caret logic use it).
pub const BODY_FIELD: &str = "body";

/// The open document as the window shows it; the text fields' contents
/// when it is a note.
#[derive(Debug)]
pub struct OpenDoc {
    pub id: DocId,
    /// Opened with a read-only link.
    pub read_only: bool,
    /// The text field's contents.
    buffer: String,
    title: String,
    /// The document version `buffer` and `title` reflect.
    shown: VersionVector,
    /// Caret and selection ends, riding on character ids.
    anchors: Option<(Anchor, Anchor)>,
    /// Where the caret must go before the field next draws (after a reload).
    pending_caret: Option<(usize, usize)>,
    /// The first character on screen, riding on its character id, so that
    /// edits above the screen move nothing on it.
    top: Option<Anchor>,
    /// The body field, laid out only where it is on screen.
    body: BodyView,
    /// The caret as the last frame left it, in characters of the body.
    caret: Option<(usize, usize)>,
}

/// What a frame of the note view did, for the window to carry on.
#[derive(Debug, Default)]
pub struct NoteOutcome {
    /// What went wrong, for the notice line.
    pub problem: Option<String>,
    /// A title the document now has: the list's copy should follow.
    pub renamed: Option<String>,
    /// The document was edited: the list's order and titles may change.
    pub edited: bool,
    /// "Delete" was pressed.
    pub delete: bool,
}

impl OpenDoc {
    /// A document about to be shown: the first reload reads it.
    pub fn new(id: DocId, read_only: bool) -> Self {
        OpenDoc {
            id,
            read_only,
            buffer: String::new(),
            title: String::new(),
            // Forces a load on the next frame.
            shown: VersionVector::new(),
            anchors: None,
            pending_caret: None,
            top: None,
            body: BodyView::default(),
            caret: None,
        }
    }

    /// The caret (primary, secondary) as the last frame left it.
    pub fn caret(&self) -> Option<(usize, usize)> {
        self.caret
    }

    /// The scroll position: the first character of the paragraph at the
    /// top of the screen and how far below its top the screen starts.
    pub fn scroll_position(&self) -> (usize, f32) {
        self.body.scroll_position()
    }

    /// Reloads the text if the document changed (remote edits), keeping
    /// the caret on its characters; `force` reloads anyway.
    pub fn reload(&mut self, client: &Client, force: bool) -> Result<(), ClientError> {
        let loaded = client.with_document(&self.id, |doc| {
            if !force && doc.version() == &self.shown {
                return None;
            }
            let text = note::body(doc);
            let caret = self
                .anchors
                .map(|(a, b)| (a.resolve(&text), b.resolve(&text)));
            let top = self.top.map(|a| a.resolve(&text));
            Some((
                note::body_text(doc),
                note::title(doc),
                doc.version().clone(),
                caret,
                top,
            ))
        })?;
        if let Some((body, title, version, caret, top)) = loaded {
            self.buffer = body;
            self.title = title;
            self.shown = version;
            self.pending_caret = caret;
            self.body.reloaded(top.unwrap_or(0));
        }
        Ok(())
    }
}

/// The central panel with nothing open.
pub fn no_document(ui: &mut egui::Ui) {
    ui.centered_and_justified(|ui| {
        ui.label("No document yet: press \"New note\" or \"New calendar\".");
    });
}

/// Draws the note and writes what was typed into the document.
pub fn show(open: &mut OpenDoc, client: &Client, ui: &mut egui::Ui) -> NoteOutcome {
    let mut outcome = NoteOutcome::default();
    let id = open.id.clone();
    let titles = client.with_document(&id, note::titles).unwrap_or_default();
    let (new_title, delete) = title_section(open, &titles, ui);
    outcome.delete = delete;
    let (before, caret) = body_section(open, ui);
    open.caret = caret;

    // What the document's version must be after this frame if nothing
    // but our own edits happened: then the field already shows it.
    let mut expected = open.shown.clone();
    let device = client.device();
    let committed = |expected: &mut VersionVector| {
        expected.observe(device, expected.get(device) + 1);
    };
    if let Some(splice) = editor::diff(&before, &open.buffer, caret.map(|c| c.0)) {
        let shown = open.shown.clone();
        let before_text = before.clone();
        let result = client.edit(&id, |tx| {
            let splice = if tx.doc().version() == &shown {
                splice
            } else {
                // A remote change landed during this frame: move the
                // edit past it rather than lose it.
                editor::rebase(&splice, &before_text, &note::body_text(tx.doc()))
            };
            note::splice(tx, splice.pos, splice.del, &splice.insert)
        });
        match result {
            Ok(Edited {
                value: Ok(()),
                saved,
            }) => {
                committed(&mut expected);
                if let Err(e) = saved {
                    // Applied, saving is retried: it is in the document.
                    outcome.problem = Some(format!("edit not saved yet: {e}"));
                }
            }
            Ok(Edited { value: Err(e), .. }) => {
                outcome.problem = Some(format!("edit refused: {e}"));
            }
            Err(e) => outcome.problem = Some(format!("cannot edit: {e}")),
        }
        outcome.edited = true;
    }
    if let Some(title) = new_title {
        match client.edit(&id, |tx| note::set_title(tx, &title)) {
            Ok(Edited {
                value: Ok(()),
                saved: Ok(()),
            }) => {
                committed(&mut expected);
                outcome.renamed = Some(title);
                outcome.edited = true;
            }
            Ok(Edited { value: Err(e), .. }) => {
                outcome.problem = Some(format!("rename refused: {e}"));
            }
            Ok(Edited { saved: Err(e), .. }) => {
                committed(&mut expected);
                outcome.problem = Some(format!("rename not saved yet: {e}"));
            }
            Err(e) => outcome.problem = Some(format!("cannot rename: {e}")),
        }
    }
    // Re-anchor the caret on the text as it now stands. If a remote
    // change slipped in during the frame, `shown` stays behind and the
    // next frame reloads; the caret's positions then count characters of
    // the text as shown, not as it now is, so the anchors it had stay
    // (unless this frame typed, when the best guess is all there is).
    let typed = expected != open.shown;
    let top_char = open.body.top_char();
    let anchors = client.with_document(&id, |doc| {
        let text = note::body(doc);
        let anchors = caret.map(|(a, b)| (Anchor::at(&text, a), Anchor::at(&text, b)));
        (
            doc.version() == &expected,
            anchors,
            Anchor::at(&text, top_char),
        )
    });
    if let Ok((clean, anchors, top)) = anchors {
        if clean || typed {
            open.anchors = anchors;
            open.top = Some(top);
        }
        if clean {
            open.shown = expected;
        }
    }
    outcome
}

/// The title field, the delete button, and the pick-a-title row when two
/// devices renamed concurrently. Returns a new title to save and whether
/// delete was pressed.
fn title_section(
    open: &mut OpenDoc,
    titles: &[String],
    ui: &mut egui::Ui,
) -> (Option<String>, bool) {
    let mut new_title = None;
    let mut delete = false;
    ui.horizontal(|ui| {
        let label = ui.label("Title");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            delete = ui
                .button("Delete")
                .on_hover_text("Delete this document from this device")
                .clicked();
            let response = ui
                .add_enabled(
                    !open.read_only,
                    egui::TextEdit::singleline(&mut open.title).desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            if response.changed() {
                new_title = Some(open.title.clone());
            }
        });
    });
    if titles.len() > 1 {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new("Renamed on two devices at the same time. Keep:")
                    .color(Color32::from_rgb(200, 130, 0)),
            );
            for t in titles {
                if ui.button(t).clicked() {
                    new_title = Some(t.clone());
                    open.title.clone_from(t);
                }
            }
        });
    }
    if open.read_only {
        ui.label(RichText::new("Read-only: this link lets you read, not edit.").italics());
    }
    ui.separator();

    (new_title, delete)
}

/// The body text field, with the caret put back after a reload. Returns the
/// text before this frame's typing and the caret (primary, secondary).
fn body_section(open: &mut OpenDoc, ui: &mut egui::Ui) -> (String, Option<(usize, usize)>) {
    let body_id = egui::Id::unique(BODY_FIELD);
    let before = open.buffer.clone();
    let body_label = ui.label("Text");
    let pending = open.pending_caret.take();
    let output = open
        .body
        .show(ui, &mut open.buffer, body_id, !open.read_only, pending);
    output.response.labelled_by(body_label.id);
    (before, output.caret)
}
