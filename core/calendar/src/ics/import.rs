//! Reading iCalendar files into `EventData`.
//!
//! The file is parsed by the `icalendar` crate; this module reads its
//! components. A file that cannot be parsed is an `IcsError`; a VEVENT that
//! cannot be used is skipped (or adjusted) with an `ImportWarning`, and the
//! rest is imported.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use concord_core::Transaction;
use icalendar::parser::{Component, Property, read_components, unfold};

use crate::edit::CalendarTx;
use crate::error::{CalendarError, EventProblem, IcsError, ImportWarning, RuleError};
use crate::event::{EventData, OccurrenceOverride, valid_uid};
use crate::ics::zones::zone_named;
use crate::occurrence::OccurrenceKey;
use crate::recurrence::{MAX_EXTRA_DATES, Recurrence, RecurrenceEnd};
use crate::when::{When, resolve_local};

/// The largest file `parse_ics` reads.
pub const MAX_ICS_BYTES: usize = 16 << 20;
/// Components nest this deep at most (VCALENDAR > VEVENT > VALARM is 3).
const MAX_DEPTH: usize = 8;
/// The length given to a timed event that has none.
const DEFAULT_MINUTES: i64 = 60;

/// A calendar read from a file, ready to be written into a new document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedCalendar {
    /// NAME / X-WR-CALNAME, if the file has one.
    pub name: Option<String>,
    /// In file order, UIDs unique.
    pub events: Vec<EventData>,
    /// What was skipped or adjusted.
    pub warnings: Vec<ImportWarning>,
}

impl ImportedCalendar {
    /// Makes the empty document of `tx` a calendar holding these events
    /// (named after the file, or `fallback_name`).
    pub fn write(
        &self,
        tx: &mut Transaction<'_>,
        fallback_name: &str,
    ) -> Result<(), CalendarError> {
        let name = self.name.as_deref().unwrap_or(fallback_name);
        let mut cal = CalendarTx::create(tx, name)?;
        for event in &self.events {
            cal.add_event(event)?;
        }
        Ok(())
    }

    /// Moves every event by whole days, keeping wall-clock times in each
    /// event's zone (used to bring the demo calendar to this week).
    pub fn shift_days(&mut self, days: i64) -> Result<(), CalendarError> {
        for event in &mut self.events {
            let zone = event.when.zone();
            event.when = event.when.shifted_days(days)?;
            if let Some(rule) = &mut event.recurrence {
                rule.end = match rule.end {
                    RecurrenceEnd::UntilDate(d) => RecurrenceEnd::UntilDate(
                        d.checked_add_signed(Duration::days(days))
                            .ok_or(CalendarError::OutOfRange)?,
                    ),
                    RecurrenceEnd::UntilInstant(t) => RecurrenceEnd::UntilInstant(
                        t.checked_add_signed(Duration::days(days))
                            .ok_or(CalendarError::OutOfRange)?,
                    ),
                    other => other,
                };
                rule.extra = rule
                    .extra
                    .iter()
                    .map(|k| k.shifted_days(days, zone).ok_or(CalendarError::OutOfRange))
                    .collect::<Result<_, _>>()?;
            }
            let shift_key =
                |k: &OccurrenceKey| k.shifted_days(days, zone).ok_or(CalendarError::OutOfRange);
            event.cancelled = event
                .cancelled
                .iter()
                .map(shift_key)
                .collect::<Result<_, _>>()?;
            let mut overrides = BTreeMap::new();
            for (key, over) in &event.overrides {
                let mut over = over.clone();
                if let Some(w) = &over.when {
                    over.when = Some(w.shifted_days(days)?);
                }
                overrides.insert(shift_key(key)?, over);
            }
            event.overrides = overrides;
        }
        Ok(())
    }
}

