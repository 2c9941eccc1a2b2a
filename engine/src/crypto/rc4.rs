//! RC4, MPPE's cipher. Ours rather than the `rc4` crate's because a receiver must
//! be able to try a packet on a copy of the running state (`Clone`): in stateful
//! MPPE, what a packet claims is committed only once it decrypts to something
//! plausible, or one forged packet would consume the keystream of a real one.

use zeroize::Zeroize;

#[derive(Clone)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// Key schedule. MPPE keys are 8 or 16 bytes; any length from 1 to 256 works.
    pub fn new(key: &[u8]) -> Self {
        assert!(
            (1..=256).contains(&key.len()),
            "RC4 key of {} bytes",
            key.len()
        );
        let mut s = [0u8; 256];
        for (i, b) in s.iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, j as usize);
        }
        Rc4 { s, i: 0, j: 0 }
    }

    /// XOR the next `data.len()` keystream bytes into `data`.
    pub fn apply_keystream(&mut self, data: &mut [u8]) {
        let (mut i, mut j) = (self.i, self.j);
        let s = &mut self.s;
        for b in data {
            i = i.wrapping_add(1);
            let si = s[i as usize];
            j = j.wrapping_add(si);
            let sj = s[j as usize];
            s[i as usize] = sj;
            s[j as usize] = si;
            *b ^= s[si.wrapping_add(sj) as usize];
        }
        (self.i, self.j) = (i, j);
    }
}

impl Drop for Rc4 {
    fn drop(&mut self) {
        // One volatile write of the whole table (wide stores) rather than
        // `zeroize`'s 256 volatile byte stores: stateless MPPE drops two of
        // these per packet. Volatile, so the compiler cannot elide it.
        // SAFETY: `self.s` is a valid, aligned, exclusively borrowed array.
        unsafe { std::ptr::write_volatile(&mut self.s, [0u8; 256]) };
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        self.i.zeroize();
        self.j.zeroize();
    }
}

/// The state is key material: never printed.
impl std::fmt::Debug for Rc4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rc4 { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keystream(key: &[u8], skip: usize, n: usize) -> Vec<u8> {
        let mut c = Rc4::new(key);
        let mut v = vec![0u8; skip + n];
        c.apply_keystream(&mut v);
        v.split_off(skip)
    }

    /// RFC 6229 §2, offsets 0 and 1536, for a 40-bit and a 128-bit key.
    #[test]
    fn rfc6229_vectors() {
        let k40 = [1, 2, 3, 4, 5];
        assert_eq!(
            keystream(&k40, 0, 16),
            [
                0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27, 0xcc, 0xc3, 0x52, 0x4a, 0x0a, 0x11,
                0x18, 0xa8
            ]
        );
        let k128: Vec<u8> = (1..=16).collect();
        assert_eq!(
            keystream(&k128, 0, 16),
            [
                0x9a, 0xc7, 0xcc, 0x9a, 0x60, 0x9d, 0x1e, 0xf7, 0xb2, 0x93, 0x28, 0x99, 0xcd, 0xe4,
                0x1b, 0x97
            ]
        );
    }

    proptest! {
        /// Same keystream as the `rc4` crate, whatever the key and the chunking,
        /// and a clone continues exactly where the original stands.
        #[test]
        fn matches_the_rc4_crate(key in proptest::collection::vec(any::<u8>(), 1..=32),
                                 data in proptest::collection::vec(any::<u8>(), 0..600),
                                 split in 0usize..600) {
            use ::rc4::{KeyInit, StreamCipher};
            let mut theirs = data.clone();
            ::rc4::Rc4::new_from_slice(&key).unwrap().apply_keystream(&mut theirs);
            let mut ours = data.clone();
            let split = split.min(ours.len());
            let mut c = Rc4::new(&key);
            c.apply_keystream(&mut ours[..split]);
            let mut copy = c.clone();
            let mut tail = ours[split..].to_vec();
            c.apply_keystream(&mut ours[split..]);
            copy.apply_keystream(&mut tail);
            prop_assert_eq!(&ours, &theirs);
            prop_assert_eq!(&ours[split..], &tail[..]);
        }
    }
}
