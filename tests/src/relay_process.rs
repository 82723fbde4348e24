//! A relay as a real child process (owned by the relay work).
