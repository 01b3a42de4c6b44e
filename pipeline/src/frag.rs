//! IPv4 fragmentation (RFC 791 §3.2 "Fragmentation and Reassembly",
//! RFC 1812 §5.2.6): a router forwards a packet larger than the output
//! MTU in fragments unless its DF bit is set.
//!
//! ```text
//!  original:  | Eth | IP hdr (options) | data 0 .. n                       |
//!  fragment:  | Eth | IP hdr (options) | data 0 .. k      |  MF=1, off 0
//!             | Eth | IP hdr (copied options) | data k .. 2k |  MF=1, off k/8
//!             | Eth | IP hdr (copied options) | data 2k .. n |  MF=orig, off 2k/8
//! ```
//!
//! Every fragment but the last carries a multiple of 8 data bytes. The
//! first keeps all the options; the others only those whose copied flag
//! (the top bit of the option type) is set, padded to a 4-byte boundary
//! with End of Option List. A packet that is already a fragment keeps its
//! offset base and, on its last piece, its own MF bit. Fragments after
//! the first are new buffers from the worker's pool (no heap allocation);
//! the first is the original buffer, trimmed.

use crate::ipv4::{be16, ETH_LEN};
use crate::wire::checksum;
use pmd::{Buf, Burst, Pool, BURST};

/// Why a packet could not be fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FragError {
    /// The MTU leaves no room for 8 data bytes after the header, or the
    /// packet would need more than [`BURST`] fragments.
    TooSmall,
    /// The pool ran out of buffers.
    NoBuffer,
}

