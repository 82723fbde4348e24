//! What a client reports to its UI: the device's events, on a broadcast
//! channel. A receiver that lags loses events, never state — read the
//! state again.

pub use concord_sync::{ConnectionStatus, DeviceEvent};
