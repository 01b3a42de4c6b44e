//! The same captures routed through the native `pcap` driver and through
//! DPDK's `net_pcap` vdevs give byte-identical output.
//!
//! A whole router (config, control thread, one worker) runs twice on the
//! same two input captures, in this one process: first with `pcap = { rx,
//! tx }` interfaces on weir's native pool, then with `dpdk = { device =
//! "net_pcap<n>,rx_pcap=...,tx_pcap=..." }` interfaces on a DPDK mempool
//! (the EAL starts once, `--no-huge --no-pci` with a file prefix of this
//! run's own; no root or hugepages needed). Same MACs, addresses, routes
//! and static neighbors, so no ARP is needed and every frame that leaves
//! comes from the worker, in input order. What each port recorded must be
//! the same frames, byte for byte, in the same order (timestamps aside);
//! the pipeline counters of the two runs must be equal, and the outputs
//! must hold what the input asked for: UDP and TCP forwarded with TTL - 1,
//! IPv4 options kept, Ethernet padding trimmed, TTL 1 answered with time
//! exceeded, echo requests to either router address answered, a bad header
//! checksum and a frame for another MAC dropped, no route and a reject
//! route answered with unreachables, a blackhole silent, a DF packet over
//! the egress MTU answered with fragmentation needed. Port counters
//! (bytes too) must match as well. A third run, on DPDK only, gives
//! net_pcap a frame larger than an mbuf: it arrives as a chain, is counted
//! as received and is dropped as `chained`.
//!
//! `net_pcap` writes its tx capture as the port closes: the router is
//! stopped once its counters have settled, which drops its ports.

#![cfg(feature = "dpdk")]

use ctrl::config::Config;
use ctrl::router::{Router, RunOptions};
use pipeline::counters::CounterValues;
use pipeline::testing;
use pmd::drivers::pcap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const R0: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x01];
const R1: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x02];
const H0: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
const H1: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
const OTHER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];

/// The MTU of p1, below 1500 so that a DF packet from p0 can be too big.
const P1_MTU: usize = 1400;

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// What the input should make the router send, counted while it is built.
#[derive(Default, Debug, PartialEq, Eq)]
struct Expect {
    /// Frames out of p0 / p1: forwarded, echo replies, ICMP errors.
    out: [usize; 2],
    /// Of which ICMP errors (time exceeded, unreachable, frag needed).
    icmp_errors: usize,
    /// Of which echo replies.
    echo_replies: usize,
}

/// Clear DF in an Ethernet + IPv4 frame.
fn without_df(mut f: Vec<u8>) -> Vec<u8> {
    f[20] &= !0x40;
    testing::refresh_ipv4_checksum(&mut f);
    f
}

