//! Microsoft Point-to-Point Encryption (RFC 3078, keys from RFC 3079), following
//! the Linux kernel's `ppp_mppe.c` where it departs from the RFC (first count 0,
//! no FLUSHED bit on the first stateful packet, key change on reset).

mod ahead;
pub mod keys;

use self::ahead::KeysAhead;
pub use ahead::JUMP_BUDGET;

use crate::crypto::rc4::Rc4;
use thiserror::Error;

pub use keys::{KeyChain, StartKey, Strength};

pub const BIT_FLUSHED: u8 = 0x80;
pub const BIT_ENCRYPTED: u8 = 0x10;
/// Bits B and C belong to MPPC compression, which is never negotiated.
const BITS_COMPRESSION: u8 = 0x60;
const CCOUNT_SPACE: u16 = 0x1000;
const CCOUNT_MASK: u16 = 0x0FFF;
/// Size of the MPPE header that precedes the encrypted protocol and data.
pub const HEADER_LEN: usize = 2;
/// Bytes MPPE adds to each frame (header + the 0x00FD protocol); the interface MTU
/// drops by this much once MPPE is on, as pppd does.
pub const OVERHEAD: usize = 4;

/// Mode and strength of one direction, as negotiated in CCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MppeParams {
    pub strength: Strength,
    pub stateful: bool,
}

impl std::fmt::Display for MppeParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = if self.stateful {
            "stateful"
        } else {
            "stateless"
        };
        write!(f, "{}-{}", self.strength.bits(), mode)
    }
}

/// The sending half: owns its key chain and RC4 state.
pub struct Encryptor {
    keys: KeyChain,
    rc4: Rc4,
    ccount: u16,
    stateful: bool,
    flush_next: bool,
    sealed_any: bool,
}

impl Encryptor {
    pub fn new(start: &StartKey, params: MppeParams) -> Self {
        let keys = KeyChain::new(start, params.strength);
        Encryptor {
            rc4: keys.cipher(),
            keys,
            // The kernel starts here so that the first packet carries count 0.
            ccount: CCOUNT_MASK,
            stateful: params.stateful,
            flush_next: false,
            sealed_any: false,
        }
    }

    /// Whether any keystream has gone on the wire: from then on, starting over
    /// with the same keys would repeat it.
    pub fn has_sealed(&self) -> bool {
        self.sealed_any
    }

    /// Encrypt `data` (the inner PPP protocol field and payload) in place and return the
    /// 2-byte MPPE header to put in front of it.
    pub fn encrypt(&mut self, data: &mut [u8]) -> [u8; HEADER_LEN] {
        self.ccount = (self.ccount + 1) & CCOUNT_MASK;
        self.sealed_any = true;
        let mut bits = BIT_ENCRYPTED;
        if !self.stateful || self.ccount & 0xFF == 0xFF || self.flush_next {
            self.keys.rekey();
            self.rc4 = self.keys.cipher();
            bits |= BIT_FLUSHED;
            self.flush_next = false;
        }
        self.rc4.apply_keystream(data);
        let h = ((bits as u16) << 8) | self.ccount;
        h.to_be_bytes()
    }

