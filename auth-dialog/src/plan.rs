//! What the dialog answers, decided from the password flags, what the agent sent,
//! the keyring and the command line. No I/O here: the keyring is a closure.
//!
//! The flags come from `vpn.data` (`password-flags`), where NetworkManager keeps
//! them; the C dialog looked for them among the secrets, never found them, and so
//! ignored "ask every time" and "not required".

use nm_pptp_settings::nm::flags;
use zeroize::Zeroizing;

/// The facts the decision rests on.
pub struct Request<'a> {
    pub flags: u32,
    /// `vpn.secrets.password` as the agent sent it.
    pub sent: Option<&'a str>,
    pub allow_interaction: bool,
    /// `-r`, or the plugin naming the password in a hint: the last one failed.
    pub reprompt: bool,
}

/// The password entry of the answer.
#[derive(PartialEq, Eq)]
pub struct Password {
    /// The known value: sent by the agent or found in the keyring.
    pub value: Option<Zeroizing<String>>,
    /// The user must be asked (only ever with interaction allowed).
    pub ask: bool,
    /// Asked again because the server refused this saved (agent-owned)
    /// password: the keyring's copy is to be forgotten, so that a later
    /// connect asks instead of sending it again.
    pub refused: Option<Zeroizing<String>>,
}

/// Whether a value is known, never the value.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Password")
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("ask", &self.ask)
            .field("refused", &self.refused.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `None`: the connection needs no password, so the answer has none.
pub fn decide(
    req: &Request<'_>,
    keyring: impl FnOnce() -> Option<Zeroizing<String>>,
) -> Option<Password> {
    if req.flags & flags::NOT_REQUIRED != 0 {
        return None;
    }
    let not_saved = req.flags & flags::NOT_SAVED != 0;
    let value = if not_saved {
        None
    } else {
        req.sent
            .filter(|s| !s.is_empty())
            .map(|s| Zeroizing::new(s.to_string()))
            .or_else(keyring)
            .filter(|s| !s.is_empty())
    };
    let ask = req.allow_interaction && (not_saved || req.reprompt || value.is_none());
    // Asked again because the last one failed: the known value is the one the
    // server refused. Offered as the entry's text, it is what GNOME Shell's
    // prompt shows and what the user's typing would be appended to.
    let (value, refused) = if ask && req.reprompt {
        (None, value.filter(|_| req.flags == flags::AGENT_OWNED))
    } else {
        (value, None)
    };
    Some(Password {
        value,
        ask,
        refused,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_password() {
        let p = Password {
            value: Some(Zeroizing::new("hunter2".into())),
            ask: false,
            refused: Some(Zeroizing::new("hunter3".into())),
        };
        let d = format!("{p:?}");
        assert!(!d.contains("hunter3"), "{d}");
        assert!(!d.contains("hunter2") && d.contains("redacted"), "{d}");
    }

    use super::*;
    use std::cell::Cell;

    fn run(req: Request<'_>, saved: Option<&str>) -> (Option<Password>, bool) {
        let looked = Cell::new(false);
        let p = decide(&req, || {
            looked.set(true);
            saved.map(|s| Zeroizing::new(s.to_string()))
        });
        (p, looked.get())
    }

    fn req(flags: u32, sent: Option<&str>, i: bool, r: bool) -> Request<'_> {
        Request {
            flags,
            sent,
            allow_interaction: i,
            reprompt: r,
        }
    }

    fn pw(value: Option<&str>, ask: bool) -> Option<Password> {
        Some(Password {
            value: value.map(|v| Zeroizing::new(v.to_string())),
            ask,
            refused: None,
        })
    }

    #[test]
    fn saved_password_is_used_without_asking() {
        for f in [flags::NONE, flags::AGENT_OWNED] {
            assert_eq!(
                run(req(f, None, true, false), Some("k")),
                (pw(Some("k"), false), true)
            );
        }
    }

    #[test]
    fn sent_password_wins_and_skips_the_keyring() {
        assert_eq!(
            run(req(flags::NONE, Some("s"), true, false), Some("k")),
            (pw(Some("s"), false), false)
        );
    }

    #[test]
    fn nothing_found_asks_only_with_interaction() {
        assert_eq!(run(req(0, None, true, false), None), (pw(None, true), true));
        assert_eq!(
            run(req(0, None, false, false), None),
            (pw(None, false), true)
        );
        // An empty stored value is as good as none.
        assert_eq!(
            run(req(0, Some(""), true, false), Some("")),
            (pw(None, true), true)
        );
    }

    #[test]
    fn not_saved_never_reads_the_keyring_and_always_asks() {
        assert_eq!(
            run(req(flags::NOT_SAVED, Some("s"), true, false), Some("k")),
            (pw(None, true), false)
        );
        assert_eq!(
            run(req(flags::NOT_SAVED, None, false, false), Some("k")),
            (pw(None, false), false)
        );
    }

    #[test]
    fn not_required_has_no_password() {
        for f in [flags::NOT_REQUIRED, flags::NOT_REQUIRED | flags::NOT_SAVED] {
            assert_eq!(run(req(f, Some("s"), true, true), Some("k")), (None, false));
        }
    }

    #[test]
    fn reprompt_asks_with_an_empty_entry_and_forgets_the_refused_password() {
        // The refused password is not offered back to be typed after, and an
        // agent-owned one is to leave the keyring.
        for (sent, refused) in [(None, "k"), (Some("s"), "s")] {
            let mut want = pw(None, true);
            want.as_mut().unwrap().refused = Some(Zeroizing::new(refused.into()));
            assert_eq!(
                run(req(flags::AGENT_OWNED, sent, true, true), Some("k")),
                (want, sent.is_none())
            );
        }
        // Saved by NetworkManager (flags 0): the keyring is not its home.
        assert_eq!(
            run(req(flags::NONE, None, true, true), Some("k")),
            (pw(None, true), true)
        );
        // Without interaction, a reprompt cannot ask: the value is all there is.
        assert_eq!(
            run(req(flags::AGENT_OWNED, None, false, true), Some("k")),
            (pw(Some("k"), false), true)
        );
    }
}
