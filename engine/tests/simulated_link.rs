//! Client against server through an in-memory link with a fake clock: the whole
//! PPTP/PPP/MPPE sequence, then data both ways, under loss, reordering and
//! duplication, and the failure cases a user will meet.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use pptp_engine::auth::{AuthError, AuthProtocol, FailureKind, SuccessError};
use pptp_engine::gre::Header;
use pptp_engine::mppe::{MppeParams, Strength};
use pptp_engine::ppp::ccp::MppePolicy;
use pptp_engine::ppp::frame;
use pptp_engine::ppp::lcp::AuthPolicy;
use pptp_engine::secret::Password;
use pptp_engine::session::{
    ClientConfig, ClientSession, DownReason, Event, ServerConfig, ServerSession, UpInfo,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Clone, Copy, Default)]
struct Impairment {
    loss: f64,
    /// Probability that a packet is held back by up to `reorder_delay`.
    reorder: f64,
    duplicate: f64,
}

/// Which traffic the network lets through.
#[derive(Clone, Copy, PartialEq)]
enum Block {
    Nothing,
    /// The server hears nothing at all (no PPTP server listening behind a black hole).
    ServerDeaf,
    /// TCP works, GRE is dropped both ways.
    Gre,
    /// Everything dropped (server vanished after the link came up).
    All,
}

/// What a test does to one GRE packet carrying a control protocol.
enum Fate {
    Pass,
    Drop,
    Delay(Duration),
    /// Deliver it, and a copy this much later.
    Twice(Duration),
    /// Deliver it, and this much later a copy with the next identifier: what a
    /// peer's new request with the same options looks like.
    TwiceRenumbered(Duration),
}

/// Decides the fate of each control packet: (towards the server, PPP protocol,
/// information field).
type Tamper = Box<dyn FnMut(bool, u16, &[u8]) -> Fate>;

struct Packet {
    at: Instant,
    seq: u64,
    to_server: bool,
    tcp: bool,
    data: Vec<u8>,
}

/// Turns one control message into the bytes sent instead.
type Rewrite = Box<dyn FnMut(Vec<u8>) -> Vec<u8>>;

struct Sim {
    now: Instant,
    client: ClientSession,
    server: ServerSession,
    queue: Vec<Packet>,
    seq: u64,
    delay: Duration,
    imp: Impairment,
    block: Block,
    rng: StdRng,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
    /// IPv4 packets each end wrote to its tunnel.
    client_ip: Vec<Vec<u8>>,
    server_ip: Vec<Vec<u8>>,
    /// IPv6 packets (the client's router solicitations among them).
    client_ip6: Vec<Vec<u8>>,
    server_ip6: Vec<Vec<u8>>,
    /// CCP Reset-Requests seen on the wire, per direction (to server, to client).
    reset_requests: [u32; 2],
    /// The PPP protocol of every GRE packet the client sent.
    client_protocols: Vec<u16>,
    buf: Vec<u8>,
    /// Timer firings in a row that changed nothing: a stuck deadline is a bug.
    idle_firings: u32,
    tamper: Option<Tamper>,
    /// Extra delay of TCP over GRE: lets GRE overtake the control connection.
    tcp_lag: Duration,
    /// Rewrites each control message the server sends (one per call) into the
    /// bytes that go on the wire instead: a server with another vendor's habits.
    server_control: Option<Rewrite>,
}

fn users() -> Vec<(String, Password)> {
    vec![("alice".into(), Password::new("correct horse battery"))]
}

/// The data tests count every packet the server's side receives, so the
/// DHCPINFORM (on by default) is off here; its own tests turn it on.
fn client_cfg(password: &str) -> ClientConfig {
    let mut c = ClientConfig::new("alice", Password::new(password), [1; 32]);
    c.ppp.dhcp_inform = false;
    c
}

fn server_cfg() -> ServerConfig {
    let mut s = ServerConfig::new(users(), [2; 32]);
    s.servers = [
        Some("192.0.2.53".parse().unwrap()),
        Some("192.0.2.54".parse().unwrap()),
        Some("192.0.2.137".parse().unwrap()),
        None,
    ];
    s
}

impl Sim {
    fn new(c: ClientConfig, s: ServerConfig) -> Self {
        let now = Instant::now();
        Sim {
            now,
            client: ClientSession::new(c, now),
            server: ServerSession::new(s, now),
            queue: Vec::new(),
            seq: 0,
            delay: Duration::from_millis(5),
            imp: Impairment::default(),
            block: Block::Nothing,
            rng: StdRng::seed_from_u64(42),
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_ip: Vec::new(),
            server_ip: Vec::new(),
            client_ip6: Vec::new(),
            server_ip6: Vec::new(),
            reset_requests: [0; 2],
            client_protocols: Vec::new(),
            buf: vec![0; 2048],
            idle_firings: 0,
            tamper: None,
            tcp_lag: Duration::ZERO,
            server_control: None,
        }
    }

    fn enqueue(&mut self, to_server: bool, tcp: bool, data: Vec<u8>) {
        let blocked = match self.block {
            Block::Nothing => false,
            Block::ServerDeaf => to_server,
            Block::Gre => !tcp,
            Block::All => true,
        };
        if blocked {
            return;
        }
        if !tcp && is_reset_request(&data) {
            self.reset_requests[usize::from(!to_server)] += 1;
        }
        if !tcp && to_server {
            if let Some(p) = Header::decode(&data)
                .ok()
                .and_then(|(_, payload)| frame::decode(payload).ok())
            {
                self.client_protocols.push(p.0);
            }
        }
        let (mut extra, mut twice, mut renumbered_id_at) = (Duration::ZERO, None, None);
        if let Some(t) = self.tamper.as_mut().filter(|_| !tcp) {
            if let Some((_, _, _, Some((proto, info)))) = parse_gre(&data) {
                match t(to_server, proto, &info) {
                    Fate::Pass => {}
                    Fate::Drop => return,
                    Fate::Delay(d) => extra = d,
                    Fate::Twice(d) => twice = Some(d),
                    Fate::TwiceRenumbered(d) => {
                        twice = Some(d);
                        // The information field ends the GRE packet; its identifier
                        // is the second byte.
                        renumbered_id_at = Some(data.len() - info.len() + 1);
                    }
                }
            }
        }
        let mut copies = 1;
        if !tcp {
            if self.rng.random_bool(self.imp.loss) {
                return;
            }
            if self.rng.random_bool(self.imp.duplicate) || twice.is_some() {
                copies = 2;
            }
        }
        for copy in 0..copies {
            let mut at = self.now + self.delay + extra;
            if tcp {
                at += self.tcp_lag;
            }
            let mut data = data.clone();
            if copy == 1 {
                at += twice.unwrap_or_default();
                if let Some(i) = renumbered_id_at {
                    data[i] = data[i].wrapping_add(1);
                }
            }
            if !tcp && self.rng.random_bool(self.imp.reorder) {
                at += Duration::from_micros(self.rng.random_range(1..20_000));
            }
            self.seq += 1;
            self.queue.push(Packet {
                at,
                seq: self.seq,
                to_server,
                tcp,
                data,
            });
        }
    }

