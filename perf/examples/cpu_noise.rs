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
//! core), round trips to CPU 0. Prints the gaps over 50 µs by length, the
//! share of them the thread spent off its CPU (preempted or steal time,
//! from `CLOCK_THREAD_CPUTIME_ID`), then one round trip a second for
//! `SECONDS` seconds. See `perf/noise.md` for what it showed on the CI
//! machines.

use pipeline::stall::thread_cpu_ns;
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
    let hz = pmd::tsc::hz() as f64;
    let threshold = (50e-6 * hz) as u64;
    // Gap classes (µs) and, per class: count, off-CPU count.
    let classes = [50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0];
    let mut count = [0u64; 6];
    let mut off = [0u64; 6];
    let (mut longest, mut total) = (0f64, 0f64);
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut last = pmd::tsc::rdtsc();
    let (mut cpu_ns, mut tsc_at) = (thread_cpu_ns(), last);
    let mut n = 0u64;
    loop {
        let now = pmd::tsc::rdtsc();
        if now - last > threshold {
            let us = (now - last) as f64 / hz * 1e6;
            let c = thread_cpu_ns();
            let wall = (now - tsc_at) as f64 / hz * 1e9;
            let off_ns = wall - (c - cpu_ns) as f64;
            let k = classes.iter().rposition(|&t| us >= t).unwrap_or(0);
            count[k] += 1;
            if off_ns * 2.0 >= us * 1e3 {
                off[k] += 1;
            }
            longest = longest.max(us);
            total += us;
            (cpu_ns, tsc_at) = (c, now);
        }
        last = now;
        n += 1;
        if n.is_multiple_of(4096) && Instant::now() > end {
            break;
        }
    }
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
