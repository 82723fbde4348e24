//! The event editor window: what its repeat row keeps of a rule it cannot
//! show; the notes' caret riding on its characters; the date picker.

use concord_calendar::chrono::Weekday;
use concord_calendar::{CalendarTx, EventData, Frequency, Recurrence, RecurrenceEnd, When};
use concord_desktop::app::ConcordApp;
use concord_desktop::calendar::date_picker::{PickerMonth, day_name};
use concord_desktop::calendar::event_editor::field_id;
use concord_desktop::calendar::event_form::Field;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::calendar::{
    at, berlin, calendar_id, double_click, fill_field, harness, local, new_calendar, only_event,
};
use crate::support::{app, runtime};

#[test]
fn the_repeat_row_keeps_what_an_imported_rule_has_beyond_it() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);
    new_calendar(&mut h);
    let id = calendar_id(&h);
    // As imported: the 2nd Tuesday and the last Friday of each month, six
    // times; the series starts on the Tuesday shown.
    let rule = Recurrence::monthly_on_nth(&[(2, Weekday::Tue), (-1, Weekday::Fri)])
        .with_end(RecurrenceEnd::Count(6));
    let when = When::timed_local(at(&h, 1, 9, 0), at(&h, 1, 10, 0), berlin()).unwrap();
    let mut data = EventData::new("review@test", "Review", when);
    data.recurrence = Some(rule.clone());
    h.state()
        .client()
        .edit(&id, |tx| CalendarTx::open(tx).unwrap().add_event(&data))
        .unwrap()
        .value_if_saved()
        .unwrap()
        .unwrap();
    h.run_steps(2);

    let review = at(&h, 1, 9, 20);
    double_click(&mut h, review);
    assert_eq!(h.state().calendar().unwrap().editing(), Some("review@test"));
    assert!(
        h.query_by_label("also: the 2nd Tuesday and last Friday")
            .is_some(),
        "the row says what else the rule has"
    );
    // Every other month, from the row: the numbered weekdays stay.
    fill_field(&mut h, "every", "2");
    h.get_by_label("Apply repeat").click();
    h.run_steps(2);
    let applied = only_event(&h).data.recurrence.unwrap();
    assert_eq!(applied, rule.with_interval(2));

    // Weekly drops them, and the row says so before it is applied.
    h.get_by_label("Repeat").click();
    h.run_steps(2);
    h.get_by_label("Weekly").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Apply repeat drops what the rule had: the 2nd Tuesday")
            .is_some()
    );
    h.get_by_label("Apply repeat").click();
    h.run_steps(2);
    let weekly = only_event(&h).data.recurrence.unwrap();
    assert_eq!(weekly.frequency, Frequency::Weekly);
    assert!(weekly.nth_weekdays.is_empty());
}

/// The notes field's caret (primary end), in chars.
fn notes_caret(h: &Harness<'_, ConcordApp>) -> Option<usize> {
    let id = field_id(Field::Notes);
    let state = egui::TextEdit::load_state(&h.ctx, id)?;
    state.cursor.char_range().map(|r| r.primary.index.0)
}

#[test]
fn the_notes_caret_stays_on_its_characters_when_edits_arrive() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);
    new_calendar(&mut h);
    let id = calendar_id(&h);
    let when = When::timed_local(at(&h, 2, 9, 0), at(&h, 2, 10, 0), berlin()).unwrap();
    let mut data = EventData::new("retro@test", "Retro", when);
    data.notes = "Agenda".into();
    let edit = |h: &Harness<'_, ConcordApp>, f: &dyn Fn(&mut CalendarTx<'_, '_>)| {
        h.state()
            .client()
            .edit(&id, |tx| f(&mut CalendarTx::open(tx).unwrap()))
            .unwrap()
            .value_if_saved()
            .unwrap();
    };
    edit(&h, &|cal| cal.add_event(&data).unwrap());
    h.run_steps(2);
    let retro = at(&h, 2, 9, 20);
    double_click(&mut h, retro);

    // The caret after "Agenda", in the field being typed in.
    h.get_by_label("Notes").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    h.run_steps(2);
    assert_eq!(notes_caret(&h), Some(6));

    // Another device writes in front of it: the field shows it at once,
    // and the caret stays after "Agenda".
    edit(&h, &|cal| {
        cal.splice_notes("retro@test", 0, 0, "Team ").unwrap();
    });
    h.run_steps(2);
    assert!(h.query_all_by_value("Team Agenda").next().is_some());
    assert_eq!(
        notes_caret(&h),
        Some(11),
        "the caret moved with its characters"
    );
    h.get_by_label("Notes").type_text(": dates");
    h.run_steps(2);
    assert_eq!(only_event(&h).data.notes, "Team Agenda: dates");

    // And while typing: what arrives between two keys does not move the
    // rest of the typing.
    edit(&h, &|cal| {
        cal.splice_notes("retro@test", 0, 0, ">> ").unwrap();
    });
    h.get_by_label("Notes").type_text(" and rooms");
    h.run_steps(2);
    assert_eq!(only_event(&h).data.notes, ">> Team Agenda: dates and rooms");
    assert_eq!(notes_caret(&h), Some(31));
}

#[test]
fn a_date_picked_from_the_month_grid_moves_the_event() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);
    new_calendar(&mut h);
    let id = calendar_id(&h);
    // Wednesday 09:00–10:30.
    let (start, end) = (at(&h, 2, 9, 0), at(&h, 2, 10, 30));
    let when = When::timed_local(start, end, berlin()).unwrap();
    h.state()
        .client()
        .edit(&id, |tx| {
            CalendarTx::open(tx).unwrap().add_event(&EventData::new(
                "dentist@test",
                "Dentist",
                when,
            ))
        })
        .unwrap()
        .value_if_saved()
        .unwrap()
        .unwrap();
    h.run_steps(2);
    let dentist = at(&h, 2, 9, 20);
    double_click(&mut h, dentist);

    // The start: Friday of the same week; the event keeps its length.
    h.get_by_label("Pick the start date").click();
    h.run_steps(2);
    let friday = start.date() + chrono::Duration::days(2);
    h.get_by_label(&day_name(friday)).click();
    h.run_steps(2);
    assert_eq!(
        local(&only_event(&h).data.when),
        (friday.and_time(start.time()), friday.and_time(end.time()))
    );
    assert!(
        h.query_by_label(&day_name(friday)).is_none(),
        "the picker closed"
    );

    // The end: a day of the next month, paged to.
    h.get_by_label("Pick the end date").click();
    h.run_steps(2);
    h.get_by_label("Next month").click();
    h.run_steps(2);
    let later = PickerMonth::of(friday).next().weeks()[2][3];
    h.get_by_label(&day_name(later)).click();
    h.run_steps(2);
    assert_eq!(
        local(&only_event(&h).data.when),
        (friday.and_time(start.time()), later.and_time(end.time()))
    );
}
