//! The forwarding stages end to end on one worker: packets in through a
//! `mem` link, out through another, checked byte by byte.

use pipeline::fib::Fib4;
use pipeline::state::{self, Adj, AdjKind, IfaceState, NeighborMap, Snapshot};
use pipeline::testing;
use pipeline::wire::checksum;
use pipeline::{DropReason, Worker, WorkerConfig, WorkerCounters, WorkerQueues, META_HOLD};
use pmd::drivers::mem::{self, MemPort};
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port};
use std::net::Ipv4Addr;
use std::sync::Arc;

const R0: [u8; 6] = [2, 0, 0, 0, 0, 0x10]; // router, port 0
const R1: [u8; 6] = [2, 0, 0, 0, 0, 0x11]; // router, port 1
const H0: [u8; 6] = [2, 0, 0, 0, 0, 0xa0]; // host 10.1.0.2 on port 0
const H1: [u8; 6] = [2, 0, 0, 0, 0, 0xa1]; // host 10.2.0.2 on port 1
const GW: [u8; 6] = [2, 0, 0, 0, 0, 0xb1]; // gateway 10.2.0.254 on port 1

fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from(Ipv4Addr::new(a, b, c, d))
}

struct Lab {
    pool: NativePool,
    worker: Worker<NativePool, MemPort<Mbuf>>,
    outside: Vec<MemPort<Mbuf>>,
    counters: Arc<WorkerCounters>,
    queues: Arc<WorkerQueues<Mbuf>>,
    rcu: state::Rcu,
}

fn snapshot(generation: u64) -> Snapshot {
    // Adjacencies: 0 local, 1 blackhole, 2 reject, 3 attached p0,
    // 4 attached p1, 5 H0, 6 H1, 7 gateway (resolved), 8 glean gateway.
    let mut adj = vec![
        Adj::simple(AdjKind::Local),
        Adj::simple(AdjKind::Blackhole),
        Adj::simple(AdjKind::Reject),
    ];
    for (port, mac) in [(0u16, R0), (1, R1)] {
        let mut a = Adj::simple(AdjKind::Attached);
        a.port = port;
        a.mtu = 1500;
        a.eth[6..].copy_from_slice(&mac);
        adj.push(a);
    }
    adj.push(Adj::forward(0, H0, R0, Ipv4Addr::new(10, 1, 0, 2), 1500));
    adj.push(Adj::forward(1, H1, R1, Ipv4Addr::new(10, 2, 0, 2), 1500));
    adj.push(Adj::forward(1, GW, R1, Ipv4Addr::new(10, 2, 0, 254), 1400));
    let mut glean = Adj::simple(AdjKind::Glean);
    glean.port = 1;
    glean.mtu = 1500;
    glean.ip = ip(10, 2, 0, 253);
    glean.eth[6..].copy_from_slice(&R1);
    adj.push(glean);

    let mut fib = Fib4::new();
    fib.insert(ip(10, 1, 0, 0), 24, 3);
    fib.insert(ip(10, 2, 0, 0), 24, 4);
    fib.insert(ip(10, 1, 0, 1), 32, 0);
    fib.insert(ip(10, 2, 0, 1), 32, 0);
    fib.insert(ip(10, 9, 0, 0), 16, 7);
    fib.insert(ip(10, 8, 0, 0), 16, 8);
    fib.insert(ip(10, 66, 0, 0), 16, 1);
    fib.insert(ip(10, 67, 0, 0), 16, 2);
    let neighbors = NeighborMap::build([
        (0, Ipv4Addr::new(10, 1, 0, 2), 5),
        (1, Ipv4Addr::new(10, 2, 0, 2), 6),
    ]);
    let iface = |name: &str, mac, addr| IfaceState {
        name: name.into(),
        vrf: 0,
        mac,
        mtu: 1500,
        primary_ip: addr,
        up: true,
    };
    Snapshot {
        generation,
        fibs: Arc::new(vec![Arc::new(fib)]),
        adj: Arc::new(adj.into()),
        neighbors: Arc::new(neighbors),
        ifaces: Arc::new(vec![
            iface("p0", R0, ip(10, 1, 0, 1)),
            iface("p1", R1, ip(10, 2, 0, 1)),
        ]),
        ..Snapshot::default()
    }
}

