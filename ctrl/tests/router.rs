//! A whole router (control thread and workers) driven through `mem` links
//! whose outside ends the test holds: ARP resolution with held packets,
//! several workers, and the counters.

use ctrl::config::{Config, Env};
use ctrl::router::{Router, RunOptions};
use pipeline::testing;
use pmd::drivers::mem::MemPort;
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

const R0: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x01];
const R1: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x02];
const H0: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
const H1: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn start(workers: &str) -> (Router, Vec<MemPort<Mbuf>>, Vec<MemPort<Mbuf>>) {
    let text = format!(
        r#"
[workers]
cores = {workers}
pool_size = 4096

[[interface]]
name = "e0"
mac = "02:77:00:00:00:01"
addresses = ["10.1.0.1/24"]
mem = {{ link = "x0" }}

[[interface]]
name = "e1"
mac = "02:77:00:00:00:02"
addresses = ["10.2.0.1/24"]
mem = {{ link = "x1" }}
"#
    );
    let cfg = Config::from_str_with(&text, Path::new("router.toml"), &Env { cpus: 2 })
        .unwrap_or_else(|e| panic!("{e}"));
    let mut r = Router::start(
        cfg,
        RunOptions {
            pin: false,
            ..RunOptions::default()
        },
    )
    .unwrap();
    let x0 = r.take_external("e0").unwrap();
    let x1 = r.take_external("e1").unwrap();
    (r, x0, x1)
}

fn send(pool: &NativePool, port: &mut MemPort<Mbuf>, frames: &[Vec<u8>]) {
    let mut b: Burst<Mbuf> = Burst::new();
    for f in frames {
        let mut p = pool.alloc().unwrap();
        p.append(f.len()).unwrap().copy_from_slice(f);
        b.push(p);
    }
    assert_eq!(Port::<NativePool>::tx_burst(port, &mut b), frames.len());
}

/// Take whatever `port` holds now.
fn drain(port: &mut MemPort<Mbuf>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut b: Burst<Mbuf> = Burst::new();
        if Port::<NativePool>::rx_burst(port, &mut b) == 0 {
            return out;
        }
        out.extend(b.iter().map(|p| p.data().to_vec()));
    }
}

