//! User Datagram Protocol (RFC 768).
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |     Source      |   Destination   |
//! |      Port       |      Port       |
//! +--------+--------+--------+--------+
//! |                 |                 |
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! |
//! |          data octets ...
//! +---------------- ...
//! ```
//!
//! Length counts the header and the data. The checksum covers the IPv4
//! pseudo header ([`checksum::pseudo_header_v4`]), the header and the
//! data; over IPv4 a checksum of 0 means "none", so a computed 0 is sent
//! as `0xFFFF` (RFC 768, "Fields").

use core::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::Protocol;
use super::{read_u16, write_u16, Error, Result};

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
    pub const PAYLOAD: usize = 8;
}

/// A read/write view of a UDP datagram. The buffer is the IPv4 payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length of the header.
    pub const HEADER_LEN: usize = field::PAYLOAD;

    /// Wraps `buffer` without checking it; getters may panic if it is
    /// shorter than the header or the length field.
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

    /// Checks the lengths: [`Error::Truncated`] if the buffer is shorter
    /// than the header or than the length field, [`Error::Malformed`] if
    /// the length field is below 8. The buffer may be longer than the
    /// length field. The checksum is not checked: see
    /// [`Self::verify_checksum`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < field::PAYLOAD {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len < field::PAYLOAD {
            Err(Error::Malformed)
        } else if len > buffer_len {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// The destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The length field: header and payload, in bytes.
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The checksum field (0: none).
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Whether the checksum is correct for a datagram from `src_addr` to
    /// `dst_addr`; true if there is none (checksum field 0).
    #[inline]
    pub fn verify_checksum(&self, src_addr: Ipv4Addr, dst_addr: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let len = self.len();
        let pseudo = checksum::pseudo_header_v4(src_addr, dst_addr, Protocol::UDP.0, len.into());
        let data = &self.buffer.as_ref()[..usize::from(len)];
        checksum::fold(checksum::sum(data, pseudo)) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload, as far as the length field says.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..usize::from(self.len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT, value);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT, value);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Computes the checksum for a datagram from `src_addr` to `dst_addr`
    /// over the length field's worth of bytes and stores it (a computed 0
    /// becomes `0xFFFF`).
    #[inline]
    pub fn fill_checksum(&mut self, src_addr: Ipv4Addr, dst_addr: Ipv4Addr) {
        self.set_checksum(0);
        let len = self.len();
        let pseudo = checksum::pseudo_header_v4(src_addr, dst_addr, Protocol::UDP.0, len.into());
        let data = &self.buffer.as_ref()[..usize::from(len)];
        let value = match checksum::fold(checksum::sum(data, pseudo)) {
            0 => 0xffff,
            value => value,
        };
        self.set_checksum(value);
    }

    /// The payload, as far as the length field says, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        &mut self.buffer.as_mut()[field::PAYLOAD..len]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length of the payload in bytes (at most 65527).
    pub payload_len: usize,
}

