//! IPCP (RFC 1332) with the Microsoft DNS/NBNS extensions (RFC 1877).

use std::net::Ipv4Addr;

use super::frame;
use super::fsm::{Failure, Fsm, Options, Verdict};
use super::packet::{put_option, Opt};

const OPT_ADDRESS: u8 = 3;
const OPT_DNS1: u8 = 129;
const OPT_NBNS1: u8 = 130;
const OPT_DNS2: u8 = 131;
const OPT_NBNS2: u8 = 132;
/// Option kinds of the four name-server slots, in [`IpcpConfig::request_servers`] order.
const SERVER_OPTS: [u8; 4] = [OPT_DNS1, OPT_DNS2, OPT_NBNS1, OPT_NBNS2];

#[derive(Debug, Clone, Default)]
pub struct IpcpConfig {
    /// Our address to propose (None: ask the peer to assign one).
    pub local: Option<Ipv4Addr>,
    /// Keep `local` when the peer Naks it: a client's fixed address. Without it
    /// the peer's suggestion is taken (pppd's `ipcp-accept-local`).
    pub insist_local: bool,
    /// Server role: the address to give the peer.
    pub assign_peer: Option<Ipv4Addr>,
    /// Client role: ask for DNS servers / NBNS servers.
    pub request_dns: bool,
    pub request_nbns: bool,
    /// Server role: what to hand out (DNS1, DNS2, NBNS1, NBNS2).
    pub offer_servers: [Option<Ipv4Addr>; 4],
    /// Client role: the PPTP server's own address, which no tunnel address may be
    /// (the route to the server would go through the tunnel itself).
    pub server: Option<Ipv4Addr>,
}

/// An address a host can use as a tunnel endpoint or a name server: unicast,
/// not 0.0.0.0, loopback, multicast, broadcast or class E.
pub fn usable_unicast(a: Ipv4Addr) -> bool {
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || a.is_broadcast()
        || a.octets()[0] >= 240)
}

pub struct Ipcp {
    cfg: IpcpConfig,
    /// Our current request: address and the four server slots (None = not asked).
    req_addr: Option<Ipv4Addr>,
    req_servers: [Option<Ipv4Addr>; 4],
    pub local: Option<Ipv4Addr>,
    pub peer: Option<Ipv4Addr>,
    /// Learned DNS1, DNS2, NBNS1, NBNS2.
    pub servers: [Option<Ipv4Addr>; 4],
}

fn ip(v: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from)
}

impl Ipcp {
    pub fn new(cfg: IpcpConfig) -> Self {
        let mut i = Ipcp {
            cfg,
            req_addr: None,
            req_servers: [None; 4],
            local: None,
            peer: None,
            servers: [None; 4],
        };
        i.reset();
        i
    }

    /// Why the negotiated addresses cannot be used, if they cannot.
    pub fn unusable(&self) -> Option<String> {
        let bad = |a: Ipv4Addr| !usable_unicast(a) || Some(a) == self.cfg.server;
        match (self.local, self.peer) {
            (Some(l), _) if bad(l) => Some(format!("the server assigned us {l}")),
            (_, Some(p)) if bad(p) && !p.is_unspecified() => {
                Some(format!("the server gave its tunnel end as {p}"))
            }
            _ => None,
        }
    }

    /// The name servers offered, less any a host could not use.
    pub fn dns(&self) -> Vec<Ipv4Addr> {
        self.servers[..2]
            .iter()
            .flatten()
            .copied()
            .filter(|a| usable_unicast(*a))
            .collect()
    }

    pub fn nbns(&self) -> Vec<Ipv4Addr> {
        self.servers[2..]
            .iter()
            .flatten()
            .copied()
            .filter(|a| usable_unicast(*a))
            .collect()
    }
}

/// What the layers above IPCP read from it.
impl Fsm<Ipcp> {
    pub fn local(&self) -> Option<Ipv4Addr> {
        self.opts.local
    }

    pub fn peer(&self) -> Option<Ipv4Addr> {
        self.opts.peer
    }

    /// See [`Ipcp::unusable`].
    pub fn unusable(&self) -> Option<String> {
        self.opts.unusable()
    }

    pub fn dns(&self) -> Vec<Ipv4Addr> {
        self.opts.dns()
    }

    pub fn nbns(&self) -> Vec<Ipv4Addr> {
        self.opts.nbns()
    }
}

impl Options for Ipcp {
    const PROTOCOL: u16 = frame::IPCP;
    const NAME: &'static str = "IPCP";

    fn reset(&mut self) {
        self.req_addr = Some(self.cfg.local.unwrap_or(Ipv4Addr::UNSPECIFIED));
        let unspec = Some(Ipv4Addr::UNSPECIFIED);
        let (d, n) = (self.cfg.request_dns, self.cfg.request_nbns);
        self.req_servers = [
            d.then_some(unspec).flatten(),
            d.then_some(unspec).flatten(),
            n.then_some(unspec).flatten(),
            n.then_some(unspec).flatten(),
        ];
        self.local = None;
        self.peer = None;
        self.servers = [None; 4];
    }

