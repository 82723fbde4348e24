//! The event editor's repeat row without the window: a rule as typed
//! (frequency, interval, weekdays, how it ends), read into a `Recurrence`
//! only when applied.
//!
//! The row shows only part of what a rule can say; an imported rule may
//! have more (numbered weekdays like the 2nd Tuesday, days of the month,
//! months, BYSETPOS, WKST, extra dates). The form keeps the rule it was
//! filled from and edits only what it shows: "Apply repeat" writes that
//! rule with the shown parts changed, and the row says what else the rule
//! has (`RuleForm::also`), or what a change of frequency would drop
//! (`RuleForm::dropped`).

use chrono::{Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
use concord_calendar::{Frequency, OccurrenceKey, Recurrence, RecurrenceEnd};

use super::event_form::parse_date;

/// The week as the repeat row shows it.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The repeat choices, in menu order.
pub const FREQUENCIES: [Option<Frequency>; 5] = [
    None,
    Some(Frequency::Daily),
    Some(Frequency::Weekly),
    Some(Frequency::Monthly),
    Some(Frequency::Yearly),
];

/// What the repeat menu calls a choice.
pub fn frequency_name(frequency: Option<Frequency>) -> &'static str {
    match frequency {
        None => "Does not repeat",
        Some(Frequency::Daily) => "Daily",
        Some(Frequency::Weekly) => "Weekly",
        Some(Frequency::Monthly) => "Monthly",
        Some(Frequency::Yearly) => "Yearly",
    }
}

/// How a repeat ends, as the form offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepeatEnd {
    Never,
    /// After `RuleForm::count` occurrences.
    AfterCount,
    /// On `RuleForm::until`.
    OnDate,
}

/// The repeat row: a rule as typed, read only when applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleForm {
    pub frequency: Option<Frequency>,
    pub interval: String,
    pub end: RepeatEnd,
    pub count: String,
    pub until: String,
    /// Monday first, as `WEEKDAYS`.
    pub weekdays: [bool; 7],
    /// The rule the form was filled from: what the form does not show of
    /// it is kept when the form is applied.
    pub stored: Option<Recurrence>,
    /// The event's zone (the day an UNTIL instant falls on, and extra
    /// dates, are shown in it).
    zone: Tz,
}

impl RuleForm {
    /// The form showing `rule` of an event starting on `start` in `zone`
    /// (the start places the suggested last day when the rule has none).
    pub fn of(rule: Option<&Recurrence>, start: NaiveDate, zone: Tz) -> Self {
        let mut form = RuleForm {
            frequency: rule.map(|r| r.frequency),
            interval: rule.map_or(1, |r| r.interval).to_string(),
            end: RepeatEnd::Never,
            count: "10".into(),
            until: (start + Duration::days(90)).format("%Y-%m-%d").to_string(),
            weekdays: [false; 7],
            stored: rule.cloned(),
            zone,
        };
        if let Some(rule) = rule {
            match rule.end {
                RecurrenceEnd::Never => {}
                RecurrenceEnd::Count(c) => {
                    form.end = RepeatEnd::AfterCount;
                    form.count = c.to_string();
                }
                RecurrenceEnd::UntilDate(d) => {
                    form.end = RepeatEnd::OnDate;
                    form.until = d.format("%Y-%m-%d").to_string();
                }
                RecurrenceEnd::UntilInstant(t) => {
                    form.end = RepeatEnd::OnDate;
                    form.until = until_day(t, zone);
                }
            }
            for d in &rule.weekdays {
                form.weekdays[d.num_days_from_monday() as usize] = true;
            }
        }
        form
    }

    /// The stored rule, if the form still has its frequency: then every
    /// part the form does not show is kept.
    fn kept(&self) -> Option<&Recurrence> {
        self.stored
            .as_ref()
            .filter(|s| Some(s.frequency) == self.frequency)
    }

