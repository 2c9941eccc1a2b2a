//! The classic-mode GTK4 window on a real X server (Xvfb), driven with xdotool
//! the way a user types, speaking nm-applet's protocol on stdin and stdout.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

struct Display {
    xvfb: Child,
    name: String,
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

impl Display {
    fn start() -> Display {
        // -displayfd: Xvfb picks a free display number and tells us which.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "640x400x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (Debian package xvfb) must be installed");
        let mut line = String::new();
        BufReader::new(xvfb.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let n: u32 = line.trim().parse().expect("Xvfb display number");
        Display {
            xvfb,
            name: format!(":{n}"),
        }
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .env("DISPLAY", &self.name)
            .args(args)
            .output()
            .expect("xdotool (Debian package xdotool) must be installed");
        assert!(out.status.success(), "xdotool {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits for the dialog's window and gives it the keyboard.
    fn focus_dialog(&self) -> String {
        let id = self.xdotool(&["search", "--sync", "--name", "^Authenticate VPN$"]);
        let id = id.lines().next().unwrap().to_string();
        self.xdotool(&["windowfocus", "--sync", &id]);
        // Let GTK draw its first frame and take focus before keys arrive.
        std::thread::sleep(Duration::from_millis(500));
        id
    }

    fn screenshot(&self, window: &str, name: &str) -> std::path::PathBuf {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let st = Command::new("import")
            .env("DISPLAY", &self.name)
            .args(["-window", window])
            .arg(&path)
            .status()
            .expect("import (Debian package imagemagick) must be installed");
        assert!(st.success());
        path
    }
}

struct Dialog {
    child: Child,
    stdin: ChildStdin,
}

impl Dialog {
    fn start(session: &Session, display: &Display, args: &[&str], input: &[u8]) -> Dialog {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nm-pptp-auth-dialog"))
            .env_clear()
            .envs(session.env())
            .env("DISPLAY", &display.name)
            .env("GDK_BACKEND", "x11")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
        Dialog { child, stdin }
    }

    /// Reads the answer up to the blank pair, as nm-applet does, then says QUIT.
    fn answer_then_quit(&mut self) -> String {
        let mut out = BufReader::new(self.child.stdout.take().unwrap());
        let mut answer = String::new();
        let mut blanks = 0;
        while blanks < 2 {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            blanks = if line == "\n" { blanks + 1 } else { 0 };
            answer += &line;
        }
        self.stdin.write_all(b"QUIT\n\n").unwrap();
        answer
    }

    fn wait(mut self) -> (Option<i32>, String, Duration) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code();
            }
            if start.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the dialog did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
        (status, err, start.elapsed())
    }
}

fn not_saved() -> Vec<u8> {
    request(&[("gateway", "198.18.0.2"), ("password-flags", "2")], &[])
}

#[test]
fn typed_password_is_answered_after_enter() {
    if !common::system_tests("gnome-keyring and Xvfb") {
        return;
    }
    let s = Session::start();
    let d = Display::start();
    let mut dialog = Dialog::start(&s, &d, &agent_args(&["-i"]), &not_saved());
    let window = d.focus_dialog();
    d.xdotool(&["type", "--delay", "30", "pass wörd"]);
    std::thread::sleep(Duration::from_millis(300));
    let shot = d.screenshot(&window, "auth-dialog.png");
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
    d.xdotool(&["key", "Return"]);
    assert_eq!(dialog.answer_then_quit(), "password\npass wörd\n\n\n");
    let (status, err, after_quit) = dialog.wait();
    assert_eq!(status, Some(0), "{err}");
    assert!(after_quit < Duration::from_secs(2), "QUIT was not honoured");
    assert!(!err.contains("pass wörd"));
}

#[test]
fn reprompt_starts_empty_and_ok_button_submits() {
    if !common::system_tests("gnome-keyring and Xvfb") {
        return;
    }
    let s = Session::start();
    let d = Display::start();
    let input = request(&[("password-flags", "1")], &[("password", "old one")]);
    let mut dialog = Dialog::start(&s, &d, &agent_args(&["-i", "-r"]), &input);
    d.focus_dialog();
    // The refused password is not in the entry: what is typed is all of it.
    // Then Tab over Show password and Cancel to OK, and press it.
    d.xdotool(&["type", "new"]);
    d.xdotool(&["key", "Tab", "Tab", "Tab", "space"]);
    assert_eq!(dialog.answer_then_quit(), "password\nnew\n\n\n");
    assert_eq!(dialog.wait().0, Some(0));
}

#[test]
fn escape_cancels_with_nothing_printed() {
    if !common::system_tests("gnome-keyring and Xvfb") {
        return;
    }
    let s = Session::start();
    let d = Display::start();
    let mut dialog = Dialog::start(&s, &d, &agent_args(&["-i"]), &not_saved());
    d.focus_dialog();
    d.xdotool(&["type", "secret-not-sent"]);
    d.xdotool(&["key", "Escape"]);
    let mut out = String::new();
    dialog
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let (status, err, _) = dialog.wait();
    assert_eq!(status, Some(1));
    assert!(err.contains("cancelled by the user"), "{err}");
    assert_eq!(out, "");
}

#[test]
fn agent_cancel_closes_the_window() {
    if !common::system_tests("gnome-keyring and Xvfb") {
        return;
    }
    let s = Session::start();
    let d = Display::start();
    let mut dialog = Dialog::start(&s, &d, &agent_args(&["-i"]), &not_saved());
    d.focus_dialog();
    dialog.stdin.write_all(b"CANCEL 1 \n\n").unwrap();
    let (status, _, waited) = dialog.wait();
    assert_eq!(status, Some(1));
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[test]
fn no_display_is_an_error_not_a_hang() {
    if !common::system_tests("gnome-keyring and Xvfb") {
        return;
    }
    let s = Session::start();
    let r = run(
        Command::new(env!("CARGO_BIN_EXE_nm-pptp-auth-dialog"))
            .env_clear()
            .envs(s.env())
            .args(agent_args(&["-i"])),
        &not_saved(),
        false,
    );
    assert_eq!(r.status, Some(1));
    assert!(
        r.stderr.contains("cannot show the password window"),
        "{}",
        r.stderr
    );
}