    fn collect(&mut self) {
        while let Some(d) = self.client.poll_tcp_transmit() {
            self.enqueue(true, true, d);
        }
        while let Some(d) = self.client.poll_gre_transmit() {
            self.enqueue(true, false, d);
        }
        while let Some(mut d) = self.server.poll_tcp_transmit() {
            if let Some(rewrite) = self.server_control.as_mut() {
                d = rewrite(d);
            }
            self.enqueue(false, true, d);
        }
        while let Some(d) = self.server.poll_gre_transmit() {
            self.enqueue(false, false, d);
        }
        // After the packet that released them, or after the hold's timer.
        while let Some(ip) = self.client.poll_released_ip() {
            self.write_tunnel(false, ip);
        }
        while let Some(ip) = self.server.poll_released_ip() {
            self.write_tunnel(true, ip);
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// Advance to the next thing that happens. Returns false when nothing is pending.
    fn step(&mut self) -> bool {
        self.collect();
        let next_pkt = self.queue.iter().map(|p| (p.at, p.seq)).min();
        let next_timer = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let t = match (next_pkt.map(|p| p.0), next_timer) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return false,
        };
        self.now = self.now.max(t);
        if let Some((at, seq)) = next_pkt.filter(|p| p.0 <= self.now) {
            let i = self
                .queue
                .iter()
                .position(|p| p.at == at && p.seq == seq)
                .unwrap();
            let p = self.queue.swap_remove(i);
            self.deliver(p);
            self.idle_firings = 0;
        } else {
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            let after = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if after.is_some_and(|a| a <= self.now) {
                self.idle_firings += 1;
                assert!(
                    self.idle_firings < 1000,
                    "deadline stuck: client {:?} server {:?} now {:?}",
                    self.client
                        .poll_timeout()
                        .map(|t| t.duration_since(self.now)),
                    self.server
                        .poll_timeout()
                        .map(|t| t.duration_since(self.now)),
                    self.now
                );
            } else {
                self.idle_firings = 0;
            }
        }
        self.collect();
        true
    }

    fn deliver(&mut self, mut p: Packet) {
        let now = self.now;
        match (p.to_server, p.tcp) {
            (true, true) => self.server.handle_tcp_data(now, &p.data),
            (false, true) => self.client.handle_tcp_data(now, &p.data),
            (true, false) => {
                if let Some(r) = self.server.handle_gre(now, &mut p.data) {
                    self.write_tunnel(true, p.data[r].to_vec());
                }
            }
            (false, false) => {
                if let Some(r) = self.client.handle_gre(now, &mut p.data) {
                    self.write_tunnel(false, p.data[r].to_vec());
                }
            }
        }
    }

    /// What an end writes to its tunnel interface, sorted by IP version.
    fn write_tunnel(&mut self, at_server: bool, ip: Vec<u8>) {
        match (at_server, ip[0] >> 4) {
            (true, 6) => self.server_ip6.push(ip),
            (false, 6) => self.client_ip6.push(ip),
            (true, _) => self.server_ip.push(ip),
            (false, _) => self.client_ip.push(ip),
        }
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) {
        let end = self.now + limit;
        while !done(self) {
            assert!(
                self.now <= end,
                "timed out; client events {:?}",
                self.client_events
            );
            if !self.step() {
                break;
            }
        }
    }

    fn client_up(&self) -> Option<&UpInfo> {
        self.client_events
            .iter()
            .find_map(|e| if let Event::Up(u) = e { Some(u) } else { None })
    }

    fn client_down(&self) -> Option<&DownReason> {
        self.client_events.iter().find_map(|e| {
            if let Event::Down(d) = e {
                Some(d)
            } else {
                None
            }
        })
    }

    fn connect(&mut self) -> UpInfo {
        let server_up = |s: &Sim| s.server_events.iter().any(|e| matches!(e, Event::Up(_)));
        self.run_until(Duration::from_secs(120), |s| {
            (s.client_up().is_some() && server_up(s)) || s.client_down().is_some()
        });
        self.client_up()
            .unwrap_or_else(|| {
                panic!(
                    "no Up; client {:?}; server {:?}",
                    self.client_events, self.server_events
                )
            })
            .clone()
    }

    fn wait_down(&mut self, limit: Duration) -> DownReason {
        self.run_until(limit, |s| s.client_down().is_some());
        self.client_down().cloned().expect("client went down")
    }

    /// Send `n` packets each way, spaced `gap` apart, then let the link drain.
    fn exchange(&mut self, n: usize, gap: Duration) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut sent_c = Vec::new();
        let mut sent_s = Vec::new();
        for i in 0..n {
            for from_client in [true, false] {
                let len = 40 + (i * 37 + usize::from(from_client) * 11) % 1300;
                let ip = ipv4_packet(&mut self.rng, len, i as u32, from_client);
                let r = if from_client {
                    self.client.send_ip(self.now, &ip, &mut self.buf)
                } else {
                    self.server.send_ip(self.now, &ip, &mut self.buf)
                };
                let n = r.expect("send while up");
                let pkt = self.buf[..n].to_vec();
                self.enqueue(from_client, false, pkt);
                if from_client {
                    sent_c.push(ip)
                } else {
                    sent_s.push(ip)
                }
            }
            let until = self.now + gap;
            while self.queue.iter().any(|p| p.at <= until)
                || [self.client.poll_timeout(), self.server.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .any(|t| t <= until)
            {
                self.step();
            }
            self.now = until;
        }
        // The last packets in flight, and what waits in a reorder hold.
        let until = self.now + Duration::from_secs(1);
        while self.queue.iter().any(|p| p.at <= until)
            || [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .any(|t| t <= until)
        {
            self.step();
        }
        (sent_c, sent_s)
    }
}

/// A well-formed IPv4 packet (valid header checksum) carrying a sequence tag.
fn ipv4_packet(rng: &mut StdRng, len: usize, tag: u32, from_client: bool) -> Vec<u8> {
    let mut ip = vec![0u8; len];
    rng.fill(&mut ip[20..]);
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    ip[4..8].copy_from_slice(&tag.to_be_bytes());
    ip[8] = 64;
    ip[9] = if from_client { 17 } else { 6 };
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let mut sum: u32 = ip[..20]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    ip
}

fn is_reset_request(gre: &[u8]) -> bool {
    let Ok((_, payload)) = Header::decode(gre) else {
        return false;
    };
    matches!(frame::decode(payload), Ok((frame::CCP, [14, ..])))
}

/// Every delivered packet is one that was sent, unaltered, in the order sent, at
/// most once. Returns the fraction delivered.
fn check_delivery(sent: &[Vec<u8>], got: &[Vec<u8>]) -> f64 {
    let mut last: Option<u32> = None;
    for g in got {
        let i = u32::from_be_bytes(g[4..8].try_into().unwrap());
        assert_eq!(&sent[i as usize], g, "packet {i} corrupted");
        assert!(
            last.is_none_or(|l| i > l),
            "packet {i} out of order or duplicated after {last:?}"
        );
        last = Some(i);
    }
    got.len() as f64 / sent.len() as f64
}

fn policy(strength: Strength, stateful: bool) -> MppePolicy {
    MppePolicy {
        allow_40: strength == Strength::Bits40,
        allow_56: false,
        allow_128: strength == Strength::Bits128,
        stateful,
        request_stateful: stateful,
        required: true,
    }
}

fn mppe_sim(strength: Strength, stateful: bool) -> Sim {
    let mut c = client_cfg("correct horse battery");
    c.mppe = policy(strength, stateful);
    let mut s = server_cfg();
    s.mppe = policy(strength, stateful);
    Sim::new(c, s)
}

#[test]
fn handshake_reports_everything_negotiated() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    let up = sim.connect();
    assert_eq!(
        up.local,
        "192.168.99.2".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(
        up.peer,
        "192.168.99.1".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(
        up.dns,
        vec![
            "192.0.2.53".parse::<std::net::Ipv4Addr>().unwrap(),
            "192.0.2.54".parse().unwrap()
        ]
    );
    assert_eq!(
        up.nbns,
        vec!["192.0.2.137".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert_eq!(up.mtu, 1400 - 4);
    assert_eq!(
        up.mppe,
        Some(MppeParams {
            strength: Strength::Bits128,
            stateful: false
        })
    );
    assert_eq!(up.mppe_name(), "128-stateless");
    assert_eq!(up.auth, Some(AuthProtocol::MsChapV2));
    // The whole handshake takes a handful of round trips, not timeouts.
    assert!(sim.now.duration_since(Instant::now()) < Duration::from_secs(5));
}

fn data_run(strength: Strength, stateful: bool, imp: Impairment, min_fraction: f64) -> Sim {
    let mut sim = mppe_sim(strength, stateful);
    let up = sim.connect();
    assert_eq!(up.mppe, Some(MppeParams { strength, stateful }));
    sim.imp = imp;
    let (sent_c, sent_s) = sim.exchange(10_000, Duration::from_millis(10));
    let fc = check_delivery(&sent_c, &sim.server_ip);
    let fs = check_delivery(&sent_s, &sim.client_ip);
    assert!(
        fc >= min_fraction && fs >= min_fraction,
        "delivered {fc:.3} / {fs:.3}"
    );
    assert!(sim.client_down().is_none(), "{:?}", sim.client_down());
    eprintln!(
        "{strength:?} stateful={stateful}: delivered {fc:.4} up, {fs:.4} down; reset requests {:?}",
        sim.reset_requests
    );
    sim
}

const CLEAN: Impairment = Impairment {
    loss: 0.0,
    reorder: 0.0,
    duplicate: 0.0,
};
const LOSSY: Impairment = Impairment {
    loss: 0.05,
    reorder: 0.0,
    duplicate: 0.0,
};
const REORDERING: Impairment = Impairment {
    loss: 0.0,
    reorder: 0.05,
    duplicate: 0.0,
};
const DUPLICATING: Impairment = Impairment {
    loss: 0.0,
    reorder: 0.0,
    duplicate: 0.05,
};

#[test]
fn data_mppe128_stateless_clean() {
    data_run(Strength::Bits128, false, CLEAN, 1.0);
}

#[test]
fn data_mppe128_stateful_clean() {
    let sim = data_run(Strength::Bits128, true, CLEAN, 1.0);
    assert_eq!(sim.reset_requests, [0, 0]);
}

#[test]
fn data_mppe40_stateless_clean() {
    data_run(Strength::Bits40, false, CLEAN, 1.0);
}

#[test]
fn data_mppe40_stateful_clean() {
    data_run(Strength::Bits40, true, CLEAN, 1.0);
}

#[test]
fn data_stateless_under_loss_reorder_duplication() {
    for s in [Strength::Bits128, Strength::Bits40] {
        let sim = data_run(s, false, LOSSY, 0.9);
        let st = sim.client.stats().unwrap();
        assert!(st.lost > 0 && st.delivered > st.lost, "{st:?}");
        // Packets overtaken by up to 20 ms wait in the hold and arrive in order;
        // none is dropped as late.
        let sim = data_run(s, false, REORDERING, 1.0);
        let st = sim.client.stats().unwrap();
        assert!(st.held > 0 && st.late == 0, "{st:?}");
        // A copy of a held packet does not jump the window past the gap.
        let both = Impairment {
            duplicate: 0.05,
            ..REORDERING
        };
        data_run(s, false, both, 1.0);
        let sim = data_run(s, false, DUPLICATING, 1.0);
        assert!(
            sim.client.stats().unwrap().late > 0,
            "duplicates count as late"
        );
    }
}

#[test]
fn data_stateful_recovers_through_reset_request() {
    for s in [Strength::Bits128, Strength::Bits40] {
        let sim = data_run(s, true, LOSSY, 0.8);
        assert!(
            sim.reset_requests[0] > 0 && sim.reset_requests[1] > 0,
            "{:?}",
            sim.reset_requests
        );
        // Stateful MPPE has no reorder hold (a loss must be resynchronised at
        // once): a reordered packet is a loss to it.
        let sim = data_run(s, true, REORDERING, 0.8);
        assert!(sim.reset_requests[0] > 0, "{:?}", sim.reset_requests);
        data_run(s, true, DUPLICATING, 1.0);
    }
}

#[test]
fn unencrypted_chap_link() {
    let mut c = client_cfg("correct horse battery");
    c.mppe = MppePolicy::off();
    c.auth = AuthPolicy {
        chap: true,
        ..AuthPolicy::default()
    };
    let mut s = server_cfg();
    s.mppe = MppePolicy::off();
    s.auth = Some(AuthProtocol::ChapMd5);
    let mut sim = Sim::new(c, s);
    let up = sim.connect();
    assert_eq!(
        (up.mppe, up.auth, up.mtu),
        (None, Some(AuthProtocol::ChapMd5), 1400)
    );
    let (sc, ss) = sim.exchange(200, Duration::from_millis(10));
    assert_eq!(check_delivery(&sc, &sim.server_ip), 1.0);
    assert_eq!(check_delivery(&ss, &sim.client_ip), 1.0);
}

#[test]
fn wrong_password_is_auth_failed_with_server_message() {
    let mut sim = Sim::new(client_cfg("wrong"), server_cfg());
    let d = sim.wait_down(Duration::from_secs(10));
    let DownReason::AuthFailed(AuthError::Rejected(f)) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(f.kind, FailureKind::BadCredentials);
    assert_eq!(f.message.as_deref(), Some("Authentication failed"));
    assert_eq!(d.code(), "auth-failed");
    assert!(d.to_string().contains("E=691"), "{d}");
    assert!(sim.client.is_dead());
}

/// A server that allows a retry (R=1, as Windows RRAS): the client announces
/// PasswordWanted, answers on the same link with the new password, and comes up
/// with MPPE keyed from it.
#[test]
fn a_retry_on_the_link_brings_the_link_up_with_the_new_password() {
    let mut c = client_cfg("wrong");
    c.password_retry = true;
    let mut s = server_cfg();
    s.misbehaviour.retries = 1;
    let mut sim = Sim::new(c, s);
    let wanted = |s: &Sim| {
        s.client_events
            .iter()
            .any(|e| matches!(e, Event::PasswordWanted(_)))
    };
    sim.run_until(Duration::from_secs(10), |s| {
        wanted(s) || s.client_down().is_some()
    });
    let Some(Event::PasswordWanted(f)) = sim
        .client_events
        .iter()
        .find(|e| matches!(e, Event::PasswordWanted(_)))
    else {
        panic!("{:?}", sim.client_events)
    };
    assert!(f.retry && f.code == Some(691), "{f:?}");
    // A user takes a while to type: the link waits.
    let typed_at = sim.now + Duration::from_secs(20);
    sim.run_until(Duration::from_secs(25), |s| {
        s.now >= typed_at || s.client_down().is_some()
    });
    assert!(sim.client_down().is_none(), "{:?}", sim.client_events);
    let now = sim.now;
    assert!(sim
        .client
        .retry_password(now, Password::new("correct horse battery"))
        .is_ok());
    let up = sim.connect();
    assert_eq!(up.auth, Some(AuthProtocol::MsChapV2));
    assert!(up.mppe.is_some());
    // Both ends keyed MPPE from the new password: data gets through.
    let (sc, ss) = sim.exchange(20, Duration::from_millis(1));
    assert_eq!(check_delivery(&sc, &sim.server_ip), 1.0);
    assert_eq!(check_delivery(&ss, &sim.client_ip), 1.0);
}

/// pppd offers a retry (R=1) and hangs up at once: the call ends promptly with
/// the refusal, not the hang-up, so the front end can ask and dial again.
#[test]
fn a_retry_offer_followed_by_a_hang_up_is_the_refusal() {
    let mut c = client_cfg("wrong");
    c.password_retry = true;
    let mut s = server_cfg();
    s.misbehaviour.retry_then_hang_up = true;
    let mut sim = Sim::new(c, s);
    let d = sim.wait_down(Duration::from_secs(10));
    let DownReason::AuthFailed(AuthError::Rejected(f)) = &d else {
        panic!("{d:?}")
    };
    assert!(f.retry && f.kind == FailureKind::BadCredentials, "{f:?}");
    assert!(sim
        .client_events
        .iter()
        .any(|e| matches!(e, Event::PasswordWanted(_))));
    // A password typed now is given back, for dialling again.
    let now = sim.now;
    let back = sim.client.retry_password(now, Password::new("typed"));
    assert_eq!(
        back.map_err(|p| p.expose().to_string()),
        Err("typed".into())
    );
}

/// Without an answer the refusal ends the call once the prompt wait is over;
/// a client that cannot ask gets the refusal at once, R=1 or not.
#[test]
fn an_unanswered_retry_ends_in_the_refusal() {
    for (ask, within) in [
        (true, Duration::from_secs(130)),
        (false, Duration::from_secs(10)),
    ] {
        let mut c = client_cfg("wrong");
        c.password_retry = ask;
        let mut s = server_cfg();
        s.misbehaviour.retries = 1;
        let mut sim = Sim::new(c, s);
        let d = sim.wait_down(within);
        let DownReason::AuthFailed(AuthError::Rejected(f)) = &d else {
            panic!("{d:?}")
        };
        assert_eq!(f.kind, FailureKind::BadCredentials, "ask {ask}");
    }
}

#[test]
fn server_refusing_mppe_while_required() {
    let mut s = server_cfg();
    s.mppe = MppePolicy::off();
    let mut sim = Sim::new(client_cfg("correct horse battery"), s);
    let d = sim.wait_down(Duration::from_secs(30));
    assert_eq!(d.code(), "mppe-refused", "{d}");
}

#[test]
fn server_offering_only_40_bit_to_a_128_bit_client() {
    let mut s = server_cfg();
    s.mppe = policy(Strength::Bits40, false);
    let mut sim = Sim::new(client_cfg("correct horse battery"), s);
    let d = sim.wait_down(Duration::from_secs(30));
    assert!(
        matches!(&d, DownReason::MppeTooWeak(m) if m.contains("40-bit")),
        "{d}"
    );
    assert_eq!(d.code(), "mppe-too-weak");
}

#[test]
fn server_that_never_answers() {
    let mut c = client_cfg("x");
    c.control.reply_timeout = Duration::from_secs(10);
    let mut sim = Sim::new(c, server_cfg());
    sim.block = Block::ServerDeaf;
    let start = sim.now;
    let d = sim.wait_down(Duration::from_secs(30));
    assert_eq!(d.code(), "peer-unreachable", "{d}");
    assert_eq!(sim.now.duration_since(start), Duration::from_secs(10));
}

#[test]
fn gre_blocked_is_diagnosed() {
    let mut sim = Sim::new(client_cfg("correct horse battery"), server_cfg());
    sim.block = Block::Gre;
    let d = sim.wait_down(Duration::from_secs(60));
    assert_eq!(d, DownReason::GreBlocked);
    assert!(d.to_string().contains("IP protocol 47"));
}

#[test]
fn forged_success_is_rejected() {
    let mut s = server_cfg();
    s.misbehaviour.forge_success = true;
    let mut sim = Sim::new(client_cfg("correct horse battery"), s);
    let d = sim.wait_down(Duration::from_secs(10));
    assert_eq!(
        d,
        DownReason::AuthFailed(AuthError::ServerNotAuthenticated(SuccessError::Mismatch))
    );
    assert!(sim.client_up().is_none());
}

#[test]
fn server_vanishing_after_up_is_echo_timeout() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    sim.block = Block::All;
    let start = sim.now;
    let d = sim.wait_down(Duration::from_secs(400));
    assert_eq!(d, DownReason::EchoTimeout);
    // LCP echo every 30 s, 4 unanswered: down after the fifth interval.
    assert!(
        sim.now.duration_since(start) <= Duration::from_secs(155),
        "{:?}",
        sim.now.duration_since(start)
    );
}

#[test]
fn echo_failure_count_zero_never_ends_the_link() {
    // pppd's `lcp-echo-interval 30` without `lcp-echo-failure`: keep-alive only.
    let mut c = client_cfg("correct horse battery");
    c.ppp.lcp_echo = Some((Duration::from_secs(30), 0));
    let mut server = server_cfg();
    server.ppp.lcp_echo = None;
    let mut sim = Sim::new(c, server);
    sim.connect();
    // GRE is cut, TCP (and its own keep-alive) still works.
    sim.block = Block::Gre;
    let start = sim.now;
    sim.run_until(Duration::from_secs(700), |s| {
        s.client_down().is_some() || s.now.duration_since(start) >= Duration::from_secs(600)
    });
    assert_eq!(sim.client_down(), None);
    // The same cut with a failure count ends it.
    let mut c = client_cfg("correct horse battery");
    c.ppp.lcp_echo = Some((Duration::from_secs(30), 2));
    let mut sim = Sim::new(c, server_cfg());
    sim.connect();
    sim.block = Block::Gre;
    assert_eq!(
        sim.wait_down(Duration::from_secs(200)),
        DownReason::EchoTimeout
    );
}

#[test]
fn pap_only_server_gets_no_password_from_a_default_client() {
    let mut s = server_cfg();
    s.auth = Some(AuthProtocol::Pap);
    s.mppe = MppePolicy::off();
    let mut sim = Sim::new(client_cfg("correct horse battery"), s);
    let d = sim.wait_down(Duration::from_secs(60));
    assert_eq!(d, DownReason::MethodRefused(AuthProtocol::Pap), "{d}");
    assert!(d.to_string().contains("PAP"), "{d}");
    assert!(
        !sim.client_protocols.contains(&frame::PAP),
        "a PAP packet left the client"
    );
    assert!(sim.client_up().is_none());
}

#[test]
fn server_asking_for_no_authentication_is_refused_while_mppe_is_required() {
    let mut s = server_cfg();
    s.auth = None;
    let mut sim = Sim::new(client_cfg("correct horse battery"), s);
    let d = sim.wait_down(Duration::from_secs(60));
    assert_eq!(d, DownReason::NoAuthentication);
    assert!(sim.client_up().is_none());
    // An explicit opt-out of MPPE accepts it (and nothing is encrypted).
    let mut s = server_cfg();
    s.auth = None;
    s.mppe = MppePolicy::off();
    let mut c = client_cfg("correct horse battery");
    c.mppe = MppePolicy {
        required: false,
        ..MppePolicy::default()
    };
    let mut sim = Sim::new(c, s);
    let up = sim.connect();
    assert_eq!(up.auth, None);
    assert_eq!(up.mppe, None);
}

#[test]
fn unusable_addresses_from_the_server_are_refused() {
    for (assign, server_addr) in [
        ("127.0.0.5", None),
        ("224.1.2.3", None),
        ("240.0.0.9", None),
        ("203.0.113.7", Some("203.0.113.7")),
    ] {
        let mut s = server_cfg();
        s.assign = assign.parse().unwrap();
        let mut c = client_cfg("correct horse battery");
        c.server = server_addr.map(|a| a.parse().unwrap());
        let mut sim = Sim::new(c, s);
        let d = sim.wait_down(Duration::from_secs(60));
        assert!(
            matches!(&d, DownReason::NegotiationFailed(m) if m.contains(assign)),
            "{assign}: {d}"
        );
        assert!(sim.client_up().is_none());
    }
    // Name servers a host cannot use are dropped, the rest kept.
    let mut s = server_cfg();
    s.servers = [
        Some("127.0.0.53".parse().unwrap()),
        Some("192.0.2.54".parse().unwrap()),
        Some("255.255.255.255".parse().unwrap()),
        None,
    ];
    let mut sim = Sim::new(client_cfg("correct horse battery"), s);
    let up = sim.connect();
    assert_eq!(
        up.dns,
        ["192.0.2.54".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert!(up.nbns.is_empty());
}

#[test]
fn close_is_polite_and_bounded() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    let start = sim.now;
    sim.client.close(sim.now);
    let d = sim.wait_down(Duration::from_secs(5));
    assert_eq!(d, DownReason::Stopped);
    assert!(
        sim.now.duration_since(start) < Duration::from_millis(100),
        "answered close took {:?}",
        sim.now.duration_since(start)
    );
    // The server saw the call end too.
    sim.run_until(Duration::from_secs(5), |s| {
        s.server_events.iter().any(|e| matches!(e, Event::Down(_)))
    });

    // A silent server: still down within 3 s.
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    sim.block = Block::All;
    let start = sim.now;
    sim.client.close(sim.now);
    assert_eq!(sim.wait_down(Duration::from_secs(5)), DownReason::Stopped);
    assert!(sim.now.duration_since(start) <= Duration::from_secs(3));
    assert!(sim
        .client
        .send_ip(sim.now, &[0x45; 20], &mut [0u8; 64])
        .is_err());
}

#[test]
fn server_hangs_up() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    sim.server.close(sim.now);
    let d = sim.wait_down(Duration::from_secs(10));
    assert_eq!(d.code(), "session-ended", "{d}");
}

/// A session that worked, ended by the server (pppd's maxconnect closes CCP,
/// then LCP with "MPPE disabled"): the server ending the session, with its
/// words, not encryption that could not be agreed.
#[test]
fn a_session_limit_reads_as_the_server_ending_the_session() {
    let cases: [(u16, &[u8], &str); 2] = [
        (frame::LCP, b"MPPE disabled", "MPPE disabled"),
        (frame::CCP, b"", ""),
    ];
    for (proto, text, want) in cases {
        let mut sim = mppe_sim(Strength::Bits128, false);
        sim.connect();
        sim.exchange(5, Duration::from_millis(10));
        let mut info = vec![5, 0x77, 0, 4 + text.len() as u8];
        info.extend_from_slice(text);
        let mut pkt = forge_from_server(&mut sim, proto, &info, 1);
        let _ = sim.client.handle_gre(sim.now, &mut pkt);
        let d = sim.wait_down(Duration::from_secs(10));
        assert_eq!(d.code(), "session-ended", "{proto:#x}: {d}");
        assert!(d.to_string().contains(want), "{d}");
        assert!(!pptp_engine::redial::is_final(&d), "persist dials again");
    }
}

/// Control-connection habits of servers in the wild that pptp-linux goes on
/// with: a Start-Control-Connection-Reply with result 0, messages with
/// non-zero reserved fields, management messages and undefined control
/// codes, Set-Link-Info with non-zero ACCMs and a Call-Disconnect-Notify for
/// some other call. None of them may cost the call.
#[test]
fn a_server_with_every_tolerated_control_habit_still_carries_the_call() {
    use pptp_engine::pptp::message::{CallDisconnectNotify, Message, SetLinkInfo};
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.server_control = Some(Box::new(|mut m: Vec<u8>| {
        let code = u16::from_be_bytes([m[8], m[9]]);
        m[10] = 0x5a; // Reserved0
        if code == 2 {
            m[14] = 0; // SCCRP result: 0 instead of 1
        }
        let mut out = Vec::new();
        for (pptp_type, code) in [(2u16, 1u16), (1, 99)] {
            out.extend_from_slice(&Message::Unrecognized { pptp_type, code }.encode());
        }
        out.extend_from_slice(&m);
        if code == 8 {
            // The reply's own call ID, then ours (its peer's).
            let server_call = u16::from_be_bytes([m[12], m[13]]);
            let client_call = u16::from_be_bytes([m[14], m[15]]);
            let other_call = (1..=2)
                .map(|d| server_call.wrapping_add(d))
                .find(|&c| c != client_call)
                .unwrap();
            out.extend_from_slice(
                &Message::SetLinkInfo(SetLinkInfo {
                    peer_call_id: client_call,
                    send_accm: 0xffff_ffff,
                    recv_accm: 0x000a_0000,
                })
                .encode(),
            );
            out.extend_from_slice(
                &Message::CallDisconnectNotify(CallDisconnectNotify {
                    call_id: other_call,
                    result: 3,
                    error: 0,
                    cause: 0,
                    statistics: String::new(),
                })
                .encode(),
            );
        }
        out
    }));
    let up = sim.connect();
    assert_eq!(up.mppe_name(), "128-stateless");
    let (sent_c, sent_s) = sim.exchange(200, Duration::from_millis(10));
    assert_eq!(check_delivery(&sent_c, &sim.server_ip), 1.0);
    assert_eq!(check_delivery(&sent_s, &sim.client_ip), 1.0);
    assert!(
        !sim.client_events
            .iter()
            .any(|e| matches!(e, Event::Down(_))),
        "{:?}",
        sim.client_events
    );
}

#[test]
fn every_auth_method_and_domain_user() {
    for (method, policy) in [
        (
            AuthProtocol::Pap,
            AuthPolicy {
                pap: true,
                ..AuthPolicy::default()
            },
        ),
        (
            AuthProtocol::MsChapV1,
            AuthPolicy {
                mschap: true,
                ..AuthPolicy::default()
            },
        ),
    ] {
        let mut c = client_cfg("correct horse battery");
        c.auth = policy;
        if method == AuthProtocol::Pap {
            c.mppe = MppePolicy::off();
        }
        let mut s = server_cfg();
        s.auth = Some(method);
        if method == AuthProtocol::Pap {
            s.mppe = MppePolicy::off();
        }
        let mut sim = Sim::new(c, s);
        assert_eq!(sim.connect().auth, Some(method));
    }
    let mut c = client_cfg("correct horse battery");
    c.user = "CORP\\alice".into();
    let mut sim = Sim::new(c, server_cfg());
    sim.connect();
}

#[test]
fn refused_method_fails_negotiation() {
    // The server insists on PAP; the client's policy is MS-CHAPv2 only.
    let mut s = server_cfg();
    s.auth = Some(AuthProtocol::Pap);
    let mut sim = Sim::new(client_cfg("correct horse battery"), s);
    let d = sim.wait_down(Duration::from_secs(60));
    assert_eq!(d, DownReason::MethodRefused(AuthProtocol::Pap), "{d}");
}

/// Wire-level view of a GRE packet: (call ID, seq, ack, PPP protocol and info).
type WireView = (u16, Option<u32>, Option<u32>, Option<(u16, Vec<u8>)>);

fn parse_gre(pkt: &[u8]) -> Option<WireView> {
    let (h, payload) = Header::decode(pkt).ok()?;
    let ppp = frame::decode(payload).ok().map(|(p, i)| (p, i.to_vec()));
    Some((h.call_id, h.seq, h.ack, ppp))
}

#[test]
fn one_way_traffic_gets_standalone_acks_within_the_delay() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    let ip = ipv4_packet(&mut sim.rng, 100, 0, true);
    let n = sim.client.send_ip(sim.now, &ip, &mut sim.buf).unwrap();
    let pkt = sim.buf[..n].to_vec();
    let sent_seq = parse_gre(&pkt).unwrap().1.unwrap();
    sim.enqueue(true, false, pkt);
    let start = sim.now;
    // The server has nothing to send: its ack must go out on its own, promptly.
    let mut ack_only = None;
    while ack_only.is_none() && sim.now < start + Duration::from_secs(2) {
        sim.step();
        ack_only = sim
            .queue
            .iter()
            .filter(|p| !p.to_server && !p.tcp)
            .find_map(|p| match parse_gre(&p.data) {
                Some((_, None, Some(ack), None)) => Some((ack, p.at)),
                _ => None,
            });
    }
    let (ack, at) = ack_only.expect("an ack-only packet");
    assert_eq!(ack, sent_seq);
    // Delivered after 5 ms, held at most the 100 ms ack delay, 5 ms on the wire.
    assert!(
        at.duration_since(start) <= Duration::from_millis(111),
        "{:?}",
        at.duration_since(start)
    );
}

/// Runs the simulation for `d`, returning when each ack-only packet the client
/// put on the wire to the server was sent.
fn client_ack_only_for(sim: &mut Sim, d: Duration) -> Vec<Instant> {
    let end = sim.now + d;
    let mut seen = std::collections::BTreeMap::new();
    while sim.now < end {
        for p in sim.queue.iter().filter(|p| p.to_server && !p.tcp) {
            if matches!(parse_gre(&p.data), Some((_, None, Some(_), None))) {
                seen.insert(p.seq, p.at - sim.delay);
            }
        }
        if !sim.step() {
            break;
        }
    }
    seen.into_values().collect()
}

/// While the server's ack stands still with our data unacknowledged (a packet
/// lost on the way), an ack-only packet goes out every 325 ms (pptpd's 300 ms
/// hold and a margin): what releases pptpd's reorder queue. Data acknowledged
/// in time gets none.
#[test]
fn an_unacknowledged_data_packet_is_followed_by_flush_nudges() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    client_ack_only_for(&mut sim, Duration::from_secs(1));
    // From here the client alone is driven: the server hears nothing more.
    let t0 = sim.now;
    let ip = ipv4_packet(&mut sim.rng, 100, 0, true);
    sim.client.send_ip(t0, &ip, &mut sim.buf).unwrap();
    let mut nudges = Vec::new();
    for ms in (0..=1000).step_by(10) {
        let now = t0 + Duration::from_millis(ms);
        sim.client.handle_timeout(now);
        while let Some(p) = sim.client.poll_gre_transmit() {
            if matches!(parse_gre(&p), Some((_, None, Some(_), None))) {
                nudges.push(ms);
            }
        }
    }
    assert_eq!(nudges, [330, 660, 990]);

    // Delivered, and acknowledged by the server's reply within 300 ms: no nudge.
    let ip = ipv4_packet(&mut sim.rng, 100, 1, true);
    let n = sim.client.send_ip(sim.now, &ip, &mut sim.buf).unwrap();
    let pkt = sim.buf[..n].to_vec();
    sim.enqueue(true, false, pkt);
    client_ack_only_for(&mut sim, Duration::from_millis(20));
    let ip = ipv4_packet(&mut sim.rng, 100, 2, false);
    let n = sim.server.send_ip(sim.now, &ip, &mut sim.buf).unwrap();
    let pkt = sim.buf[..n].to_vec();
    sim.enqueue(false, false, pkt);
    let start = sim.now;
    let late: Vec<Duration> = client_ack_only_for(&mut sim, Duration::from_secs(2))
        .iter()
        .map(|t| t.duration_since(start))
        .filter(|d| *d > Duration::from_millis(300))
        .collect();
    assert!(
        late.is_empty(),
        "a nudge although the server acknowledged: {late:?}"
    );
}

/// A packet from the server to the client, forged with the Key and the next
/// sequence number of the server's own traffic (one real packet is spent, never
/// delivered, to learn them).
fn forge_from_server(sim: &mut Sim, protocol: u16, info: &[u8], seq_ahead: u32) -> Vec<u8> {
    forge_many(sim, protocol, &[info.to_vec()], seq_ahead)
        .1
        .remove(0)
}

/// Forged packets, and the real one spent to learn the call's sequence number.
fn forge_many(
    sim: &mut Sim,
    protocol: u16,
    infos: &[Vec<u8>],
    seq_ahead: u32,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let ip = ipv4_packet(&mut sim.rng, 60, 0, false);
    let n = sim.server.send_ip(sim.now, &ip, &mut sim.buf).unwrap();
    let spent = sim.buf[..n].to_vec();
    let (call_id, Some(seq), _, _) = parse_gre(&sim.buf[..n]).unwrap() else {
        panic!("data without sequence")
    };
    let forged = infos
        .iter()
        .map(|info| clear_frame(call_id, seq.wrapping_add(seq_ahead), protocol, info))
        .collect();
    (spent, forged)
}

#[test]
fn ccp_restart_never_reuses_the_keystream() {
    for (stateful, required) in [(false, true), (true, true), (false, false)] {
        let mut sim = mppe_sim(Strength::Bits128, stateful);
        sim.client = ClientSession::new(
            ClientConfig {
                mppe: MppePolicy {
                    required,
                    ..policy(Strength::Bits128, stateful)
                },
                ..client_cfg("correct horse battery")
            },
            sim.now,
        );
        assert!(sim.connect().mppe.is_some());
        // One injected cleartext CCP Configure-Request (MPPE option, 128-bit).
        let mut pkt = forge_from_server(
            &mut sim,
            frame::CCP,
            &[1, 9, 0, 10, 0x12, 6, 0x01, 0, 0, 0x40],
            1,
        );
        let _ = sim.client.handle_gre(sim.now, &mut pkt);
        let d = sim.wait_down(Duration::from_secs(10));
        assert!(
            matches!(&d, DownReason::NegotiationFailed(m) if m.contains("keystream")),
            "{d}"
        );
        // Nothing was encrypted after the restart: no data left once it began.
        assert!(sim
            .client
            .send_ip(sim.now, &[0x45; 20], &mut [0u8; 64])
            .is_err());
    }
}

#[test]
fn forged_gre_far_ahead_does_not_blackhole_the_tunnel() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    // Garbage, an MPPE packet that does not decrypt, and a clear LCP
    // Echo-Request, each claiming a sequence number 2^30 ahead.
    let forged: [(u16, Vec<u8>); 3] = [
        (frame::COMPRESSED, vec![0x90, 0x05, 1, 2, 3, 4, 5, 6, 7, 8]),
        (frame::IPV4, vec![0x45; 20]),
        (frame::LCP, vec![9, 7, 0, 8, 0, 0, 0, 0]),
    ];
    for (proto, info) in forged {
        let mut pkt = forge_from_server(&mut sim, proto, &info, 1 << 30);
        let _ = sim.client.handle_gre(sim.now, &mut pkt);
    }
    let before = sim.client_ip.len();
    let (_, sent_s) = sim.exchange(200, Duration::from_millis(10));
    assert_eq!(check_delivery(&sent_s, &sim.client_ip[before..]), 1.0);
    assert!(sim.client_down().is_none());
    let st = sim.client.stats().unwrap();
    assert!(st.unverified >= 2, "{st:?}");
}

/// A clear GRE frame for the client's call with this sequence number.
fn clear_frame(call_id: u16, seq: u32, protocol: u16, info: &[u8]) -> Vec<u8> {
    let mut pkt = vec![0u8; 16];
    let h = Header {
        call_id,
        payload_len: (4 + info.len()) as u16,
        seq: Some(seq),
        ack: None,
    };
    let hl = h.encode(&mut pkt);
    pkt.truncate(hl);
    pkt.extend_from_slice(&[0xFF, 0x03]);
    pkt.extend_from_slice(&protocol.to_be_bytes());
    pkt.extend_from_slice(info);
    pkt
}

#[test]
fn a_forged_frame_before_the_servers_first_does_not_own_the_window() {
    // The attacker read the call ID from the clear Outgoing-Call-Request and
    // gets a frame to the client before the server's first LCP packet.
    for (protocol, info) in [
        (frame::LCP, vec![9, 7, 0, 8, 0, 0, 0, 0]),
        (frame::IPV4, vec![0x45; 20]),
    ] {
        let mut sim = mppe_sim(Strength::Bits128, false);
        let call_id = loop {
            let first = sim
                .queue
                .iter()
                .find(|p| !p.to_server && !p.tcp)
                .and_then(|p| parse_gre(&p.data));
            if let Some((call_id, ..)) = first {
                break call_id;
            }
            assert!(sim.step(), "the server never sent GRE");
        };
        let mut forged = clear_frame(call_id, 1 << 30, protocol, &info);
        let _ = sim.client.handle_gre(sim.now, &mut forged);
        sim.connect();
        let before = sim.client_ip.len();
        let (_, sent_s) = sim.exchange(100, Duration::from_millis(10));
        assert_eq!(
            check_delivery(&sent_s, &sim.client_ip[before..]),
            1.0,
            "protocol {protocol:#x}"
        );
        let st = sim.client.stats().unwrap();
        assert_eq!(st.late, 0, "{st:?}");
    }
}

#[test]
fn forged_clear_frames_a_little_ahead_never_cost_the_packets_after_them() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    let mut delivered = 0.0;
    for round in 0..10 {
        // Each round, a clear LCP frame claiming a number a little ahead of the
        // server's (the window may move only to the next number on clear frames).
        let mut pkt = forge_from_server(&mut sim, frame::LCP, &[9, 7, 0, 8, 0, 0, 0, 0], 40);
        let _ = sim.client.handle_gre(sim.now, &mut pkt);
        let before = sim.client_ip.len();
        let (_, s) = sim.exchange(30, Duration::from_millis(5));
        delivered = check_delivery(&s, &sim.client_ip[before..]);
        assert_eq!(delivered, 1.0, "round {round}");
    }
    assert_eq!(delivered, 1.0);
    assert!(sim.client_down().is_none());
}

