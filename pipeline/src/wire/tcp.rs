//! Transmission Control Protocol headers (RFC 9293).
//!
//! RFC 9293 §3.1:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |       |       |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           [Options]                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                             Data ...                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!   Data Offset: header length in 32-bit words (5..=15)
//! ```
//!
//! TCP has no length field: the segment is the whole buffer, which must be
//! the IPv4 payload (cut to the IPv4 total length). The checksum covers
//! the IPv4 pseudo header ([`checksum::pseudo_header_v4`]) and the whole
//! segment.
//!
//! Options (RFC 9293 §3.1 "Options", §3.2) are kind 0 (end of list),
//! kind 1 (no operation) or kind, length, data; [`OptionsIter`] walks them.
//! A router rewrites one of them: [`Packet::clamp_max_seg_size`] lowers
//! the MSS of SYNs entering a tunnel whose MTU is below the path's.

use core::fmt;
use core::ops::{BitOr, BitOrAssign};
use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::Protocol;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// The control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from the sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// The acknowledgment number is significant.
    pub const ACK: Flags = Flags(0x10);
    /// The urgent pointer is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: Flags = Flags(0x40);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: Flags = Flags(0x80);

    const NAMES: [&'static str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

    /// Whether every bit of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Flags {
    type Output = Flags;

    #[inline]
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    #[inline]
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for Flags {
    /// The names of the set bits joined by `|`, e.g. `SYN|ACK`; `-` if
    /// none is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        let mut first = true;
        for (bit, name) in Self::NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

/// Option kinds (IANA "TCP Option Kind Numbers").
mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// Kind 0: end of the option list (the rest is padding).
    EndOfList,
    /// Kind 1: no operation (alignment).
    NoOperation,
    /// Kind 2: maximum segment size (RFC 9293 §3.7.1), SYN only.
    MaxSegmentSize(u16),
    /// Kind 3: window scale shift count (RFC 7323 §2), SYN only.
    WindowScale(u8),
    /// Kind 4: selective acknowledgment permitted (RFC 2018), SYN only.
    SackPermitted,
    /// Kind 5: selective acknowledgment blocks (RFC 2018), raw: 8 bytes
    /// (left and right edge) per block.
    Sack(&'a [u8]),
    /// Kind 8: timestamps (RFC 7323 §3).
    Timestamps {
        /// The sender's timestamp clock.
        tsval: u32,
        /// The timestamp echoed back.
        tsecr: u32,
    },
    /// Any other kind, with the bytes after kind and length.
    Unknown {
        /// The kind.
        kind: u8,
        /// The option's data.
        data: &'a [u8],
    },
}

/// An iterator over the options of a TCP header, from
/// [`Packet::options_iter`] or [`OptionsIter::new`].
///
/// Yields [`Error::Malformed`] (and then stops) for an option without a
/// length octet, with a length below 2 or past the end, or with the wrong
/// length for its kind. Stops after [`TcpOption::EndOfList`].
#[derive(Debug, Clone)]
pub struct OptionsIter<'a> {
    data: &'a [u8],
    len: usize,
}

impl<'a> OptionsIter<'a> {
    /// An iterator over the options in `data` (the header after its fixed
    /// 20 bytes).
    #[inline]
    pub const fn new(data: &'a [u8]) -> OptionsIter<'a> {
        OptionsIter {
            data,
            len: data.len(),
        }
    }

    /// How far into the options the next one starts (after the end of
    /// the list or an error: the length of the options).
    #[inline]
    pub const fn offset(&self) -> usize {
        self.len - self.data.len()
    }

    #[inline]
    fn next_option(&mut self) -> Result<TcpOption<'a>> {
        let data = self.data;
        let kind = data[0];
        match kind {
            kind::END => {
                self.data = &[];
                return Ok(TcpOption::EndOfList);
            }
            kind::NOP => {
                self.data = &data[1..];
                return Ok(TcpOption::NoOperation);
            }
            _ => {}
        }
        let len = usize::from(*data.get(1).ok_or(Error::Malformed)?);
        if len < 2 || len > data.len() {
            return Err(Error::Malformed);
        }
        let body = &data[2..len];
        self.data = &data[len..];
        Ok(match (kind, body.len()) {
            (kind::MSS, 2) => TcpOption::MaxSegmentSize(read_u16(body, 0)),
            (kind::WINDOW_SCALE, 1) => TcpOption::WindowScale(body[0]),
            (kind::SACK_PERMITTED, 0) => TcpOption::SackPermitted,
            (kind::SACK, n) if n > 0 && n % 8 == 0 => TcpOption::Sack(body),
            (kind::TIMESTAMPS, 8) => TcpOption::Timestamps {
                tsval: read_u32(body, 0),
                tsecr: read_u32(body, 4),
            },
            (
                kind::MSS
                | kind::WINDOW_SCALE
                | kind::SACK_PERMITTED
                | kind::SACK
                | kind::TIMESTAMPS,
                _,
            ) => return Err(Error::Malformed),
            (kind, _) => TcpOption::Unknown { kind, data: body },
        })
    }
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = Result<TcpOption<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Result<TcpOption<'a>>> {
        if self.data.is_empty() {
            return None;
        }
        let option = self.next_option();
        if option.is_err() {
            self.data = &[];
        }
        Some(option)
    }
}

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ_NUM: usize = 4;
    pub const ACK_NUM: usize = 8;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
    pub const OPTIONS: usize = 20;
    pub const MAX_HEADER: usize = 60;
}

