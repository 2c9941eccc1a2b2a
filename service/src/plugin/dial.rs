//! A connection attempt from Connect to STOPPED: the password asked for when
//! there is none, calls dialled (again, for a persistent connection that was
//! up), the password asked again when the server refuses it and someone can
//! type, and the failure NetworkManager is told.

use std::sync::Arc;

use tokio::sync::{oneshot, watch};
use tracing::{info, warn};
use zbus::object_server::{InterfaceRef, SignalEmitter};

use nm_pptp_settings::connection::OptIn;
use nm_pptp_settings::keys;
use nm_pptp_settings::nm::REFUSED_HINT;
use nm_pptp_settings::profile::Profile;
use nm_pptp_settings::Connection as PptpConnection;
use pptp_engine::auth::{AuthError, FailureKind};
use pptp_engine::redial::{self, Backoff};
use pptp_engine::secret::Password;
use pptp_engine::session::DownReason;
use pptp_runtime::TunSlot;

use super::call::run_tunnel;
use super::state::{Failure, State};
use super::{finish, set_state, Plugin};
use crate::tunnel::TunnelRunner;

/// Times an interactive connect asks again after the server refused the password.
const PASSWORD_RETRIES: u32 = 2;
/// How long a prompt may stay unanswered.
const PROMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// What one connection attempt runs with.
pub(super) struct Attempt {
    pub runner: Arc<dyn TunnelRunner>,
    pub connect_timeout: std::time::Duration,
    pub settings: PptpConnection,
    pub profile: Profile,
    /// A password is still to come: NewSecrets sends it here.
    pub secrets: Option<oneshot::Receiver<Password>>,
    /// Someone can type a new password after a refusal.
    pub can_ask_again: bool,
    pub stop: watch::Receiver<bool>,
}

/// A run's share of the password prompts: how many it may still make, and the
/// password typed for a retry on the link that the engine never took (the call
/// had ended).
pub(super) struct Prompts<'a> {
    pub left: &'a mut u32,
    pub typed: &'a mut Option<Password>,
}

pub(super) async fn dial(a: Attempt, iface: InterfaceRef<Plugin>, emitter: SignalEmitter<'static>) {
    let Attempt {
        runner,
        connect_timeout,
        mut settings,
        profile,
        secrets,
        can_ask_again,
        stop: stop_rx,
    } = a;
    let _ = iface.get().await.state_changed(&emitter).await;
    let _ = Plugin::vpn_state_changed(&emitter, State::Starting.code()).await;
    if let Some(rx) = secrets {
        match ask_password(
            &emitter,
            "A password is required to connect",
            &[keys::PASSWORD],
            rx,
            &stop_rx,
        )
        .await
        {
            Ok(pw) => settings.password = Some(pw),
            Err(code) => return finish(&iface, &emitter, code).await,
        }
    }
    // Prompts left after a refusal, on the link (R=1) or by dialling again.
    let mut asks_left = if can_ask_again { PASSWORD_RETRIES } else { 0 };
    // A persistent connection keeps its interface (and NetworkManager's
    // routes on it) from one call to the next; dropped when this ends.
    let keep = profile.persistent.then(TunSlot::default);
    let mut backoff = Backoff::default();
    let mut ever_up = false;
    let reason = loop {
        let mut typed = None;
        let (reason, was_up) = run_tunnel(
            &*runner,
            connect_timeout,
            &settings,
            profile,
            keep.clone(),
            Prompts {
                left: &mut asks_left,
                typed: &mut typed,
            },
            &iface,
            &emitter,
            stop_rx.clone(),
        )
        .await;
        if was_up {
            ever_up = true;
            backoff.reset();
        }
        if profile.persistent && ever_up && !redial::is_final(&reason) && !*stop_rx.borrow() {
            if was_up {
                // NetworkManager shows the VPN as connecting again.
                set_state(&iface, &emitter, State::Starting).await;
            }
            let wait = backoff.next_wait();
            warn!(
                "VPN connection lost: {reason}; dialling again in {} s",
                wait.as_secs()
            );
            let mut stop_waiting = stop_rx.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => continue,
                _ = pptp_runtime::stopped(&mut stop_waiting) => break DownReason::Stopped,
            }
        }
        // Nobody to ask (asks_left starts at 0, and nothing was typed) or
        // Disconnect: the refusal stands.
        let Some(why) = refused_password(&reason).filter(|_| !*stop_rx.borrow()) else {
            break reason;
        };
        // A password typed for a retry on the link that ended first (pppd
        // offers R=1 and hangs up anyway): dial again with it.
        if let Some(pw) = typed {
            info!("the server ended the call before the new password: dialling again");
            settings.password = Some(pw);
            continue;
        }
        if asks_left == 0 {
            break reason;
        }
        asks_left -= 1;
        info!(
            left = asks_left,
            "the server refused the password: asking again"
        );
        match ask_again(&iface, &emitter, &why, &stop_rx).await {
            Ok(pw) => settings.password = Some(pw),
            Err(code) => return finish(&iface, &emitter, code).await,
        }
    };
    let code = failure_for(&reason);
    if code.is_some() {
        match OptIn::for_refusal(&reason) {
            Some(o) => warn!(
                "VPN connection failed: {reason} (the connection would need {}, which weakens it)",
                o.keys()
            ),
            None => warn!("VPN connection failed: {reason}"),
        }
    } else {
        info!("VPN connection ended: {reason}");
    }
    finish(&iface, &emitter, code).await;
}

