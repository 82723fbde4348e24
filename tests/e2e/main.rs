//! End-to-end tests: real relay processes on port 0, real websockets.

// Relay behaviour seen from raw sockets.
mod limits;
mod malformed;
mod sockets;
mod store;
mod tokens;
// Native clients through the relay.
mod calendar;
mod chaos;
mod converge;
mod crash;
mod faults;
mod hostile;
mod join_before_sync;
mod offline;
mod sync_once;
// The web demo in headless Chromium with native clients.
mod web;
mod web_calendar;
mod web_ime;