fn lab() -> Lab {
    let pool = NativePool::new(1024, 2048).unwrap();
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for _ in 0..2 {
        let (mut a, mut b) = mem::link::<Mbuf>(1, 256);
        inside.push(a.remove(0));
        outside.push(b.remove(0));
    }
    let rcu = state::rcu(snapshot(1));
    let counters = Arc::new(WorkerCounters::default());
    let queues = Arc::new(WorkerQueues::new(64));
    let worker = Worker::new(
        0,
        inside,
        pool.clone(),
        rcu.clone(),
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
        rcu,
    }
}

impl Lab {
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

/// An Ethernet + IPv4 + UDP frame from H0 with `payload` bytes of payload.
fn udp_frame(dst_mac: [u8; 6], src: u32, dst: u32, ttl: u8, payload: usize) -> Vec<u8> {
    testing::udp(dst_mac, H0, src.into(), dst.into(), ttl, payload)
}

fn ip_checksum_ok(ipb: &[u8]) -> bool {
    testing::ipv4_checksum_ok(ipb)
}

#[test]
fn forwards_with_ttl_checksum_and_mac_rewrite() {
    let mut l = lab();
    let f = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 2, 0, 2), 64, 18);
    l.send(0, std::slice::from_ref(&f));
    let out = l.recv(1);
    assert_eq!(out.len(), 1);
    let o = &out[0];
    assert_eq!(&o[..6], &H1, "destination MAC of the neighbor");
    assert_eq!(&o[6..12], &R1, "source MAC of the output port");
    assert_eq!(o[14 + 8], 63, "TTL decremented");
    assert!(ip_checksum_ok(&o[14..]), "incremental checksum valid");
    assert_eq!(
        &o[14 + 12..],
        &f[14 + 12..],
        "addresses and payload untouched"
    );
    assert_eq!(l.counters.read().forwarded, 1);
}

/// One burst whose packets leave by different ports, with slow-path
/// packets (TTL expiry, no route) in between: each port gets its packets
/// in arrival order with its own rewrite, and nothing else is lost.
#[test]
fn a_mixed_burst_is_split_by_port_in_order() {
    let mut l = lab();
    // 10.50/16 via H0 on port 0, beside 10.9/16 via the gateway on port 1.
    let mut snap = snapshot(2);
    let mut fib = (*snap.fibs[0]).clone();
    fib.insert(ip(10, 50, 0, 0), 16, 5);
    snap.fibs = Arc::new(vec![Arc::new(fib)]);
    l.rcu.store(Arc::new(snap));
    let mut frames = Vec::new();
    for i in 0..32u8 {
        let (dst, ttl) = match i % 4 {
            0 | 2 => (ip(10, 9, 0, i), 64),      // port 1, via GW
            1 => (ip(10, 50, 0, i), 64),         // port 0, via H0
            _ if i == 7 => (ip(10, 9, 0, i), 1), // TTL expires
            _ => (ip(10, 99, 0, i), 64),         // no route
        };
        frames.push(udp_frame(R0, ip(10, 1, 0, 2), dst, ttl, 18));
    }
    l.send(0, &frames);
    let out1 = l.recv(1);
    let want1: Vec<u8> = (0..32u8).filter(|i| i % 4 == 0 || i % 4 == 2).collect();
    assert_eq!(out1.iter().map(|f| f[14 + 19]).collect::<Vec<_>>(), want1);
    for f in &out1 {
        assert_eq!(&f[..12], &[GW, R1].concat());
        assert_eq!(f[14 + 8], 63);
        assert!(ip_checksum_ok(&f[14..]));
    }
    // Port 0 also gets the ICMP errors: time exceeded for the TTL-1
    // packet, net unreachable for the 7 without a route.
    let out0 = l.recv(0);
    let fwd0: Vec<u8> = out0
        .iter()
        .filter(|f| f[14 + 9] == 17)
        .map(|f| f[14 + 19])
        .collect();
    assert_eq!(fwd0, (0..32u8).filter(|i| i % 4 == 1).collect::<Vec<_>>());
    let icmp: Vec<u8> = out0
        .iter()
        .filter(|f| f[14 + 9] == 1)
        .map(|f| f[34])
        .collect();
    assert_eq!(
        icmp.iter().filter(|&&t| t == 11).count(),
        1,
        "time exceeded"
    );
    assert_eq!(icmp.iter().filter(|&&t| t == 3).count(), 7, "unreachable");
    assert_eq!(out0.len(), fwd0.len() + 8);
    assert_eq!(l.counters.read().forwarded, 24);
    assert_eq!(l.dropped(DropReason::TtlExpired), 1);
    assert_eq!(l.dropped(DropReason::NoRoute), 7);
}