#[test]
fn forged_acks_beyond_what_was_sent_are_ignored() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    let (_, s) = sim.exchange(5, Duration::from_millis(10));
    assert_eq!(s.len(), 5);
    // An ack-only packet acknowledging far more than the client ever sent.
    let (call_id, ..) = {
        let mut buf = vec![0u8; 2048];
        let ip = ipv4_packet(&mut sim.rng, 60, 0, false);
        let n = sim.server.send_ip(sim.now, &ip, &mut buf).unwrap();
        parse_gre(&buf[..n]).unwrap()
    };
    let mut ack = vec![0u8; 16];
    let n = Header {
        call_id,
        payload_len: 0,
        seq: None,
        ack: Some(1 << 30),
    }
    .encode(&mut ack);
    ack.truncate(n);
    let _ = sim.client.handle_gre(sim.now, &mut ack);
    // Traffic both ways, acknowledged by the real server; then quiet. Had the
    // forged ack stood, the real acks would look old, the client's data never
    // acknowledged, and a flush nudge would leave every 325 ms for good.
    sim.exchange(20, Duration::from_millis(10));
    let nudges = client_ack_only_for(&mut sim, Duration::from_secs(2));
    assert!(nudges.len() <= 1, "{} ack-only packets", nudges.len());
}

#[test]
fn forged_mppe_flood_costs_bounded_work_and_real_traffic_flows() {
    forged_mppe_flood(false);
    forged_mppe_flood(true);
}

