//! PPTP control connection (RFC 2637 §2, §3).

pub mod control;
pub mod message;
