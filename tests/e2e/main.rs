//! End-to-end tests: real relay processes on port 0, real websockets.

// Relay behaviour seen from raw sockets.
mod malformed;
mod tokens;
mod limits;
// Native clients through the relay.
mod converge;
mod offline;
mod crash;
mod faults;
