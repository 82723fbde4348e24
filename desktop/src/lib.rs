//! The desktop app's library: the replica store (SQLite), the window and the
//! headless commands (`cli`). The binary `concord` is a thin shell over it.

pub mod app;
pub mod calendar;
pub mod calendar_file;
mod chaos_edit;
pub mod cli;
pub mod compactor;
pub mod dialogs;
pub mod doc_list;
pub mod editor;
pub mod first_run;
pub mod note;
pub mod note_body;
pub mod note_view;
pub mod replicas;
pub mod share;
pub mod status;
pub mod store;
pub mod sync_once;
