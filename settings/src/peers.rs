//! pppd peers files as the seed guide's users have them: `/etc/ppp/peers/PAL`
//! with `pty "pptp SERVER --nolaunchpppd"`, `name`, `remotename`, `file`
//! includes such as `/etc/ppp/options.pptp`, and passwords in `chap-secrets`.

use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

use pptp_engine::secret::Password;
use thiserror::Error;

use crate::connection::Connection;
use crate::keys::{self, Kind, Pppd, Value, KEYS};
use crate::nm::SettingsError;
use crate::words::{self, Word};

/// Larger files are not configuration.
pub const MAX_FILE_SIZE: u64 = 1 << 20;
const MAX_INCLUDE_DEPTH: usize = 8;
/// Includes can fan out as well as nest: bounds on the whole tree read.
const MAX_FILES: usize = 32;
const MAX_TOTAL_SIZE: usize = 4 << 20;

#[derive(Debug, Error)]
pub enum PeersError {
    #[error("{0}: no such file")]
    NotFound(PathBuf),
    #[error("{path}: cannot read: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}: {size} bytes is too large for a pppd options file")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{0}: not a text file")]
    Binary(PathBuf),
    #[error("{0}: not a regular file")]
    NotRegular(PathBuf),
    #[error("{0}: more than {MAX_FILES} files or {MAX_TOTAL_SIZE} bytes in all with its includes")]
    TooMuch(PathBuf),
    #[error("{0}: `file` includes nested more than 8 deep (a loop?)")]
    IncludeDepth(PathBuf),
    #[error("{file}:{line}: option `{option}` needs a value")]
    MissingValue {
        file: PathBuf,
        line: usize,
        option: String,
    },
    #[error("{file}:{line}: option `{option}` has an invalid value `{value}`")]
    BadValue {
        file: PathBuf,
        line: usize,
        option: String,
        value: String,
    },
    #[error("{file}:{line}: invalid gateway `{server}` in `pty`: only letters, digits, dots and hyphens are allowed")]
    BadGateway {
        file: PathBuf,
        line: usize,
        server: String,
    },
    #[error("{0}: no PPTP server found (expected `pty \"pptp SERVER --nolaunchpppd\"`)")]
    NoServer(PathBuf),
}

/// Everything a peers file (with its includes) says that matters to us: a
/// connection, and what only pppd's own scripts and routing used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeersFile {
    pub connection: Connection,
    pub remotename: Option<String>,
    pub ipparam: Option<String>,
    /// `defaultroute` (Some(true)), `nodefaultroute` (Some(false)) or neither.
    pub defaultroute: Option<bool>,
    pub usepeerdns: bool,
    /// `persist`: dial again after a lost link (NetworkManager's `vpn.persistent`).
    pub persist: bool,
    /// `maxfail N`: give up after N failed dials in a row (pppd: 10; 0: never).
    pub maxfail: Option<u32>,
    /// `holdoff N`: seconds to wait before dialling again (pppd: 0).
    pub holdoff: Option<u32>,
    /// `nomppe`: read as "MPPE not required" (no key refuses MPPE outright).
    pub nomppe: bool,
    /// Options we read but cannot honour, each named once, in order of appearance.
    pub unsupported: Vec<String>,
    /// The files read, the peers file first.
    pub files: Vec<PathBuf>,
    bytes_read: usize,
}

/// Options that need no action from a userspace client, or only mean what we do
/// anyway (no compression, no serial line, no lock file).
const HARMLESS: &[&str] = &[
    "lock",
    "nolock",
    "noauth",
    "nodetach",
    "updetach",
    "debug",
    "kdebug",
    "noipdefault",
    "novjccomp",
    "noccp",
    "noaccomp",
    "nopcomp",
    "local",
    "modem",
    "crtscts",
    "nocrtscts",
    "hide-password",
    "show-password",
    "noipx",
    "noproxyarp",
    "nomagic",
    "noendpoint",
    "nomultilink",
    "refuse-mppc",
    "nomppc",
    "require-mschap-v2",
    "require-mschap",
    "mppe-required",
];

