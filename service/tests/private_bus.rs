//! The service on a private system bus whose configuration includes our real
//! D-Bus policy file. Needs root (as CI runs): root owns and calls the service,
//! `nobody` is refused. The service runs in a network namespace of its own, so any
//! connection attempt stays inside it.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zbus::zvariant::Value;

const PATH: &str = "/org/freedesktop/NetworkManager/VPN/Plugin";
const IFACE: &str = "org.freedesktop.NetworkManager.VPN.Plugin";
const SECRET: &str = "Sup3r-S3cret pass";

struct Bus {
    dir: tempfile::TempDir,
    daemon: Child,
    address: String,
}

impl Bus {
    fn start() -> Bus {
        assert!(
            // SAFETY: geteuid(2) has no preconditions and cannot fail.
            unsafe { libc_geteuid() } == 0,
            "these tests need root, as CI runs them"
        );
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("bus");
        let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nm-data/nm-pptp-service.conf");
        let conf = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <allow own="org.freedesktop.NetworkManager"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
  <include>{policy}</include>
</busconfig>"#,
            sock = sock.display(),
            policy = policy.canonicalize().unwrap().display()
        );
        let conf_path = dir.path().join("bus.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf_path.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "dbus-daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Bus {
            address: format!("unix:path={}", sock.display()),
            daemon,
            dir,
        }
    }

    /// Start the service in its own network namespace, logging to a file.
    fn service(&self, name: &str, extra_env: &[(&str, &str)], args: &[&str]) -> (Service, PathBuf) {
        let log = self.dir.path().join(format!("{name}.log"));
        let mut c = Command::new("unshare");
        c.args(["--net", env!("CARGO_BIN_EXE_nm-pptp-service"), "--bus-name"])
            .arg(format!("org.freedesktop.NetworkManager.pptp.{name}"))
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in extra_env {
            c.env(k, v);
        }
        (Service(c.spawn().unwrap()), log)
    }

    async fn client(&self) -> zbus::Connection {
        zbus::connection::Builder::address(self.address.as_str())
            .unwrap()
            .build()
            .await
            .unwrap()
    }
}

/// The service process, ended by PID when the test ends, even by a failed assertion.
struct Service(Child);

