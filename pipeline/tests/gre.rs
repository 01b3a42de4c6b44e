//! GRE tunnels end to end on one worker (`mem` ports, a hand-built
//! snapshot): encapsulation to a remote endpoint, decapsulation from it,
//! the seed's hairpin between two VRFs through a local tunnel pair,
//! malformed and unmatched GRE dropped by reason, and the loop bound.
//!
//! ```text
//!  H0 10.1.0.2 ── p0 [MAIN]                    [BGP] p1 ── H1 10.2.0.2
//!                  T75 192.0.2.1 ⇄ 192.0.2.2 T76      T9 198.51.100.1 ⇄ 203.0.113.9 (key 9)
//!                           [default] p2 198.51.100.1/24 ── PEER 198.51.100.2
//! ```

use pipeline::fib::Fib4;
use pipeline::state::{
    self, Adj, AdjKind, DecapMap, IfaceState, NeighborMap, Snapshot, TunnelState,
};
use pipeline::testing;
use pipeline::tunnel::{build_keepalive, MAX_TUNNEL_PASSES};
use pipeline::wire::{gre, ipv4};
use pipeline::META_KEEPALIVE;
use pipeline::{
    DfPolicy, DropReason, FragmentPolicy, Worker, WorkerConfig, WorkerCounters, WorkerQueues,
};
use pmd::drivers::mem::{self, MemPort};
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port};
use std::net::Ipv4Addr;
use std::sync::Arc;

const R0: [u8; 6] = [2, 0, 0, 0, 0, 0x10];
const R1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const R2: [u8; 6] = [2, 0, 0, 0, 0, 0x12];
const H0: [u8; 6] = [2, 0, 0, 0, 0, 0xa0];
const H1: [u8; 6] = [2, 0, 0, 0, 0, 0xa1];
const PEER: [u8; 6] = [2, 0, 0, 0, 0, 0xb2];

const MAIN: u16 = 1;
const BGP: u16 = 2;

fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from(Ipv4Addr::new(a, b, c, d))
}

fn tunnel(iface: u16, vrf: u16, src: u32, dst: u32, key: Option<u32>) -> TunnelState {
    TunnelState {
        iface,
        overlay_vrf: vrf,
        underlay_vrf: 0,
        src,
        dst,
        key,
        checksum: false,
        sequence: false,
        ttl: 255,
        df: DfPolicy::Copy,
        fragment: FragmentPolicy::Outer,
        mtu: 1476 - if key.is_some() { 4 } else { 0 },
        up: true,
        seq: Default::default(),
        hairpin: None,
    }
}

/// Tunnel numbers.
const T75: u16 = 0;
const T76: u16 = 1;
const T9: u16 = 2;
const TLOOP: u16 = 3;

fn snapshot(tunnels: Vec<TunnelState>) -> Snapshot {
    let mut s = snapshot_unlinked(tunnels);
    s.link_hairpins();
    s
}

