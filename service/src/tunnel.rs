//! What the service asks of a tunnel, behind a trait: the real one runs the
//! engine's runtime (TCP, raw GRE, TUN, needs CAP_NET_ADMIN); tests put a fake
//! here that reports Up and Down when told to.

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;

use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, DownReason};
use pptp_runtime::{RuntimeEvent, TunOptions};
use tokio::sync::{mpsc, watch};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait TunnelRunner: Send + Sync + 'static {
    /// The gateway's IPv4 addresses, found before the tunnel exists (once it is
    /// the default route, DNS may go through it).
    fn resolve(&self, gateway: String) -> BoxFuture<'static, Result<Vec<Ipv4Addr>, String>>;

    /// Runs one call, to the first of `servers` that answers, until it ends,
    /// reporting through `events` (`Resolved` names the address in use); `stop`
    /// turning true asks for a polite disconnect; `passwords` answers the
    /// engine's `PasswordWanted` (None: nobody can type one). The device is gone
    /// when it returns.
    fn run(
        &self,
        servers: Vec<Ipv4Addr>,
        cfg: ClientConfig,
        tun: TunOptions,
        events: mpsc::UnboundedSender<RuntimeEvent>,
        stop: watch::Receiver<bool>,
        passwords: Option<mpsc::UnboundedReceiver<Password>>,
    ) -> BoxFuture<'static, DownReason>;
}

/// The engine's own runtime.
pub struct RealTunnel;

impl TunnelRunner for RealTunnel {
    fn resolve(&self, gateway: String) -> BoxFuture<'static, Result<Vec<Ipv4Addr>, String>> {
        Box::pin(async move {
            pptp_runtime::resolve(&gateway)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn run(
        &self,
        servers: Vec<Ipv4Addr>,
        cfg: ClientConfig,
        tun: TunOptions,
        events: mpsc::UnboundedSender<RuntimeEvent>,
        stop: watch::Receiver<bool>,
        passwords: Option<mpsc::UnboundedReceiver<Password>>,
    ) -> BoxFuture<'static, DownReason> {
        Box::pin(pptp_runtime::run(
            servers, cfg, tun, events, stop, passwords,
        ))
    }
}
