//! The Internet checksum (RFC 1071) for IPv4 headers and for TCP/UDP with the
//! IPv4 or IPv6 pseudo-header: shared by everything that edits or builds packets.

/// Sum of big-endian 16-bit words, an odd last byte padded with zero.
fn add_words(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// The netmask of a prefix length (lengths past 32 are 32).
pub fn prefix_mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

/// Checksum of an IPv4 header whose checksum field is zero (or, to verify a
/// received header, 0 means it is right).
pub fn header_checksum(header: &[u8]) -> u16 {
    fold(add_words(0, header))
}

/// TCP or UDP checksum over the pseudo-header (`src`, `dst`, `protocol`, length)
/// and `segment`, whose own checksum field is zero (or, to verify, 0 means right).
pub fn transport_checksum(src: [u8; 4], dst: [u8; 4], protocol: u8, segment: &[u8]) -> u16 {
    let mut sum = add_words(0, &src);
    sum = add_words(sum, &dst);
    sum += u32::from(protocol) + segment.len() as u32;
    fold(add_words(sum, segment))
}

/// The same with the IPv6 pseudo-header (RFC 8200 §8.1).
pub fn transport_checksum_v6(src: [u8; 16], dst: [u8; 16], protocol: u8, segment: &[u8]) -> u16 {
    let mut sum = add_words(0, &src);
    sum = add_words(sum, &dst);
    sum += u32::from(protocol) + segment.len() as u32;
    fold(add_words(sum, segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071's example header (a well-known capture): its checksum is 0xB861.
    #[test]
    fn header_checksum_matches_a_known_header() {
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(header_checksum(&h), 0xB861);
        h[10..12].copy_from_slice(&0xB861u16.to_be_bytes());
        assert_eq!(header_checksum(&h), 0, "a right header verifies to 0");
    }

    #[test]
    fn odd_lengths_pad_with_zero() {
        let a = transport_checksum([1, 2, 3, 4], [5, 6, 7, 8], 17, &[0xAB]);
        let b = transport_checksum([1, 2, 3, 4], [5, 6, 7, 8], 17, &[0xAB, 0]);
        // The pseudo-header's length differs by one, the data sums are equal.
        assert_eq!(a.wrapping_sub(b), 1);
    }
}
