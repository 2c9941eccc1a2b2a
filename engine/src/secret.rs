//! Types that hold secrets: wiped on drop, never printed.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A user's password. `Debug` prints a placeholder; the bytes are wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The password as Windows hashes it: UTF-16LE code units.
    pub fn utf16le(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Zeroizing::new(Vec::with_capacity(self.0.len() * 2));
        for u in self.0.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Key material (hashes, MPPE keys). `Debug` never shows the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretBytes<const N: usize>(pub(crate) [u8; N]);

impl<const N: usize> SecretBytes<N> {
    pub fn new(b: [u8; N]) -> Self {
        SecretBytes(b)
    }
    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes<{N}>(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secret() {
        let p = Password::new("hunter2");
        assert!(!format!("{p:?}").contains("hunter2"));
        let k = SecretBytes::new([0xAB; 4]);
        let s = format!("{k:?}");
        assert!(!s.contains("AB") && !s.contains("171"), "{s}");
    }

    #[test]
    fn utf16le_encoding() {
        assert_eq!(&*Password::new("Aé").utf16le(), &[0x41, 0, 0xE9, 0]);
        // U+1F600 is a surrogate pair in UTF-16.
        assert_eq!(
            &*Password::new("\u{1F600}").utf16le(),
            &[0x3D, 0xD8, 0x00, 0xDE]
        );
    }
}
