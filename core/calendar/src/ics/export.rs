//! Writing a calendar as an iCalendar file.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use icalendar::{
    Calendar as IcsCalendar, CalendarDateTime, Component, DatePerhapsTime, Event as IcsEvent,
    EventLike, Property,
};

use crate::calendar::{Calendar, original_when};
use crate::event::EventData;
use crate::ics::vtimezone::vtimezone;
use crate::occurrence::OccurrenceKey;
use crate::recurrence::RecurrenceEnd;
use crate::when::{When, resolve_local};

/// The PRODID of files Concord writes.
pub const PRODID: &str = "-//Concord//Concord Calendar//EN";

/// The calendar's events that are not deleted as an iCalendar file: one
/// VEVENT per event, plus one per changed occurrence (RECURRENCE-ID).
/// `now` is the DTSTAMP (the crate reads no clock).
pub fn export_ics(calendar: &Calendar<'_>, now: DateTime<Utc>) -> String {
    let events: Vec<EventData> = calendar.events().into_iter().map(|e| e.data).collect();
    write_ics(&calendar.name(), &events, now)
}

/// `events` as an iCalendar file named `name`.
pub fn write_ics(name: &str, events: &[EventData], now: DateTime<Utc>) -> String {
    let mut file = IcsCalendar::empty();
    file.append_property(Property::new("VERSION", "2.0"));
    file.append_property(Property::new("PRODID", PRODID));
    file.append_property(Property::new("CALSCALE", "GREGORIAN"));
    let name = one_line(name);
    if !name.is_empty() {
        file.name(&name);
    }
    for event in events {
        file.push(master(event, now));
        for (key, over) in &event.overrides {
            let Some(rule) = &event.recurrence else {
                break;
            };
            if over.is_empty()
                || event.cancelled.contains(key)
                || !rule.has_occurrence(&event.when, key)
            {
                continue;
            }
            let Some(original) = original_when(&event.when, key) else {
                continue;
            };
            let mut vevent = IcsEvent::with_uid(&event.uid);
            vevent.timestamp(now);
            vevent.append_property(time_property("RECURRENCE-ID", &original, true));
            let when = over.when.unwrap_or(original);
            vevent.append_property(time_property("DTSTART", &when, true));
            vevent.append_property(time_property("DTEND", &when, false));
            vevent.summary(&text(over.title.as_deref().unwrap_or(&event.title)));
            let location = over.location.as_deref().unwrap_or(&event.location);
            if !location.is_empty() {
                vevent.location(&text(location));
            }
            file.push(vevent.done());
        }
    }
    let text = file.to_string();
    // VTIMEZONEs go before the first VEVENT, where readers that resolve
    // a TZID as they go expect them. (The `icalendar` crate writes a UID
    // and a DTSTAMP from the clock into any component, so they are
    // written here.)
    let zones: String = zone_years(events)
        .into_values()
        .map(|(zone, first, last)| vtimezone(zone, first, last))
        .collect();
    match text.find("BEGIN:VEVENT\r\n") {
        Some(at) if !zones.is_empty() => format!("{}{zones}{}", &text[..at], &text[at..]),
        _ => text,
    }
}

/// Every zone written as a TZID (by name), and the first and last year
/// of the wall-clock times written in it.
fn zone_years(events: &[EventData]) -> BTreeMap<&'static str, (Tz, i32, i32)> {
    let mut years: BTreeMap<&'static str, (Tz, i32, i32)> = BTreeMap::new();
    let mut note = |zone: Tz, t: DateTime<Utc>| {
        if zone == Tz::UTC {
            return;
        }
        let year = t.with_timezone(&zone).year();
        let entry = years.entry(zone.name()).or_insert((zone, year, year));
        entry.1 = entry.1.min(year);
        entry.2 = entry.2.max(year);
    };
    for event in events {
        let mut whens = vec![event.when];
        whens.extend(event.overrides.values().filter_map(|o| o.when));
        for when in whens {
            if let (Some((start, end)), Some(zone)) = (when.instants(), when.zone()) {
                note(zone, start);
                note(zone, end);
            }
        }
        let Some(zone) = event.when.zone() else {
            continue;
        };
        if let Some(rule) = &event.recurrence {
            let keys = rule
                .extra
                .iter()
                .chain(&event.cancelled)
                .chain(event.overrides.keys());
            for t in keys.filter_map(OccurrenceKey::instant) {
                note(zone, t);
            }
            if let RecurrenceEnd::UntilInstant(t) = rule.end {
                note(zone, t);
            }
            if let RecurrenceEnd::UntilDate(d) = rule.end {
                note(zone, d.and_time(NaiveTime::MIN).and_utc());
            }
        }
    }
    years
}

