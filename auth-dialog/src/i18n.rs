//! Translations. The dialog is its own process, so it may set the locale and the
//! default text domain (a plugin loaded into someone else's process may not).

use gettextrs::{setlocale, textdomain, LocaleCategory};

use nm_pptp_settings::i18n::DOMAIN;

pub fn init() {
    // A missing catalogue or locale leaves the English strings, which is fine.
    // SAFETY: called once at start-up, before the dialog starts any thread (setlocale is not thread-safe).
    let _ = unsafe { setlocale(LocaleCategory::LcAll, "") };
    nm_pptp_settings::i18n::bind();
    let _ = textdomain(DOMAIN);
}

pub use gettextrs::gettext;
