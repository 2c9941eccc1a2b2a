//! Enhanced GRE (RFC 2637 §4): the header codec, per-call sequence numbers,
//! piggybacked and standalone acks, and late-packet dropping.
//!
//! Sender and receiver are separate objects so that TX and RX can run on
//! different threads; what they share (the ack to send, the peer's ack) is atomic.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::wire::{DecodeError, Reader};

pub const PROTOCOL_PPP: u16 = 0x880B;
const FLAG_K: u16 = 0x2000;
const FLAG_S: u16 = 0x1000;
const FLAG_A: u16 = 0x0080;
const VERSION: u16 = 1;
/// Everything but the K, S and A bits and the version must be zero.
const MUST_BE_ZERO: u16 = !(FLAG_K | FLAG_S | FLAG_A | 0x0007);
pub const MAX_HEADER_LEN: usize = 16;
/// RFC 2637 §1.4: user data packets are at most 1532 octets.
pub const MAX_PAYLOAD: usize = 1532;
const WHAT: &str = "GRE packet";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub call_id: u16,
    pub payload_len: u16,
    pub seq: Option<u32>,
    pub ack: Option<u32>,
}

impl Header {
    pub fn len(&self) -> usize {
        8 + 4 * usize::from(self.seq.is_some()) + 4 * usize::from(self.ack.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.payload_len == 0
    }

    /// Decode a GRE packet (IP header already stripped); returns the header and payload.
    pub fn decode(pkt: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
        let mut r = Reader::new(WHAT, pkt);
        let flags = r.u16()?;
        if flags & MUST_BE_ZERO != 0 || flags & FLAG_K == 0 {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "flags",
                value: flags as u32,
            });
        }
        if flags & 0x0007 != VERSION {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "version",
                value: (flags & 7) as u32,
            });
        }
        let proto = r.u16()?;
        if proto != PROTOCOL_PPP {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "protocol",
                value: proto as u32,
            });
        }
        let payload_len = r.u16()?;
        let call_id = r.u16()?;
        let seq = if flags & FLAG_S != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        let ack = if flags & FLAG_A != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        if seq.is_none() && payload_len != 0 {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "payload length without sequence",
                value: payload_len as u32,
            });
        }
        if payload_len as usize > MAX_PAYLOAD {
            return Err(DecodeError::BadLength {
                what: WHAT,
                len: payload_len as usize,
            });
        }
        let payload = r.bytes(payload_len as usize)?;
        Ok((
            Header {
                call_id,
                payload_len,
                seq,
                ack,
            },
            payload,
        ))
    }

    /// Write the header into `out` (at least [`MAX_HEADER_LEN`] bytes); returns its length.
    pub fn encode(&self, out: &mut [u8]) -> usize {
        let mut flags = FLAG_K | VERSION;
        if self.seq.is_some() {
            flags |= FLAG_S;
        }
        if self.ack.is_some() {
            flags |= FLAG_A;
        }
        out[0..2].copy_from_slice(&flags.to_be_bytes());
        out[2..4].copy_from_slice(&PROTOCOL_PPP.to_be_bytes());
        out[4..6].copy_from_slice(&self.payload_len.to_be_bytes());
        out[6..8].copy_from_slice(&self.call_id.to_be_bytes());
        let mut n = 8;
        for v in [self.seq, self.ack].into_iter().flatten() {
            out[n..n + 4].copy_from_slice(&v.to_be_bytes());
            n += 4;
        }
        n
    }
}

/// True if `a` comes after `b` in 32-bit sequence space.
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// State shared by the two directions of one call.
#[derive(Debug, Default)]
pub struct Shared {
    /// Highest sequence number received, valid once `received_any` is set.
    last_received: AtomicU32,
    received_any: AtomicBool,
    /// The last ack number we put on the wire (valid once `acked_any`).
    last_acked: AtomicU32,
    acked_any: AtomicBool,
    /// The peer's latest ack of our packets.
    peer_ack: AtomicU32,
    /// The last sequence number we sent (0 before the first, which is 1): an
    /// ack beyond it is forged.
    last_sent: AtomicU32,
    /// Packets received and not yet acknowledged, and when the oldest of them arrived
    /// (in the caller's clock, as nanoseconds since an arbitrary epoch).
    unacked: AtomicU32,
    oldest_unacked_ns: AtomicU64,
}

