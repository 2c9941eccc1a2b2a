//! `nm-pptp-service`: the NetworkManager VPN plugin service for PPTP. NetworkManager
//! starts it with `--bus-name org.freedesktop.NetworkManager.pptp.Connection_N`,
//! hands it the connection over D-Bus, and applies the addresses, routes and DNS it
//! reports. The PPTP engine runs in this process: no pppd, no kernel PPP.

use std::process::ExitCode;
use std::sync::Arc;

use tracing::{error, info, warn};

use nm_pptp_service::plugin::{self, PATH};
use nm_pptp_service::tunnel::RealTunnel;
use nm_pptp_settings::nm::SERVICE;

struct Args {
    bus_name: String,
    persist: bool,
    debug: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        bus_name: SERVICE.to_string(),
        persist: false,
        debug: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bus-name" => a.bus_name = it.next().ok_or("--bus-name needs a value")?,
            s if s.starts_with("--bus-name=") => a.bus_name = s["--bus-name=".len()..].to_string(),
            "--persist" => a.persist = true,
            "--debug" => a.debug = true,
            "--help" | "-h" => {
                println!("usage: nm-pptp-service [--bus-name NAME] [--persist] [--debug]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option “{other}”")),
        }
    }
    if !a.bus_name.starts_with(SERVICE) {
        return Err(format!(
            "--bus-name “{}” is not under {SERVICE}",
            a.bus_name
        ));
    }
    Ok(a)
}

/// NetworkManager passes its VPN_PLUGIN log level as a syslog priority.
fn log_filter(debug: bool) -> &'static str {
    if debug {
        return "debug";
    }
    match std::env::var("NM_VPN_LOG_LEVEL")
        .ok()
        .and_then(|v| v.parse::<u8>().ok())
    {
        Some(7) => "debug",
        Some(6) => "info",
        Some(5) => "info",
        Some(0..=4) => "warn",
        _ => "info",
    }
}

/// NetworkManager sets NM_VPN_LOG_SYSLOG=1 when its own logs go to syslog/the
/// journal: then so do ours. With --debug, or without a journal, stderr.
fn init_logging(debug: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::new(log_filter(debug));
    let want_journal = !debug && std::env::var("NM_VPN_LOG_SYSLOG").is_ok_and(|v| v == "1");
    if want_journal {
        if let Ok(journal) = tracing_journald::layer() {
            tracing_subscriber::registry()
                .with(filter)
                .with(journal.with_syslog_identifier("nm-pptp".into()))
                .init();
            return;
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_env_filter(filter)
        .init();
}

fn main() -> ExitCode {
    // Secrets arrive over D-Bus: a crash must not dump them.
    let _ = nm_pptp_settings::process::forbid_core_dumps();
    // Messages NetworkManager logs and shows follow the locale it runs in.
    // SAFETY: before any other thread exists.
    let _ = unsafe { gettextrs::setlocale(gettextrs::LocaleCategory::LcAll, "") };
    nm_pptp_settings::i18n::bind();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nm-pptp-service: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(args.debug);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(serve(&args.bus_name, args.persist)) {
        Ok(()) => {
            info!("exiting");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!(error = %e, "service failed");
            ExitCode::FAILURE
        }
    }
}

const NM_BUS_NAME: &str = "org.freedesktop.NetworkManager";
const IDLE_QUIT: std::time::Duration = std::time::Duration::from_secs(180);

/// Own the bus name, serve the plugin, and return once STOPPED (unless `persist`).
async fn serve(bus_name: &str, persist: bool) -> zbus::Result<()> {
    let conn = zbus::connection::Builder::system()?.build().await?;
    let mut stopped = plugin::serve_on(&conn, Arc::new(RealTunnel)).await?;
    // The name last: NetworkManager calls as soon as it appears.
    conn.request_name(bus_name.to_string()).await?;
    info!(bus_name, path = PATH, "serving");
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| zbus::Error::Failure(e.to_string()))?;
    // If NetworkManager goes away (a crash, a restart), nobody will ever call
    // Disconnect: take the tunnel down and leave, as libnm's plugins do.
    let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
    let mut nm_owner = dbus
        .receive_name_owner_changed_with_args(&[(0, NM_BUS_NAME)])
        .await?;
    // libnm's quit timer: a service nobody connects (or, with --persist,
    // reconnects) for this long leaves instead of lingering as root.
    let idle_quit = std::env::var("NM_PPTP_SERVICE_IDLE_QUIT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(IDLE_QUIT, std::time::Duration::from_secs);
    let idle = tokio::time::sleep(idle_quit);
    tokio::pin!(idle);
    let mut terminating = false;
    loop {
        // Each branch says whether the service must wind down.
        let terminate = tokio::select! {
            _ = &mut idle => {
                if plugin::is_idle(&conn).await? {
                    info!("no connection for {} s: exiting", idle_quit.as_secs());
                    break;
                }
                idle.as_mut().reset(tokio::time::Instant::now() + idle_quit);
                false
            }
            Some(change) = futures_util::StreamExt::next(&mut nm_owner) => {
                let gone = change.args().is_ok_and(|a| a.new_owner().is_none());
                if gone {
                    warn!("NetworkManager left the bus: disconnecting");
                }
                gone
            }
            s = stopped.recv() => {
                if s.is_none() || !persist || terminating {
                    break;
                }
                idle.as_mut().reset(tokio::time::Instant::now() + idle_quit);
                false
            }
            _ = sigterm.recv() => true,
            _ = tokio::signal::ctrl_c() => true,
        };
        // Stop what runs and leave once it reports STOPPED; with nothing
        // running, leave now.
        if terminate && !terminating {
            terminating = true;
            if !plugin::stop(&conn).await? {
                break;
            }
        }
    }
    // Let the last signals leave before the connection closes.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    Ok(())
}
