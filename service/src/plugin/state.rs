//! NetworkManager's numbers for a VPN service's state and failures
//! (`NMVpnServiceState`, `NMVpnPluginFailure` in libnm's headers): D-Bus ABI.

/// `NMVpnServiceState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum State {
    Init = 1,
    Starting = 3,
    Started = 4,
    Stopping = 5,
    Stopped = 6,
}

impl State {
    pub fn code(self) -> u32 {
        self as u32
    }

    /// No connection attempt runs: a Connect may start one.
    pub fn is_idle(self) -> bool {
        matches!(self, State::Init | State::Stopped)
    }
}

/// `NMVpnPluginFailure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Failure {
    LoginFailed = 0,
    ConnectFailed = 1,
    BadIpConfig = 2,
}

impl Failure {
    pub fn code(self) -> u32 {
        self as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of libnm's `nm-vpn-dbus-interface.h`.
    #[test]
    fn numbers_are_libnms() {
        let states = [
            State::Init,
            State::Starting,
            State::Started,
            State::Stopping,
            State::Stopped,
        ];
        assert_eq!(states.map(State::code), [1, 3, 4, 5, 6]);
        let failures = [
            Failure::LoginFailed,
            Failure::ConnectFailed,
            Failure::BadIpConfig,
        ];
        assert_eq!(failures.map(Failure::code), [0, 1, 2]);
        assert_eq!(
            states.map(State::is_idle),
            [true, false, false, false, true]
        );
    }
}