impl Shared {
    /// Believe an ack from the peer if it moves forward and acknowledges only
    /// what we sent: a forged ack far ahead would otherwise stand for the call's
    /// life (and keep the flush nudge firing).
    fn take_peer_ack(&self, ack: u32) {
        let (prev, sent) = (self.peer_ack.load(Relaxed), self.last_sent.load(Relaxed));
        if seq_after(ack, prev) && !seq_after(ack, sent) {
            self.peer_ack.store(ack, Relaxed);
        }
    }

    /// The ack to piggyback on the next packet, if any is owed.
    fn take_ack(&self) -> Option<u32> {
        if !self.received_any.load(Relaxed) {
            return None;
        }
        let last = self.last_received.load(Relaxed);
        if self.acked_any.load(Relaxed) && self.last_acked.load(Relaxed) == last {
            return None;
        }
        Some(self.acked(last))
    }

    /// The last sequence number received, to acknowledge again even if it was
    /// acknowledged already.
    fn ack_again(&self) -> Option<u32> {
        self.received_any
            .load(Relaxed)
            .then(|| self.acked(self.last_received.load(Relaxed)))
    }

    /// `last` goes on the wire as our ack: nothing is owed any more.
    fn acked(&self, last: u32) -> u32 {
        self.last_acked.store(last, Relaxed);
        self.acked_any.store(true, Relaxed);
        self.unacked.store(0, Relaxed);
        last
    }

    pub fn unacked(&self) -> u32 {
        self.unacked.load(Relaxed)
    }

    pub fn oldest_unacked_ns(&self) -> u64 {
        self.oldest_unacked_ns.load(Relaxed)
    }
}

/// The sending half of a call.
#[derive(Debug)]
pub struct Sender {
    peer_call_id: u16,
    next_seq: u32,
    peer_window: u32,
    shared: Arc<Shared>,
    pub window_exceeded: u64,
}

impl Sender {
    pub fn new(peer_call_id: u16, peer_window: u16, shared: Arc<Shared>) -> Self {
        // pptp-linux and the kernel both send 1 first.
        Sender {
            peer_call_id,
            next_seq: 1,
            peer_window: peer_window.max(1) as u32,
            shared,
            window_exceeded: 0,
        }
    }

    /// Header for a data packet of `payload_len` bytes, with an ack if one is owed.
    pub fn data_header(&mut self, payload_len: usize) -> Header {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.shared.last_sent.store(seq, Relaxed);
        // RFC 2637 §4.2 flow control is advisory here, as in pptp-linux, the kernel
        // and Cisco's default: count overruns, never stall.
        if seq.wrapping_sub(self.shared.peer_ack.load(Relaxed)) > self.peer_window {
            self.window_exceeded += 1;
        }
        Header {
            call_id: self.peer_call_id,
            payload_len: payload_len as u16,
            seq: Some(seq),
            ack: self.shared.take_ack(),
        }
    }

    /// An ack-only packet if an ack is owed.
    pub fn ack_only(&mut self) -> Option<Header> {
        let ack = self.shared.take_ack()?;
        Some(Header {
            call_id: self.peer_call_id,
            payload_len: 0,
            seq: None,
            ack: Some(ack),
        })
    }

    /// An ack-only packet even when no ack is owed (it repeats the last one):
    /// any packet at all from us is what some servers wait for.
    pub fn ack_again(&mut self) -> Option<Header> {
        let ack = self.shared.ack_again()?;
        Some(Header {
            call_id: self.peer_call_id,
            payload_len: 0,
            seq: None,
            ack: Some(ack),
        })
    }

    /// The peer's latest acknowledgement of our packets.
    pub fn peer_ack(&self) -> u32 {
        self.shared.peer_ack.load(Relaxed)
    }

