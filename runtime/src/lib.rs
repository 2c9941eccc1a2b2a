//! The tokio runtime around a [`Session`]: TCP on port 1723, GRE over a raw
//! socket, IP packets through a TUN device. Everything protocol-related stays in
//! the session; this module only moves bytes and time. The client connects
//! ([`run`]); the server role ([`serve`], for the benchmark's test peer) accepts.

mod batch;
mod gre_socket;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};
use zeroize::Zeroize;

pub use gre_socket::GreSocket;

use pptp_engine::secret::Password;
use pptp_engine::session::{
    ClientConfig, ClientSession, ControlSide, DownReason, Event, ServerConfig, ServerSession,
    Session, UpInfo,
};

pub const PPTP_PORT: u16 = 1723;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Per address, when a name has several.
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A control message that cannot be written in this long (a server that stopped
/// reading) means the control connection is lost: the loop must not wedge on it,
/// or stop would never be heard.
const TCP_WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// Reads from one source (TUN or GRE) that fail this many times in a row, without a
/// success in between, mean the source is broken (a deleted interface, a closed
/// socket), not unlucky: the call ends instead of spinning on the error.
const REPEATED_READ_ERRORS: u32 = 64;

/// How the tunnel interface is set up.
#[derive(Debug, Clone, Default)]
pub struct TunOptions {
    /// Interface name (the kernel picks `tunN` when absent).
    pub ifname: Option<String>,
    /// Put the IPCP addresses on the interface ourselves (standalone mode). In
    /// NetworkManager mode NM does it from the Ip4Config we report.
    pub assign_address: bool,
    /// Where the interface waits between calls of a reconnecting owner: a call
    /// takes it from here when it comes up and leaves it here when it ends.
    pub keep: Option<TunSlot>,
}

/// A tunnel interface kept between calls. A reconnecting owner gives each call
/// the same slot, so the interface, and the routes and addresses the system put
/// on it, outlive a dropped call; dropping the last handle removes it.
#[derive(Clone, Default)]
pub struct TunSlot(Arc<Mutex<Option<tun_rs::AsyncDevice>>>);

impl std::fmt::Debug for TunSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TunSlot").field(&self.is_held()).finish()
    }
}

/// The same slot (not merely both empty).
impl PartialEq for TunSlot {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl TunSlot {
    /// Whether an interface is waiting here.
    pub fn is_held(&self) -> bool {
        self.lock().is_some()
    }

    /// Removes the interface now (the owner gives up reconnecting).
    pub fn release(&self) {
        self.lock().take();
    }

    fn take(&self) -> Option<tun_rs::AsyncDevice> {
        self.lock().take()
    }

