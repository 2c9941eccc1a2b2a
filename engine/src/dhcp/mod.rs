//! DHCPINFORM over the tunnel, as the Windows client sends it once IPCP is up:
//! Windows RRAS (with a DHCP relay), SoftEther and others answer it with the
//! split-tunnel routes (options 121 and 249) and the DNS domain (15) that IPCP
//! cannot carry.
//!
//! Hand-written rather than with `dhcproto`: that crate brings about 70 crates
//! (a DNS library, URL and IDNA/ICU tables) into the protocol crate for one
//! message, has no decoder for Microsoft's option 249, and its option 121 decoder
//! stops quietly at a bad prefix length where we must reject the option. What is
//! decoded here is small: the BOOTP header's fixed fields and a few options.

mod wire;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::wire::DecodeError;
use wire::encode_inform;
pub use wire::{answer_inform, decode_reply, MAX_ROUTES};

/// When the INFORM goes, counted from the link coming up; the wait ends at the
/// last entry. About 4 s in all, as Windows does, then the tunnel carries on.
const SCHEDULE: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(1000),
    Duration::from_millis(2500),
    Duration::from_millis(4000),
];

/// A route the server pushed: everything in `dest`/`prefix` goes through the
/// tunnel. (A next hop in the option names the server's side of a
/// point-to-point link, so it changes nothing and is not kept.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dest: Ipv4Addr,
    pub prefix: u8,
}

/// What a DHCPACK to our INFORM carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushed {
    /// From option 121, or else 249; default routes and destinations that are
    /// never routed (loopback, multicast, reserved) left out.
    pub routes: Vec<Route>,
    pub domain: Option<String>,
    pub dns: Vec<Ipv4Addr>,
    pub wins: Vec<Ipv4Addr>,
}

/// One INFORM exchange: a few sends on a schedule, then done either way.
#[derive(Debug)]
pub struct Inform {
    local: Ipv4Addr,
    peer: Ipv4Addr,
    xid: u32,
    start: Instant,
    /// Index into SCHEDULE of the next send (or, past the sends, the end).
    step: usize,
    request: Vec<u8>,
    out: Option<Vec<u8>>,
    done: bool,
}