fn master(event: &EventData, now: DateTime<Utc>) -> IcsEvent {
    let mut vevent = IcsEvent::with_uid(&event.uid);
    vevent.timestamp(now);
    vevent.summary(&text(&event.title));
    vevent.append_property(time_property("DTSTART", &event.when, true));
    vevent.append_property(time_property("DTEND", &event.when, false));
    if !event.location.is_empty() {
        vevent.location(&text(&event.location));
    }
    if !event.notes.is_empty() {
        vevent.description(&text(&event.notes));
    }
    for who in &event.attendees {
        vevent.append_multi_property(attendee(who));
    }
    if let Some(colour) = &event.colour {
        let colour: String = colour
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '#')
            .collect();
        if !colour.is_empty() {
            vevent.add_property("COLOR", colour);
        }
    }
    if let Some(rule) = &event.recurrence {
        // Only extra dates: RDATE alone says it (and reads back the same).
        if !rule.is_dates_only() {
            vevent.add_property("RRULE", rule.to_ics_rrule(&event.when));
        }
        for key in &rule.extra {
            if let Some(original) = original_when(&event.when, key)
                && OccurrenceKey::of(&original) == *key
            {
                vevent.append_multi_property(time_property("RDATE", &original, true));
            }
        }
        for key in &event.cancelled {
            if let Some(original) = original_when(&event.when, key)
                && OccurrenceKey::of(&original) == *key
            {
                vevent.append_multi_property(time_property("EXDATE", &original, true));
            }
        }
    }
    vevent.done()
}

/// DTSTART-like property for the start (or end) of `when`: a date for
/// all-day events, UTC for events created in UTC, else wall-clock time
/// with the IANA zone as TZID.
fn time_property(name: &str, when: &When, start: bool) -> Property {
    let value: DatePerhapsTime = match (when.dates(), when.instants(), when.zone()) {
        (Some((first, after)), _, _) => DatePerhapsTime::Date(if start { first } else { after }),
        (None, Some((s, e)), Some(zone)) => {
            let t = if start { s } else { e };
            let local = t.with_timezone(&zone).naive_local();
            // A wall-clock time read back as another instant (the second
            // 01:30 of a night the clocks go back) is written in UTC,
            // except DTSTART, whose TZID carries the event's zone.
            let exact = name == "DTSTART" || resolve_local(zone, local) == Some(t);
            if zone == Tz::UTC || !exact {
                CalendarDateTime::Utc(t).into()
            } else {
                CalendarDateTime::WithTimezone {
                    date_time: local,
                    tzid: zone.name().to_owned(),
                }
                .into()
            }
        }
        _ => unreachable!("a When is timed (with a zone) or all-day"),
    };
    value.to_property(name)
}

/// An ATTENDEE from `Name <email>`, `email` or `Name` (no address:
/// `invalid:nomail`, as other calendars write it).
fn attendee(who: &str) -> Property {
    let who = who.trim();
    let (name, address) = match who.rsplit_once('<') {
        Some((name, rest)) if rest.ends_with('>') => {
            (name.trim(), Some(rest.trim_end_matches('>').trim()))
        }
        _ if who.contains('@') && !who.contains(char::is_whitespace) => ("", Some(who)),
        _ => (who, None),
    };
    let address: String = address
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && *c != '"')
        .collect();
    let value = if address.is_empty() {
        "invalid:nomail".to_owned()
    } else {
        format!("mailto:{address}")
    };
    let mut property = Property::new("ATTENDEE", value);
    let name: String = one_line(name).chars().filter(|c| *c != '"').collect();
    if !name.is_empty() {
        property.add_parameter("CN", &name);
    }
    property.done()
}

/// Text without the control characters iCalendar cannot carry (line
/// breaks become `\n`, which it can).
fn text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// One line of text without control characters (names, parameters).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}