fn forged_mppe_flood(stateful: bool) {
    let mut sim = mppe_sim(Strength::Bits128, stateful);
    sim.connect();
    let start = sim.now;
    let rekeys_before = sim.client.stats().unwrap().mppe_rekeys;
    let mut rng = StdRng::seed_from_u64(7);
    let mut real = 0usize;
    for round in 0..20 {
        let infos: Vec<Vec<u8>> = (0..100)
            .map(|_| {
                let cc: u16 = rng.random_range(0..4096);
                let mut info = vec![0x90 | (cc >> 8) as u8, cc as u8];
                info.extend((0..40).map(|_| rng.random::<u8>()));
                info
            })
            .collect();
        // forge_many spends a real packet to learn the sequence number; it
        // arrives after the burst, as if the forgeries had overtaken it.
        let (mut spent, forged) = forge_many(&mut sim, frame::COMPRESSED, &infos, 1);
        for mut pkt in forged {
            let _ = sim.client.handle_gre(sim.now, &mut pkt);
        }
        assert!(
            sim.client.handle_gre(sim.now, &mut spent).is_some(),
            "round {round}: the real packet behind the forgeries was lost"
        );
        let before = sim.client_ip.len();
        let (_, s) = sim.exchange(50, Duration::from_millis(10));
        let delivered = check_delivery(&s, &sim.client_ip[before..]);
        assert_eq!(delivered, 1.0, "round {round}");
        real += s.len() + 1;
        assert!(
            sim.client_down().is_none(),
            "round {round}: {:?}",
            sim.client_down()
        );
    }
    let elapsed = sim.now.duration_since(start).as_secs_f64();
    let rekeys = sim.client.stats().unwrap().mppe_rekeys - rekeys_before;
    let bound = real as f64 + f64::from(pptp_engine::mppe::JUMP_BUDGET) * (elapsed + 1.0);
    let resets = sim.reset_requests[0];
    eprintln!("stateful {stateful}: 2000 forged + {real} real packets in {elapsed:.1} s: {rekeys} key changes (bound {bound:.0}), {resets} Reset-Requests");
    // A forged loss claim costs at most one Reset-Request per 20 ms.
    assert!(f64::from(resets) <= elapsed / 0.02 + 1.0, "{resets}");
    assert!((rekeys as f64) <= bound, "{rekeys} key changes > {bound}");
    // Without the budget, 2000 random counts would cost about a million.
    assert!(rekeys < 200_000, "{rekeys}");
}

