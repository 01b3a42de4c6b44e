//! Ethernet II frames (IEEE 802.3 clause 3.1.1 with an EtherType, RFC 894).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Destination MAC address                      |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                    Source MAC address                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           EtherType           |  Payload ...                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The preamble and the frame check sequence are not part of the view: NICs
//! strip them. Short frames are padded to 60 bytes on the wire, so the
//! payload may be longer than the packet it carries (IPv4 uses its total
//! length field to find its end).

use core::fmt;
use core::str::FromStr;

use super::{read_u16, write_u16, Error, Result};

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// The broadcast address, `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: Address = Address([0xff; 6]);
    /// The all-zero address, as in an ARP request's target hardware address.
    pub const UNSPECIFIED: Address = Address([0; 6]);

    /// The address in the first six bytes of `data`, or `None` if `data`
    /// has fewer than six bytes.
    #[inline]
    pub fn from_bytes(data: &[u8]) -> Option<Address> {
        match data.get(..6) {
            Some(&[a, b, c, d, e, f]) => Some(Address([a, b, c, d, e, f])),
            _ => None,
        }
    }

    /// The address as bytes.
    #[inline]
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is `ff:ff:ff:ff:ff:ff`.
    #[inline]
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether the I/G bit (least significant bit of the first octet) is
    /// set: a group address. The broadcast address is a multicast address.
    #[inline]
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this is an individual (unicast) address.
    #[inline]
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Whether the U/L bit is set: a locally administered address.
    #[inline]
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Whether this is `00:00:00:00:00:00`.
    #[inline]
    pub fn is_unspecified(&self) -> bool {
        *self == Self::UNSPECIFIED
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = Error;

    /// Parses six hexadecimal octets separated by `:` or `-`
    /// (`00:00:5e:00:01:01`, `00-00-5E-00-01-01`); an octet may have one
    /// or two digits. Anything else is [`Error::Malformed`].
    fn from_str(s: &str) -> Result<Address> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut octets = [0u8; 6];
        let mut parts = s.split(sep);
        for octet in octets.iter_mut() {
            let part = parts.next().ok_or(Error::Malformed)?;
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::Malformed);
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| Error::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(Error::Malformed);
        }
        Ok(Address(octets))
    }
}

impl From<[u8; 6]> for Address {
    #[inline]
    fn from(octets: [u8; 6]) -> Address {
        Address(octets)
    }
}

/// The EtherType field: the protocol of the payload (IEEE Registration
/// Authority; values below 0x0600 are 802.3 lengths, not types).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtherType(pub u16);

impl EtherType {
    /// Internet Protocol version 4 (RFC 894).
    pub const IPV4: EtherType = EtherType(0x0800);
    /// Address Resolution Protocol (RFC 826).
    pub const ARP: EtherType = EtherType(0x0806);
    /// IEEE 802.1Q customer VLAN tag (C-tag).
    pub const VLAN: EtherType = EtherType(0x8100);
    /// IEEE 802.1ad service VLAN tag (S-tag, "Q-in-Q").
    pub const QINQ: EtherType = EtherType(0x88a8);
    /// Internet Protocol version 6 (RFC 2464).
    pub const IPV6: EtherType = EtherType(0x86dd);

    /// Whether a VLAN tag ([`super::vlan::Tag`]) follows: 802.1Q or 802.1ad.
    #[inline]
    pub const fn is_vlan(self) -> bool {
        self.0 == Self::VLAN.0 || self.0 == Self::QINQ.0
    }

    /// The name of a well-known type.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::IPV4 => Some("IPv4"),
            Self::ARP => Some("ARP"),
            Self::VLAN => Some("802.1Q"),
            Self::QINQ => Some("802.1ad"),
            Self::IPV6 => Some("IPv6"),
            _ => None,
        }
    }
}

impl From<u16> for EtherType {
    #[inline]
    fn from(value: u16) -> EtherType {
        EtherType(value)
    }
}

impl From<EtherType> for u16 {
    #[inline]
    fn from(value: EtherType) -> u16 {
        value.0
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

impl fmt::Debug for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EtherType({self})")
    }
}

mod field {
    use crate::wire::Field;

    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: usize = 12;
    pub const PAYLOAD: usize = 14;
}

