//! The stamp the generator puts in every UDP payload.
//!
//! A minimum-size (64-byte) Ethernet frame has 60 bytes before its FCS;
//! Ethernet (14), IPv4 (20) and UDP (8) headers take 42, which leaves
//! exactly 18 bytes of payload. The stamp fills them:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  magic 0x77656972 ("weir")                    |  0
//! +-------------------------------+-------------------------------+
//! |           stream id           |                               |  4
//! +-------------------------------+                               +
//! |                 sequence number (48 bits)                     |  8
//! +---------------------------------------------------------------+
//! |                                                               | 12
//! +             TSC at generation (low 48 bits)                   +
//! |                               |                                 16
//! +-------------------------------+
//! ```
//!
//! All fields are big-endian. 48 bits of sequence last 32 days at
//! 100 Mpps; 48 bits of TSC wrap after a day at 3 GHz, and a latency is
//! computed modulo 2^48, so only latencies above a day would be wrong.
//! Frames larger than 64 bytes carry the same stamp, followed by zeros.

/// First four bytes of every stamp: "weir" in ASCII.
pub const STAMP_MAGIC: u32 = 0x7765_6972;
/// Length of the stamp in bytes.
pub const STAMP_LEN: usize = 18;
/// Offset of the stamp in an untagged frame (Ethernet + IPv4 + UDP).
pub const STAMP_OFFSET: usize = 14 + 20 + 8;
/// Mask of the 48-bit sequence and TSC fields.
pub const MASK48: u64 = (1 << 48) - 1;

/// The decoded contents of a stamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Stream the packet belongs to (one per generator queue).
    pub stream: u16,
    /// Position of the packet in its stream, from 0 (48 bits).
    pub seq: u64,
    /// Low 48 bits of the generator's TSC when the packet was made.
    pub tsc: u64,
}

impl Stamp {
    /// Encode into the first [`STAMP_LEN`] bytes of `out`.
    #[inline(always)]
    pub fn write(&self, out: &mut [u8; STAMP_LEN]) {
        out[0..4].copy_from_slice(&STAMP_MAGIC.to_be_bytes());
        out[4..6].copy_from_slice(&self.stream.to_be_bytes());
        out[6..12].copy_from_slice(&(self.seq << 16).to_be_bytes()[..6]);
        out[12..18].copy_from_slice(&(self.tsc << 16).to_be_bytes()[..6]);
    }

    /// Decode a stamp from the start of a UDP payload; `None` if the
    /// payload is too short or the magic does not match.
    #[inline(always)]
    pub fn read(payload: &[u8]) -> Option<Stamp> {
        let s: &[u8; STAMP_LEN] = payload.first_chunk()?;
        if u32::from_be_bytes([s[0], s[1], s[2], s[3]]) != STAMP_MAGIC {
            return None;
        }
        // Two overlapping 8-byte loads: stream + seq, then seq + tsc.
        let a = u64::from_be_bytes([s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11]]);
        let b = u64::from_be_bytes([s[10], s[11], s[12], s[13], s[14], s[15], s[16], s[17]]);
        Some(Stamp {
            stream: (a >> 48) as u16,
            seq: a & MASK48,
            tsc: b & MASK48,
        })
    }

    /// Find and decode the stamp of an Ethernet frame: Ethernet (an
    /// 802.1Q tag left in the data is skipped), IPv4 with any header length
    /// and not a non-first fragment, UDP, then the stamp. `None` for any
    /// other frame.
    #[inline(always)]
    pub fn parse_frame(frame: &[u8]) -> Option<Stamp> {
        // Fast path: what the generator makes (untagged, no IPv4 options).
        if let Some(f) = frame.first_chunk::<{ STAMP_OFFSET + STAMP_LEN }>() {
            let eth_ip = u32::from_be_bytes([f[12], f[13], f[14], f[15]]);
            let frag = u16::from_be_bytes([f[20], f[21]]) & 0x1fff;
            if eth_ip & 0xffff_ff00 == 0x0800_4500 && f[23] == 17 && frag == 0 {
                let (_, st) = f.split_last_chunk::<STAMP_LEN>()?;
                return Stamp::read(st);
            }
        }
        Stamp::parse_any(frame)
    }

    #[cold]
    #[inline(never)]
    fn parse_any(frame: &[u8]) -> Option<Stamp> {
        let mut off = 14;
        let mut ethertype = u16::from_be_bytes(*frame.get(12..14)?.first_chunk()?);
        if ethertype == 0x8100 {
            ethertype = u16::from_be_bytes(*frame.get(16..18)?.first_chunk()?);
            off = 18;
        }
        if ethertype != 0x0800 {
            return None;
        }
        let ip = frame.get(off..off + 20)?;
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip[0] >> 4 != 4 || ihl < 20 || ip[9] != 17 || (ip[6] & 0x1f) | ip[7] != 0 {
            return None;
        }
        Stamp::read(frame.get(off + ihl + 8..)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let s = Stamp {
            stream: 0x0102,
            seq: 0x0000_a1a2_a3a4_a5a6,
            tsc: 0x0000_b1b2_b3b4_b5b6,
        };
        let mut b = [0u8; STAMP_LEN];
        s.write(&mut b);
        assert_eq!(
            b,
            [
                0x77, 0x65, 0x69, 0x72, 1, 2, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xb1, 0xb2, 0xb3,
                0xb4, 0xb5, 0xb6
            ]
        );
        assert_eq!(Stamp::read(&b), Some(s));
        assert_eq!(Stamp::read(&b[..17]), None);
        b[0] = 0;
        assert_eq!(Stamp::read(&b), None);
    }

    #[test]
    fn parse_frame_rejects_other_traffic() {
        let mut f = [0u8; 60];
        f[12] = 0x08;
        f[14] = 0x45;
        f[23] = 17;
        let st = Stamp {
            stream: 7,
            seq: 9,
            tsc: 11,
        };
        st.write((&mut f[42..60]).try_into().unwrap());
        assert_eq!(Stamp::parse_frame(&f), Some(st));
        let mut tcp = f;
        tcp[23] = 6;
        assert_eq!(Stamp::parse_frame(&tcp), None);
        let mut frag = f;
        frag[21] = 1;
        assert_eq!(Stamp::parse_frame(&frag), None);
        let mut v6 = f;
        v6[14] = 0x65;
        assert_eq!(Stamp::parse_frame(&v6), None);
        assert_eq!(Stamp::parse_frame(&f[..59]), None);
        assert_eq!(Stamp::parse_frame(&f[..10]), None);
        // IPv4 options move the UDP header.
        let mut opt = [0u8; 64];
        opt[..14].copy_from_slice(&f[..14]);
        opt[14] = 0x46;
        opt[23] = 17;
        st.write((&mut opt[46..64]).try_into().unwrap());
        assert_eq!(Stamp::parse_frame(&opt), Some(st));
        // A tag left in the data is skipped.
        let mut tagged = [0u8; 64];
        tagged[12] = 0x81;
        tagged[16..].copy_from_slice(&f[12..]);
        assert_eq!(Stamp::parse_frame(&tagged), Some(st));
    }
}