/// A flood of forged MPPE packets each claiming the count after the next one
/// (each a key change ahead), while genuine traffic loses packets on the way:
/// the genuine packet after a loss needs that same key change, and must get it.
#[test]
fn a_forged_mppe_flood_does_not_starve_genuine_traffic_after_a_loss() {
    for stateful in [false, true] {
        let mut sim = mppe_sim(Strength::Bits128, stateful);
        sim.connect();
        sim.imp.loss = 0.03;
        let mut rng = StdRng::seed_from_u64(11);
        let (mut sent, before) = (Vec::new(), sim.client_ip.len());
        let mut forged_total = 0;
        for i in 0..400 {
            let ip = ipv4_packet(&mut sim.rng, 200, i, false);
            let n = sim.server.send_ip(sim.now, &ip, &mut sim.buf).unwrap();
            let pkt = sim.buf[..n].to_vec();
            let Some((call_id, Some(seq), _, Some((_, info)))) = parse_gre(&pkt) else {
                panic!("data packet without sequence or payload")
            };
            let cc = u16::from_be_bytes([info[0], info[1]]) & 0x0FFF;
            // 60 forgeries per 10 ms: 6000 a second, each claiming count cc + 1
            // with its own sequence number (the one the genuine packet takes).
            for _ in 0..60 {
                let c = (cc + 1) & 0x0FFF;
                let mut body = vec![0x90 | (c >> 8) as u8, c as u8];
                body.extend((0..40).map(|_| rng.random::<u8>()));
                let mut f = clear_frame(call_id, seq, frame::COMPRESSED, &body);
                let _ = sim.client.handle_gre(sim.now, &mut f);
                forged_total += 1;
            }
            sim.enqueue(false, false, pkt);
            sent.push(ip);
            let until = sim.now + Duration::from_millis(10);
            while sim.queue.iter().any(|p| p.at <= until)
                || sim.client.poll_timeout().is_some_and(|t| t <= until)
            {
                sim.step();
            }
            sim.now = until;
        }
        let end = sim.now + Duration::from_secs(1);
        while sim.now < end && sim.step() {}
        let got = check_delivery(&sent, &sim.client_ip[before..]);
        eprintln!("stateful {stateful}: {forged_total} forged, {got:.3} of 400 genuine delivered at 3 % loss");
        // Stateless loses only what the path lost; stateful also what follows a
        // loss until the resynchronisation (a Reset-Request round trip).
        let floor = if stateful { 0.80 } else { 0.95 };
        assert!(got >= floor, "stateful {stateful}: {got}");
        assert!(sim.client_down().is_none(), "{:?}", sim.client_down());
    }
}

