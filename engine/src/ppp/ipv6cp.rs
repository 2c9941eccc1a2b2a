//! IPV6CP (RFC 5072): the two ends agree on 64-bit interface identifiers, from
//! which each forms its link-local address; global addresses come later, from
//! the server's router advertisements (see `crate::ndisc`).

use std::net::Ipv6Addr;

use rand::rngs::StdRng;
use rand::RngCore;

use super::frame;
use super::fsm::{Failure, Fsm, Options, Verdict};
use super::packet::{put_option, Opt};

const OPT_INTERFACE_ID: u8 = 1;

/// A 64-bit interface identifier (RFC 5072 §4.1).
pub type InterfaceId = [u8; 8];

/// fe80::/64 with this identifier.
pub fn link_local(id: InterfaceId) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8..].copy_from_slice(&id);
    Ipv6Addr::from(a)
}

fn id(v: &[u8]) -> Option<InterfaceId> {
    <InterfaceId>::try_from(v).ok()
}

pub struct Ipv6cp {
    /// Our identifier as last requested (None: the peer rejected the option).
    req_id: Option<InterfaceId>,
    /// Server role in tests: the identifier to give a peer that asks with zero.
    assign_peer: Option<InterfaceId>,
    rng: StdRng,
    /// Once acknowledged: our identifier and the peer's.
    pub local: Option<InterfaceId>,
    pub peer: Option<InterfaceId>,
    /// The peer's identifier from its last acknowledged request, kept to spot a
    /// collision with ours.
    peer_requested: Option<InterfaceId>,
}

/// What the layers above IPV6CP read from it.
impl Fsm<Ipv6cp> {
    /// Our interface identifier and the peer's, as acknowledged.
    pub fn interface_ids(&self) -> (Option<InterfaceId>, Option<InterfaceId>) {
        (self.opts.local, self.opts.peer)
    }
}

impl Ipv6cp {
    pub fn new(mut rng: StdRng, assign_peer: Option<InterfaceId>) -> Self {
        let first = random_id(&mut rng, None);
        Ipv6cp {
            req_id: Some(first),
            assign_peer,
            rng,
            local: None,
            peer: None,
            peer_requested: None,
        }
    }

    /// Both link-local addresses, once the layer is open.
    pub fn addresses(&self) -> Option<(Ipv6Addr, Ipv6Addr)> {
        Some((link_local(self.local?), link_local(self.peer?)))
    }
}

/// A random, non-zero identifier different from `not`. The universal/local bit
/// is cleared: the identifier is local to this link (RFC 4291 appendix A).
pub fn random_id<R: RngCore + ?Sized>(rng: &mut R, not: Option<InterfaceId>) -> InterfaceId {
    loop {
        let mut v = [0u8; 8];
        rng.fill_bytes(&mut v);
        v[0] &= !0x02;
        if v != [0; 8] && Some(v) != not {
            return v;
        }
    }
}

impl Options for Ipv6cp {
    const PROTOCOL: u16 = frame::IPV6CP;
    const NAME: &'static str = "IPV6CP";

    fn reset(&mut self) {
        self.local = None;
        self.peer = None;
        self.peer_requested = None;
        if self.req_id.is_none() {
            // A new negotiation may find the option welcome again.
            self.req_id = Some(random_id(&mut self.rng, None));
        }
    }

    fn request(&mut self, out: &mut Vec<u8>) {
        if let Some(v) = self.req_id {
            put_option(out, OPT_INTERFACE_ID, &v);
        }
    }

    fn acked(&mut self) {
        // A peer that rejected the option still lets us use our own identifier
        // (RFC 5072 §4.1): there must be one to form a link-local address.
        let own = self
            .req_id
            .unwrap_or_else(|| random_id(&mut self.rng, self.peer_requested));
        self.req_id = Some(own);
        self.local = Some(own);
    }

    fn nak(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        for o in opts.iter().filter(|o| o.kind == OPT_INTERFACE_ID) {
            // A suggestion of zero, or of the peer's own identifier, is no use:
            // pick another ourselves.
            self.req_id = Some(match id(o.value) {
                Some(v) if v != [0; 8] && Some(v) != self.peer_requested => v,
                _ => random_id(&mut self.rng, self.peer_requested),
            });
        }
        Ok(())
    }

