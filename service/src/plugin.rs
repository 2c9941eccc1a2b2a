//! `org.freedesktop.NetworkManager.VPN.Plugin` at `/org/freedesktop/NetworkManager/VPN/Plugin`.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};
use zbus::object_server::{InterfaceRef, SignalEmitter};
use zbus::zvariant::{OwnedValue, Value};
use zbus::{interface, Connection};
use zeroize::Zeroize;

use nm_pptp_settings::connection::OptIn;
use nm_pptp_settings::i18n::{tr, tr_fill};
use nm_pptp_settings::keys;
use nm_pptp_settings::nm::{flags, REFUSED_HINT};
use nm_pptp_settings::Connection as PptpConnection;
use pptp_engine::auth::{AuthError, FailureKind};
use pptp_engine::dhcp::{Pushed, Route};
use pptp_engine::redial::{self, Backoff};
use pptp_engine::route_policy;
use pptp_engine::secret::Password;
use pptp_engine::session::{DownReason, Event, RouterInfo, UpInfo};
use pptp_runtime::{RuntimeEvent, TunOptions, TunSlot};

use crate::tunnel::TunnelRunner;

pub const PATH: &str = "/org/freedesktop/NetworkManager/VPN/Plugin";

const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// libnm's connect timer: a tunnel not up this long after the password is known
/// is given up (the engine's own timeouts are shorter; this is the backstop).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// `NMVpnServiceState`.
pub mod state {
    pub const INIT: u32 = 1;
    pub const STARTING: u32 = 3;
    pub const STARTED: u32 = 4;
    pub const STOPPING: u32 = 5;
    pub const STOPPED: u32 = 6;
}

/// `NMVpnPluginFailure`.
pub mod failure {
    pub const LOGIN_FAILED: u32 = 0;
    pub const CONNECT_FAILED: u32 = 1;
    pub const BAD_IP_CONFIG: u32 = 2;
}

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

type Settings = HashMap<String, HashMap<String, OwnedValue>>;

/// A string dictionary taken from D-Bus whose values are wiped when dropped:
/// `vpn.secrets` holds the password. (The copy inside zbus's received message is
/// beyond our reach.)
struct WipedDict(BTreeMap<String, String>);

impl Drop for WipedDict {
    fn drop(&mut self) {
        for v in self.0.values_mut() {
            v.zeroize();
        }
    }
}

/// `vpn.<key>` as a string dictionary (empty when absent).
fn string_dict(vpn: &HashMap<String, OwnedValue>, key: &str) -> Result<WipedDict, VpnError> {
    let Some(v) = vpn.get(key) else {
        return Ok(WipedDict(BTreeMap::new()));
    };
    let v = v
        .try_clone()
        .map_err(|e| VpnError::BadArguments(e.to_string()))?;
    HashMap::<String, String>::try_from(v)
        .map(|m| WipedDict(m.into_iter().collect()))
        .map_err(|_| {
            VpnError::BadArguments(tr_fill(
                "vpn.{key} is not a string dictionary",
                &[("key", &key)],
            ))
        })
}

/// Pull `vpn.data`, `vpn.secrets` and `vpn.user-name` out of a connection dict.
/// `vpn.timeout`: NetworkManager's own deadline for this connection (0 or absent:
/// its default). A user who raised it (a server that waits for a second factor)
/// gets the same from us.
fn vpn_timeout(conn: &Settings) -> Option<std::time::Duration> {
    let t = conn.get("vpn")?.get("timeout")?;
    let secs = i32::try_from(t).ok()?;
    (secs > 0).then(|| std::time::Duration::from_secs(secs as u64))
}