/// Collect frames from `port` until `pred` holds or 3 s pass.
fn recv_until(port: &mut MemPort<Mbuf>, got: &mut Vec<Vec<u8>>, pred: impl Fn(&[Vec<u8>]) -> bool) {
    let start = Instant::now();
    while !pred(got) && start.elapsed() < Duration::from_secs(3) {
        let mut b: Burst<Mbuf> = Burst::new();
        Port::<NativePool>::rx_burst(port, &mut b);
        got.extend(b.iter().map(|p| p.data().to_vec()));
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn arp_resolves_and_held_packets_are_sent() {
    let (mut r, mut x0, mut x1) = start("[0]");
    let pool = r.pool().unwrap().clone();
    // Five packets to a host nobody has resolved yet.
    let frames: Vec<_> = (0..5)
        .map(|i| testing::udp(R0, H0, a("10.1.0.2"), a("10.2.0.2"), 64, i))
        .collect();
    send(&pool, &mut x0[0], &frames);
    let mut out = Vec::new();
    recv_until(&mut x1[0], &mut out, |g| !g.is_empty());
    assert_eq!(out.len(), 1, "one ARP request: {out:02x?}");
    let req = &out[0];
    assert_eq!(&req[..12], &[[0xff; 6], R1].concat());
    assert_eq!(&req[12..14], &[0x08, 0x06]);
    assert_eq!(&req[20..22], &[0, 1], "request");
    assert_eq!(
        &req[28..32],
        &a("10.2.0.1").octets(),
        "from the router's address"
    );
    assert_eq!(&req[38..42], &a("10.2.0.2").octets());

    // The host answers; the router sends what it held (three packets).
    let mut reply = testing::ethernet(R1, H1, 0x0806);
    reply.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    reply.extend_from_slice(&H1);
    reply.extend_from_slice(&a("10.2.0.2").octets());
    reply.extend_from_slice(&R1);
    reply.extend_from_slice(&a("10.2.0.1").octets());
    send(&pool, &mut x1[0], &[reply]);
    let mut held = Vec::new();
    recv_until(&mut x1[0], &mut held, |g| g.len() >= 3);
    assert_eq!(held.len(), 3, "three packets held, then sent");
    for (i, f) in held.iter().enumerate() {
        assert_eq!(&f[..12], &[H1, R1].concat());
        assert_eq!(f[22], 63);
        assert!(testing::ipv4_checksum_ok(&f[14..]));
        assert_eq!(f.len(), 14 + 28 + i, "in order");
    }

    // From now on the worker forwards directly.
    let frames: Vec<_> = (0..32)
        .map(|_| testing::udp(R0, H0, a("10.1.0.2"), a("10.2.0.2"), 64, 18))
        .collect();
    send(&pool, &mut x0[0], &frames);
    let mut fwd = Vec::new();
    recv_until(&mut x1[0], &mut fwd, |g| g.len() >= 32);
    assert_eq!(fwd.len(), 32);
    let s = r.stats();
    let c = &s.control;
    assert_eq!(c.arp_requests.get(), 1);
    assert_eq!(c.held.get(), 3);
    assert_eq!(c.released.get(), 3);
    assert_eq!(
        c.hold_dropped.get() + s.pipeline().dropped(pipeline::DropReason::Incomplete),
        2,
        "the other two were dropped while resolving"
    );
    r.stop();
}

#[test]
fn hosts_arp_for_the_router_is_answered() {
    let (mut r, mut x0, _x1) = start("[0]");
    let pool = r.pool().unwrap().clone();
    send(
        &pool,
        &mut x0[0],
        &[
            testing::arp_request(H0, a("10.1.0.2"), a("10.1.0.1")),
            // Not ours: no answer.
            testing::arp_request(H0, a("10.1.0.2"), a("10.1.0.77")),
        ],
    );
    let mut out = Vec::new();
    recv_until(&mut x0[0], &mut out, |g| !g.is_empty());
    std::thread::sleep(Duration::from_millis(100));
    out.extend(drain(&mut x0[0]));
    assert_eq!(out.len(), 1, "{out:02x?}");
    let rep = &out[0];
    assert_eq!(&rep[..12], &[H0, R0].concat());
    assert_eq!(&rep[20..22], &[0, 2]);
    assert_eq!(&rep[22..28], &R0);
    assert_eq!(&rep[28..32], &a("10.1.0.1").octets());
    assert_eq!(&rep[32..38], &H0);
    assert_eq!(&rep[38..42], &a("10.1.0.2").octets());
    // The router learnt the asker: traffic to it needs no ARP.
    send(
        &pool,
        &mut x0[0],
        &[testing::echo_request(
            R0,
            H0,
            a("10.1.0.2"),
            a("10.1.0.1"),
            1,
            1,
            b"hi",
        )],
    );
    let mut echo = Vec::new();
    recv_until(&mut x0[0], &mut echo, |g| !g.is_empty());
    assert_eq!(echo.len(), 1);
    assert_eq!(echo[0][34], 0, "echo reply straight away");
    r.stop();
}

#[test]
fn two_workers_each_route_their_queue() {
    let (mut r, mut x0, mut x1) = start("[0, 1]");
    assert_eq!(x0.len(), 2, "one queue per worker");
    let pool = r.pool().unwrap().clone();
    // Resolve H1 once (ARP reply to the request the first packet causes).
    send(
        &pool,
        &mut x0[0],
        &[testing::udp(R0, H0, a("10.1.0.2"), a("10.2.0.2"), 64, 1)],
    );
    let mut out = Vec::new();
    recv_until(&mut x1[0], &mut out, |g| !g.is_empty());
    recv_until(&mut x1[1], &mut out, |g| !g.is_empty());
    let mut reply = testing::ethernet(R1, H1, 0x0806);
    reply.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    reply.extend_from_slice(&H1);
    reply.extend_from_slice(&a("10.2.0.2").octets());
    reply.extend_from_slice(&R1);
    reply.extend_from_slice(&a("10.2.0.1").octets());
    send(&pool, &mut x1[1], &[reply]);
    // The held packet goes out once the reply is in.
    let mut held = Vec::new();
    recv_until(&mut x1[1], &mut held, |g| !g.is_empty());
    assert_eq!(held.len(), 1);
    std::thread::sleep(Duration::from_millis(50));
    assert!(drain(&mut x1[0]).is_empty() && drain(&mut x1[1]).is_empty());
    for q in 0..2 {
        let frames: Vec<_> = (0..20)
            .map(|_| testing::udp(R0, H0, a("10.1.0.2"), a("10.2.0.2"), 64, 10 + q))
            .collect();
        send(&pool, &mut x0[q], &frames);
        let mut got = Vec::new();
        recv_until(&mut x1[q], &mut got, |g| g.len() >= 20);
        assert_eq!(got.len(), 20, "queue {q}");
        assert!(got.iter().all(|f| f.len() == 14 + 28 + 10 + q));
    }
    let s = r.stats();
    assert!(
        s.workers.iter().all(|w| w.forwarded.get() >= 20),
        "both workers forwarded"
    );
    r.stop();
}

/// Route leaking without tunnels (the seed story's wish): a host in MAIN
/// reaches a host in BGP through a static route whose next hop is in BGP
/// (`next_hop_vrf`), and back through BGP's import of MAIN's subnet.
#[test]
fn leaked_and_imported_routes_cross_between_vrfs() {
    let text = r#"
[workers]
cores = [0]
pool_size = 4096

[[vrf]]
name = "MAIN"
table = 1

[[vrf]]
name = "BGP"
table = 2
import = [{ vrf = "MAIN", prefixes = ["10.1.0.0/24"] }]

[[interface]]
name = "e0"
vrf = "MAIN"
mac = "02:77:00:00:00:01"
addresses = ["10.1.0.1/24"]
mem = { link = "x0" }

[[interface]]
name = "e1"
vrf = "BGP"
mac = "02:77:00:00:00:02"
addresses = ["10.2.0.1/24"]
mem = { link = "x1" }

[[neighbor]]
interface = "e0"
address = "10.1.0.2"
mac = "02:00:00:00:00:0a"

[[neighbor]]
interface = "e1"
address = "10.2.0.2"
mac = "02:00:00:00:00:0b"

[[route]]
vrf = "MAIN"
prefix = "10.2.0.0/24"
via = "10.2.0.2"
next_hop_vrf = "BGP"
"#;
    let cfg = Config::from_str_with(text, Path::new("leak.toml"), &Env { cpus: 2 })
        .unwrap_or_else(|e| panic!("{e}"));
    let mut r = Router::start(
        cfg,
        RunOptions {
            pin: false,
            ..RunOptions::default()
        },
    )
    .unwrap();
    let mut x0 = r.take_external("e0").unwrap().remove(0);
    let mut x1 = r.take_external("e1").unwrap().remove(0);
    let pool = NativePool::new(64, 2048).unwrap();
    let (h0, h1) = ([2, 0, 0, 0, 0, 0x0a], [2, 0, 0, 0, 0, 0x0b]);
    let there = testing::udp(
        [2, 0x77, 0, 0, 0, 1],
        h0,
        a("10.1.0.2"),
        a("10.2.0.2"),
        64,
        20,
    );
    send(&pool, &mut x0, std::slice::from_ref(&there));
    let mut got = Vec::new();
    recv_until(&mut x1, &mut got, |g| !g.is_empty());
    assert_eq!(got.len(), 1, "MAIN -> BGP through the leaked route");
    assert_eq!(&got[0][..6], &h1);
    assert_eq!(got[0][14 + 8], 63);
    assert_eq!(&got[0][14 + 12..], &there[14 + 12..]);

    let back = testing::udp(
        [2, 0x77, 0, 0, 0, 2],
        h1,
        a("10.2.0.2"),
        a("10.1.0.2"),
        64,
        20,
    );
    send(&pool, &mut x1, std::slice::from_ref(&back));
    let mut got = Vec::new();
    recv_until(&mut x0, &mut got, |g| !g.is_empty());
    assert_eq!(got.len(), 1, "BGP -> MAIN through the imported subnet");
    assert_eq!(&got[0][..6], &h0);
    assert_eq!(&got[0][14 + 12..], &back[14 + 12..]);
    r.stop();
}