    fn reject(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        if opts.iter().any(|o| o.kind == OPT_INTERFACE_ID) {
            self.req_id = None;
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
            match (o.kind, id(o.value)) {
                (OPT_INTERFACE_ID, Some(v)) => {
                    let ours = self.req_id.or(self.local);
                    if v == [0; 8] || Some(v) == ours {
                        // Zero asks us to choose; equal to ours is a collision.
                        let suggest = self
                            .assign_peer
                            .filter(|a| Some(*a) != ours)
                            .unwrap_or_else(|| random_id(&mut self.rng, ours));
                        put_option(&mut naks, OPT_INTERFACE_ID, &suggest);
                    } else {
                        peer = Some(v);
                    }
                }
                // IPv6-Compression-Protocol (ROHC, IPHC) and anything else.
                _ => put_option(&mut rejects, o.kind, o.value),
            }
        }
        if let Some(v) = super::fsm::answer(opts, &rejects, &naks, nak_allowed, reply) {
            return Ok(v);
        }
        // No identifier from the peer: one of ours would do for its link-local
        // address, but the peer does not know it; leave the peer's address
        // unknown rather than invent one.
        self.peer = peer;
        self.peer_requested = peer;
        Ok(Verdict::Ack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppp::fsm::testing::pump;
    use crate::ppp::fsm::{Fsm, Timers};
    use crate::ppp::packet;
    use rand::SeedableRng;
    use std::time::Instant;

    fn end(seed: u64, assign: Option<InterfaceId>) -> Fsm<Ipv6cp> {
        Fsm::new(
            Ipv6cp::new(StdRng::seed_from_u64(seed), assign),
            Timers::default(),
        )
    }

    #[test]
    fn both_ends_learn_each_others_identifier() {
        let now = Instant::now();
        let (mut a, mut b) = (end(1, None), end(2, None));
        a.open(now);
        b.open(now);
        pump(&mut a, &mut b, now);
        assert!(a.is_opened() && b.is_opened());
        assert_eq!(a.opts.local, b.opts.peer);
        assert_eq!(a.opts.peer, b.opts.local);
        assert_ne!(a.opts.local, a.opts.peer);
        let (ll, _) = a.opts.addresses().unwrap();
        assert_eq!(ll.segments()[0], 0xfe80);
    }

    #[test]
    fn a_collision_makes_one_end_take_another_identifier() {
        let now = Instant::now();
        // Both ends start with the same identifier.
        let (mut a, mut b) = (end(7, None), end(8, None));
        b.opts.req_id = a.opts.req_id;
        a.open(now);
        b.open(now);
        pump(&mut a, &mut b, now);
        assert!(a.is_opened() && b.is_opened(), "{:?}", a.failure());
        assert_ne!(a.opts.local, b.opts.local);
        assert_eq!(a.opts.local, b.opts.peer);
        assert_eq!(a.opts.peer, b.opts.local);
    }

    #[test]
    fn a_zero_identifier_gets_a_suggestion() {
        let now = Instant::now();
        let give = [0, 0, 0, 0, 0, 0, 0, 2];
        let mut s = end(3, Some(give));
        s.open(now);
        let mut reply = Vec::new();
        let zero = [Opt {
            kind: OPT_INTERFACE_ID,
            value: &[0; 8],
        }];
        assert_eq!(
            s.opts.peer_request(&zero, &mut reply, true),
            Ok(Verdict::Nak)
        );
        assert_eq!(reply, [&[1u8, 10][..], &give].concat());
    }

    #[test]
    fn a_peer_that_rejects_the_option_leaves_us_our_own() {
        let now = Instant::now();
        let mut c = end(4, None);
        c.open(now);
        let req = c.poll_transmit().unwrap();
        let opts = req[4..].to_vec();
        c.input(
            now,
            &packet::encode(packet::CONFIGURE_REJECT, req[1], &opts),
        );
        let again = c.poll_transmit().unwrap();
        assert_eq!(again.len(), 4, "no options left to ask for");
        c.input(now, &packet::encode(packet::CONFIGURE_ACK, again[1], &[]));
        c.input(now, &packet::encode(packet::CONFIGURE_REQUEST, 9, &[]));
        assert!(c.is_opened());
        assert!(c.opts.local.is_some_and(|v| v != [0; 8]));
        assert_eq!(c.opts.peer, None);
    }

    #[test]
    fn compression_is_rejected() {
        let mut c = end(5, None);
        let mut reply = Vec::new();
        let rohc = [Opt {
            kind: 2,
            value: &[0x00, 0x03],
        }];
        assert_eq!(
            c.opts.peer_request(&rohc, &mut reply, true),
            Ok(Verdict::Reject)
        );
        assert_eq!(reply, vec![2, 4, 0x00, 0x03]);
    }

    #[test]
    fn a_nak_suggesting_zero_or_the_peers_identifier_is_not_taken() {
        let now = Instant::now();
        let mut c = end(6, None);
        c.open(now);
        let mut reply = Vec::new();
        let peer = [9u8; 8];
        c.opts
            .peer_request(
                &[Opt {
                    kind: OPT_INTERFACE_ID,
                    value: &peer,
                }],
                &mut reply,
                true,
            )
            .unwrap();
        for bad in [[0u8; 8], peer] {
            c.opts
                .nak(&[Opt {
                    kind: OPT_INTERFACE_ID,
                    value: &bad,
                }])
                .unwrap();
            let v = c.opts.req_id.unwrap();
            assert!(v != [0; 8] && v != peer);
        }
        let good = [0x11u8; 8];
        c.opts
            .nak(&[Opt {
                kind: OPT_INTERFACE_ID,
                value: &good,
            }])
            .unwrap();
        assert_eq!(c.opts.req_id, Some(good));
    }
}
