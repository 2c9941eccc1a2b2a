//! The real `org.freedesktop.NetworkManager.VPN.Plugin` object, served on one end
//! of an in-process peer-to-peer D-Bus connection and called from the other, as
//! NetworkManager calls it, with a fake tunnel that reports Up and Down when the
//! test says so. No root, no bus daemon, no network.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use nm_pptp_service::plugin::serve_on_with;
use nm_pptp_service::tunnel::{BoxFuture, TunnelRunner};
use nm_pptp_settings::keys::{Kind, KEYS};
use pptp_engine::auth::{AuthError, ServerFailure};
use pptp_engine::dhcp::{Pushed, Route};
use pptp_engine::ppp::lcp::AuthProtocol;
use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, DownReason, Event, Ipv6Link, RouterInfo, UpInfo};
use pptp_runtime::{RuntimeEvent, TunOptions};
use tokio::sync::{mpsc, oneshot, watch};
use zbus::message::Type as MessageType;
use zbus::zvariant::{OwnedValue, Value};
use zbus::{Connection, MessageStream};

const PATH: &str = "/org/freedesktop/NetworkManager/VPN/Plugin";
const IFACE: &str = "org.freedesktop.NetworkManager.VPN.Plugin";
const SECRET: &str = "Sup3r-S3cret pass";
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const WAIT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

mod state {
    pub const INIT: u32 = 1;
    pub const STARTING: u32 = 3;
    pub const STARTED: u32 = 4;
    pub const STOPPING: u32 = 5;
    pub const STOPPED: u32 = 6;
}

/// One call of the fake tunnel, handed to the test to drive.
struct Call {
    servers: Vec<Ipv4Addr>,
    cfg: ClientConfig,
    tun: TunOptions,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    finish: oneshot::Sender<DownReason>,
    passwords: Option<mpsc::UnboundedReceiver<Password>>,
}

impl Call {
    /// The tunnel reports itself up on tun0.
    fn up(&self) {
        self.events
            .send(RuntimeEvent::TunnelUp {
                ifname: "tun0".into(),
                info: up_info(),
            })
            .unwrap();
    }
}

struct FakeTunnel {
    calls: mpsc::UnboundedSender<Call>,
}

impl TunnelRunner for FakeTunnel {
    fn resolve(&self, gateway: String) -> BoxFuture<'static, Result<Vec<Ipv4Addr>, String>> {
        Box::pin(async move {
            match gateway.as_str() {
                "unresolvable.invalid" => Err("no such host".to_string()),
                "hangs.invalid" => std::future::pending().await,
                "panics.invalid" => Ok(vec![Ipv4Addr::new(192, 0, 2, 99)]),
                "two.invalid" => Ok(vec![Ipv4Addr::new(192, 0, 2, 7), SERVER]),
                _ => Ok(vec![SERVER]),
            }
        })
    }

    fn run(
        &self,
        servers: Vec<Ipv4Addr>,
        cfg: ClientConfig,
        tun: TunOptions,
        events: mpsc::UnboundedSender<RuntimeEvent>,
        mut stop: watch::Receiver<bool>,
        passwords: Option<mpsc::UnboundedReceiver<Password>>,
    ) -> BoxFuture<'static, DownReason> {
        if servers == [Ipv4Addr::new(192, 0, 2, 99)] {
            return Box::pin(async { panic!("a bug in the engine") });
        }
        let (finish, finished) = oneshot::channel();
        let _ = self.calls.send(Call {
            servers,
            cfg,
            tun,
            events,
            finish,
            passwords,
        });
        Box::pin(async move {
            let stopped = async {
                while !*stop.borrow() {
                    if stop.changed().await.is_err() {
                        break;
                    }
                }
            };
            tokio::select! {
                r = finished => r.unwrap_or(DownReason::Stopped),
                _ = stopped => DownReason::Stopped,
            }
        })
    }
}

struct Harness {
    client: Connection,
    _server: Connection,
    signals: MessageStream,
    calls: mpsc::UnboundedReceiver<Call>,
    stopped: mpsc::UnboundedReceiver<()>,
}

impl Harness {
    async fn new() -> Harness {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let guid = zbus::Guid::generate();
        let server = zbus::connection::Builder::unix_stream(a)
            .server(guid)
            .unwrap()
            .p2p()
            .build();
        let client = zbus::connection::Builder::unix_stream(b).p2p().build();
        let (server, client) = tokio::try_join!(server, client).unwrap();
        let (tx, calls) = mpsc::unbounded_channel();
        // A connect deadline short enough to test, long enough for the others.
        let stopped = serve_on_with(&server, Arc::new(FakeTunnel { calls: tx }), CONNECT_TIMEOUT)
            .await
            .unwrap();
        let signals = MessageStream::from(&client);
        Harness {
            client,
            _server: server,
            signals,
            calls,
            stopped,
        }
    }

    async fn call<B>(&self, method: &str, body: &B) -> Result<zbus::Message, zbus::Error>
    where
        B: zbus::export::serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.client
            .call_method(None::<&str>, PATH, Some(IFACE), method, body)
            .await
    }

    /// Connect with a password to a gateway the fake tunnel treats specially.
    async fn connect_to(&self, gateway: &str) {
        self.call(
            "Connect",
            &(settings(
                &[("gateway", gateway), ("user", "u")],
                &[("password", SECRET)],
            ),),
        )
        .await
        .unwrap();
    }

    async fn state(&self) -> u32 {
        let m = self
            .client
            .call_method(
                None::<&str>,
                PATH,
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &(IFACE, "State"),
            )
            .await
            .unwrap();
        let v: OwnedValue = m.body().deserialize().unwrap();
        u32::try_from(v).unwrap()
    }

    /// The next signal of the plugin's interface, by member name and message.
    async fn signal(&mut self) -> (String, zbus::Message) {
        use futures_util::StreamExt;
        loop {
            let m = tokio::time::timeout(WAIT, self.signals.next())
                .await
                .expect("a signal within 5 s")
                .expect("stream open")
                .unwrap();
            let h = m.header();
            if h.message_type() == MessageType::Signal
                && h.interface().is_some_and(|i| i.as_str() == IFACE)
            {
                let member = h.member().unwrap().to_string();
                return (member, m);
            }
        }
    }

    /// The signals up to and including StateChanged(STOPPED), as (member, u32
    /// argument for StateChanged and Failure).
    async fn until_stopped(&mut self) -> Vec<(String, Option<u32>)> {
        let mut seen = Vec::new();
        loop {
            let (member, m) = self.signal().await;
            let arg = match member.as_str() {
                "StateChanged" | "Failure" => Some(m.body().deserialize::<u32>().unwrap()),
                _ => None,
            };
            seen.push((member.clone(), arg));
            if member == "StateChanged" && arg == Some(state::STOPPED) {
                return seen;
            }
        }
    }

    async fn next_call(&mut self) -> Call {
        tokio::time::timeout(WAIT, self.calls.recv())
            .await
            .expect("the tunnel to be started within 5 s")
            .unwrap()
    }

    async fn expect_state_signal(&mut self, want: u32) {
        let (member, m) = self.signal().await;
        assert_eq!(member, "StateChanged");
        assert_eq!(m.body().deserialize::<u32>().unwrap(), want);
    }
}

