//! The forwarding pipeline: arbitrary frames (the input split on a length
//! byte) through a worker never panic, and each is forwarded, answered,
//! punted or dropped with a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::fib::Fib4;
use pipeline::state::{self, Adj, AdjKind, IfaceState, NeighborMap, Snapshot};
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
            Adj::forward(0, [2, 0, 0, 0, 0, 0xa0], R0, Ipv4Addr::new(10, 1, 0, 2), 600),
        ]),
        neighbors: Arc::new(NeighborMap::build([(0, Ipv4Addr::new(10, 1, 0, 2), 4)])),
        ifaces: Arc::new(vec![IfaceState {
            name: "p0".into(),
            vrf: 0,
            mac: R0,
            mtu: 1500,
            primary_ip: 0x0a01_0001,
            up: true,
        }]),
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
    assert_eq!(c.forwarded + c.local + c.punted + c.total_drops(), sent);
});
