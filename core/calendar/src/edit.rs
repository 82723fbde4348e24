//! Editing a calendar: every edit is a few operations in the caller's
//! `Transaction`, so one user action is one change.

use concord_core::{ObjId, ObjType, ScalarValue, Transaction};

use crate::calendar::Calendar;
use crate::error::CalendarError;
use crate::event::{EventData, valid_uid};
use crate::occurrence::{OccurrenceKey, Scope};
use crate::recurrence::Recurrence;
use crate::schema::{self, Field};
use crate::when::When;

/// Calendar edits inside one transaction.
///
/// ```
/// use chrono::NaiveDate;
/// use concord_calendar::{Calendar, CalendarTx, EventData, When};
/// use concord_core::{Document, ReplicaId};
///
/// let mut doc = Document::new(ReplicaId(1));
/// let mut tx = doc.transaction();
/// let mut cal = CalendarTx::create(&mut tx, "Team").unwrap();
/// let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
/// let when = When::all_day(day, day.succ_opt().unwrap()).unwrap();
/// cal.add_event(&EventData::new("offsite@example", "Offsite", when)).unwrap();
/// let change = tx.commit().unwrap(); // send it anywhere
/// assert_eq!(Calendar::open(&doc).unwrap().events().len(), 1);
/// ```
#[derive(Debug)]
pub struct CalendarTx<'t, 'd> {
    tx: &'t mut Transaction<'d>,
    events: ObjId,
}

impl<'t, 'd> CalendarTx<'t, 'd> {
    /// Makes an empty document a calendar named `name`.
    pub fn create(tx: &'t mut Transaction<'d>, name: &str) -> Result<Self, CalendarError> {
        if !tx.doc().map(ObjId::Root)?.is_empty() {
            return Err(CalendarError::NotEmpty);
        }
        tx.put(ObjId::Root, schema::KIND, schema::KIND_CALENDAR)?;
        tx.put(ObjId::Root, schema::FORMAT, schema::FORMAT_VERSION)?;
        tx.put(ObjId::Root, schema::NAME, name)?;
        let events = tx.put_object(ObjId::Root, schema::EVENTS, ObjType::Map)?;
        Ok(CalendarTx { tx, events })
    }

    /// Edits an existing calendar.
    pub fn open(tx: &'t mut Transaction<'d>) -> Result<Self, CalendarError> {
        let events = Calendar::open(tx.doc())?.events_obj();
        Ok(CalendarTx { tx, events })
    }

