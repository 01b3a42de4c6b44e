//! The `gen` and `pcap` drivers end to end: generator → mem link → sink,
//! generated frame contents, rate and count, ARP replies, and pcap files
//! written, read, replayed and rejected.

use pmd::drivers::gen::{self, GenConfig, GenPort, GenSnapshot, IpRange, PortRange, Stamp};
use pmd::drivers::mem::{self, MemPort};
use pmd::drivers::pcap::{self, PcapConfig, PcapError, PcapFormatError, PcapPort, Repeat};
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port, BURST, META_VLAN};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

type P = NativePool;

fn pool() -> P {
    NativePool::new(4096, 2048).unwrap()
}

fn rx(p: &mut impl Port<P>, out: &mut Burst<Mbuf>) -> usize {
    p.rx_burst(out)
}

fn tx(p: &mut impl Port<P>, pkts: &mut Burst<Mbuf>) -> usize {
    p.tx_burst(pkts)
}

/// A file in the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        TempFile(std::env::temp_dir().join(format!("weir-gen-pcap-{}-{name}", std::process::id())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A generator and a sink port joined by a mem link, and a hook that may
/// tamper with each burst on the link.
struct Rig {
    src: GenPort<P>,
    src_stats: std::sync::Arc<gen::GenStats>,
    sink: GenPort<P>,
    sink_stats: std::sync::Arc<gen::GenStats>,
    link_a: MemPort<Mbuf>,
    link_b: MemPort<Mbuf>,
}

impl Rig {
    fn new(cfg: &GenConfig) -> Self {
        let pool = pool();
        let (mut g, src_stats) = gen::open(cfg, 1, pool.clone()).unwrap();
        let sink_cfg = GenConfig {
            count: Some(0),
            stream: 100,
            ..GenConfig::default()
        };
        let (mut s, sink_stats) = gen::open(&sink_cfg, 1, pool).unwrap();
        let (mut a, mut b) = mem::link(1, 1024);
        Rig {
            src: g.remove(0),
            src_stats,
            sink: s.remove(0),
            sink_stats,
            link_a: a.remove(0),
            link_b: b.remove(0),
        }
    }

    /// Move everything the generator makes through the link into the
    /// sink, letting `tamper` rewrite each burst in flight.
    fn run(&mut self, mut tamper: impl FnMut(&mut Burst<Mbuf>)) {
        let mut burst = Burst::new();
        loop {
            let n = rx(&mut self.src, &mut burst);
            tx(&mut self.link_a, &mut burst);
            rx(&mut self.link_b, &mut burst);
            if burst.is_empty() && n == 0 {
                break;
            }
            tamper(&mut burst);
            tx(&mut self.sink, &mut burst);
        }
    }

    fn snapshots(&self) -> (GenSnapshot, GenSnapshot) {
        (self.src_stats.snapshot(), self.sink_stats.snapshot())
    }
}

fn seq_of(b: &Mbuf) -> u64 {
    Stamp::parse_frame(b.data()).unwrap().seq
}

#[test]
fn gen_through_a_link_to_a_sink_loses_nothing() {
    let cfg = GenConfig {
        count: Some(1000),
        stream: 7,
        ..GenConfig::default()
    };
    let mut rig = Rig::new(&cfg);
    rig.run(|_| {});
    let (s, k) = rig.snapshots();
    assert_eq!(s.generated, 1000);
    assert_eq!(s.generated_bytes, 60_000);
    assert_eq!(s.stream(7).unwrap().sent, 1000);
    assert_eq!(k.sink_packets, 1000);
    assert_eq!(k.sink_bytes, 60_000);
    assert_eq!(k.sink_other, 0);
    assert_eq!((k.sink_lost, k.sink_reordered, k.sink_duplicate), (0, 0, 0));
    assert_eq!(k.stream(7).unwrap().received, 1000);
    assert_eq!(s.lost_to(&[&k]), 0);
    assert_eq!(k.latency.count, 1000);
    assert!(k.latency.min_cycles <= k.latency.max_cycles);
    assert!(k.latency.quantile_ns(0.5) <= k.latency.max_ns());
    assert_eq!(Port::<P>::stats(&rig.src).rx_packets.get(), 1000);
    assert_eq!(Port::<P>::stats(&rig.src).rx_bytes.get(), 60_000);
    assert_eq!(Port::<P>::stats(&rig.sink).tx_packets.get(), 1000);
    assert_eq!(
        Port::<P>::stats(&rig.sink).rx_packets.get(),
        0,
        "a pure sink"
    );
}

