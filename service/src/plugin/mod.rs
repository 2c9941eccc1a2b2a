//! `org.freedesktop.NetworkManager.VPN.Plugin` at
//! `/org/freedesktop/NetworkManager/VPN/Plugin`: the D-Bus object and its
//! state. Its jobs live beside it: [`request`] takes NetworkManager's
//! dictionaries apart, [`dial`] runs a connection attempt (prompts, redials),
//! [`call`] one call's events, [`ip_config`] builds what NetworkManager is
//! told, [`state`] holds NetworkManager's numbers.

mod call;
mod dial;
mod ip_config;
mod request;
pub mod state;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::warn;
use zbus::object_server::{InterfaceRef, SignalEmitter};
use zbus::zvariant::{OwnedValue, Value};
use zbus::{interface, Connection};

use nm_pptp_settings::i18n::tr;
use nm_pptp_settings::nm::flags;
use nm_pptp_settings::profile::Profile;
use nm_pptp_settings::Connection as PptpConnection;
use pptp_engine::secret::Password;

use self::request::Settings;
use self::state::{Failure, State};
use crate::tunnel::TunnelRunner;

pub const PATH: &str = "/org/freedesktop/NetworkManager/VPN/Plugin";

/// libnm's connect timer: a tunnel not up this long after the password is known
/// is given up (the engine's own timeouts are shorter; this is the backstop).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.NetworkManager.VPN.Error")]
pub enum VpnError {
    #[zbus(error)]
    ZBus(zbus::Error),
    Failed(String),
    StartingInProgress(String),
    AlreadyStarted(String),
    StoppingInProgress(String),
    AlreadyStopped(String),
    WrongState(String),
    BadArguments(String),
    LaunchFailed(String),
    InvalidConnection(String),
    InteractiveNotSupported(String),
}

pub struct Plugin {
    runner: Arc<dyn TunnelRunner>,
    connect_timeout: std::time::Duration,
    state: State,
    stop: Option<watch::Sender<bool>>,
    secrets_waiter: Option<oneshot::Sender<Password>>,
    /// Told once STOPPED is reached, so the process can exit.
    stopped: mpsc::UnboundedSender<()>,
}

impl Plugin {
    fn start(
        &mut self,
        settings: PptpConnection,
        profile: Profile,
        interactive: bool,
        emitter: SignalEmitter<'static>,
        conn: Connection,
    ) -> Result<(), VpnError> {
        match self.state {
            s if s.is_idle() => {}
            State::Starting => {
                return Err(VpnError::StartingInProgress(
                    "a connection is already starting".into(),
                ))
            }
            State::Started => return Err(VpnError::AlreadyStarted("already connected".into())),
            s => {
                return Err(VpnError::WrongState(format!(
                    "cannot connect in state {}",
                    s.code()
                )))
            }
        }
        // Ask again after a refused password only where an agent answers for this
        // connection's password (agent-owned or not saved): with a password saved
        // in the connection nothing shows that an agent exists, and NetworkManager
        // would report "no secrets" instead of the refusal.
        let can_ask_again =
            interactive && settings.password_flags & (flags::AGENT_OWNED | flags::NOT_SAVED) != 0;
        let mut secrets = None;
        if settings.needs_password() {
            let asks = settings.password_flags & (flags::NOT_SAVED | flags::AGENT_OWNED) != 0
                || settings.password_flags == flags::NONE;
            if !(interactive && asks) {
                return Err(VpnError::BadArguments(tr(
                    "Missing or invalid VPN password.",
                )));
            }
            let (tx, rx) = oneshot::channel();
            self.secrets_waiter = Some(tx);
            secrets = Some(rx);
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        self.stop = Some(stop_tx);
        self.state = State::Starting;
        let attempt = dial::Attempt {
            runner: self.runner.clone(),
            connect_timeout: profile
                .timeout
                .map_or(self.connect_timeout, |t| t.max(self.connect_timeout)),
            settings,
            profile,
            secrets,
            can_ask_again,
            stop: stop_rx,
        };
        tokio::spawn(async move {
            match conn.object_server().interface(PATH).await {
                Ok(iface) => dial::dial(attempt, iface, emitter).await,
                Err(e) => warn!(error = %e, "plugin interface vanished"),
            }
        });
        Ok(())
    }
}

async fn set_state(iface: &InterfaceRef<Plugin>, emitter: &SignalEmitter<'_>, s: State) {
    iface.get_mut().await.state = s;
    let _ = iface.get().await.state_changed(emitter).await;
    let _ = Plugin::vpn_state_changed(emitter, s.code()).await;
}

async fn finish(iface: &InterfaceRef<Plugin>, emitter: &SignalEmitter<'_>, fail: Option<Failure>) {
    if let Some(code) = fail {
        let _ = Plugin::failure(emitter, code.code()).await;
    }
    set_state(iface, emitter, State::Stopping).await;
    set_state(iface, emitter, State::Stopped).await;
    let mut p = iface.get_mut().await;
    p.stop = None;
    p.secrets_waiter = None;
    let _ = p.stopped.send(());
}

/// A received a{sv} as the borrowed form the signals take.
fn values(config: &HashMap<String, OwnedValue>) -> HashMap<&str, Value<'_>> {
    config
        .iter()
        .map(|(k, v)| (k.as_str(), Value::from(v.clone())))
        .collect()
}

