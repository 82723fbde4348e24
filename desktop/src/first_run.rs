//! What a new user sees: on the first start with an empty store, the demo
//! calendar (`concord_calendar::demo_calendar`) moved to the current week.
//! Only once: the store remembers that the first run happened, so deleting
//! the demo does not bring it back.

use chrono::NaiveDate;
use chrono_tz::Tz;
use concord_calendar::{DemoError, demo_calendar};
use concord_core::DocId;

use crate::store::{DocKind, ReplicaStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum FirstRunError {
    #[error("the demo calendar cannot be read: {0}")]
    Demo(#[from] DemoError),
    #[error("the demo calendar cannot be written: {0}")]
    Calendar(#[from] concord_calendar::CalendarError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// On a first run, stores the demo calendar as `id` and returns it;
/// otherwise does nothing and returns `None`. `today` and `zone` place the
/// demo week; `now_ms` stamps the document.
pub fn seed_demo_calendar(
    store: &mut ReplicaStore,
    id: &DocId,
    today: NaiveDate,
    zone: Tz,
    now_ms: i64,
) -> Result<Option<DocId>, FirstRunError> {
    if store.first_run_done()? {
        return Ok(None);
    }
    let demo = demo_calendar(today, zone)?;
    let mut doc = concord_core::Document::new(store.device());
    let mut tx = doc.transaction();
    demo.write(&mut tx, "Demo calendar")?;
    let change = tx.commit();
    let name = concord_calendar::Calendar::open(&doc)
        .map(|c| c.name())
        .unwrap_or_default();
    store.create(id, &name, now_ms, None)?;
    store.append(id, change.as_slice(), None, now_ms)?;
    store.set_kind(id, DocKind::Calendar)?;
    store.mark_first_run_done()?;
    Ok(Some(id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_calendar::Calendar;
    use concord_core::ReplicaId;

    #[test]
    fn the_demo_comes_once_and_lands_in_this_week() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ReplicaStore::open(dir.path(), || ReplicaId(3)).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 9, 16).unwrap(); // a Wednesday
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let id = DocId::new("demo").unwrap();
        assert_eq!(
            seed_demo_calendar(&mut store, &id, today, zone, 1).unwrap(),
            Some(id.clone())
        );
        let doc = store.load(&id).unwrap();
        let cal = Calendar::open(&doc).unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 9, 14).unwrap();
        let week = cal.occurrences(monday, monday + chrono::Duration::days(7), zone);
        assert!(week.len() >= 10, "the demo fills the week: {week:?}");
        let info = store.info(&id).unwrap();
        assert_eq!(info.kind, Some(DocKind::Calendar));
        assert!(!info.title.is_empty());

        // Deleted by the user: a restart does not bring it back.
        store.delete(&id).unwrap();
        let other = DocId::new("demo2").unwrap();
        assert_eq!(
            seed_demo_calendar(&mut store, &other, today, zone, 2).unwrap(),
            None
        );
        assert!(store.list().unwrap().is_empty());
    }
}