impl Inform {
    /// `local` is our address on the link, `peer` the server's.
    pub fn new(local: Ipv4Addr, peer: Ipv4Addr, rng: &mut impl RngCore, now: Instant) -> Self {
        let xid = rng.next_u32();
        let mut mac = [0u8; 6];
        rng.fill_bytes(&mut mac);
        // Locally administered, unicast: the tunnel has no hardware address.
        mac[0] = (mac[0] & 0xFC) | 0x02;
        let id = rng.next_u32() as u16;
        let mut i = Inform {
            local,
            peer,
            xid,
            start: now,
            step: 0,
            request: encode_inform(local, xid, mac, id),
            out: None,
            done: false,
        };
        i.handle_timeout(now);
        i
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.take()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.done).then(|| self.start + SCHEDULE[self.step.min(SCHEDULE.len() - 1)])
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while !self.done && self.start + SCHEDULE[self.step] <= now {
            if self.step == SCHEDULE.len() - 1 {
                self.done = true;
            } else {
                self.out = Some(self.request.clone());
                self.step += 1;
            }
        }
    }

    /// An IPv4 packet that came through the tunnel. `None`: not the answer to
    /// this INFORM (deliver it as usual). `Some`: it was, and is consumed; a
    /// malformed answer is an error and the wait goes on.
    pub fn offer(&mut self, ip: &[u8]) -> Option<Result<Pushed, DecodeError>> {
        if self.done {
            return None;
        }
        let r = decode_reply(ip, self.local, self.peer, self.xid)?;
        if r.is_ok() {
            self.done = true;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::wire::*;
    use super::*;
    use crate::ipv4::{header_checksum, transport_checksum};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::time::Duration;

    const LOCAL: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 7);
    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);

    /// A DHCPACK from SERVER to `dst` with these options (code, value), the way
    /// a server would build it; `udp_sum` false leaves the UDP checksum 0.
    fn reply_to(dst: Ipv4Addr, xid: u32, opts: &[Opt], udp_sum: bool) -> Vec<u8> {
        let mut dhcp = vec![0u8; FIXED];
        dhcp[0] = BOOTREPLY;
        dhcp[4..8].copy_from_slice(&xid.to_be_bytes());
        dhcp.extend_from_slice(&MAGIC);
        for (code, value) in opts {
            dhcp.push(*code);
            dhcp.push(value.len() as u8);
            dhcp.extend_from_slice(value);
        }
        dhcp.push(OPT_END);
        let mut udp = Vec::new();
        udp.extend_from_slice(&SERVER_PORT.to_be_bytes());
        udp.extend_from_slice(&CLIENT_PORT.to_be_bytes());
        udp.extend_from_slice(&((8 + dhcp.len()) as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(&dhcp);
        if udp_sum {
            let s = transport_checksum(SERVER.octets(), dst.octets(), UDP, &udp);
            udp[6..8].copy_from_slice(&s.to_be_bytes());
        }
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, UDP, 0, 0];
        ip[2..4].copy_from_slice(&((20 + udp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&SERVER.octets());
        ip.extend_from_slice(&dst.octets());
        ip.extend_from_slice(&udp);
        ip
    }

    fn reply(xid: u32, opts: &[Opt]) -> Vec<u8> {
        reply_to(LOCAL, xid, opts, true)
    }

    /// An option as a test writes it: code and value.
    type Opt<'a> = (u8, &'a [u8]);

    const ACK: Opt = (OPT_MESSAGE_TYPE, &[DHCPACK]);

    fn route(dest: [u8; 4], prefix: u8) -> Route {
        Route {
            dest: dest.into(),
            prefix,
        }
    }

    #[test]
    fn the_inform_is_what_windows_sends() {
        let now = Instant::now();
        let mut i = Inform::new(LOCAL, SERVER, &mut StdRng::seed_from_u64(1), now);
        let p = i.poll_transmit().expect("sent at once");
        assert_eq!(header_checksum(&p[..20]), 0, "IPv4 header checksum");
        assert_eq!(&p[12..16], &LOCAL.octets());
        assert_eq!(&p[16..20], &[255; 4]);
        let udp = &p[20..];
        assert_eq!(transport_checksum(LOCAL.octets(), [255; 4], UDP, udp), 0);
        assert_eq!(&udp[..4], &[0, 68, 0, 67]);
        let dhcp = &udp[8..];
        assert_eq!(dhcp[0], BOOTREQUEST);
        assert_eq!(&dhcp[4..8], &i.xid.to_be_bytes());
        assert_eq!(&dhcp[12..16], &LOCAL.octets(), "ciaddr");
        assert_eq!(dhcp[28] & 0x03, 0x02, "locally administered unicast");
        let opts = Options::parse(&dhcp[FIXED + 4..]).unwrap();
        assert_eq!(opts.get(OPT_MESSAGE_TYPE), Some(&[DHCPINFORM][..]));
        assert_eq!(opts.get(OPT_USER_CLASS), Some(&b"RRAS.Microsoft"[..]));
        assert_eq!(opts.get(OPT_PARAMS), Some(&[1, 3, 6, 15, 44, 121, 249][..]));
        assert!(dhcp.len() >= 300);
    }

    #[test]
    fn three_sends_in_four_seconds_then_quiet() {
        let t0 = Instant::now();
        let mut i = Inform::new(LOCAL, SERVER, &mut StdRng::seed_from_u64(2), t0);
        assert!(i.poll_transmit().is_some(), "the first at once");
        let mut sent = vec![];
        let mut end = t0;
        while let Some(t) = i.poll_timeout() {
            i.handle_timeout(t);
            end = t;
            if i.poll_transmit().is_some() {
                sent.push(t.duration_since(t0).as_millis());
            }
        }
        assert_eq!(sent, [1000, 2500]);
        assert_eq!(end.duration_since(t0), Duration::from_secs(4));
        assert!(i.is_done());
        let late = reply(i.xid, &[ACK]);
        assert_eq!(i.offer(&late), None, "after the wait, passed on");
    }

    #[test]
    fn every_option_decodes() {
        let now = Instant::now();
        let mut i = Inform::new(LOCAL, SERVER, &mut StdRng::seed_from_u64(3), now);
        // /9, /17, /25 and /32 carry 2, 3, 4 and 4 octets; /0 (a default route)
        // and a loopback route are left out; bits past the prefix are cleared.
        let routes: &[u8] = &[
            9, 10, 255, 0, 0, 0, 0, //
            17, 172, 16, 129, 198, 19, 0, 1, //
            25, 192, 168, 7, 128, 0, 0, 0, 0, //
            32, 203, 0, 113, 9, 0, 0, 0, 0, //
            0, 198, 19, 0, 1, //
            8, 127, 0, 0, 0, 0,
        ];
        let p = reply(
            i.xid,
            &[
                ACK,
                (OPT_CLASSLESS_ROUTES, routes),
                (OPT_MS_CLASSLESS_ROUTES, &[8, 11, 0, 0, 0, 0]),
                (OPT_DOMAIN, b"Corp.Example.COM\0"),
                (OPT_DNS, &[10, 0, 0, 53, 10, 0, 0, 54]),
                (OPT_NETBIOS_NS, &[10, 0, 0, 137]),
            ],
        );
        let got = i.offer(&p).expect("ours").expect("valid");
        assert_eq!(
            got.routes,
            [
                route([10, 128, 0, 0], 9),
                route([172, 16, 128, 0], 17),
                route([192, 168, 7, 128], 25),
                route([203, 0, 113, 9], 32),
            ],
            "121 wins over 249"
        );
        assert_eq!(got.domain.as_deref(), Some("corp.example.com"));
        assert_eq!(
            got.dns,
            [
                "10.0.0.53".parse::<Ipv4Addr>().unwrap(),
                "10.0.0.54".parse().unwrap()
            ]
        );
        assert_eq!(got.wins, ["10.0.0.137".parse::<Ipv4Addr>().unwrap()]);
        assert!(i.is_done());
    }

    #[test]
    fn only_routes_wholly_inside_reserved_space_are_left_out() {
        let got = classless_routes(&[
            1, 0, 0, 0, 0, 0, // 0.0.0.0/1: half the space, kept for the policy
            8, 0, 0, 0, 0, 0, // 0.0.0.0/8: "this network"
            8, 127, 0, 0, 0, 0, // loopback
            4, 224, 0, 0, 0, 0, // multicast
            2, 192, 0, 0, 0, 0, // 192.0.0.0/2 reaches into 224/3, and is routable
        ])
        .unwrap();
        assert_eq!(got, [route([0, 0, 0, 0], 1), route([192, 0, 0, 0], 2)]);
    }

    #[test]
    fn microsofts_option_stands_in_for_121() {
        let xid = 7;
        let p = reply(
            xid,
            &[ACK, (OPT_MS_CLASSLESS_ROUTES, &[16, 10, 20, 0, 0, 0, 0])],
        );
        let got = decode_reply(&p, LOCAL, SERVER, xid).unwrap().unwrap();
        assert_eq!(got.routes, [route([10, 20, 0, 0], 16)]);
        assert_eq!(got.domain, None);
    }

    #[test]
    fn a_long_option_split_in_parts_is_joined() {
        let xid = 8;
        let p = reply(
            xid,
            &[
                ACK,
                (OPT_CLASSLESS_ROUTES, &[16, 10, 20, 0]),
                (OPT_CLASSLESS_ROUTES, &[0, 0, 0]),
            ],
        );
        let got = decode_reply(&p, LOCAL, SERVER, xid).unwrap().unwrap();
        assert_eq!(got.routes, [route([10, 20, 0, 0], 16)]);
    }

    #[test]
    fn malformed_answers_are_errors_naming_what() {
        let xid = 9;
        let cases: [(&[Opt], &str); 6] = [
            (
                &[
                    ACK,
                    (OPT_CLASSLESS_ROUTES, &[33, 1, 2, 3, 4, 5, 0, 0, 0, 0]),
                ],
                "prefix length",
            ),
            (&[ACK, (OPT_CLASSLESS_ROUTES, &[24, 10, 1])], "truncated"),
            (
                &[ACK, (OPT_CLASSLESS_ROUTES, &[24, 10, 1, 2, 0, 0, 0])],
                "truncated",
            ),
            (&[ACK, (OPT_DNS, &[10, 0, 0, 53, 1])], "bad length"),
            (&[(OPT_MESSAGE_TYPE, &[6])], "message type"),
            (&[], "message type"),
        ];
        for (opts, why) in cases {
            let e = decode_reply(&reply(xid, opts), LOCAL, SERVER, xid)
                .unwrap()
                .unwrap_err();
            assert!(e.to_string().contains(why), "{e} should say {why}");
        }
        let mut p = reply(xid, &[ACK]);
        let n = p.len();
        p[n - 1] ^= 1;
        let e = decode_reply(&p, LOCAL, SERVER, xid).unwrap().unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        // A zero UDP checksum means "not computed" in IPv4.
        assert!(
            decode_reply(&reply_to(LOCAL, xid, &[ACK], false), LOCAL, SERVER, xid)
                .unwrap()
                .is_ok()
        );
        // An option running past the end.
        let mut p = reply(xid, &[ACK]);
        let end = p.len() - 1;
        p[end] = OPT_DOMAIN;
        p.push(9);
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        let l = (p.len() - 20) as u16;
        p[24..26].copy_from_slice(&l.to_be_bytes());
        p[26..28].fill(0);
        assert!(decode_reply(&p, LOCAL, SERVER, xid).unwrap().is_err());
    }

    #[test]
    fn other_packets_are_not_ours() {
        let xid = 10;
        assert_eq!(
            decode_reply(&reply(xid + 1, &[ACK]), LOCAL, SERVER, xid),
            None,
            "xid"
        );
        let other = Ipv4Addr::new(198, 19, 0, 8);
        assert_eq!(
            decode_reply(&reply_to(other, xid, &[ACK], true), LOCAL, SERVER, xid),
            None
        );
        let mut p = reply(xid, &[ACK]);
        p[21] = 53; // source port 53
        assert_eq!(decode_reply(&p, LOCAL, SERVER, xid), None, "port");
        let mut p = reply(xid, &[ACK]);
        p[6] = 0x20; // more fragments
        assert_eq!(decode_reply(&p, LOCAL, SERVER, xid), None, "fragment");
        assert_eq!(decode_reply(&[0x45, 0, 0], LOCAL, SERVER, xid), None);
        assert!(decode_reply(
            &reply_to(Ipv4Addr::BROADCAST, xid, &[ACK], true),
            LOCAL,
            SERVER,
            xid
        )
        .is_some());
    }

    #[test]
    fn an_answer_must_come_from_its_server_or_the_links_peer() {
        let xid = 0x1234_5678;
        let peer = Ipv4Addr::new(198, 19, 0, 99);
        // From SERVER with SERVER as its identifier, peer elsewhere: a relay's
        // DHCP server answering directly.
        let id: Opt = (OPT_SERVER_ID, &[198, 19, 0, 1]);
        assert!(decode_reply(&reply(xid, &[ACK, id]), LOCAL, peer, xid)
            .unwrap()
            .is_ok());
        // From SERVER, naming another server, not the peer: refused.
        let other_id: Opt = (OPT_SERVER_ID, &[10, 9, 9, 9]);
        let e = decode_reply(&reply(xid, &[ACK, other_id]), LOCAL, peer, xid)
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("source address"), "{e}");
        // No identifier, not from the peer: refused; from the peer (a relay
        // forwarding another server's answer): taken.
        assert!(decode_reply(&reply(xid, &[ACK]), LOCAL, peer, xid)
            .unwrap()
            .is_err());
        assert!(
            decode_reply(&reply(xid, &[ACK, other_id]), LOCAL, SERVER, xid)
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn the_servers_answer_round_trips() {
        let mut i = Inform::new(LOCAL, SERVER, &mut StdRng::seed_from_u64(4), Instant::now());
        let inform = i.poll_transmit().unwrap();
        // 70 routes: option 121 exceeds 255 bytes and goes in parts.
        let push = Pushed {
            routes: (0..70u8).map(|n| route([10, n, 0, 0], 16)).collect(),
            domain: Some("corp.example".into()),
            dns: vec![Ipv4Addr::new(10, 0, 0, 53)],
            wins: vec![],
        };
        let answer = answer_inform(&inform, SERVER, &push).expect("an INFORM");
        let got = i.offer(&answer).unwrap().unwrap();
        assert_eq!(got.routes, push.routes[..MAX_ROUTES]);
        assert_eq!((got.domain, got.dns), (push.domain, push.dns));
        assert_eq!(
            answer_inform(&answer, SERVER, &Pushed::default()),
            None,
            "not an INFORM"
        );
    }

    #[test]
    fn domains_are_checked() {
        assert_eq!(domain(b"example.org."), Some("example.org".into()));
        assert_eq!(domain(b"bad domain"), None);
        assert_eq!(domain(b"a..b"), None);
        assert_eq!(domain(b"\0"), None);
        assert_eq!(domain(&[0xC3, 0xA9]), None);
    }
}
