//! A `Recurrence` as text: the RRULE value (what iCalendar files and the
//! stored form share) and the stored form of a rule with its extra dates.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;

use super::{Frequency, NthWeekday, Recurrence, RecurrenceEnd};
use crate::error::RuleError;
use crate::occurrence::OccurrenceKey;
use crate::when::{When, resolve_local};

/// Where the stored form's extra dates start.
const RDATE_LINE: &str = "\nRDATE:";

impl Recurrence {
    /// The canonical RRULE text of the rule (without its extra dates), e.g.
    /// `FREQ=MONTHLY;BYDAY=2TU;UNTIL=20261231`.
    pub fn to_rrule(&self) -> String {
        let until = match self.end {
            RecurrenceEnd::UntilDate(d) => Some(d.format("%Y%m%d").to_string()),
            RecurrenceEnd::UntilInstant(t) => Some(t.format("%Y%m%dT%H%M%SZ").to_string()),
            _ => None,
        };
        self.normalized().rrule_with_until(until.as_deref())
    }

    /// The RRULE for an iCalendar file describing an event that starts
    /// with `base`: RFC 5545 wants UNTIL in the form of DTSTART (a date for
    /// all-day events, a UTC instant for timed ones).
    pub fn to_ics_rrule(&self, base: &When) -> String {
        let until = match (self.end, base.zone()) {
            (RecurrenceEnd::UntilDate(d), None) => Some(d.format("%Y%m%d").to_string()),
            (RecurrenceEnd::UntilDate(d), Some(zone)) => {
                // The last instant of that day in the event's zone.
                let next = d.succ_opt().unwrap_or(d).and_time(NaiveTime::MIN);
                let end_of_day = resolve_local(zone, next).map(|t| t - Duration::seconds(1));
                end_of_day.map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
            }
            (RecurrenceEnd::UntilInstant(t), None) => Some(t.format("%Y%m%d").to_string()),
            (RecurrenceEnd::UntilInstant(t), Some(_)) => {
                Some(t.format("%Y%m%dT%H%M%SZ").to_string())
            }
            _ => None,
        };
        self.normalized().rrule_with_until(until.as_deref())
    }

    /// Parts in a fixed order; the rule is normalized.
    fn rrule_with_until(&self, until: Option<&str>) -> String {
        let list = |items: Vec<String>| items.join(",");
        let mut out = format!("FREQ={}", self.frequency.name());
        if self.interval != 1 {
            let _ = write!(out, ";INTERVAL={}", self.interval);
        }
        if !self.months.is_empty() {
            let months = self.months.iter().map(ToString::to_string).collect();
            let _ = write!(out, ";BYMONTH={}", list(months));
        }
        if !self.month_days.is_empty() {
            let days = self.month_days.iter().map(ToString::to_string).collect();
            let _ = write!(out, ";BYMONTHDAY={}", list(days));
        }
        if !self.weekdays.is_empty() || !self.nth_weekdays.is_empty() {
            let plain = self.weekdays.iter().map(|d| weekday_code(*d).to_owned());
            let numbered = self
                .nth_weekdays
                .iter()
                .map(|d| format!("{}{}", d.nth, weekday_code(d.weekday)));
            let _ = write!(out, ";BYDAY={}", list(plain.chain(numbered).collect()));
        }
        if !self.set_positions.is_empty() {
            let positions = self.set_positions.iter().map(ToString::to_string).collect();
            let _ = write!(out, ";BYSETPOS={}", list(positions));
        }
        if self.week_start != Weekday::Mon {
            let _ = write!(out, ";WKST={}", weekday_code(self.week_start));
        }
        if let RecurrenceEnd::Count(c) = self.end {
            let _ = write!(out, ";COUNT={c}");
        }
        if let Some(until) = until {
            let _ = write!(out, ";UNTIL={until}");
        }
        out
    }