#[test]
fn routes_via_gateway_and_trims_ethernet_padding() {
    let mut l = lab();
    let mut f = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 9, 3, 4), 9, 2);
    let ip_len = f.len() - 14;
    f.extend_from_slice(&[0xee; 12]); // padding after the IPv4 packet
    l.send(0, &[f]);
    let out = l.recv(1);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][..6], &GW);
    assert_eq!(out[0].len(), 14 + ip_len, "padding removed");
}

#[test]
fn ttl_one_gets_time_exceeded() {
    let mut l = lab();
    let f = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 2, 0, 2), 1, 18);
    l.send(0, std::slice::from_ref(&f));
    assert!(l.recv(1).is_empty());
    assert_eq!(l.dropped(DropReason::TtlExpired), 1);
    let back = l.recv(0);
    assert_eq!(back.len(), 1, "ICMP error sent back to the source");
    let e = &back[0];
    assert_eq!(&e[..6], &H0);
    let ipb = &e[14..];
    assert!(ip_checksum_ok(ipb));
    assert_eq!(ipb[9], 1);
    assert_eq!(
        &ipb[12..16],
        &ip(10, 1, 0, 1).to_be_bytes(),
        "from the input interface"
    );
    assert_eq!(&ipb[16..20], &ip(10, 1, 0, 2).to_be_bytes());
    let icmp = &ipb[20..];
    assert_eq!((icmp[0], icmp[1]), (11, 0));
    assert_eq!(checksum::fold(checksum::sum(icmp, 0)), 0, "ICMP checksum");
    assert_eq!(&icmp[8..8 + 46], &f[14..], "quotes the original datagram");
}

#[test]
fn no_route_blackhole_reject() {
    let mut l = lab();
    l.send(
        0,
        &[udp_frame(R0, ip(10, 1, 0, 2), ip(192, 0, 2, 1), 64, 18)],
    );
    assert_eq!(l.dropped(DropReason::NoRoute), 1);
    let back = l.recv(0);
    assert_eq!((back[0][34], back[0][35]), (3, 0), "net unreachable");
    l.send(
        0,
        &[udp_frame(R0, ip(10, 1, 0, 2), ip(10, 66, 0, 1), 64, 18)],
    );
    assert_eq!(l.dropped(DropReason::Blackhole), 1);
    assert!(l.recv(0).is_empty(), "blackhole is silent");
    l.send(
        0,
        &[udp_frame(R0, ip(10, 1, 0, 2), ip(10, 67, 0, 1), 64, 18)],
    );
    assert_eq!(l.dropped(DropReason::Reject), 1);
    let back = l.recv(0);
    assert_eq!((back[0][34], back[0][35]), (3, 1), "host unreachable");
}

