//! Generic Routing Encapsulation (RFC 2784) with the key and sequence
//! number extensions (RFC 2890).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |C|R|K|S|s|Rcr| Reserved0 | Ver |         Protocol Type         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Checksum (optional)      |       Reserved1 (optional)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Key (optional)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Sequence Number (optional)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! - **C** (bit 0): the Checksum and Reserved1 words are present
//!   (RFC 2784 §2.5). The checksum is the ones'-complement sum of the GRE
//!   header and the payload, computed with the field set to zero.
//! - **K** (bit 2) and **S** (bit 3): the Key (RFC 2890 §2.1) and the
//!   Sequence Number (§2.2) words are present, in that order after the
//!   checksum word.
//! - **R**, **s** and **Rcr** (bits 1, 4, 5): RFC 1701's routing, strict
//!   source route and recursion control. RFC 2784 §2.3: a receiver MUST
//!   discard a packet where any of bits 1–5 is set, unless it implements
//!   RFC 1701; bits 2 and 3 are K and S since RFC 2890, so bits 1, 4 and 5
//!   make a packet [`Error::Malformed`]. Bits 6–12 MUST be ignored on
//!   receipt (§2.3) and are sent as zero.
//! - **Ver** (bits 13–15): 0 (§2.3.1). Version 1 is PPTP's enhanced GRE
//!   (RFC 2637): [`Error::Unsupported`], like any other non-zero version.
//! - **Protocol Type**: the EtherType of the payload (§2.4): 0x0800 for
//!   IPv4, 0x86DD for IPv6, 0x6558 for Ethernet (transparent bridging).
//!
//! The header is 4 bytes, plus 4 for each of C, K and S: 4 to 16. Over
//! IPv4 (IP protocol 47) the GRE packet is the IPv4 payload; its length
//! comes from the IPv4 header, so a view's buffer is exactly the IPv4
//! payload.

use core::fmt;

use super::checksum;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

mod field {
    pub const FLAGS: usize = 0;
    pub const PROTOCOL: usize = 2;
    pub const OPTIONS: usize = 4;
}

/// Bit 0 of the first 16-bit word: Checksum Present.
pub const FLAG_C: u16 = 0x8000;
/// Bit 1: Routing Present (RFC 1701; discarded here).
pub const FLAG_R: u16 = 0x4000;
/// Bit 2: Key Present (RFC 2890 §2.1).
pub const FLAG_K: u16 = 0x2000;
/// Bit 3: Sequence Number Present (RFC 2890 §2.2).
pub const FLAG_S: u16 = 0x1000;
/// Bits 1, 4 and 5: set only by RFC 1701 senders; RFC 2784 §2.3 asks a
/// receiver to discard such a packet.
const MUST_BE_ZERO: u16 = FLAG_R | 0x0800 | 0x0400;
/// Bits 13–15: the version.
const VERSION_MASK: u16 = 0x0007;

/// IP protocol number of GRE (RFC 1700; [`super::ipv4::Protocol`]).
pub const IP_PROTOCOL: u8 = 47;
/// Protocol Type of an IPv4 payload.
pub const PROTO_IPV4: u16 = 0x0800;
/// Protocol Type of an IPv6 payload.
pub const PROTO_IPV6: u16 = 0x86dd;
/// Protocol Type of an Ethernet payload (Transparent Ethernet Bridging).
pub const PROTO_ETHERNET: u16 = 0x6558;

/// The length of a GRE header with the given optional words.
#[inline]
pub const fn header_len(checksum: bool, key: bool, sequence: bool) -> usize {
    4 + 4 * (checksum as usize + key as usize + sequence as usize)
}

/// The length of the header whose first 16-bit word is `flags`.
#[inline]
const fn header_len_of(flags: u16) -> usize {
    header_len(
        flags & FLAG_C != 0,
        flags & FLAG_K != 0,
        flags & FLAG_S != 0,
    )
}

