//! The tester on DPDK ports, in process: a two-way trial through a
//! `net_ring` pair of two queues (the tester sending on both in turn),
//! every frame of both streams back and timed.
//!
//! One EAL per test binary (`--no-huge --no-pci`, a file prefix of this
//! process's own); the device and pool names are this file's own.

#![cfg(feature = "dpdk")]

use perf::dpdk_tester::TesterPort;
use perf::search::Direction;
use perf::trial::{Device, Flows, FrameSize, Tester, TrialSpec};
use pmd::drivers::dpdk::{self, DpdkPool, EalConfig};
use std::time::Duration;

#[test]
fn a_two_way_trial_through_a_ring_pair_loses_nothing() {
    dpdk::eal_init(&EalConfig {
        no_huge: true,
        memory_mb: Some(256),
        file_prefix: Some(format!("weir-perf-test-{}", std::process::id())),
        args: vec!["--no-pci".into(), "--log-level=lib.eal:warning".into()],
        ..EalConfig::default()
    })
    .expect("EAL starts with --no-huge --no-pci");
    let _lcore = dpdk::register_thread().unwrap();
    let pool = DpdkPool::new("perf-test", 8191, 2048, 256, -1).unwrap();
    let (a, b) = ("net_ring_perf_ta", "net_ring_perf_tb");
    dpdk::ring_pair(a, b, 2, 1024).unwrap();
    let dev = Device {
        to_dut: TesterPort::open(a, 2, 1024, 1024, &pool).unwrap(),
        from_dut: TesterPort::open(b, 2, 1024, 1024, &pool).unwrap(),
        pool: pool.clone(),
    };
    assert!(dev.to_dut.wait_link(Duration::from_secs(1)));
    assert_eq!(dev.from_dut.name(), b);
    let fwd = Flows::default();
    let rev = fwd.mirrored([2, 0, 0, 0, 0, 2]);
    let mut t = Tester::two_way(dev, fwd, rev);
    let o = t
        .run(&TrialSpec {
            size: FrameSize::Imix,
            rate_pps: Some(40_000.0),
            duration: Duration::from_millis(200),
            latency: true,
        })
        .unwrap();
    let d = o.result.directions.expect("two-way");
    for (x, dir) in d.iter().zip(Direction::BOTH) {
        assert_eq!(x.direction, dir);
        // 20 kpps each way for 0.2 s.
        assert!(x.sent > 0 && x.sent <= 4000, "{d:?}");
        assert_eq!(x.received, x.sent, "{d:?}");
    }
    assert_eq!(o.latency.unwrap().len(), o.result.sent);
    assert_eq!(o.direction_latency.len(), 2);
    // The ring PMD counted what went out (over both queues).
    let dev = t.device();
    assert!(dev.to_dut.device_stats().opackets >= d[0].sent);
    drop(t);
    drop(pool);
    dpdk::eal_cleanup().unwrap();
}
