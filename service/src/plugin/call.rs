//! One call, from resolving the gateway to its end: the tunnel task started
//! and its events turned into NetworkManager's signals (Config, Ip4Config,
//! Ip6Config as the server adds routes), a password asked for a retry on the
//! link, the connect deadline.

use std::net::Ipv4Addr;

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};
use zbus::object_server::{InterfaceRef, SignalEmitter};

use nm_pptp_settings::i18n::tr_fill;
use nm_pptp_settings::profile::Profile;
use nm_pptp_settings::Connection as PptpConnection;
use pptp_engine::auth::AuthError;
use pptp_engine::dhcp::Route;
use pptp_engine::route_policy;
use pptp_engine::session::{DownReason, Event};
use pptp_runtime::{RuntimeEvent, TunOptions, TunSlot};

use super::dial::{ask_again, Prompts};
use super::ip_config::{self, ip4_config, ip6_config, made_up_link_local};
use super::state::{Failure, State};
use super::{set_state, Plugin};
use crate::tunnel::TunnelRunner;

const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// One call, from resolving the gateway to its end: the reason it ended, and
/// whether it was up.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_tunnel(
    runner: &dyn TunnelRunner,
    connect_timeout: std::time::Duration,
    settings: &PptpConnection,
    profile: Profile,
    keep: Option<TunSlot>,
    prompts: Prompts<'_>,
    iface: &InterfaceRef<Plugin>,
    emitter: &SignalEmitter<'_>,
    stop: watch::Receiver<bool>,
) -> (DownReason, bool) {
    let never_default = profile.never_default;
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
    // A server that allows a retry on the link (MS-CHAPv2 R=1) gets the new
    // password there, while prompts are left.
    let (pw_tx, pw_rx) = match *prompts.left {
        0 => (None, None),
        _ => {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
    };
    let seed = pptp_runtime::os_seed();
    let cfg = match settings.client_config_for(seed, &profile, pw_tx.is_some()) {
        Ok(c) => c,
        Err(e) => return (DownReason::NegotiationFailed(e.to_string()), false),
    };
    // A full-tunnel VPN takes IPv6 too, whatever the server gives (see
    // block-ipv6-leak).
    let full_tunnel = profile.full_tunnel_ipv6(settings.block_ipv6_leak);
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
                // Without IPv6 from the server, an address of our own on the
                // link carries a full tunnel's IPv6 route, and the engine
                // refuses what comes.
                let link6 = info
                    .ipv6
                    .map(|l| l.local)
                    .or_else(|| full_tunnel.then(made_up_link_local));
                let config = ip_config::config(&ifname, server, &info, link6, profile.persistent);
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
                set_state(iface, emitter, State::Started).await;
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
                    _ => Err(Some(Failure::LoginFailed)),
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

/// A tunnel task that panicked is a failure, not a clean stop.
fn ended(r: Result<DownReason, tokio::task::JoinError>) -> DownReason {
    r.unwrap_or_else(|e| DownReason::Internal(format!("the tunnel task ended abnormally: {e}")))
}
