//! Repeating events: the part of RFC 5545 recurrence that calendars write
//! (RRULE with FREQ daily to yearly, INTERVAL, COUNT or UNTIL, BYDAY with
//! or without an ordinal, BYMONTHDAY, BYMONTH, BYSETPOS and WKST; plus
//! RDATE, extra occurrences) and its expansion into occurrences.
//!
//! A rule and its extra dates are ONE value (`Recurrence`), stored as one
//! register in its RRULE text form (`encode`), so the stored form and the
//! iCalendar form are the same language and a merge never pairs one
//! device's rule with another device's extra dates. Occurrences repeat at
//! the start's wall-clock time in the event's own zone (09:00 stays 09:00
//! across daylight-saving changes), as RFC 5545 specifies.
//!
//! Not supported (an import keeps such an event as a single one, with a
//! warning): FREQ below DAILY, BYHOUR, BYMINUTE, BYSECOND, BYYEARDAY,
//! BYWEEKNO, and RDATE of another kind than the start (a date for a timed
//! event).

mod expand;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};

use crate::error::RuleError;
use crate::occurrence::OccurrenceKey;
use crate::when::YEARS;

/// The largest `interval` accepted.
pub const MAX_INTERVAL: u32 = 1000;
/// The largest `COUNT` accepted.
pub const MAX_COUNT: u32 = 10_000;
/// The most extra dates (RDATE) one event may have.
pub const MAX_EXTRA_DATES: usize = 1000;

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
    /// This many occurrences, the first one included (cancelled ones count;
    /// extra dates do not).
    Count(u32),
    /// The last occurrence starts on this day (in the event's zone) or before.
    UntilDate(NaiveDate),
    /// The last occurrence starts at this instant or before.
    UntilInstant(DateTime<Utc>),
}

/// A numbered weekday (BYDAY with an ordinal): the `nth` `weekday` of the
/// month (or of the year, for a yearly rule without months). `nth` counts
/// from the start when positive (1 = first), from the end when negative
/// (-1 = last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NthWeekday {
    pub nth: i8,
    pub weekday: Weekday,
}

impl NthWeekday {
    pub fn new(nth: i8, weekday: Weekday) -> Self {
        NthWeekday { nth, weekday }
    }

    fn sort_key(self) -> (i8, u32) {
        (self.nth, self.weekday.num_days_from_monday())
    }
}

/// How an event repeats: an RRULE and its extra dates (RDATE).
///
/// Expansion follows RFC 5545 §3.3.10: for each period (day, week, month,
/// year, every `interval`), BYMONTH keeps (or, yearly, picks) months,
/// BYMONTHDAY and BYDAY pick days (monthly and yearly: BYDAY narrows
/// BYMONTHDAY when both are given; daily: both only narrow), BYSETPOS
/// picks among the period's days in order, and each day gets the start's
/// time of day. The start is always the first occurrence.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Recurrence {
    pub frequency: Frequency,
    /// Every `interval` days/weeks/months/years (1 = every one).
    pub interval: u32,
    pub end: RecurrenceEnd,
    /// BYDAY without an ordinal: the weekdays it happens on (weekly:
    /// empty means the start's weekday; monthly and yearly: every such
    /// weekday of the month or year; daily: only on these). Kept sorted
    /// Monday first, without duplicates.
    pub weekdays: Vec<Weekday>,
    /// BYDAY with an ordinal (monthly and yearly only): `2TU`, `-1FR`.
    /// Kept sorted, without duplicates.
    pub nth_weekdays: Vec<NthWeekday>,
    /// BYMONTHDAY: 1 to 31, or -31 to -1 counted from the month's end
    /// (-1 = the last day). Not on a weekly rule. Sorted, no duplicates.
    pub month_days: Vec<i8>,
    /// BYMONTH: 1 to 12. Sorted, no duplicates.
    pub months: Vec<u8>,
    /// BYSETPOS: which of a period's days count, 1 = the first, -1 = the
    /// last (1 to 366 either way). Only with another BY part. Sorted, no
    /// duplicates.
    pub set_positions: Vec<i16>,
    /// WKST: the first day of the week. It only changes anything for a
    /// weekly rule with BYDAY and an interval above 1 or BYSETPOS; it is
    /// kept as Monday otherwise.
    pub week_start: Weekday,
    /// RDATE: extra occurrences, named by their start like any occurrence
    /// (instants for a timed event, dates for an all-day one; keys of the
    /// other kind are passed over). Not bounded by `end`.
    pub extra: BTreeSet<OccurrenceKey>,
}