impl std::ops::Deref for Service {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Service {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

fn settings(
    data: &[(&str, &str)],
    secrets: &[(&str, &str)],
) -> HashMap<&'static str, HashMap<&'static str, Value<'static>>> {
    let d: HashMap<String, String> = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let s: HashMap<String, String> = secrets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut vpn = HashMap::new();
    vpn.insert(
        "service-type",
        Value::from("org.freedesktop.NetworkManager.pptp"),
    );
    vpn.insert("data", Value::from(d));
    vpn.insert("secrets", Value::from(s));
    HashMap::from([("vpn", vpn)])
}

async fn proxy<'a>(conn: &zbus::Connection, name: &'a str) -> zbus::Proxy<'a> {
    let dest = format!("org.freedesktop.NetworkManager.pptp.{name}");
    // The service needs a moment to own its name.
    let deadline = Instant::now() + Duration::from_secs(10);
    let dbus = zbus::fdo::DBusProxy::new(conn).await.unwrap();
    loop {
        if dbus
            .name_has_owner(dest.as_str().try_into().unwrap())
            .await
            .unwrap()
        {
            break;
        }
        assert!(Instant::now() < deadline, "{dest} never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    zbus::Proxy::new(conn, dest, PATH, IFACE).await.unwrap()
}

fn error_name(e: &zbus::Error) -> (String, String) {
    match e {
        zbus::Error::MethodError(name, msg, _) => {
            (name.to_string(), msg.clone().unwrap_or_default())
        }
        other => (format!("{other:?}"), String::new()),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn methods_states_and_bad_arguments() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    let (mut svc, log) = bus.service(
        "Connection_1",
        &[("NM_VPN_LOG_LEVEL", "7")],
        &["--persist", "--debug"],
    );
    let conn = bus.client().await;
    let p = proxy(&conn, "Connection_1").await;
    let state: u32 = p.get_property("State").await.unwrap();
    assert_eq!(state, 1, "INIT");

    // NeedSecrets honours password-flags exactly.
    for (flags, secrets, want) in [
        ("0", vec![], "vpn"),
        ("1", vec![], "vpn"),
        ("2", vec![], "vpn"),
        ("4", vec![], ""),
        ("2", vec![("password", SECRET)], ""),
        ("0", vec![("password", SECRET)], ""),
    ] {
        let s = settings(
            &[
                ("gateway", "198.51.100.1"),
                ("user", "u"),
                ("password-flags", flags),
            ],
            &secrets,
        );
        let got: String = p.call("NeedSecrets", &(s,)).await.unwrap();
        assert_eq!(
            got,
            want,
            "password-flags={flags} secrets={}",
            !secrets.is_empty()
        );
    }

    // One bad input per key: BadArguments naming key and value.
    let table: &[(&[(&str, &str)], &str)] = &[
        (
            &[("gateway", "g"), ("user", "u"), ("bogus", "1")],
            "“bogus”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("require-mppe", "maybe")],
            "“maybe”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("require-mppe-40", "1")],
            "“require-mppe-40”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("require-mppe-128", "Yes")],
            "“Yes”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("mppe-stateful", "on")],
            "“on”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("refuse-eap", "x")],
            "“refuse-eap”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("refuse-pap", "x")],
            "“refuse-pap”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("refuse-chap", "x")],
            "“refuse-chap”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("refuse-mschap", "x")],
            "“refuse-mschap”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("refuse-mschapv2", "x")],
            "“refuse-mschapv2”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("nobsdcomp", "x")],
            "“nobsdcomp”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("nodeflate", "x")],
            "“nodeflate”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("no-vj-comp", "x")],
            "“no-vj-comp”",
        ),
        (
            &[
                ("gateway", "g"),
                ("user", "u"),
                ("lcp-echo-failure", "many"),
            ],
            "“many”",
        ),
        (
            &[
                ("gateway", "g"),
                ("user", "u"),
                ("lcp-echo-interval", "99999"),
            ],
            "“99999”",
        ),
        (&[("gateway", "g"), ("user", "u"), ("unit", "-1")], "“-1”"),
        (
            &[("gateway", "g"), ("user", "u"), ("mtu", "9000")],
            "“9000”",
        ),
        (
            &[("gateway", "g"), ("user", "u"), ("password-flags", "x")],
            "“password-flags”",
        ),
        (
            &[("gateway", "vpn example"), ("user", "u")],
            "“vpn example”",
        ),
        (&[("user", "u")], "“gateway”"),
        (&[("gateway", "g")], "user"),
    ];
    for (data, needle) in table {
        let e = p
            .call::<_, _, ()>("Connect", &(settings(data, &[("password", SECRET)]),))
            .await
            .unwrap_err();
        let (name, msg) = error_name(&e);
        assert_eq!(
            name, "org.freedesktop.NetworkManager.VPN.Error.BadArguments",
            "{data:?}: {msg}"
        );
        assert!(
            msg.contains(needle),
            "{data:?}: message {msg:?} does not name {needle}"
        );
        assert!(!msg.contains(SECRET));
    }

    // Wrong states. (Disconnect before any Connect is accepted: NetworkManager
    // sends it when the user cancels the password prompt.)
    p.call::<_, _, ()>("Disconnect", &()).await.unwrap();
    let e = p.call::<_, _, ()>("Disconnect", &()).await.unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.AlreadyStopped"
    );
    let e = p
        .call::<_, _, ()>("NewSecrets", &(settings(&[("gateway", "g")], &[]),))
        .await
        .unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.WrongState"
    );

    // SetIp4Config re-emits Ip4Config.
    let mut sigs = p.receive_signal("Ip4Config").await.unwrap();
    let cfg: HashMap<&str, Value<'_>> = HashMap::from([("address", Value::from(7u32))]);
    p.call::<_, _, ()>("SetIp4Config", &(cfg,)).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), futures_next(&mut sigs))
        .await
        .expect("Ip4Config signal");
    let (got,): (HashMap<String, zbus::zvariant::OwnedValue>,) = m.body().deserialize().unwrap();
    assert_eq!(u32::try_from(&got["address"]).unwrap(), 7);

    // A real Connect: the gateway is unreachable inside the service's own network
    // namespace, so it must fail with CONNECT_FAILED and return to STOPPED.
    let mut failures = p.receive_signal("Failure").await.unwrap();
    let mut states = p.receive_signal("StateChanged").await.unwrap();
    p.call::<_, _, ()>(
        "Connect",
        &(settings(
            &[("gateway", "198.51.100.1"), ("user", "u")],
            &[("password", SECRET)],
        ),),
    )
    .await
    .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(30), futures_next(&mut failures))
        .await
        .expect("Failure signal");
    let (reason,): (u32,) = m.body().deserialize().unwrap();
    assert_eq!(reason, 1, "CONNECT_FAILED");
    let mut seen = Vec::new();
    while let Ok(m) = tokio::time::timeout(Duration::from_secs(5), futures_next(&mut states)).await
    {
        let (s,): (u32,) = m.body().deserialize().unwrap();
        seen.push(s);
        if s == 6 {
            break;
        }
    }
    assert_eq!(seen.first(), Some(&3), "STARTING first: {seen:?}");
    assert_eq!(seen.last(), Some(&6), "STOPPED last: {seen:?}");
    let state: u32 = p.get_property("State").await.unwrap();
    assert_eq!(state, 6);

    let _ = svc.kill();
    let _ = svc.wait();
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("VPN connection failed"), "log: {text}");
    assert!(
        !text.contains(SECRET),
        "the password appeared in the debug log"
    );
}