/// pppd options that take a value we do not use: skipped with their value and
/// reported.
const UNSUPPORTED_WITH_VALUE: &[&str] = &[
    "asyncmap",
    "connect",
    "disconnect",
    "idle",
    "logfile",
    "logfd",
    "ms-dns",
    "ms-wins",
    "linkname",
    "ipcp-restart",
    "ipcp-max-configure",
    "lcp-restart",
    "lcp-max-configure",
    "chap-interval",
    "chap-restart",
    "pap-restart",
    "remotenumber",
    "plugin",
    "pptp_server",
    "pptp-server",
    "ip-up-script",
    "ip-down-script",
    "demand",
    "connect-delay",
    "escape",
    "init",
    "welcome",
    "mrru",
    "endpoint",
];

impl PeersFile {
    fn note_unsupported(&mut self, name: &str) {
        if !self.unsupported.iter().any(|u| u == name) {
            self.unsupported.push(name.to_string());
        }
    }

    /// The password for this peer from `PPP_DIR/chap-secrets`.
    pub fn chap_secret(&self, ppp_dir: &Path) -> Result<Option<Password>, PeersError> {
        match self.connection.login_name() {
            Ok(name) => chap_secret(ppp_dir, &name, self.remotename.as_deref()),
            Err(_) => Ok(None),
        }
    }
}

fn read_text(path: &Path) -> Result<String, PeersError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |err: std::io::Error| match err.kind() {
        std::io::ErrorKind::NotFound => PeersError::NotFound(path.to_path_buf()),
        _ => PeersError::Io {
            path: path.to_path_buf(),
            err,
        },
    };
    // Only regular files: /dev/zero never ends and a FIFO never answers. The
    // descriptor is opened without blocking and checked itself, so a file
    // swapped for one of those in between is caught too.
    if !fs::metadata(path).map_err(io)?.is_file() {
        return Err(PeersError::NotRegular(path.to_path_buf()));
    }
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(PeersError::NotRegular(path.to_path_buf()));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(PeersError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(PeersError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
        });
    }
    if bytes.contains(&0) {
        return Err(PeersError::Binary(path.to_path_buf()));
    }
    String::from_utf8(bytes).map_err(|_| PeersError::Binary(path.to_path_buf()))
}

/// Where `--peer NAME|PATH` points: a path with a slash as given, otherwise
/// `PPP_DIR/peers/NAME`.
pub fn peer_path(peer: &str, ppp_dir: &Path) -> PathBuf {
    if peer.contains('/') {
        PathBuf::from(peer)
    } else {
        ppp_dir.join("peers").join(peer)
    }
}

/// Read a peers file and everything it includes.
pub fn load(peer: &str, ppp_dir: &Path) -> Result<PeersFile, PeersError> {
    let path = peer_path(peer, ppp_dir);
    let mut opts = PeersFile::default();
    read_file(&path, ppp_dir, &mut opts, 0)?;
    if opts.connection.gateway.is_empty() {
        return Err(PeersError::NoServer(path));
    }
    // A later `require-mppe` overrides `nomppe`, as in pppd.
    opts.nomppe &= opts.connection.mppe_requirement().is_none();
    opts.connection.mppe.spell_out();
    Ok(opts)
}

fn read_file(
    path: &Path,
    ppp_dir: &Path,
    opts: &mut PeersFile,
    depth: usize,
) -> Result<(), PeersError> {
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(PeersError::IncludeDepth(path.to_path_buf()));
    }
    if opts.files.len() >= MAX_FILES {
        return Err(PeersError::TooMuch(opts.files[0].clone()));
    }
    let text = read_text(path)?;
    opts.files.push(path.to_path_buf());
    opts.bytes_read += text.len();
    if opts.bytes_read > MAX_TOTAL_SIZE {
        return Err(PeersError::TooMuch(opts.files[0].clone()));
    }
    parse_into(&text, path, ppp_dir, opts, depth)
}

/// One file's text, as if read from `path`, with no includes available: what
/// the fuzzer feeds (an include is a missing file).
pub fn parse_str(text: &str, path: &Path) -> Result<PeersFile, PeersError> {
    let mut opts = PeersFile::default();
    parse_into(text, path, Path::new("/nonexistent/ppp"), &mut opts, 0)?;
    Ok(opts)
}