impl Recurrence {
    /// Every day/week/month/year, forever.
    pub fn new(frequency: Frequency) -> Self {
        Recurrence {
            frequency,
            interval: 1,
            end: RecurrenceEnd::Never,
            weekdays: Vec::new(),
            nth_weekdays: Vec::new(),
            month_days: Vec::new(),
            months: Vec::new(),
            set_positions: Vec::new(),
            week_start: Weekday::Mon,
            extra: BTreeSet::new(),
        }
    }

    /// Weekly on the given weekdays.
    pub fn weekly_on(weekdays: &[Weekday]) -> Self {
        let mut rule = Recurrence::new(Frequency::Weekly);
        rule.weekdays = weekdays.to_vec();
        rule.normalize();
        rule
    }

    /// Monthly on numbered weekdays (`(2, Tue)`: the second Tuesday).
    pub fn monthly_on_nth(days: &[(i8, Weekday)]) -> Self {
        let mut rule = Recurrence::new(Frequency::Monthly);
        rule.nth_weekdays = days.iter().map(|&(n, d)| NthWeekday::new(n, d)).collect();
        rule.normalize();
        rule
    }

    /// Monthly on days of the month (`-1`: the last day).
    pub fn monthly_on_days(days: &[i8]) -> Self {
        let mut rule = Recurrence::new(Frequency::Monthly);
        rule.month_days = days.to_vec();
        rule.normalize();
        rule
    }

    /// No rule, only the start and these extra starts (an event with RDATE
    /// and no RRULE). Stored as `FREQ=DAILY;COUNT=1` (which yields the
    /// start alone) with the dates.
    pub fn dates_only(extra: impl IntoIterator<Item = OccurrenceKey>) -> Self {
        Recurrence::new(Frequency::Daily)
            .with_end(RecurrenceEnd::Count(1))
            .with_extra(extra)
    }

    /// Does the rule itself add nothing to the start (only extra dates)?
    pub fn is_dates_only(&self) -> bool {
        let mut plain = Recurrence::new(Frequency::Daily).with_end(RecurrenceEnd::Count(1));
        plain.extra.clone_from(&self.extra);
        !self.extra.is_empty() && plain == self.normalized()
    }

    #[must_use]
    pub fn with_interval(mut self, interval: u32) -> Self {
        self.interval = interval;
        self.normalize();
        self
    }

    #[must_use]
    pub fn with_end(mut self, end: RecurrenceEnd) -> Self {
        self.end = end;
        self
    }

    /// The same rule on these weekdays (BYDAY without ordinals).
    #[must_use]
    pub fn with_weekdays(mut self, weekdays: &[Weekday]) -> Self {
        self.weekdays = weekdays.to_vec();
        self.normalize();
        self
    }

    #[must_use]
    pub fn with_months(mut self, months: &[u8]) -> Self {
        self.months = months.to_vec();
        self.normalize();
        self
    }

    #[must_use]
    pub fn with_set_positions(mut self, positions: &[i16]) -> Self {
        self.set_positions = positions.to_vec();
        self.normalize();
        self
    }

    /// The same rule with these extra starts (RDATE) added.
    #[must_use]
    pub fn with_extra(mut self, extra: impl IntoIterator<Item = OccurrenceKey>) -> Self {
        self.extra.extend(extra);
        self
    }