#[interface(name = "org.freedesktop.NetworkManager.VPN.Plugin")]
impl Plugin {
    async fn connect(
        &mut self,
        connection: Settings,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), VpnError> {
        let s = request::connection(&connection)?;
        let profile = request::profile(&connection);
        self.start(s, profile, false, emitter.into_owned(), conn.clone())
    }

    async fn connect_interactive(
        &mut self,
        connection: Settings,
        details: HashMap<String, OwnedValue>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), VpnError> {
        // NetworkManager passes no details we act on today.
        let _ = details;
        let s = request::connection(&connection)?;
        let profile = request::profile(&connection);
        self.start(s, profile, true, emitter.into_owned(), conn.clone())
    }

    /// "" when the connection can go ahead, "vpn" when the agent must supply the password.
    async fn need_secrets(&self, settings: Settings) -> Result<String, VpnError> {
        let s = request::connection(&settings)?;
        Ok(if s.needs_password() {
            "vpn".into()
        } else {
            String::new()
        })
    }

    async fn new_secrets(&mut self, connection: Settings) -> Result<(), VpnError> {
        if self.state != State::Starting {
            return Err(VpnError::WrongState(format!(
                "no secrets were requested (state {})",
                self.state.code()
            )));
        }
        if self.secrets_waiter.is_none() {
            return Err(VpnError::WrongState("no secrets were requested".into()));
        }
        // An answer without a password leaves the request open for a proper one.
        let pw = request::secret_password(&connection)
            .ok_or_else(|| VpnError::BadArguments(tr("the new secrets hold no password")))?;
        if let Some(waiter) = self.secrets_waiter.take() {
            let _ = waiter.send(pw);
        }
        Ok(())
    }

    async fn disconnect(
        &mut self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), VpnError> {
        match self.state {
            State::Stopping => Err(VpnError::StoppingInProgress("already stopping".into())),
            State::Stopped => Err(VpnError::AlreadyStopped("not connected".into())),
            State::Init => {
                // NetworkManager gave up before Connect (the user cancelled the
                // password prompt): accepted, as libnm's plugins do, and the
                // service leaves now instead of lingering as root until its
                // idle timer.
                self.state = State::Stopped;
                let _ = self.state_changed(&emitter).await;
                let _ = Plugin::vpn_state_changed(&emitter, State::Stopped.code()).await;
                let _ = self.stopped.send(());
                Ok(())
            }
            _ => {
                if let Some(s) = &self.stop {
                    let _ = s.send(true);
                }
                // A pending password request is abandoned.
                self.secrets_waiter = None;
                Ok(())
            }
        }
    }