#[test]
fn too_big_with_df_gets_fragmentation_needed() {
    let mut l = lab();
    // Gateway adjacency has MTU 1400.
    l.send(
        0,
        &[udp_frame(R0, ip(10, 1, 0, 2), ip(10, 9, 0, 1), 64, 1400)],
    );
    assert_eq!(l.dropped(DropReason::TooBig), 1);
    let back = l.recv(0);
    let icmp = &back[0][34..];
    assert_eq!((icmp[0], icmp[1]), (3, 4));
    assert_eq!(u16::from_be_bytes([icmp[6], icmp[7]]), 1400, "next-hop MTU");
}

#[test]
fn malformed_frames_are_dropped_by_reason() {
    let mut l = lab();
    let good = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 2, 0, 2), 64, 18);
    let mut bad_csum = good.clone();
    bad_csum[14 + 10] ^= 0xff;
    let mut bad_version = good.clone();
    bad_version[14] = 0x65;
    let mut bad_len = good.clone();
    bad_len[14 + 2..14 + 4].copy_from_slice(&500u16.to_be_bytes());
    let mut other_mac = good.clone();
    other_mac[0] = 0x04;
    let mut martian = udp_frame(R0, ip(127, 0, 0, 1), ip(10, 2, 0, 2), 64, 18);
    martian[14 + 10] = 0;
    let mut ipv6 = good.clone();
    ipv6[12..14].copy_from_slice(&[0x86, 0xdd]);
    l.send(
        0,
        &[
            vec![1, 2, 3],
            good[..20].to_vec(),
            bad_csum,
            bad_version,
            bad_len,
            other_mac,
            udp_frame(R0, ip(127, 0, 0, 1), ip(10, 2, 0, 2), 64, 18),
            ipv6,
        ],
    );
    assert!(l.recv(1).is_empty());
    assert_eq!(l.dropped(DropReason::Runt), 1);
    assert_eq!(l.dropped(DropReason::IpMalformed), 3);
    assert_eq!(l.dropped(DropReason::IpChecksum), 1);
    assert_eq!(l.dropped(DropReason::NotForUs), 1);
    assert_eq!(l.dropped(DropReason::Martian), 1);
    assert_eq!(l.dropped(DropReason::Ethertype), 1);
    assert_eq!(l.counters.read().total_drops(), 8);
}

#[test]
fn options_are_validated_and_forwarded() {
    let mut l = lab();
    let f = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 2, 0, 2), 64, 18);
    let f = testing::with_ipv4_options(&f, &[1, 1, 1, 0]); // NOP NOP NOP EOL
    let mut broken = f.clone();
    broken[34..38].copy_from_slice(&[7, 9, 0, 0]); // option length past the header
    testing::refresh_ipv4_checksum(&mut broken);
    l.send(0, &[f, broken]);
    let out = l.recv(1);
    assert_eq!(out.len(), 1);
    assert!(ip_checksum_ok(&out[0][14..]));
    assert_eq!(l.dropped(DropReason::IpMalformed), 1);
}

#[test]
fn echo_to_router_address_is_answered() {
    let mut l = lab();
    let f = testing::echo_request(
        R0,
        H0,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 1, 0, 1),
        7,
        1,
        b"weir",
    );
    l.send(0, &[f]);
    let back = l.recv(0);
    assert_eq!(back.len(), 1);
    let r = &back[0];
    assert_eq!(&r[..6], &H0);
    assert!(ip_checksum_ok(&r[14..]));
    assert_eq!(&r[26..30], &ip(10, 1, 0, 1).to_be_bytes());
    assert_eq!(&r[30..34], &ip(10, 1, 0, 2).to_be_bytes());
    assert_eq!(r[34], 0, "echo reply");
    assert_eq!(checksum::fold(checksum::sum(&r[34..], 0)), 0);
    assert_eq!(&r[38..], &[0, 7, 0, 1, b'w', b'e', b'i', b'r']);
    assert_eq!(l.counters.read().local, 1);
}

