//! The Address Resolution Protocol (RFC 826).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Hardware type          |        Protocol type          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Hw addr len   | Pr addr len   |          Operation            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Sender hardware address (Hw addr len bytes) ...              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Sender protocol address (Pr addr len bytes) ...              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Target hardware address (Hw addr len bytes) ...              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Target protocol address (Pr addr len bytes) ...              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! For Ethernet and IPv4 (the only pair [`Repr`] handles) the lengths are
//! 6 and 4 and the packet is 28 bytes; the frame that carries it is padded
//! to the Ethernet minimum.

use core::fmt;
use std::net::Ipv4Addr;

use super::ethernet::Address as EthernetAddress;
use super::{read_u16, write_u16, Error, EtherType, Field, Result};

/// The hardware type field (IANA "Hardware Types" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hardware(pub u16);

impl Hardware {
    /// Ethernet (10Mb and every later speed).
    pub const ETHERNET: Hardware = Hardware(1);
}

/// The operation field (RFC 826; IANA "Operation Codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1: who has the target protocol address?
    Request,
    /// 2: the sender has the sender protocol address.
    Reply,
    /// Any other operation code.
    Unknown(u16),
}

impl From<u16> for Operation {
    #[inline]
    fn from(value: u16) -> Operation {
        match value {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    #[inline]
    fn from(value: Operation) -> u16 {
        match value {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(other) => other,
        }
    }
}

mod field {
    use crate::wire::Field;

    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const ADDRESSES: usize = 8;

    #[inline]
    pub const fn sha(hlen: u8, _plen: u8) -> Field {
        ADDRESSES..ADDRESSES + hlen as usize
    }

    #[inline]
    pub const fn spa(hlen: u8, plen: u8) -> Field {
        let start = ADDRESSES + hlen as usize;
        start..start + plen as usize
    }

    #[inline]
    pub const fn tha(hlen: u8, plen: u8) -> Field {
        let start = ADDRESSES + hlen as usize + plen as usize;
        start..start + hlen as usize
    }

    #[inline]
    pub const fn tpa(hlen: u8, plen: u8) -> Field {
        let start = ADDRESSES + 2 * hlen as usize + plen as usize;
        start..start + plen as usize
    }
}

/// A read/write view of an ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length of the fixed part, before the addresses.
    pub const FIXED_LEN: usize = field::ADDRESSES;
    /// The length of an Ethernet/IPv4 ARP packet.
    pub const ETHERNET_IPV4_LEN: usize = field::ADDRESSES + 2 * (6 + 4);

    /// Wraps `buffer` without checking it; getters panic if it is too
    /// short for the address lengths it claims.
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

    /// Checks that the buffer holds the fixed part and the four addresses
    /// of the lengths given in it: [`Error::Truncated`] otherwise. Bytes
    /// after the last address (Ethernet padding) are allowed.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < field::ADDRESSES || data.len() < self.packet_len() {
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

    /// The length of the packet the header describes: the fixed part and
    /// the four addresses.
    #[inline]
    pub fn packet_len(&self) -> usize {
        field::ADDRESSES + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// The hardware type.
    #[inline]
    pub fn hardware_type(&self) -> Hardware {
        Hardware(read_u16(self.buffer.as_ref(), field::HTYPE))
    }

    /// The protocol type (an EtherType).
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::PTYPE))
    }

    /// The length of a hardware address.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The length of a protocol address.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation.
    #[inline]
    pub fn operation(&self) -> Operation {
        Operation::from(read_u16(self.buffer.as_ref(), field::OPER))
    }

    #[inline]
    fn addr(&self, range: fn(u8, u8) -> Field) -> &[u8] {
        &self.buffer.as_ref()[range(self.hardware_len(), self.protocol_len())]
    }

    /// The sender hardware address.
    #[inline]
    pub fn source_hardware_addr(&self) -> &[u8] {
        self.addr(field::sha)
    }

    /// The sender protocol address.
    #[inline]
    pub fn source_protocol_addr(&self) -> &[u8] {
        self.addr(field::spa)
    }

    /// The target hardware address.
    #[inline]
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.addr(field::tha)
    }

    /// The target protocol address.
    #[inline]
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.addr(field::tpa)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, value: Hardware) {
        write_u16(self.buffer.as_mut(), field::HTYPE, value.0);
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE, value.0);
    }

    /// Sets the length of a hardware address (moves where the addresses
    /// are: set both lengths before the addresses).
    #[inline]
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the length of a protocol address (moves where the addresses
    /// are: set both lengths before the addresses).
    #[inline]
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation.
    #[inline]
    pub fn set_operation(&mut self, value: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER, value.into());
    }

    #[inline]
    fn set_addr(&mut self, range: fn(u8, u8) -> Field, value: &[u8]) {
        let range = range(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the sender hardware address; `value` must be
    /// [`Self::hardware_len`] bytes long (panics otherwise).
    #[inline]
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        self.set_addr(field::sha, value);
    }

    /// Sets the sender protocol address; `value` must be
    /// [`Self::protocol_len`] bytes long (panics otherwise).
    #[inline]
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        self.set_addr(field::spa, value);
    }

    /// Sets the target hardware address; `value` must be
    /// [`Self::hardware_len`] bytes long (panics otherwise).
    #[inline]
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        self.set_addr(field::tha, value);
    }

    /// Sets the target protocol address; `value` must be
    /// [`Self::protocol_len`] bytes long (panics otherwise).
    #[inline]
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        self.set_addr(field::tpa, value);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[inline]
fn ipv4(bytes: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
}

