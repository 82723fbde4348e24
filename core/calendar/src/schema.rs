//! Where a calendar keeps things in its document: key names and the reads
//! that tolerate anything a replica may have written.
//!
//! ```text
//! root map
//! ├─ kind      "calendar"          (what tells a calendar from a note)
//! ├─ format    1
//! ├─ title     calendar name       (the same key as a note's title)
//! └─ events    map: UID → event map
//!      ├─ title, location, colour       strings (LWW)
//!      ├─ when      one string: start and end together (LWW, see `When`)
//!      ├─ rule      RRULE text, and if it has extra dates a second line
//!      │            `RDATE:<key>,<key>…` (one value: the rule and its
//!      │            dates merge as a whole; absent: does not repeat)
//!      ├─ deleted   bool; any concurrent `true` wins
//!      ├─ notes     text (collaborative)
//!      ├─ attendees set (add-wins)
//!      ├─ cancelled set of occurrence keys (add-wins)
//!      └─ overrides map: "<occurrence key>/<field>" → value, field one of
//!                   title, when, location
//! ```

use std::collections::BTreeSet;

use concord_core::{Document, ObjId, ObjType, ScalarValue, Value};

use crate::occurrence::OccurrenceKey;
use crate::when::When;

pub(crate) const KIND: &str = "kind";
pub(crate) const KIND_CALENDAR: &str = "calendar";
pub(crate) const FORMAT: &str = "format";
pub(crate) const FORMAT_VERSION: i64 = 1;
pub(crate) const NAME: &str = "title";
pub(crate) const EVENTS: &str = "events";

pub(crate) const TITLE: &str = "title";
pub(crate) const WHEN: &str = "when";
pub(crate) const LOCATION: &str = "location";
pub(crate) const COLOUR: &str = "colour";
pub(crate) const RULE: &str = "rule";
pub(crate) const DELETED: &str = "deleted";
pub(crate) const NOTES: &str = "notes";
pub(crate) const ATTENDEES: &str = "attendees";
pub(crate) const CANCELLED: &str = "cancelled";
pub(crate) const OVERRIDES: &str = "overrides";

/// The fields one occurrence can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Title,
    When,
    Location,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Title => TITLE,
            Field::When => WHEN,
            Field::Location => LOCATION,
        }
    }

    pub(crate) fn override_key(self, key: &OccurrenceKey) -> String {
        format!("{key}/{}", self.name())
    }

    pub(crate) fn parse_override_key(s: &str) -> Option<(OccurrenceKey, Field)> {
        let (key, field) = s.split_once('/')?;
        let field = match field {
            TITLE => Field::Title,
            WHEN => Field::When,
            LOCATION => Field::Location,
            _ => return None,
        };
        Some((OccurrenceKey::parse(key)?, field))
    }
}

/// The winning value of `key` if it is a string.
pub(crate) fn string(doc: &Document, obj: ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key) {
        Ok(Some(Value::Scalar(ScalarValue::Str(s)))) => Some(s.clone()),
        _ => None,
    }
}

/// The child object under `key` if it is of type `ty`.
pub(crate) fn child(doc: &Document, obj: ObjId, key: &str, ty: ObjType) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some(Value::Object(id, t))) if *t == ty => Some(*id),
        _ => None,
    }
}

/// Every distinct valid `When` under `key`, winner first. Values that are
/// not a valid `When` are passed over, so a bad value can hide nothing.
pub(crate) fn whens(doc: &Document, obj: ObjId, key: &str) -> Vec<When> {
    let mut out: Vec<When> = Vec::new();
    for entry in doc.get_all(obj, key).unwrap_or_default() {
        if let Value::Scalar(ScalarValue::Str(s)) = &entry.value
            && let Some(w) = When::decode(s)
            && !out.contains(&w)
        {
            out.push(w);
        }
    }
    out
}

/// Is any concurrent value of `key` the boolean `true`?
pub(crate) fn any_true(doc: &Document, obj: ObjId, key: &str) -> bool {
    doc.get_all(obj, key)
        .unwrap_or_default()
        .iter()
        .any(|e| e.value == Value::Scalar(ScalarValue::Bool(true)))
}

/// Every distinct child object of type `ty` among the concurrent values of
/// `key`, winner first. One, unless the document was written before
/// container ids were derived and two devices made the container at once:
/// then each is read, so none hides what was written into it.
pub(crate) fn children(doc: &Document, obj: ObjId, key: &str, ty: ObjType) -> Vec<ObjId> {
    let mut out: Vec<ObjId> = Vec::new();
    for entry in doc.get_all(obj, key).unwrap_or_default() {
        if let Value::Object(id, t) = entry.value
            && t == ty
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// The string members of the sets at `key` (every one `children` finds),
/// sorted and distinct.
pub(crate) fn set_strings<'d>(doc: &'d Document, obj: ObjId, key: &str) -> BTreeSet<&'d str> {
    children(doc, obj, key, ObjType::Set)
        .into_iter()
        .filter_map(|s| doc.set(s).ok())
        .flat_map(concord_core::OrSet::values)
        .filter_map(ScalarValue::as_str)
        .collect()
}