    fn put(&self, dev: tun_rs::AsyncDevice) {
        *self.lock() = Some(dev);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<tun_rs::AsyncDevice>> {
        // A panic elsewhere while holding it leaves a device or none: both usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the runtime tells its owner.
#[derive(Debug, Clone)]
pub enum RuntimeEvent {
    /// The control connection is up: `peer` is the server's address in use
    /// (the first of the gateway's addresses that accepted it; for a server,
    /// the client's), `local` our own address on that path.
    Resolved { peer: Ipv4Addr, local: Ipv4Addr },
    /// What the session reported, but for its Up: that comes as
    /// [`RuntimeEvent::TunnelUp`], once the interface exists.
    Session(Event),
    /// A password sent for a retry that the call could no longer use (it was
    /// ending): dial again with it rather than ask again.
    PasswordNotTaken(Password),
    /// The tunnel is up on this interface.
    TunnelUp { ifname: String, info: UpInfo },
}

/// A fresh seed for a session's call ID, magic numbers and challenges, from the
/// operating system's generator (the sans-IO core never draws randomness itself).
pub fn os_seed() -> [u8; 32] {
    use rand::RngCore;
    let mut s = [0u8; 32];
    rand::rng().fill_bytes(&mut s);
    s
}

/// Resolves once `stop` is (or becomes) true, or its sender is gone.
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Resolve the gateway to its IPv4 addresses, in the resolver's order and
/// without repeats, before the tunnel exists: once the tunnel carries the
/// default route, DNS may go through it and fail.
pub async fn resolve(host: &str) -> io::Result<Vec<Ipv4Addr>> {
    if let Ok(a) = host.parse::<Ipv4Addr>() {
        return Ok(vec![a]);
    }
    let mut found = Vec::new();
    for a in tokio::net::lookup_host((host, PPTP_PORT)).await? {
        if let SocketAddr::V4(v4) = a {
            if !found.contains(v4.ip()) {
                found.push(*v4.ip());
            }
        }
    }
    if found.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no IPv4 address"),
        ));
    }
    Ok(found)
}

/// Connect to the first of `servers` that accepts, in order (a gateway name
/// often has several addresses, not all of them up). Each gets a share of
/// [`CONNECT_TIMEOUT`], at least [`MIN_CONNECT_TIMEOUT`]; stop ends the search.
async fn connect_first(
    servers: &[Ipv4Addr],
    stop: &mut watch::Receiver<bool>,
) -> Result<(TcpStream, Ipv4Addr), DownReason> {
    let each = (CONNECT_TIMEOUT / servers.len().max(1) as u32).max(MIN_CONNECT_TIMEOUT);
    let mut failures = Vec::new();
    for &server in servers {
        let connect =
            tokio::time::timeout(each, TcpStream::connect((IpAddr::V4(server), PPTP_PORT)));
        let connected = tokio::select! {
            r = connect => r,
            _ = stopped(stop) => return Err(DownReason::Stopped),
        };
        match connected {
            Ok(Ok(s)) => return Ok((s, server)),
            Ok(Err(e)) => failures.push(format!("{server}:{PPTP_PORT} failed: {e}")),
            Err(_) => failures.push(format!("{server}:{PPTP_PORT} timed out")),
        }
        debug!(
            failure = failures.last().map(String::as_str),
            "trying the next address"
        );
    }
    Err(DownReason::PeerUnreachable(format!(
        "TCP connection to {}",
        failures.join("; ")
    )))
}

/// Run one call, to the first of `servers` that answers, until it ends. `stop`
/// turning true asks for a polite disconnect; `passwords` brings the answers to
/// [`Event::PasswordWanted`] (None: nobody can type one).
/// The returned reason is why it ended. The TUN device is gone when this returns.
pub async fn run(
    servers: Vec<Ipv4Addr>,
    cfg: ClientConfig,
    tun_opts: TunOptions,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    stop: watch::Receiver<bool>,
    passwords: Option<mpsc::UnboundedReceiver<Password>>,
) -> DownReason {
    let mut stop_connect = stop.clone();
    let (tcp, server) = match connect_first(&servers, &mut stop_connect).await {
        Ok(c) => c,
        Err(reason) => return reason,
    };
    let local = local_v4(&tcp);
    let _ = events.send(RuntimeEvent::Resolved {
        peer: server,
        local,
    });
    let _ = tcp.set_nodelay(true);
    let session = ClientSession::new(
        ClientConfig {
            server: Some(server),
            ..cfg
        },
        Instant::now(),
    );
    let gre = match GreSocket::connect(server, session.call_id()) {
        Ok(g) => g,
        Err(e) => {
            return DownReason::PeerUnreachable(format!(
                "cannot open a raw GRE socket (needs CAP_NET_RAW): {e}"
            ))
        }
    };
    let (tcp_rx, tcp_tx) = tcp.into_split();
    drive(
        session, tcp_rx, tcp_tx, gre, tun_opts, events, stop, passwords,
    )
    .await
}

/// Serve the call of a client accepted on TCP 1723 until it ends (the server
/// role, for tests and benchmarks: not a product).
pub async fn serve(
    tcp: TcpStream,
    cfg: ServerConfig,
    tun_opts: TunOptions,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    stop: watch::Receiver<bool>,
) -> io::Result<DownReason> {
    let from = tcp.peer_addr()?;
    let IpAddr::V4(client) = from.ip() else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "PPTP over IPv6 is not supported",
        ));
    };
    let _ = tcp.set_nodelay(true);
    let local = local_v4(&tcp);
    let _ = events.send(RuntimeEvent::Resolved {
        peer: client,
        local,
    });
    let session = ServerSession::new(cfg, Instant::now());
    let gre = GreSocket::connect(client, session.call_id())?;
    let (tcp_rx, tcp_tx) = tcp.into_split();
    Ok(drive(session, tcp_rx, tcp_tx, gre, tun_opts, events, stop, None).await)
}

