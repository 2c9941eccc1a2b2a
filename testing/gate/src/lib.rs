//! Tests that need root, a bus daemon, gnome-keyring or a display run only
//! with `NM_PPTP_SYSTEM_TESTS=1` (README's test command sets it), so that
//! `cargo test --workspace` passes for any contributor; without it they say so
//! and pass.

/// Whether the system tests are on; when not, says on stderr what `needs`.
pub fn system_tests(needs: &str) -> bool {
    if std::env::var_os("NM_PPTP_SYSTEM_TESTS").is_some_and(|v| v == "1") {
        return true;
    }
    eprintln!("skipped: needs {needs}; set NM_PPTP_SYSTEM_TESTS=1 to run it");
    false
}