/// The snapshot without the hairpin shortcut: the local pair then goes
/// through encapsulation, the underlay and decapsulation for real.
fn snapshot_unlinked(tunnels: Vec<TunnelState>) -> Snapshot {
    // Adjacencies: 0 local, 1 blackhole, 2 reject, 3 attached p0,
    // 4 attached p1, 5 attached p2, 6 H0, 7 H1, 8 PEER, 9-12 tunnels.
    let mut adj = vec![
        Adj::simple(AdjKind::Local),
        Adj::simple(AdjKind::Blackhole),
        Adj::simple(AdjKind::Reject),
    ];
    for (port, mac) in [(0u16, R0), (1, R1), (2, R2)] {
        let mut a = Adj::simple(AdjKind::Attached);
        a.port = port;
        a.mtu = 1500;
        a.eth[6..].copy_from_slice(&mac);
        adj.push(a);
    }
    adj.push(Adj::forward(0, H0, R0, Ipv4Addr::new(10, 1, 0, 2), 1500));
    adj.push(Adj::forward(1, H1, R1, Ipv4Addr::new(10, 2, 0, 2), 1500));
    adj.push(Adj::forward(
        2,
        PEER,
        R2,
        Ipv4Addr::new(198, 51, 100, 2),
        1500,
    ));
    for (i, t) in tunnels.iter().enumerate() {
        let mut a = Adj::simple(AdjKind::Tunnel);
        a.port = i as u16;
        a.mtu = t.mtu;
        adj.push(a);
    }
    let tadj = |t: u16| 9 + u32::from(t);

    let mut default = Fib4::new();
    default.insert(ip(192, 0, 2, 1), 32, 0);
    default.insert(ip(192, 0, 2, 2), 32, 0);
    default.insert(ip(198, 51, 100, 0), 24, 5);
    default.insert(ip(198, 51, 100, 1), 32, 0);
    default.insert(ip(203, 0, 113, 0), 24, 8);
    // A tunnel whose destination is routed into itself.
    default.insert(ip(10, 99, 0, 0), 16, tadj(TLOOP));
    let mut main = Fib4::new();
    main.insert(ip(10, 1, 0, 0), 24, 3);
    main.insert(ip(10, 1, 0, 1), 32, 0);
    main.insert(ip(10, 2, 0, 0), 24, tadj(T75));
    main.insert(ip(10, 75, 0, 1), 32, 0);
    let mut bgp = Fib4::new();
    bgp.insert(ip(10, 2, 0, 0), 24, 4);
    bgp.insert(ip(10, 2, 0, 1), 32, 0);
    bgp.insert(ip(10, 1, 0, 0), 24, tadj(T76));
    bgp.insert(ip(172, 16, 0, 0), 16, tadj(T9));
    bgp.insert(ip(10, 76, 0, 1), 32, 0);

    let iface = |name: &str, vrf, mac, addr| IfaceState {
        name: name.into(),
        vrf,
        mac,
        mtu: 1500,
        primary_ip: addr,
        up: true,
    };
    let mut ifaces = vec![
        iface("p0", MAIN, R0, ip(10, 1, 0, 1)),
        iface("p1", BGP, R1, ip(10, 2, 0, 1)),
        iface("p2", 0, R2, ip(198, 51, 100, 1)),
    ];
    for (i, t) in tunnels.iter().enumerate() {
        let mut s = iface(
            &format!("tun{i}"),
            t.overlay_vrf,
            [2, 0, 0, 0, 1, i as u8],
            0,
        );
        s.mtu = t.mtu;
        ifaces.push(s);
    }
    Snapshot {
        generation: 1,
        fibs: Arc::new(vec![Arc::new(default), Arc::new(main), Arc::new(bgp)]),
        adj: Arc::new(adj.into()),
        neighbors: Arc::new(NeighborMap::build([
            (0, Ipv4Addr::new(10, 1, 0, 2), 6),
            (1, Ipv4Addr::new(10, 2, 0, 2), 7),
            (2, Ipv4Addr::new(198, 51, 100, 2), 8),
        ])),
        ifaces: Arc::new(ifaces),
        decap: Arc::new(DecapMap::build(&tunnels)),
        tunnels: Arc::new(tunnels),
        policies: Arc::default(),
    }
}

fn tunnels() -> Vec<TunnelState> {
    vec![
        tunnel(3, MAIN, ip(192, 0, 2, 1), ip(192, 0, 2, 2), None),
        tunnel(4, BGP, ip(192, 0, 2, 2), ip(192, 0, 2, 1), None),
        tunnel(5, BGP, ip(198, 51, 100, 1), ip(203, 0, 113, 9), Some(9)),
        tunnel(6, 0, ip(198, 51, 100, 1), ip(10, 99, 0, 1), None),
    ]
}

struct Lab {
    pool: NativePool,
    worker: Worker<NativePool, MemPort<Mbuf>>,
    outside: Vec<MemPort<Mbuf>>,
    counters: Arc<WorkerCounters>,
    queues: Arc<WorkerQueues<Mbuf>>,
    tunnels: Vec<TunnelState>,
}

fn lab_with(tunnels: Vec<TunnelState>) -> Lab {
    lab_from(snapshot(tunnels.clone()), tunnels)
}

fn lab_from(snap: Snapshot, tunnels: Vec<TunnelState>) -> Lab {
    let pool = NativePool::new(1024, 2048).unwrap();
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (mut a, mut b) = mem::link::<Mbuf>(1, 256);
        inside.push(a.remove(0));
        outside.push(b.remove(0));
    }
    let counters = Arc::new(WorkerCounters::default());
    let queues = Arc::new(WorkerQueues::new(64));
    let worker = Worker::new(
        0,
        inside,
        pool.clone(),
        state::rcu(snap),
        queues.clone(),
        counters.clone(),
        &WorkerConfig::default(),
    );
    Lab {
        pool,
        worker,
        outside,
        counters,
        queues,
        tunnels,
    }
}

