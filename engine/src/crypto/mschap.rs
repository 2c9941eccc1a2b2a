//! The MS-CHAP hash functions of RFC 2433 (v1) and RFC 2759 (v2).

use des::cipher::{BlockCipherEncrypt, KeyInit};
use md4::{Digest, Md4};
use sha1::Sha1;
use zeroize::Zeroizing;

use crate::secret::Password;

/// NtPasswordHash: MD4 of the UTF-16LE password (RFC 2759 §8.3).
pub fn nt_password_hash(password: &Password) -> Zeroizing<[u8; 16]> {
    Zeroizing::new(Md4::digest(&*password.utf16le()).into())
}

/// HashNtPasswordHash (RFC 2759 §8.4).
pub fn hash_nt_password_hash(hash: &[u8; 16]) -> Zeroizing<[u8; 16]> {
    Zeroizing::new(Md4::digest(hash).into())
}

/// The user name hashed into MS-CHAPv2: without any `DOMAIN\` prefix (pppd strips
/// up to the last backslash, and so do Windows servers).
pub fn strip_domain(user: &str) -> &str {
    user.rsplit_once('\\').map_or(user, |(_, u)| u)
}

/// ChallengeHash (RFC 2759 §8.2).
pub fn challenge_hash(peer_challenge: &[u8; 16], auth_challenge: &[u8; 16], user: &str) -> [u8; 8] {
    let mut h = Sha1::new();
    h.update(peer_challenge);
    h.update(auth_challenge);
    h.update(strip_domain(user).as_bytes());
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// Spread 56 key bits over 8 bytes. DES ignores the low (parity) bit; it is set to odd
/// parity anyway so the keys match the ones RFC 2759 §9.3 prints.
fn des_key(k7: &[u8]) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[0] = k7[0];
    k[1] = (k7[0] << 7) | (k7[1] >> 1);
    k[2] = (k7[1] << 6) | (k7[2] >> 2);
    k[3] = (k7[2] << 5) | (k7[3] >> 3);
    k[4] = (k7[3] << 4) | (k7[4] >> 4);
    k[5] = (k7[4] << 3) | (k7[5] >> 5);
    k[6] = (k7[5] << 2) | (k7[6] >> 6);
    k[7] = k7[6] << 1;
    for b in &mut k {
        let ones = (*b >> 1).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
    k
}

fn des_encrypt(k7: &[u8], clear: &[u8; 8]) -> [u8; 8] {
    let key = Zeroizing::new(des_key(k7));
    let cipher = des::Des::new_from_slice(&*key).expect("DES key is 8 bytes");
    let mut block = (*clear).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// ChallengeResponse (RFC 2759 §8.5): DES of the challenge under each third of the
/// zero-padded 21-byte hash.
pub fn challenge_response(challenge: &[u8; 8], hash: &[u8; 16]) -> [u8; 24] {
    let mut z = Zeroizing::new([0u8; 21]);
    z[..16].copy_from_slice(hash);
    let mut out = [0u8; 24];
    for i in 0..3 {
        out[i * 8..i * 8 + 8].copy_from_slice(&des_encrypt(&z[i * 7..i * 7 + 7], challenge));
    }
    out
}

/// GenerateNTResponse (RFC 2759 §8.1).
pub fn generate_nt_response(
    auth_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    user: &str,
    password: &Password,
) -> [u8; 24] {
    let c = challenge_hash(peer_challenge, auth_challenge, user);
    challenge_response(&c, &nt_password_hash(password))
}

const MAGIC1: &[u8; 39] = b"Magic server to client signing constant";
const MAGIC2: &[u8; 41] = b"Pad to make it do more than one iteration";

/// GenerateAuthenticatorResponse (RFC 2759 §8.7), the 20 bytes behind `S=`.
pub fn authenticator_response(
    password: &Password,
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    auth_challenge: &[u8; 16],
    user: &str,
) -> [u8; 20] {
    let phh = hash_nt_password_hash(&nt_password_hash(password));
    let mut h = Sha1::new();
    h.update(phh.as_slice());
    h.update(nt_response);
    h.update(MAGIC1);
    let digest = h.finalize();
    let c = challenge_hash(peer_challenge, auth_challenge, user);
    let mut h = Sha1::new();
    h.update(digest);
    h.update(c);
    h.update(MAGIC2);
    h.finalize().into()
}

/// LmPasswordHash (RFC 2433 §A.2): only needed for RFC 3079's LM-derived 40/56-bit
/// MS-CHAPv1 keys. Passwords longer than 14 characters have no LM hash.
pub fn lm_password_hash(password: &Password) -> Zeroizing<[u8; 16]> {
    const STD: &[u8; 8] = b"KGS!@#$%";
    let mut pw = Zeroizing::new([0u8; 14]);
    for (o, c) in pw.iter_mut().zip(password.expose().bytes()) {
        *o = c.to_ascii_uppercase();
    }
    let mut out = Zeroizing::new([0u8; 16]);
    out[..8].copy_from_slice(&des_encrypt(&pw[..7], STD));
    out[8..].copy_from_slice(&des_encrypt(&pw[7..], STD));
    out
}

/// NtChallengeResponse for MS-CHAPv1 (RFC 2433 §A.5).
pub fn mschapv1_nt_response(challenge: &[u8; 8], password: &Password) -> [u8; 24] {
    challenge_response(challenge, &nt_password_hash(password))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{hex, vector};

    #[test]
    fn rfc2759_section_9_2() {
        let v = vector("rfc2759_mschapv2_hash_example");
        let auth: [u8; 16] = hex(&v["inputs"]["AuthenticatorChallenge"])
            .try_into()
            .unwrap();
        let peer: [u8; 16] = hex(&v["inputs"]["PeerChallenge"]).try_into().unwrap();
        let user = v["inputs"]["UserName_ascii"].as_str().unwrap();
        let pw = Password::new(v["inputs"]["Password_ascii"].as_str().unwrap());
        assert_eq!(&*pw.utf16le(), &hex(&v["inputs"]["Password_utf16le"])[..]);
        let o = &v["outputs"];
        assert_eq!(
            challenge_hash(&peer, &auth, user).to_vec(),
            hex(&o["Challenge"])
        );
        let ph = nt_password_hash(&pw);
        assert_eq!(ph.to_vec(), hex(&o["PasswordHash"]));
        assert_eq!(
            hash_nt_password_hash(&ph).to_vec(),
            hex(&o["PasswordHashHash"])
        );
        let nt = generate_nt_response(&auth, &peer, user, &pw);
        assert_eq!(nt.to_vec(), hex(&o["NT_Response"]));
        let s = authenticator_response(&pw, &nt, &peer, &auth, user);
        let printed = o["AuthenticatorResponse"].as_str().unwrap();
        assert_eq!(format!("S={}", crate::wire::hex_upper(&s)), printed);
    }

    #[test]
    fn domain_is_not_hashed() {
        let v = vector("rfc2759_mschapv2_hash_example");
        let auth: [u8; 16] = hex(&v["inputs"]["AuthenticatorChallenge"])
            .try_into()
            .unwrap();
        let peer: [u8; 16] = hex(&v["inputs"]["PeerChallenge"]).try_into().unwrap();
        assert_eq!(
            challenge_hash(&peer, &auth, "CORP\\User"),
            challenge_hash(&peer, &auth, "User")
        );
        assert_eq!(strip_domain("a\\b\\c"), "c");
    }

    #[test]
    fn rfc2759_section_9_3_des_keys() {
        let v = vector("rfc2759_des_key_generation");
        for (raw, parity) in [("RawKey1", "ParityKey1"), ("RawKey2", "ParityKey2")] {
            assert_eq!(
                des_key(&hex(&v["inputs"][raw])).to_vec(),
                hex(&v["outputs"][parity])
            );
        }
        let pw = Password::new(v["inputs"]["Password_ascii"].as_str().unwrap());
        assert_eq!(
            nt_password_hash(&pw).to_vec(),
            hex(&v["inputs"]["PasswordHash"])
        );
    }

    #[test]
    fn rfc2433_appendix_b() {
        let v = vector("rfc2433_mschapv1_hash_example");
        let pw = Password::new(v["inputs"]["Password_ascii"].as_str().unwrap());
        let chal: [u8; 8] = hex(&v["inputs"]["Challenge"]).try_into().unwrap();
        assert_eq!(
            nt_password_hash(&pw).to_vec(),
            hex(&v["outputs"]["NtPasswordHash"])
        );
        assert_eq!(
            mschapv1_nt_response(&chal, &pw).to_vec(),
            hex(&v["outputs"]["NtChallengeResponse"])
        );
    }

    #[test]
    fn lm_hash_memo_example() {
        let v = vector("mschapv1_lm_hash_example");
        let pw = Password::new(
            String::from_utf8(hex(&v["inputs"]["LmPassword_oem"]))
                .unwrap()
                .to_lowercase(),
        );
        let lm = lm_password_hash(&pw);
        assert_eq!(lm.to_vec(), hex(&v["outputs"]["LmPasswordHash"]));
        let chal: [u8; 8] = hex(&v["inputs"]["Challenge"]).try_into().unwrap();
        assert_eq!(
            challenge_response(&chal, &lm).to_vec(),
            hex(&v["outputs"]["LmChallengeResponse"])
        );
    }
}
