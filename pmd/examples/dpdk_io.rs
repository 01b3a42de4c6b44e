//! Plain I/O forwarding between two DPDK ports on one core, as testpmd's
//! `io` mode: every packet received on one port is sent on the other, and
//! back. The cost of the `dpdk` driver itself, the ceiling for routing.
//!
//! ```text
//! cargo run --release -p pmd --features dpdk --example dpdk_io -- \
//!     [seconds] [device A] [device B] [--huge] [--raw]
//! ```
//!
//! Defaults: 2 s on `net_null0` and `net_null1` (zeroed 64-byte frames),
//! `--no-huge -m 512`. Real frames: `net_pcap0,rx_pcap=in.pcap,infinite_rx=1`.
//! With `--huge` the EAL runs `--in-memory` on reserved 2 MB hugepages.
//! With `--raw` the loop calls DPDK's rx/tx bursts through `rte-sys`
//! directly, with no per-packet work (testpmd's `io` loop in Rust): the
//! difference to the default is what weir's driver adds per packet
//! (metadata, counters, VLAN check). Prints forwarded packets per second
//! of wall time and of this thread's CPU time.

use pmd::drivers::dpdk::{self, DpdkPool, DpdkPort, DpdkPortConfig, EalConfig};
use pmd::{Burst, Pool, Port};
use std::time::{Duration, Instant};

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn pin_to_last_cpu() -> usize {
    let cpu = std::thread::available_parallelism().map_or(1, |n| n.get()) - 1;
    // SAFETY: sets this thread's affinity to one CPU.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    cpu
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let huge = args.iter().any(|a| a == "--huge");
    let raw = args.iter().any(|a| a == "--raw");
    args.retain(|a| a != "--huge" && a != "--raw");
    let secs: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let dev_a = args.get(1).cloned().unwrap_or_else(|| "net_null0".into());
    let dev_b = args.get(2).cloned().unwrap_or_else(|| "net_null1".into());

    let cpu = pin_to_last_cpu();
    let eal = EalConfig {
        lcores: vec![cpu],
        no_huge: !huge,
        args: vec!["--no-pci".into(), "--log-level=lib.eal:warning".into()],
        ..EalConfig::default()
    };
    if let Err(e) = dpdk::eal_init(&eal) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    // eal_init restored the affinity it found: pinned to `cpu` already.
    let pool = DpdkPool::new("io", 16383, 2048, 256, -1).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let open = |d: &str| -> DpdkPort {
        let cfg = DpdkPortConfig {
            device: d.into(),
            ..DpdkPortConfig::default()
        };
        dpdk::open(&cfg, &pool)
            .unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(1)
            })
            .remove(0)
    };
    let mut a = open(&dev_a);
    let mut b = open(&dev_b);

    let mut burst: Burst<_> = Burst::new();
    let (pa, pb) = (a.port_id(), b.port_id());
    let mut run = |d: Duration| -> (u64, Duration, Duration) {
        let t = Instant::now();
        let cpu0 = thread_cpu_time();
        let mut n = 0u64;
        if raw {
            let mut pkts = [std::ptr::null_mut(); 32];
            let mut fwd = |from: u16, to: u16| -> u64 {
                // SAFETY: both ports are open with one queue; unsent mbufs
                // are freed.
                unsafe {
                    let got = rte_sys::shim_eth_rx_burst(from, 0, pkts.as_mut_ptr(), 32);
                    let sent = rte_sys::shim_eth_tx_burst(to, 0, pkts.as_mut_ptr(), got);
                    if sent < got {
                        rte_sys::rte_pktmbuf_free_bulk(
                            pkts.as_mut_ptr().add(sent as usize),
                            (got - sent) as u32,
                        );
                    }
                    got as u64
                }
            };
            while t.elapsed() < d {
                for _ in 0..1024 {
                    n += fwd(pa, pb);
                    n += fwd(pb, pa);
                }
            }
        } else {
            while t.elapsed() < d {
                for _ in 0..1024 {
                    n += a.rx_burst(&mut burst) as u64;
                    b.tx_burst(&mut burst);
                    n += b.rx_burst(&mut burst) as u64;
                    a.tx_burst(&mut burst);
                }
            }
        }
        (n, t.elapsed(), thread_cpu_time() - cpu0)
    };
    run(Duration::from_millis(200)); // warm up: caches, pool
    let (n, wall, cpu_t) = run(Duration::from_secs_f64(secs));
    a.flush();
    b.flush();
    println!(
        "dpdk_io{} {dev_a} <-> {dev_b} ({}, DPDK {}): {n} packets in {:.2} s: {:.1} Mpps wall, \
         {:.1} Mpps per CPU second; tx dropped {}",
        if raw { " --raw" } else { "" },
        if huge { "hugepages" } else { "--no-huge" },
        dpdk::DPDK_VERSION,
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64() / 1e6,
        n as f64 / cpu_t.as_secs_f64() / 1e6,
        a.stats().tx_dropped.get() + b.stats().tx_dropped.get(),
    );
    drop((a, b));
    pool.flush_local_cache();
    drop(pool);
    if let Err(e) = dpdk::eal_cleanup() {
        eprintln!("{e}");
    }
}