#[test]
fn one_packet_dropped_in_flight_is_one_lost() {
    let mut rig = Rig::new(&GenConfig {
        count: Some(500),
        ..GenConfig::default()
    });
    rig.run(|b| {
        if let Some(i) = b.iter().position(|p| seq_of(p) == 250) {
            b.remove(i);
        }
    });
    let (s, k) = rig.snapshots();
    assert_eq!(k.sink_packets, 499);
    assert_eq!(k.sink_lost, 1);
    assert_eq!(k.sink_reordered, 0);
    assert_eq!(s.lost_to(&[&k]), 1);
}

#[test]
fn tail_loss_is_seen_by_comparing_sent_and_received() {
    let mut rig = Rig::new(&GenConfig {
        count: Some(100),
        ..GenConfig::default()
    });
    rig.run(|b| b.retain(|p| seq_of(p) < 90));
    let (s, k) = rig.snapshots();
    assert_eq!(k.sink_lost, 0, "the sink cannot see a lost tail");
    assert_eq!(s.lost_to(&[&k]), 10);
}

#[test]
fn swapped_packets_are_reordered_not_lost() {
    let mut rig = Rig::new(&GenConfig {
        count: Some(300),
        ..GenConfig::default()
    });
    rig.run(|b| {
        if let Some(i) = b.iter().position(|p| seq_of(p) == 100) {
            b.swap(i, i + 1);
        }
    });
    let (s, k) = rig.snapshots();
    assert_eq!(k.sink_packets, 300);
    assert_eq!(k.sink_reordered, 1);
    assert_eq!(k.sink_lost, 0);
    assert_eq!(k.sink_duplicate, 0);
    assert_eq!(s.lost_to(&[&k]), 0);
}

#[test]
fn duplicates_are_counted() {
    let pool = pool();
    let mut rig = Rig::new(&GenConfig {
        count: Some(50),
        ..GenConfig::default()
    });
    rig.run(|b| {
        // Bursts of 32 and 18: the second has room for a copy.
        if let Some(p) = b.iter().find(|p| seq_of(p) == 40) {
            let mut copy = pool.alloc().unwrap();
            copy.set_len(p.len()).unwrap().copy_from_slice(p.data());
            b.push(copy);
        }
    });
    let (_, k) = rig.snapshots();
    assert_eq!(k.sink_packets, 51);
    assert_eq!(k.sink_duplicate, 1);
    assert_eq!((k.sink_lost, k.sink_reordered), (0, 0));
}