/// The options of `opts` (an IPv4 header's options area) that RFC 791
/// copies into every fragment, written to `out`; returns their length,
/// padded to a multiple of 4.
fn copied_options(opts: &[u8], out: &mut [u8; 40]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < opts.len() {
        let t = opts[i];
        match t {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(i + 1) else { break };
        let len = usize::from(len);
        if len < 2 || i + len > opts.len() {
            break;
        }
        if t & 0x80 != 0 {
            out[n..n + len].copy_from_slice(&opts[i..i + len]);
            n += len;
        }
        i += len;
    }
    let padded = n.div_ceil(4) * 4;
    out[n..padded].fill(0);
    padded
}

/// Split the IPv4 packet in frame `p` (Ethernet header, then exactly the
/// packet; DF clear, larger than `mtu`) into fragments of at most `mtu`
/// bytes of IPv4, in order, into `out`. The Ethernet header is copied into
/// every fragment.
pub(crate) fn fragment<P: Pool>(
    pool: &P,
    mut p: P::Buf,
    mtu: u16,
    out: &mut Burst<P::Buf>,
) -> Result<(), FragError> {
    let d = p.data();
    let hl = usize::from(d[ETH_LEN] & 0x0f) * 4;
    let total = usize::from(be16(d, ETH_LEN + 2));
    let flags_off = be16(d, ETH_LEN + 6);
    let (orig_mf, base) = (flags_off & 0x2000 != 0, usize::from(flags_off & 0x1fff) * 8);
    let mut opts = [0u8; 40];
    let later_hl = 20 + copied_options(&d[ETH_LEN + 20..ETH_LEN + hl], &mut opts);
    let mtu = usize::from(mtu);
    let first_room = mtu.saturating_sub(hl) / 8 * 8;
    let later_room = mtu.saturating_sub(later_hl) / 8 * 8;
    if first_room == 0 || later_room == 0 {
        return Err(FragError::TooSmall);
    }
    let data_len = total - hl;
    let start = out.len();
    let pieces = 1 + (data_len.saturating_sub(first_room)).div_ceil(later_room);
    if pieces > BURST - out.len() {
        return Err(FragError::TooSmall);
    }
    // The later fragments first, copied out of the original.
    let mut at = first_room;
    while at < data_len {
        let n = later_room.min(data_len - at);
        let last = at + n == data_len;
        let Some(mut f) = pool.alloc() else {
            out.truncate(start);
            return Err(FragError::NoBuffer);
        };
        let Some(buf) = f.append(ETH_LEN + later_hl + n) else {
            out.truncate(start);
            return Err(FragError::NoBuffer);
        };
        let d = p.data();
        buf[..ETH_LEN + 20].copy_from_slice(&d[..ETH_LEN + 20]);
        buf[ETH_LEN + 20..ETH_LEN + later_hl].copy_from_slice(&opts[..later_hl - 20]);
        buf[ETH_LEN + later_hl..].copy_from_slice(&d[ETH_LEN + hl + at..ETH_LEN + hl + at + n]);
        let mf = !last || orig_mf;
        finish_header(&mut buf[ETH_LEN..], later_hl, later_hl + n, mf, base + at);
        f.set_vlan(p.vlan());
        out.push(f);
        at += n;
    }
    // The first: the original, trimmed.
    let keep = hl + first_room.min(data_len);
    let _ = p.trim(total - keep);
    let d = p.data_mut();
    finish_header(&mut d[ETH_LEN..], hl, keep, true, base);
    out.insert(start, p);
    Ok(())
}

/// Write the header length, total length, MF and offset of a fragment's
/// header and its checksum.
fn finish_header(ip: &mut [u8], hl: usize, total: usize, mf: bool, offset: usize) {
    ip[0] = 0x40 | (hl / 4) as u8;
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    let fo = (if mf { 0x2000 } else { 0 }) | (offset / 8) as u16;
    ip[6..8].copy_from_slice(&fo.to_be_bytes());
    ip[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&ip[..hl]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use pmd::NativePool;
    use std::net::Ipv4Addr;

    fn frame(payload: usize) -> Vec<u8> {
        let mut f = testing::udp(
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            64,
            payload,
        );
        f[ETH_LEN + 6] = 0; // DF clear
        let c = {
            f[ETH_LEN + 10] = 0;
            f[ETH_LEN + 11] = 0;
            checksum::checksum(&f[ETH_LEN..ETH_LEN + 20])
        };
        f[ETH_LEN + 10..ETH_LEN + 12].copy_from_slice(&c.to_be_bytes());
        f
    }

    /// Reassemble fragments naively: data by offset, checking headers.
    fn reassemble(frags: &[Vec<u8>]) -> Vec<u8> {
        let mut data = Vec::new();
        let mut expect = 0;
        for (i, f) in frags.iter().enumerate() {
            let ip = &f[ETH_LEN..];
            assert!(testing::ipv4_checksum_ok(ip), "fragment {i} checksum");
            let hl = usize::from(ip[0] & 0xf) * 4;
            let total = usize::from(be16(ip, 2));
            assert_eq!(total, ip.len());
            let fo = be16(ip, 6);
            assert_eq!(usize::from(fo & 0x1fff) * 8, expect, "fragment {i} offset");
            assert_eq!(fo & 0x2000 != 0, i + 1 < frags.len(), "fragment {i} MF");
            data.extend_from_slice(&ip[hl..]);
            expect += total - hl;
        }
        data
    }

    #[test]
    fn splits_at_eight_byte_boundaries_and_reassembles() {
        let pool = NativePool::new(64, 2048).unwrap();
        for (payload, mtu, pieces) in [
            (1472, 1476u16, 2),
            (1472, 576, 3),
            (100, 68, 3),
            (1000, 1028, 1),
        ] {
            let f = frame(payload);
            let total = f.len() - ETH_LEN;
            let mut p = pool.alloc().unwrap();
            p.append(f.len()).unwrap().copy_from_slice(&f);
            let mut out = Burst::new();
            if total <= usize::from(mtu) {
                continue;
            }
            fragment(&pool, p, mtu, &mut out).unwrap();
            assert_eq!(out.len(), pieces, "{payload} bytes at MTU {mtu}");
            let frags: Vec<Vec<u8>> = out.iter().map(|b| b.data().to_vec()).collect();
            for (i, g) in frags.iter().enumerate() {
                assert!(g.len() - ETH_LEN <= usize::from(mtu));
                assert_eq!(&g[..ETH_LEN], &f[..ETH_LEN]);
                assert_eq!(
                    &g[ETH_LEN + 12..ETH_LEN + 20],
                    &f[ETH_LEN + 12..ETH_LEN + 20]
                );
                assert_eq!(be16(g, ETH_LEN + 4), be16(&f, ETH_LEN + 4), "same id");
                if i + 1 < frags.len() {
                    assert_eq!((g.len() - ETH_LEN - 20) % 8, 0);
                }
            }
            assert_eq!(reassemble(&frags), &f[ETH_LEN + 20..]);
        }
    }

    #[test]
    fn only_copied_options_go_to_later_fragments() {
        // Options: Record Route (7, not copied, 11 bytes), NOP, Security-
        // like copied option 0x82 of 4 bytes; header 20 + 16.
        let mut opts = [0u8; 40];
        let area = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x82, 4, 0xaa, 0xbb];
        assert_eq!(copied_options(&area, &mut opts), 4);
        assert_eq!(&opts[..4], &[0x82, 4, 0xaa, 0xbb]);
        // A copied option of 3 bytes is padded with End of Option List.
        assert_eq!(copied_options(&[0x83, 3, 9], &mut opts), 4);
        assert_eq!(&opts[..4], &[0x83, 3, 9, 0]);
        // Broken lengths stop the walk without a panic.
        assert_eq!(copied_options(&[0x83, 0], &mut opts), 0);
        assert_eq!(copied_options(&[0x83, 9, 1], &mut opts), 0);
    }

    #[test]
    fn a_fragment_keeps_its_offset_and_last_mf() {
        let pool = NativePool::new(64, 2048).unwrap();
        let mut f = frame(1000);
        // A middle fragment at offset 800 with MF set.
        f[ETH_LEN + 6..ETH_LEN + 8].copy_from_slice(&(0x2000u16 | 100).to_be_bytes());
        let mut p = pool.alloc().unwrap();
        p.append(f.len()).unwrap().copy_from_slice(&f);
        let mut out = Burst::new();
        fragment(&pool, p, 576, &mut out).unwrap();
        let offs: Vec<u16> = out.iter().map(|b| be16(b.data(), ETH_LEN + 6)).collect();
        assert_eq!(offs, vec![0x2000 | 100, 0x2000 | (100 + 69)]);
    }

    #[test]
    fn impossible_mtus_are_refused() {
        let pool = NativePool::new(64, 2048).unwrap();
        let f = frame(200);
        let mut p = pool.alloc().unwrap();
        p.append(f.len()).unwrap().copy_from_slice(&f);
        let mut out = Burst::new();
        assert_eq!(fragment(&pool, p, 27, &mut out), Err(FragError::TooSmall));
        assert!(out.is_empty());
    }
}