fn parse_into(
    text: &str,
    path: &Path,
    ppp_dir: &Path,
    opts: &mut PeersFile,
    depth: usize,
) -> Result<(), PeersError> {
    let directives = directives(text);
    let words: Vec<Word> = words::lines(text).into_iter().flatten().collect();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let mut value = |opt: &str| -> Result<Word, PeersError> {
            it.next().ok_or_else(|| PeersError::MissingValue {
                file: path.to_path_buf(),
                line: w.line,
                option: opt.to_string(),
            })
        };
        let bad = |v: &Word, opt: &str| PeersError::BadValue {
            file: path.to_path_buf(),
            line: v.line,
            option: opt.to_string(),
            value: v.text.clone(),
        };
        let o = w.text.as_str();
        if let Some((key, flag)) = keys::by_pppd_option(o) {
            let v = match flag {
                Some(on) => Value::Bool(on),
                None => {
                    let v = value(o)?;
                    key.kind.parse(&v.text).map_err(|_| bad(&v, o))?
                }
            };
            key.set(&mut opts.connection, v);
            continue;
        }
        match o {
            "name" | "user" => opts.connection.set_login_name(&value(o)?.text),
            "remotename" => opts.remotename = Some(value(o)?.text.clone()),
            "ipparam" => opts.ipparam = Some(value(o)?.text.clone()),
            "pty" => {
                let v = value(o)?;
                let mut parts = v.text.split_whitespace();
                let prog = parts.next().unwrap_or("");
                if !prog.ends_with("pptp") {
                    return Err(bad(&v, "pty"));
                }
                let mut server = None;
                for p in parts {
                    if p.starts_with("--") {
                        if p != "--nolaunchpppd" {
                            opts.note_unsupported(&format!("pptp {p}"));
                        }
                    } else if server.is_none() {
                        server = Some(p.to_string());
                    }
                }
                if let Some(server) = server {
                    if Kind::Gateway.parse(&server).is_err() {
                        return Err(PeersError::BadGateway {
                            file: path.to_path_buf(),
                            line: v.line,
                            server,
                        });
                    }
                    opts.connection.gateway = server;
                }
            }
            "file" => {
                let v = value(o)?;
                let inc = Path::new(&v.text);
                // Absolute includes name the system's /etc/ppp; keep them inside
                // ppp_dir so a test or an import can use its own tree.
                let inc = match inc.strip_prefix("/etc/ppp") {
                    Ok(rel) => ppp_dir.join(rel),
                    Err(_) if inc.is_relative() => ppp_dir.join(inc),
                    Err(_) => inc.to_path_buf(),
                };
                read_file(&inc, ppp_dir, opts, depth + 1)?;
            }
            "nomppe" | "noencrypt" => {
                opts.nomppe = true;
                opts.connection.set_mppe_requirement(None);
            }
            "defaultroute" => opts.defaultroute = Some(true),
            "nodefaultroute" => opts.defaultroute = Some(false),
            "usepeerdns" => opts.usepeerdns = true,
            "persist" => opts.persist = true,
            "maxfail" | "holdoff" => {
                let v = value(o)?;
                let n = v.text.parse::<u32>().map_err(|_| bad(&v, o))?;
                if o == "maxfail" {
                    opts.maxfail = Some(n);
                } else {
                    opts.holdoff = Some(n);
                }
            }
            // pppd's LOCAL:REMOTE: our fixed address; the server picks its own end.
            o if o.contains(':') => {
                let (local, remote) = o.split_once(':').unwrap_or_default();
                if !local.is_empty() {
                    let v = Kind::Address.parse(local).map_err(|_| bad(&w, o))?;
                    if let Some(k) = keys::by_name(keys::LOCAL_ADDRESS) {
                        k.set(&mut opts.connection, v);
                    }
                }
                if !remote.is_empty() {
                    opts.note_unsupported(&format!("{o} (the server's end, {remote})"));
                }
            }
            o if HARMLESS.contains(&o) => {}
            o if UNSUPPORTED_WITH_VALUE.contains(&o) => {
                value(o)?;
                opts.note_unsupported(o);
            }
            o => opts.note_unsupported(o),
        }
    }
    // Opt-ins pppd has no spelling for, after the options they refine.
    for (line, key, value) in directives {
        let bad = || PeersError::BadValue {
            file: path.to_path_buf(),
            line,
            option: format!("{DIRECTIVE} {key}"),
            value: value.to_string(),
        };
        let k = keys::by_name(key)
            .filter(|k| !matches!(k.pppd, Pppd::None))
            .ok_or_else(bad)?;
        k.set(
            &mut opts.connection,
            k.kind.parse(value).map_err(|_| bad())?,
        );
    }
    Ok(())
}