/// The one's-complement sum of 16-bit words.
fn ones_sum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[test]
fn generated_frames_are_valid_and_cycle_through_all_flows() {
    let cfg = GenConfig {
        src_mac: [2, 0, 0, 0, 0x10, 0xfe],
        dst_mac: [2, 0, 0, 0, 0, 1],
        src_ip: IpRange::new(Ipv4Addr::new(10, 0, 0, 1), 2),
        dst_ip: IpRange::new(Ipv4Addr::new(192, 168, 1, 254), 3),
        src_port: PortRange::new(5000, 2),
        dst_port: PortRange::new(65534, 2),
        frame_size: 128,
        count: Some(48),
        stream: 3,
        dont_fragment: true,
        ..GenConfig::default()
    };
    let (mut ports, _) = gen::open(&cfg, 1, pool()).unwrap();
    let mut frames = Vec::new();
    let mut burst = Burst::new();
    while rx(&mut ports[0], &mut burst) > 0 {
        frames.extend(burst.drain(..).map(|b| {
            assert_eq!(b.meta().flags & META_VLAN, 0);
            b.data().to_vec()
        }));
    }
    assert_eq!(frames.len(), 48);
    let mut flows = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.len(), 124, "128-byte frame without FCS");
        assert_eq!(&f[0..6], &cfg.dst_mac);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        let ip = &f[14..34];
        assert_eq!(ip[0], 0x45);
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 110);
        assert_eq!(&ip[6..8], &[0x40, 0], "DF");
        assert_eq!(ip[8], 64);
        assert_eq!(ip[9], 17);
        assert_eq!(ones_sum(ip), 0xffff, "IPv4 header checksum of frame {i}");
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        assert_eq!(&f[6..12], &cfg.host_mac(src).unwrap(), "host MAC");
        let udp = &f[34..42];
        let sport = u16::from_be_bytes([udp[0], udp[1]]);
        let dport = u16::from_be_bytes([udp[2], udp[3]]);
        assert_eq!(u16::from_be_bytes([udp[4], udp[5]]), 90);
        assert_eq!(&udp[6..8], &[0, 0], "no UDP checksum");
        let st = Stamp::parse_frame(f).unwrap();
        assert_eq!((st.stream, st.seq), (3, i as u64));
        assert!(f[60..].iter().all(|&b| b == 0));
        flows.push((src, dst, sport, dport));
    }
    assert_eq!(
        flows[..24].iter().collect::<HashSet<_>>().len(),
        24,
        "all combinations"
    );
    assert_eq!(flows[..24], flows[24..], "then again");
    assert_eq!(
        flows[1].1,
        Ipv4Addr::new(192, 168, 1, 255),
        "dst varies fastest"
    );
    assert_eq!(flows[2].1, Ipv4Addr::new(192, 168, 2, 0));
    assert_eq!(flows[3].0, Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(cfg.host_mac(flows[3].0), Some([2, 0, 0, 0, 0x10, 0xff]));
    assert_eq!(
        (flows[5].3, flows[6].3),
        (65534, 65535),
        "then the destination port"
    );
    assert_eq!(
        (flows[11].2, flows[12].2),
        (5000, 5001),
        "the source port slowest"
    );
}

#[test]
fn vlan_goes_in_the_metadata() {
    let cfg = GenConfig {
        vlan: Some(100),
        count: Some(5),
        ..GenConfig::default()
    };
    let (mut ports, _) = gen::open(&cfg, 1, pool()).unwrap();
    let mut burst = Burst::new();
    assert_eq!(rx(&mut ports[0], &mut burst), 5);
    for b in &burst {
        assert_eq!(b.meta().vlan_id(), Some(100));
        assert_eq!(&b.data()[12..14], &[0x08, 0x00], "untagged data");
    }
}

#[test]
fn count_stops_generation_across_queues() {
    let cfg = GenConfig {
        count: Some(100),
        ..GenConfig::default()
    };
    let (mut ports, stats) = gen::open(&cfg, 3, pool()).unwrap();
    let mut total = 0;
    let mut burst = Burst::new();
    for _ in 0..20 {
        for p in ports.iter_mut() {
            total += rx(p, &mut burst);
            burst.clear();
        }
    }
    assert_eq!(total, 100);
    let s = stats.snapshot();
    assert_eq!(s.generated, 100);
    let sent: Vec<_> = s.streams.iter().map(|st| (st.id, st.sent)).collect();
    assert_eq!(sent, [(0, 34), (1, 33), (2, 33)]);
}

#[test]
fn rate_limit_is_roughly_respected() {
    let cfg = GenConfig {
        rate_pps: Some(100_000),
        ..GenConfig::default()
    };
    let (mut ports, stats) = gen::open(&cfg, 2, pool()).unwrap();
    let mut burst = Burst::new();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_millis(200) {
        for p in ports.iter_mut() {
            n += rx(p, &mut burst);
            burst.clear();
        }
    }
    // A functional check, not a benchmark: far below the rate when the
    // machine is loaded (the bucket holds only ~100 µs), never far above.
    let expected = 100_000.0 * t.elapsed().as_secs_f64();
    let ratio = n as f64 / expected;
    assert!(
        (0.2..1.5).contains(&ratio),
        "{n} packets, {expected} expected"
    );
    assert_eq!(stats.snapshot().generated, n as u64);
}

