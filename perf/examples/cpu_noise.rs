//! What the machine does to a busy-polled core, without weir: the gaps a
//! bare loop reading the TSC sees on a CPU (as weir's workers log them,
//! `pipeline::stall`), and the cache-line round trip between two CPUs
//! (as `weir bench` reports it), sampled over time.
//!
//! ```text
//! cargo run --release -p perf --example cpu_noise -- [SECONDS] [CPU] [OTHER_CPU]
//! ```
//!
//! Defaults: 10 s on the highest-numbered CPU (weir's default worker
//! core), round trips to CPU 0. The loop ticks the workers' own stall
//! clock, so it sees what a worker sees, minus the pipeline. Prints the gaps over 50 µs by length, the
//! share of them the thread spent off its CPU (preempted or steal time,
//! from `CLOCK_THREAD_CPUTIME_ID`), then one round trip a second for
//! `SECONDS` seconds. See `perf/noise.md` for what it showed on the CI
//! machines.

use pipeline::stall::{StallClock, StallLog};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(cpus - 1);
    let other: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0);
    if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        eprintln!("cpu_noise: cannot pin to CPU {cpu}");
        std::process::exit(2);
    }
    // The worker's own stall clock and log, ticked by a bare loop.
    let log = StallLog::default();
    let mut clock = StallClock::start();
    // Gap classes (µs) and, per class: count, off-CPU count.
    let classes = [50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0];
    let mut count = [0u64; 6];
    let mut off = [0u64; 6];
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut seen = 0u64;
    let mut n = 0u64;
    loop {
        clock.tick(&log, false, false);
        n += 1;
        if n.is_multiple_of(4096) {
            // Classify the stalls since the last look (far fewer than the
            // log holds in 4096 turns).
            for s in log.since(seen + 1).0 {
                let us = s.ns() as f64 / 1e3;
                let k = classes.iter().rposition(|&t| us >= t).unwrap_or(0);
                count[k] += 1;
                off[k] += u64::from(s.off_cpu());
                seen = s.end;
            }
            if Instant::now() > end {
                break;
            }
        }
    }
    let t = log.totals();
    let (longest, total) = (t.longest_ns as f64 / 1e3, t.total_ns as f64 / 1e3);
    println!("CPU {cpu}, {secs} s of a bare loop reading the TSC:");
    println!("  gap (µs)      count   off-CPU");
    for (i, t) in classes.iter().enumerate() {
        println!("  >= {t:<8}  {:>7}  {:>7}", count[i], off[i]);
    }
    println!(
        "  longest {:.0} µs; {:.1} ms in all ({:.2} % of the time)",
        longest,
        total / 1e3,
        total / (secs * 1e4)
    );
    println!("cache-line round trip CPU {other} <-> CPU {cpu}, one a second:");
    for _ in 0..secs.ceil() as u64 {
        let t = Instant::now();
        match perf::sysinfo::core_round_trip_ns(other, cpu) {
            Some(ns) => println!("  {ns:.0} ns"),
            None => {
                println!("  (cannot pin to CPUs {other} and {cpu})");
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(1).saturating_sub(t.elapsed()));
    }
}
