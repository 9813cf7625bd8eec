//! Per-request logic.
