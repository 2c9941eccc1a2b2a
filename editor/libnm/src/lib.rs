//! What the PPTP editor plugin needs from libnm, kept small and safe to use:
//! the two editor interfaces as glib types Rust objects can implement, the VPN
//! setting of a connection read into and written from plain Rust values, the
//! connection error domain, and a guard for every callback C makes into Rust.

pub mod connection;
pub mod editor;
pub mod error;
pub mod ffi;
pub mod plugin;

/// Runs a callback from C; a panic must not unwind into the host (GNOME
/// Settings, nmcli), so it becomes `fallback`.
pub fn guard<R>(fallback: impl FnOnce() -> R, f: impl FnOnce() -> R) -> R {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| fallback())
}
