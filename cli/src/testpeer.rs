//! `pptp-testpeer`: the engine's server role behind a TUN device, speaking real
//! PPTP over TCP and GRE. A test tool for the benchmark and fault tests, not a
//! product: one call at a time, users from a chap-secrets file.

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
    /// Serve this many calls, one after another, then exit (default: forever).
    #[arg(long)]
    calls: Option<u64>,
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
    let mut served = 0u64;
    while cli.calls.is_none_or(|n| served < n) {
        let mut cfg = ServerConfig::new(users.clone(), runtime::os_seed());
        cfg.auth = Some(match cli.auth {
            AuthArg::Mschapv2 => AuthProtocol::MsChapV2,
            AuthArg::Mschap => AuthProtocol::MsChapV1,
            AuthArg::Chap => AuthProtocol::ChapMd5,
            AuthArg::Pap => AuthProtocol::Pap,
        });
        cfg.mppe = mppe_policy(cli.mppe);
        cfg.local = cli.local;
        cfg.assign = cli.assign;
        cfg.servers[0] = cli.dns;
        let tun = TunOptions {
            ifname: cli.ifname.clone(),
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
                    RuntimeEvent::Resolved(client) => {
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
        let stop = stop_rx.clone();
        if *stop.borrow() {
            break;
        }
        match runtime::serve(&listener, cfg, tun, ev_tx, stop).await {
            Ok(_) => {}
            Err(e) => eprintln!("pptp-testpeer: call failed: {e}"),
        }
        let _ = printer.await;
        served += 1;
        if *stop_rx.borrow() {
            break;
        }
    }
    ExitCode::SUCCESS
}
