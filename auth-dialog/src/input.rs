//! What a secret agent writes on the dialog's standard input: `DATA_KEY=`/`DATA_VAL=`
//! and `SECRET_KEY=`/`SECRET_VAL=` pairs (values continued on lines starting with
//! `=`), ended by `DONE`; later, in classic mode, `QUIT` or `CANCEL`.
//!
//! Reading is bounded in line length, in total size and in time: an agent that
//! stalls or floods the pipe gets an error naming what went wrong, not a hung
//! dialog.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nm_pptp_settings::secret_text;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// NetworkManager's own reader gives up on lines longer than this.
pub const MAX_LINE: usize = 512 * 1024;
/// Everything before `DONE`; real connections send a few hundred bytes.
pub const MAX_TOTAL: usize = 4 * 1024 * 1024;
/// Agents write the whole request as soon as they start the dialog.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputError {
    #[error("line {line} on standard input is longer than {MAX_LINE} bytes")]
    LineTooLong { line: usize },
    #[error("more than {MAX_TOTAL} bytes on standard input before DONE")]
    TooMuch,
    #[error("line {line} on standard input is not valid UTF-8")]
    NotUtf8 { line: usize },
    #[error("line {line} on standard input: {what}")]
    Malformed { line: usize, what: &'static str },
    #[error("standard input ended before DONE")]
    NoDone,
    #[error("no DONE on standard input within {} seconds", READ_TIMEOUT.as_secs())]
    Timeout,
    #[error("reading standard input failed: {0}")]
    Io(String),
}

/// One line, without its terminator. Wiped when dropped: secret values pass through.
pub type Line = Zeroizing<String>;

/// The connection's `vpn.data` and `vpn.secrets` as the agent sent them.
#[derive(Default)]
pub struct Details {
    pub data: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for Details {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Details")
            .field("data", &self.data)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Data,
    Secrets,
}

/// The `DONE`-terminated request, one line at a time.
#[derive(Default)]
pub struct DetailsParser {
    details: Details,
    line: usize,
    total: usize,
    /// A key waiting for its value.
    key: Option<(Table, String)>,
    /// The item the next continuation line extends.
    last: Option<(Table, String)>,
}

impl DetailsParser {
    /// Feeds one line; returns the details once `DONE` arrives.
    pub fn feed(&mut self, line: &str) -> Result<Option<Details>, InputError> {
        self.line += 1;
        self.total += line.len() + 1;
        if self.total > MAX_TOTAL {
            return Err(InputError::TooMuch);
        }
        let malformed = |what| InputError::Malformed {
            line: self.line,
            what,
        };
        if line == "DONE" {
            if self.key.is_some() {
                return Err(malformed("DONE arrived where a value was expected"));
            }
            return Ok(Some(std::mem::take(&mut self.details)));
        }
        if line.is_empty() {
            return Ok(None);
        }
        if let Some(rest) = line.strip_prefix('=') {
            let Some((table, key)) = &self.last else {
                return Err(malformed("a continuation line follows no value"));
            };
            match table {
                Table::Data => {
                    let v = self.details.data.get_mut(key).expect("last names an item");
                    v.push('\n');
                    v.push_str(rest);
                }
                Table::Secrets => {
                    let v = self
                        .details
                        .secrets
                        .get_mut(key)
                        .expect("last names an item");
                    secret_text::push_str(v, "\n");
                    secret_text::push_str(v, rest);
                }
            }
            return Ok(None);
        }
        let (table, is_key, rest) = if let Some(r) = line.strip_prefix("DATA_KEY=") {
            (Table::Data, true, r)
        } else if let Some(r) = line.strip_prefix("DATA_VAL=") {
            (Table::Data, false, r)
        } else if let Some(r) = line.strip_prefix("SECRET_KEY=") {
            (Table::Secrets, true, r)
        } else if let Some(r) = line.strip_prefix("SECRET_VAL=") {
            (Table::Secrets, false, r)
        } else {
            return Err(malformed(
                "expected DATA_KEY=, DATA_VAL=, SECRET_KEY=, SECRET_VAL=, a continuation or DONE",
            ));
        };
        if is_key {
            if self.key.is_some() {
                return Err(malformed("a key follows a key that has no value"));
            }
            if rest.is_empty() {
                return Err(malformed("empty key"));
            }
            self.key = Some((table, rest.to_string()));
            self.last = None;
            return Ok(None);
        }
        match self.key.take() {
            Some((t, key)) if t == table => {
                match table {
                    Table::Data => drop(self.details.data.insert(key.clone(), rest.to_string())),
                    Table::Secrets => drop(
                        self.details
                            .secrets
                            .insert(key.clone(), Zeroizing::new(rest.to_string())),
                    ),
                }
                self.last = Some((table, key));
                Ok(None)
            }
            Some(_) => Err(malformed("a value follows a key of the other kind")),
            None => Err(malformed("a value follows no key")),
        }
    }
}

/// Splits a byte stream into bounded lines. A NUL byte ends a line, as in
/// NetworkManager's reader.
pub struct LineSplitter {
    buf: Zeroizing<Vec<u8>>,
    line: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter {
            buf: Zeroizing::new(Vec::with_capacity(256)),
            line: 0,
        }
    }
}

