//! Captures for DPDK scenarios: Ethernet/IPv4/UDP frames of one size (or
//! the IMIX sequence) with correct IPv4 and UDP checksums, written as a
//! classic pcap for a `net_pcap` vdev to replay (`infinite_rx=1`). The
//! same frames `scripts/anchors.d/genpcap.py` writes for 64 bytes (payload
//! aside), so weir bench and `scripts/anchors` measure the same traffic.

use crate::scenario::PcapPortSpec;
use crate::trial::FrameSize;
use anyhow::{bail, Context, Result};
use pipeline::wire::checksum;
use std::net::Ipv4Addr;
use std::path::Path;

/// `02:00:00:00:01:02` as bytes.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let v: Vec<u8> = s
        .split(':')
        .map(|x| u8::from_str_radix(x, 16))
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("bad MAC {s:?}"))?;
    v.try_into()
        .map_err(|_| anyhow::anyhow!("bad MAC {s:?}: six bytes"))
}

/// One frame of `wire` bytes on the wire (FCS included, so `wire - 4`
/// bytes captured): 14 Ethernet + 20 IPv4 (DF, TTL 64) + 8 UDP + payload.
#[allow(clippy::too_many_arguments)]
pub fn frame(
    wire: usize,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    ident: u16,
) -> Vec<u8> {
    let len = wire - 4;
    let ip_len = (len - 14) as u16;
    let udp_len = ip_len - 20;
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_start = f.len();
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&ident.to_be_bytes());
    f.extend_from_slice(&[0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    let c = checksum::checksum(&f[ip_start..ip_start + 20]);
    f[ip_start + 10..ip_start + 12].copy_from_slice(&c.to_be_bytes());
    let udp_start = f.len();
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend((0..usize::from(udp_len) - 8).map(|i| i as u8));
    let init = checksum::pseudo_header_v4(src, dst, 17, udp_len.into());
    let c = match checksum::fold(checksum::sum(&f[udp_start..], init)) {
        0 => 0xffff,
        c => c,
    };
    f[udp_start + 6..udp_start + 8].copy_from_slice(&c.to_be_bytes());
    f
}

/// The `frames` frames a port replays, for `size`, towards `dst_mac`.
pub fn frames(
    p: &PcapPortSpec,
    dst_mac: [u8; 6],
    size: FrameSize,
    count: usize,
) -> Result<Vec<Vec<u8>>> {
    let src_mac = parse_mac(&p.src_mac)?;
    let sizes = size.sizes();
    if sizes.iter().any(|&s| !(64..=1518).contains(&s)) {
        bail!("frame sizes must be 64..=1518");
    }
    Ok((0..count)
        .map(|i| {
            let f = (i as u32) % p.dst_count;
            let src = u32::from(p.src).wrapping_add(i as u32 % p.src_count);
            let dst = u32::from(p.dst).wrapping_add(f.wrapping_mul(p.dst_step));
            frame(
                sizes[i % sizes.len()],
                src_mac,
                dst_mac,
                src.into(),
                dst.into(),
                p.src_port.wrapping_add(f as u16),
                p.dst_port,
                i as u16,
            )
        })
        .collect())
}

/// Write the capture of `p` at `size` to `path`.
pub fn write(
    path: &Path,
    p: &PcapPortSpec,
    dst_mac: [u8; 6],
    size: FrameSize,
    count: usize,
) -> Result<()> {
    let fr = frames(p, dst_mac, size, count)?;
    let refs: Vec<&[u8]> = fr.iter().map(Vec::as_slice).collect();
    pmd::drivers::pcap::write_pcap(path, &refs)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PcapPortSpec {
        PcapPortSpec {
            interface: "p0".into(),
            src_mac: "02:00:00:00:01:02".into(),
            src: Ipv4Addr::new(10, 1, 0, 2),
            src_count: 16,
            dst: Ipv4Addr::new(172, 16, 0, 2),
            dst_count: 64,
            dst_step: 256,
            src_port: 1024,
            dst_port: 5001,
        }
    }

    #[test]
    fn frames_have_the_size_addresses_and_checksums() {
        let dmac = [2, 0x77, 0, 0, 0, 1];
        let fr = frames(&spec(), dmac, FrameSize::Fixed(64), 130).unwrap();
        assert_eq!(fr.len(), 130);
        for (i, f) in fr.iter().enumerate() {
            assert_eq!(f.len(), 60);
            assert_eq!(&f[..6], &dmac);
            assert_eq!(&f[6..12], &[2, 0, 0, 0, 1, 2]);
            assert_eq!(
                checksum::checksum(&f[14..34]),
                0,
                "IPv4 checksum of frame {i}"
            );
            let flow = (i % 64) as u8;
            assert_eq!(&f[30..34], &[172, 16, flow, 2]);
            assert_eq!(&f[26..30], &[10, 1, 0, 2 + (i % 16) as u8]);
            assert_eq!(u16::from_be_bytes([f[34], f[35]]), 1024 + u16::from(flow));
            // UDP checksum over the pseudo header and the datagram is 0.
            let mut p = f[26..34].to_vec();
            p.extend_from_slice(&[0, 17, f[38], f[39]]);
            p.extend_from_slice(&f[34..]);
            assert_eq!(checksum::checksum(&p), 0, "UDP checksum of frame {i}");
        }
        let imix = frames(&spec(), dmac, FrameSize::Imix, 12).unwrap();
        let lens: Vec<usize> = imix.iter().map(|f| f.len() + 4).collect();
        assert_eq!(lens, crate::trial::IMIX.to_vec());
        assert!(parse_mac("02:00:00:00:01").is_err());
        assert!(parse_mac("zz:00:00:00:01:02").is_err());
    }

    #[test]
    fn a_capture_reads_back() {
        let path = std::env::temp_dir().join(format!("weir-pcapgen-{}.pcap", std::process::id()));
        write(
            &path,
            &spec(),
            [2, 0x77, 0, 0, 0, 1],
            FrameSize::Fixed(128),
            10,
        )
        .unwrap();
        let r = pmd::drivers::pcap::read_pcap_file(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(r.len(), 10);
        assert_eq!(r[3].data.len(), 124);
    }
}
