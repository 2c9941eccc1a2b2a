//! A PPTP connection, defined once: the key table, the typed connection, its
//! NetworkManager `vpn.data`/`vpn.secrets` form, the pppd peers files users
//! already have, and the engine configuration it becomes. No GTK, no D-Bus, no
//! runtime.

pub mod connection;
pub mod error;
pub mod i18n;
pub mod key_values;
pub mod keys;
pub mod nm;
pub mod peers;
pub mod process;
pub mod profile;
pub mod secret_text;
pub mod words;

pub use connection::{Connection, MppeStrength};
