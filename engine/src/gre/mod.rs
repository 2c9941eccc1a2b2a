//! Enhanced GRE (RFC 2637 §4) for one call: the header codec ([`header`]), and
//! [`Call`], the call's sequence numbers both ways, piggybacked and
//! standalone acks, and which received packets are late.

mod header;

pub use header::*;

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

/// What the layers above learnt about a packet [`Call::receive`] accepted.
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
    /// `seq` is at or behind `last`, the last number received: not committed,
    /// and never to reach MPPE. What carries no sequence meaning above GRE (PPP
    /// control frames) may still be used; the rest is dropped.
    Late {
        payload: &'a [u8],
        seq: u32,
        last: u32,
    },
    /// The Key field names another call.
    OtherCall(u16),
}

/// One call's GRE state, both directions: what we sent and the peer
/// acknowledged, what we received and owe an ack for. One owner (the link),
/// no locks: the two directions meet in the acks.
#[derive(Debug)]
pub struct Call {
    /// Ours: the Key of packets for us.
    call_id: u16,
    /// The peer's: the Key of what we send.
    peer_call_id: u16,
    peer_window: u32,
    /// The sequence number of our next packet (1 first, as pptp-linux and the
    /// kernel send).
    next_seq: u32,
    /// The peer's latest ack of our packets.
    peer_ack: u32,
    /// Highest sequence number received, valid once `received_any` is set.
    last_received: u32,
    received_any: bool,
    /// The last ack number we put on the wire (valid once `acked_any`).
    last_acked: u32,
    acked_any: bool,
    /// Packets received and not yet acknowledged, and when the oldest of them
    /// arrived (in the caller's clock, as nanoseconds since an arbitrary epoch).
    unacked: u32,
    oldest_unacked_ns: u64,
    /// The sequence number of the packet last accepted by [`Call::receive`],
    /// until the layers above say what it proved with [`Call::commit`].
    pending: Option<u32>,
    /// Whether the window was last set by a packet that decrypted (see [`Proof`]).
    anchored: bool,
    pub stats: RxStats,
}

impl Call {
    pub fn new(call_id: u16, peer_call_id: u16, peer_window: u16) -> Self {
        Call {
            call_id,
            peer_call_id,
            peer_window: u32::from(peer_window.max(1)),
            next_seq: 1,
            peer_ack: 0,
            last_received: 0,
            received_any: false,
            last_acked: 0,
            acked_any: false,
            unacked: 0,
            oldest_unacked_ns: 0,
            pending: None,
            anchored: false,
            stats: RxStats::default(),
        }
    }

    // Sending.

    /// Header for a data packet of `payload_len` bytes, with an ack if one is owed.
    pub fn data_header(&mut self, payload_len: usize) -> Header {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        // RFC 2637 §4.2 flow control is advisory here, as in pptp-linux, the kernel
        // and Cisco's default: count overruns, never stall.
        if seq.wrapping_sub(self.peer_ack) > self.peer_window {
            self.stats.window_exceeded += 1;
        }
        Header {
            call_id: self.peer_call_id,
            payload_len: payload_len as u16,
            seq: Some(seq),
            ack: self.take_ack(),
        }
    }

    /// An ack-only packet if an ack is owed.
    pub fn ack_only(&mut self) -> Option<Header> {
        let ack = self.take_ack()?;
        Some(self.ack_header(ack))
    }

    /// An ack-only packet even when no ack is owed (it repeats the last one):
    /// any packet at all from us is what some servers wait for.
    pub fn ack_again(&mut self) -> Option<Header> {
        let ack = self.received_any.then(|| self.acked(self.last_received))?;
        Some(self.ack_header(ack))
    }

    fn ack_header(&self, ack: u32) -> Header {
        Header {
            call_id: self.peer_call_id,
            payload_len: 0,
            seq: None,
            ack: Some(ack),
        }
    }

    /// The peer's latest acknowledgement of our packets.
    pub fn peer_ack(&self) -> u32 {
        self.peer_ack
    }

    /// Our packets the peer has not acknowledged. (RFC 2637 acks the highest
    /// number received; pptpd acks the last one it delivered in order, so
    /// there this also counts what waits in its reorder queue.)
    pub fn in_flight(&self) -> u32 {
        self.last_sent().wrapping_sub(self.peer_ack)
    }

    /// The last sequence number we sent (0 before the first).
    fn last_sent(&self) -> u32 {
        self.next_seq.wrapping_sub(1)
    }

    /// The ack to piggyback on the next packet, if any is owed.
    fn take_ack(&mut self) -> Option<u32> {
        if !self.received_any || (self.acked_any && self.last_acked == self.last_received) {
            return None;
        }
        Some(self.acked(self.last_received))
    }

    /// `last` goes on the wire as our ack: nothing is owed any more.
    fn acked(&mut self, last: u32) -> u32 {
        self.last_acked = last;
        self.acked_any = true;
        self.unacked = 0;
        last
    }

    /// Packets received and not acknowledged yet.
    pub fn unacked(&self) -> u32 {
        self.unacked
    }

    /// When the oldest of them arrived (the caller's clock).
    pub fn oldest_unacked_ns(&self) -> u64 {
        self.oldest_unacked_ns
    }

    // Receiving.