fn lab() -> Lab {
    lab_with(tunnels())
}

impl Lab {
    fn worker_snapshot_hairpins(&self) -> Vec<Option<u16>> {
        let mut s = snapshot_unlinked(self.tunnels.clone());
        s.link_hairpins();
        s.tunnels.iter().map(|t| t.hairpin).collect()
    }

    fn send(&mut self, port: usize, frames: &[Vec<u8>]) {
        let mut b: Burst<Mbuf> = Burst::new();
        for f in frames {
            let mut p = self.pool.alloc().unwrap();
            p.append(f.len()).unwrap().copy_from_slice(f);
            b.push(p);
        }
        Port::<NativePool>::tx_burst(&mut self.outside[port], &mut b);
        self.worker.poll();
    }

    fn recv(&mut self, port: usize) -> Vec<Vec<u8>> {
        let mut b: Burst<Mbuf> = Burst::new();
        Port::<NativePool>::rx_burst(&mut self.outside[port], &mut b);
        b.iter().map(|p| p.data().to_vec()).collect()
    }

    fn dropped(&self, r: DropReason) -> u64 {
        self.counters.read().dropped(r)
    }
}

/// A GRE frame from PEER's tunnel end 203.0.113.9 to 198.51.100.1 on p2,
/// around `inner` (an IPv4 packet), with the GRE header `gre_hdr`.
fn gre_frame(gre_hdr: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut l4 = gre_hdr.to_vec();
    l4.extend_from_slice(inner);
    let mut f = testing::ipv4(
        R2,
        PEER,
        Ipv4Addr::new(203, 0, 113, 9),
        Ipv4Addr::new(198, 51, 100, 1),
        60,
        47,
        &l4,
    );
    // testing::ipv4 sets DF; GRE peers may or may not, either is fine.
    f[14 + 6] = 0;
    let c = pipeline::wire::checksum::checksum(&{
        let mut h = f[14..34].to_vec();
        h[10] = 0;
        h[11] = 0;
        h
    });
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

/// The IPv4 packet (no Ethernet header) of a UDP frame.
fn inner_udp(src: u32, dst: u32, ttl: u8, payload: usize) -> Vec<u8> {
    testing::udp(R0, H0, src.into(), dst.into(), ttl, payload)[14..].to_vec()
}

#[test]
fn encapsulates_towards_the_remote_end_with_key() {
    let mut l = lab();
    let f = testing::udp(
        R1,
        H1,
        Ipv4Addr::new(10, 2, 0, 2),
        Ipv4Addr::new(172, 16, 0, 5),
        64,
        100,
    );
    l.send(1, std::slice::from_ref(&f));
    let out = l.recv(2);
    assert_eq!(out.len(), 1, "{:?}", l.counters.read());
    let o = &out[0];
    assert_eq!(&o[..6], &PEER);
    assert_eq!(&o[6..12], &R2);
    assert_eq!(&o[12..14], &[0x08, 0x00]);
    let outer = ipv4::Packet::new_checked(&o[14..]).unwrap();
    assert!(outer.verify_checksum());
    assert_eq!(outer.src_addr(), Ipv4Addr::new(198, 51, 100, 1));
    assert_eq!(outer.dst_addr(), Ipv4Addr::new(203, 0, 113, 9));
    assert_eq!(outer.protocol().0, 47);
    assert_eq!(outer.ttl(), 255);
    assert!(outer.dont_frag(), "DF copied from the inner packet");
    assert_eq!(usize::from(outer.total_len()), o.len() - 14);
    let g = gre::Packet::new_checked(outer.payload()).unwrap();
    assert_eq!(g.header_len(), 8);
    assert_eq!((g.key(), g.sequence(), g.checksum()), (Some(9), None, None));
    assert_eq!(g.protocol(), 0x0800);
    let inner = g.payload();
    assert_eq!(inner[8], 63, "inner TTL decremented once");
    assert!(testing::ipv4_checksum_ok(inner));
    assert_eq!(
        &inner[12..],
        &f[14 + 12..],
        "inner addresses and payload intact"
    );
    assert_eq!(l.counters.read().forwarded, 1);
}

#[test]
fn decapsulates_from_the_remote_end_into_the_overlay_vrf() {
    let mut l = lab();
    let inner = inner_udp(ip(172, 16, 0, 5), ip(10, 2, 0, 2), 30, 50);
    l.send(2, &[gre_frame(&[0x20, 0, 0x08, 0, 0, 0, 0, 9], &inner)]);
    let out = l.recv(1);
    assert_eq!(out.len(), 1, "{:?}", l.counters.read());
    let o = &out[0];
    assert_eq!(&o[..6], &H1);
    assert_eq!(&o[6..12], &R1);
    assert_eq!(o.len(), 14 + inner.len());
    assert_eq!(o[14 + 8], 29, "inner TTL decremented");
    assert!(testing::ipv4_checksum_ok(&o[14..]));
    assert_eq!(&o[14 + 12..], &inner[12..]);
}

#[test]
fn the_hairpin_crosses_from_main_to_bgp_and_back_through_the_local_pair() {
    let mut l = lab();
    let f = testing::udp(
        R0,
        H0,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 2, 0, 2),
        64,
        200,
    );
    l.send(0, std::slice::from_ref(&f));
    let out = l.recv(1);
    assert_eq!(out.len(), 1, "{:?}", l.counters.read());
    let o = &out[0];
    assert_eq!((&o[..6], &o[6..12]), (&H1[..], &R1[..]));
    assert_eq!(o.len(), f.len(), "outer headers gone");
    assert_eq!(o[14 + 8], 62, "routed twice: MAIN into the tunnel, BGP out");
    assert!(testing::ipv4_checksum_ok(&o[14..]));
    assert_eq!(&o[14 + 12..], &f[14 + 12..]);

    // And back: H1 -> H0 through T76 -> T75.
    let b = testing::udp(
        R1,
        H1,
        Ipv4Addr::new(10, 2, 0, 2),
        Ipv4Addr::new(10, 1, 0, 2),
        64,
        10,
    );
    l.send(1, std::slice::from_ref(&b));
    let back = l.recv(0);
    assert_eq!(back.len(), 1);
    assert_eq!(&back[0][..6], &H0);
    assert_eq!(&back[0][14 + 12..], &b[14 + 12..]);
    assert_eq!(l.counters.read().forwarded, 2);
    assert!(l.recv(2).is_empty(), "nothing left by the underlay port");
}