/// The two inputs: p0's from H0 (10.1.0.2), p1's from H1 (10.2.0.2), every
/// behaviour mixed into several bursts of ordinary traffic of all sizes.
fn inputs() -> ([Vec<Vec<u8>>; 2], Expect) {
    let mut e = Expect::default();
    let (h0, h1) = (a("10.1.0.2"), a("10.2.0.2"));
    let mut p0 = Vec::new();
    for i in 0..320usize {
        // Ordinary UDP to p1's side, 60..=1414-byte frames (fits p1's MTU),
        // TTL 2..=255.
        let dst = if i % 2 == 0 {
            h1
        } else {
            Ipv4Addr::new(10, 9, (i / 2) as u8, 1 + (i % 200) as u8)
        };
        let payload = (i * 37) % (P1_MTU - 28 + 1);
        let ttl = 2 + (i * 7 % 254) as u8;
        p0.push(testing::udp(R0, H0, h0, dst, ttl, payload));
        e.out[1] += 1;
        match i % 20 {
            0 => {
                // TTL 1: time exceeded back out p0.
                p0.push(testing::udp(R0, H0, h0, h1, 1, i % 300));
                e.out[0] += 1;
                e.icmp_errors += 1;
            }
            1 => {
                // Echo to the router's p0 address, data up to 1400 bytes.
                let data: Vec<u8> = (0..(i * 13) % 1401).map(|k| k as u8 ^ 0x5a).collect();
                let seq = i as u16;
                p0.push(testing::echo_request(
                    R0,
                    H0,
                    h0,
                    a("10.1.0.1"),
                    0x77,
                    seq,
                    &data,
                ));
                e.out[0] += 1;
                e.echo_replies += 1;
            }
            2 => {
                // Echo to the router's other address (p1's), through p0.
                p0.push(testing::echo_request(
                    R0,
                    H0,
                    h0,
                    a("10.2.0.1"),
                    0x78,
                    i as u16,
                    b"other side",
                ));
                e.out[0] += 1;
                e.echo_replies += 1;
            }
            3 => {
                // Bad header checksum: dropped.
                let mut f = testing::udp(R0, H0, h0, h1, 64, 18);
                f[24] ^= 0x55;
                p0.push(f);
            }
            4 => {
                // No route: net unreachable out p0.
                p0.push(testing::udp(R0, H0, h0, a("192.0.2.1"), 64, 18));
                e.out[0] += 1;
                e.icmp_errors += 1;
            }
            5 => {
                // IPv4 options (record route, empty): forwarded.
                p0.push(testing::with_ipv4_options(
                    &testing::udp(R0, H0, h0, a("10.9.1.1"), 64, i % 100),
                    &[7, 7, 4, 0, 0, 0, 0, 0],
                ));
                e.out[1] += 1;
            }
            6 => {
                // TCP SYN with options: forwarded.
                p0.push(testing::tcp_syn(R0, H0, h0, h1));
                e.out[1] += 1;
            }
            7 => {
                // Ethernet padding after a short packet: forwarded, trimmed.
                let mut f = testing::udp(R0, H0, h0, h1, 64, 2);
                f.extend_from_slice(&[0xee; 16]);
                p0.push(f);
                e.out[1] += 1;
            }
            8 => {
                // For another MAC: dropped.
                p0.push(testing::udp(OTHER, H0, h0, h1, 64, 18));
            }
            9 if i < 200 => {
                // DF and over p1's MTU: fragmentation needed out p0.
                p0.push(testing::udp(R0, H0, h0, h1, 64, 1472));
                e.out[0] += 1;
                e.icmp_errors += 1;
            }
            10 if i < 100 => {
                // TTL 1 with options: time exceeded quoting them.
                p0.push(testing::with_ipv4_options(
                    &testing::udp(R0, H0, h0, h1, 1, 40),
                    &[7, 7, 4, 0, 0, 0, 0, 0],
                ));
                e.out[0] += 1;
                e.icmp_errors += 1;
            }
            _ => {}
        }
    }
    let mut p1 = Vec::new();
    for i in 0..200usize {
        // Ordinary UDP to p0's side, full-sized frames too.
        let dst = if i % 2 == 0 {
            h0
        } else {
            Ipv4Addr::new(172, 16, (i / 2) as u8, 2)
        };
        let payload = (i * 53) % (1500 - 28 + 1);
        p1.push(without_df(testing::udp(R1, H1, h1, dst, 64, payload)));
        e.out[0] += 1;
        match i % 16 {
            0 => {
                p1.push(testing::udp(R1, H1, h1, h0, 1, 100));
                e.out[1] += 1;
                e.icmp_errors += 1;
            }
            1 => {
                p1.push(testing::echo_request(
                    R1,
                    H1,
                    h1,
                    a("10.2.0.1"),
                    0x99,
                    i as u16,
                    &[0xab; 56],
                ));
                e.out[1] += 1;
                e.echo_replies += 1;
            }
            2 => {
                // Reject route: host unreachable out p1.
                p1.push(testing::udp(R1, H1, h1, a("10.66.0.1"), 64, 18));
                e.out[1] += 1;
                e.icmp_errors += 1;
            }
            3 => {
                // Blackhole: silently dropped.
                p1.push(testing::udp(R1, H1, h1, a("10.67.0.1"), 64, 18));
            }
            _ => {}
        }
    }
    ([p0, p1], e)
}

