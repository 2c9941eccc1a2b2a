//! `pptp-testpeer`: the engine's server role behind a TUN device, speaking real
//! PPTP over TCP and GRE. A test tool for the benchmark and fault tests, not a
//! product: one call at a time (or `--parallel` calls), users from a chap-secrets file.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use nm_pptp_settings::peers;
use pptp_engine::auth::AuthProtocol;
use pptp_engine::ppp::ccp::MppePolicy;
use pptp_engine::session::{Event, ServerConfig};
use pptp_runtime::{self as runtime, RuntimeEvent, TunOptions, PPTP_PORT};
use serde_json::json;
use tokio::sync::{mpsc, watch};

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum MppeArg {
    #[value(name = "128")]
    B128,
    #[value(name = "128-stateful")]
    B128Stateful,
    #[value(name = "40")]
    B40,
    Off,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum AuthArg {
    Mschapv2,
    Mschap,
    Chap,
    Pap,
}

#[derive(Parser)]
#[command(
    name = "pptp-testpeer",
    version,
    about = "PPTP test server (the engine's server role): for benchmarks and tests, not production"
)]
struct Cli {
    /// Address to listen on (TCP 1723).
    #[arg(long, default_value = "0.0.0.0")]
    listen: Ipv4Addr,
    /// Directory holding chap-secrets.
    #[arg(long, default_value = "/etc/ppp")]
    ppp_dir: PathBuf,
    /// A user allowed in, with its secret taken from chap-secrets (repeatable).
    #[arg(long = "user", required = true)]
    users: Vec<String>,
    #[arg(long, value_enum, default_value = "mschapv2")]
    auth: AuthArg,
    /// MPPE required of clients.
    #[arg(long, value_enum, default_value = "128")]
    mppe: MppeArg,
    /// The server's tunnel address.
    #[arg(long, default_value = "192.168.99.1")]
    local: Ipv4Addr,
    /// The address given to the client.
    #[arg(long, default_value = "192.168.99.2")]
    assign: Ipv4Addr,
    /// A DNS server to hand out.
    #[arg(long)]
    dns: Option<Ipv4Addr>,
    /// Tunnel interface name.
    #[arg(long)]
    ifname: Option<String>,
    /// Serve this many calls, then exit (default: forever).
    #[arg(long)]
    calls: Option<u64>,
    /// Serve up to this many calls at once. Call slot k (from 0) gets the
    /// `--local` and `--assign` addresses with k added to the third octet, and
    /// `--ifname` with k appended.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=64))]
    parallel: u8,
    /// Print one JSON object per event on standard output.
    #[arg(long)]
    events_json: bool,
    #[arg(long)]
    debug: bool,
}