async fn futures_next(s: &mut zbus::proxy::SignalStream<'_>) -> zbus::Message {
    use std::future::poll_fn;
    use std::pin::Pin;
    poll_fn(|cx| {
        use futures_core_shim::Stream;
        Pin::new(&mut *s).poll_next(cx)
    })
    .await
    .expect("stream ended")
}

mod futures_core_shim {
    pub use zbus::export::futures_core::Stream;
}

#[tokio::test(flavor = "current_thread")]
async fn exits_when_stopped_without_persist() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    // Asked for syslog on a machine without a journal: logs must still reach stderr.
    let (mut svc, log) = bus.service("Connection_2", &[("NM_VPN_LOG_SYSLOG", "1")], &[]);
    let conn = bus.client().await;
    let p = proxy(&conn, "Connection_2").await;
    let _: () = p
        .call(
            "Connect",
            &(settings(
                &[("gateway", "198.51.100.1"), ("user", "u")],
                &[("password", SECRET)],
            ),),
        )
        .await
        .unwrap();
    exits_cleanly(&mut svc, Duration::from_secs(30), "after STOPPED").await;
    if !Path::new("/run/systemd/journal/socket").exists() {
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("VPN connection failed"),
            "no log without a journal: {text}"
        );
    }
}

/// The user cancelled the password prompt: NetworkManager disconnects a
/// service it never asked to connect. It leaves at once, not after its idle
/// timer (three minutes as root).
#[tokio::test(flavor = "current_thread")]
async fn disconnected_before_connect_exits_at_once() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    let (mut svc, _log) = bus.service("Connection_9", &[], &[]);
    let conn = bus.client().await;
    let p = proxy(&conn, "Connection_9").await;
    p.call::<_, _, ()>("Disconnect", &()).await.unwrap();
    exits_cleanly(
        &mut svc,
        Duration::from_secs(5),
        "after a Disconnect before Connect",
    )
    .await;
}

/// Waits for the service to exit with status 0 within `limit`.
async fn exits_cleanly(svc: &mut Service, limit: Duration, when: &str) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = svc.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(Instant::now() < deadline, "the service did not exit {when}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn networkmanager_leaving_the_bus_stops_the_service() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    let nm = bus.client().await;
    nm.request_name("org.freedesktop.NetworkManager")
        .await
        .unwrap();
    let (mut svc, log) = bus.service("Connection_7", &[], &[]);
    let p = proxy(&nm, "Connection_7").await;
    // Waiting for a password that will never come: only NetworkManager's
    // departure can end this.
    let details: HashMap<&str, Value> = HashMap::new();
    let _: () = p
        .call(
            "ConnectInteractive",
            &(
                settings(
                    &[
                        ("gateway", "198.51.100.1"),
                        ("user", "u"),
                        ("password-flags", "2"),
                    ],
                    &[],
                ),
                details,
            ),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(svc.try_wait().unwrap().is_none(), "exited too early");
    drop(p);
    nm.graceful_shutdown().await;
    let t = Instant::now();
    loop {
        if let Some(status) = svc.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the service outlived NetworkManager"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("NetworkManager left the bus"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_idle_service_quits_on_its_own() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    // Even with --persist: nobody connected, so nobody will.
    let (mut svc, log) = bus.service(
        "Connection_8",
        &[("NM_PPTP_SERVICE_IDLE_QUIT_SECS", "1")],
        &["--persist"],
    );
    let conn = bus.client().await;
    let _ = proxy(&conn, "Connection_8").await;
    let t = Instant::now();
    loop {
        if let Some(status) = svc.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("no connection for 1 s"), "{text}");
}

#[test]
fn nobody_may_not_own_or_call() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    let (mut svc, _log) = bus.service("Connection_3", &[], &["--persist"]);
    // Wait for root's service to own its name.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = bus.client().await;
        proxy(&conn, "Connection_3").await;
    });
    std::fs::set_permissions(
        bus.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "dbus-send",
            ])
            .arg(format!("--bus={}", bus.address))
            .args(args)
            .output()
            .unwrap()
    };
    let call = as_nobody(&[
        "--print-reply",
        "--dest=org.freedesktop.NetworkManager.pptp.Connection_3",
        PATH,
        "org.freedesktop.NetworkManager.VPN.Plugin.Disconnect",
    ]);
    let err = String::from_utf8_lossy(&call.stderr);
    assert!(
        !call.status.success() && err.contains("AccessDenied"),
        "nobody could call: {err}"
    );
    // As nobody, the service itself cannot take a name.
    let own = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            env!("CARGO_BIN_EXE_nm-pptp-service"),
            "--bus-name",
        ])
        .arg("org.freedesktop.NetworkManager.pptp.Connection_9")
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&own.stderr);
    assert!(
        !own.status.success() && err.contains("AccessDenied"),
        "nobody could own: {err}"
    );
    let _ = svc.kill();
    let _ = svc.wait();
}

