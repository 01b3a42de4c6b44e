//! The `dpdk` driver on vdevs: `net_ring` pairs, `net_pcap` against the
//! native `pcap` driver, mbuf semantics, errors, worker threads.
//!
//! One EAL per process: every test here shares one, started by the first
//! test to run (`--no-huge -m 512 --no-pci`, a file prefix of its own),
//! and uses devices and pools of its own names, since tests run in
//! parallel. Start-up errors and shutdown are in `dpdk_bad_eal.rs`.

#![cfg(feature = "dpdk")]

use pmd::drivers::dpdk::{
    self, eal_init, open, register_thread, ring_pair, DpdkError, DpdkMbuf, DpdkPool, DpdkPort,
    DpdkPortConfig, EalConfig,
};
use pmd::drivers::pcap::{self, PcapConfig};
use pmd::{Buf, Burst, NativePool, Pool, Port, BURST, HEADROOM};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn eal() {
    static EAL: OnceLock<()> = OnceLock::new();
    EAL.get_or_init(|| {
        let cfg = EalConfig {
            no_huge: true,
            memory_mb: Some(512),
            file_prefix: Some(format!("weir-test-{}", std::process::id())),
            args: vec!["--no-pci".into(), "--log-level=lib.eal:warning".into()],
            ..EalConfig::default()
        };
        eal_init(&cfg).expect("EAL starts with --no-huge --no-pci");
        // Same config again: fine.
        eal_init(&cfg).expect("a second eal_init with the same config is a no-op");
    });
}

fn pool(name: &str, count: usize) -> DpdkPool {
    eal();
    DpdkPool::new(name, count, 2048, 64, -1).expect("mbuf pool")
}

/// Remove a test's files, and the test directory once it is empty.
fn cleanup(files: &[&PathBuf]) {
    for f in files {
        let _ = std::fs::remove_file(f);
        if let Some(dir) = f.parent() {
            let _ = std::fs::remove_dir(dir); // fails while others use it
        }
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-dpdk-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A frame of `len` bytes: MACs, EtherType IPv4, then a pattern of `seed`.
fn frame(len: usize, seed: u8) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    for (i, b) in f[14..].iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8).wrapping_mul(31);
    }
    f
}

fn fill(pool: &DpdkPool, frames: &[Vec<u8>]) -> Burst<DpdkMbuf> {
    let mut b = Burst::new();
    assert_eq!(pool.alloc_bulk(&mut b, frames.len()), frames.len());
    for (m, f) in b.iter_mut().zip(frames) {
        m.append(f.len()).unwrap().copy_from_slice(f);
    }
    b
}

/// Receive until `n` packets arrived or a second passed.
fn rx_n<P: Port<DpdkPool>>(port: &mut P, n: usize) -> Vec<DpdkMbuf> {
    let mut got = Vec::new();
    let t = Instant::now();
    while got.len() < n && t.elapsed() < Duration::from_secs(1) {
        let mut b = Burst::new();
        port.rx_burst(&mut b);
        got.extend(b.drain(..));
    }
    got
}

