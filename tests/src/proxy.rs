//! A websocket proxy that drops, duplicates and reorders messages (owned by the client work).
