//! The document list: every document this device holds, newest edit first,
//! with a note/calendar tag, a title search and the buttons that make new
//! ones. The panel only draws and reports what was clicked (`ListAction`);
//! the window carries it out after drawing.

use concord_client::Client;
use concord_wire::DocId;
use egui::{Color32, RichText};

use crate::replicas::SharedStore;
use crate::store::{DocKind, DocumentInfo};

/// What the person asked for in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListAction {
    Open(DocId),
    NewNote,
    NewCalendar,
    /// Show the import dialog.
    Import,
    /// Ask before deleting it from this device.
    Delete(DocId),
}

/// The list as the store has it, and the search typed above it.
#[derive(Debug)]
pub struct DocList {
    docs: Vec<DocumentInfo>,
    search: String,
    /// Read the list from the store again before the next frame (a remote
    /// change or an edit may have changed a title or the order).
    pub dirty: bool,
}

impl DocList {
    /// An empty list that reads the store on the first frame.
    pub fn new() -> Self {
        DocList {
            docs: Vec::new(),
            search: String::new(),
            dirty: true,
        }
    }

    /// The documents, as the store has them.
    pub fn documents(&self) -> &[DocumentInfo] {
        &self.docs
    }

    pub fn get(&self, id: &DocId) -> Option<&DocumentInfo> {
        self.docs.iter().find(|d| &d.id == id)
    }

    /// The relay token stored with a document (empty when it has none).
    pub fn token(&self, id: &DocId) -> String {
        self.get(id)
            .and_then(|d| d.token.clone())
            .unwrap_or_default()
    }

    /// Reads the list from the store, and looks once at what the documents
    /// whose kind was never looked at are.
    pub fn refresh(&mut self, store: &SharedStore, client: &Client, notice: &mut Option<String>) {
        match store.list() {
            Ok(docs) => self.docs = docs,
            Err(e) => *notice = Some(format!("cannot read the document list: {e}")),
        }
        self.dirty = false;
        // Documents whose kind was never looked at (from a share link, an
        // older Concord, or the command line): look once.
        let unknown: Vec<DocId> = self
            .docs
            .iter()
            .filter(|d| d.kind.is_none())
            .map(|d| d.id.clone())
            .collect();
        for id in unknown {
            if let Ok(Some(kind)) = client.peek(&id, DocKind::known) {
                self.remember_kind(store, &id, kind, notice);
            }
        }
    }

    /// Records what a document is, in the list and in the store.
    pub fn remember_kind(
        &mut self,
        store: &SharedStore,
        id: &DocId,
        kind: DocKind,
        notice: &mut Option<String>,
    ) {
        let Some(info) = self.docs.iter_mut().find(|d| &d.id == id) else {
            return;
        };
        if info.kind == Some(kind) {
            return;
        }
        info.kind = Some(kind);
        if let Err(e) = store.set_kind(id, kind) {
            *notice = Some(format!("cannot save the document list: {e}"));
        }
    }

    /// Draws the panel; `open` is the document the window shows.
    pub fn ui(&mut self, ui: &mut egui::Ui, open: Option<&DocId>) -> Option<ListAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            let label = ui.label("Search");
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text("title")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            if ui.button("New note").clicked() {
                action = Some(ListAction::NewNote);
            }
            if ui.button("New calendar").clicked() {
                action = Some(ListAction::NewCalendar);
            }
        });
        if ui.button("Import .ics…").clicked() {
            action = Some(ListAction::Import);
        }
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (info, title) in matching(&self.docs, &self.search) {
                let row = ui
                    .horizontal(|ui| {
                        kind_badge(ui, info.kind);
                        ui.selectable_label(open == Some(&info.id), title)
                    })
                    .inner;
                if row.clicked() {
                    action = Some(ListAction::Open(info.id.clone()));
                }
                row.context_menu(|ui| {
                    if ui.button("Delete from this device…").clicked() {
                        action = Some(ListAction::Delete(info.id.clone()));
                    }
                });
            }
        });
        action
    }
}

impl Default for DocList {
    fn default() -> Self {
        DocList::new()
    }
}

/// What the list calls a document: its title, or "Untitled".
pub fn shown_title(info: &DocumentInfo) -> &str {
    if info.title.is_empty() {
        "Untitled"
    } else {
        &info.title
    }
}

/// The documents whose shown title contains `search` (ignoring case), in
/// list order, each with that title.
pub fn matching<'a>(
    docs: &'a [DocumentInfo],
    search: &str,
) -> impl Iterator<Item = (&'a DocumentInfo, &'a str)> {
    let needle = search.to_lowercase();
    docs.iter()
        .map(|info| (info, shown_title(info)))
        .filter(move |(_, title)| needle.is_empty() || title.to_lowercase().contains(&needle))
}

/// A small tag before a list row: which documents are calendars.
fn kind_badge(ui: &mut egui::Ui, kind: Option<DocKind>) {
    let (text, colour) = match kind {
        Some(DocKind::Calendar) => ("CAL", Color32::from_rgb(0x1a, 0x66, 0xd2)),
        Some(DocKind::Note) => ("NOTE", Color32::from_rgb(0x6a, 0x6a, 0x6a)),
        // From a link, nothing arrived yet.
        None => ("…", Color32::from_rgb(0x6a, 0x6a, 0x6a)),
    };
    ui.add_sized(
        egui::vec2(34.0, 16.0),
        egui::Label::new(RichText::new(text).small().strong().color(colour)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(n: u8, title: &str) -> DocumentInfo {
        DocumentInfo {
            id: DocId::from_random([n; 16]),
            title: title.into(),
            last_edit_ms: 0,
            token: None,
            kind: None,
        }
    }

    #[test]
    fn a_search_matches_titles_ignoring_case_in_list_order() {
        let docs = [
            info(1, "Meeting notes"),
            info(2, "Team week"),
            info(3, "MEETING room"),
        ];
        let titles = |search| -> Vec<&str> { matching(&docs, search).map(|(_, t)| t).collect() };
        assert_eq!(titles("meet"), ["Meeting notes", "MEETING room"]);
        assert_eq!(titles(""), ["Meeting notes", "Team week", "MEETING room"]);
        assert!(titles("lunch").is_empty());
    }

    #[test]
    fn an_untitled_document_is_listed_and_found_as_untitled() {
        let docs = [info(1, ""), info(2, "Plans")];
        assert_eq!(shown_title(&docs[0]), "Untitled");
        let found: Vec<&DocId> = matching(&docs, "untit").map(|(d, _)| &d.id).collect();
        assert_eq!(found, [&docs[0].id]);
    }
}