/// Reads an iCalendar file. Floating times (no zone) are read in
/// `default_zone` (or the file's X-WR-TIMEZONE), as RFC 5545 says: they
/// mean the same wall-clock time wherever one is.
pub fn parse_ics(text: &str, default_zone: Tz) -> Result<ImportedCalendar, IcsError> {
    if text.len() > MAX_ICS_BYTES {
        return Err(IcsError::TooLarge(MAX_ICS_BYTES));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let unfolded = unfold(text);
    check_depth(&unfolded)?;
    let components = read_components(&unfolded).map_err(|e| IcsError::Parse(first_line(&e)))?;
    let calendars: Vec<&Component<'_>> = components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VCALENDAR"))
        .collect();
    let Some(first) = calendars.first() else {
        return Err(IcsError::NotACalendar);
    };
    let name = find(first, "X-WR-CALNAME")
        .map(|p| p.val.as_str().to_owned())
        .or_else(|| find(first, "NAME").map(|p| unescape_text(p.val.as_str())))
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let zone = find(first, "X-WR-TIMEZONE")
        .and_then(|p| zone_named(p.val.as_str()))
        .unwrap_or(default_zone);
    // Zones defined in the file under names that are no IANA names, with
    // the IANA name beside them (X-LIC-LOCATION, as Google and Thunderbird
    // write it).
    let defined = calendars
        .iter()
        .flat_map(|c| c.components.iter())
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VTIMEZONE"))
        .filter_map(|c| {
            let tzid = find(c, "TZID")?.val.as_str().trim().to_owned();
            let zone = zone_named(find(c, "X-LIC-LOCATION")?.val.as_str())?;
            Some((tzid, zone))
        })
        .collect();
    let mut reader = Reader {
        zone,
        defined,
        warnings: Vec::new(),
        events: Vec::new(),
        index: BTreeMap::new(),
    };
    let vevents = calendars.iter().flat_map(|c| {
        c.components
            .iter()
            .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
    });
    let (masters, changed): (Vec<_>, Vec<_>) =
        vevents.partition(|c| find(c, "RECURRENCE-ID").is_none());
    for vevent in masters {
        reader.master(vevent);
    }
    for vevent in changed {
        reader.changed_occurrence(vevent);
    }
    Ok(ImportedCalendar {
        name,
        events: reader.events,
        warnings: reader.warnings,
    })
}

/// Nesting is checked before parsing: the parser recurses per level.
fn check_depth(text: &str) -> Result<(), IcsError> {
    let mut depth = 0usize;
    for line in text.lines() {
        let line = line.trim_start();
        let upper = |prefix: &str| {
            line.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        if upper("BEGIN:") {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(IcsError::TooDeep(MAX_DEPTH));
            }
        } else if upper("END:") {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

/// The parser's message, cut to something a person can read.
fn first_line(error: &str) -> String {
    let mut msg: String = error.lines().take(4).collect::<Vec<_>>().join(" ");
    if msg.chars().count() > 300 {
        msg = msg.chars().take(300).collect::<String>() + "…";
    }
    msg
}

fn find<'c>(component: &'c Component<'_>, name: &str) -> Option<&'c Property<'c>> {
    component
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn find_all<'c>(
    component: &'c Component<'_>,
    name: &'c str,
) -> impl Iterator<Item = &'c Property<'c>> {
    component
        .properties
        .iter()
        .filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'p>(property: &'p Property<'_>, name: &str) -> Option<&'p str> {
    property
        .params
        .iter()
        .find(|p| p.key.as_str().eq_ignore_ascii_case(name))
        .and_then(|p| p.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// RFC 5545 TEXT unescaping, for the properties the parser leaves alone.
fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// An RDATE value: a start, and the end of a PERIOD.
type Period = (Time, Option<DateTime<Utc>>);

/// A DTSTART-like value.
#[derive(Clone, Copy, Debug)]
enum Time {
    Date(NaiveDate),
    /// An instant and the zone it was written in.
    Instant(DateTime<Utc>, Tz),
}

struct Reader {
    /// The zone of floating times.
    zone: Tz,
    /// TZID → zone, for the file's VTIMEZONEs that name their IANA zone.
    defined: BTreeMap<String, Tz>,
    warnings: Vec<ImportWarning>,
    events: Vec<EventData>,
    /// UID → index in `events`.
    index: BTreeMap<String, usize>,
}

impl Reader {
    fn warn(&mut self, uid: Option<&str>, problem: EventProblem) {
        let warning = ImportWarning {
            uid: uid.map(str::to_owned),
            problem,
        };
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// The zone of a property's TZID: `None` without one; an unknown name
    /// is read in the default zone, with a warning.
    fn property_zone(&mut self, uid: &str, property: &Property<'_>) -> Option<Tz> {
        let tzid = param(property, "TZID")?;
        let zone = zone_named(tzid).or_else(|| self.defined.get(tzid.trim()).copied());
        if zone.is_none() {
            self.warn(
                Some(uid),
                EventProblem::UnknownZone {
                    zone: tzid.to_owned(),
                    used: self.zone.name().to_owned(),
                },
            );
        }
        Some(zone.unwrap_or(self.zone))
    }

    /// One DATE or DATE-TIME value (UTC, in `zone`, or floating).
    fn time_value(&self, v: &str, is_date: bool, zone: Option<Tz>) -> Result<Time, String> {
        let v = v.trim();
        let bad = || v.to_owned();
        if is_date || (v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit())) {
            return NaiveDate::parse_from_str(v, "%Y%m%d")
                .map(Time::Date)
                .map_err(|_| bad());
        }
        if let Some(utc) = v.strip_suffix('Z').or_else(|| v.strip_suffix('z')) {
            let t = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
            return Ok(Time::Instant(t.and_utc(), zone.unwrap_or(Tz::UTC)));
        }
        let local = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        let zone = zone.unwrap_or(self.zone);
        resolve_local(zone, local)
            .map(|t| Time::Instant(t, zone))
            .ok_or_else(bad)
    }

    /// A list of times (EXDATE can hold several); unreadable values are
    /// reported as `Err` with the value.
    fn times(&mut self, uid: &str, property: &Property<'_>) -> Vec<Result<Time, String>> {
        let is_date = param(property, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        let zone = self.property_zone(uid, property);
        property
            .val
            .as_str()
            .split(',')
            .map(|v| self.time_value(v, is_date, zone))
            .collect()
    }

    /// The values of an RDATE: times, or periods (`start/end` or
    /// `start/duration`) with the instant they end at.
    fn periods(&mut self, uid: &str, property: &Property<'_>) -> Vec<Result<Period, String>> {
        let is_date = param(property, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        let zone = self.property_zone(uid, property);
        property
            .val
            .as_str()
            .split(',')
            .map(|v| {
                let Some((start, end)) = v.split_once('/') else {
                    return self.time_value(v, is_date, zone).map(|t| (t, None));
                };
                let start = self.time_value(start, false, zone)?;
                let Time::Instant(at, _) = start else {
                    return Err(v.to_owned());
                };
                let end = match parse_duration(end) {
                    Some(d) => at.checked_add_signed(d),
                    None => match self.time_value(end, false, zone)? {
                        Time::Instant(t, _) => Some(t),
                        Time::Date(_) => None,
                    },
                };
                end.map(|e| (start, Some(e))).ok_or_else(|| v.to_owned())
            })
            .collect()
    }

    /// The one time of a DTSTART/DTEND/RECURRENCE-ID property.
    fn time(&mut self, uid: &str, property: &Property<'_>) -> Result<Time, EventProblem> {
        let mut all = self.times(uid, property);
        match all.len() {
            1 => all.remove(0).map_err(|value| EventProblem::BadDate {
                property: property.name.as_str().to_ascii_uppercase(),
                value,
            }),
            _ => Err(EventProblem::BadDate {
                property: property.name.as_str().to_ascii_uppercase(),
                value: property.val.as_str().to_owned(),
            }),
        }
    }

    /// The span of a VEVENT from DTSTART, DTEND or DURATION.
    fn when(&mut self, uid: &str, vevent: &Component<'_>) -> Result<When, EventProblem> {
        let start = find(vevent, "DTSTART").ok_or(EventProblem::NoStart)?;
        let start = self.time(uid, start)?;
        let end = match find(vevent, "DTEND") {
            Some(p) => Some(self.time(uid, p)?),
            None => None,
        };
        let duration =
            match find(vevent, "DURATION") {
                Some(p) if end.is_none() => Some(parse_duration(p.val.as_str()).ok_or_else(
                    || EventProblem::BadDate {
                        property: "DURATION".into(),
                        value: p.val.as_str().to_owned(),
                    },
                )?),
                _ => None,
            };
        let out_of_range = |_| EventProblem::BadDate {
            property: "DTSTART".into(),
            value: find(vevent, "DTSTART")
                .map(|p| p.val.as_str().to_owned())
                .unwrap_or_default(),
        };
        match start {
            Time::Date(first) => {
                let end = match (end, duration) {
                    (Some(Time::Date(d)), _) => Some(d),
                    (Some(Time::Instant(t, z)), _) => Some(t.with_timezone(&z).date_naive()),
                    (None, Some(d)) => {
                        let days = (d.num_seconds() + 86_399).div_euclid(86_400);
                        first.checked_add_signed(Duration::days(days))
                    }
                    (None, None) => first.succ_opt(),
                };
                let end = end.ok_or(EventProblem::EndBeforeStart)?;
                if end < first {
                    return Err(EventProblem::EndBeforeStart);
                }
                if end == first {
                    self.warn(Some(uid), EventProblem::NoLength(24 * 60));
                    let next = first.succ_opt().ok_or(EventProblem::EndBeforeStart)?;
                    return When::all_day(first, next).map_err(out_of_range);
                }
                When::all_day(first, end).map_err(out_of_range)
            }
            Time::Instant(start, zone) => {
                let end = match (end, duration) {
                    (Some(Time::Instant(t, _)), _) => Some(t),
                    (Some(Time::Date(d)), _) => resolve_local(zone, d.and_time(NaiveTime::MIN)),
                    (None, Some(d)) => start.checked_add_signed(d),
                    (None, None) => Some(start),
                };
                let end = end.ok_or(EventProblem::EndBeforeStart)?;
                if end < start {
                    return Err(EventProblem::EndBeforeStart);
                }
                if end == start {
                    self.warn(Some(uid), EventProblem::NoLength(DEFAULT_MINUTES));
                    return When::timed(start, start + Duration::minutes(DEFAULT_MINUTES), zone)
                        .map_err(out_of_range);
                }
                When::timed(start, end, zone).map_err(out_of_range)
            }
        }
    }

    /// The UID of a VEVENT, or a made-up one (with a warning).
    fn uid(&mut self, vevent: &Component<'_>) -> String {
        match find(vevent, "UID").map(|p| p.val.as_str().trim().to_owned()) {
            Some(uid) if valid_uid(&uid) => uid,
            _ => {
                let made = format!("import-{}@concord", self.events.len() + self.warnings.len());
                self.warn(None, EventProblem::NoUid(made.clone()));
                made
            }
        }
    }

    fn master(&mut self, vevent: &Component<'_>) {
        let uid = self.uid(vevent);
        if self.index.contains_key(&uid) {
            self.warn(Some(&uid), EventProblem::DuplicateUid);
            return;
        }
        let when = match self.when(&uid, vevent) {
            Ok(w) => w,
            Err(problem) => return self.warn(Some(&uid), problem),
        };
        let text = |name| {
            find(vevent, name)
                .map(|p| p.val.as_str().to_owned())
                .unwrap_or_default()
        };
        let mut event = EventData::new(uid.clone(), text("SUMMARY"), when);
        event.location = text("LOCATION");
        event.notes = text("DESCRIPTION");
        event.colour = Some(text("COLOR").trim().to_owned()).filter(|c| !c.is_empty());
        for attendee in find_all(vevent, "ATTENDEE") {
            if let Some(who) = attendee_text(attendee) {
                event.attendees.insert(who);
            }
        }
        let mut rule_failed = false;
        if let Some(rrule) = find(vevent, "RRULE") {
            match Recurrence::parse_rrule(rrule.val.as_str(), when.zone().unwrap_or(Tz::UTC)) {
                Ok(rule) => event.recurrence = Some(until_as_date(rule, &when)),
                Err(e) => {
                    rule_failed = true;
                    self.warn(Some(&uid), EventProblem::Rule(e));
                }
            }
        }
        let rdates: Vec<_> = find_all(vevent, "RDATE").collect();
        if rule_failed && !rdates.is_empty() {
            self.warn(
                Some(&uid),
                EventProblem::Rule(RuleError::Unsupported(
                    "RDATE (extra dates) left out with the rule".into(),
                )),
            );
        } else if !rdates.is_empty() {
            let (extra, moved) = self.extra_dates(&uid, &when, &rdates);
            if !extra.is_empty() {
                let rule = match event.recurrence.take() {
                    Some(rule) => rule.with_extra(extra),
                    None => Recurrence::dates_only(extra),
                };
                event.recurrence = Some(rule);
                event.overrides.extend(moved);
            }
        }
        if event.recurrence.is_some() {
            let exdates: Vec<_> = find_all(vevent, "EXDATE").collect();
            for exdate in exdates {
                for time in self.times(&uid, exdate) {
                    match time.ok().and_then(|t| occurrence_key(&when, t)) {
                        Some(key) => {
                            event.cancelled.insert(key);
                        }
                        None => self.warn(
                            Some(&uid),
                            EventProblem::BadValue {
                                property: "EXDATE".into(),
                                value: exdate.val.as_str().to_owned(),
                            },
                        ),
                    }
                }
            }
        }
        self.index.insert(uid, self.events.len());
        self.events.push(event);
    }

    /// The extra occurrences RDATE names, and (for an RDATE period whose
    /// length is not the event's) the changed span of such an occurrence.
    fn extra_dates(
        &mut self,
        uid: &str,
        base: &When,
        rdates: &[&Property<'_>],
    ) -> (
        BTreeSet<OccurrenceKey>,
        BTreeMap<OccurrenceKey, OccurrenceOverride>,
    ) {
        let mut extra = BTreeSet::new();
        let mut moved = BTreeMap::new();
        for rdate in rdates {
            for value in self.periods(uid, rdate) {
                let Some((key, end)) = value
                    .ok()
                    .and_then(|(start, end)| Some((occurrence_key(base, start)?, end)))
                else {
                    self.warn(
                        Some(uid),
                        EventProblem::BadValue {
                            property: "RDATE".into(),
                            value: rdate.val.as_str().to_owned(),
                        },
                    );
                    continue;
                };
                if key == OccurrenceKey::of(base) {
                    continue;
                }
                if extra.len() == MAX_EXTRA_DATES {
                    self.warn(
                        Some(uid),
                        EventProblem::Rule(RuleError::Invalid(format!(
                            "more than {MAX_EXTRA_DATES} extra dates (RDATE); the rest left out"
                        ))),
                    );
                    break;
                }
                if let (Some(start), Some(end), Some(zone)) = (key.instant(), end, base.zone())
                    && let Ok(when) = When::timed(start, end, zone)
                    && Some(when) != crate::calendar::original_when(base, &key)
                {
                    let over = OccurrenceOverride {
                        when: Some(when),
                        ..OccurrenceOverride::default()
                    };
                    moved.insert(key.clone(), over);
                }
                extra.insert(key);
            }
        }
        (extra, moved)
    }

    /// A VEVENT with RECURRENCE-ID: one occurrence of a series, changed or
    /// cancelled.
    fn changed_occurrence(&mut self, vevent: &Component<'_>) {
        let uid = self.uid(vevent);
        let Some(&at) = self.index.get(&uid) else {
            return self.warn(Some(&uid), EventProblem::OrphanOccurrence);
        };
        let base = self.events[at].when;
        let Some(rule) = self.events[at].recurrence.clone() else {
            return self.warn(Some(&uid), EventProblem::OrphanOccurrence);
        };
        let Some(rid) = find(vevent, "RECURRENCE-ID") else {
            return;
        };
        let key = match self.time(&uid, rid) {
            Ok(t) => occurrence_key(&base, t),
            Err(problem) => return self.warn(Some(&uid), problem),
        };
        let Some(key) = key.filter(|k| rule.has_occurrence(&base, k)) else {
            return self.warn(
                Some(&uid),
                EventProblem::BadValue {
                    property: "RECURRENCE-ID".into(),
                    value: rid.val.as_str().to_owned(),
                },
            );
        };
        if find(vevent, "STATUS").is_some_and(|s| s.val.as_str().eq_ignore_ascii_case("CANCELLED"))
        {
            self.events[at].cancelled.insert(key);
            return;
        }
        let when = match self.when(&uid, vevent) {
            Ok(w) => Some(w),
            Err(EventProblem::NoStart) => None,
            Err(problem) => return self.warn(Some(&uid), problem),
        };
        let master = &self.events[at];
        let original = crate::calendar::original_when(&base, &key);
        let changed = |name: &str, series: &str| {
            find(vevent, name)
                .map(|p| p.val.as_str().to_owned())
                .filter(|v| v != series)
        };
        let over = OccurrenceOverride {
            title: changed("SUMMARY", &master.title),
            when: when.filter(|w| Some(*w) != original),
            location: changed("LOCATION", &master.location),
        };
        if !over.is_empty() {
            self.events[at].overrides.insert(key, over);
        }
    }
}

/// An UNTIL at the last second of a day in the event's zone (how a
/// date is written for a timed event) read back as that date.
fn until_as_date(mut rule: Recurrence, base: &When) -> Recurrence {
    if let (RecurrenceEnd::UntilInstant(t), Some(zone)) = (rule.end, base.zone()) {
        let next = (t + Duration::seconds(1))
            .with_timezone(&zone)
            .naive_local();
        if next.time() == NaiveTime::MIN
            && let Some(day) = next.date().pred_opt()
        {
            rule.end = RecurrenceEnd::UntilDate(day);
        }
    }
    rule
}

/// The key of the occurrence of a series starting with `base` that
/// RECURRENCE-ID or EXDATE `time` names.
fn occurrence_key(base: &When, time: Time) -> Option<OccurrenceKey> {
    match (time, base.zone()) {
        (Time::Instant(t, _), Some(_)) => Some(OccurrenceKey::from_instant(t)),
        (Time::Date(d), None) => Some(OccurrenceKey::from_date(d)),
        (Time::Instant(t, z), None) => {
            Some(OccurrenceKey::from_date(t.with_timezone(&z).date_naive()))
        }
        (Time::Date(d), Some(zone)) => {
            // A date naming an occurrence of a timed series: that day at
            // the series' time of day.
            let time = base.local_start(zone).time();
            resolve_local(zone, d.and_time(time)).map(OccurrenceKey::from_instant)
        }
    }
}

/// `Name <email>`, `email` or `Name` from an ATTENDEE property.
fn attendee_text(property: &Property<'_>) -> Option<String> {
    let value = property.val.as_str().trim();
    let mailto = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| value.get(7..));
    let address = if let Some(address) = mailto {
        Some(address.trim().to_owned())
    } else if value.eq_ignore_ascii_case("invalid:nomail") || value.is_empty() {
        None
    } else {
        Some(value.to_owned())
    }
    .filter(|a| !a.is_empty());
    let name = param(property, "CN")
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    match (name, address) {
        (Some(name), Some(address)) => Some(format!("{name} <{address}>")),
        (Some(name), None) => Some(name),
        (None, Some(address)) => Some(address),
        (None, None) => None,
    }
}

/// An RFC 5545 DURATION (`P1D`, `PT1H30M`, `P2W`, `-PT15M`).
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (negative, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let s = s.strip_prefix(['P', 'p'])?;
    let mut seconds: i64 = 0;
    let mut number: Option<i64> = None;
    let mut in_time = false;
    let mut any = false;
    for c in s.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && number.is_none() => in_time = true,
            d @ '0'..='9' => {
                let digit = i64::from(d.to_digit(10)?);
                number = Some(number.unwrap_or(0).checked_mul(10)?.checked_add(digit)?);
            }
            unit => {
                let n = number.take()?;
                let scale = match (unit, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                seconds = seconds.checked_add(n.checked_mul(scale)?)?;
                any = true;
            }
        }
    }
    if number.is_some() || !any {
        return None;
    }
    let d = Duration::try_seconds(seconds)?;
    Some(if negative { -d } else { d })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1D"), Some(Duration::days(1)));
        assert_eq!(parse_duration("P2W"), Some(Duration::days(14)));
        assert_eq!(parse_duration("-PT15M"), Some(Duration::minutes(-15)));
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::hours(26)));
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PT1",
            "P1H",
            "PT1D",
            "P99999999999999999999D",
            "PTT1H",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
