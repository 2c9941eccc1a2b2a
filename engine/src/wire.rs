//! Bounds-checked big-endian reading shared by every decoder.
//!
//! Decoders never index a slice directly: each read goes through [`Reader`], so a
//! truncated packet becomes a [`DecodeError`] naming what was being decoded.

use thiserror::Error;

/// Why a sequence of bytes from the network could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("{what}: truncated (need {need} bytes, have {have})")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{what}: bad length {len}")]
    BadLength { what: &'static str, len: usize },
    #[error("{what}: invalid {field} {value:#x}")]
    BadField {
        what: &'static str,
        field: &'static str,
        value: u32,
    },
}

pub(crate) struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Reader { what, buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                what: self.what,
                need: self.pos + n,
                have: self.buf.len(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }
}

/// A NUL-padded fixed-width text field (host names, vendor strings, phone numbers).
/// Bytes that are not UTF-8 become U+FFFD, which is longer: the text is cut to the
/// field's width at a character boundary, so what is decoded always encodes back
/// to itself (found by the control_message fuzzer).
pub(crate) fn fixed_str(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let mut s = String::from_utf8_lossy(&field[..end]).into_owned();
    s.truncate(floor_char_boundary(&s, field.len()));
    s
}

/// The largest index ≤ `i` that starts a character of `s` (or its end).
fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    (0..=i).rev().find(|&j| s.is_char_boundary(j)).unwrap_or(0)
}

/// Writes at most `width` bytes of `s`, never half a character.
pub(crate) fn put_fixed_str(out: &mut Vec<u8>, s: &str, width: usize) {
    let n = floor_char_boundary(s, width);
    out.extend_from_slice(&s.as_bytes()[..n]);
    out.resize(out.len() + (width - n), 0);
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

pub(crate) fn parse_hex(s: &str, out: &mut [u8]) -> Option<()> {
    let s = s.as_bytes();
    if s.len() != out.len() * 2 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (s[2 * i] as char).to_digit(16)?;
        let lo = (s[2 * i + 1] as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(())
}

#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let mut v = vec![0u8; s.len() / 2];
    parse_hex(s, &mut v).expect("valid hex in test");
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_strings_round_trip_even_when_not_utf8() {
        let mut field = vec![0xFFu8; 64];
        field[..3].copy_from_slice(b"abc");
        let s = fixed_str(&field);
        assert!(s.len() <= 64 && s.starts_with("abc"), "{s:?}");
        let mut out = Vec::new();
        put_fixed_str(&mut out, &s, 64);
        assert_eq!(out.len(), 64);
        assert_eq!(fixed_str(&out), s);
        // A multi-byte character is never cut in half.
        let mut out = Vec::new();
        put_fixed_str(&mut out, "ééé", 5);
        assert_eq!(fixed_str(&out), "éé");
    }

    use super::*;

    #[test]
    fn reader_reports_truncation() {
        let mut r = Reader::new("thing", &[1, 2, 3]);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(
            r.u16(),
            Err(DecodeError::Truncated {
                what: "thing",
                need: 4,
                have: 3
            })
        );
    }

    #[test]
    fn hex_roundtrip() {
        assert_eq!(hex_upper(&[0xde, 0xad, 0x01]), "DEAD01");
        let mut o = [0u8; 2];
        assert!(parse_hex("zz00", &mut o).is_none());
        assert!(parse_hex("abc", &mut o).is_none());
        assert!(parse_hex("aBcD", &mut o).is_some());
        assert_eq!(o, [0xab, 0xcd]);
    }
}
