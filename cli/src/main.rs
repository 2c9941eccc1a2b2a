//! `pptp-client`: bring a PPTP tunnel up from the command line, the way `pon PAL`
//! did with pppd and pptp-linux, in one process and without kernel PPP.
//!
//! About 700 lines besides its tests: the argument definitions (clap's derive,
//! one struct per command with its help text) are most of it; the routes are
//! in `routes.rs`.

mod routes;

use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use nm_pptp_settings::connection::OptIn;
use nm_pptp_settings::keys::{self, Kind};
use nm_pptp_settings::nm::SettingsError;
use nm_pptp_settings::peers;
use nm_pptp_settings::{Connection, MppeStrength};
use pptp_engine::ppp::lcp::AuthProtocol;
use pptp_engine::redial::{self, Backoff};
use pptp_engine::route_policy;
use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, DownReason, Event};
use pptp_runtime::{self as runtime, RuntimeEvent, TunOptions, TunSlot};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use zeroize::Zeroizing;

const EXIT_BAD_CONFIG: u8 = 2;
const EXIT_AUTH: u8 = 10;
const EXIT_UNREACHABLE: u8 = 11;
const EXIT_NEGOTIATION: u8 = 12;
const EXIT_LINK_LOST: u8 = 13;

#[derive(Parser)]
#[command(
    name = "pptp-client",
    version,
    about = "Userspace PPTP client (no pppd, no kernel PPP)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Connect and stay up until SIGINT/SIGTERM.
    Up(UpArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum MppeArg {
    #[value(name = "128")]
    B128,
    #[value(name = "40")]
    B40,
    Any,
    Off,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum EventsFormat {
    Json,
}

#[derive(Args)]
struct UpArgs {
    /// PPTP server (name or IPv4 address).
    #[arg(long)]
    server: Option<String>,
    /// User name, optionally DOMAIN\user.
    #[arg(long)]
    user: Option<String>,
    /// NT domain, sent as DOMAIN\user.
    #[arg(long)]
    domain: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Allowed authentication methods: comma list of pap,chap,mschap,mschapv2.
    #[arg(long, value_delimiter = ',')]
    auth: Option<Vec<String>>,
    /// MPPE strength required: 128 (the default), 40, any (40 or 128: an
    /// active attacker can then force 40) or off.
    #[arg(long, value_enum)]
    mppe: Option<MppeArg>,
    /// Ask for stateful MPPE (a pppd server without `mppe-stateful` refuses and ends the link).
    #[arg(long)]
    mppe_stateful: bool,
    /// Leave the MSS of TCP SYNs crossing the tunnel as it is (by default it is
    /// lowered to what the tunnel MTU carries).
    #[arg(long)]
    no_mss_clamp: bool,
    /// Do not ask the server for routes and a DNS domain (DHCPINFORM) once up.
    #[arg(long)]
    no_dhcp_inform: bool,
    /// Do not negotiate IPv6 (IPV6CP); the link carries IPv4 only.
    #[arg(long)]
    no_ipv6: bool,
    /// Without --default-route: route the assigned address's classful network
    /// through the tunnel while the server pushes no routes (as Windows does).
    #[arg(long)]
    class_route: bool,
    /// Ask the server for this tunnel address instead of one from its pool; a
    /// server that offers another ends the connect (pppd's `LOCAL:`).
    #[arg(long)]
    local_address: Option<String>,
    /// With --local-address: take the server's address when it refuses ours.
    #[arg(long)]
    ipcp_accept_local: bool,
    /// Cap on the tunnel MTU.
    #[arg(long, value_parser = clap::value_parser!(u16).range(576..=1500))]
    mtu: Option<u16>,
    /// Tunnel interface name.
    #[arg(long)]
    ifname: Option<String>,
    /// Route all traffic through the tunnel.
    #[arg(long)]
    default_route: bool,
    /// Do not pin a host route to the server via its current route.
    #[arg(long)]
    no_host_route: bool,
    /// Seconds between LCP echo requests (0 = off).
    #[arg(long)]
    lcp_echo_interval: Option<u32>,
    /// Unanswered LCP echoes before the link is declared dead.
    #[arg(long)]
    lcp_echo_failure: Option<u32>,
    /// Dial again after a lost link, until SIGINT/SIGTERM or a refused login
    /// (pppd's `persist`).
    #[arg(long)]
    persist: bool,
    /// With --persist: give up after this many failed dials in a row (0: never;
    /// default 10, as pppd).
    #[arg(long)]
    maxfail: Option<u32>,
    /// With --persist: wait at least this many seconds before dialling again
    /// (pppd's `holdoff`; the wait also doubles from 1 s to 30 s while dials fail).
    #[arg(long)]
    holdoff: Option<u32>,
    /// pppd peers file: a name under PPP_DIR/peers or a path.
    #[arg(long)]
    peer: Option<String>,
    /// Where peers/, chap-secrets and included options files live.
    #[arg(long, default_value = "/etc/ppp")]
    ppp_dir: PathBuf,
    /// Print one JSON object per event on standard output.
    #[arg(long, value_enum)]
    events: Option<EventsFormat>,
    /// Verbose logs on standard error (never secrets).
    #[arg(long)]
    debug: bool,
}

struct Plan {
    server: String,
    cfg: ClientConfig,
    /// The connection as given (its password left in `cfg` only), for what the
    /// front end decides once up (the class route).
    conn: Connection,
    default_route: bool,
    host_route: bool,
    ifname: Option<String>,
    redial: Redial,
}

/// pppd's `persist`, `maxfail` and `holdoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Redial {
    persist: bool,
    /// Failed dials in a row before giving up; 0: never.
    maxfail: u32,
    holdoff: std::time::Duration,
}

/// pppd's defaults: no redial; 10 failures; no holdoff.
const MAXFAIL: u32 = 10;

fn bad(msg: impl std::fmt::Display) -> String {
    msg.to_string()
}

fn read_password_stdin() -> Result<Password, String> {
    let mut buf = Zeroizing::new(Vec::with_capacity(256));
    let mut byte = [0u8; 1];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => {
                if buf.len() >= 1024 {
                    return Err(bad(
                        "--password-stdin: the password is longer than 1024 bytes",
                    ));
                }
                buf.push(byte[0]);
            }
            Err(e) => {
                return Err(bad(format!(
                    "--password-stdin: cannot read standard input: {e}"
                )))
            }
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let s = std::str::from_utf8(&buf)
        .map_err(|_| bad("--password-stdin: the password is not valid UTF-8"))?;
    Ok(Password::new(s))
}

/// Without a peers file the command line starts from the connection model's
/// defaults (MS-CHAPv2 only, MPPE required) plus an echo every 30 s, down after 4
/// unanswered: a command line has no NetworkManager watching the link.
fn command_line_defaults() -> Connection {
    Connection {
        lcp_echo_interval: 30,
        lcp_echo_failure: 4,
        ..Connection::default()
    }
}

/// The flags that would let a refused server through, for the message.
fn opt_in_flags(o: OptIn) -> String {
    match o {
        OptIn::Method(m @ (AuthProtocol::Pap | AuthProtocol::ChapMd5)) => {
            format!("--auth {} --mppe off", m.name())
        }
        OptIn::Method(m) => format!("--auth {}", m.name()),
        OptIn::Unencrypted => "--mppe off".into(),
        OptIn::Mppe40 => "--mppe 40 (or --mppe any)".into(),
    }
}

/// A settings error in the command line's own terms.
fn explain(e: SettingsError) -> String {
    match e {
        SettingsError::MppeNeedsMsChap => {
            "--mppe: MPPE needs MS-CHAP keys; allow mschap or mschapv2 in --auth, or use --mppe off"
                .into()
        }
        SettingsError::NoGateway => "--server is required (or --peer)".into(),
        SettingsError::BadGateway(g) => format!("--server: invalid server name `{g}`"),
        SettingsError::NoUser => "--user is required (or --peer with `name`)".into(),
        e => e.to_string(),
    }
}

fn plan(a: &UpArgs) -> Result<Plan, String> {
    let mut default_route = a.default_route;
    let mut password = None;
    let mut redial = Redial {
        persist: a.persist,
        maxfail: a.maxfail.unwrap_or(MAXFAIL),
        holdoff: std::time::Duration::from_secs(a.holdoff.unwrap_or(0).into()),
    };
    let mut conn = match &a.peer {
        None => command_line_defaults(),
        Some(peer) => {
            let p =
                peers::load(peer, &a.ppp_dir).map_err(|e| bad(format!("--peer {peer}: {e}")))?;
            for u in &p.unsupported {
                eprintln!("pptp-client: warning: option `{u}` in the peers file is not supported and is ignored");
            }
            if p.nomppe {
                eprintln!("pptp-client: warning: `nomppe`: MPPE is not required, but allowed if the server insists");
            }
            default_route |= p.defaultroute == Some(true);
            // The command line wins over the file.
            redial.persist |= p.persist;
            redial.maxfail = a.maxfail.or(p.maxfail).unwrap_or(MAXFAIL);
            redial.holdoff =
                std::time::Duration::from_secs(a.holdoff.or(p.holdoff).unwrap_or(0).into());
            if !a.password_stdin {
                password = p
                    .chap_secret(&a.ppp_dir)
                    .map_err(|e| bad(format!("--peer {peer}: {e}")))?;
                if password.is_none() {
                    let who = p
                        .connection
                        .login_name()
                        .map_err(|_| bad(format!("--peer {peer}: the peers file has no `name`")))?;
                    return Err(bad(format!(
                        "--peer {peer}: no secret for `{who}` in {}",
                        a.ppp_dir.join("chap-secrets").display()
                    )));
                }
            }
            p.connection
        }
    };
    if let Some(s) = &a.server {
        conn.gateway = s.clone();
    }
    if let Some(u) = &a.user {
        conn.set_login_name(u);
    }
    if let Some(d) = &a.domain {
        if d.is_empty() || d.contains('\\') {
            return Err(bad(format!("--domain: invalid NT domain `{d}`")));
        }
        conn.domain = d.clone();
    }
    if let Some(list) = &a.auth {
        let mut allowed = [false; 4];
        for m in list {
            let i = ["pap", "chap", "mschap", "mschapv2"]
                .iter()
                .position(|n| n == m)
                .ok_or_else(|| {
                    bad(format!(
                        "--auth: unknown method `{m}` (pap, chap, mschap, mschapv2)"
                    ))
                })?;
            allowed[i] = true;
        }
        conn.refuse.pap = !allowed[0];
        conn.refuse.chap = !allowed[1];
        conn.refuse.mschap = !allowed[2];
        conn.refuse.mschapv2 = !allowed[3];
    }
    if let Some(m) = a.mppe {
        conn.set_mppe_requirement(match m {
            MppeArg::B128 => Some(MppeStrength::Only128),
            MppeArg::B40 => Some(MppeStrength::Only40),
            MppeArg::Any => Some(MppeStrength::Any),
            MppeArg::Off => None,
        });
    }
    if a.mppe_stateful {
        conn.mppe.stateful = true;
    }
    if let Some(i) = a.lcp_echo_interval {
        conn.lcp_echo_interval = i;
    }
    if let Some(f) = a.lcp_echo_failure {
        conn.lcp_echo_failure = f;
    }
    if let Some(m) = a.mtu {
        conn.mtu = Some(m);
    }
    if a.no_mss_clamp {
        conn.mss_clamp = false;
    }
    if a.no_dhcp_inform {
        conn.dhcp_inform = false;
    }
    if a.no_ipv6 {
        conn.ipv6 = false;
    }
    if a.class_route {
        conn.class_route = true;
    }
    if let Some(l) = &a.local_address {
        let v = Kind::Address.parse(l).map_err(|_| {
            bad(format!(
                "--local-address: `{l}` is not a unicast IPv4 address"
            ))
        })?;
        if let Some(k) = keys::by_name(keys::LOCAL_ADDRESS) {
            k.set(&mut conn, v);
        }
    }
    if a.ipcp_accept_local {
        conn.accept_local = true;
    }
    conn.validate().map_err(explain)?;
    conn.login_name().map_err(explain)?;
    conn.password = Some(match password {
        Some(p) => p,
        None if a.password_stdin => read_password_stdin()?,
        None => {
            return Err(bad(
                "a password is needed: use --password-stdin (or --peer with chap-secrets)",
            ))
        }
    });
    let mut cfg = conn.client_config(runtime::os_seed()).map_err(explain)?;
    // Asking for stateful mode is the command line's own choice; the key only
    // allows it.
    cfg.mppe.request_stateful = a.mppe_stateful;
    let mut settings = conn.clone();
    settings.password = None;
    Ok(Plan {
        server: conn.gateway.clone(),
        cfg,
        conn: settings,
        default_route,
        host_route: !a.no_host_route,
        ifname: a.ifname.clone().or_else(|| conn.ifname()),
        redial,
    })
}

fn exit_code(reason: &DownReason, was_up: bool) -> u8 {
    match reason {
        DownReason::Stopped => 0,
        DownReason::AuthFailed(_) => EXIT_AUTH,
        _ if was_up => EXIT_LINK_LOST,
        DownReason::PeerUnreachable(_)
        | DownReason::GreBlocked
        | DownReason::PeerClosed(_)
        | DownReason::SessionEnded(_) => EXIT_UNREACHABLE,
        DownReason::EchoTimeout => EXIT_UNREACHABLE,
        DownReason::MppeRefused(_)
        | DownReason::MppeTooWeak(_)
        | DownReason::MethodRefused(_)
        | DownReason::NoAuthentication
        | DownReason::NegotiationFailed(_)
        | DownReason::NoIpAddress
        | DownReason::AddressRefused { .. }
        | DownReason::MppeFailed
        | DownReason::Internal(_)
        | DownReason::LocalIo(_) => EXIT_NEGOTIATION,
    }
}

fn main() -> ExitCode {
    // The password is read from stdin or chap-secrets: a crash must not dump it.
    let _ = nm_pptp_settings::process::forbid_core_dumps();
    let cli = Cli::parse();
    let Cmd::Up(args) = cli.cmd;
    let filter = if args.debug { "debug" } else { "warn" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour only for a terminal: logs piped to a file or a journal stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()),
        )
        .init();
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pptp-client: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let json = args.events.is_some();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    ExitCode::from(rt.block_on(run(plan, json)))
}