type Settings<'a> = HashMap<&'a str, HashMap<&'a str, Value<'a>>>;

/// `settings` with the password saved and `ipv4.never-default` as given.
fn with_never_default<'a>(data: &[(&'a str, &'a str)], never_default: bool) -> Settings<'a> {
    let mut s = settings(data, &[("password", SECRET)]);
    s.insert(
        "ipv4",
        HashMap::from([("never-default", Value::from(never_default))]),
    );
    s
}

fn settings<'a>(data: &[(&'a str, &'a str)], secrets: &[(&'a str, &'a str)]) -> Settings<'a> {
    let dict = |kv: &[(&'a str, &'a str)]| -> Value<'a> {
        Value::from(kv.iter().copied().collect::<HashMap<&str, &str>>())
    };
    HashMap::from([(
        "vpn",
        HashMap::from([
            (
                "service-type",
                Value::from("org.freedesktop.NetworkManager.pptp"),
            ),
            ("data", dict(data)),
            ("secrets", dict(secrets)),
        ]),
    )])
}

fn error_name(e: &zbus::Error) -> (String, String) {
    match e {
        zbus::Error::MethodError(name, msg, _) => {
            (name.to_string(), msg.clone().unwrap_or_default())
        }
        other => (format!("{other:?}"), String::new()),
    }
}

fn ip6_addr(v: &OwnedValue) -> Ipv6Addr {
    let b: Vec<u8> = v.try_clone().unwrap().try_into().unwrap();
    Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap())
}

fn nm_addr(a: &str) -> u32 {
    u32::from_ne_bytes(a.parse::<Ipv4Addr>().unwrap().octets())
}

fn up_info() -> UpInfo {
    UpInfo {
        local: "10.0.0.2".parse().unwrap(),
        peer: "10.0.0.1".parse().unwrap(),
        dns: vec!["10.0.0.53".parse().unwrap(), "10.0.0.54".parse().unwrap()],
        nbns: vec!["10.0.0.55".parse().unwrap()],
        mtu: 1400,
        mppe: None,
        mppe_receive: None,
        auth: Some(AuthProtocol::MsChapV2),
        ipv6: None,
    }
}

/// `plain()` with `vpn.persistent=yes`.
fn persistent<'a>() -> Settings<'a> {
    let mut s = plain();
    s.get_mut("vpn")
        .unwrap()
        .insert("persistent", Value::from(true));
    s
}

/// Brings `call` up and checks what NetworkManager is told: Config (with
/// `can-persist` as given), Ip4Config, STARTED.
async fn expect_up(h: &mut Harness, call: &Call, can_persist: bool) {
    call.up();
    let (member, m) = h.signal().await;
    assert_eq!(member, "Config");
    let c: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert_eq!(
        c.get("can-persist").map(|v| bool::try_from(v).unwrap()),
        can_persist.then_some(true),
        "{c:?}"
    );
    assert_eq!(h.signal().await.0, "Ip4Config");
    // A full-tunnel VPN routes IPv6 into the tunnel (block-ipv6-leak).
    assert_eq!(h.signal().await.0, "Ip6Config");
    h.expect_state_signal(state::STARTED).await;
}

fn plain<'a>() -> Settings<'a> {
    settings(
        &[("gateway", "vpn.example.org"), ("user", "alice")],
        &[("password", SECRET)],
    )
}

#[tokio::test]
async fn connect_reports_exact_config_then_started_and_disconnects() {
    let mut h = Harness::new().await;
    assert_eq!(h.state().await, state::INIT);
    h.call(
        "Connect",
        &(settings(
            &[
                ("gateway", "vpn.example.org"),
                ("user", "alice"),
                ("domain", "CORP"),
                ("require-mppe-128", "yes"),
                ("unit", "5"),
                ("mtu", "1400"),
                ("lcp-echo-interval", "10"),
            ],
            &[("password", SECRET)],
        ),),
    )
    .await
    .unwrap();
    h.expect_state_signal(state::STARTING).await;
    let call = h.next_call().await;
    assert_eq!(call.servers, [SERVER]);
    assert_eq!(call.cfg.user, "CORP\\alice");
    assert_eq!(call.cfg.password.expose(), SECRET);
    assert!(call.cfg.mppe.required && call.cfg.mppe.allow_128 && !call.cfg.mppe.allow_40);
    assert!(!call.cfg.auth.pap && !call.cfg.auth.chap);
    assert_eq!(call.cfg.ppp.mtu, Some(1400));
    assert_eq!(call.cfg.ppp.lcp_echo, Some((Duration::from_secs(10), 0)));
    assert_eq!(call.tun.ifname.as_deref(), Some("ppp5"));
    assert!(
        !call.tun.assign_address,
        "NetworkManager assigns the address"
    );
    assert_eq!(h.state().await, state::STARTING);

    call.events
        .send(RuntimeEvent::TunnelUp {
            ifname: "ppp5".into(),
            info: up_info(),
        })
        .unwrap();
    let (member, m) = h.signal().await;
    assert_eq!(member, "Config");
    let c: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert_eq!(
        String::try_from(c["tundev"].try_clone().unwrap()).unwrap(),
        "ppp5"
    );
    assert_eq!(u32::try_from(&c["gateway"]).unwrap(), nm_addr("192.0.2.1"));
    assert_eq!(u32::try_from(&c["mtu"]).unwrap(), 1400);
    assert!(bool::try_from(&c["has-ip4"]).unwrap());
    // No IPv6 from the server, but the VPN is the default route: IPv6 goes
    // into the tunnel (and is refused there) rather than around it.
    assert!(bool::try_from(&c["has-ip6"]).unwrap());
    assert_eq!(c.len(), 5, "{c:?}");
    let (member, m) = h.signal().await;
    assert_eq!(member, "Ip4Config");
    let ip4: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert_eq!(u32::try_from(&ip4["address"]).unwrap(), nm_addr("10.0.0.2"));
    assert_eq!(u32::try_from(&ip4["ptp"]).unwrap(), nm_addr("10.0.0.1"));
    assert_eq!(u32::try_from(&ip4["prefix"]).unwrap(), 32);
    let dns: Vec<u32> = ip4["dns"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(dns, [nm_addr("10.0.0.53"), nm_addr("10.0.0.54")]);
    let nbns: Vec<u32> = ip4["nbns"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(nbns, [nm_addr("10.0.0.55")]);
    let (member, m) = h.signal().await;
    assert_eq!(member, "Ip6Config");
    let ip6: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    let address = ip6_addr(&ip6["address"]);
    assert!(address.is_unicast_link_local(), "{address}");
    assert_eq!(u32::try_from(&ip6["prefix"]).unwrap(), 64);
    assert!(!bool::try_from(&ip6["never-default"]).unwrap());
    h.expect_state_signal(state::STARTED).await;
    assert_eq!(h.state().await, state::STARTED);

    // A second Connect while up is refused.
    let e = h.call("Connect", &(plain(),)).await.unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.AlreadyStarted"
    );

    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert_eq!(
        seen,
        [
            ("StateChanged".to_string(), Some(state::STOPPING)),
            ("StateChanged".to_string(), Some(state::STOPPED)),
        ],
        "a requested stop is not a failure"
    );
    tokio::time::timeout(WAIT, h.stopped.recv())
        .await
        .unwrap()
        .unwrap();
    let e = h.call("Disconnect", &()).await.unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.AlreadyStopped"
    );
}

