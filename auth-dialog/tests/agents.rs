//! The dialog as GNOME Shell, nmcli and nm-applet run it, against a real
//! gnome-keyring on a private session bus. No display: any attempt to show a
//! window here would fail the test.

mod common;

use std::time::Duration;

use common::*;

fn flags(f: &str) -> Vec<u8> {
    request(&[("gateway", "198.18.0.2"), ("password-flags", f)], &[])
}

fn password_group(stdout: &str) -> Option<String> {
    stdout.find("[password]").map(|i| stdout[i..].to_string())
}

fn keyring_with_saved() -> Session {
    let mut s = Session::start();
    s.start_keyring();
    s.store(UUID, SAVED);
    s.store("another-connection", "not this one");
    s
}

#[test]
fn saved_password_is_found_without_asking() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = keyring_with_saved();
    for f in ["0", "1"] {
        let r = s.run_dialog(&agent_args(&["--external-ui-mode", "-i"]), &flags(f), &[]);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        assert!(
            r.stdout.starts_with(
                "[VPN Plugin UI]\nVersion=2\nTitle=Authenticate VPN\nDescription=You need to \
                 authenticate to access the Virtual Private Network “PAL office”.\n"
            ),
            "{}",
            r.stdout
        );
        assert_eq!(
            password_group(&r.stdout).unwrap(),
            format!("[password]\nValue={SAVED}\nLabel=Password\nIsSecret=true\nShouldAsk=false\n")
        );
    }
    // nm-applet's classic mode: the pair, two blank lines, then it waits for QUIT.
    let mut input = flags("1");
    input.extend_from_slice(b"QUIT\n");
    let r = s.run_dialog(&agent_args(&["-i"]), &input, &[]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, format!("password\n{SAVED}\n\n\n"));
    assert!(r.elapsed < Duration::from_secs(10));
}

#[test]
fn password_sent_by_the_agent_is_used() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = keyring_with_saved();
    let input = request(&[("password-flags", "0")], &[("password", "from NM")]);
    let r = s.run_dialog(&agent_args(&["--external-ui-mode", "-i"]), &input, &[]);
    assert!(r.stdout.contains("\nValue=from NM\n"), "{}", r.stdout);
    assert!(r.stdout.contains("ShouldAsk=false"));
}

#[test]
fn nothing_saved_asks() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let mut s = Session::start();
    s.start_keyring();
    s.store("another-connection", "not this one");
    let r = s.run_dialog(&agent_args(&["--external-ui-mode", "-i"]), &flags("1"), &[]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(
        password_group(&r.stdout).unwrap(),
        "[password]\nValue=\nLabel=Password\nIsSecret=true\nShouldAsk=true\n"
    );
    // Without -i nobody may be asked: external mode says so, classic mode says nothing.
    let r = s.run_dialog(&agent_args(&["--external-ui-mode"]), &flags("1"), &[]);
    assert!(r.stdout.contains("\nValue=\n") && r.stdout.contains("ShouldAsk=false"));
    let r = s.run_dialog(&agent_args(&[]), &flags("1"), &[]);
    assert_eq!((r.status, r.stdout.as_str()), (Some(0), ""), "{}", r.stderr);
}

#[test]
fn not_saved_ignores_the_keyring() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = keyring_with_saved();
    let input = request(&[("password-flags", "2")], &[("password", "stale")]);
    let r = s.run_dialog(&agent_args(&["--external-ui-mode", "-i"]), &input, &[]);
    assert_eq!(
        password_group(&r.stdout).unwrap(),
        "[password]\nValue=\nLabel=Password\nIsSecret=true\nShouldAsk=true\n"
    );
    assert!(!r.stdout.contains(SAVED) && !r.stdout.contains("stale"));
}

#[test]
fn not_required_has_no_password() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = keyring_with_saved();
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i", "-r"]),
        &flags("4"),
        &[],
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with("[VPN Plugin UI]\n"));
    assert_eq!(password_group(&r.stdout), None, "{}", r.stdout);
    let mut input = flags("4");
    input.extend_from_slice(b"QUIT\n");
    let r = s.run_dialog(&agent_args(&["-i"]), &input, &[]);
    assert_eq!((r.status, r.stdout.as_str()), (Some(0), "\n\n"));
}