async fn run(plan: Plan, json: bool) -> u8 {
    let mut servers = match runtime::resolve(&plan.server).await {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("cannot resolve {}: {e}", plan.server);
            report_down("peer-unreachable", &msg, json);
            return EXIT_UNREACHABLE;
        }
    };
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
        let _ = stop_tx.send(true);
    });
    // With --persist the interface, and the routes through it, stay between calls.
    let keep = plan.redial.persist.then(TunSlot::default);
    let mut routes = routes::Routes::default();
    let mut backoff = Backoff::default();
    let (mut failures, mut ever_up) = (0u32, false);
    let (reason, was_up) = loop {
        let (reason, up) = call(
            &plan,
            servers.clone(),
            keep.clone(),
            &mut routes,
            stop_rx.clone(),
            json,
        )
        .await;
        ever_up |= up;
        if up {
            failures = 0;
            backoff.reset();
        } else {
            failures += 1;
        }
        let r = plan.redial;
        if !r.persist
            || redial::is_final(&reason)
            || *stop_rx.borrow()
            || (r.maxfail != 0 && failures >= r.maxfail)
        {
            break (reason, ever_up);
        }
        let wait = backoff.next_wait().max(r.holdoff);
        if json {
            println!(
                "{}",
                json!({"event": "reconnecting", "reason": reason.code(), "message": reason.to_string(), "wait_s": wait.as_secs()})
            );
        } else {
            eprintln!(
                "pptp-client: {reason}; dialling again in {} s",
                wait.as_secs()
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = runtime::stopped(&mut stop_rx) => break (DownReason::Stopped, ever_up),
        }
        // The name may point elsewhere now; when it cannot be resolved (its DNS
        // server may be behind the tunnel), the last addresses are tried.
        if let Ok(s) = runtime::resolve(&plan.server).await {
            servers = s;
        }
    };
    routes.remove_all();
    drop(keep);
    let mut message = reason.to_string();
    if let Some(o) = OptIn::for_refusal(&reason) {
        message += &format!(
            " (to allow it, at the cost of security: {})",
            opt_in_flags(o)
        );
    }
    report_down(reason.code(), &message, json);
    exit_code(&reason, was_up)
}