    /// The calendar as edited so far.
    pub fn calendar(&self) -> Calendar<'_> {
        Calendar::open(self.tx.doc()).expect("opened as a calendar")
    }

    pub fn rename(&mut self, name: &str) -> Result<(), CalendarError> {
        self.tx.put(ObjId::Root, schema::NAME, name)?;
        Ok(())
    }

    /// Adds a new event with all of `data`.
    pub fn add_event(&mut self, data: &EventData) -> Result<(), CalendarError> {
        let uid = data.uid.as_str();
        if !valid_uid(uid) {
            return Err(CalendarError::BadUid);
        }
        if !self.tx.doc().get_all(self.events, uid)?.is_empty() {
            return Err(CalendarError::DuplicateUid(uid.to_owned()));
        }
        if let Some(rule) = &data.recurrence {
            rule.validate()?;
        }
        let tx = &mut *self.tx;
        let obj = tx.put_object(self.events, uid, ObjType::Map)?;
        tx.put(obj, schema::TITLE, data.title.as_str())?;
        tx.put(obj, schema::WHEN, data.when.encode())?;
        if !data.location.is_empty() {
            tx.put(obj, schema::LOCATION, data.location.as_str())?;
        }
        if let Some(colour) = &data.colour {
            tx.put(obj, schema::COLOUR, colour.as_str())?;
        }
        if let Some(rule) = &data.recurrence {
            tx.put(obj, schema::RULE, rule.encode())?;
        }
        let notes = tx.put_object(obj, schema::NOTES, ObjType::Text)?;
        if !data.notes.is_empty() {
            tx.insert_text(notes, 0, &data.notes)?;
        }
        let attendees = tx.put_object(obj, schema::ATTENDEES, ObjType::Set)?;
        for who in &data.attendees {
            tx.add(attendees, who.as_str())?;
        }
        let cancelled = tx.put_object(obj, schema::CANCELLED, ObjType::Set)?;
        for key in &data.cancelled {
            tx.add(cancelled, key.as_str())?;
        }
        let overrides = tx.put_object(obj, schema::OVERRIDES, ObjType::Map)?;
        for (key, over) in &data.overrides {
            if let Some(title) = &over.title {
                tx.put(overrides, &Field::Title.override_key(key), title.as_str())?;
            }
            if let Some(when) = &over.when {
                tx.put(overrides, &Field::When.override_key(key), when.encode())?;
            }
            if let Some(location) = &over.location {
                tx.put(
                    overrides,
                    &Field::Location.override_key(key),
                    location.as_str(),
                )?;
            }
        }
        Ok(())
    }

    /// The event's map, whether deleted or not.
    fn any_event(&self, uid: &str) -> Result<ObjId, CalendarError> {
        self.calendar()
            .event_obj(uid)
            .ok_or_else(|| CalendarError::NoSuchEvent(uid.to_owned()))
    }

    /// The event's map; an error if it is deleted.
    fn live_event(&self, uid: &str) -> Result<ObjId, CalendarError> {
        let obj = self.any_event(uid)?;
        if schema::any_true(self.tx.doc(), obj, schema::DELETED) {
            return Err(CalendarError::Deleted(uid.to_owned()));
        }
        Ok(obj)
    }

    /// The event's child object `key`, made if missing (only a replica that
    /// wrote a malformed event leaves one out).
    fn child(&mut self, obj: ObjId, key: &str, ty: ObjType) -> Result<ObjId, CalendarError> {
        match schema::child(self.tx.doc(), obj, key, ty) {
            Some(id) => Ok(id),
            None => Ok(self.tx.put_object(obj, key, ty)?),
        }
    }

    /// Removes `value` from every set at `key` (one, but for documents
    /// written before container ids were derived; see
    /// `schema::children`). Returns whether any held it.
    fn remove_from_sets(
        &mut self,
        obj: ObjId,
        key: &str,
        value: &str,
    ) -> Result<bool, CalendarError> {
        let mut removed = false;
        for set in schema::children(self.tx.doc(), obj, key, ObjType::Set) {
            removed |= self.tx.remove(set, &ScalarValue::from(value))?;
        }
        Ok(removed)
    }

    /// Where a field of `scope` lives: (map, key).
    fn field(
        &mut self,
        uid: &str,
        scope: &Scope,
        field: Field,
    ) -> Result<(ObjId, String), CalendarError> {
        let obj = self.live_event(uid)?;
        match scope {
            Scope::Series => Ok((
                obj,
                match field {
                    Field::Title => schema::TITLE,
                    Field::When => schema::WHEN,
                    Field::Location => schema::LOCATION,
                }
                .to_owned(),
            )),
            Scope::Occurrence(key) => {
                self.check_occurrence(uid, key)?;
                let overrides = self.child(obj, schema::OVERRIDES, ObjType::Map)?;
                Ok((overrides, field.override_key(key)))
            }
        }
    }

    fn check_occurrence(&self, uid: &str, key: &OccurrenceKey) -> Result<(), CalendarError> {
        let event = self
            .calendar()
            .event(uid)
            .ok_or_else(|| CalendarError::NoSuchEvent(uid.to_owned()))?;
        let rule = event
            .data
            .recurrence
            .as_ref()
            .ok_or_else(|| CalendarError::NotRecurring(uid.to_owned()))?;
        if rule.has_occurrence(&event.data.when, key) {
            Ok(())
        } else {
            Err(CalendarError::NoSuchOccurrence {
                uid: uid.to_owned(),
                key: key.to_string(),
            })
        }
    }

    pub fn set_title(
        &mut self,
        uid: &str,
        scope: &Scope,
        title: &str,
    ) -> Result<(), CalendarError> {
        let (obj, key) = self.field(uid, scope, Field::Title)?;
        self.tx.put(obj, &key, title)?;
        Ok(())
    }

    /// Moves or resizes. The new time replaces every value the document
    /// holds for `scope`, so it also resolves a conflict of concurrent
    /// moves: pick one of `Event::when_choices` and write it here.
    ///
    /// Moving a whole repeating series moves the original starts of its
    /// occurrences: occurrences changed or cancelled on their own keep
    /// their old keys and no longer match (as in iCalendar).
    pub fn set_when(&mut self, uid: &str, scope: &Scope, when: When) -> Result<(), CalendarError> {
        let (obj, key) = self.field(uid, scope, Field::When)?;
        self.tx.put(obj, &key, when.encode())?;
        Ok(())
    }

    pub fn set_location(
        &mut self,
        uid: &str,
        scope: &Scope,
        location: &str,
    ) -> Result<(), CalendarError> {
        let (obj, key) = self.field(uid, scope, Field::Location)?;
        self.tx.put(obj, &key, location)?;
        Ok(())
    }

    /// Sets (or with `None` clears) the colour.
    pub fn set_colour(&mut self, uid: &str, colour: Option<&str>) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        match colour {
            Some(c) => self.tx.put(obj, schema::COLOUR, c)?,
            None => self.tx.delete(obj, schema::COLOUR)?,
        }
        Ok(())
    }

    /// Replaces `del` characters of the notes at `pos` with `insert`
    /// (positions in characters): what a text field's edit becomes.
    pub fn splice_notes(
        &mut self,
        uid: &str,
        pos: usize,
        del: usize,
        insert: &str,
    ) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        self.tx
            .splice_key_text(obj, schema::NOTES, pos, del, insert)?;
        Ok(())
    }

    /// Makes the notes read `text`, changing only the middle part that
    /// differs (so concurrent edits elsewhere in the notes survive).
    pub fn set_notes(&mut self, uid: &str, text: &str) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        let old: Vec<char> = self
            .tx
            .doc()
            .key_text(obj, schema::NOTES)
            .to_string()
            .chars()
            .collect();
        let new: Vec<char> = text.chars().collect();
        let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
        let suffix = old[prefix..]
            .iter()
            .rev()
            .zip(new[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let insert: String = new[prefix..new.len() - suffix].iter().collect();
        self.tx.splice_key_text(
            obj,
            schema::NOTES,
            prefix,
            old.len() - suffix - prefix,
            &insert,
        )?;
        Ok(())
    }

    pub fn add_attendee(&mut self, uid: &str, who: &str) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        let set = self.child(obj, schema::ATTENDEES, ObjType::Set)?;
        self.tx.add(set, who)?;
        Ok(())
    }

    /// Removes an attendee (as far as this device has seen them added: a
    /// concurrent add elsewhere survives). Returns whether they were there.
    pub fn remove_attendee(&mut self, uid: &str, who: &str) -> Result<bool, CalendarError> {
        let obj = self.live_event(uid)?;
        self.remove_from_sets(obj, schema::ATTENDEES, who)
    }

    /// Makes the event repeat by `rule`, or with `None` stop repeating.
    pub fn set_recurrence(
        &mut self,
        uid: &str,
        rule: Option<&Recurrence>,
    ) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        match rule {
            Some(rule) => {
                rule.validate()?;
                self.tx.put(obj, schema::RULE, rule.encode())?;
            }
            None => self.tx.delete(obj, schema::RULE)?,
        }
        Ok(())
    }

    /// Deletes the event. It stays restorable (`restore_event`), and wins
    /// over edits made concurrently on other devices (see the crate docs).
    pub fn delete_event(&mut self, uid: &str) -> Result<(), CalendarError> {
        let obj = self.any_event(uid)?;
        self.tx.put(obj, schema::DELETED, true)?;
        Ok(())
    }

    /// Brings a deleted event back, with every edit it received meanwhile
    /// (the undo of a delete).
    pub fn restore_event(&mut self, uid: &str) -> Result<(), CalendarError> {
        let obj = self.any_event(uid)?;
        if schema::any_true(self.tx.doc(), obj, schema::DELETED) {
            self.tx.put(obj, schema::DELETED, false)?;
        }
        Ok(())
    }

    /// Takes one occurrence out of a repeating event.
    pub fn cancel_occurrence(
        &mut self,
        uid: &str,
        key: &OccurrenceKey,
    ) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        self.check_occurrence(uid, key)?;
        let set = self.child(obj, schema::CANCELLED, ObjType::Set)?;
        self.tx.add(set, key.as_str())?;
        Ok(())
    }

    /// Undoes `cancel_occurrence` (as far as this device has seen it).
    pub fn restore_occurrence(
        &mut self,
        uid: &str,
        key: &OccurrenceKey,
    ) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        self.remove_from_sets(obj, schema::CANCELLED, key.as_str())?;
        Ok(())
    }

    /// Drops every change made to one occurrence: it follows the series
    /// again.
    pub fn reset_occurrence(
        &mut self,
        uid: &str,
        key: &OccurrenceKey,
    ) -> Result<(), CalendarError> {
        let obj = self.live_event(uid)?;
        let overrides = self.child(obj, schema::OVERRIDES, ObjType::Map)?;
        for field in [Field::Title, Field::When, Field::Location] {
            self.tx.delete(overrides, &field.override_key(key))?;
        }
        Ok(())
    }
}
