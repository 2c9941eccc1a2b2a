//! The external-UI answer (GNOME Shell, nmcli): a GKeyFile naming what to ask,
//! printed once; the agent draws the prompt itself.

use std::fmt::Write;

use zeroize::Zeroizing;

use crate::plan::Password;

/// Texts of the answer, already translated.
pub struct Texts<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub password_label: &'a str,
}

/// GKeyFile value escaping, so a name or password with a newline, a backslash or
/// a leading space reads back as written.
fn escape(out: &mut String, value: &str) {
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' ' if i == 0 => out.push_str("\\s"),
            c => out.push(c),
        }
    }
}

pub fn render(texts: &Texts<'_>, password: Option<&Password>) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(256));
    out.push_str("[VPN Plugin UI]\nVersion=2\nTitle=");
    escape(&mut out, texts.title);
    out.push_str("\nDescription=");
    escape(&mut out, texts.description);
    out.push('\n');
    if let Some(p) = password {
        out.push_str("\n[");
        out.push_str(nm_pptp_settings::keys::PASSWORD);
        out.push_str("]\nValue=");
        if let Some(v) = &p.value {
            escape(&mut out, v);
        }
        out.push_str("\nLabel=");
        escape(&mut out, texts.password_label);
        let _ = write!(out, "\nIsSecret=true\nShouldAsk={}\n", p.ask);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Texts<'static> = Texts {
        title: "Authenticate VPN",
        description: "Line one\nline “two”",
        password_label: "Password",
    };

    #[test]
    fn with_password() {
        let p = Password {
            value: Some(Zeroizing::new(" a\\b".into())),
            ask: false,
            refused: None,
        };
        assert_eq!(
            render(&T, Some(&p)).as_str(),
            "[VPN Plugin UI]\nVersion=2\nTitle=Authenticate VPN\n\
             Description=Line one\\nline “two”\n\n[password]\nValue=\\sa\\\\b\n\
             Label=Password\nIsSecret=true\nShouldAsk=false\n"
        );
    }

    #[test]
    fn asking_with_empty_value() {
        let p = Password {
            value: None,
            ask: true,
            refused: Some(Zeroizing::new("old".into())),
        };
        let out = render(&T, Some(&p));
        assert!(
            !out.contains("old"),
            "the refused password is never printed"
        );
        assert!(
            out.contains("\n[password]\nValue=\nLabel=Password\nIsSecret=true\nShouldAsk=true\n")
        );
    }

    #[test]
    fn without_password_there_is_no_group() {
        let out = render(&T, None);
        assert!(out.starts_with("[VPN Plugin UI]\nVersion=2\n"));
        assert!(!out.contains("[password]"));
    }
}
