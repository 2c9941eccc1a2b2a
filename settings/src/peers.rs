//! pppd peers files as the seed guide's users have them: `/etc/ppp/peers/PAL`
//! with `pty "pptp SERVER --nolaunchpppd"`, `name`, `remotename`, `file`
//! includes such as `/etc/ppp/options.pptp`, and passwords in `chap-secrets`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pptp_engine::ppp::ccp::MppePolicy;
use pptp_engine::ppp::lcp::AuthPolicy;
use pptp_engine::secret::Password;
use thiserror::Error;

use crate::words::{self, Word};

/// Larger files are not configuration.
pub const MAX_FILE_SIZE: u64 = 1 << 20;
const MAX_INCLUDE_DEPTH: usize = 8;

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
    #[error("{0}: no PPTP server found (expected `pty \"pptp SERVER --nolaunchpppd\"`)")]
    NoServer(PathBuf),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refuse {
    pub pap: bool,
    pub chap: bool,
    pub mschap: bool,
    pub mschapv2: bool,
    pub eap: bool,
}

/// The MPPE options, in both the pppd 2.4 spellings and the older SourceForge
/// patch's (`mppe-40`, `mppe-128`, `mppe-stateless`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mppe {
    pub require: bool,
    pub require_40: bool,
    pub require_128: bool,
    pub stateful: bool,
    pub sf_40: bool,
    pub sf_128: bool,
    pub sf_stateless: bool,
    pub nomppe: bool,
}

/// Everything a peers file (with its includes) says that matters to us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerOptions {
    pub server: Option<String>,
    pub user: Option<String>,
    pub remotename: Option<String>,
    pub ipparam: Option<String>,
    pub unit: Option<u32>,
    pub refuse: Refuse,
    pub mppe: Mppe,
    pub lcp_echo_interval: Option<u32>,
    pub lcp_echo_failure: Option<u32>,
    pub mtu: Option<u16>,
    pub mru: Option<u16>,
    pub defaultroute: bool,
    pub usepeerdns: bool,
    pub nobsdcomp: bool,
    pub nodeflate: bool,
    pub novj: bool,
    /// Options we read but cannot honour, each named once, in order of appearance.
    pub unsupported: Vec<String>,
    /// The files read, the peers file first.
    pub files: Vec<PathBuf>,
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
    "persist",
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
    "holdoff",
    "maxfail",
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

impl Mppe {
    /// The MPPE policy, as pppd 2.4.9 reads its options (and the SourceForge
    /// patch's, which enable MPPE). Without any MPPE option, pppd neither requires
    /// nor refuses it: both strengths are allowed.
    pub fn policy(&self) -> MppePolicy {
        if self.nomppe {
            return MppePolicy::off();
        }
        let explicit_strength = self.require_40 || self.require_128 || self.sf_40 || self.sf_128;
        MppePolicy {
            allow_40: self.require_40 || self.sf_40 || !explicit_strength,
            allow_56: false,
            allow_128: self.require_128 || self.sf_128 || !explicit_strength,
            stateful: self.stateful && !self.sf_stateless,
            request_stateful: false,
            // The SourceForge patch's options turned MPPE on: an unencrypted
            // fallback would surprise whoever wrote them.
            required: self.require
                || self.require_40
                || self.require_128
                || self.sf_40
                || self.sf_128,
        }
    }
}

impl Refuse {
    /// The methods allowed. MPPE needs MS-CHAP keys, so an MPPE requirement refuses
    /// PAP and CHAP-MD5 too (the C plugin's editor enforces the same rule).
    pub fn policy(&self, mppe_required: bool) -> AuthPolicy {
        AuthPolicy {
            pap: !self.pap && !mppe_required,
            chap: !self.chap && !mppe_required,
            mschap: !self.mschap,
            mschapv2: !self.mschapv2,
        }
    }
}

impl PeerOptions {
    pub fn auth_policy(&self) -> AuthPolicy {
        self.refuse.policy(self.mppe_policy().required)
    }

    pub fn mppe_policy(&self) -> MppePolicy {
        self.mppe.policy()
    }

    /// LCP echo as configured: pppd's default is off (interval 0).
    pub fn lcp_echo(&self) -> Option<(Duration, u32)> {
        match self.lcp_echo_interval {
            Some(i) if i > 0 => Some((
                Duration::from_secs(i as u64),
                self.lcp_echo_failure.unwrap_or(0).max(1),
            )),
            _ => None,
        }
    }

    fn note_unsupported(&mut self, name: &str) {
        if !self.unsupported.iter().any(|u| u == name) {
            self.unsupported.push(name.to_string());
        }
    }
}

