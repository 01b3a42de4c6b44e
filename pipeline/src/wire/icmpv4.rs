//! Internet Control Message Protocol for IPv4 (RFC 792).
//!
//! Every message starts with type, code and a checksum over the whole
//! ICMP message; the next four bytes depend on the type (RFC 792, RFC 1191
//! §4 for the next-hop MTU):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     (depends on the type)                     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data ...
//! +-+-+-+-+-+-+-+-+
//!
//! Echo request (8) and echo reply (0):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Identifier          |        Sequence Number        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data (echoed back unchanged) ...
//!
//! Destination unreachable (3); the MTU only with code 4, else 0:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           unused = 0          |         Next-Hop MTU          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Internet Header + leading bytes of Original Datagram     |
//!
//! Time exceeded (11):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           unused = 0                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Internet Header + leading bytes of Original Datagram     |
//! ```
//!
//! RFC 792 quotes the original header and 64 bits of its data; routers
//! quote as much as fits in a 576-byte ICMP datagram (RFC 1812
//! §4.3.2.3): [`error_data`] cuts a datagram to that.

use core::fmt;

use super::checksum;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// Declares a `u8` code point as an enum with an `Unknown(u8)` catch-all
/// and the two conversions.
macro_rules! u8_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident {
            $( $(#[$vattr:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vattr])* $variant, )+
            /// A value without a name here.
            Unknown(u8),
        }

        impl From<u8> for $name {
            #[inline]
            fn from(value: u8) -> $name {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u8 {
            #[inline]
            fn from(value: $name) -> u8 {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

u8_enum! {
    /// The ICMP message type (IANA "ICMP Type Numbers").
    pub enum Message {
        /// Echo reply (RFC 792).
        EchoReply = 0,
        /// Destination unreachable (RFC 792).
        DstUnreachable = 3,
        /// Redirect (RFC 792).
        Redirect = 5,
        /// Echo request (RFC 792).
        EchoRequest = 8,
        /// Router advertisement (RFC 1256).
        RouterAdvert = 9,
        /// Router solicitation (RFC 1256).
        RouterSolicit = 10,
        /// Time exceeded (RFC 792).
        TimeExceeded = 11,
        /// Parameter problem (RFC 792).
        ParamProblem = 12,
        /// Timestamp (RFC 792).
        Timestamp = 13,
        /// Timestamp reply (RFC 792).
        TimestampReply = 14,
    }
}

u8_enum! {
    /// The codes of destination unreachable (RFC 792, RFC 1812 §5.2.7.1).
    pub enum DstUnreachable {
        /// 0: no route to the destination network.
        NetUnreachable = 0,
        /// 1: the destination host does not answer (ARP failed).
        HostUnreachable = 1,
        /// 2: the destination does not speak the protocol.
        ProtoUnreachable = 2,
        /// 3: no listener on the destination port.
        PortUnreachable = 3,
        /// 4: fragmentation needed but DF set; carries the next-hop MTU
        /// (RFC 1191).
        FragRequired = 4,
        /// 5: source route failed.
        SrcRouteFailed = 5,
        /// 6: destination network unknown.
        DstNetUnknown = 6,
        /// 7: destination host unknown.
        DstHostUnknown = 7,
        /// 8: source host isolated.
        SrcHostIsolated = 8,
        /// 9: network administratively prohibited.
        NetProhibited = 9,
        /// 10: host administratively prohibited.
        HostProhibited = 10,
        /// 11: network unreachable for the type of service.
        NetUnreachToS = 11,
        /// 12: host unreachable for the type of service.
        HostUnreachToS = 12,
        /// 13: communication administratively prohibited (a filter).
        CommAdminProhibited = 13,
        /// 14: host precedence violation.
        HostPrecedenceViolation = 14,
        /// 15: precedence cutoff in effect.
        PrecedenceCutoff = 15,
    }
}

u8_enum! {
    /// The codes of time exceeded (RFC 792).
    pub enum TimeExceeded {
        /// 0: the TTL reached 0 in transit.
        TtlExpired = 0,
        /// 1: fragment reassembly timed out.
        FragExpired = 1,
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::EchoReply => f.write_str("echo reply"),
            Message::DstUnreachable => f.write_str("destination unreachable"),
            Message::Redirect => f.write_str("redirect"),
            Message::EchoRequest => f.write_str("echo request"),
            Message::RouterAdvert => f.write_str("router advertisement"),
            Message::RouterSolicit => f.write_str("router solicitation"),
            Message::TimeExceeded => f.write_str("time exceeded"),
            Message::ParamProblem => f.write_str("parameter problem"),
            Message::Timestamp => f.write_str("timestamp"),
            Message::TimestampReply => f.write_str("timestamp reply"),
            Message::Unknown(t) => write!(f, "type {t}"),
        }
    }
}

/// The largest ICMP error datagram a router sends, IP header included
/// (RFC 1812 §4.3.2.3).
pub const MAX_ERROR_DATAGRAM_LEN: usize = 576;

/// The most bytes of the original datagram an error message quotes: what
/// fits in [`MAX_ERROR_DATAGRAM_LEN`] after a 20-byte IPv4 header and the
/// 8-byte ICMP header.
pub const MAX_ERROR_DATA_LEN: usize = MAX_ERROR_DATAGRAM_LEN - 20 - 8;

/// The part of the offending `datagram` (its IPv4 header and leading
/// payload) that an error message about it quotes: at most
/// [`MAX_ERROR_DATA_LEN`] bytes.
#[inline]
pub fn error_data(datagram: &[u8]) -> &[u8] {
    &datagram[..datagram.len().min(MAX_ERROR_DATA_LEN)]
}

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQNO: usize = 6;
    pub const UNUSED: usize = 4;
    pub const MTU: usize = 6;
    pub const DATA: usize = 8;
}

/// A read/write view of an ICMPv4 message. The buffer is the IPv4
/// payload: the checksum covers all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length of the header: type, code, checksum and the four
    /// type-specific bytes.
    pub const HEADER_LEN: usize = field::DATA;

    /// Wraps `buffer` without checking it; getters panic if it is shorter
    /// than [`Self::HEADER_LEN`].
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

    /// Checks that the buffer holds the 8-byte header: [`Error::Truncated`]
    /// otherwise. The checksum is not checked: see
    /// [`Self::verify_checksum`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < field::DATA {
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

    /// The length of the header, 8.
    #[inline]
    pub const fn header_len(&self) -> usize {
        field::DATA
    }

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The message code (meaning depends on the type).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The four type-specific bytes after the checksum.
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::REST)
    }

    /// The identifier of an echo request or reply.
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// The sequence number of an echo request or reply.
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO)
    }

    /// The next-hop MTU of a "fragmentation needed" message (RFC 1191);
    /// 0 from routers that predate it.
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::MTU)
    }

    /// Whether the checksum over the whole message is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.buffer.as_ref()) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Everything after the 8-byte header: echo data, or the quoted
    /// datagram of an error.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::DATA..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: Message) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the four type-specific bytes.
    #[inline]
    pub fn set_rest_of_header(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::REST, value);
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT, value);
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO, value);
    }

    /// Sets the next-hop MTU (and clears the unused half-word before it).
    #[inline]
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        let data = self.buffer.as_mut();
        write_u16(data, field::UNUSED, 0);
        write_u16(data, field::MTU, value);
    }

    /// Computes the checksum over the whole buffer and stores it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(value);
    }

    /// Everything after the header, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed ICMPv4 message of the kinds a router answers or sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Repr<'a> {
    /// Echo request ("ping").
    EchoRequest {
        /// Identifier (per pinging process).
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data to echo back.
        data: &'a [u8],
    },
    /// Echo reply.
    EchoReply {
        /// Identifier, copied from the request.
        ident: u16,
        /// Sequence number, copied from the request.
        seq_no: u16,
        /// Data, copied from the request.
        data: &'a [u8],
    },
    /// Destination unreachable.
    DstUnreachable {
        /// Why (the code).
        reason: DstUnreachable,
        /// The MTU of the next hop, for [`DstUnreachable::FragRequired`];
        /// 0 otherwise.
        next_hop_mtu: u16,
        /// The offending datagram's IPv4 header and leading payload.
        data: &'a [u8],
    },
    /// Time exceeded.
    TimeExceeded {
        /// Why (the code).
        reason: TimeExceeded,
        /// The offending datagram's IPv4 header and leading payload.
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Reads a message, checking its length and checksum first.
    ///
    /// Returns [`Error::Checksum`] if the checksum is wrong and
    /// [`Error::Unsupported`] for message types other than the four of
    /// `Repr`. The code of an echo is not checked (RFC 1122 §3.2.2: be
    /// liberal); the quoted data of an error is not parsed.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = packet.payload();
        match packet.msg_type() {
            Message::EchoRequest => Ok(Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Message::EchoReply => Ok(Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Message::DstUnreachable => Ok(Repr::DstUnreachable {
                reason: DstUnreachable::from(packet.msg_code()),
                next_hop_mtu: packet.next_hop_mtu(),
                data,
            }),
            Message::TimeExceeded => Ok(Repr::TimeExceeded {
                reason: TimeExceeded::from(packet.msg_code()),
                data,
            }),
            _ => Err(Error::Unsupported),
        }
    }

    /// The length of the header, 8.
    #[inline]
    pub const fn header_len(&self) -> usize {
        field::DATA
    }

    /// The data after the header (echo data or quoted datagram).
    #[inline]
    pub const fn data(&self) -> &'a [u8] {
        match *self {
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::DstUnreachable { data, .. }
            | Repr::TimeExceeded { data, .. } => data,
        }
    }

    /// The length of the message: header and data.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        field::DATA + self.data().len()
    }

    /// Writes the message, data included, into the first
    /// [`Repr::buffer_len`] bytes of `packet` and fills the checksum over
    /// them. Panics if the buffer is shorter; bytes after the message are
    /// left alone (make the buffer exactly `buffer_len` long, as the
    /// checksum of a received message covers the whole IPv4 payload).
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let (msg_type, code, rest) = match *self {
            Repr::EchoRequest { ident, seq_no, .. } => (
                Message::EchoRequest,
                0,
                u32::from(ident) << 16 | u32::from(seq_no),
            ),
            Repr::EchoReply { ident, seq_no, .. } => (
                Message::EchoReply,
                0,
                u32::from(ident) << 16 | u32::from(seq_no),
            ),
            Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                ..
            } => (
                Message::DstUnreachable,
                reason.into(),
                u32::from(next_hop_mtu),
            ),
            Repr::TimeExceeded { reason, .. } => (Message::TimeExceeded, reason.into(), 0),
        };
        packet.set_msg_type(msg_type);
        packet.set_msg_code(code);
        packet.set_checksum(0);
        packet.set_rest_of_header(rest);
        let data = self.data();
        packet.payload_mut()[..data.len()].copy_from_slice(data);
        let len = self.buffer_len();
        let value = checksum::checksum(&packet.buffer.as_ref()[..len]);
        packet.set_checksum(value);
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                write!(
                    f,
                    "ICMP echo request id={ident} seq={seq_no} len={}",
                    data.len()
                )
            }
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                write!(
                    f,
                    "ICMP echo reply id={ident} seq={seq_no} len={}",
                    data.len()
                )
            }
            Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                data,
            } => write!(
                f,
                "ICMP destination unreachable ({reason:?}) mtu={next_hop_mtu} len={}",
                data.len()
            ),
            Repr::TimeExceeded { reason, data } => {
                write!(f, "ICMP time exceeded ({reason:?}) len={}", data.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4;
    use crate::wire::testutil::for_each_mangled;

    // The ICMP part of `ping -c1 8.8.8.8` (see ipv4's tests).
    fn echo_request() -> &'static [u8] {
        &ipv4::tests::ECHO[20..]
    }

    // TTL exceeded for a traceroute UDP probe 192.168.1.10 -> 8.8.8.8,
    // quoting the probe's IPv4 header and 8 bytes of UDP (RFC 792 style).
    static TIME_EXCEEDED: [u8; 36] = [
        0x0b, 0x00, 0xc5, 0x1b, 0x00, 0x00, 0x00, 0x00, // ICMP
        0x45, 0x00, 0x00, 0x3c, 0x5d, 0x21, 0x00, 0x00, 0x01, 0x11, 0x8a, 0xce, 0xc0, 0xa8, 0x01,
        0x0a, 0x08, 0x08, 0x08, 0x08, // quoted IPv4
        0xad, 0x21, 0x82, 0x9a, 0x00, 0x28, 0x00, 0x00, // quoted UDP
    ];

    // Fragmentation needed, next-hop MTU 1476 (a GRE tunnel over 1500),
    // about the same probe.
    static FRAG_NEEDED: [u8; 36] = [
        0x03, 0x04, 0xc7, 0x53, 0x00, 0x00, 0x05, 0xc4, // ICMP
        0x45, 0x00, 0x00, 0x3c, 0x5d, 0x21, 0x00, 0x00, 0x01, 0x11, 0x8a, 0xce, 0xc0, 0xa8, 0x01,
        0x0a, 0x08, 0x08, 0x08, 0x08, // quoted IPv4
        0xad, 0x21, 0x82, 0x9a, 0x00, 0x28, 0x00, 0x00, // quoted UDP
    ];

    #[test]
    fn parse_echo_request() {
        let packet = Packet::new_checked(echo_request()).unwrap();
        assert_eq!(packet.msg_type(), Message::EchoRequest);
        assert_eq!(packet.msg_code(), 0);
        assert_eq!(packet.checksum(), 0x7d70);
        assert_eq!(packet.echo_ident(), 0x1c46);
        assert_eq!(packet.echo_seq_no(), 1);
        assert_eq!(packet.rest_of_header(), 0x1c46_0001);
        assert_eq!(packet.header_len(), 8);
        assert_eq!(packet.payload().len(), 56);
        assert_eq!(
            packet.payload()[16..],
            (0x10..0x38).collect::<Vec<u8>>()[..]
        );
        assert!(packet.verify_checksum());
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            Repr::EchoRequest {
                ident: 0x1c46,
                seq_no: 1,
                data: &echo_request()[8..]
            }
        );
        assert_eq!((repr.header_len(), repr.buffer_len()), (8, 64));
        assert_eq!(repr.to_string(), "ICMP echo request id=7238 seq=1 len=56");
    }

    #[test]
    fn emit_echo() {
        let request = Repr::EchoRequest {
            ident: 0x1c46,
            seq_no: 1,
            data: &echo_request()[8..],
        };
        let mut buf = [0xffu8; 64];
        request.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], echo_request());

        // The reply differs in the type and hence the checksum only.
        let Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = request
        else {
            unreachable!()
        };
        let reply = Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        reply.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..4], &[0x00, 0x00, 0x85, 0x70]);
        assert_eq!(&buf[4..], &echo_request()[4..]);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&buf[..]).unwrap()),
            Ok(reply)
        );

        // Bytes after the message are neither written nor summed.
        let mut long = [0xeeu8; 70];
        reply.emit(&mut Packet::new_unchecked(&mut long[..]));
        assert_eq!(&long[..64], &buf[..]);
        assert_eq!(&long[64..], &[0xee; 6]);
    }

    #[test]
    fn time_exceeded() {
        let packet = Packet::new_checked(&TIME_EXCEEDED[..]).unwrap();
        assert_eq!(packet.msg_type(), Message::TimeExceeded);
        assert_eq!(
            TimeExceeded::from(packet.msg_code()),
            TimeExceeded::TtlExpired
        );
        assert_eq!(packet.rest_of_header(), 0);
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            Repr::TimeExceeded {
                reason: TimeExceeded::TtlExpired,
                data: &TIME_EXCEEDED[8..]
            }
        );
        // The quoted header is a real header; its total length says 60
        // while only 28 bytes are quoted.
        let quoted = ipv4::Packet::new_unchecked(repr.data());
        assert_eq!(quoted.protocol(), ipv4::Protocol::UDP);
        assert_eq!(quoted.ttl(), 1);
        assert!(quoted.verify_checksum());

        let mut buf = [0u8; 36];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, TIME_EXCEEDED);
    }

    #[test]
    fn frag_needed() {
        let packet = Packet::new_checked(&FRAG_NEEDED[..]).unwrap();
        assert_eq!(packet.msg_type(), Message::DstUnreachable);
        assert_eq!(packet.msg_code(), 4);
        assert_eq!(packet.next_hop_mtu(), 1476);
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            Repr::DstUnreachable {
                reason: DstUnreachable::FragRequired,
                next_hop_mtu: 1476,
                data: &FRAG_NEEDED[8..],
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMP destination unreachable (FragRequired) mtu=1476 len=28"
        );
        let mut buf = [0xffu8; 36];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, FRAG_NEEDED);
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_rest_of_header(0xffff_ffff);
        packet.set_next_hop_mtu(1400);
        assert_eq!(packet.rest_of_header(), 1400);
    }

    #[test]
    fn error_data_is_capped() {
        let datagram = [0u8; 1500];
        assert_eq!(error_data(&datagram).len(), 548);
        assert_eq!(error_data(&datagram[..100]).len(), 100);
        // 20 bytes of IPv4 + 8 of ICMP + 548 quoted = 576 (RFC 1812).
        let repr = Repr::TimeExceeded {
            reason: TimeExceeded::TtlExpired,
            data: error_data(&datagram),
        };
        assert_eq!(20 + repr.buffer_len(), MAX_ERROR_DATAGRAM_LEN);
    }

    #[test]
    fn codes() {
        for value in 0..=255u8 {
            assert_eq!(u8::from(Message::from(value)), value);
            assert_eq!(u8::from(DstUnreachable::from(value)), value);
            assert_eq!(u8::from(TimeExceeded::from(value)), value);
        }
        assert_eq!(Message::from(11), Message::TimeExceeded);
        assert_eq!(Message::from(42), Message::Unknown(42));
        assert_eq!(
            DstUnreachable::from(13),
            DstUnreachable::CommAdminProhibited
        );
        assert_eq!(DstUnreachable::from(3), DstUnreachable::PortUnreachable);
        assert_eq!(TimeExceeded::from(1), TimeExceeded::FragExpired);
        assert_eq!(Message::EchoRequest.to_string(), "echo request");
        assert_eq!(Message::Unknown(42).to_string(), "type 42");
    }

    #[test]
    fn errors() {
        for len in 0..8 {
            assert_eq!(
                Packet::new_checked(&echo_request()[..len]),
                Err(Error::Truncated)
            );
            let packet = Packet::new_unchecked(&echo_request()[..len]);
            assert_eq!(Repr::parse(&packet), Err(Error::Truncated));
        }
        // A cut message fails its checksum.
        let packet = Packet::new_checked(&echo_request()[..63]).unwrap();
        assert!(!packet.verify_checksum());
        assert_eq!(Repr::parse(&packet), Err(Error::Checksum));
        // A redirect is well-formed but unsupported.
        let mut buf = [0u8; 36];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_msg_type(Message::Redirect);
        packet.fill_checksum();
        assert!(packet.verify_checksum());
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Err(Error::Unsupported));
    }

    #[test]
    fn never_panics() {
        for valid in [echo_request(), &FRAG_NEEDED[..]] {
            for_each_mangled(valid, 4000, 80, |data| {
                if let Ok(packet) = Packet::new_checked(data) {
                    let _ = (packet.msg_type(), packet.msg_code(), packet.checksum());
                    let _ = (
                        packet.echo_ident(),
                        packet.echo_seq_no(),
                        packet.next_hop_mtu(),
                    );
                    let _ = (
                        packet.rest_of_header(),
                        packet.payload(),
                        packet.verify_checksum(),
                    );
                    if let Ok(repr) = Repr::parse(&packet) {
                        let mut buf = vec![0u8; repr.buffer_len()];
                        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
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