/// An ARP request from the router (02:00:00:00:00:01, 10.0.0.254) for
/// `target`.
fn arp_request(target: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 10, 0, 0, 254]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f.resize(60, 0);
    f
}

#[test]
fn answers_arp_for_its_hosts() {
    let pool = pool();
    let cfg = GenConfig {
        src_mac: [2, 0, 0, 0, 0x20, 0],
        src_ip: IpRange::new(Ipv4Addr::new(10, 0, 0, 10), 4),
        count: Some(0),
        ..GenConfig::default()
    };
    let (mut ports, stats) = gen::open(&cfg, 1, pool.clone()).unwrap();
    let port = &mut ports[0];
    let mut burst = Burst::new();
    for (target, vlan) in [
        (Ipv4Addr::new(10, 0, 0, 12), None),
        (Ipv4Addr::new(10, 0, 0, 14), None), // not ours
        (Ipv4Addr::new(10, 0, 0, 13), Some(7)),
    ] {
        let mut b = pool.alloc().unwrap();
        b.set_len(60).unwrap().copy_from_slice(&arp_request(target));
        if let Some(v) = vlan {
            b.meta_mut().flags |= META_VLAN;
            b.meta_mut().vlan = v;
        }
        burst.push(b);
    }
    assert_eq!(tx(port, &mut burst), 3);
    assert_eq!(rx(port, &mut burst), 2);
    let r = burst[0].data();
    assert_eq!(r.len(), 60);
    assert_eq!(&r[0..6], &[2, 0, 0, 0, 0, 1], "to the requester");
    assert_eq!(&r[6..12], &[2, 0, 0, 0, 0x20, 2], "from host 2's MAC");
    assert_eq!(&r[12..14], &[0x08, 0x06]);
    assert_eq!(
        &r[14..22],
        &[0, 1, 0x08, 0x00, 6, 4, 0, 2],
        "an Ethernet/IPv4 reply"
    );
    assert_eq!(&r[22..28], &[2, 0, 0, 0, 0x20, 2], "sender MAC");
    assert_eq!(&r[28..32], &[10, 0, 0, 12], "sender IP");
    assert_eq!(&r[32..38], &[2, 0, 0, 0, 0, 1], "target MAC");
    assert_eq!(&r[38..42], &[10, 0, 0, 254], "target IP");
    assert_eq!(burst[0].meta().vlan_id(), None);
    assert_eq!(&burst[1].data()[28..32], &[10, 0, 0, 13]);
    assert_eq!(
        burst[1].meta().vlan_id(),
        Some(7),
        "replies on the request's VLAN"
    );
    burst.clear();
    assert_eq!(rx(port, &mut burst), 0, "answered once");
    let s = stats.snapshot();
    assert_eq!((s.arp_requests, s.arp_replies, s.arp_dropped), (2, 2, 0));
    assert_eq!((s.sink_other, s.sink_packets, s.generated), (3, 0, 0));
    assert_eq!(Port::<P>::stats(port).rx_packets.get(), 2);

    let quiet = GenConfig {
        arp_reply: false,
        ..cfg
    };
    let (mut ports, _) = gen::open(&quiet, 1, pool.clone()).unwrap();
    let mut b = pool.alloc().unwrap();
    b.set_len(60)
        .unwrap()
        .copy_from_slice(&arp_request(Ipv4Addr::new(10, 0, 0, 12)));
    burst.push(b);
    tx(&mut ports[0], &mut burst);
    assert_eq!(rx(&mut ports[0], &mut burst), 0, "ARP replies disabled");
}

fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| (0..60 + i).map(|j| (i * 7 + j) as u8).collect())
        .collect()
}

