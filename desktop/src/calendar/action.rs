//! What the views ask for: they only draw and hit-test, and return these;
//! `CalendarView` carries them out against the document after drawing.

use chrono::{NaiveDate, NaiveDateTime};
use concord_calendar::{Occurrence, OccurrenceKey, Scope, When};

/// One occurrence as the views name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OccRef {
    pub uid: String,
    /// `Series` for an event that does not repeat.
    pub scope: Scope,
    pub key: OccurrenceKey,
    /// Its time now (after changes to this occurrence).
    pub when: When,
    pub recurring: bool,
    pub title: String,
}

impl OccRef {
    pub fn of(o: &Occurrence) -> Self {
        OccRef {
            uid: o.uid.clone(),
            scope: o.scope.clone(),
            key: o.key.clone(),
            when: o.when,
            recurring: o.recurring,
            title: o.title.clone(),
        }
    }

    /// The same occurrence (whatever its time now).
    pub fn is(&self, o: &Occurrence) -> bool {
        self.uid == o.uid && self.key == o.key
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A new timed event, wall-clock times in the view's zone.
    Create {
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
    /// A new all-day event over `[first, end)`.
    CreateAllDay {
        first: NaiveDate,
        end: NaiveDate,
    },
    /// An occurrence dragged to `[start, end)` (view's zone).
    Retime {
        target: OccRef,
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
    Select(OccRef),
    /// Opens the editor.
    Open(OccRef),
    /// Opens the pick-a-time window of a conflict.
    PickConflict(OccRef),
    /// Shows the week of a day.
    ShowWeek(NaiveDate),
}

/// What a click on an occurrence's shape asks for: select it; a double click
/// opens it too.
pub fn clicks(response: &egui::Response, o: &Occurrence, actions: &mut Vec<Action>) {
    if response.clicked() {
        actions.push(Action::Select(OccRef::of(o)));
    }
    if response.double_clicked() {
        actions.push(Action::Open(OccRef::of(o)));
    }
}