#[test]
fn ring_pair_carries_traffic_both_ways() {
    let pool = pool("t_ring", 1023);
    let _t = register_thread().unwrap();
    ring_pair("net_ring_ta", "net_ring_tb", 2, 1024).unwrap();
    let cfg = |d: &str| DpdkPortConfig {
        device: d.into(),
        queues: 2,
        ..Default::default()
    };
    let mut a = open(&cfg("net_ring_ta"), &pool).unwrap();
    let mut b = open(&cfg("net_ring_tb"), &pool).unwrap();
    assert_eq!((a.len(), b.len()), (2, 2));
    assert_eq!(a[1].queue(), 1);
    assert_eq!(a[0].name(), "net_ring_ta");
    assert!(a[0].link_status().up, "ring ports are always up");
    let avail = pool.available();

    // A queue 0 -> B queue 0, byte for byte, 100 frames of various sizes.
    let frames: Vec<Vec<u8>> = (0..100).map(|i| frame(60 + i * 13, i as u8)).collect();
    let mut sent = 0;
    for chunk in frames.chunks(BURST) {
        let mut burst = fill(&pool, chunk);
        sent += a[0].tx_burst(&mut burst);
        assert!(burst.is_empty());
    }
    assert_eq!(sent, 100);
    let got = rx_n(&mut b[0], 100);
    assert_eq!(got.len(), 100);
    for (i, (m, f)) in got.iter().zip(&frames).enumerate() {
        assert_eq!(m.data(), &f[..], "frame {i}");
        assert_eq!(m.headroom(), HEADROOM);
        assert_eq!(m.vlan(), None);
    }
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    assert_eq!(a[0].stats().tx_packets.get(), 100);
    assert_eq!(a[0].stats().tx_bytes.get(), bytes);
    assert_eq!(b[0].stats().rx_packets.get(), 100);
    assert_eq!(b[0].stats().rx_bytes.get(), bytes);
    drop(got);

    // B queue 1 -> A queue 1, with an 802.1Q tag put back in software.
    let mut burst = fill(&pool, &[frame(64, 7)]);
    burst[0].set_vlan(Some(0x2064)); // PCP 1, VID 100
    assert_eq!(b[1].tx_burst(&mut burst), 1);
    let got = rx_n(&mut a[1], 1);
    assert_eq!(got.len(), 1);
    let f = frame(64, 7);
    let d = got[0].data();
    assert_eq!(d.len(), 68);
    assert_eq!(&d[..12], &f[..12]);
    assert_eq!(&d[12..16], &[0x81, 0x00, 0x20, 0x64]);
    assert_eq!(&d[16..], &f[12..]);
    assert_eq!(got[0].vlan(), None, "the ring does not strip");
    assert!(rx_n(&mut a[0], 1).is_empty(), "nothing crossed queues");
    drop(got);
    assert_eq!(pool.available(), avail, "every mbuf went home");
}

#[test]
fn full_ring_drops_and_counts_once() {
    let pool = pool("t_full", 511);
    let _t = register_thread().unwrap();
    ring_pair("net_ring_fa", "net_ring_fb", 1, 63).unwrap();
    let cfg = |d: &str| DpdkPortConfig {
        device: d.into(),
        ..Default::default()
    };
    let mut a = open(&cfg("net_ring_fa"), &pool).unwrap();
    let b = open(&cfg("net_ring_fb"), &pool).unwrap();
    let avail = pool.available();
    let mut sent = 0;
    for _ in 0..4 {
        let mut burst = fill(&pool, &vec![frame(60, 1); BURST]);
        sent += a[0].tx_burst(&mut burst);
    }
    assert_eq!(sent, 63, "a 64-slot ring holds 63");
    a[0].sample_device_stats();
    a[0].flush();
    let st = a[0].stats();
    assert_eq!(st.tx_packets.get(), 63);
    assert_eq!(
        st.tx_dropped.get(),
        4 * BURST as u64 - 63,
        "ring's oerrors not counted twice"
    );
    assert_eq!(pool.available(), avail - 63);
    // Closing both ports frees what is left in the rings.
    drop(a);
    drop(b);
    assert_eq!(pool.available(), avail);
}

#[test]
fn ring_loopback_vdev_and_reopen() {
    let pool = pool("t_loop", 255);
    let _t = register_thread().unwrap();
    // A net_ring vdev of its own: what it sends, it receives.
    for round in 0..2 {
        let mut p = open(
            &DpdkPortConfig {
                device: "net_ring_lo0".into(),
                ..Default::default()
            },
            &pool,
        )
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let mut burst = fill(&pool, &[frame(100, round)]);
        assert_eq!(p[0].tx_burst(&mut burst), 1);
        let got = rx_n(&mut p[0], 1);
        assert_eq!(got[0].data(), &frame(100, round)[..]);
        // Opening it twice is refused.
        let again = open(
            &DpdkPortConfig {
                device: "net_ring_lo0".into(),
                ..Default::default()
            },
            &pool,
        );
        assert!(matches!(again, Err(DpdkError::Config { .. })), "{again:?}");
    }
}

