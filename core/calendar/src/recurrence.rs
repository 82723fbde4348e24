//! Repeating events: a small subset of RFC 5545 RRULE (daily, weekly with
//! weekdays, monthly on the start's day, yearly on the start's date; an
//! interval; a count or an until) and its expansion into occurrences.
//!
//! The rule is stored as one value in its RRULE text form, so the stored
//! form and the iCalendar form are the same language. Occurrences repeat
//! at the start's wall-clock time in the event's own zone (09:00 stays
//! 09:00 across daylight-saving changes), as RFC 5545 specifies.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::error::RuleError;
use crate::occurrence::OccurrenceKey;
use crate::when::{When, YEARS, resolve_local};

/// The largest `interval` accepted.
pub const MAX_INTERVAL: u32 = 1000;
/// The largest `COUNT` accepted.
pub const MAX_COUNT: u32 = 10_000;
/// At most this many periods (days, weeks, months, years) are walked for
/// one expansion, however the rule and range are chosen.
const MAX_PERIODS: u64 = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Frequency {
    fn name(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
            Frequency::Yearly => "YEARLY",
        }
    }
}

/// When a series stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecurrenceEnd {
    Never,
    /// This many occurrences, the first one included (cancelled ones count).
    Count(u32),
    /// The last occurrence starts on this day (in the event's zone) or before.
    UntilDate(NaiveDate),
    /// The last occurrence starts at this instant or before.
    UntilInstant(DateTime<Utc>),
}

/// How an event repeats.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Recurrence {
    pub frequency: Frequency,
    /// Every `interval` days/weeks/months/years (1 = every one).
    pub interval: u32,
    pub end: RecurrenceEnd,
    /// Weekly only: the weekdays it happens on (empty: the start's weekday).
    /// Kept sorted Monday first, without duplicates.
    pub weekdays: Vec<Weekday>,
}

impl Recurrence {
    /// Every day/week/month/year, forever.
    pub fn new(frequency: Frequency) -> Self {
        Recurrence {
            frequency,
            interval: 1,
            end: RecurrenceEnd::Never,
            weekdays: Vec::new(),
        }
    }

    /// Weekly on the given weekdays.
    pub fn weekly_on(weekdays: &[Weekday]) -> Self {
        let mut rule = Recurrence::new(Frequency::Weekly);
        rule.weekdays = weekdays.to_vec();
        rule.normalize();
        rule
    }

    #[must_use]
    pub fn with_interval(mut self, interval: u32) -> Self {
        self.interval = interval;
        self
    }

    #[must_use]
    pub fn with_end(mut self, end: RecurrenceEnd) -> Self {
        self.end = end;
        self
    }

    fn normalize(&mut self) {
        self.weekdays.sort_by_key(Weekday::num_days_from_monday);
        self.weekdays.dedup();
    }

    /// Checks the limits: interval and count in range, weekdays only on a
    /// weekly rule.
    pub fn validate(&self) -> Result<(), RuleError> {
        if !(1..=MAX_INTERVAL).contains(&self.interval) {
            return Err(RuleError::Invalid(format!(
                "INTERVAL must be 1 to {MAX_INTERVAL}"
            )));
        }
        if let RecurrenceEnd::Count(c) = self.end
            && !(1..=MAX_COUNT).contains(&c)
        {
            return Err(RuleError::Invalid(format!(
                "COUNT must be 1 to {MAX_COUNT}"
            )));
        }
        if !self.weekdays.is_empty() && self.frequency != Frequency::Weekly {
            return Err(RuleError::Unsupported(
                "weekdays (BYDAY) on a rule that is not weekly".into(),
            ));
        }
        match self.end {
            RecurrenceEnd::UntilDate(d) if !YEARS.contains(&d.year()) => {
                Err(RuleError::Invalid("UNTIL out of range".into()))
            }
            RecurrenceEnd::UntilInstant(t) if !YEARS.contains(&t.year()) => {
                Err(RuleError::Invalid("UNTIL out of range".into()))
            }
            _ => Ok(()),
        }
    }

