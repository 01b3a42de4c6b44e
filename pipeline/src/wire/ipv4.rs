//! Internet Protocol version 4 (RFC 791).
//!
//! RFC 791 §3.1, with the type-of-service octet as redefined by RFC 2474
//! (DSCP) and RFC 3168 (ECN):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |0|D|M|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options                    |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!   IHL:  header length in 32-bit words (5..=15)
//!   D:    don't fragment;  M: more fragments
//!   Fragment Offset: in units of 8 bytes
//! ```
//!
//! Options (RFC 791 §3.1, "Options") are a single octet (0 = end of list,
//! 1 = no operation) or type, length (counting type and length, so at
//! least 2), data.
//!
//! A router decrements the TTL of each forwarded packet and updates the
//! header checksum incrementally (RFC 1812 §5.3.1, RFC 1624):
//! [`Packet::decrement_ttl_and_update_checksum`].

use core::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::{read_u16, write_u16, Error, Result};

/// The protocol field: what the payload is (IANA "Assigned Internet
/// Protocol Numbers").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Protocol(pub u8);

impl Protocol {
    /// Internet Control Message Protocol (RFC 792).
    pub const ICMP: Protocol = Protocol(1);
    /// Internet Group Management Protocol (RFC 3376).
    pub const IGMP: Protocol = Protocol(2);
    /// IPv4 encapsulated in IPv4 (RFC 2003).
    pub const IPIP: Protocol = Protocol(4);
    /// Transmission Control Protocol (RFC 9293).
    pub const TCP: Protocol = Protocol(6);
    /// User Datagram Protocol (RFC 768).
    pub const UDP: Protocol = Protocol(17);
    /// IPv6 encapsulated in IPv4 (RFC 4213).
    pub const IPV6: Protocol = Protocol(41);
    /// Generic Routing Encapsulation (RFC 2784).
    pub const GRE: Protocol = Protocol(47);
    /// Common Address Redundancy Protocol (OpenBSD carp(4); VRRP's number).
    pub const CARP: Protocol = Protocol(112);

    /// The name of a well-known protocol.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::ICMP => Some("ICMP"),
            Self::IGMP => Some("IGMP"),
            Self::IPIP => Some("IPIP"),
            Self::TCP => Some("TCP"),
            Self::UDP => Some("UDP"),
            Self::IPV6 => Some("IPv6"),
            Self::GRE => Some("GRE"),
            Self::CARP => Some("CARP"),
            _ => None,
        }
    }
}

impl From<u8> for Protocol {
    #[inline]
    fn from(value: u8) -> Protocol {
        Protocol(value)
    }
}

impl From<Protocol> for u8 {
    #[inline]
    fn from(value: Protocol) -> u8 {
        value.0
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol({self})")
    }
}

mod field {
    use crate::wire::Field;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
    pub const OPTIONS: usize = 20;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// Option type 0: end of the option list.
pub const OPTION_END: u8 = 0;
/// Option type 1: no operation (padding between options).
pub const OPTION_NOP: u8 = 1;

/// Checks the option list of a header: every option but END and NOP
/// needs a length octet of at least 2 that keeps it inside `options`.
/// END stops the walk (what follows is padding).
#[inline]
fn check_options(options: &[u8]) -> Result<()> {
    let mut at = 0;
    while let Some(&kind) = options.get(at) {
        match kind {
            OPTION_END => break,
            OPTION_NOP => at += 1,
            _ => match options.get(at + 1) {
                Some(&len) if len >= 2 && usize::from(len) <= options.len() - at => {
                    at += usize::from(len);
                }
                _ => return Err(Error::Malformed),
            },
        }
    }
    Ok(())
}

/// Reads an address from a 4-byte slice.
#[inline]
fn addr(bytes: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
}

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length of a header without options.
    pub const MIN_HEADER_LEN: usize = field::OPTIONS;
    /// The length of a header with the most options (IHL = 15).
    pub const MAX_HEADER_LEN: usize = 60;

    /// Wraps `buffer` without checking it; getters may panic if the buffer
    /// is shorter than the header or the lengths in it.
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

