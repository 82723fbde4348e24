//! Reading a calendar document: its name, its events, and the occurrences
//! a view of some days shows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use concord_core::{Document, KeyText, ObjId, ObjType, ScalarValue, Value};

use crate::error::CalendarError;
use crate::event::{Event, EventData, OccurrenceOverride};
use crate::occurrence::{Occurrence, OccurrenceKey, Scope};
use crate::recurrence::Recurrence;
use crate::schema::{self, Field};
use crate::when::{When, resolve_local};

/// The most occurrences one event contributes to one `occurrences` call.
pub const MAX_OCCURRENCES_PER_EVENT: usize = 5000;

/// Is this document a calendar (rather than a note)?
pub fn is_calendar(doc: &Document) -> bool {
    schema::string(doc, ObjId::Root, schema::KIND).as_deref() == Some(schema::KIND_CALENDAR)
}

/// A read-only view of a calendar document.
#[derive(Clone, Copy, Debug)]
pub struct Calendar<'d> {
    doc: &'d Document,
    events: ObjId,
}

impl<'d> Calendar<'d> {
    pub fn open(doc: &'d Document) -> Result<Self, CalendarError> {
        if !is_calendar(doc) {
            return Err(CalendarError::NotACalendar);
        }
        if let Ok(Some(Value::Scalar(ScalarValue::Int(format)))) =
            doc.get(ObjId::Root, schema::FORMAT)
            && *format > schema::FORMAT_VERSION
        {
            return Err(CalendarError::TooNew(*format));
        }
        let events = schema::child(doc, ObjId::Root, schema::EVENTS, ObjType::Map)
            .ok_or(CalendarError::NotACalendar)?;
        Ok(Calendar { doc, events })
    }

    pub fn document(&self) -> &'d Document {
        self.doc
    }

    pub(crate) fn events_obj(&self) -> ObjId {
        self.events
    }

    /// The calendar's name (the winner, if renamed concurrently).
    pub fn name(&self) -> String {
        schema::string(self.doc, ObjId::Root, schema::NAME).unwrap_or_default()
    }

    /// Every event UID, deleted ones included, in order.
    pub fn uids(&self) -> Vec<String> {
        self.doc
            .map(self.events)
            .map(|m| m.keys().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    pub(crate) fn event_obj(&self, uid: &str) -> Option<ObjId> {
        schema::child(self.doc, self.events, uid, ObjType::Map)
    }

    /// One event, deleted or not; `None` if there is none (or its time is
    /// unreadable).
    pub fn event(&self, uid: &str) -> Option<Event> {
        let obj = self.event_obj(uid)?;
        read_event(self.doc, uid, obj)
    }

    /// An event's notes as text, for an editor that edits them in place
    /// (carets anchored on their characters); `CalendarTx::splice_notes`
    /// edits them.
    pub fn notes_text(&self, uid: &str) -> Option<KeyText<'_>> {
        Some(self.doc.key_text(self.event_obj(uid)?, schema::NOTES))
    }

    /// The events that are not deleted, by UID.
    pub fn events(&self) -> Vec<Event> {
        self.all_events()
            .into_iter()
            .filter(|e| !e.deleted)
            .collect()
    }

    /// The deleted events (a "recently deleted" list to restore from).
    pub fn deleted_events(&self) -> Vec<Event> {
        self.all_events()
            .into_iter()
            .filter(|e| e.deleted)
            .collect()
    }

    fn all_events(&self) -> Vec<Event> {
        self.uids()
            .iter()
            .filter_map(|uid| self.event(uid))
            .collect()
    }

    /// Every occurrence of the events that are not deleted which overlaps
    /// the days `from` up to, not including, `to` in zone `display`;
    /// ordered by start (all-day first), end, UID and key.
    pub fn occurrences(&self, from: NaiveDate, to: NaiveDate, display: Tz) -> Vec<Occurrence> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        let range = Range::new(from, to, display);
        for event in self.events() {
            occurrences_of(&event, &range, &mut out);
        }
        out.sort_by(|a, b| {
            (a.start, !a.all_day, a.end, &a.uid, &a.key)
                .cmp(&(b.start, !b.all_day, b.end, &b.uid, &b.key))
        });
        out
    }

    /// Every time conflict in the calendar: (UID, scope, candidates).
    pub fn conflicts(&self) -> Vec<(String, Scope, Vec<When>)> {
        self.events()
            .into_iter()
            .flat_map(|e| {
                let uid = e.data.uid.clone();
                e.when_conflicts
                    .into_iter()
                    .map(move |(scope, whens)| (uid.clone(), scope, whens))
            })
            .collect()
    }
}

/// The days a view shows, as dates (all-day events) and instants (timed).
struct Range {
    from: NaiveDate,
    to: NaiveDate,
    display: Tz,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

impl Range {
    fn new(from: NaiveDate, to: NaiveDate, display: Tz) -> Self {
        Range {
            from,
            to,
            display,
            start: resolve_local(display, from.and_time(NaiveTime::MIN)),
            end: resolve_local(display, to.and_time(NaiveTime::MIN)),
        }
    }

