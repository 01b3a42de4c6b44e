//! Wire formats as zero-copy views.
//!
//! Every protocol is laid out the same way:
//!
//! - a view, `Packet<T: AsRef<[u8]>>` (or `Frame<T>`, `Tag<T>`), over a
//!   borrowed or owned buffer. `new_unchecked` wraps the buffer as is;
//!   `new_checked` also validates lengths and structural fields and returns
//!   [`Error`] when the buffer is truncated or malformed. After `new_checked`
//!   succeeds no getter panics. Setters are available when `T: AsMut<[u8]>`;
//!   setters that change a length field can of course break that promise for
//!   later getters (keep length fields consistent, or use `Repr::emit`).
//! - a `Repr`, the parsed high-level form of the header: `Repr::parse` reads
//!   a checked view, `Repr::emit` writes into a view whose buffer is at least
//!   `Repr::buffer_len` bytes long, `Repr::header_len` is the length of the
//!   header alone.
//!
//! Nothing here allocates: the views are the per-packet fast path. Header
//! layouts are drawn next to each format, numbered after the RFC or
//! standard that defines them.
//!
//! ```text
//!  Ethernet II (IEEE 802.3)   ethernet.rs
//!   └ 802.1Q / 802.1ad tag    vlan.rs
//!   └ ARP (RFC 826)           arp.rs
//!   └ IPv4 (RFC 791)          ipv4.rs      checksum.rs (RFC 1071, RFC 1624)
//!      └ ICMPv4 (RFC 792)     icmpv4.rs
//!      └ UDP (RFC 768)        udp.rs
//!      └ TCP (RFC 9293)       tcp.rs
//!      └ GRE (RFC 2784, 2890) gre.rs
//! ```

use core::fmt;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod gre;
pub mod icmpv4;
pub mod ipv4;
pub mod tcp;
pub mod udp;
pub mod vlan;

pub use ethernet::{Address as EthernetAddress, EtherType};
pub use std::net::Ipv4Addr;

/// Why a buffer could not be read as (or written to) a wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header, or than a length field in it
    /// says the packet is.
    Truncated,
    /// A field holds a value the format forbids (bad version, a header
    /// length smaller than the minimum, a broken option, ...).
    Malformed,
    /// The checksum does not match the contents.
    Checksum,
    /// Well-formed, but a variant this implementation does not handle
    /// (an ARP for another hardware type, an unknown ICMP message, ...).
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated packet",
            Error::Malformed => "malformed packet",
            Error::Checksum => "checksum mismatch",
            Error::Unsupported => "unsupported packet",
        })
    }
}

impl std::error::Error for Error {}

/// The result of reading or writing a wire format.
pub type Result<T> = core::result::Result<T, Error>;

/// A byte range inside a header, e.g. `field::SRC_PORT`.
pub(crate) type Field = core::ops::Range<usize>;

/// Reads a big-endian `u16` at `at`; panics if out of bounds, like indexing.
#[inline]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Reads a big-endian `u32` at `at`; panics if out of bounds, like indexing.
#[inline]
pub(crate) fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Writes a big-endian `u16` at `at`; panics if out of bounds.
#[inline]
pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Writes a big-endian `u32` at `at`; panics if out of bounds.
#[inline]
pub(crate) fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// Helpers shared by the unit tests of the wire modules.
#[cfg(test)]
pub(crate) mod testutil {
    /// A xorshift64* generator: deterministic pseudo-random bytes without a
    /// dev-dependency.
    pub struct XorShift(u64);

    impl XorShift {
        /// A generator seeded with `seed` (0 is replaced by a constant).
        pub fn new(seed: u64) -> XorShift {
            XorShift(if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            })
        }

        /// The next 64 random bits.
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// A random number in `0..bound` (`bound` > 0).
        pub fn below(&mut self, bound: usize) -> usize {
            (self.next_u64() % bound as u64) as usize
        }

        /// Fills `buf` with random bytes.
        pub fn fill(&mut self, buf: &mut [u8]) {
            for chunk in buf.chunks_mut(8) {
                let bytes = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
        }
    }

    /// Calls `f` on every prefix of `valid`, then on `count` random buffers
    /// (random lengths up to `max_len`; half of them start with a random
    /// prefix of `valid`, so they get past the first checks).
    pub fn for_each_mangled(valid: &[u8], count: usize, max_len: usize, mut f: impl FnMut(&[u8])) {
        for len in 0..=valid.len() {
            f(&valid[..len]);
        }
        let mut rng = XorShift::new(valid.len() as u64 + 1);
        let mut buf = vec![0u8; max_len];
        for i in 0..count {
            let len = rng.below(max_len + 1);
            rng.fill(&mut buf[..len]);
            if i % 2 == 0 {
                let keep = rng.below(valid.len().min(len) + 1);
                buf[..keep].copy_from_slice(&valid[..keep]);
                // Flip a byte of the kept part now and then.
                if keep > 0 && i % 4 == 0 {
                    let at = rng.below(keep);
                    buf[at] ^= 1 << rng.below(8);
                }
            }
            f(&buf[..len]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display() {
        assert_eq!(Error::Truncated.to_string(), "truncated packet");
        assert_eq!(Error::Malformed.to_string(), "malformed packet");
        assert_eq!(Error::Checksum.to_string(), "checksum mismatch");
        assert_eq!(Error::Unsupported.to_string(), "unsupported packet");
        let boxed: Box<dyn std::error::Error> = Box::new(Error::Truncated);
        assert_eq!(boxed.to_string(), "truncated packet");
    }

    #[test]
    fn be_helpers() {
        let mut buf = [0u8; 6];
        write_u16(&mut buf, 0, 0x1234);
        write_u32(&mut buf, 2, 0xdead_beef);
        assert_eq!(buf, [0x12, 0x34, 0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(read_u16(&buf, 0), 0x1234);
        assert_eq!(read_u32(&buf, 2), 0xdead_beef);
    }
}
