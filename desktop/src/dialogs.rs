//! The window's dialogs: the share link, opening a shared document,
//! importing an iCalendar file, and deleting a document from this device.
//! They only draw and report what was asked (`DialogAction`); the window
//! carries it out after drawing and tells them how it went.

use concord_wire::DocId;
use egui::{Color32, RichText};

/// A one-line form: what was typed, and why the last attempt failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub text: String,
    pub error: Option<String>,
}

/// What a dialog asks the window to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialogAction {
    /// Open the document of this share link.
    OpenLink(String),
    /// Read this iCalendar file into a new calendar.
    Import(String),
    /// Delete the document from this device (the person confirmed).
    Delete(DocId),
}

/// Which dialogs are open, with what they hold.
#[derive(Debug, Default)]
pub struct Dialogs {
    /// The share dialog, with its link (or why there is none).
    share: Option<String>,
    open_link: Option<Entry>,
    import: Option<Entry>,
    confirm_delete: Option<DocId>,
}

impl Dialogs {
    pub fn share(&mut self, link: String) {
        self.share = Some(link);
    }

    pub fn ask_for_link(&mut self) {
        self.open_link = Some(Entry::default());
    }

    pub fn ask_for_import(&mut self) {
        self.import = Some(Entry::default());
    }

    pub fn confirm_delete(&mut self, id: DocId) {
        self.confirm_delete = Some(id);
    }

    /// How opening `link` went: done closes the dialog, a failure keeps it
    /// open with the reason.
    pub fn link_opened(&mut self, link: String, result: Result<(), String>) {
        self.open_link = result.err().map(|e| Entry {
            text: link,
            error: Some(e),
        });
    }

    /// How importing `path` went, as for `link_opened`.
    pub fn imported(&mut self, path: String, result: Result<(), String>) {
        self.import = result.err().map(|e| Entry {
            text: path,
            error: Some(e),
        });
    }

    /// Draws the open dialogs; returns what they ask for.
    pub fn ui(&mut self, ctx: &egui::Context) -> Vec<DialogAction> {
        let mut actions = Vec::new();
        self.share_dialog(ctx);
        if let Some(mut entry) = self.open_link.take() {
            let mut keep = true;
            egui::Window::new("Open shared document")
                .collapsible(false)
                .open(&mut keep)
                .show(ctx, |ui| {
                    let label = ui.label("Link");
                    ui.add(egui::TextEdit::singleline(&mut entry.text).desired_width(420.0))
                        .labelled_by(label.id);
                    error_line(ui, entry.error.as_deref());
                    if ui.button("Open").clicked() {
                        actions.push(DialogAction::OpenLink(entry.text.clone()));
                    }
                });
            self.open_link = keep.then_some(entry);
        }
        if let Some(mut entry) = self.import.take() {
            let mut keep = true;
            egui::Window::new("Import calendar")
                .collapsible(false)
                .open(&mut keep)
                .show(ctx, |ui| {
                    ui.label("An iCalendar (.ics) file becomes a new calendar.");
                    ui.horizontal(|ui| {
                        let label = ui.label("File");
                        ui.add(
                            egui::TextEdit::singleline(&mut entry.text)
                                .hint_text("/path/to/calendar.ics")
                                .desired_width(360.0),
                        )
                        .labelled_by(label.id);
                    });
                    error_line(ui, entry.error.as_deref());
                    if ui.button("Import").clicked() {
                        actions.push(DialogAction::Import(entry.text.clone()));
                    }
                });
            self.import = keep.then_some(entry);
        }
        if let Some(id) = self.confirm_delete.clone() {
            let mut keep = true;
            let mut yes = false;
            egui::Window::new("Delete document?")
                .collapsible(false)
                .open(&mut keep)
                .show(ctx, |ui| {
                    ui.label("This removes the document from this device. Other devices keep their copies.");
                    yes = ui.button("Delete").clicked();
                });
            if yes {
                actions.push(DialogAction::Delete(id));
                keep = false;
            }
            if !keep {
                self.confirm_delete = None;
            }
        }
        actions
    }

    fn share_dialog(&mut self, ctx: &egui::Context) {
        let Some(link) = &self.share else {
            return;
        };
        let mut keep = true;
        egui::Window::new("Share")
            .collapsible(false)
            .open(&mut keep)
            .show(ctx, |ui| {
                let label = ui.label("Anyone with this link can open the document:");
                let mut text = link.clone();
                ui.add(egui::TextEdit::singleline(&mut text).desired_width(420.0))
                    .labelled_by(label.id);
                if ui.button("Copy").clicked() {
                    ui.ctx().copy_text(link.clone());
                }
            });
        if !keep {
            self.share = None;
        }
    }
}

fn error_line(ui: &mut egui::Ui, error: Option<&str>) {
    if let Some(e) = error {
        ui.label(RichText::new(e).color(Color32::from_rgb(190, 30, 30)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_attempt_keeps_the_dialog_open_with_its_reason() {
        let mut dialogs = Dialogs::default();
        dialogs.ask_for_link();
        dialogs.link_opened("http://x/#doc=1".into(), Err("not a link".into()));
        assert_eq!(
            dialogs.open_link,
            Some(Entry {
                text: "http://x/#doc=1".into(),
                error: Some("not a link".into()),
            })
        );
        dialogs.link_opened("http://x/#doc=1".into(), Ok(()));
        assert_eq!(dialogs.open_link, None);

        dialogs.ask_for_import();
        assert_eq!(dialogs.import, Some(Entry::default()));
        dialogs.imported("/tmp/a.ics".into(), Err("cannot read".into()));
        assert_eq!(
            dialogs.import.as_ref().and_then(|e| e.error.as_deref()),
            Some("cannot read")
        );
        dialogs.imported("/tmp/a.ics".into(), Ok(()));
        assert_eq!(dialogs.import, None);
    }
}