    fn request(&mut self, out: &mut Vec<u8>) {
        if let Some(a) = self.req_addr {
            put_option(out, OPT_ADDRESS, &a.octets());
        }
        for (kind, v) in SERVER_OPTS.iter().zip(self.req_servers) {
            if let Some(a) = v {
                put_option(out, *kind, &a.octets());
            }
        }
    }

    fn acked(&mut self) {
        // A peer that rejected the address option leaves us the one we configured.
        self.local = self
            .req_addr
            .filter(|a| !a.is_unspecified())
            .or(self.cfg.local);
        for (s, r) in self.servers.iter_mut().zip(self.req_servers) {
            *s = r.filter(|a| !a.is_unspecified());
        }
    }

    fn nak(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        for o in opts {
            let Some(a) = ip(o.value) else { continue };
            if o.kind == OPT_ADDRESS {
                // pppd without ipcp-accept-local keeps asking until Max-Configure;
                // saying at once which address the server wants is kinder.
                match self.cfg.local {
                    Some(wanted) if self.cfg.insist_local && a != wanted => {
                        return Err(Failure::AddressRefused { wanted, offered: a });
                    }
                    _ => self.req_addr = Some(a),
                }
            } else if let Some(i) = SERVER_OPTS.iter().position(|k| *k == o.kind) {
                if self.req_servers[i].is_some() {
                    self.req_servers[i] = Some(a);
                }
            }
        }
        Ok(())
    }

    fn reject(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        for o in opts {
            if o.kind == OPT_ADDRESS {
                // Without an address there is nothing to route; pppd gives up too.
                if self.cfg.local.is_none() {
                    return Err(Failure::NoAddress);
                }
                self.req_addr = None;
            } else if let Some(i) = SERVER_OPTS.iter().position(|k| *k == o.kind) {
                // Servers without ms-dns reject these: carry on without them.
                self.req_servers[i] = None;
            }
        }
        Ok(())
    }