    fn overlaps(&self, when: &When) -> bool {
        match (when.instants(), when.dates()) {
            (Some((start, end)), _) => {
                self.start.is_none_or(|lo| end > lo) && self.end.is_none_or(|hi| start < hi)
            }
            (None, Some((start, end))) => start < self.to && end > self.from,
            (None, None) => false,
        }
    }
}

fn occurrences_of(event: &Event, range: &Range, out: &mut Vec<Occurrence>) {
    let data = &event.data;
    let series_conflict = event
        .when_conflicts
        .contains_key(&Scope::Series)
        .then_some(Scope::Series);
    let make = |key: OccurrenceKey, scope: Scope, when: When, conflict: Option<Scope>| {
        let over = match &scope {
            Scope::Occurrence(k) => data.overrides.get(k),
            Scope::Series => None,
        };
        Occurrence {
            uid: data.uid.clone(),
            key,
            when,
            start: when.local_start(range.display),
            end: when.local_end(range.display),
            all_day: when.is_all_day(),
            title: over
                .and_then(|o| o.title.clone())
                .unwrap_or_else(|| data.title.clone()),
            location: over
                .and_then(|o| o.location.clone())
                .unwrap_or_else(|| data.location.clone()),
            colour: data.colour.clone(),
            recurring: matches!(scope, Scope::Occurrence(_)),
            scope,
            conflict,
        }
    };
    let Some(rule) = &data.recurrence else {
        if range.overlaps(&data.when) {
            out.push(make(
                OccurrenceKey::of(&data.when),
                Scope::Series,
                data.when,
                series_conflict,
            ));
        }
        return;
    };
    // Originals that may reach the range once moved by the offset between
    // zones (under 27 hours) or by their length.
    let margin = Duration::days(2) + Duration::days(data.when.duration().num_days());
    let (Some(lo), Some(hi)) = (
        range.from.checked_sub_signed(margin),
        range.to.checked_add_signed(Duration::days(2)),
    ) else {
        return;
    };
    let mut originals: BTreeMap<OccurrenceKey, When> = rule
        .expand(&data.when, lo, hi, MAX_OCCURRENCES_PER_EVENT)
        .into_iter()
        .map(|w| (OccurrenceKey::of(&w), w))
        .collect();
    // Occurrences moved in from far away.
    for (key, over) in &data.overrides {
        if over.when.is_some()
            && !originals.contains_key(key)
            && rule.has_occurrence(&data.when, key)
            && let Some(original) = original_when(&data.when, key)
        {
            originals.insert(key.clone(), original);
        }
    }
    for (key, original) in originals {
        if data.cancelled.contains(&key) {
            continue;
        }
        let scope = Scope::Occurrence(key.clone());
        let moved = data.overrides.get(&key).and_then(|o| o.when);
        let when = moved.unwrap_or(original);
        let conflict = if moved.is_some() {
            event
                .when_conflicts
                .contains_key(&scope)
                .then(|| scope.clone())
        } else {
            series_conflict.clone()
        };
        if range.overlaps(&when) {
            out.push(make(key, scope, when, conflict));
        }
    }
}

/// The span of the occurrence originally starting at `key` (same length
/// and zone as the series).
pub(crate) fn original_when(base: &When, key: &OccurrenceKey) -> Option<When> {
    match (key.instant(), base.zone(), key.date()) {
        (Some(start), Some(zone), _) => When::timed(start, start + base.duration(), zone).ok(),
        (None, None, Some(day)) => {
            When::all_day(day, day.checked_add_signed(base.duration())?).ok()
        }
        _ => None,
    }
}

/// Reads one event; `None` if it has no readable time.
pub(crate) fn read_event(doc: &Document, uid: &str, obj: ObjId) -> Option<Event> {
    let whens = schema::whens(doc, obj, schema::WHEN);
    let when = *whens.first()?;
    let mut when_conflicts = BTreeMap::new();
    if whens.len() > 1 {
        when_conflicts.insert(Scope::Series, whens);
    }
    let notes = doc.key_text(obj, schema::NOTES).to_string();
    let attendees = schema::set_strings(doc, obj, schema::ATTENDEES)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let cancelled: BTreeSet<OccurrenceKey> = schema::set_strings(doc, obj, schema::CANCELLED)
        .into_iter()
        .filter_map(OccurrenceKey::parse)
        .collect();
    let mut overrides: BTreeMap<OccurrenceKey, OccurrenceOverride> = BTreeMap::new();
    if let Some(map_obj) = schema::child(doc, obj, schema::OVERRIDES, ObjType::Map)
        && let Ok(map) = doc.map(map_obj)
    {
        for name in map.keys() {
            let Some((key, field)) = Field::parse_override_key(name) else {
                continue;
            };
            match field {
                Field::Title => {
                    if let Some(title) = schema::string(doc, map_obj, name) {
                        overrides.entry(key).or_default().title = Some(title);
                    }
                }
                Field::Location => {
                    if let Some(location) = schema::string(doc, map_obj, name) {
                        overrides.entry(key).or_default().location = Some(location);
                    }
                }
                Field::When => {
                    let whens = schema::whens(doc, map_obj, name);
                    if let Some(first) = whens.first() {
                        overrides.entry(key.clone()).or_default().when = Some(*first);
                    }
                    if whens.len() > 1 {
                        when_conflicts.insert(Scope::Occurrence(key), whens);
                    }
                }
            }
        }
    }
    let recurrence = schema::string(doc, obj, schema::RULE)
        .as_deref()
        .and_then(Recurrence::decode);
    let data = EventData {
        uid: uid.to_owned(),
        title: schema::string(doc, obj, schema::TITLE).unwrap_or_default(),
        when,
        location: schema::string(doc, obj, schema::LOCATION).unwrap_or_default(),
        notes,
        attendees,
        colour: schema::string(doc, obj, schema::COLOUR),
        recurrence,
        cancelled,
        overrides,
    };
    Some(Event {
        data,
        deleted: schema::any_true(doc, obj, schema::DELETED),
        when_conflicts,
    })
}
