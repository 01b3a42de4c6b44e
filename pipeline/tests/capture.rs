//! Capture taps on a worker driven through `mem` ports: what the receive
//! and transmit taps see, filters, snapshot length, packet limit, stop,
//! a full record pool, and forwarding that does not change while a
//! capture runs.
//!
//! ```text
//!  H0 10.1.0.2 ── p0 10.1.0.1 [worker] p1 10.2.0.1 ── H1 10.2.0.2
//!   (10.5/16)                              ├─ VLAN 7 ── H3 10.2.0.3 (10.3/16)
//!                                          └─ MTU 300 ── H1 (10.6/16)
//! ```

use pipeline::fib::Fib4;
use pipeline::state::{self, Adj, AdjKind, IfaceState, NeighborMap, Snapshot};
use pipeline::testing;
use pipeline::{
    CaptureFilter, CaptureHandle, CaptureSpec, CaptureTaps, CounterValues, Direction, DropReason,
    Record, Worker, WorkerConfig, WorkerCounters, WorkerQueues,
};
use pmd::drivers::mem::{self, MemPort};
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port};
use std::net::Ipv4Addr;
use std::sync::Arc;

const R0: [u8; 6] = [2, 0, 0, 0, 0, 0x10];
const R1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const H0: [u8; 6] = [2, 0, 0, 0, 0, 0xa0];
const H1: [u8; 6] = [2, 0, 0, 0, 0, 0xa1];
const H3: [u8; 6] = [2, 0, 0, 0, 0, 0xa3];

fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn snapshot() -> Snapshot {
    // Adjacencies: 0 local, 1 blackhole, 2 reject, 3 attached p0,
    // 4 attached p1, 5 H0, 6 H1, 7 H3 on VLAN 7 of p1, 8 H1 with an MTU
    // of 300.
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
    adj.push(Adj::forward(0, H0, R0, ip(10, 1, 0, 2), 1500));
    adj.push(Adj::forward(1, H1, R1, ip(10, 2, 0, 2), 1500));
    let mut h3 = Adj::forward(1, H3, R1, ip(10, 2, 0, 3), 1500);
    h3.vlan = 7;
    adj.push(h3);
    adj.push(Adj::forward(1, H1, R1, ip(10, 2, 0, 2), 300));

    let mut fib = Fib4::new();
    fib.insert(ip(10, 1, 0, 0).into(), 24, 3);
    fib.insert(ip(10, 2, 0, 0).into(), 24, 4);
    fib.insert(ip(10, 1, 0, 1).into(), 32, 0);
    fib.insert(ip(10, 2, 0, 1).into(), 32, 0);
    fib.insert(ip(10, 4, 0, 0).into(), 16, 6);
    fib.insert(ip(10, 3, 0, 0).into(), 16, 7);
    fib.insert(ip(10, 5, 0, 0).into(), 16, 5);
    fib.insert(ip(10, 6, 0, 0).into(), 16, 8);
    let neighbors = NeighborMap::build([(0, ip(10, 1, 0, 2), 5), (1, ip(10, 2, 0, 2), 6)]);
    let iface = |name: &str, mac, addr: Ipv4Addr| IfaceState {
        name: name.into(),
        vrf: 0,
        mac,
        mtu: 1500,
        primary_ip: addr.into(),
        up: true,
    };
    Snapshot {
        generation: 1,
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

struct Lab {
    pool: NativePool,
    worker: Worker<NativePool, MemPort<Mbuf>>,
    outside: Vec<MemPort<Mbuf>>,
    counters: Arc<WorkerCounters>,
    taps: Arc<CaptureTaps>,
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
    let counters = Arc::new(WorkerCounters::default());
    let taps = Arc::new(CaptureTaps::new());
    let queues = Arc::new(WorkerQueues::with_captures(64, taps.clone()));
    let worker = Worker::new(
        0,
        inside,
        pool.clone(),
        state::rcu(snapshot()),
        queues,
        counters.clone(),
        &WorkerConfig::default(),
    );
    Lab {
        pool,
        worker,
        outside,
        counters,
        taps,
    }
}

/// A frame to send, with the 802.1Q TCI its driver stripped, if any.
type Frame = (Vec<u8>, Option<u16>);

/// A received frame: bytes and the tag to insert on the wire.
type Out = (Vec<u8>, Option<u16>);

impl Lab {
    fn send_tagged(&mut self, port: usize, frames: &[Frame]) {
        let mut b: Burst<Mbuf> = Burst::new();
        for (f, tci) in frames {
            let mut p = self.pool.alloc().unwrap();
            p.append(f.len()).unwrap().copy_from_slice(f);
            p.set_vlan(*tci);
            b.push(p);
        }
        Port::<NativePool>::tx_burst(&mut self.outside[port], &mut b);
        self.worker.poll();
    }

    fn send(&mut self, port: usize, frames: &[Vec<u8>]) {
        let tagged: Vec<Frame> = frames.iter().map(|f| (f.clone(), None)).collect();
        self.send_tagged(port, &tagged);
    }

    fn recv(&mut self, port: usize) -> Vec<Out> {
        let mut all = Vec::new();
        loop {
            let mut b: Burst<Mbuf> = Burst::new();
            if Port::<NativePool>::rx_burst(&mut self.outside[port], &mut b) == 0 {
                return all;
            }
            all.extend(b.iter().map(|p| (p.data().to_vec(), p.vlan())));
        }
    }

    fn capture(&self, spec: CaptureSpec) -> CaptureHandle {
        self.taps.start(spec).unwrap()
    }
}

/// Every record waiting (boxed, as `recycle` takes them back).
#[allow(clippy::vec_box)]
fn drain(h: &CaptureHandle) -> Vec<Box<Record>> {
    std::iter::from_fn(|| h.try_recv()).collect()
}

fn udp(dst: Ipv4Addr, ttl: u8, payload: usize) -> Vec<u8> {
    testing::udp(R0, H0, ip(10, 1, 0, 2), dst, ttl, payload)
}

/// The bytes of a frame as on the wire, with its tag inserted.
fn wire((f, tci): &Out) -> Vec<u8> {
    match tci {
        None => f.clone(),
        Some(t) => [&f[..12], &[0x81, 0x00], &t.to_be_bytes()[..], &f[12..]].concat(),
    }
}

fn spec(port: u16, direction: Direction, filter: CaptureFilter) -> CaptureSpec {
    CaptureSpec {
        filter,
        ..CaptureSpec::new(port, direction)
    }
}

#[test]
fn rx_sees_the_packet_as_received_and_tx_as_sent() {
    let mut l = lab();
    let f = udp(ip(10, 2, 0, 2), 64, 18);

    let h = l.capture(CaptureSpec::new(0, Direction::Rx));
    l.send(0, std::slice::from_ref(&f));
    let out = l.recv(1);
    assert_eq!(out.len(), 1);
    let got = drain(&h);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!((r.direction, r.port, r.worker), (Direction::Rx, 0, 0));
    assert_eq!(r.data(), &f[..], "before the TTL and MAC rewrite");
    assert_eq!(r.data()[14 + 8], 64);
    assert_eq!(r.orig_len as usize, f.len());
    assert!(r.timestamp_ns > 1_600_000_000_000_000_000, "Unix epoch ns");
    drop(h);

    let h = l.capture(CaptureSpec::new(1, Direction::Both));
    l.send(0, std::slice::from_ref(&f));
    let out = l.recv(1);
    let got = drain(&h);
    assert_eq!(got.len(), 1, "nothing received on p1");
    let r = &got[0];
    assert_eq!((r.direction, r.port), (Direction::Tx, 1));
    assert_eq!(r.data(), &out[0].0[..], "as transmitted");
    assert_eq!(r.data()[14 + 8], 63);
    assert_eq!(&r.data()[..6], &H1);
    assert_eq!(h.stats().captured, 1);
}

#[test]
fn tx_tap_sees_slow_path_packets_too() {
    let mut l = lab();
    let h = l.capture(CaptureSpec::new(0, Direction::Tx));
    // TTL expiry: the ICMP error goes back out of p0 by flush_tx.
    l.send(0, &[udp(ip(10, 2, 0, 2), 1, 18)]);
    let back = l.recv(0);
    assert_eq!(back.len(), 1);
    let got = drain(&h);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data(), &back[0].0[..]);
    assert_eq!(got[0].data()[14 + 9], 1, "ICMP");
}

#[test]
fn filters_by_destination_protocol_and_vlan() {
    let mut l = lab();
    let frames = [
        udp(ip(10, 2, 0, 2), 64, 18),
        testing::tcp_syn(R0, H0, ip(10, 1, 0, 2), ip(10, 2, 0, 2)),
        udp(ip(10, 4, 0, 9), 64, 18),
        udp(ip(10, 3, 0, 5), 64, 18), // leaves tagged, VLAN 7
    ];
    let run = |l: &mut Lab, filter: CaptureFilter| {
        let h = l.capture(spec(1, Direction::Tx, filter));
        l.send(0, &frames);
        let out = l.recv(1);
        assert_eq!(out.len(), 4, "all forwarded");
        let got: Vec<Vec<u8>> = drain(&h).iter().map(|r| r.data().to_vec()).collect();
        (got, out)
    };

    let (got, out) = run(
        &mut l,
        CaptureFilter {
            dst: Some("10.4.0.0/16".parse().unwrap()),
            ..Default::default()
        },
    );
    assert_eq!(got, vec![wire(&out[2])]);

    let (got, out) = run(
        &mut l,
        CaptureFilter {
            proto: Some(6),
            ..Default::default()
        },
    );
    assert_eq!(got, vec![wire(&out[1])]);

    let (got, out) = run(
        &mut l,
        CaptureFilter {
            vlan: Some(7),
            ..Default::default()
        },
    );
    assert_eq!(out[3].1, Some(7), "sent tagged");
    assert_eq!(got.len(), 1);
    assert_eq!(
        &got[0][12..16],
        &[0x81, 0x00, 0x00, 0x07],
        "tag on the wire"
    );
    assert_eq!(got[0], wire(&out[3]));

    // Source, either address, and all fields together.
    let (got, _) = run(
        &mut l,
        CaptureFilter {
            src: Some("10.1.0.0/24".parse().unwrap()),
            host: Some("10.2.0.2".parse().unwrap()),
            proto: Some(17),
            ..Default::default()
        },
    );
    assert_eq!(got.len(), 1);
    let (got, _) = run(
        &mut l,
        CaptureFilter {
            dst: Some("10.9.0.0/16".parse().unwrap()),
            ..Default::default()
        },
    );
    assert!(got.is_empty());
}

#[test]
fn rx_vlan_filter_sees_tagged_frames_with_their_tag() {
    let mut l = lab();
    let f = udp(ip(10, 2, 0, 2), 64, 18);
    let h = l.capture(spec(
        0,
        Direction::Rx,
        CaptureFilter {
            vlan: Some(5),
            ..Default::default()
        },
    ));
    l.send_tagged(
        0,
        &[
            (f.clone(), None),
            (f.clone(), Some(0xa005)),
            (f.clone(), Some(6)),
        ],
    );
    // The router expects no tag on p0: it forwards one, drops two.
    assert_eq!(l.recv(1).len(), 1);
    assert_eq!(l.counters.read().dropped(DropReason::Vlan), 2);
    let got = drain(&h);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data(), &wire(&(f.clone(), Some(0xa005)))[..]);
    assert_eq!(got[0].orig_len as usize, f.len() + 4);
}

