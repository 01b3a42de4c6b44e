//! The forwarding pipeline: arbitrary frames (the input split on a length
//! byte) through a worker never panic, and each is forwarded, answered,
//! punted, dropped with a reason, or held or merged by reassembly. Two GRE tunnels end at the router's
//! address 10.1.0.1 (one to itself: the hairpin; one from 10.1.0.2 with
//! key 5), and 10.77.0.0/16 is routed into the first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::fib::Fib4;
use pipeline::state::{
    self, Adj, AdjKind, DecapMap, DfPolicy, FragmentPolicy, IfaceState, NeighborMap, Snapshot, TunnelState,
};
use pipeline::{Worker, WorkerConfig, WorkerCounters, WorkerQueues};
use pmd::drivers::mem::{self, MemPort};
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port};
use std::net::Ipv4Addr;
use std::sync::Arc;

const R0: [u8; 6] = [2, 0, 0, 0, 0, 0x10];

fuzz_target!(|data: &[u8]| {
    let pool = NativePool::new(256, 2048).unwrap();
    let (mut a, mut b) = mem::link::<Mbuf>(1, 256);
    let mut fib = Fib4::new();
    fib.insert(0x0a01_0000, 24, 3);
    fib.insert(0x0a01_0001, 32, 0);
    fib.insert(0x0a09_0000, 16, 4);
    fib.insert(0x0a42_0000, 16, 2);
    fib.insert(0x0a4d_0000, 16, 5);
    let tunnel = |iface, dst, key| TunnelState {
        iface,
        overlay_vrf: 0,
        underlay_vrf: 0,
        src: 0x0a01_0001,
        dst,
        key,
        checksum: key.is_some(),
        sequence: key.is_some(),
        ttl: 64,
        df: DfPolicy::Copy,
        fragment: FragmentPolicy::Outer,
        mtu: 1476,
        up: true,
        seq: Default::default(),
        hairpin: None,
    };
    let tunnels = vec![
        tunnel(1, 0x0a01_0001, None),
        tunnel(2, 0x0a01_0002, Some(5)),
    ];
    let mut into_tunnel = Adj::simple(AdjKind::Tunnel);
    into_tunnel.mtu = 1476;
    let mut attached = Adj::simple(AdjKind::Attached);
    attached.mtu = 1500;
    attached.eth[6..].copy_from_slice(&R0);
    let snap = Snapshot {
        generation: 1,
        fibs: Arc::new(vec![Arc::new(fib)]),
        adj: Arc::new(vec![
            Adj::simple(AdjKind::Local),
            Adj::simple(AdjKind::Blackhole),
            Adj::simple(AdjKind::Reject),
            attached,
            Adj::forward(
                0,
                [2, 0, 0, 0, 0, 0xa0],
                R0,
                Ipv4Addr::new(10, 1, 0, 2),
                600,
            ),
            into_tunnel,
        ]
        .into()),
        neighbors: Arc::new(NeighborMap::build([(0, Ipv4Addr::new(10, 1, 0, 2), 4)])),
        ifaces: Arc::new(vec![
            IfaceState {
                name: "p0".into(),
                vrf: 0,
                mac: R0,
                mtu: 1500,
                primary_ip: 0x0a01_0001,
                up: true,
            },
            IfaceState {
                name: "tun0".into(),
                vrf: 0,
                mac: [2, 0, 0, 0, 1, 0],
                mtu: 1476,
                primary_ip: 0,
                up: true,
            },
            IfaceState {
                name: "tun1".into(),
                vrf: 0,
                mac: [2, 0, 0, 0, 1, 1],
                mtu: 1472,
                primary_ip: 0,
                up: true,
            },
        ]),
        decap: Arc::new(DecapMap::build(&tunnels)),
        tunnels: Arc::new(tunnels),
        ..Snapshot::default()
    };
    let counters = Arc::new(WorkerCounters::default());
    let queues = Arc::new(WorkerQueues::new(64));
    let mut w = Worker::new(
        0,
        vec![a.remove(0)],
        pool.clone(),
        state::rcu(snap),
        queues.clone(),
        counters.clone(),
        &WorkerConfig::default(),
    );
    let mut outside: MemPort<Mbuf> = b.remove(0);
    let mut burst: Burst<Mbuf> = Burst::new();
    let mut rest = data;
    let mut sent = 0u64;
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize).min(tail.len());
        let (frame, tail) = tail.split_at(n);
        rest = tail;
        let mut p = pool.alloc().unwrap();
        p.append(frame.len()).unwrap().copy_from_slice(frame);
        burst.push(p);
        sent += 1;
        if burst.is_full() {
            Port::<NativePool>::tx_burst(&mut outside, &mut burst);
            w.poll();
        }
    }
    Port::<NativePool>::tx_burst(&mut outside, &mut burst);
    w.poll();
    let c = counters.read();
    // Fragments to the router are merged into a datagram or still held.
    let merged = c.reassembled + w.fragments_held() as u64;
    assert_eq!(c.forwarded + c.local + c.punted + c.total_drops() + merged, sent);
});
