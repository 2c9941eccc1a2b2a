//! A private session bus, a real gnome-keyring on it, and the dialog run the way
//! agents run it. Every process started here is ended by its PID on drop.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SERVICE: &str = "org.freedesktop.NetworkManager.pptp";
pub const UUID: &str = "6f1c3a52-0d7e-4f7b-9d8c-5b2f0e7a9c11";
pub const SAVED: &str = "Saved pass wörd";

pub struct Session {
    pub dir: tempfile::TempDir,
    pub address: String,
    children: Vec<Child>,
}

/// What a dialog run printed and how it ended.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

fn kill(child: &mut Child) {
    // Only our own children, by PID.
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Session {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            kill(c);
        }
    }
}

impl Session {
    /// A session bus with no service activation: only what a test starts is on it.
    pub fn start() -> Session {
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "runtime"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("runtime"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let sock = dir.path().join("bus");
        let conf = format!(
            "<busconfig><type>session</type><listen>unix:path={}</listen>\
             <auth>EXTERNAL</auth><policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
             <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
            sock.display()
        );
        std::fs::write(dir.path().join("bus.conf"), conf).unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!(
                "--config-file={}",
                dir.path().join("bus.conf").display()
            ))
            .arg("--nofork")
            .stdout(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) must be installed");
        let s = Session {
            address: format!("unix:path={}", sock.display()),
            dir,
            children: vec![daemon],
        };
        s.wait_for(|| sock.exists(), "the session bus");
        s
    }

    fn wait_for(&self, mut ok: impl FnMut() -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ok() {
            assert!(Instant::now() < deadline, "{what} did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            (
                "HOME".into(),
                self.dir.path().join("home").display().to_string(),
            ),
            (
                "XDG_RUNTIME_DIR".into(),
                self.dir.path().join("runtime").display().to_string(),
            ),
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
        ]
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear().envs(self.env());
        c
    }

    fn name_has_owner(&self, name: &str) -> bool {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// gnome-keyring's Secret Service, with the login keyring created and unlocked.
    pub fn start_keyring(&mut self) {
        let mut child = self
            .command("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring) must be installed");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"keyring-login-password").unwrap();
        drop(stdin);
        self.children.push(child);
        self.wait_for(
            || self.name_has_owner("org.freedesktop.secrets"),
            "gnome-keyring",
        );
    }

    /// Stores an item as an agent would, under NetworkManager's attributes.
    pub fn store(&self, uuid: &str, value: &str) {
        let mut child = self
            .command("secret-tool")
            .args(["store", "--label=VPN password"])
            .args(nm_attributes(uuid))
            .stdin(Stdio::piped())
            .spawn()
            .expect("secret-tool (Debian package libsecret-tools) must be installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(value.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "secret-tool store failed");
    }

    /// What the keyring holds for `uuid`'s VPN password, as an agent would look.
    pub fn lookup(&self, uuid: &str) -> Option<String> {
        let out = self
            .command("secret-tool")
            .arg("lookup")
            .args(nm_attributes(uuid))
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    }

    /// Locks every collection, as a screen lock or the user would.
    pub fn lock_keyring(&self) {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "Lock failed: {out:?}");
    }

    pub fn run_dialog(&self, args: &[&str], stdin: &[u8], extra_env: &[(&str, &str)]) -> Run {
        let mut c = self.command(env!("CARGO_BIN_EXE_nm-pptp-auth-dialog"));
        run(c.args(args).envs(extra_env.iter().copied()), stdin, false)
    }
}

/// The attributes NetworkManager's agents keep a VPN password under.
fn nm_attributes(uuid: &str) -> [&str; 6] {
    [
        "connection-uuid",
        uuid,
        "setting-name",
        "vpn",
        "setting-key",
        "password",
    ]
}

/// Runs a command with `stdin` written and then left open (as agents do) or closed.
pub fn run(cmd: &mut Command, stdin: &[u8], close_stdin: bool) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
        if !close_stdin {
            // Held open until the dialog exits, like an agent's pipe.
            std::thread::sleep(Duration::from_secs(40));
        }
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = start + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            kill(&mut child);
            panic!("the dialog did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(writer);
    Run {
        status,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        elapsed: start.elapsed(),
    }
}

/// The request an agent writes: data items, secrets, DONE.
pub fn request(data: &[(&str, &str)], secrets: &[(&str, &str)]) -> Vec<u8> {
    let mut s = String::new();
    for (k, v) in data {
        s += &format!("DATA_KEY={k}\nDATA_VAL={v}\n\n");
    }
    for (k, v) in secrets {
        s += &format!("SECRET_KEY={k}\nSECRET_VAL={v}\n\n");
    }
    s += "DONE\n";
    s.into_bytes()
}

pub fn agent_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["-u", UUID, "-n", "PAL office", "-s", SERVICE];
    v.extend_from_slice(extra);
    v
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub use nm_pptp_test_gate::system_tests;