#[tokio::test(flavor = "current_thread")]
async fn interactive_connect_asks_for_the_password() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    let (mut svc, log) = bus.service("Connection_4", &[("NM_VPN_LOG_LEVEL", "7")], &["--persist"]);
    let conn = bus.client().await;
    let p = proxy(&conn, "Connection_4").await;
    let mut asks = p.receive_signal("SecretsRequired").await.unwrap();
    let mut failures = p.receive_signal("Failure").await.unwrap();
    // Not saved: plain Connect cannot go ahead without a password.
    let s = || {
        settings(
            &[
                ("gateway", "198.51.100.1"),
                ("user", "u"),
                ("password-flags", "2"),
            ],
            &[],
        )
    };
    let e = p.call::<_, _, ()>("Connect", &(s(),)).await.unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.BadArguments"
    );
    let details: HashMap<&str, Value<'_>> = HashMap::new();
    p.call::<_, _, ()>("ConnectInteractive", &(s(), details))
        .await
        .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), futures_next(&mut asks))
        .await
        .expect("SecretsRequired");
    let (message, wanted): (String, Vec<String>) = m.body().deserialize().unwrap();
    assert_eq!(wanted, vec!["password".to_string()], "{message}");
    let state: u32 = p.get_property("State").await.unwrap();
    assert_eq!(state, 3, "STARTING while waiting for the password");
    // A second Connect while starting is refused.
    let e = p.call::<_, _, ()>("Connect", &(s(),)).await.unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.StartingInProgress"
    );
    p.call::<_, _, ()>(
        "NewSecrets",
        &(settings(
            &[("gateway", "198.51.100.1")],
            &[("password", SECRET)],
        ),),
    )
    .await
    .unwrap();
    // With the password the connection proceeds, and fails only at the unreachable server.
    let m = tokio::time::timeout(Duration::from_secs(30), futures_next(&mut failures))
        .await
        .expect("Failure");
    let (reason,): (u32,) = m.body().deserialize().unwrap();
    assert_eq!(
        reason, 1,
        "CONNECT_FAILED, not LOGIN_FAILED: the password arrived"
    );
    let _ = svc.kill();
    let _ = svc.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("connecting"), "{text}");
    assert!(!text.contains(SECRET));
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_while_waiting_for_a_password_stops_and_exits() {
    if !system_tests("root and dbus-daemon") {
        return;
    }
    let bus = Bus::start();
    let (mut svc, _log) = bus.service("Connection_5", &[], &["--persist"]);
    let conn = bus.client().await;
    let p = proxy(&conn, "Connection_5").await;
    let mut asks = p.receive_signal("SecretsRequired").await.unwrap();
    let s = settings(
        &[
            ("gateway", "198.51.100.1"),
            ("user", "u"),
            ("password-flags", "2"),
        ],
        &[],
    );
    let details: HashMap<&str, Value<'_>> = HashMap::new();
    p.call::<_, _, ()>("ConnectInteractive", &(s, details))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), futures_next(&mut asks))
        .await
        .expect("SecretsRequired");
    // unshare runs the service as its child; signal the service itself.
    let pid = svc.id();
    let service_pid = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()
        .and_then(|c| c.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| pid.to_string());
    assert!(Command::new("kill")
        .args(["-TERM", &service_pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = svc.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "still running 5 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

use nm_pptp_test_gate::system_tests;