/// The hairpin shortcut is exact: the same bytes leave as when the packet
/// is really encapsulated, routed to the local end and decapsulated.
#[test]
fn the_hairpin_shortcut_equals_the_long_way() {
    let mut short = lab();
    assert_eq!(
        short.worker_snapshot_hairpins(),
        vec![Some(T76), Some(T75), None, None]
    );
    let mut long = lab_from(snapshot_unlinked(tunnels()), tunnels());
    let frames: Vec<Vec<u8>> = [(64u8, 10usize), (2, 100), (1, 20), (64, 1472)]
        .iter()
        .map(|&(ttl, n)| {
            testing::udp(
                R0,
                H0,
                Ipv4Addr::new(10, 1, 0, 2),
                Ipv4Addr::new(10, 2, 0, 2),
                ttl,
                n,
            )
        })
        .collect();
    short.send(0, &frames);
    long.send(0, &frames);
    assert_eq!(short.recv(1), long.recv(1));
    assert_eq!(short.recv(0), long.recv(0), "ICMP errors alike");
    let (a, b) = (short.counters.read(), long.counters.read());
    assert_eq!((a.forwarded, a.drops), (b.forwarded, b.drops));
    assert!(a.forwarded >= 1);
}

#[test]
fn malformed_and_unmatched_gre_is_dropped_by_reason() {
    let mut l = lab();
    let inner = inner_udp(ip(172, 16, 0, 5), ip(10, 2, 0, 2), 30, 20);
    let cases: &[(&[u8], DropReason)] = &[
        // Wrong key, no key: no tunnel.
        (&[0x20, 0, 0x08, 0, 0, 0, 0, 8], DropReason::GreNoTunnel),
        (&[0, 0, 0x08, 0], DropReason::GreNoTunnel),
        // RFC 1701 routing bit, strict source route, recursion bit.
        (&[0x60, 0, 0x08, 0, 0, 0, 0, 9], DropReason::GreMalformed),
        (&[0x28, 0, 0x08, 0, 0, 0, 0, 9], DropReason::GreMalformed),
        (&[0x24, 0, 0x08, 0, 0, 0, 0, 9], DropReason::GreMalformed),
        // Version 1 (PPTP).
        (&[0x20, 1, 0x08, 0, 0, 0, 0, 9], DropReason::GreMalformed),
        // Checksum present but wrong.
        (
            &[0xa0, 0, 0x08, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 9],
            DropReason::GreMalformed,
        ),
        // IPv6 inside.
        (&[0x20, 0, 0x86, 0xdd, 0, 0, 0, 9], DropReason::GreProtocol),
    ];
    for (hdr, reason) in cases {
        let before = l.dropped(*reason);
        l.send(2, &[gre_frame(hdr, &inner)]);
        assert_eq!(l.dropped(*reason), before + 1, "{hdr:02x?} -> {reason:?}");
    }
    // Truncated key: the GRE header announces 8 bytes, 6 are there.
    let before = l.dropped(DropReason::GreMalformed);
    l.send(2, &[gre_frame(&[0x20, 0, 0x08, 0, 0, 0], &[])]);
    assert_eq!(l.dropped(DropReason::GreMalformed), before + 1);
    // A good checksum is accepted.
    let mut hdr = vec![0xa0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 9];
    let mut whole = hdr.clone();
    whole.extend_from_slice(&inner);
    let c = pipeline::wire::checksum::checksum(&whole);
    hdr[4..6].copy_from_slice(&c.to_be_bytes());
    l.send(2, &[gre_frame(&hdr, &inner)]);
    assert_eq!(l.recv(1).len(), 1, "{:?}", l.counters.read());
    assert!(l.recv(1).is_empty());
}