/// Comment lines only we read: `# nm-pptp: KEY=VALUE` with a key from the table.
const DIRECTIVE: &str = "nm-pptp:";

fn directives(text: &str) -> Vec<(usize, &str, &str)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let rest = l.trim_start().strip_prefix('#')?.trim_start();
            let (key, value) = rest.strip_prefix(DIRECTIVE)?.trim().split_once('=')?;
            Some((i + 1, key.trim(), value.trim()))
        })
        .collect()
}

/// The secret for `client` talking to `server` from `PPP_DIR/chap-secrets`: the
/// first line whose client matches and whose server is `server` or `*`.
pub fn chap_secret(
    ppp_dir: &Path,
    client: &str,
    server: Option<&str>,
) -> Result<Option<Password>, PeersError> {
    let path = ppp_dir.join("chap-secrets");
    let text = zeroize::Zeroizing::new(read_text(&path)?);
    for line in words::lines(&text) {
        let [c, s, secret, ..] = &line[..] else {
            continue;
        };
        let server_ok = s.text == "*" || server.is_some_and(|srv| srv == s.text);
        if (c.text == client || c.text == "*") && server_ok {
            return Ok(Some(Password::new(secret.text.clone())));
        }
    }
    Ok(None)
}

/// pppd's quoting: a double-quoted word with `\\` and `\"` escaped.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// A connection as a peers file that pppd (with pptp-linux) and
/// `pptp-client up --peer` both accept. Never the password: it belongs in
/// chap-secrets.
/// What NetworkManager keeps outside `vpn.data` and a peers file spells as pppd
/// options: whether the tunnel takes the default route (`ipv4.never-default`),
/// whether the server's DNS servers are used (`ipv4.ignore-auto-dns`), and
/// whether a lost call is dialled again (`vpn.persistent`, pppd's `persist`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Routing {
    pub never_default: bool,
    pub ignore_auto_dns: bool,
    pub persist: bool,
}

impl PeersFile {
    /// The file's routing in NetworkManager's terms, and a sentence for the user
    /// where the two do not mean the same: pppd adds no default route without
    /// `defaultroute` (setups like the seed's add it from an ip-up.d script), and
    /// asks for no DNS servers without `usepeerdns`.
    pub fn routing(&self) -> (Routing, Vec<String>) {
        let mut notes = Vec::new();
        let never_default = match self.defaultroute {
            Some(true) => {
                notes.push("“defaultroute”: all traffic goes through the VPN".to_string());
                false
            }
            Some(false) => {
                notes.push(
                    "“nodefaultroute”: only the VPN's own network goes through it (ipv4.never-default=yes)"
                        .to_string(),
                );
                true
            }
            None => {
                notes.push(
                    "neither “defaultroute” nor “nodefaultroute”: all traffic goes through the VPN, as an ip-up script usually arranged; set ipv4.never-default=yes for the VPN's own network only"
                        .to_string(),
                );
                false
            }
        };
        if !self.usepeerdns {
            notes.push(
                "no “usepeerdns”: NetworkManager uses the VPN's DNS servers anyway; set ipv4.ignore-auto-dns=yes to keep them out"
                    .to_string(),
            );
        }
        (
            Routing {
                never_default,
                ignore_auto_dns: false,
                persist: self.persist,
            },
            notes,
        )
    }
}