#[test]
fn unknown_protocols_get_protocol_reject() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    // Forge an MPLSCP Configure-Request from the server: take the Key and sequence
    // from the server's last packet to the client.
    let ip = ipv4_packet(&mut sim.rng, 60, 0, false);
    let n = sim.server.send_ip(sim.now, &ip, &mut sim.buf).unwrap();
    let (call_id, Some(seq), _, _) = parse_gre(&sim.buf[..n]).unwrap() else {
        panic!("data without sequence")
    };
    let info = [1u8, 1, 0, 4];
    let mut pkt = vec![0u8; 16];
    let h = Header {
        call_id,
        payload_len: (4 + info.len()) as u16,
        // The spent packet's own number: next in order at the client.
        seq: Some(seq),
        ack: None,
    };
    let hl = h.encode(&mut pkt);
    pkt.truncate(hl);
    pkt.extend_from_slice(&[0xFF, 0x03, 0x82, 0x81]);
    pkt.extend_from_slice(&info);
    assert!(sim.client.handle_gre(sim.now, &mut pkt).is_none());
    let rejects: Vec<_> = std::iter::from_fn(|| sim.client.poll_gre_transmit())
        .filter_map(|p| parse_gre(&p))
        .filter_map(|(_, _, _, ppp)| ppp)
        .filter(|(p, i)| *p == frame::LCP && i[0] == 8)
        .collect();
    assert_eq!(rejects.len(), 1);
    assert_eq!(&rejects[0].1[4..], &[0x82, 0x81, 1, 1, 0, 4]);
}

/// Applies `fate` to the first control packet matching direction, protocol and
/// code; everything else passes.
fn first(to_server: bool, proto: u16, code: u8, fate: Fate) -> Tamper {
    let mut fate = Some(fate);
    Box::new(move |dir, p, info| {
        if dir == to_server && p == proto && info.first() == Some(&code) {
            fate.take().unwrap_or(Fate::Pass)
        } else {
            Fate::Pass
        }
    })
}

/// Connects under `tamper`, then moves data both ways for 5 s (past any late
/// copy): returns the time to Up. The link must come up with MPPE, stay up, and
/// deliver everything.
fn time_to_up(tamper: Option<Tamper>) -> Duration {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.tamper = tamper;
    let start = sim.now;
    let up = sim.connect();
    let took = sim.now - start;
    assert!(up.mppe.is_some());
    let (sent_c, sent_s) = sim.exchange(500, Duration::from_millis(10));
    assert!(sim.client_down().is_none(), "{:?}", sim.client_down());
    assert_eq!(check_delivery(&sent_c, &sim.server_ip), 1.0);
    assert_eq!(check_delivery(&sent_s, &sim.client_ip), 1.0);
    let ups = sim
        .client_events
        .iter()
        .filter(|e| matches!(e, Event::Up(_)))
        .count();
    assert_eq!(ups, 1, "{:?}", sim.client_events);
    took
}

const CHAP_SUCCESS: u8 = 3;
const CONF_REQ: u8 = 1;
const CONF_ACK: u8 = 2;
/// The restart timer and the CHAP Response retry: one retransmission interval.
const RETRANSMISSION: Duration = Duration::from_secs(3);

/// accel-ppp drops a CCP request that arrives before its own CCP has started
/// (ours goes out the moment CHAP succeeds) and starts IPCP without waiting
/// for CCP. The client takes that IPCP as the Ack of its CCP request (right
/// for pppd, which starts IPCP only once CCP is open), so MPPE starts; the
/// server's CCP, still waiting for our request, asks again. Nothing has been
/// sealed or opened: that is no restart of a running cipher, and the link comes
/// up once, with MPPE. (The client here opens IPCP without waiting for CCP, so
/// that our own server, which waits, hears IPCP first and answers it; its
/// IPCP Acks are dropped until its CCP has asked twice, as accel-ppp holds
/// them back until its CCP is open.)
#[test]
fn a_server_that_starts_ipcp_before_ccp_and_missed_our_ccp_request() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.client = ClientSession::new(
        ClientConfig {
            mppe: MppePolicy {
                required: false,
                ..policy(Strength::Bits128, false)
            },
            ..client_cfg("correct horse battery")
        },
        sim.now,
    );
    let (mut client_ccp_requests, mut server_ccp_requests) = (0, 0);
    sim.tamper = Some(Box::new(move |to_server, proto, info| {
        match (to_server, proto, info.first()) {
            (true, frame::CCP, Some(&CONF_REQ)) => {
                client_ccp_requests += 1;
                if client_ccp_requests == 1 {
                    return Fate::Drop;
                }
            }
            (false, frame::CCP, Some(&CONF_REQ)) => server_ccp_requests += 1,
            (false, frame::IPCP, Some(&CONF_ACK)) if server_ccp_requests < 2 => return Fate::Drop,
            _ => {}
        }
        Fate::Pass
    }));
    let start = sim.now;
    let up = sim.connect();
    assert_eq!(up.mppe_name(), "128-stateless");
    // One CCP retransmission (the server's), not a failure and a redial.
    assert!(
        sim.now - start < RETRANSMISSION * 2,
        "{:?}",
        sim.now - start
    );
    let (sent_c, sent_s) = sim.exchange(200, Duration::from_millis(10));
    assert!(sim.client_down().is_none(), "{:?}", sim.client_down());
    assert_eq!(check_delivery(&sent_c, &sim.server_ip), 1.0);
    assert_eq!(check_delivery(&sent_s, &sim.client_ip), 1.0);
}

/// pppd and accel-ppp answer IPCP and IPV6CP with "not yet" (a Terminate-Ack)
/// until their CCP is open, and their CCP opens on our CCP Ack. Here the server
/// ignores both until that Ack has passed. Our network protocols start only
/// once the Ack is out (it is held a moment, see ccp_start), so no request of
/// theirs is wasted: the link comes up with IPv6, well within a restart
/// interval. (Before, IPV6CP's request went first and IPv6 missed the Up.)
#[test]
fn network_protocols_start_after_our_ccp_ack() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    // A path faster than the Ack's hold: the server's Ack of our CCP request
    // arrives while ours is still held.
    sim.delay = Duration::from_millis(1);
    let mut ack_passed = false;
    sim.tamper = Some(Box::new(move |to_server, proto, info| {
        match (to_server, proto, info.first()) {
            (true, frame::CCP, Some(&CONF_ACK)) => ack_passed = true,
            (true, frame::IPCP | frame::IPV6CP, Some(&CONF_REQ)) if !ack_passed => {
                return Fate::Drop
            }
            _ => {}
        }
        Fate::Pass
    }));
    let start = sim.now;
    let up = sim.connect();
    assert!(up.ipv6.is_some(), "{up:?}");
    assert!(sim.now - start < RETRANSMISSION, "{:?}", sim.now - start);
}

/// A server that Protocol-Rejects MPPE packets after agreeing to MPPE decrypts
/// nothing we send (accel-ppp whose kernel missed the start of CCP): the link
/// ends at once, saying so, instead of staying up and carrying nothing; a
/// redial may do better.
#[test]
fn a_server_that_rejects_mppe_packets_ends_the_link() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.connect();
    sim.exchange(3, Duration::from_millis(10));
    let reject = [8, 0x42, 0, 10, 0x00, 0xFD, 0x90, 0x00, 0x11, 0x22];
    let mut pkt = forge_from_server(&mut sim, frame::LCP, &reject, 1);
    let _ = sim.client.handle_gre(sim.now, &mut pkt);
    let d = sim.wait_down(Duration::from_secs(5));
    assert!(
        matches!(&d, DownReason::NegotiationFailed(m) if m.contains("Protocol-Rejected MPPE")),
        "{d}"
    );
    assert!(!pptp_engine::redial::is_final(&d));
}

#[test]
fn a_lost_chap_success_costs_a_round_trip() {
    let base = time_to_up(None);
    let t = time_to_up(Some(first(false, frame::CHAP, CHAP_SUCCESS, Fate::Drop)));
    eprintln!("base {base:?}, Success lost {t:?}");
    // The server's CCP arrives first and shows it moved on: the Response goes
    // again at once, not after the retry timer.
    assert!(t < base + Duration::from_millis(500), "{t:?} vs {base:?}");
}

#[test]
fn a_lost_ack_costs_one_retransmission() {
    let base = time_to_up(None);
    for proto in [frame::LCP, frame::CCP, frame::IPCP] {
        for to_server in [false, true] {
            let t = time_to_up(Some(first(to_server, proto, CONF_ACK, Fate::Drop)));
            eprintln!("{proto:#06x} Ack to server {to_server} lost: {t:?}");
            assert!(
                t <= base + RETRANSMISSION + Duration::from_millis(500),
                "{proto:#x}: {t:?}"
            );
        }
    }
}

/// pppd answers a CCP request repeated after its CCP opened by renegotiating,
/// which ends an MPPE link. When the server's Ack of our CCP request is lost,
/// its IPCP (which such a server starts only once CCP is open) stands for the
/// Ack: no retransmission, and no 3 s wait.
#[test]
fn a_lost_ccp_ack_is_implied_by_the_servers_ipcp() {
    let base = time_to_up(None);
    let t = time_to_up(Some(first(false, frame::CCP, CONF_ACK, Fate::Drop)));
    eprintln!("base {base:?}, CCP Ack lost {t:?}");
    assert!(t < base + Duration::from_millis(200), "{t:?} vs {base:?}");
}

/// The same when our CCP request differs from the server's own and was Nak'd
/// to what it accepts (as pppd with mppe-stateful does: we ask stateful with 40
/// or 128 bits, it Naks to stateful 128 and asks stateless itself), and the Ack
/// of the request it suggested is lost.
#[test]
fn a_lost_ack_of_the_request_a_nak_suggested_is_implied_too() {
    let run = |drop: bool| {
        let mut c = client_cfg("correct horse battery");
        c.mppe = MppePolicy {
            allow_40: true,
            ..policy(Strength::Bits128, true)
        };
        let mut s = server_cfg();
        s.mppe = MppePolicy {
            request_stateful: false,
            ..policy(Strength::Bits128, true)
        };
        let mut sim = Sim::new(c, s);
        let mut acks = 0;
        sim.tamper = Some(Box::new(move |to_server, p, info| {
            if !to_server && p == frame::CCP && info.first() == Some(&CONF_ACK) {
                acks += 1;
                if drop && acks == 1 {
                    return Fate::Drop;
                }
            }
            Fate::Pass
        }));
        let start = sim.now;
        assert!(sim.connect().mppe.is_some());
        sim.now - start
    };
    let (base, t) = (run(false), run(true));
    eprintln!("base {base:?}, Ack of the Nak'd-to request lost {t:?}");
    assert!(t < base + Duration::from_millis(200), "{t:?} vs {base:?}");
}

/// Our CCP request is lost (the one that mirrors the server's): the held
/// retransmission goes when the server asks again during the hold, which says
/// it is not open; at most two restart intervals in all.
#[test]
fn a_lost_ccp_request_costs_at_most_two_restart_intervals() {
    let base = time_to_up(None);
    let t = time_to_up(Some(first(true, frame::CCP, CONF_REQ, Fate::Drop)));
    eprintln!("base {base:?}, client's CCP request lost {t:?}");
    assert!(
        t <= base + 2 * RETRANSMISSION + Duration::from_millis(500),
        "{t:?}"
    );
}