    /// Believe an ack from the peer if it moves forward and acknowledges only
    /// what we sent: a forged ack far ahead would otherwise stand for the call's
    /// life (and keep the flush nudge firing).
    fn take_peer_ack(&mut self, ack: u32) {
        if seq_after(ack, self.peer_ack) && !seq_after(ack, self.last_sent()) {
            self.peer_ack = ack;
        }
    }

    /// Check one decoded packet against the window. Nothing is committed: the
    /// sequence number moves only when [`Call::commit`] says what the payload
    /// proved.
    ///
    /// Until a packet has decrypted, the window is only a guess made from frames
    /// anyone can forge (the call ID travels in clear in the Outgoing-Call-Request),
    /// so nothing is dropped as late against it: a forged frame far ahead before
    /// the server's first one must not make every genuine packet "late".
    pub fn receive<'a>(&mut self, header: &Header, payload: &'a [u8]) -> Received<'a> {
        self.pending = None;
        if header.call_id != self.call_id {
            return Received::OtherCall(header.call_id);
        }
        if let Some(ack) = header.ack {
            self.take_peer_ack(ack);
        }
        let Some(seq) = header.seq else {
            self.stats.ack_only += 1;
            return Received::Nothing;
        };
        if self.anchored && !seq_after(seq, self.last_received) {
            self.stats.late += 1;
            return Received::Late {
                payload,
                seq,
                last: self.last_received,
            };
        }
        self.pending = Some(seq);
        Received::Payload(payload)
    }

    /// The next sequence number in order, once anything was received.
    pub fn expected(&self) -> Option<u32> {
        self.received_any
            .then(|| self.last_received.wrapping_add(1))
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

    /// Say what the packet [`Call::receive`] accepted proved, and move the
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
        let last = self.received_any.then_some(self.last_received);
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
        self.last_received = seq;
        self.received_any = true;
        if self.unacked == 0 {
            self.oldest_unacked_ns = now_ns;
        }
        self.unacked += 1;
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

    /// Receive and, when accepted, commit at once (what a genuine packet gets).
    fn recv_commit<'a>(rx: &mut Call, h: &Header, p: &'a [u8]) -> Received<'a> {
        let r = rx.receive(h, p);
        if matches!(r, Received::Payload(_)) {
            rx.commit(0, Proof::Decrypted);
        }
        r
    }

    #[test]
    fn ack_only_layout_from_a_call() {
        let mut c = Call::new(1, 9, 64);
        assert!(c.ack_only().is_none(), "nothing received, nothing owed");
        let h = Header {
            call_id: 1,
            payload_len: 1,
            seq: Some(0x01020304),
            ack: None,
        };
        recv_commit(&mut c, &h, &[0x21]);
        let a = c.ack_only().unwrap();
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = a.encode(&mut out);
        assert_eq!(&out[..n], &[0x20, 0x81, 0x88, 0x0B, 0, 0, 0, 9, 1, 2, 3, 4]);
        assert!(c.ack_only().is_none(), "owed once");
        assert_eq!(c.ack_again().unwrap().ack, Some(0x01020304));
    }

    #[test]
    fn sequencing_acks_and_late_drops() {
        let mut a = Call::new(1, 2, 64);
        let mut b = Call::new(2, 1, 64);
        let h1 = a.data_header(1);
        assert_eq!((h1.seq, h1.ack), (Some(1), None));
        let h2 = a.data_header(1);
        assert!(matches!(
            recv_commit(&mut b, &h2, &[0x21]),
            Received::Payload(_)
        ));
        assert!(matches!(
            recv_commit(&mut b, &h1, &[0x21]),
            Received::Late {
                seq: 1,
                last: 2,
                ..
            }
        ));
        assert_eq!(b.unacked(), 1);
        // B's next packet piggybacks the ack of 2; a second one carries none.
        let hb = b.data_header(1);
        assert_eq!(hb.ack, Some(2));
        assert_eq!(b.data_header(1).ack, None);
        assert!(b.ack_only().is_none());
        assert!(matches!(
            recv_commit(&mut a, &hb, &[0x21]),
            Received::Payload(_)
        ));
        assert_eq!(a.in_flight(), 0);
        // Wrong call ID.
        let mut other = a.data_header(1);
        other.call_id = 77;
        assert!(matches!(
            recv_commit(&mut b, &other, &[]),
            Received::OtherCall(77)
        ));
        // Gaps are counted as loss.
        a.data_header(1);
        let h = a.data_header(1);
        assert!(matches!(
            recv_commit(&mut b, &h, &[0x21]),
            Received::Payload(_)
        ));
        assert_eq!(b.stats.lost, 2);
        assert_eq!(b.ack_only().unwrap().ack, h.seq);
    }

    /// An ack beyond what we sent is forged: it does not move the peer's ack.
    #[test]
    fn acks_of_what_was_never_sent_are_ignored() {
        let mut a = Call::new(1, 2, 64);
        a.data_header(1);
        a.data_header(1);
        let ack = |n| Header {
            call_id: 1,
            payload_len: 0,
            seq: None,
            ack: Some(n),
        };
        a.receive(&ack(1000), &[]);
        assert_eq!(a.peer_ack(), 0);
        a.receive(&ack(2), &[]);
        assert_eq!((a.peer_ack(), a.in_flight()), (2, 0));
    }

    /// A late packet is handed up as late, uncommitted: what PPP may still
    /// use of it is decided above GRE.
    #[test]
    fn late_packets_are_handed_up_uncommitted() {
        let mut rx = Call::new(5, 6, 64);
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
}
