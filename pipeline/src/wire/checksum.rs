//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! The checksum field of IPv4, ICMPv4, UDP and TCP holds the ones'
//! complement of the ones' complement sum of the covered data, taken as
//! big-endian 16-bit words (RFC 1071 §1):
//!
//! ```text
//!   sum   = w0 +' w1 +' ... +' wn      (+' : add with end-around carry;
//!                                        an odd last byte is padded with 0)
//!   field = ~sum
//! ```
//!
//! A receiver sums the data *including* the field: the result is `0xFFFF`
//! (negative zero), i.e. [`checksum`] over the whole header returns 0.
//!
//! The sum is commutative and associative, so it can be computed in any
//! order and in pieces ([`sum`] takes an `initial` partial sum) and wider
//! words can be added at once as long as carries are folded back in
//! (RFC 1071 §2 (B), (C)). [`sum`] adds 64 bits at a time.
//!
//! When a router changes one field (the TTL), it updates the checksum
//! instead of recomputing it, with RFC 1624 eqn. 3:
//!
//! ```text
//!   HC' = ~(~HC + ~m + m')
//! ```
//!
//! where `m` is the old and `m'` the new value of the 16-bit word. Unlike
//! RFC 1141's `HC' = HC + m + ~m'` it never turns a correct `0x0000` into
//! `0xFFFF` (RFC 1624 §3).

use std::net::Ipv4Addr;

/// Folds a 64-bit sum with end-around carries down to 16 bits.
#[inline]
fn fold64(mut acc: u64) -> u16 {
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Adds `data` (as big-endian 16-bit words) to the partial sum `initial`
/// and returns the new partial sum, folded to 16 bits (never above
/// `0xFFFF`, so a handful of partial sums can be added with plain `+`
/// before [`fold`]).
///
/// Pieces of a message can be summed separately and chained, provided
/// every piece but the last has an even length (an odd piece would shift
/// the bytes of the next one within their words).
#[inline]
pub fn sum(data: &[u8], initial: u32) -> u32 {
    let mut acc = u64::from(initial);
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let v = u64::from_be_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        // 2^64 ≡ 1 (mod 2^16 - 1): the carry out of 64 bits wraps around.
        let (s, carry) = acc.overflowing_add(v);
        acc = s + u64::from(carry);
    }
    // At most 7 bytes left; fold first so the additions cannot overflow.
    let mut acc = u64::from(fold64(acc));
    let mut pairs = words.remainder().chunks_exact(2);
    for pair in &mut pairs {
        acc += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    u32::from(fold64(acc))
}

/// Folds a partial sum to 16 bits and complements it: the value of the
/// checksum field.
#[inline]
pub fn fold(sum: u32) -> u16 {
    !fold64(u64::from(sum))
}

/// The Internet checksum of `data`: `fold(sum(data, 0))`.
///
/// Over data whose checksum field is already filled in, the result is 0
/// exactly when the checksum is correct.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum(data, 0))
}

/// The partial sum of the IPv4 pseudo header that UDP (RFC 768) and TCP
/// (RFC 9293 §3.1) prepend to their checksum:
///
/// ```text
///  0      7 8     15 16    23 24    31
/// +--------+--------+--------+--------+
/// |          source address           |
/// +--------+--------+--------+--------+
/// |        destination address        |
/// +--------+--------+--------+--------+
/// |  zero  |protocol|  UDP/TCP length |
/// +--------+--------+--------+--------+
/// ```
///
/// `length` is the length of the UDP/TCP header plus payload. Returns a
/// partial sum for [`sum`]'s `initial`.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u32) -> u32 {
    let src = u32::from(src);
    let dst = u32::from(dst);
    let acc = u64::from(src >> 16)
        + u64::from(src & 0xffff)
        + u64::from(dst >> 16)
        + u64::from(dst & 0xffff)
        + u64::from(protocol)
        + u64::from(length >> 16)
        + u64::from(length & 0xffff);
    u32::from(fold64(acc))
}

/// Updates checksum field `old_checksum` after a 16-bit word of the
/// covered data changed from `old` to `new` (RFC 1624 eqn. 3).
#[inline]
pub fn update16(old_checksum: u16, old: u16, new: u16) -> u16 {
    let acc = u32::from(!old_checksum) + u32::from(!old) + u32::from(new);
    // acc <= 3 * 0xFFFF: two end-around-carry folds always suffice, so no
    // loop (this runs for every forwarded packet).
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    !(acc as u16)
}

