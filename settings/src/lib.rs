//! Settings for a PPTP connection: the pppd peers-file format users already have,
//! and its mapping onto the engine's configuration.

pub mod i18n;
pub mod nm;
pub mod peers;
pub mod words;