/// A read/write view of a GRE packet. The buffer is the IPv4 payload:
/// the GRE header and the encapsulated packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length of the smallest header (no optional word).
    pub const MIN_HEADER_LEN: usize = field::OPTIONS;

    /// Wraps `buffer` without checking it; getters may panic if it is
    /// shorter than the header its flags announce.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the header: [`Error::Truncated`] if the buffer is shorter
    /// than the header its flags announce, [`Error::Malformed`] if an
    /// RFC 1701 bit (R, s, Recur) is set, [`Error::Unsupported`] for a
    /// version other than 0. The checksum is not checked: see
    /// [`Self::verify_checksum`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < field::OPTIONS {
            return Err(Error::Truncated);
        }
        let flags = read_u16(data, field::FLAGS);
        if flags & MUST_BE_ZERO != 0 {
            return Err(Error::Malformed);
        }
        if flags & VERSION_MASK != 0 {
            return Err(Error::Unsupported);
        }
        if data.len() < header_len_of(flags) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The first 16-bit word: flags, reserved bits and version.
    #[inline]
    pub fn flags(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLAGS)
    }

    /// The version (bits 13–15).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.flags() & VERSION_MASK) as u8
    }

    /// Whether the Checksum word is present (C).
    #[inline]
    pub fn has_checksum(&self) -> bool {
        self.flags() & FLAG_C != 0
    }

    /// Whether the Key word is present (K).
    #[inline]
    pub fn has_key(&self) -> bool {
        self.flags() & FLAG_K != 0
    }

    /// Whether the Sequence Number word is present (S).
    #[inline]
    pub fn has_sequence(&self) -> bool {
        self.flags() & FLAG_S != 0
    }

    /// The Protocol Type: the payload's EtherType.
    #[inline]
    pub fn protocol(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// The length of the header, optional words included.
    #[inline]
    pub fn header_len(&self) -> usize {
        header_len_of(self.flags())
    }

    /// Where the Key word is (after the checksum word, if any).
    #[inline]
    fn key_at(&self) -> usize {
        field::OPTIONS + 4 * usize::from(self.has_checksum())
    }

    /// The Checksum field, if present.
    #[inline]
    pub fn checksum(&self) -> Option<u16> {
        self.has_checksum()
            .then(|| read_u16(self.buffer.as_ref(), field::OPTIONS))
    }

    /// The Key, if present (RFC 2890 §2.1).
    #[inline]
    pub fn key(&self) -> Option<u32> {
        self.has_key()
            .then(|| read_u32(self.buffer.as_ref(), self.key_at()))
    }

    /// The Sequence Number, if present (RFC 2890 §2.2).
    #[inline]
    pub fn sequence(&self) -> Option<u32> {
        self.has_sequence().then(|| {
            let at = self.key_at() + 4 * usize::from(self.has_key());
            read_u32(self.buffer.as_ref(), at)
        })
    }

    /// Whether the checksum is right (RFC 2784 §2.5: the ones'-complement
    /// sum over the header and the payload is 0xFFFF); true when there is
    /// none.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        !self.has_checksum() || checksum::checksum(self.buffer.as_ref()) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The encapsulated packet.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the first word: flags, reserved bits and version.
    #[inline]
    pub fn set_flags(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::FLAGS, value);
    }

    /// Sets the Protocol Type.
    #[inline]
    pub fn set_protocol(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::PROTOCOL, value);
    }

    /// Sets the Key word; the K flag must be set.
    #[inline]
    pub fn set_key(&mut self, value: u32) {
        let at = self.key_at();
        write_u32(self.buffer.as_mut(), at, value);
    }

    /// Sets the Sequence Number word; the S flag must be set.
    #[inline]
    pub fn set_sequence(&mut self, value: u32) {
        let at = self.key_at() + 4 * usize::from(self.has_key());
        write_u32(self.buffer.as_mut(), at, value);
    }

    /// Computes and writes the checksum over the whole buffer (header and
    /// payload), when the C flag is set; Reserved1 is zeroed too.
    #[inline]
    pub fn fill_checksum(&mut self) {
        if !self.has_checksum() {
            return;
        }
        let data = self.buffer.as_mut();
        write_u32(data, field::OPTIONS, 0);
        let c = checksum::checksum(data);
        write_u16(data, field::OPTIONS, c);
    }

    /// The encapsulated packet, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        &mut self.buffer.as_mut()[at..]
    }
}

/// A parsed GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Protocol Type: the payload's EtherType.
    pub protocol: u16,
    /// Whether a checksum is carried.
    pub checksum: bool,
    /// The Key, if any.
    pub key: Option<u32>,
    /// The Sequence Number, if any.
    pub sequence: Option<u32>,
}

