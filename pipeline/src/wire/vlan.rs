//! IEEE 802.1Q VLAN tags (and 802.1ad S-tags, which have the same layout).
//!
//! A tagged frame carries the TPID (0x8100, or 0x88a8 for an S-tag) where
//! the EtherType would be, then the tag control information (TCI) and the
//! EtherType of the payload. [`Tag`] is a view of the four bytes after the
//! TPID, i.e. of the Ethernet payload (IEEE 802.1Q-2018 §9.6):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | PCP |D|         VID           |     EtherType (inner)         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Payload ...
//! +-+-+-+-+-+-+-+-+
//!
//!   PCP: priority code point (802.1p class of service)
//!   D:   drop eligible indicator (DEI)
//!   VID: VLAN identifier; 0 = priority tag only (no VLAN),
//!        0xFFF = reserved (§9.6 table 9-2)
//! ```

use core::fmt;

use super::{read_u16, write_u16, Error, EtherType, Result};

mod field {
    pub const TCI: usize = 0;
    pub const ETHERTYPE: usize = 2;
    pub const PAYLOAD: usize = 4;
}

/// The reserved VLAN identifier, which must not appear in a tag.
pub const VID_RESERVED: u16 = 0xfff;
/// The largest valid VLAN identifier.
pub const VID_MAX: u16 = 0xffe;