fn read_text(path: &Path) -> Result<String, PeersError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PeersError::NotFound(path.to_path_buf()),
        _ => PeersError::Io {
            path: path.to_path_buf(),
            err: e,
        },
    })?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(PeersError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let bytes = fs::read(path).map_err(|e| PeersError::Io {
        path: path.to_path_buf(),
        err: e,
    })?;
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
pub fn load(peer: &str, ppp_dir: &Path) -> Result<PeerOptions, PeersError> {
    let path = peer_path(peer, ppp_dir);
    let mut opts = PeerOptions::default();
    read_file(&path, ppp_dir, &mut opts, 0)?;
    if opts.server.is_none() {
        return Err(PeersError::NoServer(path));
    }
    Ok(opts)
}

fn read_file(
    path: &Path,
    ppp_dir: &Path,
    opts: &mut PeerOptions,
    depth: usize,
) -> Result<(), PeersError> {
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(PeersError::IncludeDepth(path.to_path_buf()));
    }
    let text = read_text(path)?;
    opts.files.push(path.to_path_buf());
    let words: Vec<Word> = words::lines(&text).into_iter().flatten().collect();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let mut value = |opt: &str| -> Result<Word, PeersError> {
            it.next().ok_or_else(|| PeersError::MissingValue {
                file: path.to_path_buf(),
                line: w.line,
                option: opt.to_string(),
            })
        };
        let number = |v: &Word, opt: &str, min: u64, max: u64| -> Result<u64, PeersError> {
            v.text
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| PeersError::BadValue {
                    file: path.to_path_buf(),
                    line: v.line,
                    option: opt.to_string(),
                    value: v.text.clone(),
                })
        };
        let o = w.text.as_str();
        match o {
            "name" | "user" => opts.user = Some(value(o)?.text),
            "remotename" => opts.remotename = Some(value(o)?.text),
            "ipparam" => opts.ipparam = Some(value(o)?.text),
            "unit" => opts.unit = Some(number(&value(o)?, o, 0, u32::MAX as u64)? as u32),
            "pty" => {
                let v = value(o)?;
                let mut parts = v.text.split_whitespace();
                let prog = parts.next().unwrap_or("");
                if !prog.ends_with("pptp") {
                    return Err(PeersError::BadValue {
                        file: path.to_path_buf(),
                        line: v.line,
                        option: "pty".into(),
                        value: v.text.clone(),
                    });
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
                opts.server = server;
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
            "require-mppe" => opts.mppe.require = true,
            "require-mppe-40" => opts.mppe.require_40 = true,
            "require-mppe-128" => opts.mppe.require_128 = true,
            "mppe-stateful" => opts.mppe.stateful = true,
            "nomppe-stateful" => opts.mppe.stateful = false,
            "mppe-40" => opts.mppe.sf_40 = true,
            "mppe-128" => opts.mppe.sf_128 = true,
            "mppe-stateless" => opts.mppe.sf_stateless = true,
            "nomppe" | "noencrypt" => opts.mppe.nomppe = true,
            "refuse-pap" => opts.refuse.pap = true,
            "refuse-chap" => opts.refuse.chap = true,
            "refuse-mschap" => opts.refuse.mschap = true,
            "refuse-mschap-v2" => opts.refuse.mschapv2 = true,
            "refuse-eap" => opts.refuse.eap = true,
            "nobsdcomp" => opts.nobsdcomp = true,
            "nodeflate" => opts.nodeflate = true,
            "novj" => opts.novj = true,
            "lcp-echo-interval" => {
                opts.lcp_echo_interval = Some(number(&value(o)?, o, 0, 86_400)? as u32)
            }
            "lcp-echo-failure" => {
                opts.lcp_echo_failure = Some(number(&value(o)?, o, 0, 1000)? as u32)
            }
            // IPv4 needs 576; pppd's own floor for the MRU is 128.
            "mtu" => opts.mtu = Some(number(&value(o)?, o, 576, 1500)? as u16),
            "mru" => opts.mru = Some(number(&value(o)?, o, 128, 1500)? as u16),
            "defaultroute" => opts.defaultroute = true,
            "nodefaultroute" => opts.defaultroute = false,
            "usepeerdns" => opts.usepeerdns = true,
            o if HARMLESS.contains(&o) => {}
            o if UNSUPPORTED_WITH_VALUE.contains(&o) => {
                value(o)?;
                opts.note_unsupported(o);
            }
            o => opts.note_unsupported(o),
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(o.server.as_deref(), Some("198.18.0.2"));
        assert_eq!(o.user.as_deref(), Some("alice"));
        assert_eq!(o.remotename.as_deref(), Some("PPTP"));
        assert_eq!(o.ipparam.as_deref(), Some("tunnel"));
        assert!(o.nobsdcomp && o.nodeflate);
        assert_eq!(o.files.len(), 2);
        assert!(o.unsupported.is_empty(), "{:?}", o.unsupported);
        let m = o.mppe_policy();
        assert!(m.required && m.stateful && m.allow_40 && m.allow_128);
        let a = o.auth_policy();
        assert!(!a.pap && !a.chap && a.mschap && a.mschapv2);
        let pw = chap_secret(d.path(), "alice", o.remotename.as_deref())
            .unwrap()
            .unwrap();
        assert_eq!(pw.expose(), "pass word");
        assert!(chap_secret(d.path(), "bob", Some("PPTP"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn sourceforge_spelling_and_unsupported() {
        let d = seed_tree();
        fs::write(d.path().join("options.pptp"), "require-mppe mppe-40 mppe-128 mppe-stateless\nmaxfail 0 frobnicate\nlcp-echo-interval 30\nlcp-echo-failure 4\nmtu 1400\n").unwrap();
        let o = load(d.path().join("peers/PAL").to_str().unwrap(), d.path()).unwrap();
        let m = o.mppe_policy();
        assert!(m.required && m.allow_40 && m.allow_128 && !m.stateful);
        assert_eq!(
            o.unsupported,
            vec!["maxfail".to_string(), "frobnicate".to_string()]
        );
        assert_eq!(o.lcp_echo(), Some((Duration::from_secs(30), 4)));
        assert_eq!(o.mtu, Some(1400));
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
        fs::write(d.path().join("peers/X"), "name bob\n").unwrap();
        assert!(matches!(load("X", d.path()), Err(PeersError::NoServer(_))));
        assert!(matches!(
            load("nonexistent", d.path()),
            Err(PeersError::NotFound(_))
        ));
    }
}