fn mppe_policy(m: MppeArg) -> MppePolicy {
    let p = MppePolicy::default();
    match m {
        MppeArg::B128 => p,
        MppeArg::B128Stateful => MppePolicy {
            stateful: true,
            request_stateful: true,
            ..p
        },
        MppeArg::B40 => MppePolicy {
            allow_40: true,
            allow_128: false,
            ..p
        },
        MppeArg::Off => MppePolicy::off(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The end of every call is normal here; only errors are worth printing.
    let filter = if cli.debug { "debug" } else { "error" };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a terminal: logs piped to a file or a journal stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut users = Vec::new();
    for u in &cli.users {
        match peers::chap_secret(&cli.ppp_dir, u, None) {
            Ok(Some(p)) => users.push((u.clone(), p)),
            Ok(None) => {
                eprintln!(
                    "pptp-testpeer: no secret for `{u}` in {}",
                    cli.ppp_dir.join("chap-secrets").display()
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("pptp-testpeer: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pptp-testpeer: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(serve(cli, users))
}

async fn serve(cli: Cli, users: Vec<(String, pptp_engine::secret::Password)>) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind((cli.listen, PPTP_PORT)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "pptp-testpeer: cannot listen on {}:{PPTP_PORT}: {e}",
                cli.listen
            );
            return ExitCode::FAILURE;
        }
    };
    if cli.events_json {
        println!("{}", json!({"event": "listening", "port": PPTP_PORT}));
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
    });
    let cli = std::sync::Arc::new(cli);
    let users = std::sync::Arc::new(users);
    // Each call runs on a thread of its own, so calls at once use both cores.
    let (freed_tx, mut freed_rx) = mpsc::unbounded_channel::<u8>();
    let mut free: Vec<u8> = (0..cli.parallel).rev().collect();
    let mut served = 0u64;
    while cli.calls.is_none_or(|n| served < n) && !*stop_rx.borrow() {
        let slot = match free.pop() {
            Some(s) => s,
            None => match freed_rx.recv().await {
                Some(s) => s,
                None => break,
            },
        };
        let tcp = match listener.accept().await.and_then(|(t, _)| t.into_std()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("pptp-testpeer: accepting a call failed: {e}");
                free.push(slot);
                continue;
            }
        };
        let (cli, users, stop, freed) = (
            cli.clone(),
            users.clone(),
            stop_rx.clone(),
            freed_tx.clone(),
        );
        std::thread::spawn(move || {
            call(&cli, &users, slot, tcp, stop);
            let _ = freed.send(slot);
        });
        served += 1;
    }
    // Let the calls still running end.
    while free.len() < usize::from(cli.parallel) {
        match freed_rx.recv().await {
            Some(s) => free.push(s),
            None => break,
        }
    }
    ExitCode::SUCCESS
}

/// Serve one accepted call in slot `slot` until it ends.
fn call(
    cli: &Cli,
    users: &[(String, pptp_engine::secret::Password)],
    slot: u8,
    tcp: std::net::TcpStream,
    stop: watch::Receiver<bool>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return eprintln!("pptp-testpeer: {e}"),
    };
    rt.block_on(async move {
        let tcp = match tokio::net::TcpStream::from_std(tcp) {
            Ok(t) => t,
            Err(e) => return eprintln!("pptp-testpeer: {e}"),
        };
        let mut cfg = ServerConfig::new(users.to_vec(), runtime::os_seed());
        cfg.auth = Some(match cli.auth {
            AuthArg::Mschapv2 => AuthProtocol::MsChapV2,
            AuthArg::Mschap => AuthProtocol::MsChapV1,
            AuthArg::Chap => AuthProtocol::ChapMd5,
            AuthArg::Pap => AuthProtocol::Pap,
        });
        cfg.mppe = mppe_policy(cli.mppe);
        cfg.local = in_slot(cli.local, slot);
        cfg.assign = in_slot(cli.assign, slot);
        cfg.servers[0] = cli.dns;
        let ifname = match (&cli.ifname, cli.parallel) {
            (Some(n), 1) => Some(n.clone()),
            (Some(n), _) => Some(format!("{n}{slot}")),
            (None, _) => None,
        };
        let tun = TunOptions {
            ifname,
            assign_address: true,
            keep: None,
        };
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let json_events = cli.events_json;
        let printer = tokio::spawn(async move {
            while let Some(e) = ev_rx.recv().await {
                if !json_events {
                    continue;
                }
                match e {
                    RuntimeEvent::Resolved { peer: client, .. } => {
                        println!("{}", json!({"event": "call", "client": client.to_string()}))
                    }
                    RuntimeEvent::TunnelUp { ifname, info } => println!(
                        "{}",
                        json!({"event": "up", "ifname": ifname, "local": info.local.to_string(),
                               "peer": info.peer.to_string(), "mppe": info.mppe_name()})
                    ),
                    RuntimeEvent::Session(Event::Down(r)) => {
                        println!("{}", json!({"event": "down", "reason": r.code()}))
                    }
                    RuntimeEvent::Session(_) | RuntimeEvent::PasswordNotTaken(_) => {}
                }
            }
        });
        if let Err(e) = runtime::serve(tcp, cfg, tun, ev_tx, stop).await {
            eprintln!("pptp-testpeer: call failed: {e}");
        }
        let _ = printer.await;
    })
}

/// Slot `slot`'s copy of a tunnel address: the third octet moves by the slot,
/// so 192.168.99.1 serves slot 0 and 192.168.100.1 slot 1.
fn in_slot(a: Ipv4Addr, slot: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(a).wrapping_add(u32::from(slot) << 8))
}
