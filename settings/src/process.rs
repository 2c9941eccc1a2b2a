//! Hardening for the processes that hold a password: the service, the auth
//! dialog and `pptp-client`.

/// No core dump of this process, and no ptrace or /proc/PID/mem access by
/// other users' processes: a crash must not write the password to disk.
pub fn forbid_core_dumps() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_is_no_longer_dumpable() {
        super::forbid_core_dumps().unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    }
}