impl Repr {
    /// Reads a checked packet. Its checksum is not verified here (see
    /// [`Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            protocol: packet.protocol(),
            checksum: packet.has_checksum(),
            key: packet.key(),
            sequence: packet.sequence(),
        })
    }

    /// The length of the header.
    pub const fn header_len(&self) -> usize {
        header_len(self.checksum, self.key.is_some(), self.sequence.is_some())
    }

    /// The first 16-bit word of the header: flags, version 0.
    pub const fn flags(&self) -> u16 {
        (if self.checksum { FLAG_C } else { 0 })
            | (if self.key.is_some() { FLAG_K } else { 0 })
            | (if self.sequence.is_some() { FLAG_S } else { 0 })
    }

    /// Writes the header into `packet` (at least [`Self::header_len`]
    /// bytes). The checksum word is zeroed: call
    /// [`Packet::fill_checksum`] once the payload is in place.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_flags(self.flags());
        packet.set_protocol(self.protocol);
        if self.checksum {
            write_u32(packet.buffer.as_mut(), field::OPTIONS, 0);
        }
        if let Some(k) = self.key {
            packet.set_key(k);
        }
        if let Some(s) = self.sequence {
            packet.set_sequence(s);
        }
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GRE proto=0x{:04x}", self.protocol)?;
        if self.checksum {
            f.write_str(" csum")?;
        }
        if let Some(k) = self.key {
            write!(f, " key={k}")?;
        }
        if let Some(s) = self.sequence {
            write!(f, " seq={s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::XorShift;

    /// An IPv4 packet header to carry (contents do not matter to GRE).
    const INNER: [u8; 20] = [
        0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];

    /// Every combination of C, K and S, built by hand from the RFC layout.
    fn hand_built(c: bool, k: bool, s: bool) -> Vec<u8> {
        let mut v = Vec::new();
        let flags = (u16::from(c) << 15) | (u16::from(k) << 13) | (u16::from(s) << 12);
        v.extend_from_slice(&flags.to_be_bytes());
        v.extend_from_slice(&0x0800u16.to_be_bytes());
        if c {
            v.extend_from_slice(&[0, 0, 0, 0]);
        }
        if k {
            v.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        }
        if s {
            v.extend_from_slice(&7u32.to_be_bytes());
        }
        v.extend_from_slice(&INNER);
        if c {
            let sum = checksum::checksum(&v);
            v[4..6].copy_from_slice(&sum.to_be_bytes());
        }
        v
    }

    #[test]
    fn every_flag_combination_parses_and_emits_byte_for_byte() {
        for bits in 0..8u8 {
            let (c, k, s) = (bits & 4 != 0, bits & 2 != 0, bits & 1 != 0);
            let wire = hand_built(c, k, s);
            let p = Packet::new_checked(&wire[..]).unwrap();
            let repr = Repr::parse(&p).unwrap();
            assert_eq!(
                repr,
                Repr {
                    protocol: PROTO_IPV4,
                    checksum: c,
                    key: k.then_some(0x0102_0304),
                    sequence: s.then_some(7),
                },
                "C={c} K={k} S={s}"
            );
            assert_eq!(p.header_len(), header_len(c, k, s));
            assert_eq!(
                p.header_len(),
                4 + 4 * (c as usize + k as usize + s as usize)
            );
            assert_eq!(p.payload(), &INNER);
            assert!(p.verify_checksum());
            assert_eq!(p.version(), 0);

            let mut buf = vec![0xaau8; repr.header_len() + INNER.len()];
            let mut out = Packet::new_unchecked(&mut buf[..]);
            repr.emit(&mut out);
            out.payload_mut().copy_from_slice(&INNER);
            out.fill_checksum();
            assert_eq!(buf, wire, "C={c} K={k} S={s}");
        }
    }

    #[test]
    fn known_vector_with_key() {
        // GRE with key 42 carrying IPv4, as Linux's `ip tunnel ... key 42`
        // sends it: flags 0x2000, protocol 0x0800, key 0x0000002a.
        let wire = [0x20, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x2a];
        let p = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(p.key(), Some(42));
        assert_eq!(p.sequence(), None);
        assert_eq!(p.checksum(), None);
        assert_eq!(p.payload(), &[] as &[u8]);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.to_string(), "GRE proto=0x0800 key=42");
    }

    #[test]
    fn bad_checksum_is_caught() {
        let mut wire = hand_built(true, true, false);
        assert!(Packet::new_checked(&wire[..]).unwrap().verify_checksum());
        let last = wire.len() - 1;
        wire[last] ^= 0x40;
        assert!(!Packet::new_checked(&wire[..]).unwrap().verify_checksum());
    }

    #[test]
    fn rfc1701_bits_and_versions_are_refused() {
        for bit in [FLAG_R, 0x0800, 0x0400] {
            let mut wire = hand_built(false, false, false);
            wire[..2].copy_from_slice(&bit.to_be_bytes());
            assert_eq!(
                Packet::new_checked(&wire[..]).unwrap_err(),
                Error::Malformed,
                "bit {bit:#06x}"
            );
        }
        for ver in 1..8u16 {
            let mut wire = hand_built(false, true, false);
            wire[..2].copy_from_slice(&(FLAG_K | ver).to_be_bytes());
            assert_eq!(
                Packet::new_checked(&wire[..]).unwrap_err(),
                Error::Unsupported,
                "version {ver}"
            );
        }
        // Bits 6-12 are ignored on receipt (RFC 2784 §2.3).
        let mut wire = hand_built(false, true, false);
        wire[..2].copy_from_slice(&(FLAG_K | 0x03f8).to_be_bytes());
        let p = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(p.key(), Some(0x0102_0304));
    }

    #[test]
    fn truncated_options_are_refused() {
        for bits in 1..8u8 {
            let (c, k, s) = (bits & 4 != 0, bits & 2 != 0, bits & 1 != 0);
            let wire = hand_built(c, k, s);
            let hl = header_len(c, k, s);
            for cut in 0..hl {
                assert_eq!(
                    Packet::new_checked(&wire[..cut]).unwrap_err(),
                    Error::Truncated,
                    "C={c} K={k} S={s}, {cut} bytes"
                );
            }
            assert!(Packet::new_checked(&wire[..hl]).is_ok());
        }
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = XorShift::new(2784);
        let mut buf = [0u8; 40];
        for _ in 0..20_000 {
            let n = rng.below(buf.len() + 1);
            rng.fill(&mut buf[..n]);
            if let Ok(p) = Packet::new_checked(&buf[..n]) {
                let r = Repr::parse(&p).unwrap();
                assert_eq!(r.header_len() + p.payload().len(), n);
                let _ = (p.verify_checksum(), r.to_string());
            }
        }
    }
}