/// Counts a source's failed reads in a row; past [`REPEATED_READ_ERRORS`] the
/// source is given up.
#[derive(Default)]
struct ReadErrors(u32);

impl ReadErrors {
    fn ok(&mut self) {
        self.0 = 0;
    }

    /// Records a failure; returns the reason to end the call when it is one too many.
    fn failed(&mut self, what: &str, e: &io::Error) -> Option<DownReason> {
        self.0 += 1;
        debug!(error = %e, "{what} failed");
        (self.0 == REPEATED_READ_ERRORS).then(|| {
            DownReason::LocalIo(format!(
                "{what} failed {REPEATED_READ_ERRORS} times in a row: {e}"
            ))
        })
    }

    fn given_up(&self) -> bool {
        self.0 >= REPEATED_READ_ERRORS
    }
}

#[allow(clippy::too_many_arguments)]
async fn drive<C: ControlSide, R, W>(
    mut session: Session<C>,
    mut tcp_rx: R,
    mut tcp_tx: W,
    gre: GreSocket,
    tun_opts: TunOptions,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    mut stop: watch::Receiver<bool>,
    mut passwords: Option<mpsc::UnboundedReceiver<Password>>,
) -> DownReason
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut stopping = false;
    let (mut gre_errors, mut tun_errors) = (ReadErrors::default(), ReadErrors::default());
    let mut tun: Option<tun_rs::AsyncDevice> = None;
    let mut tcp_buf = vec![0u8; 4096];
    let mut control_buf = vec![0u8; 4096];
    // The data-path buffers are allocated once the tunnel is up.
    let mut outbound: Option<batch::Outbound> = None;
    let mut inbound: Option<batch::Inbound> = None;
    let mut tcp_open = true;
    let mut reason = DownReason::Stopped;
    // One timer for the loop's life, moved only when the session's deadline
    // moves: building and dropping one per packet cost a timer-wheel insert
    // and removal each time.
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);

    loop {
        while let Some(b) = session.poll_tcp_transmit() {
            if !tcp_open {
                continue;
            }
            // A peer that stops reading must not wedge the loop: the write has a
            // deadline and yields to stop (leaving the stream mid-message, so the
            // control connection counts as lost either way).
            let written = tokio::select! {
                r = tokio::time::timeout(TCP_WRITE_TIMEOUT, tcp_tx.write_all(&b)) => matches!(r, Ok(Ok(()))),
                _ = stopped(&mut stop), if !stopping => {
                    stopping = true;
                    session.close(Instant::now());
                    false
                }
            };
            if !written {
                tcp_open = false;
                session.handle_tcp_stalled(Instant::now());
            }
        }
        while let Some(mut p) = session.poll_gre_transmit() {
            if let Err(e) = gre.send(&p).await {
                debug!(error = %e, "GRE send failed");
            }
            // Control packets only (data goes in batches): one may be a PAP
            // request with the password in clear.
            p.zeroize();
        }
        while let Some(e) = session.poll_event() {
            match &e {
                Event::Up(info) => match open_tun(&tun_opts, info) {
                    Ok((dev, name)) => {
                        info!(ifname = %name, "tunnel interface up");
                        if let Some(v6) = info.ipv6.filter(|_| tun_opts.assign_address) {
                            add_ipv6(&dev, v6.local);
                        }
                        tun = Some(dev);
                        outbound.get_or_insert_with(batch::Outbound::new);
                        inbound.get_or_insert_with(batch::Inbound::new);
                        // The session's Up is reported once, with its interface.
                        let _ = events.send(RuntimeEvent::TunnelUp {
                            ifname: name,
                            info: info.clone(),
                        });
                        continue;
                    }
                    Err(err) => {
                        warn!(error = %err, "cannot create the tunnel interface");
                        session.close(Instant::now());
                    }
                },
                Event::Down(r) => reason = r.clone(),
                Event::Router(r) => {
                    if let Some(dev) = tun.as_ref().filter(|_| tun_opts.assign_address) {
                        for a in &r.addresses {
                            add_ipv6(dev, *a);
                        }
                    }
                }
                Event::Phase(_) | Event::Pushed(_) | Event::PasswordWanted(_) => {}
            }
            let _ = events.send(RuntimeEvent::Session(e));
        }
        if session.is_dead() {
            break;
        }
        let deadline = session.poll_timeout().map(tokio::time::Instant::from_std);
        if let Some(d) = deadline.filter(|&d| d != timer.deadline()) {
            timer.as_mut().reset(d);
        }
        tokio::select! {
            r = tcp_rx.read(&mut tcp_buf), if tcp_open => match r {
                Ok(0) | Err(_) => {
                    tcp_open = false;
                    session.handle_tcp_closed(Instant::now());
                }
                Ok(n) => session.handle_tcp_data(Instant::now(), &tcp_buf[..n]),
            },
            r = async {
                let b = inbound.as_mut().expect("guarded");
                gre.recv_batch(&mut b.gre_in, &mut b.gre_in_ranges).await
            }, if inbound.is_some() && !gre_errors.given_up() => match r {
                Ok(n) => {
                    gre_errors.ok();
                    let b = inbound.as_mut().expect("guarded");
                    b.gre_to_tun(&mut session, n, tun.as_ref()).await;
                }
                Err(e) => if let Some(r) = gre_errors.failed("receiving GRE", &e) {
                    session.fail(Instant::now(), r);
                },
            },
            // Before the tunnel exists, control packets arrive one at a time.
            r = gre.recv(&mut control_buf), if inbound.is_none() && !gre_errors.given_up() => match r {
                Ok(range) => {
                    gre_errors.ok();
                    let _ = session.handle_gre(Instant::now(), &mut control_buf[range]);
                }
                Err(e) => if let Some(r) = gre_errors.failed("receiving GRE", &e) {
                    session.fail(Instant::now(), r);
                },
            },
            r = async {
                let b = outbound.as_mut().expect("guarded");
                tun.as_ref().expect("guarded").recv_multiple(&mut b.tun_raw, &mut b.tun_in, &mut b.tun_in_sizes, 0).await
            }, if tun.is_some() && !tun_errors.given_up() => match r {
                Ok(n) => {
                    tun_errors.ok();
                    let b = outbound.as_mut().expect("guarded");
                    b.tun_to_gre(&mut session, n, tun.as_ref().expect("guarded"), &gre).await;
                    // ICMPv6 refusals of IPv6 the link does not carry.
                    if let Some(b) = inbound.as_mut() {
                        b.released_to_tun(&mut session, tun.as_ref()).await;
                    }
                }
                Err(e) => if let Some(r) = tun_errors.failed("reading the tunnel interface", &e) {
                    session.fail(Instant::now(), r);
                },
            },
            _ = &mut timer, if deadline.is_some() => {
                session.handle_timeout(Instant::now());
                if let Some(b) = inbound.as_mut() {
                    b.released_to_tun(&mut session, tun.as_ref()).await;
                }
            }
            pw = async { passwords.as_mut().expect("guarded").recv().await }, if passwords.is_some() => match pw {
                Some(pw) => {
                    if let Err(pw) = session.retry_password(Instant::now(), pw) {
                        let _ = events.send(RuntimeEvent::PasswordNotTaken(pw));
                    }
                }
                // The owner cannot answer any more: a pending retry times out.
                None => passwords = None,
            },
            // Once asked to stop, stop watching: the session runs its bounded shutdown.
            r = stop.changed(), if !stopping => {
                if r.is_err() || *stop.borrow() {
                    stopping = true;
                    session.close(Instant::now());
                }
            }
        }
    }
    match (tun, &tun_opts.keep) {
        (Some(dev), Some(slot)) => slot.put(dev),
        (dev, _) => drop(dev),
    }
    if let Some(s) = session.stats() {
        info!(
            delivered = s.delivered,
            late = s.late,
            lost = s.lost,
            malformed = s.malformed,
            unverified = s.unverified,
            mppe_rekeys = s.mppe_rekeys,
            window_exceeded = s.window_exceeded,
            held = s.held,
            hold_expired = s.hold_expired,
            "GRE counters at the end of the call"
        );
    }
    reason
}