#[test]
fn pcap_written_by_a_port_reads_back_identical() {
    let pool = pool();
    let out = TempFile::new("roundtrip.pcap");
    let cfg = PcapConfig {
        tx: Some(out.0.clone()),
        deterministic: true,
        ..PcapConfig::default()
    };
    let mut ports = pcap::open(&cfg, 2, pool.clone()).unwrap();
    let want = frames(5);
    let mut burst = Burst::new();
    for (i, f) in want.iter().enumerate() {
        let mut b = pool.alloc().unwrap();
        b.set_len(f.len()).unwrap().copy_from_slice(f);
        burst.push(b);
        if i == 2 {
            assert_eq!(tx(&mut ports[0], &mut burst), 3);
        }
    }
    assert_eq!(tx(&mut ports[1], &mut burst), 2, "queues share the file");
    for p in ports.iter_mut() {
        p.finish().unwrap();
    }
    assert_eq!(Port::<P>::stats(&ports[0]).tx_packets.get(), 3);
    drop(ports);
    let got = pcap::read_pcap_file(&out.0).unwrap();
    assert_eq!(got.len(), 5);
    for (i, (r, f)) in got.iter().zip(&want).enumerate() {
        assert_eq!(&r.data, f);
        assert_eq!(r.orig_len as usize, f.len());
        assert_eq!((r.ts_sec, r.ts_nsec), (0, i as u32 * 1000));
    }
    // The helper writes the same bytes.
    let again = TempFile::new("roundtrip2.pcap");
    let refs: Vec<&[u8]> = want.iter().map(Vec::as_slice).collect();
    pcap::write_pcap(&again.0, &refs).unwrap();
    assert_eq!(
        std::fs::read(&again.0).unwrap(),
        std::fs::read(&out.0).unwrap()
    );
}

#[test]
fn pcap_with_system_timestamps() {
    let pool = pool();
    let out = TempFile::new("clock.pcap");
    let cfg = PcapConfig {
        tx: Some(out.0.clone()),
        ..PcapConfig::default()
    };
    let mut ports = pcap::open(&cfg, 1, pool.clone()).unwrap();
    let mut burst = Burst::new();
    let mut b = pool.alloc().unwrap();
    b.set_len(60).unwrap();
    burst.push(b);
    tx(&mut ports[0], &mut burst);
    drop(ports); // flushes
    let got = pcap::read_pcap_file(&out.0).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(u64::from(got[0].ts_sec)) < 60);
}

/// A capture crafted by hand in either byte order and resolution.
fn crafted(big_endian: bool, nanos: bool, frames: &[Vec<u8>]) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut f = Vec::new();
    f.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    f.extend_from_slice(&u16b(2));
    f.extend_from_slice(&u16b(4));
    f.extend_from_slice(&u32b(0));
    f.extend_from_slice(&u32b(0));
    f.extend_from_slice(&u32b(65535));
    f.extend_from_slice(&u32b(1));
    for (i, d) in frames.iter().enumerate() {
        f.extend_from_slice(&u32b(1_700_000_000 + i as u32));
        f.extend_from_slice(&u32b(if nanos { 123_456_789 } else { 123_456 }));
        f.extend_from_slice(&u32b(d.len() as u32));
        f.extend_from_slice(&u32b(d.len() as u32 + 4));
        f.extend_from_slice(d);
    }
    f
}

#[test]
fn pcap_reads_both_byte_orders_and_resolutions() {
    let want = frames(3);
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let file = crafted(big_endian, nanos, &want);
            let got = pcap::read_pcap(&file).unwrap();
            assert_eq!(got.len(), 3);
            for (i, (r, f)) in got.iter().zip(&want).enumerate() {
                assert_eq!(&r.data, f, "be={big_endian} ns={nanos}");
                assert_eq!(r.ts_sec, 1_700_000_000 + i as u32);
                assert_eq!(r.ts_nsec, if nanos { 123_456_789 } else { 123_456_000 });
                assert_eq!(r.orig_len as usize, f.len() + 4);
            }
            let it = pcap::records(&file).unwrap();
            assert_eq!((it.big_endian(), it.nanos()), (big_endian, nanos));
        }
    }
}