/// A gateway name with several addresses: the tunnel gets them all, in order,
/// and NetworkManager is told the one that answered (its route to the server).
#[tokio::test]
async fn the_gateway_reported_is_the_address_that_answered() {
    let mut h = Harness::new().await;
    h.connect_to("two.invalid").await;
    h.expect_state_signal(state::STARTING).await;
    let call = h.next_call().await;
    assert_eq!(call.servers, [Ipv4Addr::new(192, 0, 2, 7), SERVER]);
    call.events
        .send(RuntimeEvent::Resolved {
            peer: SERVER,
            local: Ipv4Addr::new(192, 0, 2, 100),
        })
        .unwrap();
    call.up();
    let (member, m) = h.signal().await;
    assert_eq!(member, "Config");
    let c: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert_eq!(u32::try_from(&c["gateway"]).unwrap(), nm_addr("192.0.2.1"));
}

/// The server's DHCPINFORM answer, after Up: a second Ip4Config with its routes
/// and domain, and its name servers after IPCP's (duplicates once).
#[tokio::test]
async fn routes_and_domain_from_the_server_follow_as_a_second_ip4config() {
    let mut h = Harness::new().await;
    h.connect_to("vpn.example.org").await;
    h.expect_state_signal(state::STARTING).await;
    let call = h.next_call().await;
    assert!(call.cfg.ppp.dhcp_inform, "on by default");
    call.up();
    for want in ["Config", "Ip4Config", "Ip6Config"] {
        assert_eq!(h.signal().await.0, want);
    }
    h.expect_state_signal(state::STARTED).await;
    let pushed = Pushed {
        routes: vec![Route {
            dest: Ipv4Addr::new(10, 128, 0, 0),
            prefix: 9,
        }],
        domain: Some("corp.example".into()),
        dns: vec![Ipv4Addr::new(10, 0, 0, 54), Ipv4Addr::new(10, 0, 0, 99)],
        wins: vec![],
    };
    call.events
        .send(RuntimeEvent::Session(Event::Pushed(pushed)))
        .unwrap();
    let (member, m) = h.signal().await;
    assert_eq!(member, "Ip4Config");
    let ip4: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert_eq!(u32::try_from(&ip4["address"]).unwrap(), nm_addr("10.0.0.2"));
    let routes: Vec<Vec<u32>> = ip4["routes"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(routes, [vec![nm_addr("10.128.0.0"), 9, 0, 0]]);
    let domains: Vec<String> = ip4["domains"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(domains, ["corp.example"]);
    let dns: Vec<u32> = ip4["dns"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(
        dns,
        [
            nm_addr("10.0.0.53"),
            nm_addr("10.0.0.54"),
            nm_addr("10.0.0.99")
        ]
    );
    assert_eq!(h.state().await, state::STARTED);
}

/// A split tunnel's pushed routes go through route_policy: the two halves of
/// the address space, a route over the VPN server and one over this machine's
/// own address on the way to it are refused; the rest goes to NetworkManager.
#[tokio::test]
async fn a_split_tunnel_refuses_pushed_routes_that_would_capture_it() {
    let mut h = Harness::new().await;
    let s = with_never_default(&[("gateway", "vpn.example.org"), ("user", "u")], true);
    h.call("Connect", &(s,)).await.unwrap();
    h.expect_state_signal(state::STARTING).await;
    let call = h.next_call().await;
    call.events
        .send(RuntimeEvent::Resolved {
            peer: SERVER,
            local: Ipv4Addr::new(198, 51, 100, 7),
        })
        .unwrap();
    call.up();
    for want in ["Config", "Ip4Config"] {
        assert_eq!(h.signal().await.0, want);
    }
    h.expect_state_signal(state::STARTED).await;
    let route = |a: [u8; 4], prefix| Route {
        dest: a.into(),
        prefix,
    };
    let pushed = Pushed {
        routes: vec![
            route([0, 0, 0, 0], 1),
            route([128, 0, 0, 0], 1),
            route([10, 0, 0, 0], 8),
            route([192, 0, 2, 0], 24),
            route([198, 51, 100, 0], 24),
            route([172, 16, 0, 0], 12),
        ],
        ..Pushed::default()
    };
    call.events
        .send(RuntimeEvent::Session(Event::Pushed(pushed)))
        .unwrap();
    let (member, m) = h.signal().await;
    assert_eq!(member, "Ip4Config");
    let ip4: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    let routes: Vec<Vec<u32>> = ip4["routes"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(
        routes,
        [
            vec![nm_addr("10.0.0.0"), 8, 0, 0],
            vec![nm_addr("172.16.0.0"), 12, 0, 0]
        ]
    );
}

/// class-route=yes with ipv4.never-default: the assigned address's classful
/// network goes through the tunnel until the server pushes routes of its own.
#[tokio::test]
async fn the_class_route_stands_in_for_pushed_routes() {
    let routes_of = |m: &zbus::Message| -> Option<Vec<Vec<u32>>> {
        let ip4: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
        ip4.get("routes")
            .map(|r| r.try_clone().unwrap().try_into().unwrap())
    };
    for (never_default, pushed_routes) in [(true, false), (true, true), (false, false)] {
        let mut h = Harness::new().await;
        let s = with_never_default(
            &[("gateway", "g"), ("user", "u"), ("class-route", "yes")],
            never_default,
        );
        h.call("Connect", &(s,)).await.unwrap();
        h.expect_state_signal(state::STARTING).await;
        let call = h.next_call().await;
        call.up();
        assert_eq!(h.signal().await.0, "Config");
        let (member, m) = h.signal().await;
        assert_eq!(member, "Ip4Config");
        // up_info's address is 10.0.0.2: class A.
        let class = vec![nm_addr("10.0.0.0"), 8, 0, 0];
        let want = never_default.then(|| vec![class.clone()]);
        assert_eq!(routes_of(&m), want, "never-default {never_default}");
        if !never_default {
            assert_eq!(h.signal().await.0, "Ip6Config");
        }
        h.expect_state_signal(state::STARTED).await;
        let pushed = Pushed {
            routes: if pushed_routes {
                vec![Route {
                    dest: Ipv4Addr::new(172, 20, 0, 0),
                    prefix: 16,
                }]
            } else {
                vec![]
            },
            domain: Some("corp.example".into()),
            ..Pushed::default()
        };
        call.events
            .send(RuntimeEvent::Session(Event::Pushed(pushed)))
            .unwrap();
        let (_, m) = h.signal().await;
        let want = match (never_default, pushed_routes) {
            (_, true) => Some(vec![vec![nm_addr("172.20.0.0"), 16, 0, 0]]),
            (true, false) => Some(vec![class]),
            (false, false) => None,
        };
        assert_eq!(routes_of(&m), want, "{never_default} {pushed_routes}");
    }
}

#[tokio::test]
async fn a_connection_can_turn_dhcp_inform_off() {
    let mut h = Harness::new().await;
    h.call(
        "Connect",
        &(settings(
            &[
                ("gateway", "vpn.example.org"),
                ("user", "alice"),
                ("dhcp-inform", "no"),
            ],
            &[("password", SECRET)],
        ),),
    )
    .await
    .unwrap();
    h.expect_state_signal(state::STARTING).await;
    assert!(!h.next_call().await.cfg.ppp.dhcp_inform);
}

#[tokio::test]
async fn every_down_reason_maps_to_its_failure() {
    let mut h = Harness::new().await;
    let cases: Vec<(DownReason, Option<u32>)> = vec![
        (DownReason::AuthFailed(AuthError::Timeout), Some(0)),
        (DownReason::NoIpAddress, Some(2)),
        (DownReason::PeerUnreachable("x".into()), Some(1)),
        (DownReason::GreBlocked, Some(1)),
        (DownReason::MppeRefused("x".into()), Some(1)),
        (DownReason::MppeTooWeak("40-bit stateless".into()), Some(1)),
        // The server ended a session that worked: the VPN stops, no failure.
        (DownReason::SessionEnded("MPPE disabled".into()), None),
        (DownReason::NegotiationFailed("x".into()), Some(1)),
        (DownReason::EchoTimeout, Some(1)),
        (DownReason::PeerClosed("x".into()), Some(1)),
        (DownReason::MppeFailed, Some(1)),
        (DownReason::MethodRefused(AuthProtocol::Pap), Some(1)),
        (DownReason::NoAuthentication, Some(1)),
        (DownReason::Stopped, None),
    ];
    for (reason, want) in cases {
        for after_up in [false, true] {
            // Each attempt starts again from STOPPED on the same object.
            h.call("Connect", &(plain(),)).await.unwrap();
            let call = h.next_call().await;
            if after_up {
                call.up();
            }
            call.finish.send(reason.clone()).unwrap();
            let seen = h.until_stopped().await;
            let failures: Vec<u32> = seen
                .iter()
                .filter(|(m, _)| m == "Failure")
                .filter_map(|(_, a)| *a)
                .collect();
            assert_eq!(failures, want.into_iter().collect::<Vec<_>>(), "{reason:?}");
            let tail: Vec<_> = seen.iter().rev().take(2).collect();
            assert_eq!(tail[0].1, Some(state::STOPPED));
            assert_eq!(tail[1].1, Some(state::STOPPING), "{seen:?}");
            if let Some(i) = seen.iter().position(|(m, _)| m == "Failure") {
                assert_eq!(
                    seen[i + 1].1,
                    Some(state::STOPPING),
                    "Failure before STOPPING"
                );
            }
            assert_eq!(h.state().await, state::STOPPED);
            h.stopped.recv().await.unwrap();
        }
    }
    // A gateway that does not resolve never starts the tunnel.
    h.connect_to("unresolvable.invalid").await;
    let seen = h.until_stopped().await;
    assert!(seen.contains(&("Failure".to_string(), Some(1))), "{seen:?}");
    assert!(h.calls.try_recv().is_err());
    // An engine that panics is a failure, never a clean stop.
    h.connect_to("panics.invalid").await;
    let seen = h.until_stopped().await;
    assert!(seen.contains(&("Failure".to_string(), Some(1))), "{seen:?}");
}

#[tokio::test]
async fn a_persistent_connection_dials_again_until_a_refused_login() {
    let mut h = Harness::new().await;
    h.call("Connect", &(persistent(),)).await.unwrap();
    h.expect_state_signal(state::STARTING).await;
    let first = h.next_call().await;
    let slot = first
        .tun
        .keep
        .clone()
        .expect("a persistent call keeps its interface");
    expect_up(&mut h, &first, true).await;

    // The call is lost: NetworkManager sees the VPN connecting again, with no
    // Failure, and the next call gets the same interface.
    first.finish.send(DownReason::EchoTimeout).unwrap();
    h.expect_state_signal(state::STARTING).await;
    let t = std::time::Instant::now();
    let second = h.next_call().await;
    let first_wait = t.elapsed();
    assert_eq!(second.tun.keep.as_ref(), Some(&slot));
    // A failed attempt (the server still away) says nothing and waits longer.
    second
        .finish
        .send(DownReason::PeerUnreachable("no route".into()))
        .unwrap();
    let t = std::time::Instant::now();
    let third = h.next_call().await;
    let second_wait = t.elapsed();
    assert!(
        first_wait >= Duration::from_millis(900) && second_wait >= Duration::from_millis(1900),
        "backoff: {first_wait:?} then {second_wait:?}"
    );
    assert_eq!(third.tun.keep.as_ref(), Some(&slot));
    expect_up(&mut h, &third, true).await;
    assert_eq!(h.state().await, state::STARTED);

    // An authentication that timed out is tried again; the server refusing the
    // login on a later call ends it.
    third
        .finish
        .send(DownReason::AuthFailed(AuthError::Timeout))
        .unwrap();
    h.expect_state_signal(state::STARTING).await;
    let fourth = h.next_call().await;
    fourth
        .finish
        .send(DownReason::AuthFailed(AuthError::Rejected(
            ServerFailure::mschap(b"E=691 R=0 C=0123456789ABCDEF0123456789ABCDEF V=3 M=Denied"),
        )))
        .unwrap();
    let seen = h.until_stopped().await;
    assert_eq!(seen[0], ("Failure".to_string(), Some(0)), "{seen:?}");
    assert!(h.calls.try_recv().is_err(), "no call after a refused login");
}

#[tokio::test]
async fn disconnect_while_waiting_to_dial_again_stops_at_once() {
    let mut h = Harness::new().await;
    h.call("Connect", &(persistent(),)).await.unwrap();
    h.expect_state_signal(state::STARTING).await;
    let call = h.next_call().await;
    expect_up(&mut h, &call, true).await;
    call.finish
        .send(DownReason::PeerClosed("reset".into()))
        .unwrap();
    h.expect_state_signal(state::STARTING).await;
    let t = std::time::Instant::now();
    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    assert!(!seen.iter().any(|(m, _)| m == "Failure"), "{seen:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(h.calls.try_recv().is_err(), "no call after Disconnect");
}

#[tokio::test]
async fn without_persistent_a_lost_call_fails_at_once() {
    let mut h = Harness::new().await;
    h.call("Connect", &(plain(),)).await.unwrap();
    h.expect_state_signal(state::STARTING).await;
    let call = h.next_call().await;
    assert!(call.tun.keep.is_none());
    expect_up(&mut h, &call, false).await;
    call.finish.send(DownReason::EchoTimeout).unwrap();
    let seen = h.until_stopped().await;
    assert_eq!(seen[0], ("Failure".to_string(), Some(1)), "{seen:?}");
    assert!(h.calls.try_recv().is_err());
}

#[tokio::test]
async fn need_secrets_follows_password_flags() {
    let h = Harness::new().await;
    for (flags, secrets, want) in [
        ("0", vec![], "vpn"),
        ("1", vec![], "vpn"),
        ("2", vec![], "vpn"),
        ("4", vec![], ""),
        ("2", vec![("password", SECRET)], ""),
        ("0", vec![("password", SECRET)], ""),
        ("0", vec![("password", "")], "vpn"),
    ] {
        let s = settings(
            &[("gateway", "g"), ("user", "u"), ("password-flags", flags)],
            &secrets,
        );
        let m = h.call("NeedSecrets", &(s,)).await.unwrap();
        let got: String = m.body().deserialize().unwrap();
        assert_eq!(got, want, "password-flags={flags} secrets={secrets:?}");
    }
    // NeedSecrets judges the whole connection, like Connect.
    let e = h
        .call("NeedSecrets", &(settings(&[("gateway", "g;")], &[]),))
        .await
        .unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.BadArguments"
    );
}

#[tokio::test]
async fn interactive_connect_asks_for_the_password_and_uses_it() {
    let mut h = Harness::new().await;
    let data = [("gateway", "g"), ("user", "u"), ("password-flags", "2")];
    // Not interactive: nobody to ask.
    let e = h
        .call("Connect", &(settings(&data, &[]),))
        .await
        .unwrap_err();
    let (name, msg) = error_name(&e);
    assert_eq!(
        name,
        "org.freedesktop.NetworkManager.VPN.Error.BadArguments"
    );
    assert!(msg.contains("password"), "{msg}");
    assert_eq!(h.state().await, state::INIT);

    let details: HashMap<&str, Value> = HashMap::new();
    h.call("ConnectInteractive", &(settings(&data, &[]), details))
        .await
        .unwrap();
    h.expect_state_signal(state::STARTING).await;
    let (member, m) = h.signal().await;
    assert_eq!(member, "SecretsRequired");
    let (_message, wanted): (String, Vec<String>) = m.body().deserialize().unwrap();
    assert_eq!(wanted, ["password"]);
    assert!(h.calls.try_recv().is_err(), "no tunnel before the password");

    let e = h
        .call("NewSecrets", &(settings(&data, &[]),))
        .await
        .unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.BadArguments"
    );
    h.call("NewSecrets", &(settings(&data, &[("password", SECRET)]),))
        .await
        .unwrap();
    let call = h.next_call().await;
    assert_eq!(call.cfg.password.expose(), SECRET);
    // Only one answer is taken.
    let e = h
        .call("NewSecrets", &(settings(&data, &[("password", "other")]),))
        .await
        .unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.WrongState"
    );
    call.finish.send(DownReason::Stopped).unwrap();
    h.until_stopped().await;
}

/// The server refuses the password during an interactive connect of an
/// agent-owned password: the plugin asks again, saying why (the agent shows it),
/// and dials again with the new one, at most twice. A non-interactive connect,
/// or a password saved in the connection (no agent known), fails at once.
#[tokio::test]
async fn a_refused_password_is_asked_again_when_someone_can_answer() {
    let refused = || {
        DownReason::AuthFailed(AuthError::Rejected(ServerFailure::mschap(
            b"E=691 R=0 C=00000000000000000000000000000000 V=3 M=Access denied",
        )))
    };
    let data = [("gateway", "g"), ("user", "u"), ("password-flags", "1")];
    let mut h = Harness::new().await;
    let details: HashMap<&str, Value> = HashMap::new();
    h.call(
        "ConnectInteractive",
        &(settings(&data, &[("password", "wrong")]), details.clone()),
    )
    .await
    .unwrap();
    h.expect_state_signal(state::STARTING).await;
    for (attempt, password) in ["wrong", "still wrong"].into_iter().enumerate() {
        let call = h.next_call().await;
        assert_eq!(call.cfg.password.expose(), password);
        call.finish.send(refused()).unwrap();
        let (member, m) = h.signal().await;
        assert_eq!(member, "SecretsRequired");
        let (message, wanted): (String, Vec<String>) = m.body().deserialize().unwrap();
        // Asked again: the dialog is told the last password was refused.
        assert_eq!(wanted, ["password", "x-pptp-password-refused"]);
        assert!(
            message.starts_with("The server rejected the user name or password (E=691)")
                && message.ends_with("Enter the password again."),
            "{message}"
        );
        assert_eq!(h.state().await, state::STARTING);
        let next = if attempt == 0 { "still wrong" } else { SECRET };
        h.call("NewSecrets", &(settings(&data, &[("password", next)]),))
            .await
            .unwrap();
    }
    let call = h.next_call().await;
    assert_eq!(call.cfg.password.expose(), SECRET);
    call.up();
    for want in ["Config", "Ip4Config", "Ip6Config"] {
        assert_eq!(h.signal().await.0, want);
    }
    h.expect_state_signal(state::STARTED).await;
    h.call("Disconnect", &()).await.unwrap();
    h.until_stopped().await;

    // Three refusals in a row: LOGIN_FAILED after the second retry.
    h.call(
        "ConnectInteractive",
        &(settings(&data, &[("password", "wrong")]), details),
    )
    .await
    .unwrap();
    for attempt in 1..=3 {
        let call = h.next_call().await;
        call.finish.send(refused()).unwrap();
        if attempt < 3 {
            loop {
                let (member, _) = h.signal().await;
                if member == "SecretsRequired" {
                    break;
                }
            }
            h.call("NewSecrets", &(settings(&data, &[("password", "nope")]),))
                .await
                .unwrap();
        }
    }
    let seen = h.until_stopped().await;
    assert!(seen.contains(&("Failure".to_string(), Some(0))), "{seen:?}");

    // Not interactive: nobody to ask, LOGIN_FAILED at once.
    h.call("Connect", &(settings(&data, &[("password", "wrong")]),))
        .await
        .unwrap();
    h.next_call().await.finish.send(refused()).unwrap();
    let seen = h.until_stopped().await;
    assert!(seen.contains(&("Failure".to_string(), Some(0))), "{seen:?}");
    assert!(
        !seen.iter().any(|(m, _)| m == "SecretsRequired"),
        "{seen:?}"
    );
}

fn retry_offer() -> ServerFailure {
    ServerFailure::mschap(b"E=691 R=1 C=0123456789ABCDEF0123456789ABCDEF V=3 M=Wrong password")
}

/// An interactive connect whose server refuses the password but offers a retry
/// on the link: the call, once the plugin has asked (SecretsRequired) and been
/// answered with SECRET; and the prompt's text.
async fn retry_answered(h: &mut Harness, data: &[(&str, &str)]) -> (Call, String) {
    let details: HashMap<&str, Value> = HashMap::new();
    h.call(
        "ConnectInteractive",
        &(settings(data, &[("password", "wrong")]), details),
    )
    .await
    .unwrap();
    let call = h.next_call().await;
    assert!(call.cfg.password_retry);
    call.events
        .send(RuntimeEvent::Session(Event::PasswordWanted(retry_offer())))
        .unwrap();
    let message = loop {
        let (member, m) = h.signal().await;
        if member == "SecretsRequired" {
            let (message, _): (String, Vec<String>) = m.body().deserialize().unwrap();
            break message;
        }
    };
    (call, message)
}

/// A server that allows a retry on the link (MS-CHAPv2 R=1): the prompt says
/// why, the new password goes to the running call (no second dial). When the
/// call ends before the answer (pppd offers R=1 and hangs up), the typed
/// password dials again without a second prompt. Non-interactive connects never
/// offer the engine a way to ask.
#[tokio::test]
async fn a_retry_on_the_link_gets_the_new_password() {
    let data = [("gateway", "g"), ("user", "u"), ("password-flags", "1")];
    let answer = settings(&data, &[("password", SECRET)]);
    let mut h = Harness::new().await;
    let (mut call, message) = retry_answered(&mut h, &data).await;
    assert!(
        message.contains("E=691") && message.ends_with("Enter the password again."),
        "{message}"
    );
    h.call("NewSecrets", &(answer.clone(),)).await.unwrap();
    let got = call.passwords.as_mut().unwrap().recv().await.unwrap();
    assert_eq!(got.expose(), SECRET);
    call.up();
    for want in ["Config", "Ip4Config", "Ip6Config"] {
        assert_eq!(h.signal().await.0, want);
    }
    h.expect_state_signal(state::STARTED).await;
    assert!(h.calls.try_recv().is_err(), "dialled again");
    h.call("Disconnect", &()).await.unwrap();
    h.until_stopped().await;

    // Two ways the call cannot use the answer: it ended while the prompt was
    // open (its receiver is gone), or it was ending when the answer came (the
    // engine gives the password back). Either way it dials again with it.
    for gives_back in [false, true] {
        let (mut call, _) = retry_answered(&mut h, &data).await;
        if !gives_back {
            drop(call.passwords.take());
        }
        h.call("NewSecrets", &(answer.clone(),)).await.unwrap();
        if gives_back {
            let pw = call.passwords.as_mut().unwrap().recv().await.unwrap();
            call.events
                .send(RuntimeEvent::PasswordNotTaken(pw))
                .unwrap();
        }
        call.finish
            .send(DownReason::AuthFailed(AuthError::Rejected(retry_offer())))
            .unwrap();
        let again = h.next_call().await;
        assert_eq!(
            again.cfg.password.expose(),
            SECRET,
            "gives back {gives_back}"
        );
        again.finish.send(DownReason::Stopped).unwrap();
        let seen = h.until_stopped().await;
        assert!(
            !seen.iter().any(|(m, _)| m == "SecretsRequired"),
            "asked twice for one refusal: {seen:?}"
        );
    }

    // Not interactive: the engine is not told anyone could answer.
    h.call("Connect", &(settings(&data, &[("password", "wrong")]),))
        .await
        .unwrap();
    let call = h.next_call().await;
    assert!(!call.cfg.password_retry && call.passwords.is_none());
    call.finish.send(DownReason::Stopped).unwrap();
    h.until_stopped().await;
}

/// ipv4.method=manual: NetworkManager will put that address on the tunnel, so
/// the engine asks the server for it; the local-address key wins over it, and
/// other methods leave the choice to the server.
#[tokio::test]
async fn a_manual_ipv4_address_is_asked_for() {
    let manual = |method: &str| {
        let entry: HashMap<&str, Value> = HashMap::from([
            ("address", Value::from("198.19.0.17")),
            ("prefix", Value::from(32u32)),
        ]);
        HashMap::from([
            ("method", Value::from(method.to_string())),
            ("address-data", Value::from(vec![entry])),
        ])
    };
    for (method, key, want) in [
        ("manual", None, Some("198.19.0.17")),
        ("manual", Some("198.19.0.5"), Some("198.19.0.5")),
        ("auto", None, None),
    ] {
        let mut h = Harness::new().await;
        let mut data = vec![("gateway", "g"), ("user", "u")];
        if let Some(k) = key {
            data.push(("local-address", k));
        }
        let mut s = settings(&data, &[("password", SECRET)]);
        s.insert("ipv4", manual(method));
        h.call("Connect", &(s,)).await.unwrap();
        let call = h.next_call().await;
        assert_eq!(
            call.cfg.local_address,
            want.map(|a| a.parse().unwrap()),
            "{method} {key:?}"
        );
        call.finish.send(DownReason::Stopped).unwrap();
        h.until_stopped().await;
    }
}

#[tokio::test]
async fn disconnect_in_every_state() {
    let mut h = Harness::new().await;
    // INIT: NetworkManager gave up before connecting (a cancelled password
    // prompt). Accepted, and the service is told to leave instead of idling.
    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert_eq!(seen, [("StateChanged".to_string(), Some(state::STOPPED))]);
    tokio::time::timeout(WAIT, h.stopped.recv())
        .await
        .expect("the service to be told to leave")
        .unwrap();

    // STARTING, waiting for a password: no tunnel, no failure.
    let data = [("gateway", "g"), ("user", "u"), ("password-flags", "2")];
    let details: HashMap<&str, Value> = HashMap::new();
    h.call("ConnectInteractive", &(settings(&data, &[]), details))
        .await
        .unwrap();
    h.expect_state_signal(state::STARTING).await;
    assert_eq!(h.signal().await.0, "SecretsRequired");
    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert!(!seen.iter().any(|(m, _)| m == "Failure"), "{seen:?}");
    assert!(h.calls.try_recv().is_err());

    // STARTING, resolving a name that never answers: stop is heard at once.
    h.connect_to("hangs.invalid").await;
    h.expect_state_signal(state::STARTING).await;
    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert!(!seen.iter().any(|(m, _)| m == "Failure"), "{seen:?}");
    assert!(h.calls.try_recv().is_err());

    // STARTING, the tunnel negotiating: it is told to stop.
    h.call("Connect", &(plain(),)).await.unwrap();
    let call = h.next_call().await;
    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert!(!seen.iter().any(|(m, _)| m == "Failure"), "{seen:?}");
    assert!(call.finish.is_closed(), "the tunnel ended");

    // STARTED.
    h.call("Connect", &(plain(),)).await.unwrap();
    let call = h.next_call().await;
    call.up();
    loop {
        let (member, m) = h.signal().await;
        if member == "StateChanged" && m.body().deserialize::<u32>().unwrap() == state::STARTED {
            break;
        }
    }
    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert!(!seen.iter().any(|(m, _)| m == "Failure"), "{seen:?}");

    // STOPPED.
    let e = h.call("Disconnect", &()).await.unwrap_err();
    assert_eq!(
        error_name(&e).0,
        "org.freedesktop.NetworkManager.VPN.Error.AlreadyStopped"
    );
}

#[tokio::test]
async fn a_tunnel_not_up_in_time_is_stopped_and_fails() {
    let mut h = Harness::new().await;
    h.call("Connect", &(plain(),)).await.unwrap();
    let call = h.next_call().await;
    let t = std::time::Instant::now();
    let seen = h.until_stopped().await;
    assert!(seen.contains(&("Failure".to_string(), Some(1))), "{seen:?}");
    assert!(t.elapsed() >= CONNECT_TIMEOUT - Duration::from_millis(100));
    assert!(call.finish.is_closed(), "the tunnel was told to stop");
    // Up in time: the deadline no longer applies.
    h.call("Connect", &(plain(),)).await.unwrap();
    let call = h.next_call().await;
    call.up();
    tokio::time::sleep(CONNECT_TIMEOUT + Duration::from_millis(500)).await;
    assert_eq!(h.state().await, state::STARTED);
    h.call("Disconnect", &()).await.unwrap();
    let seen = h.until_stopped().await;
    assert!(!seen.iter().any(|(m, _)| m == "Failure"), "{seen:?}");
}

/// A connection whose `vpn.timeout` is longer than our deadline (a server that
/// waits for a second factor) is given that long, not ours.
#[tokio::test]
async fn vpn_timeout_lengthens_the_deadline() {
    let mut h = Harness::new().await;
    let longer = CONNECT_TIMEOUT * 3;
    let mut s = plain();
    s.get_mut("vpn")
        .unwrap()
        .insert("timeout", Value::from(longer.as_secs() as i32));
    h.call("Connect", &(s,)).await.unwrap();
    let call = h.next_call().await;
    let t = std::time::Instant::now();
    tokio::time::sleep(CONNECT_TIMEOUT + Duration::from_millis(500)).await;
    assert_eq!(h.state().await, state::STARTING, "still waiting");
    let seen = h.until_stopped().await;
    assert!(seen.contains(&("Failure".to_string(), Some(1))), "{seen:?}");
    assert!(
        t.elapsed() >= longer - Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert!(call.finish.is_closed());
}

#[tokio::test]
async fn set_failure_reports_bad_ip_config_and_stops() {
    let mut h = Harness::new().await;
    h.call("Connect", &(plain(),)).await.unwrap();
    let call = h.next_call().await;
    call.up();
    h.call("SetFailure", &("no route",)).await.unwrap();
    let seen = h.until_stopped().await;
    assert_eq!(
        seen.iter()
            .filter(|(m, _)| m == "Failure")
            .collect::<Vec<_>>(),
        [&("Failure".to_string(), Some(2))]
    );
}

/// Every key in the table, given a value of the wrong shape, is refused with
/// BadArguments naming the key or the value, and the password never shows.
#[tokio::test]
async fn every_key_refuses_a_bad_value_by_name() {
    let h = Harness::new().await;
    let mut checked = 0;
    for k in KEYS {
        let bad = match k.kind {
            Kind::Bool => "maybe",
            Kind::Number { .. } => "12x",
            Kind::Gateway => "vpn example",
            Kind::Address => "10.0.0.256",
            Kind::Text | Kind::Secret | Kind::Ignored => continue,
        };
        let mut data = vec![("gateway", "g"), ("user", "u")];
        data.retain(|(n, _)| *n != k.name);
        data.push((k.name, bad));
        let e = h
            .call("Connect", &(settings(&data, &[("password", SECRET)]),))
            .await
            .unwrap_err();
        let (name, msg) = error_name(&e);
        assert_eq!(
            name, "org.freedesktop.NetworkManager.VPN.Error.BadArguments",
            "{}",
            k.name
        );
        assert!(msg.contains(bad), "{}: {msg}", k.name);
        assert!(!msg.contains(SECRET));
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} keys checked");
    for (data, needle) in [
        (vec![("user", "u")], "gateway"),
        (vec![("gateway", "g")], "user"),
        (
            vec![("gateway", "g"), ("user", "u"), ("bogus", "1")],
            "bogus",
        ),
    ] {
        let e = h
            .call("Connect", &(settings(&data, &[("password", SECRET)]),))
            .await
            .unwrap_err();
        assert!(error_name(&e).1.contains(needle), "{data:?}");
    }
    assert_eq!(h.state().await, state::INIT);
}

/// Up with IPv6 from the server, then its router advertisement offering itself as
/// the default router; `never_default` is the connection's ipv4.never-default.
/// Checks the first Ip6Config (the link-local address) and returns the second.
async fn ip6config_after_router_advertisement(never_default: bool) -> HashMap<String, OwnedValue> {
    let mut h = Harness::new().await;
    let s = with_never_default(
        &[("gateway", "vpn.example.org"), ("user", "u")],
        never_default,
    );
    h.call("Connect", &(s,)).await.unwrap();
    h.expect_state_signal(state::STARTING).await;
    let call = h.next_call().await;
    assert!(call.cfg.ppp.ipv6, "on by default");
    let local: Ipv6Addr = "fe80::1:2:3:4".parse().unwrap();
    let mut info = up_info();
    info.ipv6 = Some(Ipv6Link {
        local,
        peer: Some("fe80::9".parse().unwrap()),
    });
    call.events
        .send(RuntimeEvent::TunnelUp {
            ifname: "tun0".into(),
            info,
        })
        .unwrap();
    let (_, m) = h.signal().await;
    let c: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert!(bool::try_from(&c["has-ip6"]).unwrap());
    assert_eq!(h.signal().await.0, "Ip4Config");
    let (member, m) = h.signal().await;
    assert_eq!(member, "Ip6Config");
    let ip6: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert_eq!(ip6_addr(&ip6["address"]), local);
    h.expect_state_signal(state::STARTED).await;
    let global: Ipv6Addr = "2001:db8:77::1:2:3:4".parse().unwrap();
    let router = RouterInfo {
        router: "fe80::9".parse().unwrap(),
        default_route: true,
        addresses: vec![global],
        prefixes: vec![("2001:db8:77::".parse().unwrap(), 64)],
        // The default route is not the server's to give (refused, logged).
        routes: vec![
            ("2001:db8:78::".parse().unwrap(), 48),
            (Ipv6Addr::UNSPECIFIED, 0),
        ],
        dns: vec!["2001:db8:77::53".parse().unwrap()],
        mtu: None,
    };
    call.events
        .send(RuntimeEvent::Session(Event::Router(router)))
        .unwrap();
    let (member, m) = h.signal().await;
    assert_eq!(member, "Ip6Config");
    let ip6: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
    assert_eq!(ip6_addr(&ip6["address"]), global);
    assert_eq!(u32::try_from(&ip6["prefix"]).unwrap(), 64);
    let dns: Vec<Vec<u8>> = ip6["dns"].try_clone().unwrap().try_into().unwrap();
    let want: Ipv6Addr = "2001:db8:77::53".parse().unwrap();
    assert_eq!(dns, [want.octets().to_vec()]);
    let routes: Vec<(Vec<u8>, u32, Vec<u8>, u32)> =
        ip6["routes"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(
        routes,
        [(
            "2001:db8:78::"
                .parse::<Ipv6Addr>()
                .unwrap()
                .octets()
                .to_vec(),
            48,
            vec![0; 16],
            0
        )]
    );
    ip6
}

/// IPv6 from the server: Config says has-ip6, the first Ip6Config carries the
/// link-local address, and the router advertisement a second one with the
/// SLAAC address, its name server and route; the default route goes through the
/// tunnel.
#[tokio::test]
async fn ipv6_from_the_server_follows_as_ip6config() {
    let ip6 = ip6config_after_router_advertisement(false).await;
    assert!(!bool::try_from(&ip6["never-default"]).unwrap());
}

/// A split tunnel (ipv4.never-default) takes the server's IPv6 address, name
/// server and routes, but not its offer to be the default router: the user's
/// own IPv6 default route stays where it was.
#[tokio::test]
async fn a_split_tunnel_does_not_take_the_servers_ipv6_default_route() {
    let ip6 = ip6config_after_router_advertisement(true).await;
    assert!(bool::try_from(&ip6["never-default"]).unwrap());
}

/// A split tunnel (ipv4.never-default) without IPv6 from the server says
/// nothing about IPv6; one that turned block-ipv6-leak off likewise; and with
/// ipv6.method=disabled (or ignore) IPv6 is not even negotiated.
#[tokio::test]
async fn a_split_tunnel_no_leak_block_or_ipv6_disabled_reports_no_ipv6() {
    for (never_default, block, method) in [
        (true, "yes", "auto"),
        (false, "no", "auto"),
        (false, "yes", "disabled"),
        (false, "yes", "ignore"),
    ] {
        let mut h = Harness::new().await;
        let mut s = with_never_default(
            &[("gateway", "g"), ("user", "u"), ("block-ipv6-leak", block)],
            never_default,
        );
        s.insert("ipv6", HashMap::from([("method", Value::from(method))]));
        h.call("Connect", &(s,)).await.unwrap();
        h.expect_state_signal(state::STARTING).await;
        let call = h.next_call().await;
        assert_eq!(call.cfg.ppp.ipv6, method == "auto", "{method}");
        call.up();
        let (_, m) = h.signal().await;
        let c: HashMap<String, OwnedValue> = m.body().deserialize().unwrap();
        assert!(!bool::try_from(&c["has-ip6"]).unwrap());
        assert_eq!(h.signal().await.0, "Ip4Config");
        h.expect_state_signal(state::STARTED).await;
    }
}
