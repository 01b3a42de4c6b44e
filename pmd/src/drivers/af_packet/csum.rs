//! Completing checksums the sender left to "hardware".
//!
//! A packet a local stack sends through a veth or tap with checksum offload
//! (`CHECKSUM_PARTIAL`, `TP_STATUS_CSUMNOTREADY` in the ring) carries only
//! the folded pseudo-header sum in its TCP/UDP checksum field: the device
//! was supposed to finish the job. A router forwarding such a frame must
//! finish it, or the receiver drops the packet.
//!
//! Finishing is the device's job done in software: sum the L4 segment
//! (checksum field included, since it already holds the pseudo-header sum),
//! fold, complement, store (0 becomes 0xffff).
//!
//! The segment is found by parsing Ethernet (802.1Q/802.1ad tags still in
//! the data are skipped), IPv4 (unfragmented) or IPv6 (no extension
//! headers), then TCP or UDP. A UDP datagram to port 4789 whose checksum is
//! zero is VXLAN without outer checksum: the partial checksum is the inner
//! packet's, and the inner frame is parsed the same way. Anything else
//! (GRE, SCTP, IPv6 extension headers) is left as it is.

const ETH_HLEN: usize = 14;
const VXLAN_PORT: u16 = 4789;
const VXLAN_HLEN: usize = 8;
const UDP_HLEN: usize = 8;

#[inline]
fn be16(f: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*f.get(off)?, *f.get(off + 1)?]))
}

/// Where the partial checksum of the frame starting at `eth` lives:
/// `(l4 start, checksum field offset, l4 end)`.
fn target(f: &[u8], eth: usize, depth: u8) -> Option<(usize, usize, usize)> {
    let mut off = eth + 12;
    let mut ethertype = be16(f, off)?;
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        off += 4;
        ethertype = be16(f, off)?;
    }
    let l3 = off + 2;
    let (l4, proto, end) = match ethertype {
        0x0800 => {
            let ihl = usize::from(*f.get(l3)? & 0x0f) * 4;
            let total = usize::from(be16(f, l3 + 2)?);
            let frag = be16(f, l3 + 6)? & 0x3fff;
            if ihl < 20 || total < ihl || frag != 0 {
                return None;
            }
            (l3 + ihl, *f.get(l3 + 9)?, l3 + total)
        }
        0x86dd => {
            let payload = usize::from(be16(f, l3 + 4)?);
            (l3 + 40, *f.get(l3 + 6)?, l3 + 40 + payload)
        }
        _ => return None,
    };
    if end > f.len() {
        return None;
    }
    let field = match proto {
        6 => l4 + 16,
        17 => l4 + 6,
        _ => return None,
    };
    if field + 2 > end {
        return None;
    }
    if proto == 17
        && depth == 0
        && be16(f, field)? == 0
        && be16(f, l4 + 2)? == VXLAN_PORT
        && end >= l4 + UDP_HLEN + VXLAN_HLEN + ETH_HLEN
    {
        return target(&f[..end], l4 + UDP_HLEN + VXLAN_HLEN, 1);
    }
    Some((l4, field, end))
}

/// Ones' complement sum of `data` (not folded beyond 32 bits).
fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(*last) << 8;
    }
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

fn fold(mut s: u32) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Finish the partial TCP/UDP checksum of an Ethernet frame in place.
/// Returns false (and leaves the frame alone) when the frame is not one
/// this module knows how to finish.
pub(crate) fn complete(frame: &mut [u8]) -> bool {
    let Some((l4, field, end)) = target(frame, 0, 0) else {
        return false;
    };
    let c = !fold(sum(&frame[l4..end]));
    let c = if c == 0 { 0xffff } else { c };
    frame[field..field + 2].copy_from_slice(&c.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full checksum over pseudo header and segment, for checking.
    fn verify_v4_udp(f: &[u8]) -> bool {
        let ip = &f[14..34];
        let seg = &f[34..];
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&ip[12..20]);
        pseudo.extend_from_slice(&[0, 17]);
        pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        fold(sum(&pseudo) + sum(seg)) == 0xffff
    }

    fn udp_v4_partial(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = 20 + 8 + payload.len();
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            17,
            0,
            0,
        ]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        let ulen = (8 + payload.len()) as u16;
        f.extend_from_slice(&[0x30, 0x39, 0x00, 0x35]);
        f.extend_from_slice(&ulen.to_be_bytes());
        // Pseudo-header sum, folded and not complemented, as the kernel
        // leaves it for the device.
        let mut pseudo = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 17];
        pseudo.extend_from_slice(&ulen.to_be_bytes());
        f.extend_from_slice(&fold(sum(&pseudo)).to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn completes_udp_over_ipv4() {
        let mut f = udp_v4_partial(b"hello, odd length");
        assert!(!verify_v4_udp(&f));
        assert!(complete(&mut f));
        assert!(verify_v4_udp(&f));
    }

    #[test]
    fn ignores_unknown_and_truncated() {
        let mut arp = vec![0u8; 42];
        arp[12] = 0x08;
        arp[13] = 0x06;
        assert!(!complete(&mut arp));
        let mut f = udp_v4_partial(b"abc");
        f.truncate(36);
        let before = f.clone();
        assert!(!complete(&mut f));
        assert_eq!(f, before);
        assert!(!complete(&mut []));
    }

    #[test]
    fn descends_into_vxlan_without_outer_checksum() {
        let inner = udp_v4_partial(b"inner payload");
        let mut outer = vec![0u8; 12];
        outer.extend_from_slice(&[0x08, 0x00]);
        let total = 20 + 8 + 8 + inner.len();
        outer.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0, 0, 64, 17]);
        outer.extend_from_slice(&[0, 0, 10, 9, 0, 1, 10, 9, 0, 2]);
        outer.extend_from_slice(&[0xc0, 0x00, 0x12, 0xb5]);
        outer.extend_from_slice(&((8 + 8 + inner.len()) as u16).to_be_bytes());
        outer.extend_from_slice(&[0, 0]);
        outer.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 42, 0]);
        outer.extend_from_slice(&inner);
        assert!(complete(&mut outer));
        assert_eq!(&outer[40..42], &[0, 0], "outer checksum stays off");
        assert!(verify_v4_udp(&outer[50..]));
    }
}