#[test]
fn pcap_in_pcap_out_matches_native_driver() {
    let pool = pool("t_pcap", 1023);
    let _t = register_thread().unwrap();
    let input = tmp("in.pcap");
    let output = tmp("out.pcap");
    let frames: Vec<Vec<u8>> = (0..200)
        .map(|i| frame([60, 64, 128, 576, 1500, 1514][i % 6], i as u8))
        .collect();
    let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
    pcap::write_pcap(&input, &refs).unwrap();

    // What the native pcap driver reads from the file.
    let native_pool = NativePool::new(1024, 2048).unwrap();
    let mut native = pcap::open(
        &PcapConfig {
            rx: Some(input.clone()),
            ..Default::default()
        },
        1,
        native_pool.clone(),
    )
    .unwrap();
    let mut native_frames = Vec::new();
    loop {
        let mut b = Burst::new();
        if Port::<NativePool>::rx_burst(&mut native[0], &mut b) == 0 {
            break;
        }
        native_frames.extend(b.iter().map(|m| m.data().to_vec()));
    }
    assert_eq!(native_frames, frames);

    // The same file through DPDK's net_pcap, sent straight back out.
    let dev = format!(
        "net_pcap_t0,rx_pcap={},tx_pcap={}",
        input.display(),
        output.display()
    );
    let mut p = open(
        &DpdkPortConfig {
            device: dev,
            mtu: Some(1500),
            ..Default::default()
        },
        &pool,
    )
    .unwrap();
    let mut dpdk_frames = Vec::new();
    let t = Instant::now();
    while dpdk_frames.len() < frames.len() && t.elapsed() < Duration::from_secs(2) {
        let mut b = Burst::new();
        p[0].rx_burst(&mut b);
        dpdk_frames.extend(b.iter().map(|m| m.data().to_vec()));
        let n = b.len();
        assert_eq!(p[0].tx_burst(&mut b), n);
    }
    assert_eq!(dpdk_frames.len(), frames.len());
    assert_eq!(
        dpdk_frames, native_frames,
        "net_pcap and pcap read the same"
    );
    let st = p[0].stats();
    assert_eq!(st.rx_packets.get(), 200);
    assert_eq!(st.tx_packets.get(), 200);
    assert_eq!(st.rx_errors.get(), 0);
    drop(p); // closes the dumper
    let out: Vec<Vec<u8>> = pcap::read_pcap_file(&output)
        .unwrap()
        .into_iter()
        .map(|r| r.data)
        .collect();
    assert_eq!(out, frames, "what went out is what came in");
    cleanup(&[&input, &output]);
}

/// A `net_pcap` port `vdev` reading 100-, 1000- and 200-byte frames with
/// a pool `pool_name` of 512-byte buffers, so that the second arrives as
/// an mbuf chain: the pool, the port's queues, the capture and the frames.
fn chain_port(pool_name: &str, vdev: &str) -> (DpdkPool, Vec<DpdkPort>, PathBuf, [Vec<u8>; 3]) {
    eal();
    let pool = DpdkPool::new(pool_name, 255, 512, 0, -1).unwrap();
    let input = tmp(&format!("{vdev}.pcap"));
    let frames = [frame(100, 1), frame(1000, 2), frame(200, 3)];
    let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
    pcap::write_pcap(&input, &refs).unwrap();
    let p = open(
        &DpdkPortConfig {
            device: format!("{vdev},rx_pcap={}", input.display()),
            ..Default::default()
        },
        &pool,
    )
    .unwrap();
    (pool, p, input, frames)
}

#[test]
fn pcap_oversized_frame_is_dropped_and_counted() {
    // A frame larger than the data room arrives as an mbuf chain.
    let (pool, mut p, input, frames) = chain_port("t_small", "net_pcap_t1");
    let avail = pool.available();
    let got = rx_n(&mut p[0], 2);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data(), &frames[0][..]);
    assert_eq!(got[1].data(), &frames[2][..]);
    assert_eq!(p[0].stats().rx_errors.get(), 1);
    drop(got);
    assert_eq!(pool.available(), avail, "the chain was freed whole");
    drop(p);
    cleanup(&[&input]);
}