#[test]
fn arp_and_unresolved_next_hops_are_punted() {
    let mut l = lab();
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&H0);
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&H0);
    arp.extend_from_slice(&ip(10, 1, 0, 2).to_be_bytes());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&ip(10, 1, 0, 1).to_be_bytes());
    // To an unknown host on a connected subnet, and via an unresolved gateway.
    let unknown = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 2, 0, 77), 64, 18);
    let via = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 8, 1, 1), 64, 18);
    l.send(0, &[arp.clone(), unknown, via]);
    assert!(l.recv(1).is_empty());
    let p = l.queues.punt.pop().unwrap();
    assert_eq!(p.data(), &arp[..], "ARP punted untouched");
    assert_eq!(p.meta().in_port, 0);
    let p = l.queues.punt.pop().unwrap();
    assert_ne!(p.meta().flags & META_HOLD, 0);
    assert_eq!(p.meta().out_port, 1);
    assert_eq!(p.meta().next_hop, ip(10, 2, 0, 77));
    assert_eq!(&p.data()[6..12], &R1);
    assert_eq!(p.data()[14 + 8], 63, "TTL already decremented");
    let p = l.queues.punt.pop().unwrap();
    assert_eq!(
        p.meta().next_hop,
        ip(10, 2, 0, 253),
        "the gateway is resolved"
    );
    assert_eq!(l.counters.read().punted, 3);
}

#[test]
fn injected_packets_are_sent() {
    let mut l = lab();
    let mut p = l.pool.alloc().unwrap();
    p.append(60).unwrap().fill(0x5a);
    p.meta_mut().out_port = 1;
    l.queues.inject.push(p).unwrap();
    l.worker.poll();
    assert_eq!(l.recv(1), vec![vec![0x5a; 60]]);
}

/// A control thread swaps snapshots as fast as it can while traffic flows:
/// every packet leaves exactly once, through the port the snapshot it was
/// routed with names, with that snapshot's rewrite.
#[test]
fn snapshot_swaps_lose_and_misroute_nothing() {
    let mut l = lab();
    // Snapshot A routes 10.9/16 via the gateway on port 1; B via H0 on port 0.
    let a = Arc::new(snapshot(1));
    let mut b = snapshot(2);
    let mut fib = (*b.fibs[0]).clone();
    fib.insert(ip(10, 9, 0, 0), 16, 5);
    b.fibs = Arc::new(vec![Arc::new(fib)]);
    let b = Arc::new(b);
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (rcu, stop, swaps) = (l.rcu.clone(), stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                rcu.store(if n & 1 == 0 { b.clone() } else { a.clone() });
                n += 1;
                swaps.store(n, Ordering::Relaxed);
                // Keep each snapshot current for a moment (~a burst).
                for _ in 0..500 {
                    std::hint::spin_loop();
                }
            }
        })
    };
    // Route until both many packets and many swaps have happened.
    let (mut got0, mut got1, mut sent) = (0u64, 0u64, 0u64);
    let start = std::time::Instant::now();
    // (On a loaded machine the two threads may share a core and take
    // turns in whole time slices, so run until each snapshot was seen.)
    while sent < 20_000 || swaps.load(Ordering::Relaxed) < 1000 || got0 == 0 || got1 == 0 {
        assert!(
            start.elapsed().as_secs() < 20,
            "the swapper thread never ran, or one snapshot never routed ({got0}, {got1})"
        );
        let frames: Vec<_> = (0..32)
            .map(|_| udp_frame(R0, ip(10, 1, 0, 2), ip(10, 9, 0, 1), 64, 18))
            .collect();
        l.send(0, &frames);
        sent += 32;
        for f in l.recv(1) {
            assert_eq!(
                &f[..12],
                &[GW, R1].concat(),
                "port 1 frames carry A's rewrite"
            );
            got1 += 1;
        }
        for f in l.recv(0) {
            assert_eq!(
                &f[..12],
                &[H0, R0].concat(),
                "port 0 frames carry B's rewrite"
            );
            got0 += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        got0 > 0 && got1 > 0,
        "both snapshots routed ({got0}, {got1})"
    );
    assert_eq!(got0 + got1, sent, "nothing lost");
    assert_eq!(l.counters.read().total_drops(), 0);
    assert_eq!(l.pool.available(), 1024, "every buffer returned");
}

