//! Translations. The dialog is its own process, so it may set the locale and the
//! default text domain (a plugin loaded into someone else's process may not).

use gettextrs::{bind_textdomain_codeset, bindtextdomain, setlocale, textdomain, LocaleCategory};

/// The project's gettext domain, shared by the service, the dialog and the editor.
pub const DOMAIN: &str = "NetworkManager-pptp-rs";

/// Where meson installed the catalogues.
pub const LOCALEDIR: &str = match option_env!("LOCALEDIR") {
    Some(d) => d,
    None => "/usr/share/locale",
};

pub fn init() {
    // A missing catalogue or locale leaves the English strings, which is fine.
    let _ = unsafe { setlocale(LocaleCategory::LcAll, "") };
    let _ = bindtextdomain(DOMAIN, LOCALEDIR);
    let _ = bind_textdomain_codeset(DOMAIN, "UTF-8");
    let _ = textdomain(DOMAIN);
}

pub use gettextrs::gettext;