/// A read/write view of a TCP segment. The buffer is the IPv4 payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length of a header without options.
    pub const MIN_HEADER_LEN: usize = field::OPTIONS;
    /// The length of a header with the most options (data offset 15).
    pub const MAX_HEADER_LEN: usize = field::MAX_HEADER;

    /// Wraps `buffer` without checking it; getters may panic if it is
    /// shorter than the header.
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

    /// Checks the header length: [`Error::Truncated`] if the buffer is
    /// shorter than 20 bytes or than the data offset says,
    /// [`Error::Malformed`] if the data offset is below 5. Options are not
    /// checked here (see [`OptionsIter`]), nor is the checksum (see
    /// [`Self::verify_checksum`]).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::OPTIONS {
            return Err(Error::Truncated);
        }
        let header_len = usize::from(self.header_len());
        if header_len < field::OPTIONS {
            Err(Error::Malformed)
        } else if header_len > len {
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

    /// The sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::SEQ_NUM)
    }

    /// The acknowledgment number (meaningful with ACK).
    #[inline]
    pub fn ack_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::ACK_NUM)
    }

    /// The header length in bytes (data offset × 4: 20..=60).
    #[inline]
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// The control bits.
    #[inline]
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }

    /// The FIN bit.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flags().contains(Flags::FIN)
    }

    /// The SYN bit.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flags().contains(Flags::SYN)
    }

    /// The RST bit.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flags().contains(Flags::RST)
    }

    /// The PSH bit.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flags().contains(Flags::PSH)
    }

    /// The ACK bit.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flags().contains(Flags::ACK)
    }

    /// The URG bit.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flags().contains(Flags::URG)
    }

    /// The ECE bit.
    #[inline]
    pub fn ece(&self) -> bool {
        self.flags().contains(Flags::ECE)
    }

    /// The CWR bit.
    #[inline]
    pub fn cwr(&self) -> bool {
        self.flags().contains(Flags::CWR)
    }

    /// The window (unscaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW)
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The urgent pointer (meaningful with URG).
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT)
    }

    /// The length of the segment's data: what follows the header.
    #[inline]
    pub fn payload_len(&self) -> usize {
        self.buffer.as_ref().len() - usize::from(self.header_len())
    }

    /// The sequence space the segment takes: its data plus one for SYN
    /// and one for FIN (RFC 9293 §3.4).
    #[inline]
    pub fn segment_len(&self) -> usize {
        self.payload_len() + usize::from(self.syn()) + usize::from(self.fin())
    }

    /// The MSS option, if the header carries a well-formed one.
    #[inline]
    pub fn max_seg_size(&self) -> Option<u16> {
        let options = &self.buffer.as_ref()[field::OPTIONS..usize::from(self.header_len())];
        OptionsIter::new(options).find_map(|option| match option {
            Ok(TcpOption::MaxSegmentSize(mss)) => Some(mss),
            _ => None,
        })
    }

    /// Whether the checksum is correct for a segment (the whole buffer)
    /// from `src_addr` to `dst_addr`.
    #[inline]
    pub fn verify_checksum(&self, src_addr: Ipv4Addr, dst_addr: Ipv4Addr) -> bool {
        let data = self.buffer.as_ref();
        let pseudo =
            checksum::pseudo_header_v4(src_addr, dst_addr, Protocol::TCP.0, data.len() as u32);
        checksum::fold(checksum::sum(data, pseudo)) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The options (and padding) after the fixed 20 bytes of the header.
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::OPTIONS..usize::from(self.header_len())]
    }

    /// An iterator over the options.
    #[inline]
    pub fn options_iter(&self) -> OptionsIter<'a> {
        OptionsIter::new(self.options())
    }

    /// The data after the header (the rest of the buffer).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[usize::from(self.header_len())..]
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

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::SEQ_NUM, value);
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::ACK_NUM, value);
    }

    /// Sets the header length in bytes (a multiple of 4, 20..=60); clears
    /// the reserved bits.
    #[inline]
    pub fn set_header_len(&mut self, len: u8) {
        self.buffer.as_mut()[field::DATA_OFF] = (len / 4) << 4;
    }

    /// Sets all control bits.
    #[inline]
    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[field::FLAGS] = flags.0;
    }

    #[inline]
    fn set_flag(&mut self, flag: Flags, value: bool) {
        let old = self.flags().0;
        self.set_flags(Flags(if value { old | flag.0 } else { old & !flag.0 }));
    }

    /// Sets or clears FIN.
    #[inline]
    pub fn set_fin(&mut self, value: bool) {
        self.set_flag(Flags::FIN, value);
    }

    /// Sets or clears SYN.
    #[inline]
    pub fn set_syn(&mut self, value: bool) {
        self.set_flag(Flags::SYN, value);
    }

    /// Sets or clears RST.
    #[inline]
    pub fn set_rst(&mut self, value: bool) {
        self.set_flag(Flags::RST, value);
    }

    /// Sets or clears PSH.
    #[inline]
    pub fn set_psh(&mut self, value: bool) {
        self.set_flag(Flags::PSH, value);
    }

    /// Sets or clears ACK.
    #[inline]
    pub fn set_ack(&mut self, value: bool) {
        self.set_flag(Flags::ACK, value);
    }

    /// Sets or clears URG.
    #[inline]
    pub fn set_urg(&mut self, value: bool) {
        self.set_flag(Flags::URG, value);
    }

    /// Sets or clears ECE.
    #[inline]
    pub fn set_ece(&mut self, value: bool) {
        self.set_flag(Flags::ECE, value);
    }

    /// Sets or clears CWR.
    #[inline]
    pub fn set_cwr(&mut self, value: bool) {
        self.set_flag(Flags::CWR, value);
    }

    /// Sets the window.
    #[inline]
    pub fn set_window_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::WINDOW, value);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT, value);
    }

    /// Computes the checksum of the segment (the whole buffer) from
    /// `src_addr` to `dst_addr` and stores it.
    #[inline]
    pub fn fill_checksum(&mut self, src_addr: Ipv4Addr, dst_addr: Ipv4Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo =
            checksum::pseudo_header_v4(src_addr, dst_addr, Protocol::TCP.0, data.len() as u32);
        let value = checksum::fold(checksum::sum(data, pseudo));
        self.set_checksum(value);
    }

    /// Lowers the MSS option to `max` if it is above, updating the
    /// checksum incrementally (RFC 1624); returns whether it changed
    /// anything. A router does this to SYNs it forwards into a tunnel so
    /// that the endpoints do not send segments the tunnel must fragment.
    /// Headers with broken options are left alone.
    #[inline]
    pub fn clamp_max_seg_size(&mut self, max: u16) -> bool {
        let header_len = usize::from(self.header_len());
        let data = self.buffer.as_mut();
        // Find the MSS value the way `max_seg_size` does.
        let Some(options) = data.get(field::OPTIONS..header_len) else {
            return false;
        };
        let mut iter = OptionsIter::new(options);
        let value_at = loop {
            let at = field::OPTIONS + iter.offset();
            match iter.next() {
                Some(Ok(TcpOption::MaxSegmentSize(_))) => break at + 2,
                Some(Ok(TcpOption::EndOfList)) | Some(Err(_)) | None => return false,
                Some(Ok(_)) => {}
            }
        };
        let old = read_u16(data, value_at);
        if old <= max {
            return false;
        }
        write_u16(data, value_at, max);
        // A word at an odd offset straddles two checksum words: its bytes
        // count swapped (RFC 1071 §2 (B)).
        let (old_word, new_word) = if value_at % 2 == 0 {
            (old, max)
        } else {
            (old.swap_bytes(), max.swap_bytes())
        };
        let sum = checksum::update16(read_u16(data, field::CHECKSUM), old_word, new_word);
        write_u16(data, field::CHECKSUM, sum);
        true
    }

    /// The options, mutably.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = usize::from(self.header_len());
        &mut self.buffer.as_mut()[field::OPTIONS..header_len]
    }

    /// The data after the header, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = usize::from(self.header_len());
        &mut self.buffer.as_mut()[header_len..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed TCP header (the fields only: sequencing is the TCP stack's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgment number (meaningful with ACK).
    pub ack_number: u32,
    /// Control bits.
    pub flags: Flags,
    /// Window (unscaled).
    pub window_len: u16,
    /// Urgent pointer (meaningful with URG).
    pub urgent_at: u16,
    /// Raw options, padding included (at most 40 bytes).
    pub options: &'a [u8],
    /// Length of the data after the header.
    pub payload_len: usize,
}

impl<'a> Repr<'a> {
    /// Reads a header, checking its length first. The checksum needs the
    /// addresses: check it with [`Packet::verify_checksum`].
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_at: packet.urgent_at(),
            options: packet.options(),
            payload_len: packet.payload_len(),
        })
    }

    #[inline]
    const fn options_len(&self) -> usize {
        let len = if self.options.len() < 40 {
            self.options.len()
        } else {
            40
        };
        (len + 3) & !3
    }

    /// The length of the header: 20 plus the options padded to a multiple
    /// of 4.
    #[inline]
    pub const fn header_len(&self) -> usize {
        field::OPTIONS + self.options_len()
    }

    /// The length of the segment: header and data.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Writes the header into `packet` with a checksum of 0; options are
    /// padded with zeros (end of list) to a multiple of 4 and cut at 40
    /// bytes. Write the payload, then call [`Packet::fill_checksum`]. The
    /// buffer must be at least [`Repr::header_len`] bytes long (panics
    /// otherwise).
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(self.header_len() as u8);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_at);
        let options = &self.options[..self.options.len().min(40)];
        let out = packet.options_mut();
        out[..options.len()].copy_from_slice(options);
        out[options.len()..].fill(kind::END);
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TCP src={} dst={} [{}] seq={}",
            self.src_port, self.dst_port, self.flags, self.seq_number
        )?;
        if self.flags.contains(Flags::ACK) {
            write!(f, " ack={}", self.ack_number)?;
        }
        write!(f, " win={} len={}", self.window_len, self.payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::{for_each_mangled, XorShift};

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

    // A Linux SYN to the BGP port: MSS 1460, SACK permitted, timestamps,
    // NOP, window scale 7.
    static SYN: [u8; 40] = [
        0xa1, 0x12, 0x00, 0xb3, // ports 41234 -> 179
        0x6f, 0x1c, 0x2a, 0x3b, // seq
        0x00, 0x00, 0x00, 0x00, // ack
        0xa0, 0x02, 0xfa, 0xf0, // offset 10, SYN, window 64240
        0x88, 0xf4, 0x00, 0x00, // checksum, urgent
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, 0x3b, 0x9a, 0xca, 0x07, 0x00, 0x00, 0x00, 0x00, // timestamps
        0x01, // NOP
        0x03, 0x03, 0x07, // window scale 7
    ];

    fn syn_repr() -> Repr<'static> {
        Repr {
            src_port: 41234,
            dst_port: 179,
            seq_number: 0x6f1c_2a3b,
            ack_number: 0,
            flags: Flags::SYN,
            window_len: 64240,
            urgent_at: 0,
            options: &SYN[20..],
            payload_len: 0,
        }
    }

    #[test]
    fn parse_syn() {
        let packet = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(packet.src_port(), 41234);
        assert_eq!(packet.dst_port(), 179);
        assert_eq!(packet.seq_number(), 0x6f1c_2a3b);
        assert_eq!(packet.ack_number(), 0);
        assert_eq!(packet.header_len(), 40);
        assert_eq!(packet.flags(), Flags::SYN);
        assert!(packet.syn());
        assert!(!packet.ack() && !packet.fin() && !packet.rst() && !packet.psh());
        assert!(!packet.urg() && !packet.ece() && !packet.cwr());
        assert_eq!(packet.window_len(), 64240);
        assert_eq!(packet.checksum(), 0x88f4);
        assert_eq!(packet.urgent_at(), 0);
        assert_eq!(packet.options(), &SYN[20..]);
        assert!(packet.payload().is_empty());
        assert_eq!(packet.payload_len(), 0);
        assert_eq!(packet.segment_len(), 1);
        assert_eq!(packet.max_seg_size(), Some(1460));
        assert!(packet.verify_checksum(SRC, DST));
        assert!(!packet.verify_checksum(SRC, Ipv4Addr::new(192, 168, 1, 2)));
        let options: Vec<_> = packet.options_iter().collect();
        assert_eq!(
            options,
            [
                Ok(TcpOption::MaxSegmentSize(1460)),
                Ok(TcpOption::SackPermitted),
                Ok(TcpOption::Timestamps {
                    tsval: 0x3b9a_ca07,
                    tsecr: 0
                }),
                Ok(TcpOption::NoOperation),
                Ok(TcpOption::WindowScale(7)),
            ]
        );
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(repr, syn_repr());
        assert_eq!((repr.header_len(), repr.buffer_len()), (40, 40));
        assert_eq!(
            repr.to_string(),
            "TCP src=41234 dst=179 [SYN] seq=1864116795 win=64240 len=0"
        );
    }

    #[test]
    fn emit_syn() {
        let mut buf = [0xffu8; 40];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        syn_repr().emit(&mut packet);
        assert_eq!(packet.checksum(), 0);
        packet.fill_checksum(SRC, DST);
        assert_eq!(buf, SYN);
    }

    #[test]
    fn emit_pads_options() {
        let repr = Repr {
            options: &[0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03],
            flags: Flags::SYN | Flags::ACK,
            ack_number: 7,
            payload_len: 3,
            ..syn_repr()
        };
        assert_eq!((repr.header_len(), repr.buffer_len()), (28, 31));
        let mut buf = [0xffu8; 31];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut packet);
        packet.payload_mut().copy_from_slice(b"abc");
        packet.fill_checksum(SRC, DST);
        assert!(packet.verify_checksum(SRC, DST));
        assert_eq!(&buf[12..14], &[0x70, 0x12]);
        assert_eq!(
            &buf[20..28],
            &[0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x00]
        );
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(packet.payload(), b"abc");
        assert_eq!(packet.segment_len(), 4);
        let parsed = Repr::parse(&packet).unwrap();
        assert_eq!(parsed.options, &buf[20..28]);
        assert_eq!(parsed.ack_number, 7);
        assert_eq!(
            parsed.to_string(),
            "TCP src=41234 dst=179 [SYN|ACK] seq=1864116795 ack=7 win=64240 len=3"
        );

        // Over-long options are cut at 40 bytes.
        let long = [1u8; 44];
        let repr = Repr {
            options: &long,
            payload_len: 0,
            ..syn_repr()
        };
        assert_eq!(repr.header_len(), 60);
        let mut buf = [0u8; 60];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(Packet::new_checked(&buf[..]).unwrap().options(), &[1; 40]);
    }

    #[test]
    fn flags() {
        let mut buf = SYN;
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_ack(true);
        packet.set_syn(false);
        packet.set_fin(true);
        packet.set_psh(true);
        packet.set_rst(true);
        packet.set_urg(true);
        packet.set_ece(true);
        packet.set_cwr(true);
        assert_eq!(packet.flags(), Flags(0xfd));
        assert_eq!(packet.flags().to_string(), "FIN|RST|PSH|ACK|URG|ECE|CWR");
        packet.set_flags(Flags::default());
        assert_eq!(format!("{:?}", packet.flags()), "Flags(-)");
        let mut flags = Flags::RST;
        flags |= Flags::ACK;
        assert!(flags.contains(Flags::ACK) && !flags.contains(Flags::ACK | Flags::SYN));
        packet.set_src_port(1);
        packet.set_dst_port(2);
        packet.set_seq_number(3);
        packet.set_ack_number(4);
        packet.set_window_len(5);
        packet.set_urgent_at(6);
        packet.set_checksum(7);
        packet.set_header_len(20);
        assert_eq!(
            &buf[..20],
            &[0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x50, 0, 0, 5, 0, 7, 0, 6]
        );
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(packet.payload(), &SYN[20..]);
    }

    #[test]
    fn malformed_and_truncated() {
        for len in 0..SYN.len() {
            assert_eq!(
                Packet::new_checked(&SYN[..len]),
                Err(Error::Truncated),
                "{len}"
            );
            assert_eq!(
                Repr::parse(&Packet::new_unchecked(&SYN[..len])),
                Err(Error::Truncated)
            );
        }
        let mut buf = SYN;
        for offset in 0..5 {
            buf[12] = offset << 4;
            assert_eq!(
                Packet::new_checked(&buf[..]),
                Err(Error::Malformed),
                "offset {offset}"
            );
        }
        buf[12] = 0xb0;
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::Truncated));
        buf[12] = 0x50;
        assert_eq!(Packet::new_checked(&buf[..]).unwrap().payload().len(), 20);
        buf[12] = 0x5f; // reserved bits are ignored
        assert_eq!(Packet::new_checked(&buf[..]).unwrap().header_len(), 20);
    }

    #[test]
    fn options_iter() {
        let mut iter = OptionsIter::new(&SYN[20..]);
        assert_eq!(iter.offset(), 0);
        iter.next();
        assert_eq!(iter.offset(), 4);
        iter.nth(2);
        assert_eq!(iter.offset(), 17);
        fn collect(data: &[u8]) -> Vec<Result<TcpOption<'_>>> {
            OptionsIter::new(data).collect()
        }
        assert_eq!(collect(&[]), []);
        assert_eq!(collect(&[0, 2, 4, 5, 0xb4]), [Ok(TcpOption::EndOfList)]);
        assert_eq!(
            collect(&[5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 3, 0xaa, 1]),
            [
                Ok(TcpOption::Sack(&[0, 0, 0, 1, 0, 0, 0, 2])),
                Ok(TcpOption::Unknown {
                    kind: 30,
                    data: &[0xaa]
                }),
                Ok(TcpOption::NoOperation),
            ]
        );
        for bad in [
            &[2][..],            // no length
            &[2, 0],             // length 0
            &[2, 1, 0],          // length 1
            &[2, 5, 0, 0],       // past the end
            &[2, 3, 0],          // MSS of 1 byte
            &[3, 4, 0, 0],       // window scale of 2 bytes
            &[4, 3, 0],          // SACK permitted with data
            &[5, 6, 0, 0, 0, 0], // SACK block of 4 bytes
            &[8, 6, 0, 0, 0, 0], // short timestamps
        ] {
            assert_eq!(collect(bad), [Err(Error::Malformed)], "{bad:?}");
        }
        assert_eq!(
            collect(&[1, 1, 2]),
            [
                Ok(TcpOption::NoOperation),
                Ok(TcpOption::NoOperation),
                Err(Error::Malformed)
            ]
        );
        // No MSS: none found; a broken list before it: none either.
        let mut buf = SYN;
        buf[20] = 30;
        assert_eq!(Packet::new_checked(&buf[..]).unwrap().max_seg_size(), None);
        buf[20] = 2;
        buf[21] = 1;
        assert_eq!(Packet::new_checked(&buf[..]).unwrap().max_seg_size(), None);
    }

    #[test]
    fn clamp_mss() {
        let mut buf = SYN;
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        assert!(!packet.clamp_max_seg_size(1460));
        assert!(!packet.clamp_max_seg_size(1500));
        assert_eq!(packet.checksum(), 0x88f4);
        assert!(packet.clamp_max_seg_size(1436)); // GRE over 1500
        assert_eq!(packet.max_seg_size(), Some(1436));
        assert!(packet.verify_checksum(SRC, DST));

        // MSS at every alignment, after NOPs and other options; the
        // incremental checksum equals a recomputation.
        let mut rng = XorShift::new(1191);
        for _ in 0..2000 {
            let mut buf = [0u8; 80];
            rng.fill(&mut buf);
            let mut options = [1u8; 40];
            let mut at = 0;
            // A few NOPs and unknown options, then the MSS.
            while at < 20 {
                if rng.below(2) == 0 {
                    at += 1;
                } else {
                    let len = 2 + rng.below(4);
                    options[at] = 30;
                    options[at + 1] = len as u8;
                    at += len;
                }
            }
            let mss = 536 + rng.below(9000) as u16;
            options[at..at + 4].copy_from_slice(&[2, 4, (mss >> 8) as u8, mss as u8]);
            options[at + 4] = 0;
            let header_len = 20 + (at + 5).div_ceil(4) * 4;
            buf[20..header_len].copy_from_slice(&options[..header_len - 20]);
            buf[12] = ((header_len / 4) as u8) << 4;
            let len = header_len + rng.below(80 - header_len);
            let mut packet = Packet::new_checked(&mut buf[..len]).unwrap();
            packet.fill_checksum(SRC, DST);
            let max = 1200 + rng.below(400) as u16;
            assert_eq!(packet.clamp_max_seg_size(max), mss > max);
            assert_eq!(packet.max_seg_size(), Some(mss.min(max)));
            assert!(packet.verify_checksum(SRC, DST), "MSS at {}", 20 + at);
        }

        // Without an MSS, or with broken options, nothing changes.
        let mut buf = SYN;
        buf[20] = 1;
        buf[21] = 1;
        buf[22] = 1;
        buf[23] = 1;
        assert!(!Packet::new_unchecked(&mut buf[..]).clamp_max_seg_size(536));
        buf[24] = 9;
        assert!(!Packet::new_unchecked(&mut buf[..]).clamp_max_seg_size(536));
        assert_eq!(buf[20..24], [1, 1, 1, 1]);
        // An MSS of the wrong length is broken, not skipped (found by
        // fuzzing: `max_seg_size` and the clamp must agree).
        let mut buf = SYN;
        buf[20..26].copy_from_slice(&[2, 2, 2, 4, 0x05, 0xb4]);
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        assert_eq!(packet.max_seg_size(), None);
        assert!(!packet.clamp_max_seg_size(536));
    }

    #[test]
    fn never_panics() {
        for_each_mangled(&SYN, 4000, 80, |data| {
            if let Ok(packet) = Packet::new_checked(data) {
                let _ = (packet.src_port(), packet.dst_port(), packet.seq_number());
                let _ = (packet.ack_number(), packet.flags(), packet.window_len());
                let _ = (packet.checksum(), packet.urgent_at(), packet.segment_len());
                let _ = (packet.max_seg_size(), packet.verify_checksum(SRC, DST));
                for option in packet.options_iter() {
                    let _ = option;
                }
                assert_eq!(
                    packet.options().len() + packet.payload().len() + 20,
                    data.len()
                );
                let repr = Repr::parse(&packet).unwrap();
                let mut buf = vec![0u8; repr.buffer_len()];
                let mut out = Packet::new_unchecked(&mut buf[..]);
                repr.emit(&mut out);
                out.payload_mut().copy_from_slice(packet.payload());
                let mut copy = data.to_vec();
                copy[12] &= 0xf0; // emit clears the reserved bits
                copy[16] = 0;
                copy[17] = 0;
                assert_eq!(buf, copy);
                let mut copy = data.to_vec();
                Packet::new_unchecked(&mut copy[..]).clamp_max_seg_size(1000);
            }
        });
    }
}