/// A read/write view of an Ethernet II frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// The length of the header: two addresses and the EtherType.
    pub const HEADER_LEN: usize = field::PAYLOAD;

    /// Wraps `buffer` without checking it; getters panic if it is shorter
    /// than [`Self::HEADER_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps `buffer` after [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds a whole header: [`Error::Truncated`]
    /// otherwise. Any EtherType is accepted.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
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

    /// The length of the header, [`Self::HEADER_LEN`].
    #[inline]
    pub const fn header_len() -> usize {
        Self::HEADER_LEN
    }

    /// The length of a frame carrying `payload_len` bytes of payload.
    #[inline]
    pub const fn buffer_len(payload_len: usize) -> usize {
        Self::HEADER_LEN + payload_len
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Address {
        let d = &self.buffer.as_ref()[field::DESTINATION];
        Address([d[0], d[1], d[2], d[3], d[4], d[5]])
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Address {
        let d = &self.buffer.as_ref()[field::SOURCE];
        Address([d[0], d[1], d[2], d[3], d[4], d[5]])
    }

    /// The EtherType.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// Everything after the header (including any padding).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.0);
    }

    /// Everything after the header, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed header of an Ethernet II frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source MAC address.
    pub src_addr: Address,
    /// Destination MAC address.
    pub dst_addr: Address,
    /// Protocol of the payload.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a checked frame.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// The length of the header, 14.
    #[inline]
    pub const fn header_len(&self) -> usize {
        field::PAYLOAD
    }

    /// The length of the buffer [`Repr::emit`] writes to: the header alone
    /// (the payload is the caller's).
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD
    }

    /// Writes the header into `frame`, which must be at least
    /// [`Repr::buffer_len`] bytes long (panics otherwise).
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ethernet src={} dst={} type={}",
            self.src_addr, self.dst_addr, self.ethertype
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::for_each_mangled;

    // A broadcast ARP request as captured on a LAN: Ethernet header,
    // 28 bytes of ARP, 18 bytes of padding to the 60-byte minimum.
    static FRAME: [u8; 60] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // src
        0x08, 0x06, // ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0,
        0xa8, 0x01, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01, // ARP
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
    ];

    #[test]
    fn parse_frame() {
        let frame = Frame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), Address::BROADCAST);
        assert_eq!(
            frame.src_addr(),
            Address([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
        );
        assert_eq!(frame.ethertype(), EtherType::ARP);
        assert_eq!(frame.payload().len(), 46);
        assert_eq!(
            &frame.payload()[..8],
            &[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01]
        );
        let repr = Repr::parse(&frame).unwrap();
        assert_eq!(
            repr,
            Repr {
                src_addr: "52:54:00:12:34:56".parse().unwrap(),
                dst_addr: Address::BROADCAST,
                ethertype: EtherType::ARP,
            }
        );
        assert_eq!(repr.header_len(), 14);
        assert_eq!(repr.buffer_len(), 14);
        assert_eq!(Frame::<&[u8]>::header_len(), 14);
        assert_eq!(Frame::<&[u8]>::buffer_len(46), 60);
    }

    #[test]
    fn emit_frame() {
        let repr = Repr {
            src_addr: Address([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
            dst_addr: Address::BROADCAST,
            ethertype: EtherType::ARP,
        };
        let mut buf = [0u8; 60];
        let mut frame = Frame::new_unchecked(&mut buf[..]);
        repr.emit(&mut frame);
        frame.payload_mut().copy_from_slice(&FRAME[14..]);
        assert_eq!(buf, FRAME);

        let mut frame = Frame::new_unchecked(&mut buf[..]);
        frame.set_ethertype(EtherType::IPV4);
        frame.set_src_addr(Address([2, 0, 0, 0, 0, 1]));
        frame.set_dst_addr(Address([0, 0, 0x5e, 0, 1, 7]));
        assert_eq!(
            &buf[..14],
            &[0, 0, 0x5e, 0, 1, 7, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
        );
    }

    #[test]
    fn truncated() {
        for len in 0..14 {
            assert_eq!(Frame::new_checked(&FRAME[..len]), Err(Error::Truncated));
        }
        let frame = Frame::new_checked(&FRAME[..14]).unwrap();
        assert!(frame.payload().is_empty());
    }

    #[test]
    fn never_panics() {
        for_each_mangled(&FRAME, 4000, 80, |data| {
            if let Ok(frame) = Frame::new_checked(data) {
                let _ = (
                    frame.dst_addr(),
                    frame.src_addr(),
                    frame.ethertype(),
                    frame.payload(),
                );
                let repr = Repr::parse(&frame).unwrap();
                let mut buf = [0u8; 14];
                repr.emit(&mut Frame::new_unchecked(&mut buf[..]));
                assert_eq!(&buf[..], &data[..14]);
            }
        });
    }

    #[test]
    fn address() {
        let a: Address = "00:00:5e:00:01:01".parse().unwrap();
        assert_eq!(a, Address([0, 0, 0x5e, 0, 1, 1]));
        assert_eq!(a.to_string(), "00:00:5e:00:01:01");
        assert_eq!(format!("{a:?}"), "Address(00:00:5e:00:01:01)");
        assert_eq!("00-00-5E-00-01-01".parse::<Address>(), Ok(a));
        assert_eq!("0:0:5e:0:1:1".parse::<Address>(), Ok(a));
        for bad in [
            "",
            "00:00:5e:00:01",
            "00:00:5e:00:01:01:02",
            "00:00:5e:00:01:",
            "000:00:5e:00:01:01",
            "00:00:5g:00:01:01",
            "+0:00:5e:00:01:01",
            "00:00-5e:00:01:01",
        ] {
            assert_eq!(bad.parse::<Address>(), Err(Error::Malformed), "{bad:?}");
        }
        assert!(a.is_unicast() && !a.is_multicast() && !a.is_broadcast() && !a.is_local());
        assert!(Address::BROADCAST.is_broadcast() && Address::BROADCAST.is_multicast());
        let mcast = Address([0x01, 0x00, 0x5e, 0, 0, 0x12]);
        assert!(mcast.is_multicast() && !mcast.is_broadcast() && !mcast.is_unicast());
        assert!(Address([0x02, 0, 0, 0, 0, 1]).is_local());
        assert!(Address::UNSPECIFIED.is_unspecified());
        assert_eq!(
            Address::from_bytes(&[1, 2, 3, 4, 5, 6, 7]),
            Some(Address([1, 2, 3, 4, 5, 6]))
        );
        assert_eq!(Address::from_bytes(&[1, 2, 3, 4, 5]), None);
        assert_eq!(
            Address::from([1, 2, 3, 4, 5, 6]).as_bytes(),
            &[1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn ethertype() {
        assert_eq!(EtherType::IPV4.to_string(), "IPv4");
        assert_eq!(EtherType(0x88cc).to_string(), "0x88cc");
        assert_eq!(format!("{:?}", EtherType::ARP), "EtherType(ARP)");
        assert!(EtherType::VLAN.is_vlan() && EtherType::QINQ.is_vlan());
        assert!(!EtherType::IPV4.is_vlan());
        assert_eq!(u16::from(EtherType::IPV6), 0x86dd);
        assert_eq!(EtherType::from(0x0806), EtherType::ARP);
    }
}