/// The server's words when it refused the password itself (someone at the
/// keyboard can then try another).
fn refused_password(reason: &DownReason) -> Option<String> {
    match reason {
        DownReason::AuthFailed(AuthError::Rejected(f)) if f.kind == FailureKind::BadCredentials => {
            Some(f.to_string())
        }
        _ => None,
    }
}

/// What NetworkManager is told when an attempt ends: nothing for a stop or a
/// session that worked until the server ended it.
fn failure_for(reason: &DownReason) -> Option<Failure> {
    match reason {
        // A session that worked, ended by the server (a connect-time limit, an
        // administrator): not a connect that failed.
        DownReason::Stopped | DownReason::SessionEnded(_) => None,
        DownReason::AuthFailed(_) => Some(Failure::LoginFailed),
        DownReason::NoIpAddress | DownReason::AddressRefused { .. } => Some(Failure::BadIpConfig),
        _ => Some(Failure::ConnectFailed),
    }
}

/// SecretsRequired after a refusal (`why`, the server's words), and the answer.
pub(super) async fn ask_again(
    iface: &InterfaceRef<Plugin>,
    emitter: &SignalEmitter<'_>,
    why: &str,
    stop: &watch::Receiver<bool>,
) -> Result<Password, Option<Failure>> {
    let (tx, rx) = oneshot::channel();
    iface.get_mut().await.secrets_waiter = Some(tx);
    let message = format!("{}. Enter the password again.", upper_first(why));
    ask_password(emitter, &message, &[keys::PASSWORD, REFUSED_HINT], rx, stop).await
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// SecretsRequired with `message` (the agent shows it: the `.name` file says
/// `supports-hints`), then the password NewSecrets brings. Err: how to finish
/// (None when Disconnect ended the wait).
async fn ask_password(
    emitter: &SignalEmitter<'_>,
    message: &str,
    hints: &[&str],
    rx: oneshot::Receiver<Password>,
    stop: &watch::Receiver<bool>,
) -> Result<Password, Option<Failure>> {
    let _ = Plugin::secrets_required(emitter, message, hints.to_vec()).await;
    let mut stop = stop.clone();
    tokio::select! {
        r = tokio::time::timeout(PROMPT_TIMEOUT, rx) => match r {
            Ok(Ok(pw)) => Ok(pw),
            // Disconnect dropped the waiter: not a failure.
            Ok(Err(_)) => Err(None),
            Err(_) => {
                warn!("no password arrived within {} s", PROMPT_TIMEOUT.as_secs());
                Err(Some(Failure::LoginFailed))
            }
        },
        _ = stop.changed() => Err(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pptp_engine::auth::ServerFailure;

    #[test]
    fn what_networkmanager_is_told() {
        assert_eq!(failure_for(&DownReason::Stopped), None);
        assert_eq!(failure_for(&DownReason::SessionEnded("limit".into())), None);
        assert_eq!(
            failure_for(&DownReason::AuthFailed(AuthError::Timeout)),
            Some(Failure::LoginFailed)
        );
        assert_eq!(
            failure_for(&DownReason::NoIpAddress),
            Some(Failure::BadIpConfig)
        );
        assert_eq!(
            failure_for(&DownReason::EchoTimeout),
            Some(Failure::ConnectFailed)
        );
    }

    #[test]
    fn only_a_refused_password_is_asked_again() {
        let refused = ServerFailure::mschap(
            b"E=691 R=0 C=00000000000000000000000000000000 V=3 M=bad password",
        );
        assert_eq!(refused.kind, FailureKind::BadCredentials);
        let why = refused_password(&DownReason::AuthFailed(AuthError::Rejected(refused)));
        assert!(why.is_some_and(|w| !w.is_empty()));
        let other = ServerFailure::mschap(b"E=649 R=0 M=no dial-in permission");
        assert_ne!(other.kind, FailureKind::BadCredentials);
        assert_eq!(
            refused_password(&DownReason::AuthFailed(AuthError::Rejected(other))),
            None
        );
        assert_eq!(
            refused_password(&DownReason::AuthFailed(AuthError::Timeout)),
            None
        );
    }

    #[test]
    fn the_servers_words_start_a_sentence() {
        assert_eq!(
            upper_first("authentication failed"),
            "Authentication failed"
        );
        assert_eq!(upper_first("ärger"), "Ärger");
        assert_eq!(upper_first(""), "");
    }
}