#[inline]
fn mac(bytes: &[u8]) -> EthernetAddress {
    EthernetAddress([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]])
}

/// A parsed ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Repr {
    /// ARP for IPv4 over Ethernet.
    EthernetIpv4 {
        /// Request, reply, or another code.
        operation: Operation,
        /// The sender's MAC address.
        source_hardware_addr: EthernetAddress,
        /// The sender's IPv4 address.
        source_protocol_addr: Ipv4Addr,
        /// The target's MAC address (zero in a request).
        target_hardware_addr: EthernetAddress,
        /// The address being resolved (request) or the requester's (reply).
        target_protocol_addr: Ipv4Addr,
    },
}

impl Repr {
    /// Reads an ARP packet, checking its length first. Returns
    /// [`Error::Unsupported`] for anything but Ethernet (6-byte addresses)
    /// and IPv4 (4-byte addresses).
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.hardware_type() != Hardware::ETHERNET
            || packet.protocol_type() != EtherType::IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(Repr::EthernetIpv4 {
            operation: packet.operation(),
            source_hardware_addr: mac(packet.source_hardware_addr()),
            source_protocol_addr: ipv4(packet.source_protocol_addr()),
            target_hardware_addr: mac(packet.target_hardware_addr()),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// The length of the ARP packet, 28.
    #[inline]
    pub const fn header_len(&self) -> usize {
        match self {
            Repr::EthernetIpv4 { .. } => field::ADDRESSES + 2 * (6 + 4),
        }
    }

    /// The length of the buffer [`Repr::emit`] writes to: the whole
    /// packet, as ARP has no payload.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Writes the packet into `packet`, which must be at least
    /// [`Repr::buffer_len`] bytes long (panics otherwise).
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        match *self {
            Repr::EthernetIpv4 {
                operation,
                source_hardware_addr,
                source_protocol_addr,
                target_hardware_addr,
                target_protocol_addr,
            } => {
                packet.set_hardware_type(Hardware::ETHERNET);
                packet.set_protocol_type(EtherType::IPV4);
                packet.set_hardware_len(6);
                packet.set_protocol_len(4);
                packet.set_operation(operation);
                packet.set_source_hardware_addr(&source_hardware_addr.0);
                packet.set_source_protocol_addr(&source_protocol_addr.octets());
                packet.set_target_hardware_addr(&target_hardware_addr.0);
                packet.set_target_protocol_addr(&target_protocol_addr.octets());
            }
        }
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repr::EthernetIpv4 {
                operation,
                source_hardware_addr,
                source_protocol_addr,
                target_hardware_addr,
                target_protocol_addr,
            } => match operation {
                Operation::Request => write!(
                    f,
                    "ARP who-has {target_protocol_addr} tell {source_protocol_addr} \
                     ({source_hardware_addr})"
                ),
                Operation::Reply => write!(
                    f,
                    "ARP reply {source_protocol_addr} is-at {source_hardware_addr} \
                     to {target_protocol_addr} ({target_hardware_addr})"
                ),
                Operation::Unknown(op) => write!(
                    f,
                    "ARP op={op} {source_protocol_addr} ({source_hardware_addr}) -> \
                     {target_protocol_addr} ({target_hardware_addr})"
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::for_each_mangled;

    // who-has 192.168.1.1 tell 192.168.1.10, from 52:54:00:12:34:56.
    static REQUEST: [u8; 28] = [
        0x00, 0x01, // Ethernet
        0x08, 0x00, // IPv4
        0x06, 0x04, // lengths
        0x00, 0x01, // request
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // sender MAC
        0xc0, 0xa8, 0x01, 0x0a, // sender IP
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC
        0xc0, 0xa8, 0x01, 0x01, // target IP
    ];

    // 192.168.1.1 is-at 00:00:5e:00:01:01 (a CARP virtual MAC).
    static REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, // fixed part, reply
        0x00, 0x00, 0x5e, 0x00, 0x01, 0x01, 0xc0, 0xa8, 0x01, 0x01, // sender
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x0a, // target
    ];

    fn request_repr() -> Repr {
        Repr::EthernetIpv4 {
            operation: Operation::Request,
            source_hardware_addr: EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
            source_protocol_addr: Ipv4Addr::new(192, 168, 1, 10),
            target_hardware_addr: EthernetAddress::UNSPECIFIED,
            target_protocol_addr: Ipv4Addr::new(192, 168, 1, 1),
        }
    }

    #[test]
    fn parse_request() {
        let packet = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(packet.hardware_type(), Hardware::ETHERNET);
        assert_eq!(packet.protocol_type(), EtherType::IPV4);
        assert_eq!(packet.hardware_len(), 6);
        assert_eq!(packet.protocol_len(), 4);
        assert_eq!(packet.packet_len(), 28);
        assert_eq!(packet.operation(), Operation::Request);
        assert_eq!(
            packet.source_hardware_addr(),
            &[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
        );
        assert_eq!(packet.source_protocol_addr(), &[192, 168, 1, 10]);
        assert_eq!(packet.target_hardware_addr(), &[0; 6]);
        assert_eq!(packet.target_protocol_addr(), &[192, 168, 1, 1]);
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(repr, request_repr());
        assert_eq!(
            repr.to_string(),
            "ARP who-has 192.168.1.1 tell 192.168.1.10 (52:54:00:12:34:56)"
        );
        assert_eq!((repr.header_len(), repr.buffer_len()), (28, 28));
    }

    #[test]
    fn emit_request_and_reply() {
        let mut buf = [0xaa; 28];
        request_repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, REQUEST);

        let reply = Repr::EthernetIpv4 {
            operation: Operation::Reply,
            source_hardware_addr: "00:00:5e:00:01:01".parse().unwrap(),
            source_protocol_addr: Ipv4Addr::new(192, 168, 1, 1),
            target_hardware_addr: "52:54:00:12:34:56".parse().unwrap(),
            target_protocol_addr: Ipv4Addr::new(192, 168, 1, 10),
        };
        reply.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, REPLY);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&REPLY[..]).unwrap()),
            Ok(reply)
        );
    }

    #[test]
    fn operation_codes() {
        for code in [0u16, 1, 2, 3, 0xffff] {
            assert_eq!(u16::from(Operation::from(code)), code);
        }
        assert_eq!(Operation::from(1), Operation::Request);
        assert_eq!(Operation::from(2), Operation::Reply);
        assert_eq!(Operation::from(8), Operation::Unknown(8));
    }

    #[test]
    fn truncated() {
        for len in 0..28 {
            assert_eq!(
                Packet::new_checked(&REQUEST[..len]),
                Err(Error::Truncated),
                "{len}"
            );
            assert_eq!(
                Repr::parse(&Packet::new_unchecked(&REQUEST[..len])),
                Err(Error::Truncated)
            );
        }
        // Longer lengths claimed than present.
        let mut long = REQUEST;
        long[4] = 7;
        assert_eq!(Packet::new_checked(&long[..]), Err(Error::Truncated));
        long[4] = 6;
        long[5] = 5;
        assert_eq!(Packet::new_checked(&long[..]), Err(Error::Truncated));
        // Padding after the packet is fine.
        let mut padded = [0u8; 46];
        padded[..28].copy_from_slice(&REQUEST);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&padded[..]).unwrap()),
            Ok(request_repr())
        );
    }

    #[test]
    fn unsupported() {
        // Hardware type IEEE 802 (6), protocol IPv6, other lengths.
        for (at, value) in [(1, 6u8), (2, 0x86), (4, 8), (5, 16), (5, 2)] {
            let mut buf = [0u8; 64];
            buf[..28].copy_from_slice(&REQUEST);
            buf[at] = value;
            let packet = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(
                Repr::parse(&packet),
                Err(Error::Unsupported),
                "byte {at} = {value}"
            );
        }
        // Other hardware/protocol lengths still give a working view.
        let mut buf = [0u8; 8 + 2 * (8 + 16)];
        buf[..8].copy_from_slice(&[0x00, 0x06, 0x86, 0xdd, 8, 16, 0x00, 0x02]);
        let mut packet = Packet::new_checked(&mut buf[..]).unwrap();
        packet.set_target_protocol_addr(&[0x20; 16]);
        packet.set_source_hardware_addr(&[0x11; 8]);
        assert_eq!(packet.target_protocol_addr(), &[0x20; 16]);
        assert_eq!(packet.source_protocol_addr(), &[0; 16]);
        assert_eq!(packet.target_hardware_addr(), &[0; 8]);
        assert_eq!(packet.source_hardware_addr(), &[0x11; 8]);
        assert_eq!(packet.operation(), Operation::Reply);
    }

    #[test]
    fn never_panics() {
        for_each_mangled(&REQUEST, 4000, 64, |data| {
            if let Ok(packet) = Packet::new_checked(data) {
                let _ = (
                    packet.hardware_type(),
                    packet.protocol_type(),
                    packet.operation(),
                );
                let _ = (packet.source_hardware_addr(), packet.source_protocol_addr());
                let _ = (packet.target_hardware_addr(), packet.target_protocol_addr());
                if let Ok(repr) = Repr::parse(&packet) {
                    let mut buf = [0u8; 28];
                    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
                    assert_eq!(&buf[..], &data[..28]);
                }
            }
        });
    }
}