    /// Checks the header's structure:
    ///
    /// - [`Error::Truncated`] if the buffer is shorter than 20 bytes, than
    ///   the header length, or than the total length;
    /// - [`Error::Malformed`] if the version is not 4, the IHL is below 5,
    ///   the total length is below the header length, or an option is
    ///   broken.
    ///
    /// The buffer may be longer than the total length (Ethernet padding).
    /// The checksum is not checked: see [`Self::verify_checksum`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < field::OPTIONS {
            return Err(Error::Truncated);
        }
        if self.version() != 4 || data[field::VER_IHL] & 0x0f < 5 {
            return Err(Error::Malformed);
        }
        let header_len = usize::from(self.header_len());
        if data.len() < header_len {
            return Err(Error::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::Malformed);
        }
        if data.len() < total_len {
            return Err(Error::Truncated);
        }
        check_options(&data[field::OPTIONS..header_len])
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version (4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL × 4: 20..=60).
    #[inline]
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The former type-of-service octet: DSCP and ECN together.
    #[inline]
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// The differentiated services code point (RFC 2474), 0..=63.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.dscp_ecn() >> 2
    }

    /// The explicit congestion notification bits (RFC 3168), 0..=3.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.dscp_ecn() & 0x03
    }

    /// The total length of the packet (header and payload) in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The identification, for reassembly.
    #[inline]
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT)
    }

    /// The don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF) & FLAG_DF != 0
    }

    /// The more-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF) & FLAG_MF != 0
    }

    /// The fragment offset in bytes (a multiple of 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (read_u16(self.buffer.as_ref(), field::FLG_OFF) & OFFSET_MASK) << 3
    }

    /// Whether this is a fragment: more fragments follow or the offset
    /// is not 0.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// The time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> Protocol {
        Protocol(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// Whether the header checksum is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let header = &self.buffer.as_ref()[..usize::from(self.header_len())];
        checksum::checksum(header) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The options (and padding) between the fixed header and the payload.
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::OPTIONS..usize::from(self.header_len())]
    }

    /// The payload: from the end of the header to the total length
    /// (trailing Ethernet padding excluded).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let range = usize::from(self.header_len())..usize::from(self.total_len());
        &self.buffer.as_ref()[range]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version (only the low 4 bits count).
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let data = self.buffer.as_mut();
        data[field::VER_IHL] = (data[field::VER_IHL] & 0x0f) | (version << 4);
    }

    /// Sets the header length in bytes (a multiple of 4, 20..=60).
    #[inline]
    pub fn set_header_len(&mut self, len: u8) {
        let data = self.buffer.as_mut();
        data[field::VER_IHL] = (data[field::VER_IHL] & 0xf0) | ((len / 4) & 0x0f);
    }

    /// Sets DSCP and ECN together (the former type-of-service octet).
    #[inline]
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    /// Sets the DSCP (only the low 6 bits count), keeping the ECN bits.
    #[inline]
    pub fn set_dscp(&mut self, dscp: u8) {
        let value = (dscp << 2) | self.ecn();
        self.set_dscp_ecn(value);
    }

    /// Sets the ECN bits (only the low 2 bits count), keeping the DSCP.
    #[inline]
    pub fn set_ecn(&mut self, ecn: u8) {
        let value = (self.dscp_ecn() & 0xfc) | (ecn & 0x03);
        self.set_dscp_ecn(value);
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH, len);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT, ident);
    }

    #[inline]
    fn set_flg_off(&mut self, mask: u16, value: u16) {
        let old = read_u16(self.buffer.as_ref(), field::FLG_OFF);
        write_u16(
            self.buffer.as_mut(),
            field::FLG_OFF,
            (old & !mask) | (value & mask),
        );
    }

    /// Clears the flags (reserved, DF and MF), keeping the offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        self.set_flg_off(!OFFSET_MASK, 0);
    }

    /// Sets or clears the don't-fragment flag.
    #[inline]
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flg_off(FLAG_DF, if value { FLAG_DF } else { 0 });
    }

    /// Sets or clears the more-fragments flag.
    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flg_off(FLAG_MF, if value { FLAG_MF } else { 0 });
    }

    /// Sets the fragment offset in bytes (rounded down to a multiple of 8).
    #[inline]
    pub fn set_frag_offset(&mut self, offset: u16) {
        self.set_flg_off(OFFSET_MASK, offset >> 3);
    }

    /// Sets the time to live (the checksum is not updated).
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.0;
    }

    /// Sets the header checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum and stores it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = usize::from(self.header_len());
        let value = checksum::checksum(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(value);
    }

    /// Decrements the TTL and updates the checksum for it with RFC 1624
    /// eqn. 3 on the TTL/protocol word: what a router does to every
    /// forwarded packet (RFC 1812 §5.3.1).
    ///
    /// The caller checks the TTL first: a packet whose TTL would reach 0
    /// is not forwarded but answered with ICMP time exceeded. A TTL of 0
    /// wraps to 255.
    #[inline]
    pub fn decrement_ttl_and_update_checksum(&mut self) {
        let data = self.buffer.as_mut();
        let old = read_u16(data, field::TTL);
        let new = old.wrapping_sub(0x0100);
        write_u16(data, field::TTL, new);
        let sum = checksum::update16(read_u16(data, field::CHECKSUM), old, new);
        write_u16(data, field::CHECKSUM, sum);
    }

    /// The options, mutably.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = usize::from(self.header_len());
        &mut self.buffer.as_mut()[field::OPTIONS..header_len]
    }

    /// The payload (up to the total length), mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = usize::from(self.header_len())..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed IPv4 header, for packets the router sends or receives itself
