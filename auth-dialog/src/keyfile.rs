//! The external-UI answer (GNOME Shell, nmcli): a GKeyFile naming what to ask,
//! printed once; the agent draws the prompt itself.

use nm_pptp_settings::secret_text::push_str;
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
fn escape(out: &mut Zeroizing<String>, value: &str) {
    let mut utf8 = [0u8; 4];
    for (i, c) in value.chars().enumerate() {
        let piece: &str = match c {
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            ' ' if i == 0 => "\\s",
            c => c.encode_utf8(&mut utf8),
        };
        push_str(out, piece);
    }
}

pub fn render(texts: &Texts<'_>, password: Option<&Password>) -> Zeroizing<String> {
    // Every piece goes through secret_text: the password's value is in here.
    let mut out = Zeroizing::new(String::with_capacity(256));
    push_str(&mut out, "[VPN Plugin UI]\nVersion=2\nTitle=");
    escape(&mut out, texts.title);
    push_str(&mut out, "\nDescription=");
    escape(&mut out, texts.description);
    push_str(&mut out, "\n");
    if let Some(p) = password {
        push_str(&mut out, "\n[");
        push_str(&mut out, nm_pptp_settings::keys::PASSWORD);
        push_str(&mut out, "]\nValue=");
        if let Some(v) = &p.value {
            escape(&mut out, v);
        }
        push_str(&mut out, "\nLabel=");
        escape(&mut out, texts.password_label);
        push_str(&mut out, "\nIsSecret=true\nShouldAsk=");
        push_str(&mut out, if p.ask { "true" } else { "false" });
        push_str(&mut out, "\n");
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
