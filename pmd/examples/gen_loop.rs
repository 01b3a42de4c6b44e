//! The generator looped straight into a sink on one core: the cost of
//! `gen` itself, the floor under every pipeline measurement made with it.
//!
//! ```text
//! cargo run --release -p pmd --example gen_loop [seconds] [frame size]
//! ```
//!
//! It prints packets per second of wall time and per second of this
//! thread's CPU time; on a shared machine the second is the one to trust.

use pmd::drivers::gen::{self, GenConfig, IpRange, PortRange};
use pmd::{Burst, NativePool, Pool, Port};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// CPU time consumed by this thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let frame_size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let _lcore = pmd::lcore::register().expect("an lcore id");
    let pool = NativePool::new(8192, 2048).expect("pool");
    let cfg = GenConfig {
        src_ip: IpRange::new(Ipv4Addr::new(10, 0, 0, 1), 16),
        dst_ip: IpRange::new(Ipv4Addr::new(10, 1, 0, 1), 256),
        src_port: PortRange::new(1024, 4),
        dst_port: PortRange::new(5000, 4),
        frame_size,
        ..GenConfig::default()
    };
    let (mut src, _src_stats) = gen::open(&cfg, 1, pool.clone()).expect("generator");
    let sink_cfg = GenConfig {
        count: Some(0),
        stream: 1,
        ..GenConfig::default()
    };
    let (mut sink, sink_stats) = gen::open(&sink_cfg, 1, pool.clone()).expect("sink");
    let (src, sink) = (&mut src[0], &mut sink[0]);

    let mut burst = Burst::new();
    let mut run = |burst: &mut Burst<_>, d: Duration| {
        let t = Instant::now();
        let cpu = thread_cpu_time();
        let mut n = 0u64;
        while t.elapsed() < d {
            for _ in 0..1024 {
                n += Port::<NativePool>::rx_burst(src, burst) as u64;
                Port::<NativePool>::tx_burst(sink, burst);
            }
        }
        (n, t.elapsed(), thread_cpu_time() - cpu)
    };
    run(&mut burst, Duration::from_millis(200)); // warm up
    let before = sink_stats.snapshot();
    let (n, elapsed, cpu) = run(&mut burst, Duration::from_secs_f64(secs));
    let after = sink_stats.snapshot();
    let mpps = n as f64 / elapsed.as_secs_f64() / 1e6;
    let cpu_mpps = n as f64 / cpu.as_secs_f64() / 1e6;
    println!(
        "gen -> sink, {frame_size}-byte frames, one core: {n} packets in {:.3} s = {mpps:.1} Mpps",
        elapsed.as_secs_f64(),
    );
    println!(
        "per CPU time ({:.0}% of the wall time on the CPU): {cpu_mpps:.1} Mpps, {:.2} ns/packet",
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
        cpu.as_nanos() as f64 / n as f64
    );
    println!(
        "sink: {} packets, {} lost, {} reordered, latency min/mean/max {}/{}/{} ns",
        after.sink_packets - before.sink_packets,
        after.sink_lost,
        after.sink_reordered,
        after.latency.min_ns(),
        after.latency.mean_ns(),
        after.latency.max_ns()
    );
    pool.flush_local_cache();
}