/// One call, until it ends: the reason, and whether it was up. Routes are set
/// when it comes up and left for the caller to remove.
async fn call(
    plan: &Plan,
    servers: Vec<Ipv4Addr>,
    keep: Option<TunSlot>,
    routes: &mut routes::Routes,
    stop_rx: watch::Receiver<bool>,
    json: bool,
) -> (DownReason, bool) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let tun = TunOptions {
        ifname: plan.ifname.clone(),
        assign_address: true,
        keep,
    };
    // The address in use, once the runtime says which one answered.
    let mut server = servers[0];
    // Ours on the way to it: what the server's routes may not cover.
    let mut underlay = Ipv4Addr::UNSPECIFIED;
    let mut refused6: Vec<(std::net::Ipv6Addr, u8)> = Vec::new();
    // Every call draws its own call ID, magic number and challenges.
    let cfg = ClientConfig {
        seed: runtime::os_seed(),
        ..plan.cfg.clone()
    };
    let engine = tokio::spawn(runtime::run(servers, cfg, tun, ev_tx, stop_rx, None));
    let mut tunnel: Option<String> = None;
    let mut class_route: Option<(Ipv4Addr, u8)> = None;
    let mut was_up = false;
    loop {
        tokio::select! {
            ev = ev_rx.recv() => match ev {
                Some(RuntimeEvent::TunnelUp { ifname, info }) => {
                    was_up = true;
                    tunnel = Some(ifname.clone());
                    // A call after a lost one: its routes replace the last call's.
                    routes.remove_all();
                    if plan.host_route {
                        if let Err(e) = routes.pin_server(server) {
                            eprintln!("pptp-client: warning: cannot pin the route to {server}: {e}");
                        }
                    }
                    if plan.default_route {
                        if let Err(e) = routes.default_via(&ifname) {
                            eprintln!("pptp-client: warning: cannot route through {ifname}: {e}");
                        }
                        // IPv6 into the tunnel as well, whatever the server gives,
                        // so that it cannot leak around it (refused there without
                        // IPv6 from the server).
                        if plan.conn.block_ipv6_leak {
                            if let Err(e) = routes.default_via6(&ifname) {
                                eprintln!("pptp-client: warning: cannot route IPv6 through {ifname}: {e}");
                            }
                        }
                    }
                    class_route = plan.conn.class_route(info.local, plan.default_route, false);
                    if let Some(c) = class_route {
                        if let Err(e) = routes.via(&ifname, &[c]) {
                            eprintln!("pptp-client: warning: cannot add the class route through {ifname}: {e}");
                        }
                    }
                    if json {
                        println!("{}", json!({
                            "event": "up", "ifname": ifname, "server": server.to_string(),
                            "local": info.local.to_string(), "peer": info.peer.to_string(),
                            "dns": info.dns.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>(),
                            "nbns": info.nbns.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>(),
                            "mtu": info.mtu, "mppe": info.mppe_name(), "mppe_receive": info.mppe_receive_name(),
                            "auth": info.auth.map(|a| a.name()),
                            "ipv6_local": info.ipv6.map(|v| v.local.to_string()),
                        }));
                    } else {
                        println!("pptp-client: up on {ifname}: {} -> {}, MTU {}, MPPE {}", info.local, info.peer, info.mtu, info.mppe_name());
                        if let Some(v6) = info.ipv6 {
                            println!("pptp-client: IPv6 link-local {}", v6.local);
                        }
                        if !info.dns.is_empty() {
                            println!("pptp-client: DNS servers: {}", info.dns.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(" "));
                        }
                    }
                }
                Some(RuntimeEvent::Session(Event::Pushed(p))) => {
                    if let Some(ifname) = &tunnel {
                        let ctx = route_policy::Context { server, local: underlay, full_tunnel: plan.default_route };
                        let route_policy::Filtered { accepted: pushed, refused } = route_policy::filter_v4(&ctx, p.routes.iter().map(|r| (r.dest, r.prefix)));
                        for ((d, l), why) in refused {
                            eprintln!("pptp-client: warning: route {d}/{l} from the server refused: {why}");
                        }
                        if let Err(e) = routes.via(ifname, &pushed) {
                            eprintln!("pptp-client: warning: cannot add the server's routes through {ifname}: {e}");
                        }
                        // The server's own routes replace the class route.
                        if let Some((net, prefix)) = class_route.take().filter(|_| !pushed.is_empty()) {
                            let _ = routes.remove(net, prefix);
                        }
                    }
                    let routes_text: Vec<String> = p.routes.iter().map(|r| format!("{}/{}", r.dest, r.prefix)).collect();
                    if json {
                        println!("{}", json!({
                            "event": "pushed", "routes": routes_text, "domain": p.domain,
                            "dns": p.dns.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>(),
                            "wins": p.wins.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>(),
                        }));
                    } else {
                        if !routes_text.is_empty() {
                            println!("pptp-client: routes from the server: {}", routes_text.join(" "));
                        }
                        if let Some(d) = &p.domain {
                            println!("pptp-client: DNS domain from the server: {d}");
                        }
                    }
                }
                Some(RuntimeEvent::Session(Event::Router(r))) => {
                    if let Some(ifname) = &tunnel {
                        let ctx = route_policy::Context { server, local: underlay, full_tunnel: plan.default_route };
                        let route_policy::Filtered { accepted: ok, refused } = route_policy::filter_v6(&ctx, r.routes.iter().copied());
                        for (route, why) in refused {
                            // Advertisements repeat: each refusal is said once.
                            if !refused6.contains(&route) {
                                eprintln!("pptp-client: warning: route {}/{} from the server refused: {why}", route.0, route.1);
                                refused6.push(route);
                            }
                        }
                        let mut added = routes.via6(ifname, &ok);
                        if plan.default_route && r.default_route {
                            added = added.and(routes.default_via6(ifname));
                        }
                        if let Err(e) = added {
                            eprintln!("pptp-client: warning: cannot add IPv6 routes through {ifname}: {e}");
                        }
                    }
                    let addresses: Vec<String> = r.addresses.iter().map(Ipv6Addr::to_string).collect();
                    let dns: Vec<String> = r.dns.iter().map(Ipv6Addr::to_string).collect();
                    let routes_text: Vec<String> = r.routes.iter().map(|(d, p)| format!("{d}/{p}")).collect();
                    if json {
                        println!("{}", json!({
                            "event": "router", "addresses": addresses, "dns": dns,
                            "routes": routes_text, "default_route": r.default_route,
                        }));
                    } else {
                        println!("pptp-client: IPv6 from the server: addresses {}; DNS {}; routes {}",
                            addresses.join(" "), dns.join(" "), routes_text.join(" "));
                    }
                }
                Some(RuntimeEvent::Session(Event::Down(_))) => {}
                Some(RuntimeEvent::Resolved { peer, local }) => (server, underlay) = (peer, local),
                Some(RuntimeEvent::Session(Event::Phase(p))) if json => println!("{}", json!({"event": "phase", "phase": format!("{p:?}").to_lowercase()})),
                Some(_) => {}
                None => break,
            },
        }
    }
    let reason = match engine.await {
        Ok(r) => r,
        Err(e) => DownReason::Internal(format!("the engine ended abnormally: {e}")),
    };
    (reason, was_up)
}