#[test]
fn pcap_replays_n_times_then_stops() {
    let pool = pool();
    let input = TempFile::new("loop.pcap");
    let want = frames(3);
    std::fs::write(&input.0, crafted(true, false, &want)).unwrap();
    for (repeat, passes) in [
        (Repeat::Once, 1),
        (Repeat::Times(4), 4),
        (Repeat::Times(0), 0),
    ] {
        let cfg = PcapConfig {
            rx: Some(input.0.clone()),
            repeat,
            ..PcapConfig::default()
        };
        let mut ports = pcap::open(&cfg, 2, pool.clone()).unwrap();
        let mut got = Vec::new();
        let mut burst = Burst::new();
        for _ in 0..10 {
            rx(&mut ports[0], &mut burst);
            got.extend(burst.drain(..).map(|b| b.data().to_vec()));
            assert_eq!(rx(&mut ports[1], &mut burst), 0, "only queue 0 replays");
        }
        assert_eq!(got.len(), 3 * passes);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g, &want[i % 3]);
        }
        assert!(ports[0].rx_done());
        assert_eq!(
            Port::<P>::stats(&ports[0]).rx_packets.get(),
            3 * passes as u64
        );
    }
    let cfg = PcapConfig {
        rx: Some(input.0.clone()),
        repeat: Repeat::Forever,
        ..PcapConfig::default()
    };
    let mut ports = pcap::open(&cfg, 1, pool.clone()).unwrap();
    let mut burst = Burst::new();
    let mut n = 0;
    for _ in 0..100 {
        n += rx(&mut ports[0], &mut burst);
        burst.clear();
    }
    assert_eq!(n, 100 * BURST, "full bursts forever");
    assert!(!ports[0].rx_done());
}

#[test]
fn pcap_skips_frames_too_big_for_the_pool() {
    let small = NativePool::new(64, 128).unwrap();
    let input = TempFile::new("big.pcap");
    let want = [vec![1u8; 100], vec![2u8; 129], vec![3u8; 60]];
    std::fs::write(&input.0, crafted(false, false, &want)).unwrap();
    let cfg = PcapConfig {
        rx: Some(input.0.clone()),
        ..PcapConfig::default()
    };
    let mut ports = pcap::open(&cfg, 1, small).unwrap();
    let mut burst = Burst::new();
    assert_eq!(rx(&mut ports[0], &mut burst), 2);
    assert_eq!(burst[1].data(), &want[2][..]);
    assert_eq!(Port::<NativePool>::stats(&ports[0]).rx_errors.get(), 1);
}

#[test]
fn pcap_errors_name_the_file_and_never_panic() {
    let pool = pool();
    let f = TempFile::new("bad.pcap");
    let open = |bytes: &[u8]| {
        std::fs::write(&f.0, bytes).unwrap();
        let cfg = PcapConfig {
            rx: Some(f.0.clone()),
            ..PcapConfig::default()
        };
        pcap::open(&cfg, 1, pool.clone()).unwrap_err()
    };
    let good = crafted(false, true, &frames(4));
    let e = open(&good[..good.len() - 5]);
    let msg = e.to_string();
    assert!(msg.contains(&*f.0.to_string_lossy()), "{msg}");
    assert!(
        matches!(
            e,
            PcapError::Format {
                source: PcapFormatError::TruncatedData { index: 3, .. },
                ..
            }
        ),
        "{e:?}"
    );
    let mut cooked = good.clone();
    cooked[20] = 113;
    let e = open(&cooked);
    assert!(
        e.to_string()
            .contains("link type 113 is not supported: only Ethernet (1)"),
        "{e}"
    );
    assert!(e.to_string().contains(&*f.0.to_string_lossy()));
    let e = open(b"hello");
    assert!(matches!(
        e,
        PcapError::Format {
            source: PcapFormatError::TooShort(5),
            ..
        }
    ));
    // Every prefix and a sprinkling of corruptions: errors, never panics.
    for cut in 0..good.len() {
        let _ = pcap::read_pcap(&good[..cut]);
        let mut bad = good.clone();
        bad[cut] ^= 0xa5;
        let _ = pcap::read_pcap(&bad);
    }
    let missing = pcap::open(
        &PcapConfig {
            rx: Some("/nonexistent/weir.pcap".into()),
            ..PcapConfig::default()
        },
        1,
        pool,
    )
    .unwrap_err();
    assert!(
        missing.to_string().starts_with("/nonexistent/weir.pcap: "),
        "{missing}"
    );
}