    /// The peer sent a CCP Reset-Request. Like the kernel, only flag the next packet:
    /// several Reset-Requests for one loss (a lost Reset-Ack) must not rekey each time.
    pub fn reset(&mut self) {
        self.flush_next = true;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MppeError {
    #[error("MPPE packet too short")]
    Truncated,
    #[error("MPPE packet without the encrypted bit (header {0:#06x})")]
    NotEncrypted(u16),
    #[error("MPPE packet uses MPPC compression, which was not negotiated")]
    Compressed,
    #[error("stateless MPPE packet without the flushed bit (count {0})")]
    NotFlushed(u16),
    #[error("MPPE packet {got} arrived after {last}: dropped as late")]
    Late { got: u16, last: u16 },
    #[error("MPPE packet {got} where {expected} was expected: resynchronising")]
    Lost { got: u16, expected: u16 },
    #[error("MPPE packet {got} where {expected} was expected: not believed yet")]
    Unconfirmed { got: u16, expected: u16 },
    #[error("MPPE packet {0} discarded while waiting for the peer to resynchronise")]
    Discarding(u16),
    #[error("decrypted MPPE payload carries an invalid protocol field")]
    BadProtocol,
    #[error("MPPE packet {0} decrypts to nothing plausible (forged or corrupt)")]
    Implausible(u16),
    #[error("MPPE packet {0} is too far ahead to open now")]
    TooFarAhead(u16),
}

/// What the caller must do after a decryption failure.
impl MppeError {
    /// True when the peer must be sent a CCP Reset-Request (stateful loss).
    pub fn needs_reset_request(&self) -> bool {
        matches!(self, MppeError::Lost { .. })
    }
}

/// The receiving half.
pub struct Decryptor {
    keys: KeysAhead,
    rc4: Rc4,
    ccount: u16,
    stateful: bool,
    discard: bool,
    /// Kernel-style error score: +100 for a malformed packet, +1 for a late one,
    /// halved by every good packet.
    sanity_errors: u32,
    opened_any: bool,
}

/// How many extra key changes a stateful resynchronisation may try.
const RESYNC_SEARCH: u32 = 8;

/// The kernel gives up on the link at this score ("Too many MPPE errors").
pub const FATAL_SANITY_ERRORS: u32 = 1600;

impl Decryptor {
    pub fn new(start: &StartKey, params: MppeParams) -> Self {
        let keys = KeyChain::new(start, params.strength);
        Decryptor {
            rc4: keys.cipher(),
            keys: KeysAhead::new(keys),
            ccount: CCOUNT_MASK,
            stateful: params.stateful,
            discard: false,
            sanity_errors: 0,
            opened_any: false,
        }
    }

    /// Whether a packet has opened: the peer has used its keystream.
    pub fn has_opened(&self) -> bool {
        self.opened_any
    }

    /// A genuine packet opened: the kernel's error score halves.
    fn opened_one(&mut self) {
        self.sanity_errors /= 2;
        self.opened_any = true;
    }

    /// Key changes done so far.
    pub fn rekeys(&self) -> u64 {
        self.keys.rekeys()
    }

    pub fn sanity_errors(&self) -> u32 {
        self.sanity_errors
    }

    pub fn is_stateful(&self) -> bool {
        self.stateful
    }

    pub fn is_fatal(&self) -> bool {
        self.sanity_errors >= FATAL_SANITY_ERRORS
    }

    /// Decrypt one MPPE packet (header + ciphertext) in place. On success returns the
    /// inner PPP protocol and the range of `packet` holding its payload.
    pub fn decrypt(
        &mut self,
        packet: &mut [u8],
    ) -> Result<(u16, std::ops::Range<usize>), MppeError> {
        // No clock: every call finds the budget refilled.
        self.keys.refill();
        self.decrypt_checked(packet, |_| true, u64::MAX / 2)
    }

    /// As [`Self::decrypt`], with a plausibility check of the plaintext (protocol
    /// field and payload), and the caller's clock (`now_ns`). Nothing a packet claims
    /// (count, flushed bit, key) is committed unless it passes the check:
    /// - stateless: jumps ahead are paid from a budget refilled over time;
    /// - stateful: the packet is tried on a copy of the running RC4 state, so a
    ///   forged packet cannot consume a real one's keystream. A count that does not
    ///   follow claims a loss (stateful MPPE has no integrity: it cannot be verified):
    ///   the peer is asked to flush, but packets with the expected count still open,
    ///   so a forged claim costs a Reset-Request, not the traffic.
    ///   A flushed packet starts from a key, so it is verified on its own, trying
    ///   the next few keys of the chain too: the kernel changes the key on every
    ///   reset, and a lost flushed packet followed by a second reset leaves the
    ///   receiver a key behind the sender.
    pub fn decrypt_checked(
        &mut self,
        packet: &mut [u8],
        plausible: impl Fn(&[u8]) -> bool,
        now_ns: u64,
    ) -> Result<(u16, std::ops::Range<usize>), MppeError> {
        if self.stateful {
            self.decrypt_stateful(packet, &plausible, now_ns)
        } else {
            self.decrypt_stateless(packet, &plausible, now_ns)
        }
    }

    /// Whether a stateless packet would decrypt to something `plausible` now,
    /// committing nothing: what lets the reorder hold keep only genuine packets.
    /// (Stateful packets cannot be tried without the packets before them.)
    pub fn would_open(
        &mut self,
        packet: &[u8],
        plausible: impl Fn(&[u8]) -> bool,
        now_ns: u64,
    ) -> bool {
        if self.stateful
            || packet.len() <= HEADER_LEN
            || packet[0] & (BIT_ENCRYPTED | BIT_FLUSHED | BITS_COMPRESSION)
                != BIT_ENCRYPTED | BIT_FLUSHED
        {
            return false;
        }
        let ccount = u16::from_be_bytes([packet[0], packet[1]]) & CCOUNT_MASK;
        let Some(delta) = self.ahead_of_current(ccount) else {
            return false;
        };
        let Some(keys) = self.keys.get(u32::from(delta), now_ns) else {
            return false;
        };
        let mut body = zeroize::Zeroizing::new(packet[HEADER_LEN..].to_vec());
        keys.cipher().apply_keystream(&mut body);
        protocol_field(&body).is_some() && plausible(&body)
    }

    /// How many counts a stateless packet is ahead of the last one opened, or
    /// `None` when it is not ahead: a repeated count would decrypt with a spent
    /// key, and the kernel's half-space rule calls everything older late.
    fn ahead_of_current(&self, ccount: u16) -> Option<u16> {
        let delta = ccount.wrapping_sub(self.ccount) % CCOUNT_SPACE;
        (delta != 0 && delta <= CCOUNT_SPACE / 2).then_some(delta)
    }

    /// The header checks both modes share; returns the count and the flushed bit.
    fn check_header(&mut self, packet: &[u8]) -> Result<(u16, bool), MppeError> {
        if packet.len() < HEADER_LEN + 1 {
            self.sanity_errors += 100;
            return Err(MppeError::Truncated);
        }
        let h = u16::from_be_bytes([packet[0], packet[1]]);
        let bits = packet[0];
        if bits & BIT_ENCRYPTED == 0 {
            self.sanity_errors += 100;
            return Err(MppeError::NotEncrypted(h));
        }
        if bits & BITS_COMPRESSION != 0 {
            self.sanity_errors += 100;
            return Err(MppeError::Compressed);
        }
        Ok((h & CCOUNT_MASK, bits & BIT_FLUSHED != 0))
    }

    fn decrypt_stateless(
        &mut self,
        packet: &mut [u8],
        plausible: &impl Fn(&[u8]) -> bool,
        now_ns: u64,
    ) -> Result<(u16, std::ops::Range<usize>), MppeError> {
        let (ccount, flushed) = self.check_header(packet)?;
        if !flushed {
            self.sanity_errors += 100;
            return Err(MppeError::NotFlushed(ccount));
        }
        let Some(delta) = self.ahead_of_current(ccount) else {
            self.sanity_errors += 1;
            return Err(MppeError::Late {
                got: ccount,
                last: self.ccount,
            });
        };
        // RFC 3078 §8.1: one key change per packet, including those we never saw;
        // the current key moves only if the packet proves genuine.
        let Some(keys) = self.keys.get(u32::from(delta), now_ns) else {
            return Err(MppeError::TooFarAhead(ccount));
        };
        let body = &mut packet[HEADER_LEN..];
        keys.cipher().apply_keystream(body);
        let (proto, plen) = protocol_field(body).ok_or(MppeError::BadProtocol)?;
        if !plausible(body) {
            return Err(MppeError::Implausible(ccount));
        }
        self.keys.advance(u32::from(delta));
        self.ccount = ccount;
        self.opened_one();
        Ok((proto, HEADER_LEN + plen..packet.len()))
    }

    /// Stateful mode: RC4 runs on from packet to packet.
    fn decrypt_stateful(
        &mut self,
        packet: &mut [u8],
        plausible: &impl Fn(&[u8]) -> bool,
        now_ns: u64,
    ) -> Result<(u16, std::ops::Range<usize>), MppeError> {
        let (ccount, flushed) = self.check_header(packet)?;
        if ccount & 0xFF == 0xFF && !flushed {
            self.sanity_errors += 100;
            return Err(MppeError::NotFlushed(ccount));
        }
        let expected = (self.ccount + 1) & CCOUNT_MASK;
        if flushed {
            if let Some(r) = self.open_flushed(packet, ccount, plausible, now_ns)? {
                return Ok(r);
            }
            if self.discard {
                // Still out of step after a flush: ask again.
                self.sanity_errors += 1;
                return Err(MppeError::Lost {
                    got: ccount,
                    expected: ccount,
                });
            }
        } else if ccount == expected {
            let mut rc4 = self.rc4.clone();
            let body = &mut packet[HEADER_LEN..];
            rc4.apply_keystream(body);
            let (proto, plen) = protocol_field(body).ok_or(MppeError::BadProtocol)?;
            if !plausible(body) {
                return Err(MppeError::Implausible(ccount));
            }
            (self.rc4, self.ccount, self.discard) = (rc4, ccount, false);
            self.opened_one();
            return Ok((proto, HEADER_LEN + plen..packet.len()));
        } else if self.discard {
            return Err(MppeError::Discarding(ccount));
        }
        self.discard = true;
        Err(MppeError::Lost {
            got: ccount,
            expected,
        })
    }

    /// A flushed packet decrypts from a key of its own: find it (one key change for
    /// every flag packet, count xFF, passed since the last packet, one for the flush,
    /// and up to [`RESYNC_SEARCH`] more) and commit it only if the plaintext is
    /// plausible. `Ok(None)`: no key made sense of it.
    fn open_flushed(
        &mut self,
        packet: &mut [u8],
        ccount: u16,
        plausible: &impl Fn(&[u8]) -> bool,
        now_ns: u64,
    ) -> Result<Option<(u16, std::ops::Range<usize>)>, MppeError> {
        let mut c = (self.ccount + 1) & CCOUNT_MASK;
        let mut changes = 0;
        while ccount & !0xFF != c & !0xFF {
            c = (c + 0x100) & CCOUNT_MASK;
            changes += 1;
        }
        let saved = packet[HEADER_LEN..].to_vec();
        for n in changes + 1..=changes + 1 + RESYNC_SEARCH {
            let Some(keys) = self.keys.get(n, now_ns) else {
                if n == changes + 1 {
                    return Err(MppeError::TooFarAhead(ccount));
                }
                break;
            };
            let mut rc4 = keys.cipher();
            let body = &mut packet[HEADER_LEN..];
            if n > changes + 1 {
                body.copy_from_slice(&saved);
            }
            rc4.apply_keystream(body);
            if let Some((proto, plen)) = protocol_field(body).filter(|_| plausible(body)) {
                self.keys.advance(n);
                (self.rc4, self.ccount) = (rc4, ccount);
                self.discard = false;
                self.opened_one();
                return Ok(Some((proto, HEADER_LEN + plen..packet.len())));
            }
        }
        // Leave the packet as it came.
        packet[HEADER_LEN..].copy_from_slice(&saved);
        Ok(None)
    }
}

/// The PPP protocol field at the start of a decrypted body, and its length.
fn protocol_field(body: &[u8]) -> Option<(u16, usize)> {
    match body {
        [p, ..] if p & 1 == 1 => Some((*p as u16, 1)),
        [a, b, ..] if b & 1 == 1 => Some((u16::from_be_bytes([*a, *b]), 2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{hex, vector};

    fn start_key(v: &serde_json::Value) -> StartKey {
        StartKey::new(
            hex(&v["inputs"]["client_send_start_key"])
                .try_into()
                .unwrap(),
        )
    }

    fn check_packets(name: &str, stateful: bool) {
        let v = vector(name);
        let params = MppeParams {
            strength: Strength::Bits128,
            stateful,
        };
        let mut enc = Encryptor::new(&start_key(v), params);
        let mut dec = Decryptor::new(&start_key(v), params);
        for p in v["outputs"]["packets"].as_array().unwrap() {
            let mut data = hex(&p["plaintext_ppp_protocol_and_payload"]);
            let plain = data.clone();
            let h = enc.encrypt(&mut data);
            assert_eq!(
                h.to_vec(),
                hex(&p["header"]),
                "{name} ccount {}",
                p["ccount"]
            );
            assert_eq!(data, hex(&p["ciphertext"]));
            let mut pkt = [h.to_vec(), data].concat();
            let (proto, range) = dec.decrypt(&mut pkt).unwrap();
            assert_eq!(proto, 0x0021);
            assert_eq!(&pkt[range], &plain[2..]);
        }
    }

    #[test]
    fn stateless_vectors() {
        check_packets("mppe_128_stateless_client_first_packets_computed", false);
    }

    #[test]
    fn stateful_vectors() {
        check_packets("mppe_128_stateful_client_first_packets_computed", true);
    }

    #[test]
    fn stateful_flag_packet_vector() {
        let v = vector("mppe_128_stateful_flag_packet_computed");
        let params = MppeParams {
            strength: Strength::Bits128,
            stateful: true,
        };
        let mut enc = Encryptor::new(&start_key(v), params);
        let plain = hex(&"00214500001400000000000000000000000000000000".into());
        for _ in 0..255 {
            enc.encrypt(&mut plain.clone());
        }
        for key in ["packet_ccount_255", "packet_ccount_256"] {
            let p = &v["outputs"][key];
            let mut data = plain.clone();
            let h = enc.encrypt(&mut data);
            assert_eq!(h.to_vec(), hex(&p["header"]), "{key}");
            assert_eq!(data, hex(&p["ciphertext"]), "{key}");
        }
    }

    fn pair(stateful: bool) -> (Encryptor, Decryptor) {
        let k = StartKey::new([7; 16]);
        let p = MppeParams {
            strength: Strength::Bits128,
            stateful,
        };
        (Encryptor::new(&k, p), Decryptor::new(&k, p))
    }

    fn seal(enc: &mut Encryptor, n: u8) -> Vec<u8> {
        let mut d = vec![0x00, 0x21, n, n, n];
        let h = enc.encrypt(&mut d);
        [h.to_vec(), d].concat()
    }

    fn open(dec: &mut Decryptor, mut p: Vec<u8>) -> Result<u8, MppeError> {
        let (_, r) = dec.decrypt(&mut p)?;
        Ok(p[r][0])
    }

    #[test]
    fn stateless_decision_table() {
        let v = vector("mppe_stateless_ccount_rule_computed");
        for c in v["outputs"]["cases"].as_array().unwrap() {
            let last = c["last_ccount"].as_u64().unwrap() as u16;
            let got = c["received_ccount"].as_u64().unwrap() as u16;
            let late = c["action"].as_str().unwrap().starts_with("drop");
            let delta = got.wrapping_sub(last) % CCOUNT_SPACE;
            assert_eq!(delta as u64, c["delta_mod_4096"].as_u64().unwrap());
            assert_eq!(delta == 0 || delta > CCOUNT_SPACE / 2, late, "{c}");
        }
    }

    #[test]
    fn stateless_loss_and_late_packets() {
        let (mut enc, mut dec) = pair(false);
        let pkts: Vec<_> = (0..10).map(|i| seal(&mut enc, i)).collect();
        assert_eq!(open(&mut dec, pkts[0].clone()), Ok(0));
        // 1..4 lost: the receiver catches up by rekeying.
        assert_eq!(open(&mut dec, pkts[5].clone()), Ok(5));
        // A late packet must be dropped and must not disturb the key chain.
        assert!(matches!(
            open(&mut dec, pkts[3].clone()),
            Err(MppeError::Late { .. })
        ));
        assert!(matches!(
            open(&mut dec, pkts[5].clone()),
            Err(MppeError::Late { .. })
        ));
        assert_eq!(open(&mut dec, pkts[6].clone()), Ok(6));
        // Wrap-around of the 12-bit counter.
        for i in 7..5000u32 {
            let p = seal(&mut enc, i as u8);
            if i % 3 != 0 {
                assert_eq!(open(&mut dec, p), Ok(i as u8), "packet {i}");
            }
        }
    }

    #[test]
    fn stateful_loss_needs_reset() {
        let (mut enc, mut dec) = pair(true);
        for i in 0..300u32 {
            assert_eq!(open(&mut dec, seal(&mut enc, i as u8)), Ok(i as u8));
        }
        let _lost = seal(&mut enc, 0);
        let e = open(&mut dec, seal(&mut enc, 1)).unwrap_err();
        assert!(e.needs_reset_request(), "{e}");
        // Until the sender flushes, everything is discarded.
        for _ in 0..100 {
            assert!(matches!(
                open(&mut dec, seal(&mut enc, 2)),
                Err(MppeError::Discarding(_))
            ));
        }
        enc.reset();
        enc.reset(); // a second Reset-Request for the same loss changes nothing
        assert_eq!(open(&mut dec, seal(&mut enc, 42)), Ok(42));
        assert_eq!(open(&mut dec, seal(&mut enc, 43)), Ok(43));
    }

    #[test]
    fn stateful_resync_survives_a_lost_flushed_packet() {
        let (mut enc, mut dec) = pair(true);
        let plausible = |b: &[u8]| b.len() == 5 && b[2] == b[3] && b[3] == b[4];
        let open_checked = |dec: &mut Decryptor, mut p: Vec<u8>| {
            dec.decrypt_checked(&mut p, plausible, 0)
                .map(|(_, r)| p[r][0])
        };
        assert_eq!(open_checked(&mut dec, seal(&mut enc, 1)), Ok(1));
        seal(&mut enc, 2); // lost
        assert!(open_checked(&mut dec, seal(&mut enc, 3))
            .unwrap_err()
            .needs_reset_request());
        // First reset: the flushed packet is lost too. Second reset: the sender is now two
        // key changes ahead where the receiver expects one.
        enc.reset();
        seal(&mut enc, 4);
        assert!(open_checked(&mut dec, seal(&mut enc, 5)).is_err());
        enc.reset();
        assert_eq!(open_checked(&mut dec, seal(&mut enc, 6)), Ok(6));
        assert_eq!(open_checked(&mut dec, seal(&mut enc, 7)), Ok(7));
    }

    /// 20-byte packets whose 18 payload bytes repeat the packet's number: a
    /// forgery passes this check with probability 2^-136.
    fn seal_long(enc: &mut Encryptor, n: u8) -> Vec<u8> {
        let mut d = [&[0x00, 0x21][..], &[n; 18]].concat();
        let h = enc.encrypt(&mut d);
        [h.to_vec(), d].concat()
    }

    fn long_plausible(b: &[u8]) -> bool {
        b.len() == 20 && b[2..].iter().all(|&x| x == b[2])
    }

    #[test]
    fn stateful_forgery_consumes_no_keystream() {
        let (mut enc, mut dec) = pair(true);
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        use rand::{Rng, SeedableRng};
        let mut delivered = 0u32;
        let mut now = 0u64;
        for i in 0..1000u32 {
            // Before each real packet, two forgeries: one with exactly the count the
            // receiver expects, one with a random count and flushed bit.
            let mut forged = seal_long(
                &mut Encryptor::new(&StartKey::new([9; 16]), dec_params()),
                0,
            );
            let next = (i as u16) & CCOUNT_MASK;
            forged[..2].copy_from_slice(&(0x1000 | next).to_be_bytes());
            assert!(dec
                .decrypt_checked(&mut forged, long_plausible, now)
                .is_err());
            // A random count claims a loss: that may cost a Reset-Request, not traffic.
            let mut random: Vec<u8> = (0..22).map(|_| rng.random()).collect();
            random[0] = (random[0] & 0x8F) | 0x10;
            assert!(dec
                .decrypt_checked(&mut random, long_plausible, now)
                .is_err());
            let mut p = seal_long(&mut enc, i as u8);
            let (_, range) = dec
                .decrypt_checked(&mut p, long_plausible, now)
                .unwrap_or_else(|e| panic!("real packet {i}: {e}"));
            assert_eq!(p[range][0], i as u8);
            delivered += 1;
            now += 1_000_000;
        }
        assert_eq!(delivered, 1000);
    }

    fn dec_params() -> MppeParams {
        MppeParams {
            strength: Strength::Bits128,
            stateful: true,
        }
    }

    #[test]
    fn stateful_random_loss_never_delivers_garbage() {
        use rand::{Rng, SeedableRng};
        let plausible = |b: &[u8]| b.len() == 5 && b[2] == b[3] && b[3] == b[4];
        for seed in 0..20 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let (mut enc, mut dec) = pair(true);
            // Reset-Requests in flight to the sender, with the packet count at which they land.
            let mut resets: Vec<u32> = Vec::new();
            let mut delivered = 0;
            let mut now = 0;
            for i in 0..20_000u32 {
                now += 1_000_000;
                if resets.first().is_some_and(|&t| t <= i) {
                    resets.remove(0);
                    enc.reset();
                }
                let p = seal(&mut enc, i as u8);
                if rng.random_bool(0.05) {
                    continue;
                }
                let mut p = p;
                match dec.decrypt_checked(&mut p, plausible, now) {
                    Ok((_, r)) => {
                        assert_eq!(
                            p[r][0], i as u8,
                            "seed {seed} packet {i}: garbage delivered"
                        );
                        delivered += 1;
                    }
                    Err(e) if e.needs_reset_request() => {
                        if !rng.random_bool(0.05) {
                            resets.push(i + rng.random_range(1..5));
                        }
                    }
                    Err(_) => {
                        // Still discarding: the runtime repeats its Reset-Request now and then.
                        if i % 50 == 0 {
                            resets.push(i + 2);
                        }
                    }
                }
            }
            assert!(delivered > 14_000, "seed {seed}: {delivered}");
        }
    }

    #[test]
    fn stateful_resync_on_flag_packet_after_missed_flags() {
        let (mut enc, mut dec) = pair(true);
        assert_eq!(open(&mut dec, seal(&mut enc, 0)), Ok(0));
        // Lose everything up to and including two flag packets (0xFF, 0x1FF).
        for _ in 1..0x210 {
            seal(&mut enc, 0);
        }
        assert!(open(&mut dec, seal(&mut enc, 1))
            .unwrap_err()
            .needs_reset_request());
        // Discard up to the next flag packet (0x2FF), which resynchronises by itself.
        let mut resynced_at = None;
        for i in 0x211..0x400u32 {
            if let Ok(b) = open(&mut dec, seal(&mut enc, i as u8)) {
                assert_eq!(b, i as u8);
                resynced_at.get_or_insert(i);
            }
        }
        assert_eq!(resynced_at, Some(0x2FF));
    }

    #[test]
    fn malformed_packets_raise_sanity_errors() {
        let (_, mut dec) = pair(false);
        assert_eq!(dec.decrypt(&mut [0x90]), Err(MppeError::Truncated));
        assert!(matches!(
            dec.decrypt(&mut [0x80, 0, 0, 0]),
            Err(MppeError::NotEncrypted(_))
        ));
        assert!(matches!(
            dec.decrypt(&mut [0x10, 1, 0, 0]),
            Err(MppeError::NotFlushed(1))
        ));
        assert!(matches!(
            dec.decrypt(&mut [0xF0, 1, 0, 0]),
            Err(MppeError::Compressed)
        ));
        for _ in 0..20 {
            let _ = dec.decrypt(&mut [0x00, 0, 0]);
        }
        assert!(dec.is_fatal());
    }
}
