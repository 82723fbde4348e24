//! What a new user sees: on the first start with an empty store, the demo
//! calendar (`concord_calendar::demo_calendar`) moved to the current week.
//! Only once: the store remembers that the first run happened, so deleting
//! the demo does not bring it back.

use chrono::NaiveDate;
use chrono_tz::Tz;
use concord_client::Client;
use concord_wire::DocId;

use crate::calendar_file::{self, CalendarFileError};
use crate::replicas::SharedStore;

/// On a first run, makes the demo calendar (through the client, which
/// stores it) and returns its id; otherwise does nothing and returns
/// `None`. `today` and `zone` place the demo week; `random` draws the
/// document id.
pub fn seed_demo_calendar(
    client: &Client,
    list: &SharedStore,
    today: NaiveDate,
    zone: Tz,
    random: [u8; 16],
) -> Result<Option<DocId>, CalendarFileError> {
    if list.first_run_done()? {
        return Ok(None);
    }
    let id = calendar_file::create_demo(client, list, today, zone, random)?;
    list.mark_first_run_done()?;
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicas::start_client;
    use crate::store::{DocKind, SqliteStore};
    use concord_calendar::Calendar;
    use concord_core::ReplicaId;

    #[test]
    fn the_demo_comes_once_and_lands_in_this_week() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let list = SharedStore::new(SqliteStore::open(dir.path(), || ReplicaId(3)).unwrap());
        let client = start_client(&list, None, runtime.handle()).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 9, 16).unwrap(); // a Wednesday
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let id = seed_demo_calendar(&client, &list, today, zone, [1; 16])
            .unwrap()
            .expect("a first run");
        let monday = NaiveDate::from_ymd_opt(2026, 9, 14).unwrap();
        let week = client
            .peek(&id, |doc| {
                let cal = Calendar::open(doc).unwrap();
                cal.occurrences(monday, monday + chrono::Duration::days(7), zone)
            })
            .unwrap();
        assert!(week.len() >= 10, "the demo fills the week: {week:?}");
        let info = list.info(&id).unwrap();
        assert_eq!(info.kind, Some(DocKind::Calendar));
        assert!(!info.title.is_empty());

        // Deleted by the user: a restart does not bring it back.
        client.delete(&id).unwrap();
        assert_eq!(
            seed_demo_calendar(&client, &list, today, zone, [2; 16]).unwrap(),
            None
        );
        assert!(list.list().unwrap().is_empty());
        runtime.block_on(client.shutdown());
    }
}
