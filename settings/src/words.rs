//! pppd's option-file lexer: words separated by white space, `#` comments to the
//! end of the line, double or single quotes around words with spaces, and
//! backslash escapes. Shared by peers files, options files and chap-secrets.

/// One word and the 1-based line it started on.
#[derive(Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub line: usize,
}

/// A word may be a chap-secrets password: its length and line only.
impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Word({} chars, line {})",
            self.text.chars().count(),
            self.line
        )
    }
}

impl Drop for Word {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
    }
}

/// Split a file into lines of words (a line's words stay together because
/// chap-secrets is line-oriented; peers files simply flatten them).
pub fn lines(text: &str) -> Vec<Vec<Word>> {
    let mut out: Vec<Vec<Word>> = Vec::new();
    let mut cur: Vec<Word> = Vec::new();
    let mut word: Option<String> = None;
    let mut start = 1;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    let flush = |word: &mut Option<String>, cur: &mut Vec<Word>, start: usize| {
        if let Some(w) = word.take() {
            cur.push(Word {
                text: w,
                line: start,
            });
        }
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    if n == '\n' {
                        line += 1;
                        continue;
                    }
                    word.get_or_insert_with(String::new).push(n);
                }
            }
            (Some(_), c) => {
                if c == '\n' {
                    line += 1;
                }
                word.get_or_insert_with(String::new).push(c);
            }
            (None, '"' | '\'') => {
                if word.is_none() {
                    start = line;
                }
                word.get_or_insert_with(String::new);
                quote = Some(c);
            }
            (None, '#') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                flush(&mut word, &mut cur, start);
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                line += 1;
            }
            (None, '\n') => {
                flush(&mut word, &mut cur, start);
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                line += 1;
            }
            (None, c) if c.is_whitespace() => flush(&mut word, &mut cur, start),
            (None, c) => {
                if word.is_none() {
                    start = line;
                }
                word.get_or_insert_with(String::new).push(c);
            }
        }
    }
    flush(&mut word, &mut cur, start);
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<Vec<String>> {
        lines(s)
            .into_iter()
            .map(|l| l.into_iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    #[test]
    fn debug_never_shows_a_word() {
        let l = lines("alice PPTP hunter2 *");
        let d = format!("{l:?}");
        assert!(!d.contains("hunter2"), "{d}");
    }

    #[test]
    fn quoting_comments_escapes() {
        assert_eq!(
            texts("pty \"pptp 198.18.0.2 --nolaunchpppd\"\nname alice # me\n# all comment\nremotename PPTP"),
            vec![vec!["pty", "pptp 198.18.0.2 --nolaunchpppd"], vec!["name", "alice"], vec!["remotename", "PPTP"]]
        );
        assert_eq!(
            texts("alice PPTP 'pass word' *"),
            vec![vec!["alice", "PPTP", "pass word", "*"]]
        );
        assert_eq!(texts(r"a\ b c\#d"), vec![vec!["a b", "c#d"]]);
        assert_eq!(texts("\"\" x"), vec![vec!["", "x"]]);
        let l = lines("\n\nname bob");
        assert_eq!(l[0][1].line, 3);
    }
}