/// The router's config: `p0` and `p1` with `driver(port)` as their driver
/// table.
fn config(dpdk: Option<&str>, driver: impl Fn(usize) -> String) -> String {
    let eal = match dpdk {
        Some(prefix) => format!(
            "[dpdk]\nno_huge = true\nmemory_mb = 256\nfile_prefix = \"{prefix}\"\n\
             args = [\"--no-pci\"]\n"
        ),
        None => String::new(),
    };
    format!(
        r#"
[workers]
cores = [0]
pool_size = 4096

{eal}
[[interface]]
name = "p0"
mac = "02:77:00:00:00:01"
addresses = ["10.1.0.1/24"]
{d0}

[[interface]]
name = "p1"
mac = "02:77:00:00:00:02"
addresses = ["10.2.0.1/24"]
mtu = {P1_MTU}
{d1}

[[neighbor]]
interface = "p0"
address = "10.1.0.2"
mac = "02:00:00:00:00:a0"

[[neighbor]]
interface = "p1"
address = "10.2.0.2"
mac = "02:00:00:00:00:a1"

[[route]]
prefix = "10.9.0.0/16"
via = "10.2.0.2"

[[route]]
prefix = "172.16.0.0/16"
via = "10.1.0.2"

[[route]]
prefix = "10.66.0.0/16"
action = "reject"

[[route]]
prefix = "10.67.0.0/16"
action = "blackhole"
"#,
        d0 = driver(0),
        d1 = driver(1),
    )
}

/// Write `inputs` as captures `<name>0.pcap` and `<name>1.pcap` in `dir`.
fn write_inputs(dir: &Path, name: &str, inputs: &[Vec<Vec<u8>>; 2]) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = (0..2)
        .map(|p| dir.join(format!("{name}{p}.pcap")))
        .collect();
    for (path, frames) in paths.iter().zip(inputs) {
        let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        pcap::write_pcap(path, &refs).unwrap();
    }
    paths
}

/// The router's config on DPDK: `net_pcap<first + p>` vdevs reading
/// `inputs[p]` and writing `p<p>.pcap`, with this process's EAL prefix.
fn net_pcap_config(pid: u32, first: usize, inputs: &[PathBuf]) -> String {
    config(Some(&format!("weir-dpdk-pcap-{pid}")), |p| {
        format!(
            "dpdk = {{ device = \"net_pcap{},rx_pcap={},tx_pcap=p{p}.pcap\" }}",
            first + p,
            inputs[p].display()
        )
    })
}

/// What one run of a router gave.
struct Run {
    /// Frames each port recorded.
    out: [Vec<Vec<u8>>; 2],
    /// Pipeline counters once settled.
    pipeline: CounterValues,
    /// Per port: rx packets, rx bytes, rx errors, tx packets, tx dropped.
    ports: Vec<(u64, u64, u64, u64, u64)>,
    /// From start until the router had handled everything.
    settled_in: Duration,
}