#[test]
fn pcap_reinserts_vlan_tags_and_keeps_tags_in_input() {
    let pool = pool();
    let out = TempFile::new("vlan.pcap");
    let cfg = PcapConfig {
        tx: Some(out.0.clone()),
        deterministic: true,
        ..PcapConfig::default()
    };
    let mut ports = pcap::open(&cfg, 1, pool.clone()).unwrap();
    let frame = &frames(1)[0];
    let mut b = pool.alloc().unwrap();
    b.set_len(frame.len()).unwrap().copy_from_slice(frame);
    b.meta_mut().flags |= META_VLAN;
    b.meta_mut().vlan = 0x6064; // PCP 3, VID 100
    let mut burst = Burst::new();
    burst.push(b);
    tx(&mut ports[0], &mut burst);
    ports[0].finish().unwrap();
    let got = pcap::read_pcap_file(&out.0).unwrap();
    let d = &got[0].data;
    assert_eq!(d.len(), frame.len() + 4);
    assert_eq!(&d[..12], &frame[..12]);
    assert_eq!(&d[12..16], &[0x81, 0x00, 0x60, 0x64]);
    assert_eq!(&d[16..], &frame[12..]);
    // Replayed, the tag stays in the data.
    let cfg = PcapConfig {
        rx: Some(out.0.clone()),
        ..PcapConfig::default()
    };
    let mut ports = pcap::open(&cfg, 1, pool).unwrap();
    assert_eq!(rx(&mut ports[0], &mut burst), 1);
    assert_eq!(burst[0].data(), &d[..]);
    assert_eq!(burst[0].meta().flags & META_VLAN, 0);
}

#[test]
fn pcap_without_output_drops_and_counts() {
    let pool = pool();
    let mut ports = pcap::open(&PcapConfig::default(), 1, pool.clone()).unwrap();
    let mut burst = Burst::new();
    pool.alloc_bulk(&mut burst, 4);
    assert_eq!(tx(&mut ports[0], &mut burst), 0);
    assert!(burst.is_empty());
    assert_eq!(Port::<P>::stats(&ports[0]).tx_dropped.get(), 4);
    assert!(ports[0].rx_done());
    assert!(matches!(
        pcap::open(&PcapConfig::default(), 0, pool),
        Err(PcapError::NoQueues)
    ));
}

#[test]
fn generated_capture_replays_into_a_sink() {
    // gen → pcap file → replay → gen sink: the file carries the stamps.
    let pool = pool();
    let file = TempFile::new("gen.pcap");
    let (mut g, _) = gen::open(
        &GenConfig {
            count: Some(200),
            stream: 9,
            ..GenConfig::default()
        },
        1,
        pool.clone(),
    )
    .unwrap();
    let cfg = PcapConfig {
        tx: Some(file.0.clone()),
        deterministic: true,
        ..PcapConfig::default()
    };
    let mut w = pcap::open(&cfg, 1, pool.clone()).unwrap();
    let mut burst = Burst::new();
    while rx(&mut g[0], &mut burst) > 0 {
        tx(&mut w[0], &mut burst);
    }
    drop(w);
    let mut r: Vec<PcapPort<P>> = pcap::open(
        &PcapConfig {
            rx: Some(file.0.clone()),
            ..PcapConfig::default()
        },
        1,
        pool.clone(),
    )
    .unwrap();
    let (mut sink, stats) = gen::open(
        &GenConfig {
            count: Some(0),
            ..GenConfig::default()
        },
        1,
        pool,
    )
    .unwrap();
    while rx(&mut r[0], &mut burst) > 0 {
        tx(&mut sink[0], &mut burst);
    }
    let s = stats.snapshot();
    assert_eq!(s.stream(9).unwrap().received, 200);
    assert_eq!((s.sink_lost, s.sink_other), (0, 0));
}
