//! MPPE key derivation (RFC 3079) and the key-change step (RFC 3078 §7.3).

use crate::crypto::rc4::Rc4;
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::crypto::mschap::{hash_nt_password_hash, nt_password_hash};
use crate::secret::{Password, SecretBytes};

/// Key strength negotiated in CCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strength {
    Bits40,
    Bits56,
    Bits128,
}

impl Strength {
    pub fn key_len(self) -> usize {
        match self {
            Strength::Bits128 => 16,
            _ => 8,
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            Strength::Bits40 => 40,
            Strength::Bits56 => 56,
            Strength::Bits128 => 128,
        }
    }

    /// Weaken an 8-byte key to its nominal strength (RFC 3079 §3.2 / §2.2).
    fn reduce(self, key: &mut [u8]) {
        match self {
            Strength::Bits40 => key[..3].copy_from_slice(&[0xD1, 0x26, 0x9E]),
            Strength::Bits56 => key[0] = 0xD1,
            Strength::Bits128 => {}
        }
    }
}

const SHA_PAD1: [u8; 40] = [0x00; 40];
const SHA_PAD2: [u8; 40] = [0xF2; 40];

/// GetNewKeyFromSHA (RFC 3079 §7.3 / §3.3).
fn new_key_from_sha(start: &[u8], session: &[u8], out: &mut [u8]) {
    let mut h = Sha1::new();
    h.update(start);
    h.update(SHA_PAD1);
    h.update(session);
    h.update(SHA_PAD2);
    let d = Zeroizing::new(<[u8; 20]>::from(h.finalize()));
    out.copy_from_slice(&d[..out.len()]);
}

/// The 16-byte start key of one direction; what pppd hands the kernel.
pub type StartKey = SecretBytes<16>;

const MAGIC_MASTER: &[u8] = b"This is the MPPE Master Key";
const MAGIC_CLIENT_SEND: &[u8] =
    b"On the client side, this is the send key; on the server side, it is the receive key.";
const MAGIC_CLIENT_RECV: &[u8] =
    b"On the client side, this is the receive key; on the server side, it is the send key.";

/// Start keys after MS-CHAPv2 (RFC 3079 §3.4): `(send, receive)` for the given side.
pub fn mschapv2_start_keys(
    password: &Password,
    nt_response: &[u8; 24],
    is_server: bool,
) -> (StartKey, StartKey) {
    let phh = hash_nt_password_hash(&nt_password_hash(password));
    let mut h = Sha1::new();
    h.update(phh.as_slice());
    h.update(nt_response);
    h.update(MAGIC_MASTER);
    let d = Zeroizing::new(<[u8; 20]>::from(h.finalize()));
    let master = Zeroizing::new(<[u8; 16]>::try_from(&d[..16]).unwrap());
    let derive = |magic: &[u8]| {
        let mut h = Sha1::new();
        h.update(master.as_slice());
        h.update(SHA_PAD1);
        h.update(magic);
        h.update(SHA_PAD2);
        let d = Zeroizing::new(<[u8; 20]>::from(h.finalize()));
        SecretBytes::new(d[..16].try_into().unwrap())
    };
    let client_send = derive(MAGIC_CLIENT_SEND);
    let client_recv = derive(MAGIC_CLIENT_RECV);
    if is_server {
        (client_recv, client_send)
    } else {
        (client_send, client_recv)
    }
}

/// Start key after MS-CHAPv1, the same in both directions. This is what pppd and the
/// Linux kernel use for every strength (SHA1(PHH ‖ PHH ‖ challenge)); RFC 3079 §2.1's
/// LM-hash keys for 40/56 bits are in [`mschapv1_lm_session_key`].
pub fn mschapv1_start_key(password: &Password, challenge: &[u8; 8]) -> StartKey {
    let phh = hash_nt_password_hash(&nt_password_hash(password));
    let mut h = Sha1::new();
    h.update(phh.as_slice());
    h.update(phh.as_slice());
    h.update(challenge);
    let d = Zeroizing::new(<[u8; 20]>::from(h.finalize()));
    SecretBytes::new(d[..16].try_into().unwrap())
}

/// RFC 3079 §2.1/§2.2: the 40/56-bit session key from the LM password hash. No peer we
/// interoperate with uses it (pppd does not), but it is the RFC's definition.
pub fn mschapv1_lm_session_key(lm_hash: &[u8; 16], strength: Strength) -> SecretBytes<8> {
    let mut k = [0u8; 8];
    new_key_from_sha(&lm_hash[..8], &lm_hash[..8], &mut k);
    strength.reduce(&mut k);
    SecretBytes::new(k)
}

/// One direction's evolving session key, as in the kernel's `ppp_mppe.c`.
#[derive(Clone)]
pub struct KeyChain {
    strength: Strength,
    start: Zeroizing<[u8; 16]>,
    session: Zeroizing<[u8; 16]>,
}

impl KeyChain {
    /// The initial session key: GetNewKeyFromSHA(start, start), reduced, no RC4 step.
    pub fn new(start: &StartKey, strength: Strength) -> Self {
        let l = strength.key_len();
        let mut kc = KeyChain {
            strength,
            start: Zeroizing::new(*start.expose()),
            session: Zeroizing::new([0u8; 16]),
        };
        new_key_from_sha(&kc.start[..l], &kc.start[..l], &mut kc.session[..l]);
        strength.reduce(&mut kc.session[..l]);
        kc
    }

    pub fn strength(&self) -> Strength {
        self.strength
    }

    pub fn session_key(&self) -> &[u8] {
        &self.session[..self.strength.key_len()]
    }

    /// A fresh RC4 state keyed with the current session key.
    pub fn cipher(&self) -> Rc4 {
        Rc4::new(self.session_key())
    }

