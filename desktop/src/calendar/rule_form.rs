//! The event editor's repeat row without the window: a rule as typed
//! (frequency, interval, weekdays, how it ends), read into a `Recurrence`
//! only when applied.

use chrono::{Duration, NaiveDate, Weekday};
use concord_calendar::{Frequency, Recurrence, RecurrenceEnd};

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
}

impl RuleForm {
    /// The form showing `rule` of an event starting on `start` (which
    /// places the suggested last day when the rule has none).
    pub fn of(rule: Option<&Recurrence>, start: NaiveDate) -> Self {
        let mut form = RuleForm {
            frequency: rule.map(|r| r.frequency),
            interval: rule.map_or(1, |r| r.interval).to_string(),
            end: RepeatEnd::Never,
            count: "10".into(),
            until: (start + Duration::days(90)).format("%Y-%m-%d").to_string(),
            weekdays: [false; 7],
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
                    form.until = t.date_naive().format("%Y-%m-%d").to_string();
                }
            }
            for d in &rule.weekdays {
                form.weekdays[d.num_days_from_monday() as usize] = true;
            }
        }
        form
    }

    /// The rule the form says (`None`: does not repeat), or why it says
    /// none.
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
            RepeatEnd::OnDate => RecurrenceEnd::UntilDate(parse_date(&self.until)?),
            RepeatEnd::Never => RecurrenceEnd::Never,
        };
        let mut rule = Recurrence::new(frequency)
            .with_interval(interval)
            .with_end(end);
        if frequency == Frequency::Weekly {
            let days: Vec<Weekday> = WEEKDAYS
                .iter()
                .zip(self.weekdays)
                .filter(|(_, on)| *on)
                .map(|(d, _)| *d)
                .collect();
            rule = Recurrence::weekly_on(&days)
                .with_interval(interval)
                .with_end(end);
        }
        rule.validate().map_err(|e| e.to_string())?;
        Ok(Some(rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, d).unwrap()
    }

    #[test]
    fn a_rule_form_round_trips() {
        let start = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let rule = Recurrence::weekly_on(&[Weekday::Mon, Weekday::Thu])
            .with_interval(2)
            .with_end(RecurrenceEnd::Count(8));
        let form = RuleForm::of(Some(&rule), start);
        assert_eq!(form.rule(), Ok(Some(rule)));
        let none = RuleForm::of(None, start);
        assert_eq!(none.rule(), Ok(None));
        let mut bad = RuleForm::of(Some(&Recurrence::new(Frequency::Daily)), start);
        bad.interval = "x".into();
        assert!(bad.rule().is_err());
        bad.interval = "0".into();
        assert!(bad.rule().is_err(), "interval 0 is refused by the model");
    }

    #[test]
    fn a_rule_form_suggests_a_last_day_and_reads_an_until_date() {
        let mut form = RuleForm::of(Some(&Recurrence::new(Frequency::Monthly)), day(4));
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
}