    /// The rule the form says (`None`: does not repeat), or why it says
    /// none. Of the stored rule, what the form does not show is kept (if
    /// the frequency changed, only the extra dates: the rest was written
    /// for the old frequency).
    pub fn rule(&self) -> Result<Option<Recurrence>, String> {
        let Some(frequency) = self.frequency else {
            return Ok(None);
        };
        let interval: u32 = self
            .interval
            .trim()
            .parse()
            .map_err(|_| "the interval must be a whole number".to_owned())?;
        let end = match self.end {
            RepeatEnd::AfterCount => RecurrenceEnd::Count(
                self.count
                    .trim()
                    .parse()
                    .map_err(|_| "the count must be a whole number".to_owned())?,
            ),
            // An UNTIL instant whose day is shown unchanged stays the
            // instant (a day would take in a later occurrence that day).
            RepeatEnd::OnDate => match self.stored.as_ref().map(|s| s.end) {
                Some(RecurrenceEnd::UntilInstant(t))
                    if until_day(t, self.zone) == self.until.trim() =>
                {
                    RecurrenceEnd::UntilInstant(t)
                }
                _ => RecurrenceEnd::UntilDate(parse_date(&self.until)?),
            },
            RepeatEnd::Never => RecurrenceEnd::Never,
        };
        let mut rule = match (self.kept(), &self.stored) {
            (Some(kept), _) => kept.clone(),
            (None, Some(other)) => {
                Recurrence::new(frequency).with_extra(other.extra.iter().cloned())
            }
            (None, None) => Recurrence::new(frequency),
        };
        rule.interval = interval;
        rule.end = end;
        if frequency == Frequency::Weekly {
            rule.weekdays = WEEKDAYS
                .iter()
                .zip(self.weekdays)
                .filter(|(_, on)| *on)
                .map(|(d, _)| *d)
                .collect();
        }
        let rule = rule.normalized();
        rule.validate().map_err(|e| e.to_string())?;
        Ok(Some(rule))
    }