/// A boolean property of the connection (false when absent, as NetworkManager
/// leaves out defaults).
fn flag(conn: &Settings, setting: &str, key: &str) -> bool {
    conn.get(setting)
        .and_then(|s| s.get(key))
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

/// What NetworkManager's connection says about a connect beyond `vpn.data`.
#[derive(Debug, Clone, Copy, Default)]
struct ConnectOptions {
    timeout: Option<std::time::Duration>,
    never_default: bool,
    /// Dial again after a lost call (announced to NetworkManager as
    /// `can-persist`), until Disconnect or a refused login.
    persistent: bool,
    /// `ipv6.method` is `disabled` or `ignore`: NetworkManager would not apply
    /// an Ip6Config, so IPv6 is neither negotiated nor reported (NetworkManager's
    /// PPP-based plugins map it to pppd's `noipv6` likewise).
    ipv6_ignored: bool,
}

impl ConnectOptions {
    fn of(conn: &Settings) -> Self {
        ConnectOptions {
            timeout: vpn_timeout(conn),
            // The connection is not to take the default route.
            never_default: flag(conn, "ipv4", "never-default"),
            persistent: flag(conn, "vpn", "persistent"),
            ipv6_ignored: conn
                .get("ipv6")
                .and_then(|s| s.get("method"))
                .and_then(|v| <&str>::try_from(v).ok())
                .is_some_and(|m| m == "disabled" || m == "ignore"),
        }
    }
}

fn vpn_setting(conn: &Settings) -> Result<PptpConnection, VpnError> {
    let vpn = conn
        .get("vpn")
        .ok_or_else(|| VpnError::BadArguments(tr("the connection has no “vpn” setting")))?;
    let data = string_dict(vpn, "data")?;
    if data.0.is_empty() {
        return Err(VpnError::BadArguments(tr("No VPN configuration options.")));
    }
    let secrets = string_dict(vpn, "secrets")?;
    let user_name = vpn
        .get("user-name")
        .and_then(|v| String::try_from(v.try_clone().ok()?).ok());
    let mut c = PptpConnection::from_vpn(&data.0, &secrets.0, user_name.as_deref())
        .map_err(|e| VpnError::BadArguments(e.to_string()))?;
    c.login_name()
        .map_err(|e| VpnError::BadArguments(e.to_string()))?;
    if c.local_address.is_none() {
        c.local_address = manual_address(conn);
    }
    Ok(c)
}

/// `ipv4.method=manual`: NetworkManager puts the first of `ipv4.addresses` on the
/// tunnel in place of the one the server assigned (checked with NetworkManager
/// 1.42), so IPCP must ask the server for that one. The `local-address` key,
/// when set, wins.
fn manual_address(conn: &Settings) -> Option<Ipv4Addr> {
    let ip4 = conn.get("ipv4")?;
    let method = ip4.get("method").and_then(|v| <&str>::try_from(v).ok())?;
    if method != "manual" {
        return None;
    }
    let list =
        <Vec<HashMap<String, OwnedValue>>>::try_from(ip4.get("address-data")?.try_clone().ok()?)
            .ok()?;
    let address = list.first()?.get("address")?;
    <&str>::try_from(address).ok()?.parse().ok()
}

fn secret_password(conn: &Settings) -> Option<Password> {
    let mut secrets = string_dict(conn.get("vpn")?, "secrets").ok()?;
    secrets
        .0
        .remove(keys::PASSWORD)
        .filter(|p| !p.is_empty())
        .map(Password::new)
}

pub struct Plugin {
    runner: Arc<dyn TunnelRunner>,
    connect_timeout: std::time::Duration,
    state: u32,
    stop: Option<watch::Sender<bool>>,
    secrets_waiter: Option<oneshot::Sender<Password>>,
    /// Told once STOPPED is reached, so the process can exit.
    stopped: mpsc::UnboundedSender<()>,
}

impl Plugin {
    fn start(
        &mut self,
        settings: PptpConnection,
        opts: ConnectOptions,
        interactive: bool,
        emitter: SignalEmitter<'static>,
        conn: Connection,
    ) -> Result<(), VpnError> {
        if !matches!(self.state, state::INIT | state::STOPPED) {
            return Err(match self.state {
                state::STARTING => {
                    VpnError::StartingInProgress("a connection is already starting".into())
                }
                state::STARTED => VpnError::AlreadyStarted("already connected".into()),
                _ => VpnError::WrongState(format!("cannot connect in state {}", self.state)),
            });
        }
        let mut settings = settings;
        // Ask again after a refused password only where an agent answers for this
        // connection's password (agent-owned or not saved): with a password saved
        // in the connection nothing shows that an agent exists, and NetworkManager
        // would report "no secrets" instead of the refusal.
        let can_ask_again =
            interactive && settings.password_flags & (flags::AGENT_OWNED | flags::NOT_SAVED) != 0;
        let mut secrets_rx = None;
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
            secrets_rx = Some(rx);
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        self.stop = Some(stop_tx);
        self.state = state::STARTING;
        let runner = self.runner.clone();
        let connect_timeout = opts
            .timeout
            .map_or(self.connect_timeout, |t| t.max(self.connect_timeout));
        tokio::spawn(async move {
            let iface: InterfaceRef<Plugin> = match conn.object_server().interface(PATH).await {
                Ok(i) => i,
                Err(e) => return warn!(error = %e, "plugin interface vanished"),
            };
            let _ = iface.get().await.state_changed(&emitter).await;
            let _ = Plugin::vpn_state_changed(&emitter, state::STARTING).await;
            if let Some(rx) = secrets_rx {
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
            let keep = opts.persistent.then(TunSlot::default);
            let mut backoff = Backoff::default();
            let mut ever_up = false;
            let reason = loop {
                let mut typed = None;
                let (reason, was_up) = run_tunnel(
                    &*runner,
                    connect_timeout,
                    &settings,
                    opts,
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
                if opts.persistent && ever_up && !redial::is_final(&reason) && !*stop_rx.borrow() {
                    if was_up {
                        // NetworkManager shows the VPN as connecting again.
                        set_state(&iface, &emitter, state::STARTING).await;
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
                // Someone is at the keyboard and the server said the password is
                // wrong: ask again (the prompt says why) instead of failing.
                let refused = match &reason {
                    DownReason::AuthFailed(AuthError::Rejected(f))
                        if f.kind == FailureKind::BadCredentials =>
                    {
                        Some(f.to_string())
                    }
                    _ => None,
                };
                // Nobody to ask (asks_left starts at 0, and nothing was typed)
                // or Disconnect: the refusal stands.
                let Some(why) = refused.filter(|_| !*stop_rx.borrow()) else {
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
            let code = match &reason {
                // A session that worked, ended by the server (a connect-time
                // limit, an administrator): not a connect that failed.
                DownReason::Stopped | DownReason::SessionEnded(_) => None,
                DownReason::AuthFailed(_) => Some(failure::LOGIN_FAILED),
                DownReason::NoIpAddress | DownReason::AddressRefused { .. } => {
                    Some(failure::BAD_IP_CONFIG)
                }
                _ => Some(failure::CONNECT_FAILED),
            };
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
        });
        Ok(())
    }
}

/// Times an interactive connect asks again after the server refused the password.
const PASSWORD_RETRIES: u32 = 2;

/// A run's share of the password prompts: how many it may still make, and the
/// password typed for a retry on the link that the engine never took (the call
/// had ended).
struct Prompts<'a> {
    left: &'a mut u32,
    typed: &'a mut Option<Password>,
}

/// SecretsRequired after a refusal (`why`, the server's words), and the answer.
async fn ask_again(
    iface: &InterfaceRef<Plugin>,
    emitter: &SignalEmitter<'_>,
    why: &str,
    stop: &watch::Receiver<bool>,
) -> Result<Password, Option<u32>> {
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
) -> Result<Password, Option<u32>> {
    let _ = Plugin::secrets_required(emitter, message, hints.to_vec()).await;
    let mut stop = stop.clone();
    tokio::select! {
        r = tokio::time::timeout(std::time::Duration::from_secs(180), rx) => match r {
            Ok(Ok(pw)) => Ok(pw),
            // Disconnect dropped the waiter: not a failure.
            Ok(Err(_)) => Err(None),
            Err(_) => {
                warn!("no password arrived within 180 s");
                Err(Some(failure::LOGIN_FAILED))
            }
        },
        _ = stop.changed() => Err(None),
    }
}

async fn set_state(iface: &InterfaceRef<Plugin>, emitter: &SignalEmitter<'_>, s: u32) {
    iface.get_mut().await.state = s;
    let _ = iface.get().await.state_changed(emitter).await;
    let _ = Plugin::vpn_state_changed(emitter, s).await;
}

async fn finish(iface: &InterfaceRef<Plugin>, emitter: &SignalEmitter<'_>, fail: Option<u32>) {
    if let Some(code) = fail {
        let _ = Plugin::failure(emitter, code).await;
    }
    set_state(iface, emitter, state::STOPPING).await;
    set_state(iface, emitter, state::STOPPED).await;
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

/// IPv4 addresses go over D-Bus as a u32 holding the address in network byte order.
fn nm_addr(a: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(a.octets())
}

/// One call, from resolving the gateway to its end: the reason it ended, and
/// whether it was up.
#[allow(clippy::too_many_arguments)]
async fn run_tunnel(
    runner: &dyn TunnelRunner,
    connect_timeout: std::time::Duration,
    settings: &PptpConnection,
    opts: ConnectOptions,
    keep: Option<TunSlot>,
    prompts: Prompts<'_>,
    iface: &InterfaceRef<Plugin>,
    emitter: &SignalEmitter<'_>,
    stop: watch::Receiver<bool>,
) -> (DownReason, bool) {
    let never_default = opts.never_default;
    // Name resolution has a deadline and hears stop, like everything after it.
    let mut stop_resolving = stop.clone();
    let resolved = tokio::select! {
        r = tokio::time::timeout(RESOLVE_TIMEOUT, runner.resolve(settings.gateway.clone())) => {
            r.unwrap_or_else(|_| Err(format!("no answer in {} s", RESOLVE_TIMEOUT.as_secs())))
        }
        _ = pptp_runtime::stopped(&mut stop_resolving) => return (DownReason::Stopped, false),
    };
    let servers = match resolved {
        Ok(s) => s,
        Err(e) => {
            return (
                DownReason::PeerUnreachable(tr_fill(
                    "cannot resolve {host}: {error}",
                    &[("host", &settings.gateway), ("error", &e)],
                )),
                false,
            )
        }
    };
    let mut cfg = match settings.client_config(pptp_runtime::os_seed()) {
        Ok(c) => c,
        Err(e) => return (DownReason::NegotiationFailed(e.to_string()), false),
    };
    // A server that allows a retry on the link (MS-CHAPv2 R=1) gets the new
    // password there, while prompts are left.
    let (pw_tx, pw_rx) = match *prompts.left {
        0 => (None, None),
        _ => {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
    };
    cfg.password_retry = pw_tx.is_some();
    if opts.ipv6_ignored {
        cfg.ppp.ipv6 = false;
    }
    // A full-tunnel VPN takes IPv6 too, whatever the server gives (see
    // block-ipv6-leak).
    let full_tunnel = !never_default && settings.block_ipv6_leak && !opts.ipv6_ignored;
    info!(gateway = %settings.gateway, addresses = ?servers, user = %cfg.user, "connecting");
    // The address in use, once the runtime says which one answered, and ours
    // on the way to it (what the server's routes may not cover).
    let mut server = servers[0];
    let mut underlay = Ipv4Addr::UNSPECIFIED;
    let route_ctx = |server, local| route_policy::Context {
        server,
        local,
        full_tunnel: !never_default,
    };
    let mut refused6 = Vec::new();
    let tun = TunOptions {
        ifname: settings.ifname(),
        assign_address: false,
        keep,
    };
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    // The tunnel hears the user's stop and, as libnm's connect timer does, a
    // stop of our own when it is not up in time.
    let (tunnel_stop, tunnel_stop_rx) = watch::channel(false);
    let mut engine = tokio::spawn(runner.run(servers, cfg, tun, ev_tx, tunnel_stop_rx, pw_rx));
    let mut stop = stop;
    let connect_deadline = tokio::time::sleep(connect_timeout);
    tokio::pin!(connect_deadline);
    let mut up = false;
    let mut up_info = None;
    let mut timed_out = false;
    // A refusal the user did not answer: the reason the call ends.
    let mut declined = None;
    let finish = |r, timed_out: bool, declined: Option<_>| match (ended(r), declined) {
        (DownReason::Stopped, Some(f)) => DownReason::AuthFailed(AuthError::Rejected(f)),
        (DownReason::Stopped, None) if timed_out => DownReason::PeerUnreachable(format!(
            "the connection did not come up within {} s",
            connect_timeout.as_secs()
        )),
        (r, _) => r,
    };
    loop {
        // Events already queued are reported before the end of the call.
        let ev = tokio::select! {
            biased;
            ev = ev_rx.recv() => ev,
            r = &mut engine => return (finish(r, timed_out, declined), up),
            _ = pptp_runtime::stopped(&mut stop), if !*tunnel_stop.borrow() => {
                let _ = tunnel_stop.send(true);
                continue;
            }
            _ = &mut connect_deadline, if !up && !timed_out => {
                warn!("not connected within {} s: giving up", connect_timeout.as_secs());
                timed_out = true;
                let _ = tunnel_stop.send(true);
                continue;
            }
        };
        let Some(ev) = ev else { break };
        match ev {
            RuntimeEvent::TunnelUp { ifname, info } => {
                up = true;
                let mut config: HashMap<&str, Value<'_>> = HashMap::new();
                config.insert("tundev", Value::from(ifname.clone()));
                config.insert("gateway", Value::from(nm_addr(server)));
                config.insert("mtu", Value::from(info.mtu as u32));
                config.insert("has-ip4", Value::from(true));
                // Without IPv6 from the server, an address of our own on the
                // link carries a full tunnel's IPv6 route, and the engine
                // refuses what comes.
                let link6 = info
                    .ipv6
                    .map(|l| l.local)
                    .or_else(|| full_tunnel.then(made_up_link_local));
                config.insert("has-ip6", Value::from(link6.is_some()));
                if opts.persistent {
                    // NetworkManager then leaves the VPN up when the physical
                    // link drops, and takes a new Config and Ip4Config from the
                    // next call.
                    config.insert("can-persist", Value::from(true));
                }
                let _ = Plugin::config(emitter, config).await;
                let class = settings.class_route(info.local, !never_default, false);
                let ip4 = ip4_config(&info, None, class);
                let _ = Plugin::ip4_config(emitter, ip4).await;
                if let Some(ll) = link6 {
                    let ip6 = ip6_config(ll, None, full_tunnel, never_default);
                    let _ = Plugin::ip6_config(emitter, ip6).await;
                    if info.ipv6.is_none() {
                        info!("no IPv6 from the server: IPv6 goes into the tunnel and is refused there");
                    }
                }
                info!(%ifname, local = %info.local, peer = %info.peer, mtu = info.mtu, mppe = %info.mppe_name(), "VPN up");
                set_state(iface, emitter, state::STARTED).await;
                up_info = Some(info);
            }
            // The server's DHCPINFORM answer comes after Up: NetworkManager takes
            // a second Ip4Config as the new configuration.
            RuntimeEvent::Session(Event::Pushed(mut pushed)) => {
                if let Some(info) = &up_info {
                    let ctx = route_ctx(server, underlay);
                    let all = pushed.routes.iter().map(|r| (r.dest, r.prefix));
                    let kept = route_policy::filter_v4(&ctx, all);
                    for ((dest, prefix), why) in &kept.refused {
                        warn!(route = %format_args!("{dest}/{prefix}"), reason = %why, "a route from the server was refused");
                    }
                    pushed.routes = kept
                        .accepted
                        .into_iter()
                        .map(|(dest, prefix)| Route { dest, prefix })
                        .collect();
                    info!(
                        routes = pushed.routes.len(),
                        domain = pushed.domain.as_deref().unwrap_or(""),
                        "routes and domain from the server"
                    );
                    let class =
                        settings.class_route(info.local, !never_default, !pushed.routes.is_empty());
                    let _ =
                        Plugin::ip4_config(emitter, ip4_config(info, Some(&pushed), class)).await;
                }
            }
            // The server's router advertisement: the global address, name
            // servers and routes replace the link-local-only configuration.
            RuntimeEvent::Session(Event::Router(mut r)) => {
                if let Some(v6) = up_info.as_ref().and_then(|i| i.ipv6) {
                    let ctx = route_ctx(server, underlay);
                    let route_policy::Filtered {
                        accepted: ok,
                        refused,
                    } = route_policy::filter_v6(&ctx, r.routes.iter().copied());
                    // Advertisements repeat: each refusal is logged once a call.
                    for (route, why) in refused {
                        if !refused6.contains(&route) {
                            warn!(route = %format_args!("{}/{}", route.0, route.1), reason = %why, "a route from the server was refused");
                            refused6.push(route);
                        }
                    }
                    r.routes = ok;
                    info!(addresses = ?r.addresses, dns = ?r.dns, routes = r.routes.len(), "IPv6 from the server");
                    let ip6 = ip6_config(v6.local, Some(&r), full_tunnel, never_default);
                    let _ = Plugin::ip6_config(emitter, ip6).await;
                }
            }
            RuntimeEvent::Session(Event::PasswordWanted(f)) => {
                let answer = match (&pw_tx, *prompts.left) {
                    (Some(tx), 1..) if !*stop.borrow() => {
                        *prompts.left -= 1;
                        info!(
                            left = *prompts.left,
                            "the server refused the password and allows another: asking"
                        );
                        ask_again(iface, emitter, &f.to_string(), &stop)
                            .await
                            .map(|pw| (tx, pw))
                    }
                    _ => Err(Some(failure::LOGIN_FAILED)),
                };
                match answer {
                    Ok((tx, pw)) => {
                        if let Err(unsent) = tx.send(pw) {
                            *prompts.typed = Some(unsent.0);
                        }
                        // The user's typing does not count against the deadline.
                        connect_deadline
                            .as_mut()
                            .reset(tokio::time::Instant::now() + connect_timeout);
                    }
                    // Disconnect: the call stops.
                    Err(None) => {
                        let _ = tunnel_stop.send(true);
                    }
                    // Nobody answered: the call ends with the server's refusal.
                    Err(Some(_)) => {
                        declined = Some(f);
                        let _ = tunnel_stop.send(true);
                    }
                }
            }
            RuntimeEvent::PasswordNotTaken(pw) => *prompts.typed = Some(pw),
            RuntimeEvent::Session(Event::Phase(p)) => tracing::debug!(phase = ?p, "phase"),
            RuntimeEvent::Resolved { peer, local } => (server, underlay) = (peer, local),
            _ => {}
        }
    }
    (finish(engine.await, timed_out, declined), up)
}

/// NetworkManager's Ip4Config for the link, and for what the server's DHCPINFORM
/// answer added: its routes, its domain, and its DNS and WINS servers after
/// IPCP's (IPCP's come first: they belong to this link; duplicates dropped).
fn ip4_config(
    info: &UpInfo,
    pushed: Option<&Pushed>,
    class_route: Option<(Ipv4Addr, u8)>,
) -> HashMap<&'static str, Value<'static>> {
    let merged = |ipcp: &[Ipv4Addr], dhcp: Option<&Vec<Ipv4Addr>>| {
        let mut all: Vec<u32> = Vec::new();
        for a in ipcp.iter().chain(dhcp.into_iter().flatten()) {
            if !all.contains(&nm_addr(*a)) {
                all.push(nm_addr(*a));
            }
        }
        all
    };
    let mut ip4: HashMap<&str, Value<'_>> = HashMap::new();
    ip4.insert("address", Value::from(nm_addr(info.local)));
    ip4.insert("ptp", Value::from(nm_addr(info.peer)));
    ip4.insert("prefix", Value::from(32u32));
    ip4.insert(
        "dns",
        Value::from(merged(&info.dns, pushed.map(|p| &p.dns))),
    );
    ip4.insert(
        "nbns",
        Value::from(merged(&info.nbns, pushed.map(|p| &p.wins))),
    );
    // (destination, prefix, next hop, metric); the next hop is the tunnel.
    let mut routes: Vec<Vec<u32>> = pushed
        .iter()
        .flat_map(|p| &p.routes)
        .map(|r| vec![nm_addr(r.dest), u32::from(r.prefix), 0, 0])
        .collect();
    if let Some((net, prefix)) = class_route {
        routes.push(vec![nm_addr(net), u32::from(prefix), 0, 0]);
    }
    if !routes.is_empty() {
        ip4.insert("routes", Value::from(routes));
    }
    if let Some(p) = pushed {
        if let Some(d) = &p.domain {
            ip4.insert("domains", Value::from(vec![d.clone()]));
        }
    }
    ip4
}

/// NetworkManager's Ip6Config: the link-local address until a router
/// advertisement gives a global one, then that address (NetworkManager takes one
/// per VPN; further SLAAC addresses are left out), its name servers and routes.
/// The default route goes through the tunnel always for a full-tunnel VPN that
/// blocks IPv6 leaks, and when the server offers itself as default router to a
/// VPN that may take the default route; a split tunnel (`never_default`) keeps
/// the user's own, whatever the server offers.
fn ip6_config(
    link_local: Ipv6Addr,
    router: Option<&RouterInfo>,
    full_tunnel: bool,
    never_default: bool,
) -> HashMap<&'static str, Value<'static>> {
    let mut ip6: HashMap<&str, Value<'_>> = HashMap::new();
    let address = router
        .and_then(|r| r.addresses.first().copied())
        .unwrap_or(link_local);
    ip6.insert("address", Value::from(address.octets().to_vec()));
    ip6.insert("prefix", Value::from(64u32));
    let offered = router.is_some_and(|r| r.default_route && !r.addresses.is_empty());
    let takes_default = full_tunnel || (offered && !never_default);
    ip6.insert("never-default", Value::from(!takes_default));
    let Some(r) = router else { return ip6 };
    if !r.dns.is_empty() {
        let dns: Vec<Vec<u8>> = r.dns.iter().map(|a| a.octets().to_vec()).collect();
        ip6.insert("dns", Value::from(dns));
    }
    // (destination, prefix, next hop, metric); the next hop is the tunnel.
    let routes: Vec<(Vec<u8>, u32, Vec<u8>, u32)> = r
        .routes
        .iter()
        .map(|(d, p)| (d.octets().to_vec(), u32::from(*p), vec![0u8; 16], 0))
        .collect();
    if !routes.is_empty() {
        ip6.insert("routes", Value::from(routes));
    }
    ip6
}

/// A link-local address for a tunnel without IPv6 from the server, to carry
/// the IPv6 routes that keep IPv6 from leaking around the VPN (NetworkManager
/// wants an address in every Ip6Config). Random, as link-local identifiers
/// may be (RFC 8981); it never leaves this host.
fn made_up_link_local() -> Ipv6Addr {
    use pptp_engine::ppp::ipv6cp::{link_local, random_id};
    link_local(random_id(&mut rand::rng(), None))
}

/// A tunnel task that panicked is a failure, not a clean stop.
fn ended(r: Result<DownReason, tokio::task::JoinError>) -> DownReason {
    r.unwrap_or_else(|e| DownReason::Internal(format!("the tunnel task ended abnormally: {e}")))
}

#[interface(name = "org.freedesktop.NetworkManager.VPN.Plugin")]
impl Plugin {
    async fn connect(
        &mut self,
        connection: Settings,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), VpnError> {
        let s = vpn_setting(&connection)?;
        let opts = ConnectOptions::of(&connection);
        self.start(s, opts, false, emitter.into_owned(), conn.clone())
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
        let s = vpn_setting(&connection)?;
        let opts = ConnectOptions::of(&connection);
        self.start(s, opts, true, emitter.into_owned(), conn.clone())
    }

    /// "" when the connection can go ahead, "vpn" when the agent must supply the password.
    async fn need_secrets(&self, settings: Settings) -> Result<String, VpnError> {
        let s = vpn_setting(&settings)?;
        Ok(if s.needs_password() {
            "vpn".into()
        } else {
            String::new()
        })
    }

    async fn new_secrets(&mut self, connection: Settings) -> Result<(), VpnError> {
        if self.state != state::STARTING {
            return Err(VpnError::WrongState(format!(
                "no secrets were requested (state {})",
                self.state
            )));
        }
        if self.secrets_waiter.is_none() {
            return Err(VpnError::WrongState("no secrets were requested".into()));
        }
        // An answer without a password leaves the request open for a proper one.
        let pw = secret_password(&connection)
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
            state::STOPPING => Err(VpnError::StoppingInProgress("already stopping".into())),
            state::STOPPED => Err(VpnError::AlreadyStopped("not connected".into())),
            state::INIT => {
                // NetworkManager gave up before Connect (the user cancelled the
                // password prompt): accepted, as libnm's plugins do, and the
                // service leaves now instead of lingering as root until its
                // idle timer.
                self.state = state::STOPPED;
                let _ = self.state_changed(&emitter).await;
                let _ = Plugin::vpn_state_changed(&emitter, state::STOPPED).await;
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
        let _ = Plugin::failure(&emitter, failure::BAD_IP_CONFIG).await;
        if let Some(s) = &self.stop {
            let _ = s.send(true);
        }
        Ok(())
    }

    #[zbus(property, name = "State")]
    fn state(&self) -> u32 {
        self.state
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
        state: state::INIT,
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
    Ok(matches!(state, state::INIT | state::STOPPED))
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