/// A path that delays our packets past the restart timer, while the server
/// retransmits its own CCP request: the server's repeat crosses our delayed
/// request and Ack, so it says nothing about ours being lost. Sending ours again
/// then would reach pppd after its CCP opened, and pppd ends the link ("MPPE
/// disabled"). The client sends the request the server's Nak suggested once.
#[test]
fn a_server_repeating_its_ccp_request_does_not_make_ours_go_again() {
    let mut c = client_cfg("correct horse battery");
    c.mppe = MppePolicy {
        allow_40: true,
        ..policy(Strength::Bits128, false)
    };
    let mut sim = Sim::new(c, server_cfg());
    let mut requests = Vec::new();
    let (mut slow, mut theirs) = (0, 0);
    sim.tamper = Some(Box::new(move |to_server, p, info| {
        if p != frame::CCP {
            return Fate::Pass;
        }
        if !to_server {
            // The server's repeat arrives just after our restart timer expired.
            if info.first() == Some(&CONF_REQ) {
                theirs += 1;
                if theirs == 2 {
                    return Fate::Delay(Duration::from_millis(20));
                }
            }
            return Fate::Pass;
        }
        if info.first() == Some(&CONF_REQ) {
            requests.push(info[1]);
            assert!(requests.len() <= 2, "CCP requests sent: {requests:?}");
        }
        // Our Ack of the server's request and our request after its Nak sit in a
        // queue past the server's restart timer.
        slow += 1;
        if (2..=3).contains(&slow) {
            return Fate::Delay(RETRANSMISSION + Duration::from_millis(100));
        }
        Fate::Pass
    }));
    assert!(sim.connect().mppe.is_some());
}

/// Our LCP request delayed past the server's Opened makes pppd renegotiate LCP
/// while authentication runs: both ends start again from LCP and authenticate
/// again, instead of the attempt ending.
#[test]
fn lcp_renegotiated_before_up_starts_again() {
    let base = time_to_up(None);
    for late in [6, 9, 12, 15, 20, 30] {
        let mut sim = mppe_sim(Strength::Bits128, false);
        sim.tamper = Some(first(
            true,
            frame::LCP,
            CONF_REQ,
            Fate::TwiceRenumbered(Duration::from_millis(late)),
        ));
        let start = sim.now;
        let up = sim.connect();
        let t = sim.now - start;
        let chap = sim
            .client_protocols
            .iter()
            .filter(|&&p| p == frame::CHAP)
            .count();
        eprintln!("copy {late} ms later: Up in {t:?} ({chap} CHAP packets from the client)");
        assert!(up.mppe.is_some());
        assert!(
            t <= base + Duration::from_millis(200),
            "{late} ms: {t:?} vs {base:?}"
        );
    }
}

#[test]
fn a_repeated_request_after_opened_changes_nothing() {
    let base = time_to_up(None);
    for proto in [frame::LCP, frame::CCP, frame::IPCP] {
        for to_server in [false, true] {
            let rule = first(
                to_server,
                proto,
                CONF_REQ,
                Fate::Twice(Duration::from_secs(2)),
            );
            let t = time_to_up(Some(rule));
            assert!(t <= base + Duration::from_millis(100), "{proto:#x}: {t:?}");
        }
    }
}

#[test]
fn an_ack_overtaken_by_the_retransmitted_request_still_counts() {
    let base = time_to_up(None);
    for proto in [frame::LCP, frame::CCP, frame::IPCP] {
        let late = Fate::Delay(RETRANSMISSION + Duration::from_millis(500));
        let t = time_to_up(Some(first(false, proto, CONF_ACK, late)));
        eprintln!("{proto:#06x} Ack late: {t:?}");
        assert!(
            t <= base + RETRANSMISSION + Duration::from_millis(100),
            "{proto:#x}: {t:?}"
        );
    }
}

/// The server's first LCP request overtakes its Outgoing-Call-Reply (GRE and TCP
/// are different paths): kept and answered when the call comes up, not lost to a
/// 3 s restart timer.
#[test]
fn gre_that_overtakes_the_call_reply_is_not_lost() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    let start = sim.now;
    sim.connect();
    let base = sim.now - start;
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.tcp_lag = Duration::from_millis(3);
    let start = sim.now;
    sim.connect();
    let t = sim.now - start;
    eprintln!("base {base:?}, with TCP lagging {t:?}");
    assert!(t < base + Duration::from_millis(100), "{t:?} vs {base:?}");
}

/// Lossy, reordering GRE both ways (TCP is reliable here, as it is in life).
#[test]
fn connects_over_a_lossy_reordering_link() {
    for stateful in [false, true] {
        let mut times = Vec::new();
        for seed in 0..30 {
            let mut sim = mppe_sim(Strength::Bits128, stateful);
            sim.rng = StdRng::seed_from_u64(1000 + seed);
            sim.imp = Impairment {
                loss: 0.05,
                reorder: 0.1,
                duplicate: 0.0,
            };
            let start = sim.now;
            let up = sim.connect();
            assert!(up.mppe.is_some(), "seed {seed}");
            times.push(sim.now - start);
        }
        times.sort();
        eprintln!(
            "stateful {stateful}: 30 of 30 up; median {:?}, worst {:?}",
            times[15], times[29]
        );
        assert!(times[29] < Duration::from_secs(20), "{:?}", times[29]);
    }
}

