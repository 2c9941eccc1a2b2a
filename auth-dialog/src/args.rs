//! The command line secret agents give the dialog. The same options as
//! NetworkManager-pptp's dialog, plus `-t/--hint`.

use clap::Parser;
use nm_pptp_settings::nm::SERVICE;

#[derive(Debug, Parser)]
#[command(
    name = "nm-pptp-auth-dialog",
    about = "Finds or asks for a PPTP VPN password for a NetworkManager secret agent",
    version
)]
pub struct Args {
    /// The connection's UUID.
    #[arg(short = 'u', long)]
    pub uuid: Option<String>,
    /// The connection's name, shown to the user.
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// The VPN service; must be org.freedesktop.NetworkManager.pptp.
    #[arg(short = 's', long)]
    pub service: Option<String>,
    /// The user may be asked.
    #[arg(short = 'i', long)]
    pub allow_interaction: bool,
    /// The saved password failed: ask again.
    #[arg(short = 'r', long)]
    pub reprompt: bool,
    /// Print what to ask as a keyfile instead of showing a window.
    #[arg(long)]
    pub external_ui_mode: bool,
    /// Secrets the plugin asked for, or `x-vpn-message:TEXT` to show.
    #[arg(short = 't', long = "hint")]
    pub hints: Vec<String>,
}

/// A command line that was complete.
#[derive(Debug)]
pub struct Checked {
    pub uuid: String,
    pub name: String,
    pub allow_interaction: bool,
    pub reprompt: bool,
    pub external_ui_mode: bool,
    /// A message from the plugin to show instead of the default description.
    pub message: Option<String>,
    /// Secret names the plugin asked for.
    pub requested: Vec<String>,
}

const MESSAGE_HINT: &str = "x-vpn-message:";

impl Args {
    pub fn check(self) -> Result<Checked, String> {
        let (Some(uuid), Some(name), Some(service)) = (self.uuid, self.name, self.service) else {
            return Err(
                "a connection UUID (-u), name (-n) and VPN service name (-s) are required".into(),
            );
        };
        if uuid.is_empty() {
            return Err("the connection UUID (-u) is empty".into());
        }
        if service != SERVICE {
            return Err(format!(
                "this dialog serves “{SERVICE}”, not “{service}” (-s)"
            ));
        }
        let mut message = None;
        let mut requested = Vec::new();
        for h in self.hints {
            match h.strip_prefix(MESSAGE_HINT) {
                Some(m) => message = Some(m.to_string()),
                None => requested.push(h),
            }
        }
        Ok(Checked {
            uuid,
            name,
            allow_interaction: self.allow_interaction,
            reprompt: self.reprompt,
            external_ui_mode: self.external_ui_mode,
            message,
            requested,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Checked, String> {
        let a = Args::try_parse_from(std::iter::once("d").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        a.check()
    }

    #[test]
    fn the_agents_command_lines() {
        let c = parse(&[
            "-u",
            "U",
            "-n",
            "PAL",
            "-s",
            SERVICE,
            "-i",
            "-r",
            "--external-ui-mode",
        ])
        .unwrap();
        assert_eq!((c.uuid.as_str(), c.name.as_str()), ("U", "PAL"));
        assert!(c.allow_interaction && c.reprompt && c.external_ui_mode);
        let c = parse(&[
            "--uuid=U",
            "--name",
            "PAL",
            "--service",
            SERVICE,
            "-t",
            "password",
            "-t",
            "x-vpn-message:Token expired",
        ])
        .unwrap();
        assert!(!c.allow_interaction && !c.reprompt && !c.external_ui_mode);
        assert_eq!(c.requested, ["password"]);
        assert_eq!(c.message.as_deref(), Some("Token expired"));
    }

    #[test]
    fn missing_or_wrong_arguments() {
        assert!(parse(&["-u", "U", "-n", "PAL"])
            .unwrap_err()
            .contains("are required"));
        assert!(parse(&["-u", "", "-n", "PAL", "-s", SERVICE])
            .unwrap_err()
            .contains("UUID (-u) is empty"));
        assert_eq!(
            parse(&[
                "-u",
                "U",
                "-n",
                "PAL",
                "-s",
                "org.freedesktop.NetworkManager.openvpn"
            ])
            .unwrap_err(),
            "this dialog serves “org.freedesktop.NetworkManager.pptp”, not \
             “org.freedesktop.NetworkManager.openvpn” (-s)"
        );
        assert!(parse(&["--bogus"]).unwrap_err().contains("--bogus"));
    }
}