#[test]
fn snaplen_truncates_and_keeps_the_original_length() {
    let mut l = lab();
    let h = l.capture(CaptureSpec {
        snaplen: 40,
        ..CaptureSpec::new(0, Direction::Rx)
    });
    assert_eq!(h.snaplen(), 40);
    let f = udp(ip(10, 2, 0, 2), 64, 200);
    l.send(0, std::slice::from_ref(&f));
    let got = drain(&h);
    assert_eq!(got[0].data(), &f[..40]);
    assert_eq!(got[0].orig_len as usize, f.len());
    assert!(got[0].truncated());
    assert_eq!(l.recv(1)[0].0.len(), f.len(), "forwarded whole");
}

#[test]
fn count_limit_stops_copying() {
    let mut l = lab();
    let h = l.capture(CaptureSpec {
        count: Some(5),
        ..CaptureSpec::new(0, Direction::Rx)
    });
    let frames: Vec<_> = (0..10).map(|i| udp(ip(10, 2, 0, 2), 64, i)).collect();
    l.send(0, &frames);
    l.send(0, &frames);
    assert_eq!(l.recv(1).len(), 20);
    assert!(!h.is_finished(), "records still to read");
    let got = drain(&h);
    assert_eq!(got.len(), 5);
    for (r, f) in got.iter().zip(&frames) {
        assert_eq!(r.data(), &f[..], "the first five, in order");
    }
    for r in got {
        h.recycle(r);
    }
    let st = h.stats();
    assert_eq!((st.matched, st.captured, st.dropped), (5, 5, 0));
    assert!(h.is_finished());
    l.send(0, &frames);
    assert!(h.try_recv().is_none());
}