impl LineSplitter {
    /// Feeds bytes, calling `out` with every complete line.
    pub fn push(
        &mut self,
        bytes: &[u8],
        out: &mut dyn FnMut(Line) -> bool,
    ) -> Result<bool, InputError> {
        for &b in bytes {
            if b == b'\n' || b == 0 {
                self.line += 1;
                let mut raw = std::mem::take(&mut *self.buf);
                if raw.last() == Some(&b'\r') {
                    raw.pop();
                }
                let line = match String::from_utf8(raw) {
                    Ok(s) => Zeroizing::new(s),
                    Err(e) => {
                        e.into_bytes().zeroize();
                        return Err(InputError::NotUtf8 { line: self.line });
                    }
                };
                if !out(line) {
                    return Ok(false);
                }
            } else {
                if self.buf.len() >= MAX_LINE {
                    return Err(InputError::LineTooLong {
                        line: self.line + 1,
                    });
                }
                secret_text::push_byte(&mut self.buf, b);
            }
        }
        Ok(true)
    }
}

/// What the reader thread sends.
pub enum Event {
    Line(Line),
    Eof,
    Failed(InputError),
}

/// Standard input read on its own thread, so every wait on it has a deadline.
pub struct Lines {
    rx: mpsc::Receiver<Event>,
    ended: bool,
    /// `QUIT` already went by (an agent may send it early).
    quit: bool,
}