    async fn set_config(
        &self,
        config: HashMap<String, OwnedValue>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), VpnError> {
        Plugin::config(&emitter, values(&config))
            .await
            .map_err(VpnError::ZBus)
    }

    async fn set_ip4_config(
        &self,
        config: HashMap<String, OwnedValue>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), VpnError> {
        Plugin::ip4_config(&emitter, values(&config))
            .await
            .map_err(VpnError::ZBus)
    }

    async fn set_ip6_config(
        &self,
        config: HashMap<String, OwnedValue>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), VpnError> {
        Plugin::ip6_config(&emitter, values(&config))
            .await
            .map_err(VpnError::ZBus)
    }

    /// As libnm: report BAD_IP_CONFIG and disconnect; the reason text is only logged.
    async fn set_failure(
        &mut self,
        reason: String,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), VpnError> {
        warn!(%reason, "NetworkManager reported a failure");
        let _ = Plugin::failure(&emitter, Failure::BadIpConfig.code()).await;
        if let Some(s) = &self.stop {
            let _ = s.send(true);
        }
        Ok(())
    }

    #[zbus(property, name = "State")]
    fn state(&self) -> u32 {
        self.state.code()
    }

    #[zbus(signal, name = "StateChanged")]
    async fn vpn_state_changed(emitter: &SignalEmitter<'_>, state: u32) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn config(
        emitter: &SignalEmitter<'_>,
        config: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn ip4_config(
        emitter: &SignalEmitter<'_>,
        ip4config: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn ip6_config(
        emitter: &SignalEmitter<'_>,
        ip6config: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn secrets_required(
        emitter: &SignalEmitter<'_>,
        message: &str,
        secrets: Vec<&str>,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn login_banner(emitter: &SignalEmitter<'_>, banner: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn failure(emitter: &SignalEmitter<'_>, reason: u32) -> zbus::Result<()>;
}

/// Serves the plugin object on `conn` (any connection: the system bus, or a
/// peer-to-peer one in tests). The receiver hears each time the plugin
/// reaches STOPPED after a connection attempt.
pub async fn serve_on(
    conn: &Connection,
    runner: Arc<dyn TunnelRunner>,
) -> zbus::Result<mpsc::UnboundedReceiver<()>> {
    serve_on_with(conn, runner, CONNECT_TIMEOUT).await
}

/// As [`serve_on`], with another deadline for a tunnel to come up (tests).
pub async fn serve_on_with(
    conn: &Connection,
    runner: Arc<dyn TunnelRunner>,
    connect_timeout: std::time::Duration,
) -> zbus::Result<mpsc::UnboundedReceiver<()>> {
    let (stopped_tx, stopped_rx) = mpsc::unbounded_channel();
    let plugin = Plugin {
        runner,
        connect_timeout,
        state: State::Init,
        stop: None,
        secrets_waiter: None,
        stopped: stopped_tx,
    };
    conn.object_server().at(PATH, plugin).await?;
    Ok(stopped_rx)
}

/// Whether no connection attempt is running (INIT or STOPPED).
pub async fn is_idle(conn: &Connection) -> zbus::Result<bool> {
    let iface: InterfaceRef<Plugin> = conn.object_server().interface(PATH).await?;
    let state = iface.get().await.state;
    Ok(state.is_idle())
}

/// Asks a running connection attempt to stop; false when there is none.
pub async fn stop(conn: &Connection) -> zbus::Result<bool> {
    let iface: InterfaceRef<Plugin> = conn.object_server().interface(PATH).await?;
    let p = iface.get().await;
    Ok(match &p.stop {
        Some(s) => {
            let _ = s.send(true);
            true
        }
        None => false,
    })
}