    /// The canonical RRULE text (what is stored), e.g.
    /// `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20260630`.
    pub fn to_rrule(&self) -> String {
        let until = match self.end {
            RecurrenceEnd::UntilDate(d) => Some(d.format("%Y%m%d").to_string()),
            RecurrenceEnd::UntilInstant(t) => Some(t.format("%Y%m%dT%H%M%SZ").to_string()),
            _ => None,
        };
        self.rrule_with_until(until.as_deref())
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
        self.rrule_with_until(until.as_deref())
    }

    fn rrule_with_until(&self, until: Option<&str>) -> String {
        let mut out = format!("FREQ={}", self.frequency.name());
        if self.interval != 1 {
            let _ = write!(out, ";INTERVAL={}", self.interval);
        }
        if !self.weekdays.is_empty() {
            let days: Vec<&str> = self.weekdays.iter().map(|d| weekday_code(*d)).collect();
            let _ = write!(out, ";BYDAY={}", days.join(","));
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
        let mut interval = 1;
        let mut end = RecurrenceEnd::Never;
        let mut weekdays = Vec::new();
        let mut week_start = Weekday::Mon;
        for part in text.trim().split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| RuleError::Invalid(format!("{part:?} is not NAME=VALUE")))?;
            let invalid = || RuleError::Invalid(format!("bad {name} {value:?}"));
            match name.to_ascii_uppercase().as_str() {
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
                "INTERVAL" => interval = value.parse().map_err(|_| invalid())?,
                "COUNT" => {
                    if end != RecurrenceEnd::Never {
                        return Err(RuleError::Invalid("both COUNT and UNTIL".into()));
                    }
                    end = RecurrenceEnd::Count(value.parse().map_err(|_| invalid())?);
                }
                "UNTIL" => {
                    if end != RecurrenceEnd::Never {
                        return Err(RuleError::Invalid("both COUNT and UNTIL".into()));
                    }
                    end = parse_until(value, zone).ok_or_else(invalid)?;
                }
                "BYDAY" => {
                    for code in value.split(',') {
                        weekdays.push(parse_weekday(code).ok_or_else(|| {
                            if code.len() > 2 {
                                RuleError::Unsupported(format!("BYDAY={code} (a numbered weekday)"))
                            } else {
                                invalid()
                            }
                        })?);
                    }
                }
                "WKST" => week_start = parse_weekday(value).ok_or_else(invalid)?,
                other => {
                    return Err(RuleError::Unsupported(format!("{other}={value}")));
                }
            }
        }
        let frequency = frequency.ok_or_else(|| RuleError::Invalid("no FREQ".into()))?;
        let mut rule = Recurrence {
            frequency,
            interval,
            end,
            weekdays,
        };
        rule.normalize();
        if week_start != Weekday::Mon && rule.interval > 1 && rule.weekdays.len() > 1 {
            return Err(RuleError::Unsupported(format!(
                "WKST={} with INTERVAL above 1",
                weekday_code(week_start)
            )));
        }
        rule.validate()?;
        Ok(rule)
    }

    /// Reads a stored rule: only the canonical form is accepted.
    pub(crate) fn decode(text: &str) -> Option<Recurrence> {
        let rule = Recurrence::parse_rrule(text, Tz::UTC).ok()?;
        (rule.to_rrule() == text).then_some(rule)
    }

    /// The original occurrences (before exceptions and changes) of an event
    /// that starts with `base`, whose start falls on a day in `from ..= to`
    /// (days in the event's zone; all-day events have none), in order, at
    /// most `limit` of them.
    pub fn expand(&self, base: &When, from: NaiveDate, to: NaiveDate, limit: usize) -> Vec<When> {
        let zone = base.zone();
        let start = base.local_start(zone.unwrap_or(Tz::UTC));
        let duration = base.duration();
        let make = |local: NaiveDateTime| -> Option<When> {
            if let Some(z) = zone {
                let s = resolve_local(z, local)?;
                When::timed(s, s.checked_add_signed(duration)?, z).ok()
            } else {
                let d = local.date();
                When::all_day(d, d.checked_add_signed(duration)?).ok()
            }
        };
        let past_end = |local: NaiveDateTime, when: &When| match self.end {
            RecurrenceEnd::UntilDate(d) => local.date() > d,
            RecurrenceEnd::UntilInstant(t) => match when.instants() {
                Some((s, _)) => s > t,
                None => local.date() > t.date_naive(),
            },
            RecurrenceEnd::Never | RecurrenceEnd::Count(_) => false,
        };
        let count = match self.end {
            RecurrenceEnd::Count(c) => u64::from(c),
            _ => u64::MAX,
        };
        let mut out = Vec::new();
        if self.validate().is_err() || limit == 0 {
            return out;
        }
        // The first occurrence is the event's start, whatever the rule says
        // (RFC 5545: DTSTART always counts as the first).
        let mut generated = 1;
        if (from..=to).contains(&start.date()) {
            out.push(*base);
        }
        let first = if count == u64::MAX {
            self.periods_before(start.date(), from)
        } else {
            0
        };
        for period in first..first.saturating_add(MAX_PERIODS) {
            if generated >= count || out.len() >= limit {
                break;
            }
            let Some((anchor, candidates)) = self.period(start, period) else {
                break;
            };
            if anchor > to {
                break;
            }
            for local in candidates {
                if local <= start {
                    continue;
                }
                let Some(when) = make(local) else {
                    return out;
                };
                if past_end(local, &when) || local.date() > to {
                    return out;
                }
                generated += 1;
                if local.date() >= from {
                    out.push(when);
                    if out.len() >= limit {
                        return out;
                    }
                }
                if generated >= count {
                    return out;
                }
            }
        }
        out
    }

    /// Is `key` an original occurrence of an event starting with `base`?
    pub fn has_occurrence(&self, base: &When, key: &OccurrenceKey) -> bool {
        let Some(day) = key.local_date(base.zone()) else {
            return false;
        };
        let (Some(from), Some(to)) = (day.pred_opt(), day.succ_opt()) else {
            return false;
        };
        self.expand(base, from, to, 16)
            .iter()
            .any(|w| OccurrenceKey::of(w) == *key)
    }

    /// A lower bound on the periods that end before `day`, so an expansion
    /// far from the start skips what cannot reach it.
    fn periods_before(&self, start: NaiveDate, day: NaiveDate) -> u64 {
        if day <= start {
            return 0;
        }
        let interval = i64::from(self.interval.max(1));
        let periods = match self.frequency {
            Frequency::Daily => (day - start).num_days() / interval,
            Frequency::Weekly => (day - start).num_days() / (7 * interval),
            Frequency::Monthly => (month_index(day) - month_index(start)) / interval,
            Frequency::Yearly => i64::from(day.year() - start.year()) / interval,
        };
        u64::try_from(periods - 1).unwrap_or(0)
    }

    /// Period `n` of the series: its first day, and the candidate starts
    /// in it (sorted). `None` once out of the supported years.
    fn period(&self, start: NaiveDateTime, n: u64) -> Option<(NaiveDate, Vec<NaiveDateTime>)> {
        let step = i64::try_from(n)
            .ok()?
            .checked_mul(i64::from(self.interval))?;
        let date = start.date();
        let time = start.time();
        let result = match self.frequency {
            Frequency::Daily => {
                let day = date.checked_add_signed(Duration::try_days(step)?)?;
                (day, vec![day.and_time(time)])
            }
            Frequency::Weekly => {
                let monday = date.checked_sub_signed(Duration::days(i64::from(
                    date.weekday().num_days_from_monday(),
                )))?;
                let week = monday.checked_add_signed(Duration::try_days(step.checked_mul(7)?)?)?;
                let days: &[Weekday] = if self.weekdays.is_empty() {
                    &[date.weekday()]
                } else {
                    &self.weekdays
                };
                let candidates = days
                    .iter()
                    .filter_map(|d| {
                        week.checked_add_signed(Duration::days(i64::from(d.num_days_from_monday())))
                    })
                    .map(|d| d.and_time(time))
                    .collect();
                (week, candidates)
            }
            Frequency::Monthly => {
                let index = month_index(date).checked_add(step)?;
                let year = i32::try_from(index.div_euclid(12)).ok()?;
                let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
                let first = NaiveDate::from_ymd_opt(year, month, 1)?;
                // A month without the day (the 31st in April) has no occurrence.
                let candidates = NaiveDate::from_ymd_opt(year, month, date.day())
                    .map(|d| d.and_time(time))
                    .into_iter()
                    .collect();
                (first, candidates)
            }
            Frequency::Yearly => {
                let year = date.year().checked_add(i32::try_from(step).ok()?)?;
                let first = NaiveDate::from_ymd_opt(year, 1, 1)?;
                let candidates = NaiveDate::from_ymd_opt(year, date.month(), date.day())
                    .map(|d| d.and_time(time))
                    .into_iter()
                    .collect();
                (first, candidates)
            }
        };
        YEARS.contains(&result.0.year()).then_some(result)
    }
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn weekday_code(d: Weekday) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn nine_to_ten(day: NaiveDate) -> When {
        When::timed_local(
            day.and_hms_opt(9, 0, 0).unwrap(),
            day.and_hms_opt(10, 0, 0).unwrap(),
            berlin(),
        )
        .unwrap()
    }

    fn local_days(whens: &[When]) -> Vec<String> {
        whens
            .iter()
            .map(|w| w.local_start(berlin()).format("%a %d.%m %H:%M").to_string())
            .collect()
    }

    #[test]
    fn rrule_text_round_trips_in_canonical_form() {
        for text in [
            "FREQ=DAILY",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;COUNT=10",
            "FREQ=MONTHLY;UNTIL=20261231",
            "FREQ=YEARLY;UNTIL=20301231T230000Z",
        ] {
            let rule = Recurrence::parse_rrule(text, Tz::UTC).unwrap();
            assert_eq!(rule.to_rrule(), text);
            assert_eq!(Recurrence::decode(text), Some(rule));
        }
        // Accepted, but not canonical: not a stored form.
        let loose = "freq=weekly;byday=FR,MO;INTERVAL=1;WKST=MO";
        let rule = Recurrence::parse_rrule(loose, Tz::UTC).unwrap();
        assert_eq!(rule.to_rrule(), "FREQ=WEEKLY;BYDAY=MO,FR");
        assert_eq!(Recurrence::decode(loose), None);
    }

    #[test]
    fn unsupported_and_invalid_rules_are_typed_errors() {
        for (text, unsupported) in [
            ("FREQ=HOURLY", true),
            ("FREQ=MONTHLY;BYDAY=2TU", true),
            ("FREQ=MONTHLY;BYMONTHDAY=15", true),
            ("FREQ=DAILY;BYDAY=MO", true),
            ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU", true),
            ("", false),
            ("FREQ=FORTNIGHTLY", false),
            ("FREQ=DAILY;INTERVAL=0", false),
            ("FREQ=DAILY;INTERVAL=-1", false),
            ("FREQ=DAILY;COUNT=3;UNTIL=20260101", false),
            ("FREQ=DAILY;COUNT=99999999999", false),
            ("FREQ=DAILY;UNTIL=tomorrow", false),
            ("FREQ", false),
        ] {
            let err = Recurrence::parse_rrule(text, Tz::UTC).unwrap_err();
            assert_eq!(
                matches!(err, RuleError::Unsupported(_)),
                unsupported,
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn weekdays_every_other_week_with_a_count() {
        // Monday 4 May 2026.
        let base = nine_to_ten(date(2026, 5, 4));
        let rule = Recurrence::weekly_on(&[Weekday::Mon, Weekday::Thu])
            .with_interval(2)
            .with_end(RecurrenceEnd::Count(5));
        let all = rule.expand(&base, date(2026, 1, 1), date(2026, 12, 31), 100);
        assert_eq!(
            local_days(&all),
            [
                "Mon 04.05 09:00",
                "Thu 07.05 09:00",
                "Mon 18.05 09:00",
                "Thu 21.05 09:00",
                "Mon 01.06 09:00"
            ]
        );
        // A window in the middle counts from the start all the same.
        let mid = rule.expand(&base, date(2026, 5, 20), date(2026, 12, 31), 100);
        assert_eq!(local_days(&mid), ["Thu 21.05 09:00", "Mon 01.06 09:00"]);
    }

    #[test]
    fn daily_keeps_wall_clock_time_across_dst_and_stops_at_until() {
        let base = nine_to_ten(date(2026, 3, 27));
        let rule =
            Recurrence::new(Frequency::Daily).with_end(RecurrenceEnd::UntilDate(date(2026, 3, 30)));
        let all = rule.expand(&base, date(2026, 3, 1), date(2026, 4, 30), 100);
        assert_eq!(
            local_days(&all),
            [
                "Fri 27.03 09:00",
                "Sat 28.03 09:00",
                "Sun 29.03 09:00",
                "Mon 30.03 09:00"
            ]
        );
        let utc: Vec<_> = all
            .iter()
            .map(|w| w.instants().unwrap().0.format("%H").to_string())
            .collect();
        assert_eq!(utc, ["08", "08", "07", "07"], "CET then CEST");
    }

    #[test]
    fn monthly_on_the_31st_skips_short_months_and_far_windows_are_cheap() {
        let base = nine_to_ten(date(2026, 1, 31));
        let rule = Recurrence::new(Frequency::Monthly);
        let all = rule.expand(&base, date(2026, 1, 1), date(2026, 8, 31), 100);
        assert_eq!(
            local_days(&all),
            [
                "Sat 31.01 09:00",
                "Tue 31.03 09:00",
                "Sun 31.05 09:00",
                "Fri 31.07 09:00",
                "Mon 31.08 09:00"
            ]
        );
        let daily = Recurrence::new(Frequency::Daily);
        let far = daily.expand(&base, date(9000, 1, 1), date(9000, 1, 3), 100);
        assert_eq!(far.len(), 3);
        // The very end of the supported years ends a series quietly.
        let end = daily.expand(&base, date(9999, 12, 30), date(9999, 12, 31), 100);
        assert_eq!(end.len(), 2);
        let two_days = When::all_day(date(2026, 1, 1), date(2026, 1, 3)).unwrap();
        let end = daily.expand(&two_days, date(9999, 12, 29), date(9999, 12, 31), 100);
        assert_eq!(end.len(), 1, "the next would end in the year 10000");
    }

    #[test]
    fn occurrences_are_recognised_by_their_original_start() {
        let base = nine_to_ten(date(2026, 5, 4));
        let rule = Recurrence::weekly_on(&[Weekday::Mon, Weekday::Wed]);
        let wed = nine_to_ten(date(2026, 5, 13));
        assert!(rule.has_occurrence(&base, &OccurrenceKey::of(&wed)));
        let tue = nine_to_ten(date(2026, 5, 12));
        assert!(!rule.has_occurrence(&base, &OccurrenceKey::of(&tue)));
        let before = nine_to_ten(date(2026, 4, 29));
        assert!(!rule.has_occurrence(&base, &OccurrenceKey::of(&before)));
    }
}
