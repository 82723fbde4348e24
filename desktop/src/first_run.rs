//! What a new user sees: on the first start with an empty store, the demo
//! calendar (`concord_calendar::demo_calendar`) moved to the current week.
//! Only once: the store remembers that the first run happened, so deleting
//! the demo does not bring it back.

use chrono::NaiveDate;
use chrono_tz::Tz;
use concord_wire::DocId;

use crate::calendar_file::{self, CalendarFileError};
use crate::store::{DocKind, ReplicaStore};

/// On a first run, stores the demo calendar and returns its id; otherwise
/// does nothing and returns `None`. `today` and `zone` place the demo week;
/// `random` draws the document id.
pub fn seed_demo_calendar(
    store: &mut ReplicaStore,
    today: NaiveDate,
    zone: Tz,
    random: [u8; 16],
) -> Result<Option<DocId>, CalendarFileError> {
    if store.first_run_done()? {
        return Ok(None);
    }
    let id = calendar_file::create_demo(store, today, zone, random)?;
    store.set_kind(&id, DocKind::Calendar)?;
    store.mark_first_run_done()?;
    Ok(Some(id))
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
        let id = seed_demo_calendar(&mut store, today, zone, [1; 16])
            .unwrap()
            .expect("a first run");
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
        assert_eq!(
            seed_demo_calendar(&mut store, today, zone, [2; 16]).unwrap(),
            None
        );
        assert!(store.list().unwrap().is_empty());
    }
}