#[test]
fn a_loop_through_a_tunnel_ends_at_the_pass_bound() {
    let mut l = lab();
    // 10.99.0.0/16 in the default VRF goes into TLOOP, whose destination
    // 10.99.0.1 is routed into TLOOP again.
    let f = testing::udp(
        R2,
        PEER,
        Ipv4Addr::new(198, 51, 100, 2),
        Ipv4Addr::new(10, 99, 0, 7),
        64,
        10,
    );
    l.send(2, &[f]);
    assert_eq!(
        l.dropped(DropReason::TunnelLoop),
        1,
        "{:?}",
        l.counters.read()
    );
    assert_eq!(l.counters.read().forwarded, 0);
    const { assert!(MAX_TUNNEL_PASSES >= 2) };
}

#[test]
fn too_big_for_the_tunnel_with_df_gets_the_tunnel_mtu() {
    let mut l = lab();
    // T9 carries a key: MTU 1472. 1473 bytes of IPv4 with DF.
    let f = testing::udp(
        R1,
        H1,
        Ipv4Addr::new(10, 2, 0, 2),
        Ipv4Addr::new(172, 16, 0, 5),
        64,
        1473 - 28,
    );
    l.send(1, &[f]);
    assert_eq!(l.dropped(DropReason::TooBig), 1);
    let back = l.recv(1);
    assert_eq!(back.len(), 1);
    let icmp = &back[0][34..];
    assert_eq!((icmp[0], icmp[1]), (3, 4));
    assert_eq!(u16::from_be_bytes([icmp[6], icmp[7]]), 1472);
    // 1472 bytes pass.
    let f = testing::udp(
        R1,
        H1,
        Ipv4Addr::new(10, 2, 0, 2),
        Ipv4Addr::new(172, 16, 0, 5),
        64,
        1472 - 28,
    );
    l.send(1, &[f]);
    let out = l.recv(2);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 14 + 20 + 8 + 1472);
}

#[test]
fn down_tunnels_and_sequence_numbers() {
    let mut ts = tunnels();
    ts[usize::from(T9)].sequence = true;
    ts[usize::from(T9)].checksum = true;
    ts[usize::from(T76)].up = false;
    let mut l = lab_with(ts);
    for n in 0..3u32 {
        let f = testing::udp(
            R1,
            H1,
            Ipv4Addr::new(10, 2, 0, 2),
            Ipv4Addr::new(172, 16, 0, 5),
            64,
            30,
        );
        l.send(1, &[f]);
        let out = l.recv(2);
        let outer = ipv4::Packet::new_checked(&out[0][14..]).unwrap();
        let g = gre::Packet::new_checked(outer.payload()).unwrap();
        assert_eq!(g.header_len(), 16);
        assert_eq!((g.key(), g.sequence()), (Some(9), Some(n)));
        assert!(g.checksum().is_some() && g.verify_checksum());
    }
    // The hairpin's receiving end is down.
    let f = testing::udp(
        R0,
        H0,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 2, 0, 2),
        64,
        10,
    );
    l.send(0, &[f]);
    assert_eq!(l.dropped(DropReason::TunnelDown), 1);
}