    /// Our packets the peer has not acknowledged. (RFC 2637 acks the highest
    /// number received; pptpd acks the last one it delivered in order, so
    /// there this also counts what waits in its reorder queue.)
    pub fn in_flight(&self) -> u32 {
        self.next_seq
            .wrapping_sub(1)
            .wrapping_sub(self.shared.peer_ack.load(Relaxed))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// The Key field names another call.
    OtherCall(u16),
    /// Sequence number at or behind the last one delivered.
    Late { seq: u32, last: u32 },
}

/// What one call's GRE traffic looked like, for the log line at its end.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RxStats {
    pub delivered: u64,
    pub late: u64,
    pub lost: u64,
    pub ack_only: u64,
    /// GRE packets or PPP frames that did not parse.
    pub malformed: u64,
    /// Packets inside the window that did not prove genuine (failed decryption,
    /// implausible content, or a control frame too far ahead).
    pub unverified: u64,
    /// Our packets sent beyond the peer's advertised window (advisory only).
    pub window_exceeded: u64,
    /// Packets after a gap that waited in the reorder hold, then left in order.
    pub held: u64,
    /// Gaps the hold gave up on (counted as loss).
    pub hold_expired: u64,
    /// MPPE key changes a stateless receiver did, forged packets' included (each
    /// a SHA-1 and an RC4 key schedule): what the jump budget bounds.
    pub mppe_rekeys: u64,
}

/// The receiving half of a call.
#[derive(Debug)]
pub struct Receiver {
    call_id: u16,
    shared: Arc<Shared>,
    pub stats: RxStats,
    /// The sequence number of the packet last accepted by [`Receiver::receive`],
    /// until the layers above say what it proved with [`Receiver::commit`].
    pending: Option<u32>,
    /// Whether the window was last set by a packet that decrypted (see [`Proof`]).
    anchored: bool,
}

/// What the layers above learnt about a packet [`Receiver::receive`] accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// It decrypted to a well-formed packet: only the peer holds the key.
    Decrypted,
    /// It was handled, but proves nothing: a frame in clear anyone can forge.
    Clear,
}

pub enum Received<'a> {
    /// A payload to hand to PPP.
    Payload(&'a [u8]),
    /// Only an ack.
    Nothing,
    /// At or behind the last number received: not committed, and never to
    /// reach MPPE. What carries no sequence meaning above GRE (PPP control
    /// frames) may still be used; the rest is dropped for `drop`.
    Late {
        payload: &'a [u8],
        drop: Drop,
    },
    Dropped(Drop),
}

impl Receiver {
    pub fn new(call_id: u16, shared: Arc<Shared>) -> Self {
        Receiver {
            call_id,
            shared,
            stats: RxStats::default(),
            pending: None,
            anchored: false,
        }
    }