    /// The key change of RFC 3078 §7.3.
    pub fn rekey(&mut self) {
        let l = self.strength.key_len();
        let mut t = Zeroizing::new([0u8; 16]);
        new_key_from_sha(&self.start[..l], &self.session[..l], &mut t[..l]);
        let mut rc4 = Rc4::new(&t[..l]);
        rc4.apply_keystream(&mut t[..l]);
        self.session[..l].copy_from_slice(&t[..l]);
        self.strength.reduce(&mut self.session[..l]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::mschap::lm_password_hash;
    use crate::test_vectors::{hex, vector};

    fn v2_inputs(name: &str) -> (Password, [u8; 24]) {
        let v = vector(name);
        let pw = Password::new(v["inputs"]["Password_ascii"].as_str().unwrap());
        (pw, hex(&v["inputs"]["NT_Response"]).try_into().unwrap())
    }

    #[test]
    fn rfc3079_section_3_5_all_strengths() {
        for (name, strength, suffix) in [
            ("rfc3079_mschapv2_40bit", Strength::Bits40, "40"),
            ("rfc3079_mschapv2_56bit", Strength::Bits56, "56"),
            ("rfc3079_mschapv2_128bit", Strength::Bits128, "128"),
        ] {
            let v = vector(name);
            let (pw, nt) = v2_inputs(name);
            // The RFC's "Send" keys are the server's send keys (Magic3).
            let (server_send, _) = mschapv2_start_keys(&pw, &nt, true);
            let l = strength.key_len();
            assert_eq!(
                server_send.expose()[..l].to_vec(),
                hex(&v["outputs"][format!("SendStartKey{suffix}")]),
                "{name}"
            );
            let chain = KeyChain::new(&server_send, strength);
            assert_eq!(
                chain.session_key().to_vec(),
                hex(&v["outputs"][format!("SendSessionKey{suffix}")]),
                "{name}"
            );
            let mut msg = hex(&v["inputs"]["plaintext"]);
            chain.cipher().apply_keystream(&mut msg);
            let out = v["outputs"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(k, _)| k.starts_with("rc4_"))
                .unwrap()
                .1;
            assert_eq!(msg, hex(out), "{name}");
        }
    }

    #[test]
    fn rfc3079_56bit_erratum_value() {
        // The RFC prints ...5898; the correct last byte is B8 (see protocols.md §1.4).
        let (pw, nt) = v2_inputs("rfc3079_mschapv2_56bit");
        let (send, _) = mschapv2_start_keys(&pw, &nt, true);
        let mut msg = b"test message".to_vec();
        KeyChain::new(&send, Strength::Bits56)
            .cipher()
            .apply_keystream(&mut msg);
        assert_eq!(msg, hex(&"3F106833FA448DA842BC57B8".into()));
    }

    #[test]
    fn client_direction_map() {
        let v = vector("rfc3079_mschapv2_direction_map");
        let (pw, nt) = v2_inputs("rfc3079_mschapv2_128bit");
        let (send, recv) = mschapv2_start_keys(&pw, &nt, false);
        let o = &v["outputs"];
        assert_eq!(
            send.expose().to_vec(),
            hex(&o["client_send_start_key128_Magic2"])
        );
        assert_eq!(
            recv.expose().to_vec(),
            hex(&o["client_recv_start_key128_Magic3"])
        );
        assert_eq!(
            KeyChain::new(&send, Strength::Bits128)
                .session_key()
                .to_vec(),
            hex(&o["client_send_session_key128"])
        );
        assert_eq!(
            KeyChain::new(&recv, Strength::Bits128)
                .session_key()
                .to_vec(),
            hex(&o["client_recv_session_key128"])
        );
    }

    #[test]
    fn rekey_chain() {
        let v = vector("mppe_rekey_chain_computed");
        let start = StartKey::new(
            hex(&v["inputs"]["client_send_start_key128"])
                .try_into()
                .unwrap(),
        );
        for (strength, key) in [
            (Strength::Bits128, "session_keys_128_k0_to_k3"),
            (Strength::Bits40, "session_keys_40_k0_to_k3"),
        ] {
            let mut chain = KeyChain::new(&start, strength);
            for k in v["outputs"][key].as_array().unwrap() {
                assert_eq!(chain.session_key().to_vec(), hex(k), "{key}");
                chain.rekey();
            }
        }
    }

    #[test]
    fn rfc3079_section_2_5_mschapv1() {
        let v = vector("rfc3079_mschapv1_128bit");
        let pw = Password::new(v["inputs"]["Password_ascii"].as_str().unwrap());
        let chal: [u8; 8] = hex(&v["inputs"]["Challenge"]).try_into().unwrap();
        let start = mschapv1_start_key(&pw, &chal);
        assert_eq!(
            start.expose().to_vec(),
            hex(&v["outputs"]["InitialSessionKey"])
        );
        assert_eq!(
            KeyChain::new(&start, Strength::Bits128)
                .session_key()
                .to_vec(),
            hex(&v["outputs"]["CurrentSessionKey"])
        );
        for (name, strength, key) in [
            ("rfc3079_mschapv1_40bit", Strength::Bits40, "SessionKey40"),
            ("rfc3079_mschapv1_56bit", Strength::Bits56, "SessionKey56"),
        ] {
            let v = vector(name);
            let pw = Password::new(v["inputs"]["Password_ascii"].as_str().unwrap());
            let lm = lm_password_hash(&pw);
            assert_eq!(lm.to_vec(), hex(&v["outputs"]["LmPasswordHash"]));
            let k = mschapv1_lm_session_key(&lm, strength);
            assert_eq!(k.expose().to_vec(), hex(&v["outputs"][key]), "{name}");
        }
    }
}