/// (not for forwarding, which edits the [`Packet`] in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: Protocol,
    /// Length of the payload in bytes (at most 65515).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// DSCP and ECN (the former type-of-service octet).
    pub dscp_ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
}

impl Repr {
    /// Reads a header, checking it first ([`Packet::check_len`]).
    ///
    /// Returns [`Error::Checksum`] if the header checksum is wrong and
    /// [`Error::Unsupported`] for a fragment (reassemble it first: a
    /// `Repr` describes whole packets). Options are skipped.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        if packet.is_fragment() {
            return Err(Error::Unsupported);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len() - u16::from(packet.header_len())),
            ttl: packet.ttl(),
            dscp_ecn: packet.dscp_ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// The length of the emitted header, 20 (no options).
    #[inline]
    pub const fn header_len(&self) -> usize {
        field::OPTIONS
    }

    /// The length of the packet: header and payload.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        field::OPTIONS + self.payload_len
    }

    /// Writes a header without options into `packet` and fills its
    /// checksum; the payload is the caller's. The buffer must be at least
    /// 20 bytes long (panics otherwise). A `payload_len` above 65515 does
    /// not fit the total length field and is truncated.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let data = packet.buffer.as_mut();
        data[field::VER_IHL] = 0x45;
        data[field::DSCP_ECN] = self.dscp_ecn;
        write_u16(
            data,
            field::LENGTH,
            (field::OPTIONS + self.payload_len) as u16,
        );
        write_u16(data, field::IDENT, self.ident);
        write_u16(
            data,
            field::FLG_OFF,
            if self.dont_frag { FLAG_DF } else { 0 },
        );
        data[field::TTL] = self.ttl;
        data[field::PROTOCOL] = self.protocol.0;
        data[field::SRC_ADDR].copy_from_slice(&self.src_addr.octets());
        data[field::DST_ADDR].copy_from_slice(&self.dst_addr.octets());
        packet.fill_checksum();
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv4 src={} dst={} proto={} len={} ttl={}",
            self.src_addr, self.dst_addr, self.protocol, self.payload_len, self.ttl
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::testutil::{for_each_mangled, XorShift};

    // `ping -c1 8.8.8.8` from 192.168.1.10: IPv4 header, then ICMP echo
    // request id 0x1c46 seq 1 with Linux ping's 56 bytes of data.
    pub(crate) static ECHO: [u8; 84] = [
        0x45, 0x00, 0x00, 0x54, 0xb3, 0xe2, 0x40, 0x00, 0x40, 0x01, 0xb5, 0x04, 0xc0, 0xa8, 0x01,
        0x0a, 0x08, 0x08, 0x08, 0x08, // IPv4
        0x08, 0x00, 0x7d, 0x70, 0x1c, 0x46, 0x00, 0x01, // ICMP
        0x5f, 0x3b, 0x9a, 0x67, 0x00, 0x00, 0x00, 0x00, 0xa1, 0xd2, 0x04, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
        0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    // An IGMPv3 membership report for 239.1.2.3: IHL 6 with the Router
    // Alert option (RFC 2113), DSCP CS6, TTL 1.
    static IGMP: [u8; 40] = [
        0x46, 0xc0, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x42, 0x47, 0xc0, 0xa8, 0x01,
        0x0a, 0xe0, 0x00, 0x00, 0x16, // IPv4
        0x94, 0x04, 0x00, 0x00, // Router Alert
        0x22, 0x00, 0xe8, 0xf9, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xef, 0x01, 0x02,
        0x03, // IGMP
    ];

    fn echo_repr() -> Repr {
        Repr {
            src_addr: Ipv4Addr::new(192, 168, 1, 10),
            dst_addr: Ipv4Addr::new(8, 8, 8, 8),
            protocol: Protocol::ICMP,
            payload_len: 64,
            ttl: 64,
            dscp_ecn: 0,
            ident: 0xb3e2,
            dont_frag: true,
        }
    }

    #[test]
    fn parse_echo() {
        let packet = Packet::new_checked(&ECHO[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!((packet.dscp(), packet.ecn(), packet.dscp_ecn()), (0, 0, 0));
        assert_eq!(packet.total_len(), 84);
        assert_eq!(packet.ident(), 0xb3e2);
        assert!(packet.dont_frag());
        assert!(!packet.more_frags());
        assert_eq!(packet.frag_offset(), 0);
        assert!(!packet.is_fragment());
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.protocol(), Protocol::ICMP);
        assert_eq!(packet.checksum(), 0xb504);
        assert_eq!(packet.src_addr(), Ipv4Addr::new(192, 168, 1, 10));
        assert_eq!(packet.dst_addr(), Ipv4Addr::new(8, 8, 8, 8));
        assert!(packet.options().is_empty());
        assert_eq!(packet.payload(), &ECHO[20..]);
        assert!(packet.verify_checksum());
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(repr, echo_repr());
        assert_eq!((repr.header_len(), repr.buffer_len()), (20, 84));
        assert_eq!(
            repr.to_string(),
            "IPv4 src=192.168.1.10 dst=8.8.8.8 proto=ICMP len=64 ttl=64"
        );
    }

    #[test]
    fn parse_with_options() {
        let packet = Packet::new_checked(&IGMP[..]).unwrap();
        assert_eq!(packet.header_len(), 24);
        assert_eq!(packet.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!((packet.dscp(), packet.ecn()), (48, 0));
        assert_eq!(packet.ttl(), 1);
        assert_eq!(packet.protocol(), Protocol::IGMP);
        assert_eq!(packet.dst_addr(), Ipv4Addr::new(224, 0, 0, 22));
        assert_eq!(packet.payload(), &IGMP[24..]);
        assert!(packet.verify_checksum());
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(repr.payload_len, 16);
        assert_eq!(repr.dscp_ecn, 0xc0);
    }

    #[test]
    fn padding_is_not_payload() {
        // The 46-byte minimum Ethernet payload around a 40-byte packet.
        let mut padded = [0u8; 46];
        padded[..40].copy_from_slice(&IGMP);
        let packet = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(packet.payload(), &IGMP[24..]);
        let mut packet = Packet::new_checked(&mut padded[..]).unwrap();
        assert_eq!(packet.payload_mut().len(), 16);
    }

    #[test]
    fn emit_echo() {
        let mut buf = [0xffu8; 84];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        echo_repr().emit(&mut packet);
        packet.payload_mut().copy_from_slice(&ECHO[20..]);
        assert_eq!(buf, ECHO);
    }

    #[test]
    fn setters() {
        let mut buf = ECHO;
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_dscp(46); // EF
        packet.set_ecn(1);
        assert_eq!(
            (packet.dscp(), packet.ecn(), packet.dscp_ecn()),
            (46, 1, 0xb9)
        );
        packet.set_ecn(3);
        packet.set_dscp(0);
        assert_eq!(packet.dscp_ecn(), 3);
        packet.set_more_frags(true);
        packet.set_frag_offset(1480);
        assert!(packet.dont_frag() && packet.more_frags() && packet.is_fragment());
        assert_eq!(packet.frag_offset(), 1480);
        packet.set_dont_frag(false);
        assert!(!packet.dont_frag() && packet.more_frags());
        packet.clear_flags();
        assert!(!packet.more_frags() && packet.is_fragment());
        assert_eq!(packet.frag_offset(), 1480);
        packet.set_frag_offset(0);
        assert!(!packet.is_fragment());
        packet.set_ident(0x1234);
        packet.set_ttl(1);
        packet.set_protocol(Protocol::GRE);
        packet.set_src_addr(Ipv4Addr::new(10, 0, 0, 1));
        packet.set_dst_addr(Ipv4Addr::new(10, 0, 0, 2));
        packet.set_total_len(24);
        packet.set_version(4);
        packet.set_header_len(24);
        packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        packet.fill_checksum();
        assert!(packet.verify_checksum());
        let mut expected = [
            0x46, 0x03, 0x00, 0x18, 0x12, 0x34, 0x00, 0x00, 0x01, 0x2f, 0x00, 0x00, 10, 0, 0, 1,
            10, 0, 0, 2, 1, 1, 1, 0,
        ];
        expected[10..12].copy_from_slice(&buf[10..12]);
        assert_eq!(&buf[..24], &expected);
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(packet.options(), &[1, 1, 1, 0]);
        assert!(packet.payload().is_empty());
    }

    #[test]
    fn decrement_ttl() {
        let mut buf = ECHO;
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.decrement_ttl_and_update_checksum();
        assert_eq!(packet.ttl(), 63);
        assert_eq!(packet.checksum(), 0xb604);
        assert!(packet.verify_checksum());

        // Random headers: the incremental update equals a recomputation.
        let mut rng = XorShift::new(1812);
        let mut header = [0u8; 60];
        for _ in 0..20_000 {
            let len = 20 + 4 * rng.below(11);
            rng.fill(&mut header[..len]);
            header[0] = 0x40 | (len / 4) as u8;
            let mut packet = Packet::new_unchecked(&mut header[..len]);
            packet.fill_checksum();
            let ttl = packet.ttl();
            packet.decrement_ttl_and_update_checksum();
            assert_eq!(packet.ttl(), ttl.wrapping_sub(1));
            let incremental = packet.checksum();
            packet.fill_checksum();
            assert_eq!(
                incremental,
                packet.checksum(),
                "header {:02x?}",
                &header[..len]
            );
        }
    }

    #[test]
    fn truncated() {
        for len in 0..ECHO.len() {
            assert_eq!(
                Packet::new_checked(&ECHO[..len]),
                Err(Error::Truncated),
                "{len}"
            );
            assert_eq!(
                Repr::parse(&Packet::new_unchecked(&ECHO[..len])),
                Err(Error::Truncated)
            );
        }
        // Options cut off: IHL 6 with a 21..23 byte buffer.
        for len in 20..24 {
            assert_eq!(Packet::new_checked(&IGMP[..len]), Err(Error::Truncated));
        }
    }

    #[test]
    fn malformed() {
        let check = |edit: &dyn Fn(&mut [u8])| {
            let mut buf = ECHO;
            edit(&mut buf);
            Packet::new_checked(&buf[..]).map(|_| ())
        };
        assert_eq!(check(&|_| ()), Ok(()));
        assert_eq!(check(&|b| b[0] = 0x65), Err(Error::Malformed), "version 6");
        assert_eq!(check(&|b| b[0] = 0x05), Err(Error::Malformed), "version 0");
        assert_eq!(check(&|b| b[0] = 0x44), Err(Error::Malformed), "IHL 4");
        assert_eq!(check(&|b| b[0] = 0x40), Err(Error::Malformed), "IHL 0");
        assert_eq!(
            check(&|b| b[3] = 19),
            Err(Error::Malformed),
            "total < header"
        );
        assert_eq!(check(&|b| b[3] = 20), Ok(()), "total = header");
        assert_eq!(
            check(&|b| b[3] = 85),
            Err(Error::Truncated),
            "total > buffer"
        );
        assert_eq!(
            check(&|b| b[2] = 0xff),
            Err(Error::Truncated),
            "total > buffer"
        );
        // IHL 15 needs 60 bytes of header, which ECHO has, but the options
        // are then ICMP bytes: type 8, length 0.
        assert_eq!(
            check(&|b| b[0] = 0x4f),
            Err(Error::Malformed),
            "bad options"
        );

        let options = |opts: &[u8]| {
            let mut buf = [0u8; 60];
            buf[..20].copy_from_slice(&ECHO[..20]);
            buf[0] = 0x40 | ((20 + opts.len()) / 4) as u8;
            buf[3] = (20 + opts.len()) as u8;
            buf[20..20 + opts.len()].copy_from_slice(opts);
            Packet::new_checked(&buf[..20 + opts.len()]).map(|p| p.options().len())
        };
        assert_eq!(options(&[1, 1, 1, 1]), Ok(4), "NOPs");
        assert_eq!(options(&[0, 0xff, 0xff, 0xff]), Ok(4), "junk after END");
        assert_eq!(
            options(&[1, 0x94, 4, 0, 0, 1, 1, 1]),
            Ok(8),
            "NOP, RA, NOPs"
        );
        assert_eq!(
            options(&[0x94, 4, 0, 0, 0x07, 3, 4, 0]),
            Ok(8),
            "RA, RR, END"
        );
        assert_eq!(
            options(&[0x44, 8, 5, 0, 1, 2, 3, 4]),
            Ok(8),
            "timestamp filling the header"
        );
        assert_eq!(
            options(&[1, 1, 1, 0x94]),
            Err(Error::Malformed),
            "no length octet"
        );
        assert_eq!(options(&[0x94, 0, 0, 0]), Err(Error::Malformed), "length 0");
        assert_eq!(options(&[0x94, 1, 0, 0]), Err(Error::Malformed), "length 1");
        assert_eq!(
            options(&[0x94, 5, 0, 0]),
            Err(Error::Malformed),
            "past the header"
        );
        assert_eq!(
            options(&[1, 1, 0x94, 4]),
            Err(Error::Malformed),
            "past the header"
        );
        assert_eq!(
            options(&[0x94, 4, 0, 0, 0x83, 0xff, 0, 0]),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn repr_errors() {
        let mut buf = ECHO;
        buf[11] ^= 1;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&buf[..]).unwrap()),
            Err(Error::Checksum)
        );
        let mut buf = ECHO;
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_more_frags(true);
        packet.fill_checksum();
        assert_eq!(Repr::parse(&packet), Err(Error::Unsupported));
        packet.set_more_frags(false);
        packet.set_frag_offset(8);
        packet.fill_checksum();
        assert_eq!(Repr::parse(&packet), Err(Error::Unsupported));
    }

    #[test]
    fn protocol_names() {
        assert_eq!(Protocol::CARP.to_string(), "CARP");
        assert_eq!(Protocol(253).to_string(), "253");
        assert_eq!(format!("{:?}", Protocol::GRE), "Protocol(GRE)");
        assert_eq!(u8::from(Protocol::UDP), 17);
        assert_eq!(Protocol::from(6), Protocol::TCP);
    }

    #[test]
    fn never_panics() {
        for valid in [&ECHO[..], &IGMP[..]] {
            for_each_mangled(valid, 4000, 100, |data| {
                if let Ok(packet) = Packet::new_checked(data) {
                    let _ = (
                        packet.version(),
                        packet.dscp(),
                        packet.ecn(),
                        packet.ident(),
                    );
                    let _ = (
                        packet.dont_frag(),
                        packet.more_frags(),
                        packet.frag_offset(),
                    );
                    let _ = (packet.ttl(), packet.protocol(), packet.checksum());
                    let _ = (
                        packet.src_addr(),
                        packet.dst_addr(),
                        packet.verify_checksum(),
                    );
                    assert_eq!(
                        packet.options().len() + packet.payload().len() + 20,
                        usize::from(packet.total_len())
                    );
                    if let Ok(repr) = Repr::parse(&packet) {
                        let mut buf = vec![0u8; repr.buffer_len()];
                        let mut out = Packet::new_unchecked(&mut buf[..]);
                        repr.emit(&mut out);
                        out.payload_mut().copy_from_slice(packet.payload());
                        assert_eq!(
                            Repr::parse(&Packet::new_checked(&buf[..]).unwrap()),
                            Ok(repr)
                        );
                    }
                }
            });
        }
    }
}