    /// The same rule in its one canonical form: lists sorted and without
    /// duplicates, WKST Monday where it changes nothing.
    #[must_use]
    pub fn normalized(&self) -> Recurrence {
        let mut rule = self.clone();
        rule.normalize();
        rule
    }

    fn normalize(&mut self) {
        self.weekdays.sort_by_key(Weekday::num_days_from_monday);
        self.weekdays.dedup();
        self.nth_weekdays.sort_by_key(|d| d.sort_key());
        self.nth_weekdays.dedup();
        self.month_days.sort_unstable();
        self.month_days.dedup();
        self.months.sort_unstable();
        self.months.dedup();
        self.set_positions.sort_unstable();
        self.set_positions.dedup();
        // Where weeks start matters only to a weekly rule with BYDAY that
        // skips weeks (a day may fall in the start's week or the next) or
        // picks by position within the week (BYSETPOS).
        let week_matters = self.frequency == Frequency::Weekly
            && !self.weekdays.is_empty()
            && (self.interval > 1 || !self.set_positions.is_empty());
        if !week_matters {
            self.week_start = Weekday::Mon;
        }
    }

    /// Checks the limits: interval and count in range, each BY part in
    /// range and on a frequency it is defined for, UNTIL and the extra
    /// dates in the supported years.
    pub fn validate(&self) -> Result<(), RuleError> {
        let invalid = |what: String| Err(RuleError::Invalid(what));
        if !(1..=MAX_INTERVAL).contains(&self.interval) {
            return invalid(format!("INTERVAL must be 1 to {MAX_INTERVAL}"));
        }
        if let RecurrenceEnd::Count(c) = self.end
            && !(1..=MAX_COUNT).contains(&c)
        {
            return invalid(format!("COUNT must be 1 to {MAX_COUNT}"));
        }
        let yearly = self.frequency == Frequency::Yearly;
        let monthly_or_yearly = yearly || self.frequency == Frequency::Monthly;
        for d in &self.nth_weekdays {
            if !monthly_or_yearly {
                return invalid(format!(
                    "BYDAY={}{} (a numbered weekday) on a {} rule",
                    d.nth,
                    text::weekday_code(d.weekday),
                    self.frequency.name()
                ));
            }
            let max = if yearly && self.months.is_empty() {
                53
            } else {
                5
            };
            if d.nth == 0 || d.nth.unsigned_abs() > max {
                return invalid(format!("BYDAY ordinal {} out of range", d.nth));
            }
        }
        if self.month_days.iter().any(|&d| d == 0 || d.abs() > 31) {
            return invalid("BYMONTHDAY must be 1 to 31 or -31 to -1".into());
        }
        if !self.month_days.is_empty() && self.frequency == Frequency::Weekly {
            return invalid("BYMONTHDAY on a weekly rule".into());
        }
        if self.months.iter().any(|&m| !(1..=12).contains(&m)) {
            return invalid("BYMONTH must be 1 to 12".into());
        }
        if self.set_positions.iter().any(|&p| p == 0 || p.abs() > 366) {
            return invalid("BYSETPOS must be 1 to 366 or -366 to -1".into());
        }
        if !self.set_positions.is_empty() && !self.has_by_parts() {
            return invalid("BYSETPOS without another BY part".into());
        }
        if self.extra.len() > MAX_EXTRA_DATES {
            return invalid(format!("more than {MAX_EXTRA_DATES} extra dates (RDATE)"));
        }
        let out_of_years = |year: i32| !YEARS.contains(&year);
        match self.end {
            RecurrenceEnd::UntilDate(d) if out_of_years(d.year()) => {
                invalid("UNTIL out of range".into())
            }
            RecurrenceEnd::UntilInstant(t) if out_of_years(t.year()) => {
                invalid("UNTIL out of range".into())
            }
            _ => Ok(()),
        }
    }

    fn has_by_parts(&self) -> bool {
        !(self.weekdays.is_empty()
            && self.nth_weekdays.is_empty()
            && self.month_days.is_empty()
            && self.months.is_empty())
    }
}