/// A UDP frame with DF clear and `payload` bytes.
fn udp_no_df(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: usize,
) -> Vec<u8> {
    let mut f = testing::udp(dst_mac, src_mac, src, dst, 64, payload);
    f[14 + 6] = 0;
    f[24] = 0;
    f[25] = 0;
    let c = pipeline::wire::checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

/// Fragment data of `frags` (IPv4 after a 14-byte Ethernet header) put
/// back together, checking offsets and MF.
fn reassemble(frags: &[Vec<u8>]) -> Vec<u8> {
    let mut data = Vec::new();
    for (i, f) in frags.iter().enumerate() {
        let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(usize::from(ip.frag_offset()), data.len(), "fragment {i}");
        assert_eq!(ip.more_frags(), i + 1 < frags.len(), "fragment {i}");
        data.extend_from_slice(ip.payload());
    }
    data
}

#[test]
fn df_clear_packets_fragment_the_outer_packet_by_default() {
    let mut l = lab();
    // 1500 bytes of inner IPv4 into T9 (MTU 1472): encapsulated whole,
    // the 1528-byte outer packet leaves p2 (MTU 1500) in two fragments.
    let f = udp_no_df(
        R1,
        H1,
        Ipv4Addr::new(10, 2, 0, 2),
        Ipv4Addr::new(172, 16, 0, 5),
        1472,
    );
    l.send(1, std::slice::from_ref(&f));
    let out = l.recv(2);
    assert_eq!(out.len(), 2, "{:?}", l.counters.read());
    assert!(out.iter().all(|o| o.len() - 14 <= 1500));
    let c = l.counters.read();
    assert_eq!((c.forwarded, c.fragments), (1, 2));
    let outer = reassemble(&out);
    let g = gre::Packet::new_checked(&outer[..]).unwrap();
    assert_eq!(g.key(), Some(9));
    let inner = g.payload();
    assert_eq!(inner.len(), 1500);
    assert_eq!(&inner[12..], &f[14 + 12..]);
}

#[test]
fn inner_fragmentation_sends_each_fragment_through_the_tunnel() {
    let mut ts = tunnels();
    ts[usize::from(T9)].fragment = FragmentPolicy::Inner;
    let mut l = lab_with(ts);
    let f = udp_no_df(
        R1,
        H1,
        Ipv4Addr::new(10, 2, 0, 2),
        Ipv4Addr::new(172, 16, 0, 5),
        1472,
    );
    l.send(1, std::slice::from_ref(&f));
    let out = l.recv(2);
    assert_eq!(out.len(), 2, "{:?}", l.counters.read());
    let inners: Vec<Vec<u8>> = out
        .iter()
        .map(|o| {
            let outer = ipv4::Packet::new_checked(&o[14..]).unwrap();
            assert!(
                !outer.more_frags() && outer.frag_offset() == 0,
                "outer whole"
            );
            assert!(o.len() - 14 <= 1500);
            let g = gre::Packet::new_checked(outer.payload()).unwrap();
            let mut e = vec![0u8; 14];
            e.extend_from_slice(g.payload());
            assert!(e.len() - 14 <= 1472, "inner within the tunnel MTU");
            e
        })
        .collect();
    assert_eq!(reassemble(&inners), &f[34..]);
    let c = l.counters.read();
    assert_eq!((c.forwarded, c.fragments), (1, 2));
}

#[test]
fn the_hairpin_carries_packets_larger_than_the_tunnel_mtu() {
    let mut l = lab();
    // 1500 bytes, DF clear, MAIN -> BGP over the local pair (MTU 1476):
    // the outer packet is 1524 bytes; the local underlay has no MTU, so it
    // is decapsulated whole and leaves p1 unfragmented.
    let f = udp_no_df(
        R0,
        H0,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 2, 0, 2),
        1472,
    );
    l.send(0, std::slice::from_ref(&f));
    let out = l.recv(1);
    assert_eq!(out.len(), 1, "{:?}", l.counters.read());
    assert_eq!(out[0].len(), f.len());
    assert_eq!(&out[0][14 + 12..], &f[14 + 12..]);
}