impl Lines {
    pub fn spawn(mut input: impl Read + Send + 'static) -> Lines {
        // A small channel: the reader blocks rather than buffering a flood.
        let (tx, rx) = mpsc::sync_channel(64);
        std::thread::spawn(move || {
            let mut split = LineSplitter::default();
            let mut chunk = Zeroizing::new([0u8; 4096]);
            loop {
                let n = match input.read(&mut chunk[..]) {
                    Ok(0) => {
                        let _ = tx.send(Event::Eof);
                        return;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Event::Failed(InputError::Io(e.to_string())));
                        return;
                    }
                };
                let mut send = |line| tx.send(Event::Line(line)).is_ok();
                match split.push(&chunk[..n], &mut send) {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        let _ = tx.send(Event::Failed(e));
                        return;
                    }
                }
            }
        });
        Lines {
            rx,
            ended: false,
            quit: false,
        }
    }

    /// The next event, or `None` once `deadline` passes.
    pub fn next_before(&mut self, deadline: Instant) -> Option<Event> {
        if self.ended {
            return Some(Event::Eof);
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(wait) {
            Ok(e) => {
                match &e {
                    Event::Line(l) if l.trim() == "QUIT" => self.quit = true,
                    Event::Line(_) => {}
                    _ => self.ended = true,
                }
                Some(e)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.ended = true;
                Some(Event::Eof)
            }
        }
    }

    /// The next event if one is waiting, without blocking.
    pub fn poll(&mut self) -> Option<Event> {
        self.next_before(Instant::now())
    }

    /// Reads the request up to `DONE`.
    pub fn read_details(&mut self, timeout: Duration) -> Result<Details, InputError> {
        let deadline = Instant::now() + timeout;
        let mut parser = DetailsParser::default();
        loop {
            match self.next_before(deadline) {
                None => return Err(InputError::Timeout),
                Some(Event::Eof) => return Err(InputError::NoDone),
                Some(Event::Failed(e)) => return Err(e),
                Some(Event::Line(line)) => {
                    if let Some(d) = parser.feed(&line)? {
                        return Ok(d);
                    }
                }
            }
        }
    }

    /// After answering in classic mode, waits until the agent says `QUIT`, closes
    /// the pipe, or `timeout` passes, whichever is first.
    pub fn wait_for_quit(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.quit {
            if !matches!(self.next_before(deadline), Some(Event::Line(_))) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Details, InputError> {
        let mut lines = Lines::spawn(std::io::Cursor::new(text.as_bytes().to_vec()));
        lines.read_details(Duration::from_secs(5))
    }

    #[test]
    fn data_secrets_and_continuations() {
        let d = parse(
            "DATA_KEY=gateway\nDATA_VAL=vpn.example.com\n\nDATA_KEY=password-flags\nDATA_VAL=1\n\n\
             DATA_KEY=note\nDATA_VAL=first\n=second\n\n\
             SECRET_KEY=password\nSECRET_VAL=pass word\n\nDONE\nQUIT\n",
        )
        .unwrap();
        assert_eq!(d.data["gateway"], "vpn.example.com");
        assert_eq!(d.data["password-flags"], "1");
        assert_eq!(d.data["note"], "first\nsecond");
        assert_eq!(d.secrets["password"].as_str(), "pass word");
        assert!(!format!("{d:?}").contains("pass word"));
    }

    #[test]
    fn nul_and_crlf_end_lines() {
        let d = parse("DATA_KEY=a\0DATA_VAL=b\r\nDONE\0").unwrap();
        assert_eq!(d.data["a"], "b");
    }

    #[test]
    fn empty_request_is_well_formed() {
        let d = parse("DONE\n").unwrap();
        assert!(d.data.is_empty() && d.secrets.is_empty());
    }

    #[test]
    fn malformed_lines_are_named() {
        let cases = [
            (
                "hello\nDONE\n",
                1,
                "expected DATA_KEY=, DATA_VAL=, SECRET_KEY=, SECRET_VAL=, a continuation or DONE",
            ),
            ("DATA_VAL=x\nDONE\n", 1, "a value follows no key"),
            (
                "DATA_KEY=a\nDATA_KEY=b\n",
                2,
                "a key follows a key that has no value",
            ),
            (
                "DATA_KEY=a\nSECRET_VAL=b\n",
                2,
                "a value follows a key of the other kind",
            ),
            ("=x\n", 1, "a continuation line follows no value"),
            ("DATA_KEY=\n", 1, "empty key"),
            (
                "DATA_KEY=a\nDONE\n",
                2,
                "DONE arrived where a value was expected",
            ),
        ];
        for (text, line, what) in cases {
            assert_eq!(
                parse(text).unwrap_err(),
                InputError::Malformed { line, what },
                "{text:?}"
            );
        }
    }

    #[test]
    fn missing_done_is_an_error() {
        assert_eq!(
            parse("DATA_KEY=a\nDATA_VAL=b\n").unwrap_err(),
            InputError::NoDone
        );
        assert_eq!(parse("").unwrap_err(), InputError::NoDone);
    }

    #[test]
    fn bounds() {
        let long = format!("DATA_KEY=a\nDATA_VAL={}\nDONE\n", "x".repeat(MAX_LINE));
        assert_eq!(
            parse(&long).unwrap_err(),
            InputError::LineTooLong { line: 2 }
        );
        let item = format!("DATA_KEY=a\nDATA_VAL={}\n", "x".repeat(MAX_LINE - 20));
        assert_eq!(parse(&item.repeat(10)).unwrap_err(), InputError::TooMuch);
        assert_eq!(
            parse("DATA_KEY=\u{0}\u{ff}").unwrap_err(),
            InputError::Malformed {
                line: 1,
                what: "empty key"
            }
        );
        let mut lines = Lines::spawn(std::io::Cursor::new(b"DATA_KEY=\xff\n".to_vec()));
        assert_eq!(
            lines.read_details(Duration::from_secs(5)).unwrap_err(),
            InputError::NotUtf8 { line: 1 }
        );
    }

    /// A reader that never returns, like an agent that keeps the pipe open.
    struct Stalled(mpsc::Receiver<()>);
    impl Read for Stalled {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(0)
        }
    }

    #[test]
    fn stalled_input_times_out() {
        let (_keep, rx) = mpsc::channel();
        let mut lines = Lines::spawn(Stalled(rx));
        let start = Instant::now();
        assert_eq!(
            lines.read_details(Duration::from_millis(200)).unwrap_err(),
            InputError::Timeout
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn quit_ends_the_wait_early() {
        let mut lines = Lines::spawn(std::io::Cursor::new(b"DONE\nnoise\nQUIT\n".to_vec()));
        lines.read_details(Duration::from_secs(5)).unwrap();
        let start = Instant::now();
        lines.wait_for_quit(Duration::from_secs(20));
        assert!(start.elapsed() < Duration::from_secs(2));
        // The reader thread reports the end on its own time (late on a loaded
        // machine): wait for it, boundedly, rather than poll once.
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(matches!(lines.next_before(deadline), Some(Event::Eof)));
    }

    #[test]
    fn an_early_quit_is_remembered() {
        let mut lines = Lines::spawn(std::io::Cursor::new(
            b"DONE
QUIT
"
            .to_vec(),
        ));
        lines.read_details(Duration::from_secs(5)).unwrap();
        let soon = Instant::now() + Duration::from_secs(2);
        assert!(matches!(lines.next_before(soon), Some(Event::Line(_))));
        let start = Instant::now();
        lines.wait_for_quit(Duration::from_secs(20));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    proptest::proptest! {
        /// Whatever an agent writes, parsing ends in details or an error, never a panic.
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(b'\n'),
                proptest::strategy::Just(b'='),
                proptest::strategy::Just(0u8),
                proptest::num::u8::ANY,
            ], 0..400),
            words in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just("DATA_KEY=k\n"),
                proptest::strategy::Just("DATA_VAL=v\n"),
                proptest::strategy::Just("SECRET_KEY=password\n"),
                proptest::strategy::Just("SECRET_VAL=p\n"),
                proptest::strategy::Just("=more\n"),
                proptest::strategy::Just("\n"),
                proptest::strategy::Just("DONE\n"),
            ], 0..30)) {
            let mut input: Vec<u8> = words.concat().into_bytes();
            input.extend_from_slice(&bytes);
            let mut split = LineSplitter::default();
            let mut parser = DetailsParser::default();
            let mut result = None;
            let _ = split.push(&input, &mut |line| {
                match parser.feed(&line) {
                    Ok(None) => true,
                    other => {
                        result = Some(other.map(|d| d.is_some()));
                        false
                    }
                }
            });
            if let Some(Ok(done)) = result {
                proptest::prop_assert!(done);
            }
        }
    }
}