/// A read/write view of an 802.1Q tag and the payload after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Tag<T> {
    /// The length of the tag (TCI and inner EtherType).
    pub const TAG_LEN: usize = field::PAYLOAD;

    /// Wraps `buffer` without checking it; getters panic if it is shorter
    /// than [`Self::TAG_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Tag<T> {
        Tag { buffer }
    }

    /// Wraps `buffer` after [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Tag<T>> {
        let tag = Self::new_unchecked(buffer);
        tag.check_len()?;
        Ok(tag)
    }

    /// Checks the tag: [`Error::Truncated`] if the buffer is shorter than
    /// [`Self::TAG_LEN`], [`Error::Malformed`] if the VID is the reserved
    /// 0xFFF.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::TAG_LEN {
            Err(Error::Truncated)
        } else if self.vid() == VID_RESERVED {
            Err(Error::Malformed)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole tag control information.
    #[inline]
    pub fn tci(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::TCI)
    }

    /// The priority code point (0..=7).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// The drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// The VLAN identifier (0..=0xFFE in a checked tag).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// The EtherType of the payload (another TPID if tags are stacked).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Tag<&'a T> {
    /// Everything after the tag.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Tag<T> {
    /// Sets the whole tag control information.
    #[inline]
    pub fn set_tci(&mut self, tci: u16) {
        write_u16(self.buffer.as_mut(), field::TCI, tci);
    }

    /// Sets the priority code point (only the low 3 bits of `pcp` count).
    #[inline]
    pub fn set_pcp(&mut self, pcp: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(pcp & 0x7) << 13);
        self.set_tci(tci);
    }

    /// Sets the drop eligible indicator.
    #[inline]
    pub fn set_dei(&mut self, dei: bool) {
        let tci = (self.tci() & !0x1000) | if dei { 0x1000 } else { 0 };
        self.set_tci(tci);
    }

    /// Sets the VLAN identifier (only the low 12 bits of `vid` count).
    #[inline]
    pub fn set_vid(&mut self, vid: u16) {
        let tci = (self.tci() & 0xf000) | (vid & 0x0fff);
        self.set_tci(tci);
    }

    /// Sets the EtherType of the payload.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.0);
    }

    /// Everything after the tag, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Tag<T> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (0 for a priority tag, at most [`VID_MAX`]).
    pub vid: u16,
    /// EtherType of the payload.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads a tag, checking it first.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(tag: &Tag<T>) -> Result<Repr> {
        tag.check_len()?;
        Ok(Repr {
            pcp: tag.pcp(),
            dei: tag.dei(),
            vid: tag.vid(),
            ethertype: tag.ethertype(),
        })
    }

    /// The length of the tag, 4.
    #[inline]
    pub const fn header_len(&self) -> usize {
        field::PAYLOAD
    }

    /// The length of the buffer [`Repr::emit`] writes to: the tag alone.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD
    }

    /// Writes the tag into `tag`, which must be at least 4 bytes long
    /// (panics otherwise). Out-of-range `pcp` and `vid` are masked.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut Tag<T>) {
        let tci = (u16::from(self.pcp & 0x7) << 13)
            | if self.dei { 0x1000 } else { 0 }
            | (self.vid & 0x0fff);
        tag.set_tci(tci);
        tag.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "802.1Q vid={} pcp={}", self.vid, self.pcp)?;
        if self.dei {
            f.write_str(" dei")?;
        }
        write!(f, " type={}", self.ethertype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::Frame;
    use crate::wire::testutil::for_each_mangled;

    // An ICMP echo request on VLAN 2 with priority 5, as captured on a
    // trunk port (only the Ethernet header, the tag and the start of IPv4).
    static FRAME: [u8; 24] = [
        0x00, 0x00, 0x5e, 0x00, 0x01, 0x01, // dst
        0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, // src
        0x81, 0x00, // TPID
        0xa0, 0x02, // PCP 5, DEI 0, VID 2
        0x08, 0x00, // IPv4
        0x45, 0x00, 0x00, 0x54, 0x12, 0x34,
    ];

    #[test]
    fn parse_tag() {
        let frame = Frame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(frame.ethertype(), EtherType::VLAN);
        let tag = Tag::new_checked(frame.payload()).unwrap();
        assert_eq!(tag.tci(), 0xa002);
        assert_eq!(tag.pcp(), 5);
        assert!(!tag.dei());
        assert_eq!(tag.vid(), 2);
        assert_eq!(tag.ethertype(), EtherType::IPV4);
        assert_eq!(tag.payload(), &[0x45, 0x00, 0x00, 0x54, 0x12, 0x34]);
        let repr = Repr::parse(&tag).unwrap();
        assert_eq!(
            repr,
            Repr {
                pcp: 5,
                dei: false,
                vid: 2,
                ethertype: EtherType::IPV4
            }
        );
        assert_eq!(repr.to_string(), "802.1Q vid=2 pcp=5 type=IPv4");
        assert_eq!((repr.header_len(), repr.buffer_len()), (4, 4));
    }

    #[test]
    fn emit_tag() {
        let mut buf = [0u8; 4];
        Repr {
            pcp: 5,
            dei: false,
            vid: 2,
            ethertype: EtherType::IPV4,
        }
        .emit(&mut Tag::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [0xa0, 0x02, 0x08, 0x00]);

        // QinQ inner tag: VID 4094, DEI set, priority 0, carrying ARP.
        Repr {
            pcp: 0,
            dei: true,
            vid: 4094,
            ethertype: EtherType::ARP,
        }
        .emit(&mut Tag::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [0x1f, 0xfe, 0x08, 0x06]);

        let mut tag = Tag::new_unchecked(&mut buf[..]);
        tag.set_pcp(7);
        tag.set_dei(false);
        tag.set_vid(100);
        tag.set_ethertype(EtherType::VLAN);
        assert_eq!(buf, [0xe0, 0x64, 0x81, 0x00]);
        let mut tag = Tag::new_unchecked(&mut buf[..]);
        tag.set_pcp(0xff); // masked to 7
        tag.set_vid(0xffff); // masked to 0xfff
        tag.set_dei(true);
        assert_eq!(tag.tci(), 0xffff);
        assert_eq!(Tag::new_checked(&buf[..]), Err(Error::Malformed));
    }

    #[test]
    fn malformed_and_truncated() {
        for len in 0..4 {
            assert_eq!(
                Tag::new_checked(&FRAME[14..14 + len]),
                Err(Error::Truncated)
            );
        }
        // VID 0xFFF is reserved, whatever the PCP and DEI.
        assert_eq!(
            Tag::new_checked(&[0x0f, 0xff, 0x08, 0x00][..]),
            Err(Error::Malformed)
        );
        assert_eq!(
            Tag::new_checked(&[0xff, 0xff, 0x08, 0x00][..]),
            Err(Error::Malformed)
        );
        assert_eq!(
            Repr::parse(&Tag::new_unchecked(&[0x0f, 0xff, 0x08, 0x00][..])),
            Err(Error::Malformed)
        );
        // VID 0 (priority tag) and 0xFFE are fine.
        assert_eq!(
            Tag::new_checked(&[0x20, 0x00, 0x08, 0x00][..])
                .unwrap()
                .vid(),
            0
        );
        assert_eq!(
            Tag::new_checked(&[0x0f, 0xfe, 0x08, 0x00][..])
                .unwrap()
                .vid(),
            VID_MAX
        );
    }

    #[test]
    fn never_panics() {
        for_each_mangled(&FRAME[14..], 4000, 16, |data| {
            if let Ok(tag) = Tag::new_checked(data) {
                let _ = (
                    tag.tci(),
                    tag.pcp(),
                    tag.dei(),
                    tag.ethertype(),
                    tag.payload(),
                );
                assert!(tag.vid() <= VID_MAX);
                let repr = Repr::parse(&tag).unwrap();
                let mut buf = [0u8; 4];
                repr.emit(&mut Tag::new_unchecked(&mut buf[..]));
                assert_eq!(&buf[..], &data[..4]);
            }
        });
    }
}