    fn peer_request(
        &mut self,
        opts: &[Opt<'_>],
        reply: &mut Vec<u8>,
        nak_allowed: bool,
    ) -> Result<Verdict, Failure> {
        let mut naks = Vec::new();
        let mut rejects = Vec::new();
        let mut peer = None;
        for o in opts {
            match (o.kind, ip(o.value)) {
                (OPT_ADDRESS, Some(a)) => match self.cfg.assign_peer {
                    Some(want) if want != a => put_option(&mut naks, OPT_ADDRESS, &want.octets()),
                    None if a.is_unspecified() => put_option(&mut rejects, o.kind, o.value),
                    _ => peer = Some(a),
                },
                (k, Some(a)) if SERVER_OPTS.contains(&k) => {
                    let i = SERVER_OPTS.iter().position(|x| *x == k).unwrap();
                    match self.cfg.offer_servers[i] {
                        Some(s) if s != a => put_option(&mut naks, k, &s.octets()),
                        Some(_) => {}
                        None => put_option(&mut rejects, k, o.value),
                    }
                }
                // VJ compression, the old IP-Addresses option, anything else.
                _ => put_option(&mut rejects, o.kind, o.value),
            }
        }
        if let Some(v) = super::fsm::answer(opts, &rejects, &naks, nak_allowed, reply) {
            return Ok(v);
        }
        self.peer = peer;
        Ok(Verdict::Ack)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unusable_addresses() {
        for a in [
            "0.0.0.0",
            "127.0.0.2",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
        ] {
            assert!(!usable_unicast(a.parse().unwrap()), "{a}");
        }
        for a in ["10.0.0.1", "192.0.2.1", "100.64.0.1"] {
            assert!(usable_unicast(a.parse().unwrap()), "{a}");
        }
    }

    use super::*;
    use crate::ppp::fsm::{Fsm, Timers};
    use crate::ppp::packet;
    use crate::test_vectors::{hex, vector};
    use std::time::Instant;

    fn client(dns: bool) -> Fsm<Ipcp> {
        Fsm::new(
            Ipcp::new(IpcpConfig {
                request_dns: dns,
                request_nbns: false,
                ..Default::default()
            }),
            Timers::default(),
        )
    }

    fn server(dns: [Option<Ipv4Addr>; 4]) -> Fsm<Ipcp> {
        Fsm::new(
            Ipcp::new(IpcpConfig {
                local: Some(Ipv4Addr::new(10, 0, 0, 1)),
                assign_peer: Some(Ipv4Addr::new(10, 0, 0, 2)),
                offer_servers: dns,
                ..Default::default()
            }),
            Timers::default(),
        )
    }

    use crate::ppp::fsm::testing::pump;

    #[test]
    fn request_vector() {
        let v = vector("ipcp_confreq_addr_dns_computed");
        let mut c = client(true);
        c.open(Instant::now());
        let p = c.poll_transmit().unwrap();
        assert_eq!(
            crate::ppp::frame::Framing::default().frame(frame::IPCP, &p),
            hex(&v["outputs"]["ppp_frame"])
        );
    }

    #[test]
    fn learns_address_and_dns() {
        let now = Instant::now();
        let d1 = Ipv4Addr::new(192, 0, 2, 53);
        let mut c = client(true);
        let mut s = server([Some(d1), None, None, None]);
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        assert!(c.is_opened() && s.is_opened());
        assert_eq!(c.opts.local, Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(c.opts.peer, Some(Ipv4Addr::new(10, 0, 0, 1)));
        // DNS2 was rejected: we carry on with DNS1 only.
        assert_eq!(c.opts.dns(), vec![d1]);
    }

    #[test]
    fn server_without_dns_rejects_and_client_carries_on() {
        let now = Instant::now();
        let mut c = client(true);
        let mut s = server([None; 4]);
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        assert!(c.is_opened());
        assert!(c.opts.dns().is_empty());
    }

    fn fixed(addr: [u8; 4], insist: bool) -> Fsm<Ipcp> {
        Fsm::new(
            Ipcp::new(IpcpConfig {
                local: Some(Ipv4Addr::from(addr)),
                insist_local: insist,
                ..Default::default()
            }),
            Timers::default(),
        )
    }

    /// The client with a fixed address after negotiating with a server that
    /// assigns 10.0.0.2.
    fn negotiated(addr: [u8; 4], insist: bool) -> Fsm<Ipcp> {
        let now = Instant::now();
        let mut c = fixed(addr, insist);
        let mut s = server([None; 4]);
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        assert_eq!(c.is_opened(), s.is_opened());
        c
    }

    #[test]
    fn a_fixed_address_the_server_agrees_to_is_kept() {
        let c = negotiated([10, 0, 0, 2], true);
        assert!(c.is_opened());
        assert_eq!(c.opts.local, Some(Ipv4Addr::new(10, 0, 0, 2)));
    }

    #[test]
    fn a_fixed_address_the_server_naks_ends_ipcp_naming_both() {
        let c = negotiated([10, 0, 0, 7], true);
        assert!(!c.is_opened());
        let f = c.failure().cloned();
        assert_eq!(
            f,
            Some(Failure::AddressRefused {
                wanted: Ipv4Addr::new(10, 0, 0, 7),
                offered: Ipv4Addr::new(10, 0, 0, 2),
            })
        );
        assert!(f.unwrap().to_string().contains("10.0.0.7"));
    }

    #[test]
    fn accept_local_takes_the_servers_address() {
        let c = negotiated([10, 0, 0, 7], false);
        assert!(c.is_opened());
        assert_eq!(c.opts.local, Some(Ipv4Addr::new(10, 0, 0, 2)));
    }

    #[test]
    fn a_rejected_address_option_leaves_the_fixed_address() {
        let now = Instant::now();
        let mut c = fixed([10, 0, 0, 7], true);
        c.open(now);
        let req = c.poll_transmit().unwrap();
        c.input(
            now,
            &packet::encode(packet::CONFIGURE_REJECT, req[1], &[3, 6, 10, 0, 0, 7]),
        );
        let again = c.poll_transmit().unwrap();
        c.input(now, &packet::encode(packet::CONFIGURE_ACK, again[1], &[]));
        c.input(
            now,
            &packet::encode(packet::CONFIGURE_REQUEST, 1, &[3, 6, 10, 0, 0, 1]),
        );
        assert!(c.is_opened(), "{:?}", c.failure());
        assert_eq!(c.opts.local, Some(Ipv4Addr::new(10, 0, 0, 7)));
    }

    #[test]
    fn no_address_is_a_failure() {
        let now = Instant::now();
        let mut c = client(false);
        c.open(now);
        let req = c.poll_transmit().unwrap();
        c.input(
            now,
            &packet::encode(packet::CONFIGURE_REJECT, req[1], &[3, 6, 0, 0, 0, 0]),
        );
        assert_eq!(c.failure(), Some(&Failure::NoAddress));
    }

    #[test]
    fn max_failure_rejects_the_options_as_received() {
        let mut s = server([None; 4]);
        let mut reply = Vec::new();
        let want = [Opt {
            kind: 3,
            value: &[10, 0, 0, 9],
        }];
        assert_eq!(
            s.opts.peer_request(&want, &mut reply, true),
            Ok(Verdict::Nak)
        );
        assert_eq!(reply, vec![3, 6, 10, 0, 0, 2]);
        reply.clear();
        assert_eq!(
            s.opts.peer_request(&want, &mut reply, false),
            Ok(Verdict::Reject)
        );
        assert_eq!(reply, vec![3, 6, 10, 0, 0, 9]);
    }

    #[test]
    fn vj_is_rejected() {
        let mut c = client(false);
        let mut reply = Vec::new();
        let vj = [Opt {
            kind: 2,
            value: &[0, 0x2D, 15, 1],
        }];
        assert_eq!(
            c.opts.peer_request(&vj, &mut reply, true),
            Ok(Verdict::Reject)
        );
        assert_eq!(reply, vec![2, 6, 0, 0x2D, 15, 1]);
    }
}