fn report_down(code: &str, message: &str, json: bool) {
    if json {
        println!(
            "{}",
            json!({"event": "down", "reason": code, "message": message})
        );
    } else {
        eprintln!("pptp-client: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::Duration;

    fn plan_of(args: &[&str]) -> Result<Plan, String> {
        let cli = Cli::try_parse_from(
            ["pptp-client", "up"]
                .iter()
                .chain(args)
                .copied()
                .collect::<Vec<_>>(),
        )
        .map_err(|e| e.to_string())?;
        let Cmd::Up(a) = cli.cmd;
        plan(&a)
    }

    /// A peers file runs with the same settings here as once imported into
    /// NetworkManager (through vpn.data).
    #[test]
    fn a_peers_file_means_what_its_import_means() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("peers")).unwrap();
        fs::write(
            d.path().join("peers/PAL"),
            "pty \"pptp 198.18.0.2 --nolaunchpppd\"\nname CORP\\\\alice\nremotename PPTP\n\
             require-mppe-128 lcp-echo-interval 7200 unit 3 mru 1300\n",
        )
        .unwrap();
        fs::write(d.path().join("chap-secrets"), "CORP\\\\alice PPTP pw *\n").unwrap();
        let dir = d.path().to_str().unwrap();
        let p = plan_of(&["--peer", "PAL", "--ppp-dir", dir]).unwrap();
        let file = peers::load("PAL", d.path()).unwrap();
        let v = file.connection.to_vpn();
        let nm = Connection::from_vpn(&v.data, &v.secrets, None)
            .unwrap()
            .client_config([0; 32])
            .unwrap();
        assert_eq!(p.cfg.ppp.lcp_echo, Some((Duration::from_secs(7200), 0)));
        assert_eq!(p.cfg.ppp.lcp_echo, nm.ppp.lcp_echo);
        assert_eq!(p.cfg.user, "CORP\\alice");
        assert_eq!(p.cfg.user, nm.user);
        assert_eq!(p.cfg.auth, nm.auth);
        assert_eq!(p.cfg.mppe, nm.mppe);
        assert_eq!(p.cfg.ppp.mru, 1300);
        assert_eq!(p.cfg.ppp.mru, nm.ppp.mru);
        assert_eq!(p.ifname.as_deref(), Some("ppp3"));
        assert_eq!(p.cfg.password.expose(), "pw");
    }

    /// pppd's persist, maxfail and holdoff, from the file or the command line
    /// (which wins); pppd's defaults without either.
    #[test]
    fn redial_words_and_flags() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("peers")).unwrap();
        fs::write(
            d.path().join("peers/PAL"),
            "pty \"pptp 198.18.0.2 --nolaunchpppd\"\nname alice\npersist maxfail 0 holdoff 5\n",
        )
        .unwrap();
        fs::write(d.path().join("chap-secrets"), "alice * pw *\n").unwrap();
        let dir = d.path().to_str().unwrap();
        let r = plan_of(&["--peer", "PAL", "--ppp-dir", dir])
            .unwrap()
            .redial;
        assert_eq!(
            r,
            Redial {
                persist: true,
                maxfail: 0,
                holdoff: Duration::from_secs(5)
            }
        );
        let r = plan_of(&["--peer", "PAL", "--ppp-dir", dir, "--maxfail", "3"])
            .unwrap()
            .redial;
        assert_eq!((r.maxfail, r.holdoff), (3, Duration::from_secs(5)));
        let r = plan_of(&["--server", "g", "--user", "u", "--password-stdin"])
            .unwrap()
            .redial;
        assert_eq!(
            r,
            Redial {
                persist: false,
                maxfail: 10,
                holdoff: Duration::ZERO
            }
        );
        let r = plan_of(&[
            "--server",
            "g",
            "--user",
            "u",
            "--password-stdin",
            "--persist",
            "--holdoff",
            "2",
        ])
        .unwrap()
        .redial;
        assert!(r.persist && r.holdoff == Duration::from_secs(2));
    }

    #[test]
    fn command_line_defaults_are_the_safe_ones() {
        let p = plan_of(&["--server", "g", "--user", "u", "--password-stdin"]);
        // (stdin is empty under cargo test: an empty password)
        let cfg = p.unwrap().cfg;
        assert_eq!(cfg.auth, pptp_engine::ppp::lcp::AuthPolicy::default());
        assert!(cfg.mppe.required && cfg.mppe.allow_128 && !cfg.mppe.allow_40);
        assert_eq!(cfg.ppp.lcp_echo, Some((Duration::from_secs(30), 4)));
        assert_eq!(
            opt_in_flags(OptIn::Method(AuthProtocol::Pap)),
            "--auth pap --mppe off"
        );
        let err = plan_of(&["--server", "g", "--user", "u", "--auth", "pap"]).err();
        assert_eq!(
            err.as_deref(),
            Some("--mppe: MPPE needs MS-CHAP keys; allow mschap or mschapv2 in --auth, or use --mppe off")
        );
        let err = plan_of(&["--user", "u"]).err();
        assert_eq!(err.as_deref(), Some("--server is required (or --peer)"));
        let err = plan_of(&["--server", "a;b", "--user", "u"]).err();
        assert_eq!(err.as_deref(), Some("--server: invalid server name `a;b`"));
        let err = plan_of(&["--server", "g", "--user", "u", "--domain", "A\\B"]).err();
        assert_eq!(err.as_deref(), Some("--domain: invalid NT domain `A\\B`"));
    }
}