pub fn write(c: &Connection, title: &str, routing: Routing) -> Result<String, SettingsError> {
    c.validate()?;
    let name = c.login_name()?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# pppd peers file exported by NetworkManager-pptp-rs from “{}”.",
        title.replace(['\n', '\r'], " ")
    );
    let _ = writeln!(
        out,
        "# Use it as /etc/ppp/peers/NAME; the password belongs in /etc/ppp/chap-secrets."
    );
    let _ = writeln!(
        out,
        "pty {}",
        quote(&format!("pptp {} --nolaunchpppd", c.gateway))
    );
    let _ = writeln!(out, "name {}", quote(&name));
    let _ = writeln!(out, "remotename PPTP");
    for k in KEYS {
        match (k.pppd, k.get(c)) {
            // pppd's defaults are not ours: what we require, it is told.
            (Pppd::Flag { on, .. }, Value::Bool(true)) => {
                let _ = writeln!(out, "{}", on[0]);
            }
            // An opt-in: pppd allows it anyway; we read it from the comment.
            (Pppd::Flag { .. }, Value::Bool(false)) if k.default == Value::Bool(true) => {
                let _ = writeln!(out, "# {DIRECTIVE} {}=no", k.name);
            }
            (Pppd::Value(names), Value::Number(Some(n))) if k.format(c).is_some() => {
                let _ = writeln!(out, "{} {n}", names[0]);
            }
            (Pppd::LocalRemote, _) => {
                if let Some(v) = k.format(c) {
                    let _ = writeln!(out, "{v}:");
                }
            }
            (Pppd::Directive, _) => {
                if let Some(v) = k.format(c) {
                    let _ = writeln!(out, "# {DIRECTIVE} {}={v}", k.name);
                }
            }
            _ => {}
        }
    }
    let _ = writeln!(
        out,
        "{}",
        if routing.never_default {
            "nodefaultroute"
        } else {
            "defaultroute"
        }
    );
    if !routing.ignore_auto_dns {
        let _ = writeln!(out, "usepeerdns");
    }
    if routing.persist {
        let _ = writeln!(out, "persist");
    }
    // The server authenticates itself with MS-CHAPv2; pppd must not ask it to.
    let _ = writeln!(out, "noauth");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Refuse;

    fn seed_tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("peers")).unwrap();
        fs::write(
            d.path().join("peers/PAL"),
            "pty \"pptp 198.18.0.2 --nolaunchpppd\"\nname alice\nremotename PPTP\nfile /etc/ppp/options.pptp\nipparam tunnel\n",
        )
        .unwrap();
        fs::write(
            d.path().join("options.pptp"),
            "lock noauth nobsdcomp nodeflate require-mppe mppe-stateful\n",
        )
        .unwrap();
        fs::write(
            d.path().join("chap-secrets"),
            "# Secrets\nalice PPTP \"pass word\" *\nPPTP alice \"other\" *\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn seed_layout() {
        let d = seed_tree();
        let o = load("PAL", d.path()).unwrap();
        let c = &o.connection;
        assert_eq!(c.gateway, "198.18.0.2");
        assert_eq!(c.login_name().unwrap(), "alice");
        assert_eq!(o.remotename.as_deref(), Some("PPTP"));
        assert_eq!(o.ipparam.as_deref(), Some("tunnel"));
        assert!(c.compression_off.bsd && c.compression_off.deflate);
        assert_eq!(o.files.len(), 2);
        assert!(o.unsupported.is_empty(), "{:?}", o.unsupported);
        // `require-mppe` alone: pppd allows either strength, we 128-bit only.
        let m = c.mppe_policy();
        assert!(m.required && m.stateful && !m.allow_40 && m.allow_128);
        let a = c.auth_policy();
        assert!(!a.pap && !a.chap && !a.mschap && a.mschapv2);
        let pw = o.chap_secret(d.path()).unwrap().unwrap();
        assert_eq!(pw.expose(), "pass word");
        assert!(chap_secret(d.path(), "bob", Some("PPTP"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn sourceforge_spelling_and_unsupported() {
        let d = seed_tree();
        fs::write(d.path().join("options.pptp"), "mppe-40 mppe-128 mppe-stateful mppe-stateless\nmaxfail 0 frobnicate\nlcp-echo-interval 30\nlcp-echo-failure 4\nmtu 1400\n").unwrap();
        let o = load(d.path().join("peers/PAL").to_str().unwrap(), d.path()).unwrap();
        let m = o.connection.mppe_policy();
        assert!(m.required && m.allow_40 && m.allow_128 && !m.stateful);
        assert_eq!(o.unsupported, vec!["frobnicate".to_string()]);
        assert_eq!(o.maxfail, Some(0));
        assert_eq!(
            o.connection.lcp_echo(),
            Some((std::time::Duration::from_secs(30), 4))
        );
        assert_eq!(o.connection.mtu, Some(1400));
    }

    #[test]
    fn pppd_meaning_of_echo_and_ranges() {
        let d = seed_tree();
        // An interval without a failure count: echoes, never a lost link.
        fs::write(d.path().join("options.pptp"), "lcp-echo-interval 7200\n").unwrap();
        let o = load("PAL", d.path()).unwrap();
        assert_eq!(
            o.connection.lcp_echo(),
            Some((std::time::Duration::from_secs(7200), 0))
        );
        // What a peers file holds is a valid NetworkManager connection, and the
        // same connection once it went through vpn.data.
        let v = o.connection.to_vpn();
        let back = Connection::from_vpn(&v.data, &v.secrets, None).unwrap();
        assert_eq!(back, o.connection);
        assert_eq!(back.lcp_echo(), o.connection.lcp_echo());
    }

    #[test]
    fn nomppe_and_its_override() {
        let d = seed_tree();
        fs::write(d.path().join("options.pptp"), "require-mppe-128 nomppe\n").unwrap();
        let o = load("PAL", d.path()).unwrap();
        assert!(o.nomppe && !o.connection.mppe_policy().required);
        fs::write(d.path().join("options.pptp"), "nomppe require-mppe\n").unwrap();
        let o = load("PAL", d.path()).unwrap();
        assert!(!o.nomppe && o.connection.mppe_policy().required);
    }

    #[test]
    fn written_files_read_back_as_the_same_connection() {
        let d = seed_tree();
        let mut c = Connection {
            gateway: "vpn.example.org".into(),
            user: "al ice".into(),
            domain: "CO\"RP".into(),
            password: Some(Password::new("never written")),
            lcp_echo_interval: 10,
            lcp_echo_failure: 3,
            unit: Some(4),
            mtu: Some(1400),
            mru: Some(1300),
            ..Connection::default()
        };
        c.set_mppe_requirement(Some(crate::connection::MppeStrength::Only128));
        c.apply_mppe_rule();
        c.mppe.stateful = true;
        c.refuse.mschap = true;
        c.compression_off.vj = true;
        let text = write(&c, "Office\nVPN", Routing::default()).unwrap();
        assert!(!text.contains("never written"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with('#')).count(), 2);
        fs::write(d.path().join("peers/OUT"), &text).unwrap();
        let o = load("OUT", d.path()).unwrap();
        c.password = None;
        assert_eq!(o.connection, c);
        assert!(o.unsupported.is_empty(), "{:?}", o.unsupported);
        // Opt-ins pppd cannot spell travel as comments pppd ignores.
        c.refuse = Refuse::default();
        c.set_mppe_requirement(None);
        let text = write(&c, "weak", Routing::default()).unwrap();
        assert!(text.contains("\n# nm-pptp: refuse-pap=no\n"), "{text}");
        assert!(text.contains("\n# nm-pptp: require-mppe=no\n"), "{text}");
        assert!(
            !text.contains("mss-clamp"),
            "a default is not written: {text}"
        );
        assert!(!text.contains("\nrefuse-pap\n"), "{text}");
        fs::write(d.path().join("peers/OUT"), &text).unwrap();
        assert_eq!(load("OUT", d.path()).unwrap().connection, c);
        // A plain peers file gets the safe defaults; a directive can opt out.
        fs::write(d.path().join("options.pptp"), "").unwrap();
        let o = load("PAL", d.path()).unwrap();
        assert!(o.connection.mppe_policy().required && !o.connection.auth_policy().pap);
        fs::write(
            d.path().join("options.pptp"),
            "#nm-pptp: refuse-chap=no\n # nm-pptp: require-mppe = no\n",
        )
        .unwrap();
        let o = load("PAL", d.path()).unwrap();
        assert!(o.connection.auth_policy().chap && !o.connection.auth_policy().pap);
        fs::write(
            d.path().join("options.pptp"),
            "\n# nm-pptp: refuse-pap=maybe\n",
        )
        .unwrap();
        let e = load("PAL", d.path()).unwrap_err().to_string();
        assert!(
            e.contains("options.pptp:2: option `nm-pptp: refuse-pap` has an invalid value `maybe`"),
            "{e}"
        );
        fs::write(
            d.path().join("options.pptp"),
            "# nm-pptp: gateway=elsewhere\n",
        )
        .unwrap();
        assert!(
            load("PAL", d.path()).is_err(),
            "only keys with a pppd option"
        );
        // A connection without a user cannot be written.
        c.user.clear();
        assert_eq!(
            write(&c, "x", Routing::default()).unwrap_err(),
            SettingsError::NoUser
        );
    }

    #[test]
    fn bad_input_is_named() {
        let d = seed_tree();
        fs::write(d.path().join("options.pptp"), "mtu lots\n").unwrap();
        let e = load("PAL", d.path()).unwrap_err().to_string();
        assert!(
            e.contains("options.pptp:1: option `mtu` has an invalid value `lots`"),
            "{e}"
        );
        fs::write(d.path().join("options.pptp"), "\nmru 64\n").unwrap();
        let e = load("PAL", d.path()).unwrap_err().to_string();
        assert!(e.contains("options.pptp:2: option `mru`"), "{e}");
        fs::write(d.path().join("peers/Y"), "pty \"pptp bad;host\"\n").unwrap();
        let e = load("Y", d.path()).unwrap_err().to_string();
        assert!(e.contains("invalid gateway `bad;host` in `pty`"), "{e}");
        fs::write(d.path().join("options.pptp"), "lcp-echo-interval").unwrap();
        assert!(matches!(
            load("PAL", d.path()),
            Err(PeersError::MissingValue { .. })
        ));
        fs::write(d.path().join("options.pptp"), b"\x7fELF\x00\x01").unwrap();
        assert!(matches!(load("PAL", d.path()), Err(PeersError::Binary(_))));
        fs::write(
            d.path().join("options.pptp"),
            "file /etc/ppp/options.pptp\n",
        )
        .unwrap();
        assert!(matches!(
            load("PAL", d.path()),
            Err(PeersError::IncludeDepth(_))
        ));
        fs::remove_file(d.path().join("options.pptp")).unwrap();
        assert!(matches!(
            load("PAL", d.path()),
            Err(PeersError::NotFound(_))
        ));
        fs::write(d.path().join("options.pptp"), vec![b'#'; 11 << 20]).unwrap();
        assert!(matches!(
            load("PAL", d.path()),
            Err(PeersError::TooLarge { .. })
        ));
        // Not regular files: a device that never ends, a FIFO that never answers.
        fs::write(d.path().join("options.pptp"), "file /dev/zero\n").unwrap();
        assert!(matches!(
            load("PAL", d.path()),
            Err(PeersError::NotRegular(_))
        ));
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        fs::write(
            d.path().join("options.pptp"),
            format!("file {}\n", fifo.display()),
        )
        .unwrap();
        assert!(matches!(
            load("PAL", d.path()),
            Err(PeersError::NotRegular(_))
        ));
        // Fan-out: 40 includes of a small file, each within depth.
        fs::write(d.path().join("small"), "nobsdcomp\n").unwrap();
        fs::write(d.path().join("options.pptp"), "file small\n".repeat(40)).unwrap();
        assert!(matches!(load("PAL", d.path()), Err(PeersError::TooMuch(_))));
        fs::write(d.path().join("peers/X"), "name bob\n").unwrap();
        assert!(matches!(load("X", d.path()), Err(PeersError::NoServer(_))));
        assert!(matches!(
            load("nonexistent", d.path()),
            Err(PeersError::NotFound(_))
        ));
    }

    /// A key pppd has no option for travels as a comment and reads back.
    #[test]
    fn a_directive_only_key_round_trips() {
        let mut c = Connection {
            gateway: "198.18.0.2".into(),
            user: "alice".into(),
            ..Connection::default()
        };
        c.mss_clamp = false;
        let text = write(&c, "t", Routing::default()).unwrap();
        assert!(text.contains("\n# nm-pptp: mss-clamp=no\n"), "{text}");
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("peers")).unwrap();
        fs::write(d.path().join("peers/T"), &text).unwrap();
        let back = load("T", d.path()).unwrap();
        assert!(!back.connection.mss_clamp);
    }

    /// pppd's `LOCAL:REMOTE` word gives the fixed address; the remote half is
    /// named as not carried, and a bad address is refused by line.
    #[test]
    fn local_address_word_round_trips() {
        let pty = "pty \"pptp 198.18.0.2 --nolaunchpppd\"\nname alice\n";
        let p = parse_str(
            &format!("{pty}10.0.0.5:\nipcp-accept-local\n"),
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(p.connection.local_address, Some([10, 0, 0, 5].into()));
        assert!(p.connection.accept_local);
        assert!(p.unsupported.is_empty(), "{:?}", p.unsupported);

        let p = parse_str(&format!("{pty}10.0.0.5:10.0.0.1\n"), Path::new("x")).unwrap();
        assert_eq!(p.connection.local_address, Some([10, 0, 0, 5].into()));
        assert!(!p.connection.accept_local);
        assert!(p.unsupported[0].contains("10.0.0.1"), "{:?}", p.unsupported);

        let p = parse_str(&format!("{pty}:10.0.0.1\n"), Path::new("x")).unwrap();
        assert_eq!(p.connection.local_address, None);

        let e = parse_str(&format!("{pty}vpn.example:\n"), Path::new("x")).unwrap_err();
        assert!(e.to_string().contains("vpn.example:"), "{e}");
        assert!(e.to_string().contains('3'), "names the line: {e}");

        let mut c = Connection {
            gateway: "198.18.0.2".into(),
            user: "alice".into(),
            ..Connection::default()
        };
        c.local_address = Some([10, 0, 0, 5].into());
        c.accept_local = true;
        let text = write(&c, "t", Routing::default()).unwrap();
        assert!(text.contains("\n10.0.0.5:\n"), "{text}");
        assert!(text.contains("\nipcp-accept-local\n"), "{text}");
        let back = parse_str(&text, Path::new("x")).unwrap();
        assert_eq!(back.connection, c);
    }

    /// pppd's routing and DNS words become NetworkManager's ipv4 settings and
    /// come back on export; where pppd and NetworkManager differ, a note says so.
    #[test]
    fn routing_words_round_trip() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("peers")).unwrap();
        let head = "pty \"pptp vpn.example --nolaunchpppd\"\nname alice\n";
        for (words, never_default, note) in [
            (
                "nodefaultroute usepeerdns persist",
                true,
                "ipv4.never-default=yes",
            ),
            ("defaultroute", false, "all traffic"),
            ("", false, "neither"),
        ] {
            fs::write(d.path().join("peers/P"), format!("{head}{words}\n")).unwrap();
            let o = load("P", d.path()).unwrap();
            let (routing, notes) = o.routing();
            assert_eq!(routing.never_default, never_default, "{words}");
            assert!(notes[0].contains(note), "{words}: {notes:?}");
            assert_eq!(
                notes.iter().any(|n| n.contains("usepeerdns")),
                !words.contains("usepeerdns"),
                "{notes:?}"
            );
            assert_eq!(routing.persist, words.contains("persist"));
            assert!(o.unsupported.is_empty(), "{:?}", o.unsupported);
            let text = write(&o.connection, "P", routing).unwrap();
            fs::write(d.path().join("peers/Q"), &text).unwrap();
            let back = load("Q", d.path()).unwrap();
            assert_eq!(back.routing().0, routing, "{text}");
            assert!(back.usepeerdns, "{text}");
        }
        let text = write(
            &load("P", d.path()).unwrap().connection,
            "P",
            Routing {
                never_default: false,
                ignore_auto_dns: true,
                persist: false,
            },
        )
        .unwrap();
        assert!(
            !text.contains("usepeerdns") && !text.contains("persist"),
            "{text}"
        );
    }

    /// pppd's redial words: `persist` is a routing word (vpn.persistent);
    /// `maxfail` and `holdoff` take a count of tries and seconds.
    #[test]
    fn persist_maxfail_and_holdoff() {
        let head = "pty \"pptp vpn.example --nolaunchpppd\"\nname alice\n";
        let o = parse_str(
            &format!("{head}persist\nmaxfail 0\nholdoff 5\n"),
            Path::new("x"),
        )
        .unwrap();
        assert!(o.persist && o.routing().0.persist);
        assert_eq!((o.maxfail, o.holdoff), (Some(0), Some(5)));
        assert!(o.unsupported.is_empty(), "{:?}", o.unsupported);
        let o = parse_str(head, Path::new("x")).unwrap();
        assert_eq!((o.persist, o.maxfail, o.holdoff), (false, None, None));
        for bad in ["maxfail -1", "holdoff soon", "maxfail"] {
            let e = parse_str(&format!("{head}{bad}\n"), Path::new("x")).unwrap_err();
            assert!(
                e.to_string().contains(bad.split(' ').next().unwrap()),
                "{bad}: {e}"
            );
        }
    }
}