/// Start a router on the config in `dir`/router.toml, wait until it has
/// read both inputs and nothing has moved for 300 ms, stop it (which
/// closes its ports, so net_pcap writes its captures) and read what p0
/// and p1 recorded.
fn run(dir: &Path, config: &str, inputs: &[Vec<Vec<u8>>; 2]) -> Run {
    std::fs::create_dir_all(dir).unwrap();
    let cfg_path = dir.join("router.toml");
    std::fs::write(&cfg_path, config).unwrap();
    let cfg = Config::load(&cfg_path).unwrap_or_else(|e| panic!("{e}"));
    let mut router = Router::start(
        cfg,
        RunOptions {
            pin: false,
            ..RunOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("starting the router of {}: {e:#}", cfg_path.display()));
    let start = Instant::now();
    let mut last = None;
    let mut still_since = Instant::now();
    let mut settled_in = None;
    while start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
        let s = router.stats();
        let ports: Vec<_> = s.ports().iter().map(|p| p.counters()).collect();
        let all_read = ports
            .iter()
            .zip(inputs)
            .all(|(c, i)| c.rx_packets + c.rx_errors >= i.len() as u64);
        let now = (
            ports
                .iter()
                .map(|c| (c.rx_packets, c.tx_packets, c.tx_dropped))
                .collect::<Vec<_>>(),
            s.pipeline(),
        );
        if last.as_ref() != Some(&now) {
            last = Some(now);
            still_since = Instant::now();
            if all_read {
                settled_in = Some(start.elapsed());
            }
        } else if all_read && still_since.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    let s = router.stats();
    let pipeline = s.pipeline();
    let ports = s
        .ports()
        .iter()
        .map(|p| {
            let c = p.counters();
            (
                c.rx_packets,
                c.rx_bytes,
                c.rx_errors,
                c.tx_packets,
                c.tx_dropped,
            )
        })
        .collect();
    router.stop();
    drop(router);
    let read = |f: &str| -> Vec<Vec<u8>> {
        pcap::read_pcap_file(dir.join(f))
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(f).display()))
            .into_iter()
            .map(|r| r.data)
            .collect()
    };
    Run {
        out: [read("p0.pcap"), read("p1.pcap")],
        pipeline,
        ports,
        settled_in: settled_in.unwrap_or_else(|| start.elapsed()),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The frames of one port are the same, in the same order.
fn assert_same(port: &str, native: &[Vec<u8>], dpdk: &[Vec<u8>]) {
    if let Some(i) = native.iter().zip(dpdk).position(|(n, d)| n != d) {
        panic!(
            "{port}: frame {i} differs\n  pcap:     {}\n  net_pcap: {}",
            hex(&native[i]),
            hex(&dpdk[i])
        );
    }
    assert_eq!(
        native.len(),
        dpdk.len(),
        "{port}: the pcap driver recorded {} frames, net_pcap {}",
        native.len(),
        dpdk.len()
    );
}

/// ICMP type and code of an untagged IPv4 ICMP frame.
fn icmp_kind(f: &[u8]) -> Option<(u8, u8)> {
    if f.len() < 36 || f[12..14] != [0x08, 0x00] || f[23] != 1 {
        return None;
    }
    let hl = usize::from(f[14] & 0x0f) * 4;
    Some((*f.get(14 + hl)?, *f.get(15 + hl)?))
}

#[test]
fn pcap_and_net_pcap_give_identical_output() {
    let started = Instant::now();
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("weir-dpdk-pcap-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (inputs, expect) = inputs();
    let input_paths = write_inputs(&dir, "in", &inputs);

    // weir's own pcap driver, on the native pool.
    let native = run(
        &dir.join("native"),
        &config(None, |p| {
            format!(
                "pcap = {{ rx = \"{}\", tx = \"p{p}.pcap\", deterministic = true }}",
                input_paths[p].display()
            )
        }),
        &inputs,
    );
    // DPDK's net_pcap, on a DPDK mempool.
    let dpdk = run(
        &dir.join("dpdk"),
        &net_pcap_config(pid, 0, &input_paths),
        &inputs,
    );
    // A frame larger than an mbuf's data room arrives from net_pcap as a
    // chain: received and counted, then dropped by the pipeline, which
    // handles single buffers only; the frames around it go through.
    let big = {
        let mut f = testing::udp(R0, H0, a("10.1.0.2"), a("10.2.0.2"), 64, 1472);
        f.resize(3000, 0);
        f
    };
    let chain_inputs = [
        vec![
            testing::udp(R0, H0, a("10.1.0.2"), a("10.2.0.2"), 64, 100),
            big,
            testing::udp(R0, H0, a("10.1.0.2"), a("10.2.0.2"), 64, 200),
        ],
        vec![testing::udp(R1, H1, a("10.2.0.2"), a("10.1.0.2"), 64, 10)],
    ];
    let chain_paths = write_inputs(&dir, "chain", &chain_inputs);
    let chain = run(
        &dir.join("chain"),
        &net_pcap_config(pid, 2, &chain_paths),
        &chain_inputs,
    );
    assert_eq!(
        chain.pipeline.drops[pipeline::counters::DropReason::Chained as usize],
        1,
        "the 3000-byte frame is dropped as a chain"
    );
    assert_eq!(
        chain.ports[0],
        (3, 100 + 14 + 28 + 3000 + 200 + 14 + 28, 0, 1, 0),
        "p0: rx, rx bytes, rx errors, tx, tx dropped"
    );
    assert_eq!(
        (chain.out[0].len(), chain.out[1].len()),
        (1, 2),
        "frames out of p0 and p1"
    );

    // Every port, pool and the EAL itself can go: the router left nothing
    // of DPDK behind.
    pmd::drivers::dpdk::eal_cleanup().expect("EAL cleanup after the router stopped");

    for (p, name) in ["p0", "p1"].iter().enumerate() {
        assert_same(name, &native.out[p], &dpdk.out[p]);
    }
    assert_eq!(
        native.pipeline, dpdk.pipeline,
        "pipeline counters, pcap vs net_pcap"
    );
    assert_eq!(native.ports, dpdk.ports, "port counters, pcap vs net_pcap");

    // And the output is what the input asked for.
    for (p, ports) in native.ports.iter().enumerate() {
        let bytes = inputs[p].iter().map(|f| f.len() as u64).sum::<u64>();
        assert_eq!(
            *ports,
            (inputs[p].len() as u64, bytes, 0, expect.out[p] as u64, 0),
            "p{p}: rx, rx bytes, rx errors, tx, tx dropped"
        );
    }
    let got = Expect {
        out: [native.out[0].len(), native.out[1].len()],
        icmp_errors: native
            .out
            .iter()
            .flatten()
            .filter(|f| matches!(icmp_kind(f), Some((3 | 11, _))))
            .count(),
        echo_replies: native
            .out
            .iter()
            .flatten()
            .filter(|f| icmp_kind(f) == Some((0, 0)))
            .count(),
    };
    assert_eq!(got, expect, "frames out of p0 and p1");
    assert_eq!(native.pipeline.icmp_errors, expect.icmp_errors as u64);
    assert_eq!(native.pipeline.icmp_ratelimited, 0);
    for (p, (out, (dst, src))) in native.out.iter().zip([(H0, R0), (H1, R1)]).enumerate() {
        for (i, f) in out.iter().enumerate() {
            assert_eq!(&f[..12], &[dst, src].concat(), "p{p} frame {i}: MACs");
            assert!(
                testing::ipv4_checksum_ok(&f[14..]),
                "p{p} frame {i}: IPv4 header checksum"
            );
            let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
            assert_eq!(f.len(), 14 + total, "p{p} frame {i}: no padding");
        }
    }
    let kinds: Vec<(u8, u8)> = native.out[0].iter().filter_map(|f| icmp_kind(f)).collect();
    for k in [(11, 0), (3, 0), (3, 4), (0, 0)] {
        assert!(kinds.contains(&k), "p0 sent no ICMP {k:?}: {kinds:?}");
    }
    let kinds: Vec<(u8, u8)> = native.out[1].iter().filter_map(|f| icmp_kind(f)).collect();
    for k in [(11, 0), (3, 1), (0, 0)] {
        assert!(kinds.contains(&k), "p1 sent no ICMP {k:?}: {kinds:?}");
    }

    eprintln!(
        "dpdk_pcap: {} + {} frames in, {} + {} out, identical through pcap and net_pcap \
         (settled in {:.2} s and {:.2} s; {:.1} s in all)",
        inputs[0].len(),
        inputs[1].len(),
        native.out[0].len(),
        native.out[1].len(),
        native.settled_in.as_secs_f64(),
        dpdk.settled_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