#[test]
fn dropping_the_handle_stops_the_capture() {
    let mut l = lab();
    assert!(!l.worker.capturing());
    let h = l.capture(CaptureSpec::new(0, Direction::Both));
    let f = udp(ip(10, 2, 0, 2), 64, 18);
    l.send(0, std::slice::from_ref(&f));
    assert!(l.worker.capturing());
    assert_eq!(h.stats().captured, 1);
    drop(h);
    assert!(l.taps.running().is_none());
    l.send(0, std::slice::from_ref(&f));
    assert!(!l.worker.capturing(), "worker let go at its next round");
    assert_eq!(l.recv(1).len(), 2);
    // A new capture sees only what comes after it.
    let h = l.capture(CaptureSpec::new(0, Direction::Rx));
    assert!(h.try_recv().is_none());
    l.send(0, std::slice::from_ref(&f));
    assert_eq!(drain(&h).len(), 1);
}

#[test]
fn a_full_record_pool_drops_captures_not_packets() {
    let mut l = lab();
    let h = l.capture(CaptureSpec {
        records: 4,
        ..CaptureSpec::new(0, Direction::Rx)
    });
    let frames: Vec<_> = (0..32).map(|i| udp(ip(10, 2, 0, 2), 64, i)).collect();
    l.send(0, &frames);
    assert_eq!(l.recv(1).len(), 32, "every packet forwarded");
    let st = h.stats();
    assert_eq!((st.matched, st.captured, st.dropped), (32, 4, 28));
    // Read and recycle: capturing resumes.
    let got = drain(&h);
    assert_eq!(got.len(), 4);
    for r in got {
        h.recycle(r);
    }
    l.send(0, &frames[..2]);
    assert_eq!(drain(&h).len(), 2);
    assert_eq!(h.stats().dropped, 28);
}

/// A burst of every kind: fast path to both ports (one tagged), TTL
/// expiry, no route, a local address, a bad checksum, and packets
/// fragmented into more than a burst for one port.
fn mixed() -> Vec<Vec<u8>> {
    let mut bad = udp(ip(10, 2, 0, 2), 64, 3);
    bad[24] ^= 0xff;
    let mut v = Vec::new();
    for i in 0..5u8 {
        v.push(udp(ip(10, 2, 0, 2), 64, i.into()));
        v.push(udp(ip(10, 3, 0, i), 64, 5));
        v.push(udp(ip(10, 4, 1, i), 64, 7));
        v.push(udp(ip(10, 5, 1, i), 64, 7));
        let mut big = udp(ip(10, 6, 0, i), 64, 1200);
        big[20] = 0; // DF clear: fragment
        testing::refresh_ipv4_checksum(&mut big);
        v.push(big);
    }
    v.push(udp(ip(10, 2, 0, 2), 1, 9));
    v.push(udp(ip(192, 0, 2, 1), 64, 9));
    v.push(testing::echo_request(
        R0,
        H0,
        ip(10, 1, 0, 2),
        ip(10, 1, 0, 1),
        1,
        1,
        b"ping",
    ));
    v.push(bad);
    v
}

fn run_mixed(l: &mut Lab) -> (Vec<Out>, Vec<Out>, CounterValues) {
    let frames = mixed();
    l.send(0, &frames);
    l.send(0, &frames[..7]);
    // Every packet of the fast path to p1, behind fragments queued there.
    l.send(
        0,
        &[frames[4].clone(), frames[0].clone(), frames[1].clone()],
    );
    (l.recv(0), l.recv(1), l.counters.read())
}

#[test]
fn forwarding_is_the_same_with_and_without_a_capture() {
    let mut plain = lab();
    let want = run_mixed(&mut plain);
    assert!(want.2.fragments >= 15, "{:?}", want.2);
    assert!(
        want.1.len() > 30 && want.0.len() > 5,
        "{} {}",
        want.0.len(),
        want.1.len()
    );

    for port in [0u16, 1] {
        let mut l = lab();
        let h = l.capture(CaptureSpec::new(port, Direction::Both));
        let got = run_mixed(&mut l);
        assert_eq!(got, want, "capture on p{port}");
        let recs = drain(&h);
        let (rx, tx): (Vec<_>, Vec<_>) = recs.iter().partition(|r| r.direction == Direction::Rx);
        // Every packet received and sent on the port, as on the wire.
        let sent = if port == 0 { &got.0 } else { &got.1 };
        let tx_bytes: Vec<&[u8]> = tx.iter().map(|r| r.data()).collect();
        let sent_bytes: Vec<Vec<u8>> = sent.iter().map(wire).collect();
        assert_eq!(tx_bytes.len(), sent_bytes.len());
        for b in &sent_bytes {
            assert!(tx_bytes.contains(&&b[..]), "transmitted packet captured");
        }
        let received = if port == 0 { mixed().len() + 10 } else { 0 };
        assert_eq!(rx.len(), received);
        assert_eq!(h.stats().dropped, 0);
    }
}