    /// What the stored rule has beyond what the form shows, in words
    /// ("the 2nd Tuesday; 2 extra dates: …"), kept when the form is
    /// applied; `None` when the form shows all of it.
    pub fn also(&self) -> Option<String> {
        let stored = self.stored.as_ref()?;
        let mut parts = if self.kept().is_some() {
            unshown_parts(stored)
        } else {
            Vec::new()
        };
        if self.frequency.is_some() {
            parts.extend(extra_dates(stored, self.zone));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// What applying the form would drop of the stored rule because the
    /// frequency changed (the parts were written for the old one), in
    /// words; `None` if nothing.
    pub fn dropped(&self) -> Option<String> {
        let stored = self.stored.as_ref()?;
        if self.kept().is_some() {
            return None;
        }
        let mut parts = unshown_parts(stored);
        if self.frequency.is_none() {
            parts.extend(extra_dates(stored, self.zone));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// The stored rule as iCalendar text (RRULE, and RDATE for its extra
    /// dates), for whoever wants the exact rule.
    pub fn stored_text(&self) -> Option<String> {
        let stored = self.stored.as_ref()?;
        let mut text = format!("RRULE:{}", stored.to_rrule());
        if !stored.extra.is_empty() {
            let dates: Vec<&str> = stored.extra.iter().map(OccurrenceKey::as_str).collect();
            text.push_str("\nRDATE:");
            text.push_str(&dates.join(","));
        }
        Some(text)
    }
}

/// The day (in `zone`) an UNTIL instant falls on, as the form shows it.
fn until_day(t: chrono::DateTime<chrono::Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

/// The parts of `rule` the repeat row does not show (extra dates aside),
/// in words.
fn unshown_parts(rule: &Recurrence) -> Vec<String> {
    let rule = rule.normalized();
    let mut parts = Vec::new();
    if rule.frequency != Frequency::Weekly && !rule.weekdays.is_empty() {
        let days = names(rule.weekdays.iter().map(|d| weekday_name(*d).to_owned()));
        parts.push(if rule.frequency == Frequency::Daily {
            format!("only on {days}")
        } else {
            format!("every {days}")
        });
    }
    if !rule.nth_weekdays.is_empty() {
        let mut days: Vec<(i8, Weekday)> = rule
            .nth_weekdays
            .iter()
            .map(|d| (d.nth, d.weekday))
            .collect();
        days.sort_by_key(|&(nth, d)| (from_start_first(nth.into()), d.num_days_from_monday()));
        parts.push(format!(
            "the {}",
            names(days.iter().map(|&(nth, d)| format!(
                "{} {}",
                position(nth.into()),
                weekday_name(d)
            )))
        ));
    }
    if !rule.month_days.is_empty() {
        let mut days = rule.month_days.clone();
        days.sort_by_key(|&d| from_start_first(d.into()));
        parts.push(format!(
            "{} of the month",
            names(days.iter().map(|d| month_day(*d)))
        ));
    }
    if !rule.months.is_empty() {
        parts.push(format!(
            "in {}",
            names(rule.months.iter().map(|m| month_name(*m).to_owned()))
        ));
    }
    if !rule.set_positions.is_empty() {
        let mut positions = rule.set_positions.clone();
        positions.sort_by_key(|&p| from_start_first(p.into()));
        let period = match rule.frequency {
            Frequency::Daily => "day",
            Frequency::Weekly => "week",
            Frequency::Monthly => "month",
            Frequency::Yearly => "year",
        };
        parts.push(format!(
            "only the {} of those in each {period}",
            names(positions.iter().map(|p| position(i32::from(*p))))
        ));
    }
    if rule.week_start != Weekday::Mon {
        parts.push(format!("weeks start on {}", weekday_name(rule.week_start)));
    }
    parts
}

/// The rule's extra dates (RDATE), in words; none if it has none.
fn extra_dates(rule: &Recurrence, zone: Tz) -> Option<String> {
    const SHOWN: usize = 3;
    let n = rule.extra.len();
    if n == 0 {
        return None;
    }
    let mut shown: Vec<String> = rule
        .extra
        .iter()
        .take(SHOWN)
        .map(|key| match (key.date(), key.instant()) {
            (Some(day), _) => day.format("%Y-%m-%d").to_string(),
            (None, Some(t)) => t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
            (None, None) => key.to_string(),
        })
        .collect();
    if n > SHOWN {
        shown.push(format!("{} more", n - SHOWN));
    }
    let plural = if n == 1 { "" } else { "s" };
    Some(format!("{n} extra date{plural}: {}", shown.join(", ")))
}

/// "a", "a and b", "a, b and c".
fn names(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// 1st, 2nd, 3rd, 4th, 11th, 21st…
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Sorts positions as people count them: from the start (1st, 2nd…),
/// then from the end (2nd-to-last, last).
fn from_start_first(p: i32) -> (bool, i32) {
    (p < 0, p)
}

/// A position counted from the start (1 = "1st") or the end (-1 =
/// "last", -2 = "2nd-to-last").
fn position(p: i32) -> String {
    match p {
        -1 => "last".to_owned(),
        p if p < 0 => format!("{}-to-last", ordinal(p.unsigned_abs())),
        p => ordinal(p.unsigned_abs()),
    }
}

fn month_day(d: i8) -> String {
    if d > 0 {
        format!("day {d}")
    } else {
        format!("the {} day", position(i32::from(d)))
    }
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

fn month_name(m: u8) -> &'static str {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    MONTHS
        .get(usize::from(m).wrapping_sub(1))
        .copied()
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, d).unwrap()
    }

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn a_rule_form_round_trips() {
        let start = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let rule = Recurrence::weekly_on(&[Weekday::Mon, Weekday::Thu])
            .with_interval(2)
            .with_end(RecurrenceEnd::Count(8));
        let form = RuleForm::of(Some(&rule), start, Tz::UTC);
        assert_eq!(form.rule(), Ok(Some(rule)));
        assert_eq!(form.also(), None, "the row shows all of it");
        let none = RuleForm::of(None, start, Tz::UTC);
        assert_eq!(none.rule(), Ok(None));
        let mut bad = RuleForm::of(Some(&Recurrence::new(Frequency::Daily)), start, Tz::UTC);
        bad.interval = "x".into();
        assert!(bad.rule().is_err());
        bad.interval = "0".into();
        assert!(bad.rule().is_err(), "interval 0 is refused by the model");
    }

    #[test]
    fn a_rule_form_suggests_a_last_day_and_reads_an_until_date() {
        let mut form = RuleForm::of(Some(&Recurrence::new(Frequency::Monthly)), day(4), Tz::UTC);
        assert_eq!(form.end, RepeatEnd::Never);
        assert_eq!(form.until, "2026-08-02", "90 days after the start");
        form.end = RepeatEnd::OnDate;
        assert_eq!(
            form.rule(),
            Ok(Some(Recurrence::new(Frequency::Monthly).with_end(
                RecurrenceEnd::UntilDate(NaiveDate::from_ymd_opt(2026, 8, 2).unwrap())
            )))
        );
        form.end = RepeatEnd::AfterCount;
        form.count = "many".into();
        assert_eq!(form.rule(), Err("the count must be a whole number".into()));
        assert_eq!(frequency_name(FREQUENCIES[0]), "Does not repeat");
    }

    /// What Outlook writes for "the 2nd Tuesday and the last Friday of
    /// March and September, WKST=SU", with two extra dates.
    fn imported() -> Recurrence {
        let at = |d| {
            OccurrenceKey::from_instant(
                berlin()
                    .with_ymd_and_hms(2026, 5, d, 9, 0, 0)
                    .unwrap()
                    .to_utc(),
            )
        };
        Recurrence::monthly_on_nth(&[(2, Weekday::Tue), (-1, Weekday::Fri)])
            .with_months(&[3, 9])
            .with_set_positions(&[1, -1])
            .with_end(RecurrenceEnd::Count(6))
            .with_extra([at(12), at(20)])
    }

    #[test]
    fn applying_the_repeat_row_keeps_what_it_does_not_show() {
        let rule = imported();
        let mut form = RuleForm::of(Some(&rule), day(4), berlin());
        assert_eq!(form.rule(), Ok(Some(rule.clone())), "applied as shown");
        // The row shows frequency, interval and the end: change those.
        form.interval = "2".into();
        form.count = "4".into();
        let mut expected = rule.clone().with_interval(2);
        expected.end = RecurrenceEnd::Count(4);
        assert_eq!(form.rule(), Ok(Some(expected.normalized())));
        assert_eq!(
            form.also().as_deref(),
            Some(
                "the 2nd Tuesday and last Friday; in March and September; \
                 only the 1st and last of those in each month; \
                 2 extra dates: 2026-05-12 09:00, 2026-05-20 09:00"
            )
        );
        assert_eq!(form.dropped(), None);
        let text = form.stored_text().unwrap();
        assert!(
            text.starts_with(
                "RRULE:FREQ=MONTHLY;BYMONTH=3,9;BYDAY=-1FR,2TU;BYSETPOS=-1,1;COUNT=6\nRDATE:"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_new_frequency_drops_the_parts_written_for_the_old_one_and_says_so() {
        let rule = imported();
        let mut form = RuleForm::of(Some(&rule), day(4), berlin());
        form.frequency = Some(Frequency::Weekly);
        form.weekdays[1] = true;
        let applied = form.rule().unwrap().unwrap();
        assert_eq!(applied.frequency, Frequency::Weekly);
        assert_eq!(applied.weekdays, [Weekday::Tue]);
        assert!(applied.nth_weekdays.is_empty() && applied.months.is_empty());
        assert_eq!(applied.extra, rule.extra, "extra dates stay");
        assert_eq!(
            form.dropped().as_deref(),
            Some(
                "the 2nd Tuesday and last Friday; in March and September; \
                 only the 1st and last of those in each month"
            )
        );
        assert!(form.also().unwrap().starts_with("2 extra dates: "));
        // Does not repeat: everything goes, and the form says so.
        form.frequency = None;
        assert_eq!(form.rule(), Ok(None));
        assert!(form.dropped().unwrap().ends_with("2026-05-20 09:00"));
        assert_eq!(form.also(), None);
    }

    #[test]
    fn an_until_instant_stays_an_instant_unless_its_day_is_changed() {
        // Daily at 09:00 Berlin, until 08:00 Berlin on the 20th: the 20th's
        // occurrence is not in it; the day alone would take it in.
        let until = berlin()
            .with_ymd_and_hms(2026, 5, 20, 8, 0, 0)
            .unwrap()
            .to_utc();
        let rule = Recurrence::new(Frequency::Daily).with_end(RecurrenceEnd::UntilInstant(until));
        let mut form = RuleForm::of(Some(&rule), day(4), berlin());
        assert_eq!(form.until, "2026-05-20");
        assert_eq!(form.rule(), Ok(Some(rule)));
        form.until = "2026-05-22".into();
        assert_eq!(
            form.rule().unwrap().unwrap().end,
            RecurrenceEnd::UntilDate(day(22))
        );
    }

    #[test]
    fn rule_parts_read_as_words() {
        assert_eq!(
            [1, 2, 3, 4, 11, 12, 13, 21, 22, 53].map(ordinal),
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "53rd"
            ]
        );
        assert_eq!(
            unshown_parts(
                &Recurrence::monthly_on_days(&[1, 15, -1, -2]).with_weekdays(&[Weekday::Mon])
            ),
            [
                "every Monday",
                "day 1, day 15, the 2nd-to-last day and the last day of the month"
            ]
        );
        let mut daily =
            Recurrence::new(Frequency::Daily).with_weekdays(&[Weekday::Sat, Weekday::Sun]);
        assert_eq!(unshown_parts(&daily), ["only on Saturday and Sunday"]);
        daily = Recurrence::weekly_on(&[Weekday::Tue, Weekday::Sun]).with_interval(2);
        daily.week_start = Weekday::Sun;
        assert_eq!(unshown_parts(&daily), ["weeks start on Sunday"]);
    }
}