#[test]
fn uncounted_rx_leaves_bytes_and_chains_to_the_caller() {
    // What the forwarding path receives with: the packets, counted, but
    // neither their bytes nor a check for chains (the caller does both).
    let (pool, mut p, input, frames) = chain_port("t_uncounted", "net_pcap_t2");
    let avail = pool.available();
    let mut got = Vec::new();
    let t = Instant::now();
    while got.len() < 3 && t.elapsed() < Duration::from_secs(1) {
        let mut b = Burst::new();
        p[0].rx_burst_uncounted(&mut b);
        got.extend(b.drain(..));
    }
    assert_eq!(got.len(), 3, "all three, the chain too");
    assert_eq!(got[0].data(), &frames[0][..]);
    assert!(got[0].whole() && got[2].whole());
    assert_eq!(got[2].data(), &frames[2][..]);
    assert!(!got[1].whole(), "1000 bytes in 512-byte buffers is a chain");
    assert_eq!(got[1].pkt_len(), 1000);
    assert_eq!(got[1].data(), &frames[1][..got[1].len()]);
    let st = p[0].stats().clone();
    assert_eq!(
        (st.rx_packets.get(), st.rx_bytes.get(), st.rx_errors.get()),
        (3, 0, 0)
    );
    p[0].count_rx_bytes(1300);
    assert_eq!(st.rx_bytes.get(), 1300);
    drop(got);
    assert_eq!(pool.available(), avail, "the chain was freed whole");
    drop(p);
    cleanup(&[&input]);
}

#[test]
fn mbuf_buf_semantics() {
    let pool = pool("t_buf", 63);
    assert_eq!(pool.data_room(), 2048);
    assert_eq!(pool.capacity(), 63);
    let all = pool.available();
    assert_eq!(all, 63);
    let mut a = pool.alloc().unwrap();
    assert_eq!(pool.available(), 62);
    assert_eq!(a.len(), 0);
    assert!(a.is_empty());
    assert_eq!(a.headroom(), HEADROOM);
    assert!(a.headroom() >= 128);
    assert_eq!(a.tailroom(), 2048);
    a.append(60).unwrap().copy_from_slice(&[7; 60]);
    a.prepend(14).unwrap().copy_from_slice(&[1; 14]);
    assert_eq!(a.len(), 74);
    assert_eq!(&a.data()[..14], &[1; 14]);
    assert_eq!(&a.data()[14..], &[7; 60]);
    assert_eq!(a.headroom(), HEADROOM - 14);
    assert!(a.prepend(HEADROOM).is_none(), "headroom exhausted");
    a.adj(14).unwrap();
    assert_eq!(a.data(), &[7; 60]);
    assert!(a.append(2048 - 60 + 1).is_none());
    assert!(a.trim(61).is_none());
    assert!(a.adj(61).is_none());
    a.trim(10).unwrap();
    assert_eq!(a.len(), 50);
    assert_eq!(a.tailroom(), 2048 - 50);
    a.data_mut()[0] = 9;
    // DPDK sees the same packet.
    // SAFETY: reading fields of an mbuf we own.
    let m = unsafe { &*a.as_ptr() };
    assert_eq!((m.data_len, m.pkt_len, m.nb_segs), (50, 50, 1));
    assert_eq!(m.data_off as usize, HEADROOM);
    a.meta_mut().in_port = 3;
    a.meta_mut().vrf = 7;
    a.meta_mut().next_hop = 0xdead_beef;
    assert_eq!(a.meta().in_port, 3);
    assert_eq!(a.meta().next_hop, 0xdead_beef);
    a.reset();
    assert_eq!((a.len(), a.headroom()), (0, HEADROOM));
    assert_eq!(a.set_len(1514).unwrap().len(), 1514);
    assert!(a.set_len(2049).is_none());
    drop(a);
    assert_eq!(pool.available(), 63, "drop frees to the pool");

    // Metadata is reset on alloc, single and bulk.
    let mut held = Vec::new();
    for _ in 0..63 {
        let mut b = pool.alloc().unwrap();
        assert_eq!(*b.meta(), Default::default());
        b.meta_mut().in_port = 5;
        held.push(b);
    }
    assert!(pool.alloc().is_none(), "pool of 63 is exhausted");
    drop(held);
    let mut burst = Burst::new();
    assert_eq!(pool.alloc_bulk(&mut burst, 32), 32);
    assert!(burst.iter().all(|b| b.meta().in_port == 0 && b.is_empty()));
    assert_eq!(pool.available(), 31);
    // Fewer left than asked: alloc_bulk takes what there is.
    let mut more = Burst::new();
    let mut rest = Burst::new();
    assert_eq!(pool.alloc_bulk(&mut more, 20), 20);
    assert_eq!(pool.alloc_bulk(&mut rest, 32), 11);
    pool.free_bulk(&mut burst);
    assert!(burst.is_empty());
    assert_eq!(pool.available(), 32);
    drop((more, rest));
    assert_eq!(pool.available(), 63);

    // A pool name can be used once.
    let e = DpdkPool::new("t_buf", 63, 2048, 0, -1).unwrap_err();
    assert!(e.to_string().contains("t_buf"), "{e}");
}