    /// Check one decoded packet against the window. Nothing is committed: the
    /// sequence number moves only when [`Receiver::commit`] says what the payload
    /// proved.
    ///
    /// Until a packet has decrypted, the window is only a guess made from frames
    /// anyone can forge (the call ID travels in clear in the Outgoing-Call-Request),
    /// so nothing is dropped as late against it: a forged frame far ahead before
    /// the server's first one must not make every genuine packet "late".
    pub fn receive<'a>(&mut self, header: &Header, payload: &'a [u8]) -> Received<'a> {
        self.pending = None;
        if header.call_id != self.call_id {
            return Received::Dropped(Drop::OtherCall(header.call_id));
        }
        if let Some(ack) = header.ack {
            self.shared.take_peer_ack(ack);
        }
        let Some(seq) = header.seq else {
            self.stats.ack_only += 1;
            return Received::Nothing;
        };
        let s = &self.shared;
        if self.anchored {
            let last = s.last_received.load(Relaxed);
            if !seq_after(seq, last) {
                self.stats.late += 1;
                return Received::Late {
                    payload,
                    drop: Drop::Late { seq, last },
                };
            }
        }
        self.pending = Some(seq);
        Received::Payload(payload)
    }

    /// The next sequence number in order, once anything was received.
    pub fn expected(&self) -> Option<u32> {
        let s = &self.shared;
        s.received_any
            .load(Relaxed)
            .then(|| s.last_received.load(Relaxed).wrapping_add(1))
    }

    /// For a packet of this call that comes after a gap (its sequence number
    /// beyond the next expected one): that number and the expected one.
    /// Nothing is checked or committed.
    pub fn after_gap(&self, pkt: &[u8]) -> Option<(u32, u32)> {
        let (h, _) = Header::decode(pkt).ok()?;
        let seq = h.seq.filter(|_| h.call_id == self.call_id)?;
        let expected = self.expected()?;
        seq_after(seq, expected).then_some((seq, expected))
    }

    /// Say what the packet [`Receiver::receive`] accepted proved, and move the
    /// window as far as that allows:
    /// - a decrypted packet moves it to its number and anchors it there;
    /// - a frame in clear, once the window is anchored, moves it only to the next
    ///   number in order (so a forgery costs at most the one genuine packet whose
    ///   number it took, never the ones after it); before that, it sets the
    ///   unanchored window to its own number, forward or back, so that a forged
    ///   number is forgotten at the next genuine frame.
    ///
    /// `now_ns` is the caller's clock, used only to time the ack owed.
    pub fn commit(&mut self, now_ns: u64, proof: Proof) {
        let Some(seq) = self.pending.take() else {
            return;
        };
        let s = &self.shared;
        let last = s
            .received_any
            .load(Relaxed)
            .then(|| s.last_received.load(Relaxed));
        let advance = last.map(|l| seq.wrapping_sub(l));
        let was_anchored = self.anchored;
        match proof {
            Proof::Decrypted => self.anchored = true,
            Proof::Clear if self.anchored && advance != Some(1) => {
                self.stats.unverified += 1;
                return;
            }
            Proof::Clear => {}
        }
        // An unanchored window was a guess: jumps from it are not losses.
        if let Some(a) = advance.filter(|_| was_anchored) {
            self.stats.lost += u64::from(a - 1);
        }
        s.last_received.store(seq, Relaxed);
        s.received_any.store(true, Relaxed);
        if s.unacked.fetch_add(1, Relaxed) == 0 {
            s.oldest_unacked_ns.store(now_ns, Relaxed);
        }
        self.stats.delivered += 1;
    }

    /// The pending packet proved nothing and may not move the window.
    pub fn reject(&mut self) {
        if self.pending.take().is_some() {
            self.stats.unverified += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{hex, vector};
    use proptest::prelude::*;

    /// Receive and, when accepted, commit at once (what a genuine packet gets).
    fn recv_commit<'a>(rx: &mut Receiver, h: &Header, p: &'a [u8]) -> Received<'a> {
        let r = rx.receive(h, p);
        if matches!(r, Received::Payload(_)) {
            rx.commit(0, Proof::Decrypted);
        }
        r
    }

    #[test]
    fn header_vector() {
        let v = vector("gre_enhanced_header_example_computed");
        let frame = hex(&v["inputs"]["ppp_frame"]);
        let h = Header {
            call_id: 0x1234,
            payload_len: frame.len() as u16,
            seq: Some(0),
            ack: None,
        };
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        assert_eq!(out[..n].to_vec(), hex(&v["outputs"]["gre_header"]));
        let full = [&out[..n], &frame[..]].concat();
        assert_eq!(full, hex(&v["outputs"]["full"]));
        let (d, p) = Header::decode(&full).unwrap();
        assert_eq!((d, p), (h, &frame[..]));
    }

    #[test]
    fn ack_only_layout() {
        let h = Header {
            call_id: 9,
            payload_len: 0,
            seq: None,
            ack: Some(0x01020304),
        };
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        assert_eq!(&out[..n], &[0x20, 0x81, 0x88, 0x0B, 0, 0, 0, 9, 1, 2, 3, 4]);
        assert_eq!(Header::decode(&out[..n]).unwrap().0, h);
    }

    #[test]
    fn rejects_malformed() {
        let ok = [0x30, 0x01, 0x88, 0x0B, 0, 1, 0, 9, 0, 0, 0, 1, 0xAA];
        assert!(Header::decode(&ok).is_ok());
        let mut p = ok;
        p[1] = 0x00; // version 0
        assert!(Header::decode(&p).is_err());
        let mut p = ok;
        p[0] = 0xB0; // checksum bit
        assert!(Header::decode(&p).is_err());
        let mut p = ok;
        p[3] = 0x0C;
        assert!(Header::decode(&p).is_err());
        let mut p = ok;
        p[5] = 2; // payload longer than the packet
        assert!(Header::decode(&p).is_err());
        // payload without a sequence number
        assert!(Header::decode(&[0x20, 0x81, 0x88, 0x0B, 0, 1, 0, 9, 0, 0, 0, 1, 0xAA]).is_err());
        assert!(Header::decode(&ok[..10]).is_err());
    }

    #[test]
    fn sequencing_acks_and_late_drops() {
        let (sa, sb) = (Arc::new(Shared::default()), Arc::new(Shared::default()));
        let mut tx_a = Sender::new(2, 64, sa.clone());
        let mut rx_b = Receiver::new(2, sb.clone());
        let mut tx_b = Sender::new(1, 64, sb.clone());
        let mut rx_a = Receiver::new(1, sa.clone());
        let h1 = tx_a.data_header(1);
        assert_eq!((h1.seq, h1.ack), (Some(1), None));
        let h2 = tx_a.data_header(1);
        assert!(matches!(
            recv_commit(&mut rx_b, &h2, &[0x21]),
            Received::Payload(_)
        ));
        assert!(matches!(
            recv_commit(&mut rx_b, &h1, &[0x21]),
            Received::Late {
                drop: Drop::Late { seq: 1, last: 2 },
                ..
            }
        ));
        assert_eq!(sb.unacked(), 1);
        // B's next packet piggybacks the ack of 2; a second one carries none.
        let hb = tx_b.data_header(1);
        assert_eq!(hb.ack, Some(2));
        assert_eq!(tx_b.data_header(1).ack, None);
        assert!(tx_b.ack_only().is_none());
        assert!(matches!(
            recv_commit(&mut rx_a, &hb, &[0x21]),
            Received::Payload(_)
        ));
        assert_eq!(tx_a.in_flight(), 0);
        // Wrong call ID.
        let mut other = tx_a.data_header(1);
        other.call_id = 77;
        assert!(matches!(
            recv_commit(&mut rx_b, &other, &[]),
            Received::Dropped(Drop::OtherCall(77))
        ));
        // Gaps are counted as loss.
        tx_a.data_header(1);
        let h = tx_a.data_header(1);
        assert!(matches!(
            recv_commit(&mut rx_b, &h, &[0x21]),
            Received::Payload(_)
        ));
        assert_eq!(rx_b.stats.lost, 2);
        assert_eq!(tx_b.ack_only().unwrap().ack, h.seq);
    }

    /// A late packet is handed up as late, uncommitted: what PPP may still
    /// use of it is decided above GRE.
    #[test]
    fn late_packets_are_handed_up_uncommitted() {
        let s = Arc::new(Shared::default());
        let mut rx = Receiver::new(5, s);
        let h = |seq| Header {
            call_id: 5,
            payload_len: 0,
            seq: Some(seq),
            ack: None,
        };
        let echo = [0xFF, 0x03, 0xC0, 0x21, 0x09, 1, 0, 8, 0, 0, 0, 0];
        assert!(matches!(
            recv_commit(&mut rx, &h(10), &[0x21]),
            Received::Payload(_)
        ));
        assert!(matches!(
            recv_commit(&mut rx, &h(9), &echo),
            Received::Late { payload, .. } if payload == echo
        ));
        assert_eq!(rx.expected(), Some(11), "a late packet moves nothing");
    }

    #[test]
    fn wraparound() {
        assert!(seq_after(0, u32::MAX));
        assert!(!seq_after(u32::MAX, 0));
        assert!(!seq_after(5, 5));
    }

    proptest! {
        #[test]
        fn roundtrip(call_id: u16, seq: Option<u32>, ack: Option<u32>, payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let seq = if payload.is_empty() { seq } else { seq.or(Some(1)) };
            prop_assume!(seq.is_some() || ack.is_some() || payload.is_empty());
            let h = Header { call_id, payload_len: payload.len() as u16, seq, ack };
            let mut out = vec![0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut out);
            out.truncate(n);
            out.extend_from_slice(&payload);
            let (d, p) = Header::decode(&out).unwrap();
            prop_assert_eq!(d, h);
            prop_assert_eq!(p, &payload[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Header::decode(&data);
        }
    }
}