/// An IPv6 address (/64: link-local or SLAAC) on the tunnel interface. A kept
/// interface may hold it already from the last call.
fn add_ipv6(dev: &tun_rs::AsyncDevice, a: std::net::Ipv6Addr) {
    match dev.add_address_v6(a, 64u8) {
        Ok(()) => info!(address = %a, "IPv6 address on the tunnel interface"),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => {
            warn!(error = %e, address = %a, "cannot put the IPv6 address on the tunnel interface")
        }
    }
}

/// Our IPv4 address on the control connection (unspecified if unknown).
fn local_v4(tcp: &TcpStream) -> Ipv4Addr {
    match tcp.local_addr().map(|a| a.ip()) {
        Ok(IpAddr::V4(a)) => a,
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

fn open_tun(opts: &TunOptions, up: &UpInfo) -> io::Result<(tun_rs::AsyncDevice, String)> {
    if let Some(dev) = opts.keep.as_ref().and_then(TunSlot::take) {
        // The same interface as the last call; this link's MTU may differ.
        if let Err(e) = dev.set_mtu(up.mtu) {
            warn!(error = %e, mtu = up.mtu, "cannot set the kept interface's MTU");
        }
        if opts.assign_address {
            dev.set_network_address(up.local, 32u8, Some(up.peer))?;
        }
        let name = dev.name()?;
        return Ok((dev, name));
    }
    // Offload: the kernel hands over and takes TCP super-packets of up to 64 KiB,
    // so one system call carries dozens of segments (split and merged in
    // `batch`). Kernels without it fall back to one packet per call.
    let mut b = tun_rs::DeviceBuilder::new()
        .mtu(up.mtu)
        .packet_information(false)
        .offload(true);
    if let Some(n) = &opts.ifname {
        b = b.name(n.clone());
    }
    if opts.assign_address {
        b = b.ipv4(up.local, 32u8, Some(up.peer));
    }
    let dev = b.build_async()?;
    let name = dev.name()?;
    ignore_neighbour_discovery(&name);
    Ok((dev, name))
}

/// The engine reads the server's router advertisements itself and drops the
/// rest of neighbour discovery; the kernel is told to take none from this
/// interface either, in case one ever got through. (Nothing to do without IPv6.)
fn ignore_neighbour_discovery(ifname: &str) {
    if ifname.contains('/') || ifname.starts_with('.') {
        return;
    }
    for knob in ["accept_ra", "accept_redirects"] {
        let path = format!("/proc/sys/net/ipv6/conf/{ifname}/{knob}");
        if let Err(e) = std::fs::write(&path, "0") {
            if e.kind() != io::ErrorKind::NotFound {
                warn!(error = %e, %path, "cannot turn off neighbour discovery on the tunnel");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    // Opening a raw GRE socket needs root.
    use nm_pptp_test_gate::system_tests;

    /// A call whose control connection is a pipe the "server" never reads: the
    /// client's first message (156 bytes) cannot be written into its 64 bytes.
    fn wedged_call() -> (
        tokio::task::JoinHandle<DownReason>,
        watch::Sender<bool>,
        tokio::io::DuplexStream,
    ) {
        let (client_end, server_end) = tokio::io::duplex(64);
        let (rx, tx) = tokio::io::split(client_end);
        let mut cfg = ClientConfig::new("alice", Password::new("pw"), [7; 32]);
        cfg.server = Some(Ipv4Addr::LOCALHOST);
        let session = ClientSession::new(cfg, Instant::now());
        let gre =
            GreSocket::connect(Ipv4Addr::LOCALHOST, session.call_id()).expect("raw GRE socket");
        let (events, _) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(drive(
            session,
            rx,
            tx,
            gre,
            TunOptions::default(),
            events,
            stop_rx,
            None,
        ));
        (task, stop_tx, server_end)
    }

    /// Moves this test's thread (a current-thread runtime: every socket of the
    /// test is made on it) into a network namespace of its own, loopback up, so
    /// that its traffic stays there.
    fn private_netns() {
        // SAFETY: unshare only changes this thread's namespace membership.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
        let up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip");
        assert!(up.success());
    }

    /// The first address refuses: the second, which listens, is the one used.
    #[tokio::test]
    async fn the_first_address_that_answers_is_used() {
        if !system_tests("a network namespace of its own (root)") {
            return;
        }
        private_netns();
        let listener = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 3), PPTP_PORT))
            .await
            .expect("bind 127.0.0.3:1723");
        let (_stop_tx, mut stop) = watch::channel(false);
        let servers = [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3)];
        let (_tcp, used) = connect_first(&servers, &mut stop).await.expect("connected");
        assert_eq!(used, servers[1]);
        drop(listener);
        match connect_first(&servers, &mut stop).await {
            Err(DownReason::PeerUnreachable(m)) => {
                assert!(
                    m.contains("127.0.0.2:1723") && m.contains("127.0.0.3:1723"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn stop_is_heard_while_a_control_write_is_stuck() {
        if !system_tests("a raw GRE socket (root)") {
            return;
        }
        private_netns();
        let (task, stop, _server) = wedged_call();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!task.is_finished(), "the call ended before stop");
        let t = Instant::now();
        stop.send(true).unwrap();
        let reason = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stop did not end the call within 10 s")
            .unwrap();
        // Well within the write deadline: stop does not wait for the write.
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        assert_eq!(reason, DownReason::Stopped);
    }

    #[tokio::test]
    async fn a_server_that_stops_reading_is_a_lost_connection() {
        if !system_tests("a raw GRE socket (root)") {
            return;
        }
        private_netns();
        let (task, _stop, _server) = wedged_call();
        let t = Instant::now();
        let reason = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("a wedged control write held the call for 10 s")
            .unwrap();
        let took = t.elapsed();
        assert!(
            took >= TCP_WRITE_TIMEOUT - Duration::from_millis(100)
                && took < TCP_WRITE_TIMEOUT + Duration::from_secs(1),
            "{took:?}"
        );
        assert_eq!(reason.code(), "peer-unreachable", "{reason}");
    }

    /// A kept interface is the same one on the next call, with that call's MTU
    /// and addresses, and releasing the slot removes it.
    #[tokio::test]
    async fn a_kept_interface_comes_back_for_the_next_call() {
        if !system_tests("a tunnel interface in a namespace of its own (root)") {
            return;
        }
        private_netns();
        let up = |mtu, local: [u8; 4]| UpInfo {
            local: local.into(),
            peer: [10, 0, 0, 1].into(),
            dns: vec![],
            nbns: vec![],
            mtu,
            mppe: None,
            mppe_receive: None,
            auth: None,
            ipv6: None,
        };
        let slot = TunSlot::default();
        let opts = TunOptions {
            ifname: None,
            assign_address: true,
            keep: Some(slot.clone()),
        };
        let (dev, name) = open_tun(&opts, &up(1400, [10, 0, 0, 2])).unwrap();
        slot.put(dev);
        assert!(slot.is_held());
        let (dev, again) = open_tun(&opts, &up(1380, [10, 0, 0, 3])).unwrap();
        assert_eq!(again, name);
        assert!(!slot.is_held(), "the call holds it now");
        assert_eq!(dev.mtu().unwrap(), 1380);
        let addrs = std::process::Command::new("ip")
            .args(["-4", "-o", "addr", "show", "dev", &name])
            .output()
            .unwrap();
        let addrs = String::from_utf8_lossy(&addrs.stdout);
        assert!(
            addrs.contains("10.0.0.3") && !addrs.contains("10.0.0.2"),
            "{addrs}"
        );
        slot.put(dev);
        slot.release();
        let gone = std::process::Command::new("ip")
            .args(["link", "show", &name])
            .output()
            .unwrap();
        assert!(!gone.status.success(), "{name} still exists after release");
    }
}