/// Arbitrary bytes (random, and valid frames with random bytes changed or
/// cut short) never panic the pipeline, and every packet is accounted for.
#[test]
fn random_frames_are_counted_never_panic() {
    let mut l = lab();
    let seeds = [
        udp_frame(R0, ip(10, 1, 0, 2), ip(10, 2, 0, 2), 64, 18),
        udp_frame(R0, ip(10, 1, 0, 2), ip(10, 1, 0, 1), 1, 18),
        testing::echo_request(
            R0,
            H0,
            Ipv4Addr::new(10, 1, 0, 2),
            Ipv4Addr::new(10, 1, 0, 1),
            1,
            1,
            b"x",
        ),
        testing::tcp_syn(
            R0,
            H0,
            Ipv4Addr::new(10, 1, 0, 2),
            Ipv4Addr::new(10, 9, 0, 1),
        ),
        testing::arp_request(H0, Ipv4Addr::new(10, 1, 0, 2), Ipv4Addr::new(10, 1, 0, 1)),
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut sent = 0u64;
    for round in 0..3000 {
        let mut frames = Vec::new();
        for _ in 0..16 {
            let mut f = seeds[(rnd() % seeds.len() as u64) as usize].clone();
            match round % 3 {
                0 => {
                    for _ in 0..1 + rnd() % 4 {
                        let i = (rnd() as usize) % f.len();
                        f[i] = rnd() as u8;
                    }
                }
                1 => f.truncate((rnd() as usize) % (f.len() + 1)),
                _ => {
                    let n = (rnd() as usize) % 100;
                    f = (0..n).map(|_| rnd() as u8).collect();
                    if n >= 6 && rnd() % 2 == 0 {
                        f[..6].copy_from_slice(&R0);
                    }
                }
            }
            frames.push(f);
        }
        sent += frames.len() as u64;
        l.send(0, &frames);
        l.recv(0);
        l.recv(1);
        while l.queues.punt.pop().is_some() {}
    }
    let c = l.counters.read();
    assert_eq!(
        c.forwarded + c.local + c.punted + c.total_drops(),
        sent,
        "every packet forwarded, answered, punted or dropped with a reason"
    );
}

/// RFC 1812 §5.2.6: DF clear and larger than the output MTU: forwarded in
/// fragments of at most the MTU, each with TTL − 1 and its own checksum,
/// whose data put back in order is the original's.
#[test]
fn too_big_without_df_is_fragmented() {
    let mut l = lab();
    let mut f = udp_frame(R0, ip(10, 1, 0, 2), ip(10, 9, 0, 1), 64, 2000 - 28);
    f[14 + 6] = 0;
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    l.send(0, std::slice::from_ref(&f));
    let out = l.recv(1);
    // Gateway MTU 1400: 1376 + 600 bytes of data.
    assert_eq!(out.len(), 2, "{:?}", l.counters.read());
    let mut data = Vec::new();
    for (i, o) in out.iter().enumerate() {
        assert_eq!(&o[..6], &GW);
        assert!(o.len() - 14 <= 1400);
        assert!(ip_checksum_ok(&o[14..]));
        assert_eq!(o[14 + 8], 63);
        let fo = u16::from_be_bytes([o[14 + 6], o[14 + 7]]);
        assert_eq!(usize::from(fo & 0x1fff) * 8, data.len(), "fragment {i}");
        assert_eq!(fo & 0x2000 != 0, i == 0, "MF on the first only");
        data.extend_from_slice(&o[34..]);
    }
    assert_eq!(data, &f[34..]);
    let c = l.counters.read();
    assert_eq!((c.forwarded, c.fragments), (1, 2));
}