/// The IPv4 header checksum after the TTL drops by one: RFC 1624 eqn. 3
/// with `~m + m'` = `!0x0100` (the TTL is the high byte of its word),
/// computed on the field as stored. `stored` and the result are the two
/// checksum bytes read and written in native byte order: the
/// ones'-complement sum is byte-order independent (RFC 1071 §2(B)), so no
/// byte swaps are needed on any host.
#[inline(always)]
pub fn ttl_decrement(stored: u16) -> u16 {
    // !0x0100 as it sits in memory (network order), read natively.
    let k = u16::from_ne_bytes([0xfe, 0xff]);
    // At most 0x1FFFE: one end-around-carry fold suffices, and the result
    // is never 0 (k != 0), exactly as update16 gives.
    let acc = u32::from(!stored) + u32::from(k);
    let acc = (acc & 0xffff) + (acc >> 16);
    !(acc as u16)
}

/// Updates checksum field `old_checksum` after a 32-bit value of the
/// covered data (aligned on a 16-bit word, e.g. an IPv4 address) changed
/// from `old` to `new` (RFC 1624 eqn. 3, applied to both words at once).
#[inline]
pub fn update32(old_checksum: u16, old: u32, new: u32) -> u16 {
    let acc = u64::from(!old_checksum)
        + u64::from(!(old >> 16) & 0xffff)
        + u64::from(!old & 0xffff)
        + u64::from(new >> 16)
        + u64::from(new & 0xffff);
    !fold64(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_decrement_matches_update16_and_recomputation() {
        let mut rng = XorShift::new(0x77a1);
        for i in 0..200_000u32 {
            let mut h = [0u8; 20];
            for b in h.iter_mut() {
                *b = rng.next_u64() as u8;
            }
            h[0] = 0x45;
            h[8] = (i % 255) as u8 + 1; // TTL 1..=255
            h[10] = 0;
            h[11] = 0;
            let c = checksum(&h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            let old = u16::from_be_bytes([h[8], h[9]]);
            let want = update16(c, old, old - 0x0100);
            let got = ttl_decrement(u16::from_ne_bytes([h[10], h[11]])).to_ne_bytes();
            assert_eq!(got, want.to_be_bytes(), "header {h:02x?}");
            // And the result is what a full recomputation gives.
            h[8] -= 1;
            h[10..12].copy_from_slice(&got);
            assert_eq!(fold(sum(&h, 0)), 0, "header {h:02x?}");
        }
    }
    use crate::wire::testutil::XorShift;

    /// The textbook loop of RFC 1071 §4.1, to check the fast one against.
    fn reference_sum(data: &[u8]) -> u32 {
        let mut acc: u32 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            acc += u32::from(data[i]) << 8 | u32::from(data[i + 1]);
            i += 2;
        }
        if i < data.len() {
            acc += u32::from(data[i]) << 8;
        }
        while acc >> 16 != 0 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of these bytes is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data, 0), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
        // Byte-swapped input gives a byte-swapped sum (§2 (B)).
        let swapped = [0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6];
        assert_eq!(sum(&swapped, 0), 0xf2dd);
    }

    #[test]
    fn ipv4_header() {
        // A real IPv4 header with checksum 0xb861.
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&header), 0);
        header[10] = 0;
        header[11] = 0;
        assert_eq!(checksum(&header), 0xb861);
    }

    #[test]
    fn edge_values() {
        assert_eq!(sum(&[], 0), 0);
        assert_eq!(checksum(&[]), 0xffff);
        assert_eq!(checksum(&[0; 64]), 0xffff);
        assert_eq!(sum(&[0xff; 64], 0), 0xffff);
        assert_eq!(checksum(&[0xff; 64]), 0);
        assert_eq!(sum(&[0xab], 0), 0xab00);
        // The partial sum never exceeds 16 bits, whatever `initial` is.
        assert_eq!(sum(&[0xff, 0xff], u32::MAX), 0xffff);
        assert_eq!(sum(&[0xff; 16], u32::MAX), 0xffff);
        assert_eq!(fold(0x1_fffe), 0);
        assert_eq!(fold(u32::MAX), 0);
        assert_eq!(fold(0), 0xffff);
    }

    #[test]
    fn matches_reference_at_every_length_and_alignment() {
        let mut rng = XorShift::new(1071);
        let mut buf = [0u8; 300];
        for _ in 0..20 {
            rng.fill(&mut buf);
            for start in 0..8 {
                for end in start..buf.len() {
                    let data = &buf[start..end];
                    assert_eq!(sum(data, 0), reference_sum(data), "{start}..{end}");
                }
            }
        }
        // All ones stresses the carries.
        let ones = [0xff; 1500];
        for len in 0..ones.len() {
            assert_eq!(sum(&ones[..len], 0), reference_sum(&ones[..len]));
        }
    }

    #[test]
    fn chained_pieces() {
        let mut rng = XorShift::new(7);
        let mut buf = [0u8; 1000];
        rng.fill(&mut buf);
        for split in (0..buf.len()).step_by(2) {
            let (a, b) = buf.split_at(split);
            assert_eq!(sum(b, sum(a, 0)), sum(&buf, 0));
        }
        // Partial sums can be added with `+` before folding.
        let parts = sum(&buf[..500], 0) + sum(&buf[500..], 0) + 0xffff;
        assert_eq!(fold(parts), fold(sum(&buf, 0xffff)));
    }

    #[test]
    fn pseudo_header() {
        let src = Ipv4Addr::new(192, 168, 0, 1);
        let dst = Ipv4Addr::new(192, 168, 0, 199);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&[0, 17, 0x05, 0xdc]);
        assert_eq!(pseudo_header_v4(src, dst, 17, 1500), sum(&bytes, 0));
        let max = Ipv4Addr::new(255, 255, 255, 255);
        assert!(pseudo_header_v4(max, max, 255, u32::MAX) <= 0xffff);
    }

    #[test]
    fn rfc1624_corner_case() {
        // RFC 1624 §3: the other header octets sum to 0xCD7A and a field
        // changes from 0x5555 to 0x3285.
        let hc = fold(0xcd7a + 0x5555);
        assert_eq!(hc, 0xdd2f);
        // Recomputing gives ~(0xCD7A + 0x3285) = ~0xFFFF = 0x0000 ...
        assert_eq!(fold(0xcd7a + 0x3285), 0x0000);
        // ... and so must the update, not RFC 1141's 0xFFFF.
        assert_eq!(update16(hc, 0x5555, 0x3285), 0x0000);
        // RFC 1141: HC' = HC + m + ~m' (a plain ones' complement sum).
        let rfc1141 = !fold(u32::from(hc) + 0x5555 + u32::from(!0x3285u16));
        assert_eq!(rfc1141, 0xffff, "RFC 1141's eqn. gives -0");
        // The 32-bit form agrees.
        assert_eq!(update32(hc, 0x5555_0000, 0x3285_0000), 0x0000);
    }

    #[test]
    fn update_matches_recompute() {
        let mut rng = XorShift::new(1624);
        let mut header = [0u8; 20];
        for _ in 0..20_000 {
            rng.fill(&mut header);
            header[10] = 0;
            header[11] = 0;
            let hc = checksum(&header);
            header[10..12].copy_from_slice(&hc.to_be_bytes());
            assert_eq!(checksum(&header), 0);

            // A 16-bit word at an even offset (not the checksum itself).
            let at = 2 * rng.below(9);
            let at = if at >= 10 { at + 2 } else { at };
            let old = u16::from_be_bytes([header[at], header[at + 1]]);
            let new = rng.next_u64() as u16;
            header[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let updated = update16(hc, old, new);
            header[10] = 0;
            header[11] = 0;
            assert_eq!(updated, checksum(&header));
            header[10..12].copy_from_slice(&updated.to_be_bytes());

            // A 32-bit address.
            let at = if rng.below(2) == 0 { 12 } else { 16 };
            let old = u32::from_be_bytes(header[at..at + 4].try_into().unwrap());
            let new = rng.next_u64() as u32;
            header[at..at + 4].copy_from_slice(&new.to_be_bytes());
            let updated32 = update32(updated, old, new);
            header[10] = 0;
            header[11] = 0;
            assert_eq!(updated32, checksum(&header));
        }
    }
}