/// Split the IPv4 packet of frame `f` (no options) into two fragments at
/// data offset `at` (a multiple of 8).
fn split(f: &[u8], at: usize) -> [Vec<u8>; 2] {
    let data = &f[34..];
    let piece = |d: &[u8], off: usize, mf: bool| {
        let mut g = f[..34].to_vec();
        g.extend_from_slice(d);
        g[16..18].copy_from_slice(&((20 + d.len()) as u16).to_be_bytes());
        let fo = (if mf { 0x2000u16 } else { 0 }) | (off / 8) as u16;
        g[20..22].copy_from_slice(&fo.to_be_bytes());
        g[24..26].copy_from_slice(&[0, 0]);
        let c = pipeline::wire::checksum::checksum(&g[14..34]);
        g[24..26].copy_from_slice(&c.to_be_bytes());
        g
    };
    [piece(&data[..at], 0, true), piece(&data[at..], at, false)]
}

#[test]
fn fragmented_outer_packets_are_reassembled_before_decapsulation() {
    let mut l = lab();
    // The far end fragments a 1528-byte outer packet (1500 bytes inside,
    // key 9) for a 1500-byte path; the pieces arrive last one first.
    let inner = inner_udp(ip(172, 16, 0, 5), ip(10, 2, 0, 2), 30, 1472);
    let whole = gre_frame(&[0x20, 0, 0x08, 0, 0, 0, 0, 9], &inner);
    assert_eq!(whole.len() - 14, 1528);
    let [a, b] = split(&whole, 1480);
    l.send(2, &[b]);
    assert!(l.recv(1).is_empty());
    l.send(2, &[a]);
    let out = l.recv(1);
    assert_eq!(out.len(), 1, "{:?}", l.counters.read());
    assert_eq!(out[0].len(), 14 + 1500);
    assert_eq!(&out[0][14 + 12..], &inner[12..]);
    assert_eq!(out[0][14 + 8], 29);
    let c = l.counters.read();
    assert_eq!((c.forwarded, c.reassembled, c.total_drops()), (1, 1, 0));
    assert_eq!(l.worker.fragments_held(), 0);
}

/// Cisco-style keepalives: the far end's probe is routed back to it, the
/// answer to ours goes to the control plane, and ours is built and sent
/// through the underlay, also over the local pair.
#[test]
fn keepalives_are_answered_sent_and_recognised() {
    let mut l = lab();
    // The far end's probe for T9: inside, 198.51.100.1 -> 203.0.113.9 GRE
    // of Protocol Type 0.
    let probe = testing::ipv4(
        R2,
        PEER,
        Ipv4Addr::new(198, 51, 100, 1),
        Ipv4Addr::new(203, 0, 113, 9),
        255,
        47,
        &[0, 0, 0, 0],
    );
    l.send(
        2,
        &[gre_frame(&[0x20, 0, 0x08, 0, 0, 0, 0, 9], &probe[14..])],
    );
    let back = l.recv(2);
    assert_eq!(back.len(), 1, "{:?}", l.counters.read());
    assert_eq!(&back[0][..6], &PEER);
    assert_eq!(&back[0][14..], &probe[14..], "the inner packet, as it was");

    // The answer to our probe: empty GRE, Protocol Type 0, key 9.
    l.send(2, &[gre_frame(&[0x20, 0, 0, 0, 0, 0, 0, 9], &[])]);
    let punted = l.queues.punt.pop().expect("handed to the control plane");
    assert_eq!(punted.meta().in_port, 5, "the tunnel's interface");

    // Our probe for T9, injected by the control plane.
    let mut p = l.pool.alloc().unwrap();
    build_keepalive(&mut p, &l.tunnels[usize::from(T9)], 77).unwrap();
    p.meta_mut().flags = META_KEEPALIVE;
    p.meta_mut().out_port = T9;
    assert!(l.queues.inject.push(p).is_ok());
    l.worker.poll();
    let out = l.recv(2);
    assert_eq!(out.len(), 1);
    let outer = ipv4::Packet::new_checked(&out[0][14..]).unwrap();
    assert_eq!(outer.dst_addr(), Ipv4Addr::new(203, 0, 113, 9));
    let g = gre::Packet::new_checked(outer.payload()).unwrap();
    assert_eq!(g.key(), Some(9));
    let inner = ipv4::Packet::new_checked(g.payload()).unwrap();
    assert!(inner.verify_checksum());
    assert_eq!(inner.src_addr(), Ipv4Addr::new(203, 0, 113, 9));
    assert_eq!(inner.dst_addr(), Ipv4Addr::new(198, 51, 100, 1));
    let ig = gre::Packet::new_checked(inner.payload()).unwrap();
    assert_eq!((ig.protocol(), ig.payload().len()), (0, 0));

    // Over the local pair, T75's probe comes straight back to T75.
    let mut p = l.pool.alloc().unwrap();
    build_keepalive(&mut p, &l.tunnels[usize::from(T75)], 78).unwrap();
    p.meta_mut().flags = META_KEEPALIVE;
    p.meta_mut().out_port = T75;
    assert!(l.queues.inject.push(p).is_ok());
    l.worker.poll();
    let punted = l.queues.punt.pop().expect("T75's answer");
    assert_eq!(punted.meta().in_port, 3);
    assert_eq!(
        l.counters.read().total_drops(),
        0,
        "{:?}",
        l.counters.read()
    );
}