/// An IPv4 TCP SYN (or SYN-ACK) carrying this MSS option, checksum valid.
fn tcp_syn(mss: u16, ack: bool) -> Vec<u8> {
    let mut p = vec![0u8; 44];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&44u16.to_be_bytes());
    p[8] = 64;
    p[9] = 6;
    p[12..16].copy_from_slice(&[10, 0, 0, 1]);
    p[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let ip_sum = inet_sum(&p[..20], 0);
    p[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    p[32] = 6 << 4;
    p[33] = if ack { 0x12 } else { 0x02 };
    p[40..44].copy_from_slice(&[2, 4, (mss >> 8) as u8, mss as u8]);
    let tcp_sum = tcp_checksum(&p);
    p[36..38].copy_from_slice(&tcp_sum.to_be_bytes());
    p
}

fn inet_sum(data: &[u8], start: u32) -> u16 {
    let mut sum = start;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum a TCP segment in this IPv4 packet should carry.
fn tcp_checksum(p: &[u8]) -> u16 {
    let mut seg = p[20..].to_vec();
    seg[16..18].fill(0);
    let pseudo: u32 = [&p[12..14], &p[14..16], &p[16..18], &p[18..20]]
        .iter()
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>()
        + 6
        + seg.len() as u32;
    inet_sum(&seg, pseudo)
}

#[test]
fn tcp_syns_are_clamped_to_the_tunnel_mtu_both_ways() {
    for clamp in [true, false] {
        let mut c = client_cfg("correct horse battery");
        c.mppe = policy(Strength::Bits128, false);
        c.ppp.mss_clamp = clamp;
        let mut s = server_cfg();
        s.mppe = policy(Strength::Bits128, false);
        s.ppp.mss_clamp = clamp;
        let mut sim = Sim::new(c, s);
        let up = sim.connect();
        let want = if clamp { up.mtu - 40 } else { 1460 };
        let n = sim
            .client
            .send_ip(sim.now, &tcp_syn(1460, false), &mut sim.buf)
            .unwrap();
        let pkt = sim.buf[..n].to_vec();
        sim.enqueue(true, false, pkt);
        let n = sim
            .server
            .send_ip(sim.now, &tcp_syn(1460, true), &mut sim.buf)
            .unwrap();
        let pkt = sim.buf[..n].to_vec();
        sim.enqueue(false, false, pkt);
        sim.run_until(Duration::from_secs(1), |s| {
            !s.server_ip.is_empty() && !s.client_ip.is_empty()
        });
        for (side, got) in [("server", &sim.server_ip[0]), ("client", &sim.client_ip[0])] {
            assert_eq!(
                u16::from_be_bytes([got[42], got[43]]),
                want,
                "at the {side}"
            );
            assert_eq!(
                u16::from_be_bytes([got[36], got[37]]),
                tcp_checksum(got),
                "checksum at the {side}"
            );
        }
    }
}

fn pushed_event(sim: &Sim) -> Option<&pptp_engine::dhcp::Pushed> {
    sim.client_events.iter().find_map(|e| match e {
        Event::Pushed(p) => Some(p),
        _ => None,
    })
}

/// A server that answers DHCPINFORM: its routes and domain reach the client one
/// round trip after Up, through MPPE, and its answer is not handed to the
/// tunnel interface.
#[test]
fn dhcp_inform_brings_the_servers_routes_after_up() {
    use pptp_engine::dhcp::{Pushed, Route};
    let push = Pushed {
        routes: vec![
            Route {
                dest: Ipv4Addr::new(10, 128, 0, 0),
                prefix: 9,
            },
            Route {
                dest: Ipv4Addr::new(172, 16, 5, 0),
                prefix: 24,
            },
        ],
        domain: Some("corp.example".into()),
        dns: vec![Ipv4Addr::new(10, 0, 0, 53)],
        wins: vec![],
    };
    for first_lost in [false, true] {
        let mut c = client_cfg("correct horse battery");
        c.ppp.dhcp_inform = true;
        c.mppe = policy(Strength::Bits128, false);
        let mut s = server_cfg();
        s.mppe = policy(Strength::Bits128, false);
        s.push = Some(push.clone());
        let mut sim = Sim::new(c, s);
        // The client's first data packet after Up is the INFORM.
        let mut dropped = !first_lost;
        sim.tamper = Some(Box::new(move |to_server, p, _| {
            if to_server && p == frame::COMPRESSED && !dropped {
                dropped = true;
                return Fate::Drop;
            }
            Fate::Pass
        }));
        assert!(sim.connect().mppe.is_some());
        let up_at = sim.now;
        sim.run_until(Duration::from_secs(10), |s| pushed_event(s).is_some());
        let got = pushed_event(&sim).expect("answered");
        assert_eq!(*got, push);
        let after = sim.now - up_at;
        eprintln!("first INFORM lost {first_lost}: pushed {after:?} after Up");
        let resend = if first_lost {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        // The resent request follows a gap: the server's reorder hold keeps
        // it up to its 50 ms before giving the gap up as lost.
        assert!(
            after >= resend && after < resend + Duration::from_millis(110),
            "{after:?}"
        );
        assert!(sim.client_ip.is_empty(), "the answer went to the tunnel");
    }
}

/// Time passes with nothing to wait for.
fn idle(sim: &mut Sim, d: Duration) {
    let end = sim.now + d;
    sim.run_until(d + Duration::from_secs(1), |s| s.now >= end);
}

/// No DHCP server: the INFORM goes three times within 4 s, the link carries
/// data from the start, and nothing is reported.
#[test]
fn no_dhcp_server_costs_nothing() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    sim.client = ClientSession::new(
        {
            let mut c = client_cfg("correct horse battery");
            c.mppe = policy(Strength::Bits128, false);
            c.ppp.dhcp_inform = true;
            c
        },
        sim.now,
    );
    sim.connect();
    let start = sim.now;
    let (sent_c, _) = sim.exchange(20, Duration::from_millis(50));
    idle(&mut sim, Duration::from_secs(6));
    assert!(sim.now - start >= Duration::from_secs(6));
    let is_inform = |p: &&Vec<u8>| p.len() > 28 && p[9] == 17 && p[22..24] == [0, 67];
    assert_eq!(sim.server_ip.iter().filter(is_inform).count(), 3);
    assert_eq!(sim.server_ip.len(), sent_c.len() + 3, "all the data too");
    assert!(pushed_event(&sim).is_none());
}

#[test]
fn dhcp_inform_can_be_turned_off() {
    let mut c = ClientConfig::new("alice", Password::new("correct horse battery"), [1; 32]);
    assert!(c.ppp.dhcp_inform, "on by default");
    c.ppp.dhcp_inform = false;
    let mut sim = Sim::new(c, server_cfg());
    sim.connect();
    idle(&mut sim, Duration::from_secs(6));
    assert!(sim.server_ip.is_empty(), "{:?}", sim.server_ip.len());
}

/// An IPv6 packet (UDP, valid lengths) tagged with `tag` at bytes 44..48.
fn ipv6_packet(rng: &mut StdRng, len: usize, tag: u32) -> Vec<u8> {
    let mut ip = vec![0u8; len];
    rng.fill(&mut ip[40..]);
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
    ip[6] = 17;
    ip[7] = 64;
    ip[8..24].copy_from_slice(
        &"2001:db8:77::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    ip[24..40].copy_from_slice(
        &"2001:db8:78::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    ip[44..48].copy_from_slice(&tag.to_be_bytes());
    ip
}

/// A router advertisement from the server's link-local address: a /64 for
/// SLAAC, a name server and a route.
fn router_advert(src: std::net::Ipv6Addr) -> Vec<u8> {
    let dst: std::net::Ipv6Addr = "ff02::1".parse().unwrap();
    let mut icmp = vec![134u8, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    // Prefix information: /64, on-link and autonomous.
    icmp.extend_from_slice(&[
        3, 4, 64, 0xC0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0,
    ]);
    icmp.extend_from_slice(
        &"2001:db8:77::"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    // RDNSS, one server.
    icmp.extend_from_slice(&[25, 3, 0, 0, 0, 0, 2, 0x58]);
    icmp.extend_from_slice(
        &"2001:db8:77::53"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    // Route information: 2001:db8:78::/64.
    icmp.extend_from_slice(&[
        24, 2, 64, 0, 0, 0, 7, 8, 0x20, 0x01, 0x0d, 0xb8, 0, 0x78, 0, 0,
    ]);
    pptp_engine::icmpv6::packet(src, dst, 255, &icmp)
}

fn router_event(sim: &Sim) -> Option<&pptp_engine::session::RouterInfo> {
    sim.client_events.iter().find_map(|e| match e {
        Event::Router(r) => Some(r),
        _ => None,
    })
}

/// IPv6 both ways, byte-exact and in order, under each MPPE mode; the client
/// solicits a router as soon as the link is up.
#[test]
fn ipv6_packets_cross_byte_exact_under_mppe() {
    for stateful in [false, true] {
        let mut sim = mppe_sim(Strength::Bits128, stateful);
        let up = sim.connect();
        let v6 = up.ipv6.expect("IPV6CP came up");
        assert_eq!(v6.local.segments()[0], 0xfe80);
        assert!(v6.peer.is_some_and(|p| p != v6.local));
        sim.run_until(Duration::from_millis(100), |s| !s.server_ip6.is_empty());
        let rs = sim.server_ip6.remove(0);
        assert_eq!((rs[6], rs[40]), (58, 133), "a router solicitation first");
        assert_eq!(
            &rs[8..24],
            &v6.local.octets(),
            "from our link-local address"
        );
        let (mut sent_c, mut sent_s) = (Vec::new(), Vec::new());
        for i in 0..500u32 {
            let len = 48 + (i as usize * 53) % 1300;
            let a = ipv6_packet(&mut sim.rng, len, i);
            let n = sim.client.send_ip(sim.now, &a, &mut sim.buf).unwrap();
            let pkt = sim.buf[..n].to_vec();
            sim.enqueue(true, false, pkt);
            let b = ipv6_packet(&mut sim.rng, len, i);
            let n = sim.server.send_ip(sim.now, &b, &mut sim.buf).unwrap();
            let pkt = sim.buf[..n].to_vec();
            sim.enqueue(false, false, pkt);
            sent_c.push(a);
            sent_s.push(b);
            idle(&mut sim, Duration::from_millis(5));
        }
        idle(&mut sim, Duration::from_millis(500));
        assert_eq!(sim.server_ip6, sent_c, "stateful={stateful}");
        assert_eq!(sim.client_ip6, sent_s, "stateful={stateful}");
        assert!(sim.server_ip.is_empty() && sim.client_ip.is_empty());
    }
}

#[test]
fn a_router_advertisement_gives_addresses_dns_and_routes_and_stays_with_us() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    let up = sim.connect();
    let v6 = up.ipv6.unwrap();
    let ra = router_advert(v6.peer.unwrap());
    let n = sim.server.send_ip(sim.now, &ra, &mut sim.buf).unwrap();
    let pkt = sim.buf[..n].to_vec();
    sim.enqueue(false, false, pkt);
    sim.run_until(Duration::from_secs(1), |s| router_event(s).is_some());
    let info = router_event(&sim).expect("router event").clone();
    let mut want = "2001:db8:77::"
        .parse::<std::net::Ipv6Addr>()
        .unwrap()
        .octets();
    want[8..].copy_from_slice(&v6.local.octets()[8..]);
    assert_eq!(info.addresses, vec![std::net::Ipv6Addr::from(want)]);
    assert_eq!(
        info.dns,
        vec!["2001:db8:77::53".parse::<std::net::Ipv6Addr>().unwrap()]
    );
    assert_eq!(info.routes, vec![("2001:db8:78::".parse().unwrap(), 64)]);
    assert!(info.default_route);
    assert!(
        sim.client_ip6.is_empty(),
        "the advertisement is not for the kernel"
    );
    // The same advertisement again reports nothing new.
    let n = sim.server.send_ip(sim.now, &ra, &mut sim.buf).unwrap();
    let pkt = sim.buf[..n].to_vec();
    sim.enqueue(false, false, pkt);
    idle(&mut sim, Duration::from_secs(1));
    let routers = sim
        .client_events
        .iter()
        .filter(|e| matches!(e, Event::Router(_)))
        .count();
    assert_eq!(routers, 1);
}

/// The same advertisement behind a hop-by-hop header (and a redirect) never
/// reaches the tunnel interface, where the kernel would take it: only the
/// engine's router discovery reads advertisements, and only plain ones.
#[test]
fn neighbour_discovery_behind_extension_headers_never_reaches_the_tunnel() {
    let mut sim = mppe_sim(Strength::Bits128, false);
    let up = sim.connect();
    let ra = router_advert(up.ipv6.unwrap().peer.unwrap());
    let mut hbh = ra[..40].to_vec();
    hbh[6] = 0; // hop-by-hop options first
    let len = u16::from_be_bytes([ra[4], ra[5]]) + 8;
    hbh[4..6].copy_from_slice(&len.to_be_bytes());
    hbh.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
    hbh.extend_from_slice(&ra[40..]);
    let mut redirect = ra.clone();
    redirect[40] = 137;
    for p in [hbh, redirect] {
        let n = sim.server.send_ip(sim.now, &p, &mut sim.buf).unwrap();
        let pkt = sim.buf[..n].to_vec();
        sim.enqueue(false, false, pkt);
    }
    idle(&mut sim, Duration::from_secs(1));
    assert!(
        sim.client_ip6.is_empty(),
        "{} reached the tunnel",
        sim.client_ip6.len()
    );
    assert!(router_event(&sim).is_none());
}

/// A server without IPv6 (pppd without `+ipv6`) rejects the protocol: the link
/// comes up at once, IPv4 only, and IPv6 from the tunnel is refused.
#[test]
fn a_server_without_ipv6_brings_the_link_up_ipv4_only_at_once() {
    let mut c = client_cfg("correct horse battery");
    c.mppe = policy(Strength::Bits128, false);
    let mut s = server_cfg();
    s.mppe = policy(Strength::Bits128, false);
    s.ppp.ipv6 = false;
    let mut sim = Sim::new(c, s);
    let start = sim.now;
    let up = sim.connect();
    assert_eq!(up.ipv6, None);
    assert!(
        sim.now - start < Duration::from_secs(1),
        "no wait for IPV6CP: {:?}",
        sim.now - start
    );
    let a = ipv6_packet(&mut sim.rng, 100, 1);
    assert_eq!(
        sim.client.send_ip(sim.now, &a, &mut sim.buf),
        Err(pptp_engine::session::SendError::NoIpv6)
    );
    // Refused back into the tunnel interface, from the packet's destination.
    let refusal = sim.client.poll_released_ip().expect("an ICMPv6 refusal");
    assert_eq!((refusal[6], refusal[40], refusal[41]), (58, 1, 1));
    assert_eq!(&refusal[8..24], &a[24..40]);
    // A burst gets a bounded number of refusals.
    for _ in 0..100 {
        let _ = sim.client.send_ip(sim.now, &a, &mut sim.buf);
    }
    assert_eq!(
        std::iter::from_fn(|| sim.client.poll_released_ip()).count(),
        0
    );
    idle(&mut sim, Duration::from_millis(20));
    let _ = sim.client.send_ip(sim.now, &a, &mut sim.buf);
    assert!(sim.client.poll_released_ip().is_some());
    assert_eq!(
        sim.client.send_ip(sim.now, &[0x10; 40], &mut sim.buf),
        Err(pptp_engine::session::SendError::NotIp)
    );
}

/// A client with IPv6 turned off answers the server's IPV6CP with a
/// Protocol-Reject, and neither end carries IPv6.
#[test]
fn ipv6_turned_off_on_the_client() {
    let mut c = client_cfg("correct horse battery");
    c.mppe = policy(Strength::Bits128, false);
    c.ppp.ipv6 = false;
    let mut s = server_cfg();
    s.mppe = policy(Strength::Bits128, false);
    let mut sim = Sim::new(c, s);
    let start = sim.now;
    let up = sim.connect();
    assert_eq!(up.ipv6, None);
    assert!(sim.now - start < Duration::from_secs(1));
    let server_up = sim.server_events.iter().find_map(|e| match e {
        Event::Up(u) => Some(u.clone()),
        _ => None,
    });
    assert_eq!(server_up.map(|u| u.ipv6), Some(None));
}
