//! What a local edit did.

use crate::device_store::StoreError;

/// A local edit, applied: what the edit returned, and whether its change
/// reached the store. An `Err` in `saved` means the change is in the
/// document (and shows) but is not saved yet: the client retries saving,
/// and sends it only once saved.
#[derive(Debug)]
#[must_use = "an edit may be applied but not saved"]
pub struct Edited<R> {
    /// What the edit closure returned.
    pub value: R,
    /// Whether the store holds the change.
    pub saved: Result<(), StoreError>,
}

impl<R> Edited<R> {
    /// The closure's value if the change is saved, else the store's error.
    pub fn value_if_saved(self) -> Result<R, StoreError> {
        self.saved.map(|()| self.value)
    }
}