/// Policy routing: rules on an input interface send matching traffic
/// another way than the FIB (another VRF, or a tunnel's adjacency), and
/// the router's own packets follow the local rules.
#[test]
fn policy_rules_override_the_fib() {
    use pipeline::policy::{Policies, PolicyAction, PolicyRule};
    let any = PolicyRule {
        src: (0, 0),
        dst: (0, 0),
        protocol: None,
        src_ports: None,
        dst_ports: None,
        dscp: None,
        action: PolicyAction::Vrf(BGP),
    };
    let udp_5001_to_bgp = PolicyRule {
        protocol: Some(17),
        dst_ports: Some((5001, 5001)),
        ..any
    };
    let dscp46_to_t9 = PolicyRule {
        dscp: Some(46),
        action: PolicyAction::Adjacency(9 + u32::from(T9)),
        ..any
    };
    let replies_via_t75 = PolicyRule {
        dst: (ip(10, 1, 0, 2), 32),
        action: PolicyAction::Adjacency(9 + u32::from(T75)),
        ..any
    };
    let mut snap = snapshot(tunnels());
    snap.policies = Arc::new(Policies {
        by_iface: vec![vec![dscp46_to_t9, udp_5001_to_bgp]],
        local: vec![replies_via_t75],
    });
    let mut l = lab_from(snap, tunnels());

    // UDP to port 5001: routed in BGP directly (one hop), not through the
    // tunnel pair the FIB of MAIN points to (two hops).
    let f = testing::udp(
        R0,
        H0,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 2, 0, 2),
        64,
        20,
    );
    l.send(0, std::slice::from_ref(&f));
    let out = l.recv(1);
    assert_eq!(out.len(), 1, "{:?}", l.counters.read());
    assert_eq!(out[0][14 + 8], 63, "one routing hop");
    // DSCP 46 (EF): into T9, whatever the destination.
    let mut ef = f.clone();
    ef[14 + 1] = 46 << 2;
    ef[24..26].copy_from_slice(&[0, 0]);
    let c = pipeline::wire::checksum::checksum(&ef[14..34]);
    ef[24..26].copy_from_slice(&c.to_be_bytes());
    l.send(0, &[ef]);
    let out = l.recv(2);
    assert_eq!(out.len(), 1, "{:?}", l.counters.read());
    let outer = ipv4::Packet::new_checked(&out[0][14..]).unwrap();
    assert_eq!(outer.dst_addr(), Ipv4Addr::new(203, 0, 113, 9));
    assert_eq!(outer.dscp(), 46, "DSCP copied to the outer header");
    // Unmatched (ICMP): the FIB's way, through the hairpin.
    let e = testing::echo_request(
        R0,
        H0,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 2, 0, 2),
        1,
        1,
        &[0; 8],
    );
    l.send(0, &[e]);
    let out = l.recv(1);
    assert_eq!(out[0][14 + 8], 62, "two hops");

    // The router's own echo reply to 10.1.0.2 follows the local rule into
    // T75: over the pair into BGP, back through T76 into MAIN, out p0,
    // two routing hops on the way.
    let e = testing::echo_request(
        R0,
        H0,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 1, 0, 1),
        7,
        1,
        &[0; 8],
    );
    l.send(0, &[e]);
    let back = l.recv(0);
    assert_eq!(back.len(), 1, "{:?}", l.counters.read());
    assert_eq!(back[0][34], 0, "an echo reply");
    assert_eq!(back[0][14 + 8], 62, "64 less two hops through the tunnels");
}