#[test]
fn missing_devices_are_clear_errors() {
    let pool = pool("t_missing", 63);
    let cases = [
        ("net_pcap7,rx_pcap=/nonexistent/in.pcap", "net_pcap7"),
        ("net_bogus0", "net_bogus0"),
        ("0000:99:00.0", "0000:99:00.0"),
    ];
    for (dev, name) in cases {
        let e = open(
            &DpdkPortConfig {
                device: dev.into(),
                ..Default::default()
            },
            &pool,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, DpdkError::NoSuchDevice { device, .. } if device == name),
            "{dev}: {msg}"
        );
        assert!(
            msg.starts_with(&format!("dpdk: no such device `{name}` (")),
            "{msg}"
        );
        println!("{msg}");
    }
    let e = open(
        &DpdkPortConfig {
            device: "net_pcap8,rx_pcap=/nonexistent/in.pcap".into(),
            ..Default::default()
        },
        &pool,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("Couldn't open /nonexistent/in.pcap"),
        "DPDK's own reason is in the error: {e}"
    );
    // More queues than the device has.
    let e = open(
        &DpdkPortConfig {
            device: "net_null_q0".into(),
            queues: 2000,
            ..Default::default()
        },
        &pool,
    )
    .unwrap_err();
    println!("{e}");
    assert!(matches!(e, DpdkError::Config { .. }), "{e}");
    assert!(e.to_string().contains("net_null_q0"), "{e}");
    // The failed open did not leave the device behind half-configured.
    let p = open(
        &DpdkPortConfig {
            device: "net_null_q0".into(),
            queues: 2,
            ..Default::default()
        },
        &pool,
    )
    .unwrap();
    assert_eq!(p.len(), 2);
    // A second EAL configuration is refused.
    let e = eal_init(&EalConfig::default()).unwrap_err();
    assert!(matches!(e, DpdkError::EalMismatch { .. }), "{e}");
}

#[test]
fn worker_thread_after_register() {
    let pool = pool("t_worker", 1023);
    let mut ports = open(
        &DpdkPortConfig {
            device: "net_ring_w0".into(),
            ..Default::default()
        },
        &pool,
    )
    .unwrap();
    let mut port = ports.pop().unwrap();
    let p = pool.clone();
    let (n, lcore) = std::thread::spawn(move || {
        assert_eq!(dpdk::lcore_id(), None, "a plain thread has no lcore");
        let guard = register_thread().expect("register");
        let lcore = dpdk::lcore_id().expect("an lcore id now");
        assert_eq!(guard.lcore_id(), lcore);
        let mut n = 0;
        for i in 0..1000 {
            let mut b = Burst::new();
            p.alloc_bulk(&mut b, BURST);
            for m in b.iter_mut() {
                m.append(64).unwrap()[0] = i as u8;
            }
            port.tx_burst(&mut b);
            let mut got = Burst::new();
            n += port.rx_burst(&mut got);
            assert!(got.iter().all(|m| m.data()[0] == i as u8 && m.len() == 64));
            p.free_bulk(&mut got);
        }
        port.flush();
        assert_eq!(port.stats().rx_packets.get(), 1000 * BURST as u64);
        // Hand the cache back before the lcore id goes.
        p.flush_local_cache();
        drop(port);
        drop(guard);
        assert_eq!(dpdk::lcore_id(), None, "unregistered");
        (n, lcore)
    })
    .join()
    .unwrap();
    assert_eq!(n, 1000 * BURST);
    println!("worker thread ran as lcore {lcore}");
    assert_eq!(pool.available(), 1023);
}