#[test]
fn reprompt_asks_with_an_empty_entry_and_forgets_the_refused_password() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    // Saved by NetworkManager (flags 0): asked again, the keyring left alone.
    let s = keyring_with_saved();
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i", "-r"]),
        &flags("0"),
        &[],
    );
    let asked = "[password]\nValue=\nLabel=Password\nIsSecret=true\nShouldAsk=true\n";
    assert_eq!(password_group(&r.stdout).unwrap(), asked);
    assert_eq!(s.lookup(UUID).as_deref(), Some(SAVED));
    // Agent-owned: the refused password leaves the keyring (the next connect
    // asks instead of sending it again); the other connection's item stays.
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i", "-r"]),
        &flags("1"),
        &[],
    );
    assert_eq!(password_group(&r.stdout).unwrap(), asked);
    assert!(!r.stdout.contains(SAVED) && !r.stderr.contains(SAVED));
    assert_eq!(s.lookup(UUID), None, "the refused password is still saved");
    assert_eq!(
        s.lookup("another-connection").as_deref(),
        Some("not this one")
    );
    // One the user changed meanwhile is not the refused one: it stays.
    s.store(UUID, "changed meanwhile");
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i", "-r"]),
        &request(
            &[("gateway", "198.18.0.2"), ("password-flags", "1")],
            &[("password", SAVED)],
        ),
        &[],
    );
    assert_eq!(password_group(&r.stdout).unwrap(), asked);
    assert_eq!(s.lookup(UUID).as_deref(), Some("changed meanwhile"));
    // Without interaction nothing is asked, so nothing is forgotten.
    let r = s.run_dialog(&agent_args(&["--external-ui-mode", "-r"]), &flags("1"), &[]);
    assert!(r.stdout.contains("ShouldAsk=false"), "{}", r.stdout);
    assert_eq!(s.lookup(UUID).as_deref(), Some("changed meanwhile"));
    // A first prompt names the password too: it asks, and forgets nothing.
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i", "-t", "password"]),
        &flags("1"),
        &[],
    );
    assert!(r.stdout.contains("ShouldAsk=false"), "{}", r.stdout);
    assert_eq!(s.lookup(UUID).as_deref(), Some("changed meanwhile"));
    // The plugin's refusal hint means the same as -r; a message hint replaces
    // the text.
    let r = s.run_dialog(
        &agent_args(&[
            "--external-ui-mode",
            "-i",
            "-t",
            "password",
            "-t",
            "x-pptp-password-refused",
            "-t",
            "x-vpn-message:The server refused the password.",
        ]),
        &flags("1"),
        &[],
    );
    assert!(r.stdout.contains("ShouldAsk=true"), "{}", r.stdout);
    assert!(r
        .stdout
        .contains("\nDescription=The server refused the password.\n"));
}

#[test]
fn no_secret_service_still_answers() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    // A bus with nobody owning org.freedesktop.secrets.
    let s = Session::start();
    let r = s.run_dialog(&agent_args(&["--external-ui-mode", "-i"]), &flags("1"), &[]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("\nValue=\n") && r.stdout.contains("ShouldAsk=true"));
    assert!(r.elapsed < Duration::from_secs(5), "{:?}", r.elapsed);
    // No session bus at all.
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i"]),
        &flags("1"),
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("ShouldAsk=true"));
}

#[test]
fn locked_keyring_counts_as_not_found() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = keyring_with_saved();
    s.lock_keyring();
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i"]),
        &flags("1"),
        &[("G_MESSAGES_DEBUG", "all")],
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("\nValue=\n") && r.stdout.contains("ShouldAsk=true"));
    assert!(r.stderr.contains("locked"), "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(6), "{:?}", r.elapsed);
}

#[test]
fn secrets_stay_out_of_stderr_even_when_debugging() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = keyring_with_saved();
    let input = request(&[("password-flags", "bogus")], &[("password", "from NM")]);
    let r = s.run_dialog(
        &agent_args(&["--external-ui-mode", "-i"]),
        &input,
        &[("G_MESSAGES_DEBUG", "all")],
    );
    assert_eq!(r.status, Some(1));
    assert!(
        r.stderr.contains("“password-flags”: “bogus”"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("from NM") && !r.stderr.contains(SAVED));
}

#[test]
fn bad_command_lines_exit_1_with_a_reason() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = Session::start();
    let cases: [(&[&str], &str); 3] = [
        (&["-n", "PAL", "-s", SERVICE], "are required"),
        (
            &[
                "-u",
                UUID,
                "-n",
                "PAL",
                "-s",
                "org.freedesktop.NetworkManager.l2tp",
            ],
            "not “org.freedesktop.NetworkManager.l2tp”",
        ),
        (&["-u", UUID, "--frobnicate"], "--frobnicate"),
    ];
    for (args, reason) in cases {
        let r = s.run_dialog(args, &flags("0"), &[]);
        assert_eq!(r.status, Some(1), "{args:?}");
        assert!(r.stderr.contains(reason), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn bad_input_is_a_clear_error_in_bounded_time() {
    if !common::system_tests("a private session bus and gnome-keyring") {
        return;
    }
    let s = Session::start();
    let args = agent_args(&["--external-ui-mode", "-i"]);
    let huge = format!("DATA_KEY=a\nDATA_VAL={}\nDONE\n", "x".repeat(600 * 1024));
    let cases: [(&[u8], bool, &str); 4] = [
        (
            b"DATA_KEY=gateway\nhello\nDONE\n",
            true,
            "line 2 on standard input: expected",
        ),
        (
            b"DATA_KEY=gateway\nDATA_VAL=x\n",
            true,
            "standard input ended before DONE",
        ),
        (huge.as_bytes(), false, "longer than 524288 bytes"),
        (b"\xff\xfe\n", false, "not valid UTF-8"),
    ];
    for (input, close, reason) in cases {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_nm-pptp-auth-dialog"));
        c.env_clear().envs(s.env()).args(&args);
        let r = run(&mut c, input, close);
        assert_eq!(r.status, Some(1), "{reason}");
        assert!(r.stderr.contains(reason), "{reason}: {}", r.stderr);
        assert!(r.stdout.is_empty());
        assert!(
            r.elapsed < Duration::from_secs(5),
            "{reason}: {:?}",
            r.elapsed
        );
    }
    // An agent that never writes DONE and keeps the pipe open.
    let r = s.run_dialog(&args, b"DATA_KEY=gateway\nDATA_VAL=x\n", &[]);
    assert_eq!(r.status, Some(1));
    assert!(
        r.stderr
            .contains("no DONE on standard input within 10 seconds"),
        "{}",
        r.stderr
    );
    assert!(r.elapsed < Duration::from_secs(15), "{:?}", r.elapsed);
}
