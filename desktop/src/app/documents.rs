//! Making, importing, opening from a link and deleting documents: each
//! through the sync client, then the store's list, then the window opens
//! what was made.

use concord_client::Edited;
use concord_wire::DocId;

use super::ConcordApp;
use crate::calendar_file;
use crate::note;
use crate::share::{self, ShareLink};
use crate::store::DocKind;

impl ConcordApp {
    /// Creates a calendar and opens it.
    pub fn create_calendar(&mut self, name: &str) -> Option<DocId> {
        let id = DocId::from_random(rand::random());
        let result = self.client.create(id.clone(), "").and_then(|()| {
            self.client.edit(&id, |tx| {
                concord_calendar::CalendarTx::create(tx, name).map(|_| ())
            })
        });
        let failed = match result {
            Ok(Edited {
                value: Ok(()),
                saved: Ok(()),
            }) => None,
            Ok(Edited { value: Err(e), .. }) => Some(e.to_string()),
            Ok(Edited { saved: Err(e), .. }) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = failed {
            self.notice = Some(format!("cannot create a calendar: {e}"));
            return None;
        }
        self.save_title(&id, name);
        if let Err(e) = self.store.set_kind(&id, DocKind::Calendar) {
            self.notice = Some(format!("cannot save the document list: {e}"));
        }
        self.refresh_list();
        self.select(&id);
        Some(id)
    }

    /// Reads an iCalendar file into a new calendar and opens it. Returns
    /// its id and what the import skipped or adjusted.
    pub fn import_ics(&mut self, path: &str) -> Result<(DocId, Vec<String>), String> {
        let path = std::path::Path::new(path.trim());
        let imported = calendar_file::read_ics(path, self.zone)?;
        let fallback = calendar_file::fallback_name(path);
        // The command line's path: named and marked a calendar in the
        // list, nothing half-made left behind.
        let id = calendar_file::store_new(
            &self.client,
            &self.store,
            &imported,
            &fallback,
            rand::random(),
        )
        .map_err(|e| format!("cannot import: {e}"))?;
        self.refresh_list();
        self.select(&id);
        Ok((
            id,
            imported.warnings.iter().map(ToString::to_string).collect(),
        ))
    }

    /// Creates a document and opens it.
    pub fn create_document(&mut self, title: &str) -> Option<DocId> {
        let id = DocId::from_random(rand::random());
        let result = self.client.create(id.clone(), "").and_then(|()| {
            let edited = self.client.edit(&id, |tx| note::create(tx, title))?;
            Ok(edited.saved?)
        });
        if let Err(e) = result {
            self.notice = Some(format!("cannot create a document: {e}"));
            return None;
        }
        self.save_title(&id, title);
        self.refresh_list();
        self.select(&id);
        Some(id)
    }

    /// Opens a document from a share link.
    pub fn open_shared(&mut self, link: &str) -> Result<(), String> {
        let link = ShareLink::parse(link).map_err(|e| e.to_string())?;
        if let Some(relay) = &self.relay
            && share::sync_url(relay) != link.sync_url()
        {
            return Err(format!(
                "this link is for the relay {}, but Concord syncs with {relay}; restart it with --relay {}",
                link.relay, link.relay
            ));
        }
        if self.relay.is_none() {
            return Err(format!(
                "Concord is local-only; restart it with --relay {} to open shared documents",
                link.relay
            ));
        }
        let held = self.store.info(&link.doc).is_ok();
        self.client
            .open(link.doc.clone(), link.token.clone())
            .map_err(|e| e.to_string())?;
        if !held {
            self.save_title(&link.doc, "Shared document");
        }
        self.refresh_list();
        self.select(&link.doc);
        Ok(())
    }

    /// Removes a document from this device; other devices keep theirs.
    pub(super) fn delete_document(&mut self, id: &DocId) {
        if let Err(e) = self.client.delete(id) {
            self.notice = Some(format!("cannot delete the document: {e}"));
        }
        if self.open.as_ref().is_some_and(|o| &o.id == id) {
            self.open = None;
            self.calendar = None;
        }
        self.refresh_list();
    }
}
