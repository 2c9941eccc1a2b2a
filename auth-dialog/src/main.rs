//! `nm-pptp-auth-dialog`: run by NetworkManager's secret agents (GNOME Shell,
//! nm-applet, `nmcli --ask`) to find a PPTP connection's password in the keyring
//! or to ask for it. It speaks libnma's auth-dialog protocol: the connection's
//! data and secrets on stdin, the answer on stdout, either as `key\nvalue\n`
//! pairs (nm-applet) or, with `--external-ui-mode`, as a keyfile describing
//! what the agent should ask (GNOME Shell, nmcli).
//!
//! Secrets travel only over stdin and stdout; they are never in argv, the
//! environment or a message, and every buffer holding one is wiped.

mod args;
mod i18n;
mod input;
mod keyfile;
mod keyring;
mod plan;
mod window;

use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use i18n::gettext;
use input::{Event, Lines};
use nm_pptp_settings::{keys, secret_text};
use zeroize::Zeroizing;

/// nm-applet answers `QUIT` at once; the C dialog also gave up after 20 s.
const QUIT_TIMEOUT: Duration = Duration::from_secs(20);

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("nm-pptp-auth-dialog: {message}");
    ExitCode::from(1)
}

fn debug_enabled() -> bool {
    std::env::var("G_MESSAGES_DEBUG")
        .map(|v| {
            v.split([',', ' '])
                .any(|d| d == "all" || d == "nm-pptp-auth-dialog")
        })
        .unwrap_or(false)
}

fn emit(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the answer failed: {e}"))
}

fn main() -> ExitCode {
    // The keyring's answer passes through here: a crash must not dump it.
    let _ = nm_pptp_settings::process::forbid_core_dumps();
    i18n::init();
    let args = match args::Args::try_parse() {
        Ok(a) => a,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(e.to_string().trim_start_matches("error: ").trim_end()),
    };
    let args = match args.check() {
        Ok(a) => a,
        Err(e) => return fail(e),
    };

    let mut lines = Lines::spawn(std::io::stdin());
    let details = match lines.read_details(input::READ_TIMEOUT) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let flags = match nm_pptp_settings::nm::password_flags(&details.data) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let request = plan::Request {
        flags,
        sent: details.secrets.get(keys::PASSWORD).map(|s| s.as_str()),
        allow_interaction: args.allow_interaction,
        // The plugin's own hint that the last password was refused (a plain
        // `password` hint comes with a first prompt too).
        reprompt: args.reprompt
            || args
                .requested
                .iter()
                .any(|h| h == nm_pptp_settings::nm::REFUSED_HINT),
    };
    let password = plan::decide(&request, || {
        match keyring::lookup(&args.uuid, keys::PASSWORD) {
            Ok(p) => Some(p),
            Err(miss) => {
                if debug_enabled() {
                    eprintln!("nm-pptp-auth-dialog: no saved password: {miss}");
                }
                None
            }
        }
    });
    drop(details);
    if let Some(refused) = password.as_ref().and_then(|p| p.refused.as_ref()) {
        // Before the agent shows anything: the user's new answer is then the
        // only password the keyring holds.
        if let Err(miss) = keyring::forget(&args.uuid, keys::PASSWORD, refused) {
            if debug_enabled() {
                eprintln!("nm-pptp-auth-dialog: the refused password was not forgotten: {miss}");
            }
        }
    }

    let title = gettext("Authenticate VPN");
    let description = args.message.clone().unwrap_or_else(|| {
        // Translators: {} is the VPN connection's name.
        gettext("You need to authenticate to access the Virtual Private Network “{}”.")
            .replacen("{}", &args.name, 1)
    });

    if args.external_ui_mode {
        let label = gettext("Password");
        let texts = keyfile::Texts {
            title: &title,
            description: &description,
            password_label: &label,
        };
        return match emit(&keyfile::render(&texts, password.as_ref())) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        };
    }

    let answer: Option<Zeroizing<String>> = match password {
        None => None,
        Some(p) if p.ask => {
            let lines = Rc::new(RefCell::new(lines));
            let watched = lines.clone();
            // nm-applet writes CANCEL when NetworkManager withdraws the request.
            let abort = move || {
                matches!(watched.borrow_mut().poll(),
                    Some(Event::Line(l)) if l.starts_with("CANCEL"))
            };
            let prefill = p.value.as_deref().map(String::as_str);
            match window::ask(&description, prefill, abort) {
                Ok(window::Outcome::Entered(v)) => {
                    return finish_classic(Some(v), &mut lines.borrow_mut());
                }
                Ok(window::Outcome::Cancelled) => return fail("cancelled by the user"),
                Err(e) => return fail(e),
            }
        }
        Some(plan::Password { value: Some(v), .. }) => Some(v),
        // Nothing known and nobody to ask: say nothing and let the agent decide.
        Some(_) => return ExitCode::SUCCESS,
    };
    finish_classic(answer, &mut lines)
}

/// The nm-applet answer: `password\n<value>\n`, a blank pair, then wait for QUIT.
fn finish_classic(value: Option<Zeroizing<String>>, lines: &mut Lines) -> ExitCode {
    let mut out = Zeroizing::new(String::new());
    if let Some(v) = value {
        for piece in [keys::PASSWORD, "\n", v.as_str(), "\n"] {
            secret_text::push_str(&mut out, piece);
        }
    }
    secret_text::push_str(&mut out, "\n\n");
    if let Err(e) = emit(&out) {
        return fail(e);
    }
    lines.wait_for_quit(QUIT_TIMEOUT);
    ExitCode::SUCCESS
}