impl Repr {
    /// Reads a header, checking the lengths first. The checksum needs the
    /// addresses: check it with [`Packet::verify_checksum`].
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - field::PAYLOAD,
        })
    }

    /// The length of the header, 8.
    #[inline]
    pub const fn header_len(&self) -> usize {
        field::PAYLOAD
    }

    /// The length of the datagram: header and payload.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD + self.payload_len
    }

    /// Writes the header into `packet` with a checksum of 0 ("none").
    /// Write the payload, then call [`Packet::fill_checksum`]. The buffer
    /// must be at least 8 bytes long (panics otherwise).
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len((field::PAYLOAD + self.payload_len) as u16);
        packet.set_checksum(0);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UDP src={} dst={} len={}",
            self.src_port, self.dst_port, self.payload_len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::{for_each_mangled, XorShift};

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

    // A DNS query for example.com A from 192.168.1.10:53000 to
    // 192.168.1.1:53.
    static DNS_QUERY: [u8; 37] = [
        0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0xb3, 0x20, // UDP
        0x2a, 0x7c, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DNS header
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01,
        0x00, 0x01, // question
    ];

    #[test]
    fn parse_dns_query() {
        let packet = Packet::new_checked(&DNS_QUERY[..]).unwrap();
        assert_eq!(packet.src_port(), 53000);
        assert_eq!(packet.dst_port(), 53);
        assert_eq!(packet.len(), 37);
        assert_eq!(packet.checksum(), 0xb320);
        assert_eq!(packet.payload(), &DNS_QUERY[8..]);
        assert!(packet.verify_checksum(SRC, DST));
        assert!(!packet.verify_checksum(DST, DST));
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            Repr {
                src_port: 53000,
                dst_port: 53,
                payload_len: 29
            }
        );
        assert_eq!((repr.header_len(), repr.buffer_len()), (8, 37));
        assert_eq!(repr.to_string(), "UDP src=53000 dst=53 len=29");
    }

    #[test]
    fn emit_dns_query() {
        let repr = Repr {
            src_port: 53000,
            dst_port: 53,
            payload_len: 29,
        };
        let mut buf = [0xffu8; 37];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut packet);
        assert_eq!(packet.checksum(), 0);
        packet.payload_mut().copy_from_slice(&DNS_QUERY[8..]);
        assert!(packet.verify_checksum(SRC, DST), "no checksum is fine");
        packet.fill_checksum(SRC, DST);
        assert_eq!(buf, DNS_QUERY);
    }

    #[test]
    fn zero_checksum_is_sent_as_ffff() {
        // Find a payload whose checksum computes to 0 (sum 0xFFFF).
        let mut buf = [0u8; 10];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        Repr {
            src_port: 1,
            dst_port: 2,
            payload_len: 2,
        }
        .emit(&mut packet);
        packet.fill_checksum(SRC, DST);
        let without_payload = packet.checksum();
        // Adding `without_payload` to the sum makes it 0xFFFF.
        packet
            .payload_mut()
            .copy_from_slice(&without_payload.to_be_bytes());
        packet.fill_checksum(SRC, DST);
        assert_eq!(packet.checksum(), 0xffff);
        assert!(packet.verify_checksum(SRC, DST));
    }

    #[test]
    fn checksum_random() {
        let mut rng = XorShift::new(768);
        let mut buf = [0u8; 200];
        for _ in 0..2000 {
            let len = 8 + rng.below(190);
            rng.fill(&mut buf);
            let src = Ipv4Addr::from(rng.next_u64() as u32);
            let dst = Ipv4Addr::from(rng.next_u64() as u32);
            let mut packet = Packet::new_unchecked(&mut buf[..]);
            packet.set_len(len as u16);
            packet.fill_checksum(src, dst);
            assert_ne!(packet.checksum(), 0);
            assert!(packet.verify_checksum(src, dst));
            // Bytes past the length field do not count.
            buf[len..].fill(0xa5);
            assert!(Packet::new_checked(&buf[..])
                .unwrap()
                .verify_checksum(src, dst));
            // Any byte but the length and checksum fields.
            let at = rng.below(len - 4);
            buf[if at >= 4 { at + 4 } else { at }] ^= 0x10;
            assert!(!Packet::new_checked(&buf[..])
                .unwrap()
                .verify_checksum(src, dst));
        }
    }

    #[test]
    fn malformed_and_truncated() {
        for len in 0..DNS_QUERY.len() {
            assert_eq!(
                Packet::new_checked(&DNS_QUERY[..len]),
                Err(Error::Truncated),
                "{len}"
            );
        }
        let mut buf = DNS_QUERY;
        for bad in 0..8 {
            buf[5] = bad;
            assert_eq!(
                Packet::new_checked(&buf[..]),
                Err(Error::Malformed),
                "length {bad}"
            );
            assert_eq!(
                Repr::parse(&Packet::new_unchecked(&buf[..])),
                Err(Error::Malformed)
            );
        }
        buf[5] = 8;
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert!(packet.payload().is_empty());
        buf[5] = 38;
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::Truncated));
        buf[5] = 37;
        let mut padded = [0u8; 46];
        padded[..37].copy_from_slice(&buf);
        let packet = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(packet.payload(), &DNS_QUERY[8..]);
        assert!(packet.verify_checksum(SRC, DST));
    }

    #[test]
    fn never_panics() {
        for_each_mangled(&DNS_QUERY, 4000, 64, |data| {
            if let Ok(packet) = Packet::new_checked(data) {
                let _ = (packet.src_port(), packet.dst_port(), packet.checksum());
                let _ = packet.verify_checksum(SRC, DST);
                assert_eq!(packet.payload().len() + 8, usize::from(packet.len()));
                let repr = Repr::parse(&packet).unwrap();
                let mut buf = vec![0u8; repr.buffer_len()];
                let mut out = Packet::new_unchecked(&mut buf[..]);
                repr.emit(&mut out);
                out.payload_mut().copy_from_slice(packet.payload());
                out.set_checksum(packet.checksum());
                assert_eq!(&buf[..], &data[..repr.buffer_len()]);
            }
        });
    }
}
