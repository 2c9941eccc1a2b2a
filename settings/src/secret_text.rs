//! Growing strings and buffers that hold secrets without leaving copies behind.
//!
//! A `String` or `Vec` that outgrows its allocation moves its bytes to a new one
//! and frees the old one as it is, secret and all; `Zeroizing` wipes only the
//! allocation it holds at the end. These grow by hand instead: into a fresh
//! `Zeroizing` buffer, so that the old one is wiped as it is dropped.

use zeroize::Zeroizing;

fn new_capacity(len: usize, cap: usize, extra: usize) -> usize {
    (len + extra).max(cap.saturating_mul(2)).max(64)
}

/// `s.push_str(add)` for a secret string.
pub fn push_str(s: &mut Zeroizing<String>, add: &str) {
    if s.capacity() - s.len() < add.len() {
        let mut grown = Zeroizing::new(String::with_capacity(new_capacity(
            s.len(),
            s.capacity(),
            add.len(),
        )));
        grown.push_str(s);
        // The old allocation is wiped as it is dropped here.
        *s = grown;
    }
    s.push_str(add);
}

/// `v.push(b)` for a secret buffer.
pub fn push_byte(v: &mut Zeroizing<Vec<u8>>, b: u8) {
    if v.capacity() == v.len() {
        let mut grown = Zeroizing::new(Vec::with_capacity(new_capacity(v.len(), v.capacity(), 1)));
        grown.extend_from_slice(v);
        *v = grown;
    }
    v.push(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_keeps_the_text_and_never_reallocates_in_place() {
        let mut s = Zeroizing::new(String::new());
        let mut v = Zeroizing::new(Vec::new());
        let mut want = String::new();
        for i in 0..500 {
            let piece = format!("{i}\n");
            let (cap, ptr) = (s.capacity(), s.as_ptr());
            push_str(&mut s, &piece);
            want.push_str(&piece);
            // Either it fitted (same allocation) or it moved by our hand into
            // one that leaves room to grow.
            assert!(
                s.as_ptr() == ptr || s.capacity() >= 2 * cap,
                "{cap} -> {}",
                s.capacity()
            );
            for b in piece.bytes() {
                let (cap, ptr) = (v.capacity(), v.as_ptr());
                push_byte(&mut v, b);
                assert!(v.as_ptr() == ptr || v.capacity() >= 2 * cap.max(32));
            }
        }
        assert_eq!(s.as_str(), want);
        assert_eq!(v.as_slice(), want.as_bytes());
    }
}
