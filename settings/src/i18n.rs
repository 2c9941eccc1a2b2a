//! The project's gettext domain, shared by the service, the auth dialog and the
//! editor libraries. Libraries loaded into someone else's process only bind the
//! domain; they never call textdomain() or setlocale().

use std::sync::OnceLock;

pub const DOMAIN: &str = "NetworkManager-pptp-rs";

/// Where meson installed the catalogues (meson passes LOCALEDIR to cargo).
pub const LOCALEDIR: &str = match option_env!("LOCALEDIR") {
    Some(d) => d,
    None => "/usr/share/locale",
};

/// Binds the domain to LOCALEDIR, once per process.
pub fn bind() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = gettextrs::bindtextdomain(DOMAIN, LOCALEDIR);
        let _ = gettextrs::bind_textdomain_codeset(DOMAIN, "UTF-8");
    });
}

/// A message in the user's language, from our domain.
pub fn tr(msgid: &str) -> String {
    gettextrs::dgettext(DOMAIN, msgid)
}

/// `tr` with `{name}` placeholders filled in (translators may move them).
pub fn tr_fill(msgid: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut s = tr(msgid);
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), &value.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_filled_by_name() {
        assert_eq!(
            super::tr_fill(
                "invalid number for “{key}”: “{value}”",
                &[("value", &7), ("key", &"mtu")]
            ),
            "invalid number for “mtu”: “7”"
        );
    }
}