    /// Reads an RRULE value (without the `RRULE:` name). A floating UNTIL
    /// (no `Z`) is read as wall-clock time in `zone`.
    pub fn parse_rrule(text: &str, zone: Tz) -> Result<Recurrence, RuleError> {
        let mut frequency = None;
        let mut rule = Recurrence::new(Frequency::Daily);
        let mut seen = BTreeSet::new();
        for part in text.trim().split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| RuleError::Invalid(format!("{part:?} is not NAME=VALUE")))?;
            let invalid = || RuleError::Invalid(format!("bad {name} {value:?}"));
            let name = name.to_ascii_uppercase();
            if !seen.insert(name.clone()) {
                return Err(RuleError::Invalid(format!("{name} given twice")));
            }
            match name.as_str() {
                "FREQ" => {
                    frequency = Some(match value.to_ascii_uppercase().as_str() {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        "YEARLY" => Frequency::Yearly,
                        "SECONDLY" | "MINUTELY" | "HOURLY" => {
                            return Err(RuleError::Unsupported(format!("FREQ={value}")));
                        }
                        _ => return Err(invalid()),
                    });
                }
                "INTERVAL" => rule.interval = value.parse().map_err(|_| invalid())?,
                "COUNT" | "UNTIL" if rule.end != RecurrenceEnd::Never => {
                    return Err(RuleError::Invalid("both COUNT and UNTIL".into()));
                }
                "COUNT" => rule.end = RecurrenceEnd::Count(value.parse().map_err(|_| invalid())?),
                "UNTIL" => rule.end = parse_until(value, zone).ok_or_else(invalid)?,
                "BYDAY" => {
                    for code in value.split(',') {
                        match parse_by_day(code.trim()).ok_or_else(invalid)? {
                            (None, day) => rule.weekdays.push(day),
                            (Some(nth), day) => rule.nth_weekdays.push(NthWeekday::new(nth, day)),
                        }
                    }
                }
                // Ranges are checked by `validate`.
                "BYMONTHDAY" => rule.month_days = numbers(value).ok_or_else(invalid)?,
                "BYMONTH" => rule.months = numbers(value).ok_or_else(invalid)?,
                "BYSETPOS" => rule.set_positions = numbers(value).ok_or_else(invalid)?,
                "WKST" => rule.week_start = parse_weekday(value).ok_or_else(invalid)?,
                other => {
                    return Err(RuleError::Unsupported(format!("{other}={value}")));
                }
            }
        }
        rule.frequency = frequency.ok_or_else(|| RuleError::Invalid("no FREQ".into()))?;
        rule.normalize();
        rule.validate()?;
        Ok(rule)
    }

    /// The stored form: the canonical RRULE, then, if there are extra
    /// dates, a line `RDATE:` with their keys in order. A rule without
    /// extra dates is stored exactly as before they existed.
    pub(crate) fn encode(&self) -> String {
        let mut out = self.to_rrule();
        if !self.extra.is_empty() {
            out.push_str(RDATE_LINE);
            let keys: Vec<&str> = self.extra.iter().map(OccurrenceKey::as_str).collect();
            out.push_str(&keys.join(","));
        }
        out
    }

    /// Reads a stored rule: only the canonical form is accepted.
    pub(crate) fn decode(text: &str) -> Option<Recurrence> {
        let (rrule, extra) = match text.split_once(RDATE_LINE) {
            Some((rrule, keys)) => (
                rrule,
                keys.split(',')
                    .map(OccurrenceKey::parse)
                    .collect::<Option<BTreeSet<_>>>()?,
            ),
            None => (text, BTreeSet::new()),
        };
        let mut rule = Recurrence::parse_rrule(rrule, Tz::UTC).ok()?;
        rule.extra = extra;
        rule.validate().ok()?;
        (rule.encode() == text).then_some(rule)
    }
}

pub(super) fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn parse_weekday(code: &str) -> Option<Weekday> {
    Some(match code.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// `MO`, `2TU`, `+1WE`, `-1FR`: the ordinal (if any) and the weekday.
fn parse_by_day(code: &str) -> Option<(Option<i8>, Weekday)> {
    let split = code.len().checked_sub(2)?;
    let (number, day) = (code.get(..split)?, code.get(split..)?);
    let day = parse_weekday(day)?;
    if number.is_empty() {
        return Some((None, day));
    }
    let digits = number.strip_prefix(['+', '-']).unwrap_or(number);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i8 = number.trim_start_matches('+').parse().ok()?;
    (n != 0 && n.abs() <= 53).then_some((Some(n), day))
}

/// A list of non-zero numbers that fit `T` (`-1,15`).
fn numbers<T: std::str::FromStr + PartialEq + Default>(value: &str) -> Option<Vec<T>> {
    value
        .split(',')
        .map(|v| v.trim().parse().ok().filter(|n| *n != T::default()))
        .collect()
}

fn parse_until(value: &str, zone: Tz) -> Option<RecurrenceEnd> {
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y%m%d") {
        return Some(RecurrenceEnd::UntilDate(d));
    }
    if let Some(utc) = value.strip_suffix('Z') {
        let t = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some(RecurrenceEnd::UntilInstant(t.and_utc()));
    }
    let local = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok()?;
    resolve_local(zone, local).map(RecurrenceEnd::UntilInstant)
}
