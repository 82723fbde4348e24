//! A `Recurrence` expanded into occurrences: period by period, each
//! period's days picked by the BY parts, at the start's wall-clock time in
//! the event's zone; then the extra dates.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use chrono_tz::Tz;

use super::{Frequency, Recurrence, RecurrenceEnd};
use crate::calendar::original_when;
use crate::occurrence::OccurrenceKey;
use crate::when::{When, YEARS, resolve_local};

/// At most this many periods (days, weeks, months, years) are walked for
/// one expansion, however the rule and range are chosen.
const MAX_PERIODS: u64 = 200_000;

impl Recurrence {
    /// The original occurrences (before exceptions and changes) of an event
    /// that starts with `base`, whose start falls on a day in `from ..= to`
    /// (days in the event's zone; all-day events have none), in order, at
    /// most `limit` of them: the start, the rule's, and the extra dates.
    pub fn expand(&self, base: &When, from: NaiveDate, to: NaiveDate, limit: usize) -> Vec<When> {
        let mut out = self.expand_rule(base, from, to, limit);
        if self.extra.is_empty() || limit == 0 || self.validate().is_err() {
            return out;
        }
        let zone = base.zone();
        for key in &self.extra {
            if key
                .local_date(zone)
                .is_some_and(|day| (from..=to).contains(&day))
                && let Some(when) = original_when(base, key)
            {
                out.push(when);
            }
        }
        out.sort();
        out.dedup();
        out.truncate(limit);
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

    /// The start and the rule's occurrences, without the extra dates.
    fn expand_rule(&self, base: &When, from: NaiveDate, to: NaiveDate, limit: usize) -> Vec<When> {
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
        let mut empty_run = 0;
        for period in first..first.saturating_add(MAX_PERIODS) {
            if generated >= count || out.len() >= limit {
                break;
            }
            let Some((anchor, days)) = self.period(start.date(), period) else {
                break;
            };
            if anchor > to {
                break;
            }
            // A rule that has found nothing for this long finds nothing
            // ever (BYMONTH=2;BYMONTHDAY=30); the longest real gap, a
            // leap day, is far shorter.
            empty_run = if days.is_empty() { empty_run + 1 } else { 0 };
            if empty_run > self.frequency.max_empty_periods() {
                break;
            }
            for day in days {
                let local = day.and_time(start.time());
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

    /// Period `n` of a series starting on `start`: its first day, and the
    /// days of occurrences in it (sorted, BYSETPOS applied). `None` once
    /// out of the supported years.
    fn period(&self, start: NaiveDate, n: u64) -> Option<(NaiveDate, Vec<NaiveDate>)> {
        let step = i64::try_from(n)
            .ok()?
            .checked_mul(i64::from(self.interval))?;
        let (first, days) = match self.frequency {
            Frequency::Daily => {
                let day = start.checked_add_signed(Duration::try_days(step)?)?;
                let keep = self.in_months(day)
                    && self.on_month_day(day)
                    && (self.weekdays.is_empty() || self.weekdays.contains(&day.weekday()));
                (day, if keep { vec![day] } else { Vec::new() })
            }
            Frequency::Weekly => {
                let back = days_from(self.week_start, start.weekday());
                let week = start
                    .checked_sub_signed(Duration::days(back))?
                    .checked_add_signed(Duration::try_days(step.checked_mul(7)?)?)?;
                let weekdays: &[Weekday] = if self.weekdays.is_empty() {
                    &[start.weekday()]
                } else {
                    &self.weekdays
                };
                let mut days: Vec<NaiveDate> = weekdays
                    .iter()
                    .filter_map(|d| {
                        week.checked_add_signed(Duration::days(days_from(self.week_start, *d)))
                    })
                    .filter(|d| self.in_months(*d))
                    .collect();
                days.sort_unstable();
                days.dedup();
                (week, days)
            }
            Frequency::Monthly => {
                let index = month_index(start).checked_add(step)?;
                let year = i32::try_from(index.div_euclid(12)).ok()?;
                let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
                let first = NaiveDate::from_ymd_opt(year, month, 1)?;
                let last = NaiveDate::from_ymd_opt(year, month, days_in_month(year, month))?;
                let days = if self.in_months(first) {
                    self.days_between(first, last, start, true)
                } else {
                    Vec::new()
                };
                (first, days)
            }
            Frequency::Yearly => {
                let year = start.year().checked_add(i32::try_from(step).ok()?)?;
                let first = NaiveDate::from_ymd_opt(year, 1, 1)?;
                let last = NaiveDate::from_ymd_opt(year, 12, 31)?;
                let in_month = !self.months.is_empty();
                (first, self.days_between(first, last, start, in_month))
            }
        };
        if !YEARS.contains(&first.year()) {
            return None;
        }
        Some((first, self.set_positions_of(days)))
    }

    /// The days from `first` to `last` (a month or a year) a monthly or
    /// yearly rule picks: by BYMONTH, BYMONTHDAY and BYDAY, or without
    /// them the start's day of the month (and, yearly, its month).
    /// Numbered weekdays count within the month when `in_month`, else
    /// within `first ..= last`.
    fn days_between(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        start: NaiveDate,
        in_month: bool,
    ) -> Vec<NaiveDate> {
        let by_day = !(self.weekdays.is_empty() && self.nth_weekdays.is_empty());
        let by_month_day = !self.month_days.is_empty();
        let yearly_default = self.frequency == Frequency::Yearly && self.months.is_empty();
        first
            .iter_days()
            .take_while(|d| *d <= last)
            .filter(|d| self.in_months(*d))
            .filter(|d| {
                if by_day || by_month_day {
                    self.on_month_day(*d) && (!by_day || self.on_weekday(*d, first, last, in_month))
                } else {
                    d.day() == start.day() && (!yearly_default || d.month() == start.month())
                }
            })
            .collect()
    }

    fn in_months(&self, day: NaiveDate) -> bool {
        self.months.is_empty() || self.months.iter().any(|&m| u32::from(m) == day.month())
    }

    /// Is `day` one of BYMONTHDAY's (or is there none)?
    fn on_month_day(&self, day: NaiveDate) -> bool {
        if self.month_days.is_empty() {
            return true;
        }
        let length = i64::from(days_in_month(day.year(), day.month()));
        let d = i64::from(day.day());
        self.month_days
            .iter()
            .map(|&n| i64::from(n))
            .any(|n| n == d || (n < 0 && length + 1 + n == d))
    }

    /// Is `day` one of BYDAY's, numbered within its month (`in_month`) or
    /// within `first ..= last`?
    fn on_weekday(
        &self,
        day: NaiveDate,
        first: NaiveDate,
        last: NaiveDate,
        in_month: bool,
    ) -> bool {
        let weekday = day.weekday();
        if self.weekdays.contains(&weekday) {
            return true;
        }
        let (first, last) = if in_month {
            let (y, m) = (day.year(), day.month());
            (
                day.with_day(1).unwrap_or(first),
                NaiveDate::from_ymd_opt(y, m, days_in_month(y, m)).unwrap_or(last),
            )
        } else {
            (first, last)
        };
        let from_start = (day - first).num_days() / 7 + 1;
        let from_end = -((last - day).num_days() / 7 + 1);
        self.nth_weekdays.iter().any(|d| {
            d.weekday == weekday && (i64::from(d.nth) == from_start || i64::from(d.nth) == from_end)
        })
    }

    /// BYSETPOS: the `days` (sorted) at the given positions, in order.
    fn set_positions_of(&self, days: Vec<NaiveDate>) -> Vec<NaiveDate> {
        if self.set_positions.is_empty() {
            return days;
        }
        let len = i64::try_from(days.len()).unwrap_or(i64::MAX);
        let mut picked: Vec<NaiveDate> = self
            .set_positions
            .iter()
            .filter_map(|&p| {
                let index = if p > 0 {
                    i64::from(p) - 1
                } else {
                    len + i64::from(p)
                };
                usize::try_from(index)
                    .ok()
                    .and_then(|i| days.get(i))
                    .copied()
            })
            .collect();
        picked.sort_unstable();
        picked.dedup();
        picked
    }
}

impl Frequency {
    /// How many periods in a row may find nothing before a rule is taken
    /// to find nothing ever: each bound is a few times the longest gap a
    /// satisfiable rule has (a leap day: 8 years; a fifth weekday in
    /// February: 28 years).
    fn max_empty_periods(self) -> u32 {
        match self {
            Frequency::Daily | Frequency::Weekly => 20_000,
            Frequency::Monthly => 2_000,
            Frequency::Yearly => 400,
        }
    }
}

/// Days from `from` forward to the next `to` (0 to 6).
fn days_from(from: Weekday, to: Weekday) -> i64 {
    i64::from((to.num_days_from_monday() + 7 - from.num_days_from_monday()) % 7)
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|d| d.pred_opt()).map_or(31, |d| d.day())
}
