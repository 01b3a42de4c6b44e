//! Frame builders for tests, fuzz seeds and examples.
//!
//! Each returns a complete Ethernet frame with correct IPv4, ICMP and TCP
//! checksums (UDP checksum 0, as IPv4 allows), so a test changes exactly
//! the field it is about.

use crate::wire::checksum;
use std::net::Ipv4Addr;

/// Ethernet header: destination, source, EtherType.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// An Ethernet + IPv4 frame around `l4` (protocol `proto`), DF set, with a
/// valid header checksum.
pub fn ipv4(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = ethernet(dst_mac, src_mac, 0x0800);
    let total = (20 + l4.len()) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    h[6] = 0x40;
    h[8] = ttl;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = checksum::checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(l4);
    f
}

/// A UDP datagram (ports 1024 → 5001) with `payload` bytes 0, 1, 2, ...
pub fn udp(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    payload: usize,
) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload);
    u.extend_from_slice(&1024u16.to_be_bytes());
    u.extend_from_slice(&5001u16.to_be_bytes());
    u.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend((0..payload).map(|i| i as u8));
    ipv4(dst_mac, src_mac, src, dst, ttl, 17, &u)
}

/// An ICMP echo request.
pub fn echo_request(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = checksum::checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4(dst_mac, src_mac, src, dst, 64, 1, &m)
}

/// A TCP SYN (port 40000 → 179) with MSS, SACK-permitted, timestamps and
/// window-scale options and a valid checksum.
pub fn tcp_syn(dst_mac: [u8; 6], src_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let opts = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&40000u16.to_be_bytes());
    t[2..4].copy_from_slice(&179u16.to_be_bytes());
    t[4..8].copy_from_slice(&0x0102_0304u32.to_be_bytes());
    t[12] = (((20 + opts.len()) / 4) << 4) as u8;
    t[13] = 0x02;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(&opts);
    let pseudo = checksum::pseudo_header_v4(src, dst, 6, t.len() as u32);
    let c = checksum::fold(checksum::sum(&t, pseudo));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ipv4(dst_mac, src_mac, src, dst, 64, 6, &t)
}

/// An ARP request (RFC 826) from `sha`/`spa` for `tpa`, broadcast.
pub fn arp_request(sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = ethernet([0xff; 6], sha, 0x0806);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa.octets());
    f
}

/// Insert IPv4 options (a multiple of 4 bytes) into an Ethernet + IPv4
/// frame, fixing IHL, total length and the header checksum.
pub fn with_ipv4_options(frame: &[u8], options: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0, "options must fill whole words");
    let mut f = frame.to_vec();
    let hl = ((f[14] & 0x0f) as usize) * 4;
    f.splice(14 + hl..14 + hl, options.iter().copied());
    let hl = hl + options.len();
    f[14] = 0x40 | (hl / 4) as u8;
    let total = (f.len() - 14) as u16;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    refresh_ipv4_checksum(&mut f);
    f
}

/// Recompute the IPv4 header checksum of an Ethernet + IPv4 frame.
pub fn refresh_ipv4_checksum(f: &mut [u8]) {
    let hl = ((f[14] & 0x0f) as usize) * 4;
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&f[14..14 + hl]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

/// True if the IPv4 header starting at `ip` has a valid checksum.
pub fn ipv4_checksum_ok(ip: &[u8]) -> bool {
    let hl = ((ip[0] & 0xf) as usize) * 4;
    checksum::fold(checksum::sum(&ip[..hl], 0)) == 0
}
