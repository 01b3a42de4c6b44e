//! What machine and build a report was measured on: CPU, cores, kernel,
//! hugepages, weir's commit and the command line. Every field tolerates
//! absence (an empty string or 0), so a report can always be written.

use serde::{Deserialize, Serialize};

/// Hugepage counters from `/proc/meminfo`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hugepages {
    /// Pages reserved (`HugePages_Total`).
    pub total: u64,
    /// Pages free (`HugePages_Free`).
    pub free: u64,
    /// Page size in KiB (`Hugepagesize`).
    pub size_kb: u64,
}

/// The machine, the build and the invocation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// CPU model name (`/proc/cpuinfo`).
    pub cpu_model: String,
    /// Online CPUs.
    pub cores: usize,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Hugepages at the start of the run.
    pub hugepages: Hugepages,
    /// weir's git commit (`-dirty` if built from a modified tree); empty
    /// if unknown.
    pub weir_commit: String,
    /// weir's version.
    pub weir_version: String,
    /// The exact command line, shell-quoted.
    pub command: String,
    /// Start of the run, seconds since the Unix epoch.
    pub started_unix: u64,
    /// Load averages (1, 5, 15 min) at the start: a busy machine makes
    /// NDR unreliable.
    pub loadavg: String,
    /// Cache-line round trip between the tester's core and weir's worker
    /// core, nanoseconds, measured just before and just after the
    /// measurement (mem scenarios; absent otherwise). Everything the
    /// tester hands weir crosses between those cores, so throughput
    /// through the mem rings follows it. A virtual machine's vCPUs may be
    /// moved between host cores while it runs: on the CI machines this
    /// probe reads about 40 ns or about 400 ns, flipping within seconds,
    /// and the rate halves at the high level (`perf/noise.md`). Two reports are comparable only if
    /// their round trips are alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_round_trip_ns: Option<[f64; 2]>,
}

/// Round trips of one cache line between CPUs `a` and `b`: two threads
/// pinned there pass a flag back and forth. Nanoseconds per round trip,
/// the median of five batches; `None` if a thread cannot be pinned.
pub fn core_round_trip_ns(a: usize, b: usize) -> Option<f64> {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    // (core_affinity indexes a cpu_set_t without checking: stay inside
    // it; a CPU that does not exist fails to pin below.)
    let fits = |c: usize| c < 8 * std::mem::size_of::<libc::cpu_set_t>();
    if a == b || !fits(a) || !fits(b) {
        return None;
    }
    const ROUNDS: u32 = 20_000;
    const BATCHES: u32 = 5;
    #[repr(align(64))]
    struct Line(AtomicU32);
    let flag = Line(AtomicU32::new(0));
    let abort = AtomicBool::new(false);
    let pin = |c: usize| core_affinity::set_for_current(core_affinity::CoreId { id: c });
    // Wait until the flag reads `want`; false if the other side gave up.
    let wait = |want: u32| loop {
        if flag.0.load(Ordering::Acquire) == want {
            return true;
        }
        if abort.load(Ordering::Relaxed) {
            return false;
        }
        std::hint::spin_loop();
    };
    let mut batches: Vec<f64> = std::thread::scope(|s| {
        s.spawn(|| {
            if !pin(b) {
                abort.store(true, Ordering::Relaxed);
                return;
            }
            // Ping i is 2i + 1; the answer 2i + 2.
            for i in 0..BATCHES * ROUNDS {
                if !wait(2 * i + 1) {
                    return;
                }
                flag.0.store(2 * i + 2, Ordering::Release);
            }
        });
        let ping = s.spawn(|| {
            let mut out = Vec::new();
            if !pin(a) {
                abort.store(true, Ordering::Relaxed);
                return out;
            }
            let mut next = 1u32;
            for _ in 0..BATCHES {
                let t = std::time::Instant::now();
                for _ in 0..ROUNDS {
                    flag.0.store(next, Ordering::Release);
                    if !wait(next + 1) {
                        return out;
                    }
                    next += 2;
                }
                out.push(t.elapsed().as_nanos() as f64 / f64::from(ROUNDS));
            }
            out
        });
        ping.join().unwrap_or_default()
    });
    if batches.len() < BATCHES as usize {
        return None;
    }
    batches.sort_by(f64::total_cmp);
    Some(batches[BATCHES as usize / 2])
}

/// Quote a word for a POSIX shell if it needs it.
pub fn shell_quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn meminfo(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The commit weir was built from: the build's, else `git rev-parse HEAD`
/// run now (the binary may be run in its tree), else empty.
pub fn weir_commit() -> String {
    let built = env!("WEIR_GIT_COMMIT");
    if !built.is_empty() {
        return built.to_string();
    }
    std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

impl SystemInfo {
    /// Collect everything now.
    pub fn collect() -> SystemInfo {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        let mem = read("/proc/meminfo");
        SystemInfo {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            hugepages: Hugepages {
                total: meminfo(&mem, "HugePages_Total"),
                free: meminfo(&mem, "HugePages_Free"),
                size_kb: meminfo(&mem, "Hugepagesize"),
            },
            weir_commit: weir_commit(),
            weir_version: env!("CARGO_PKG_VERSION").to_string(),
            command: std::env::args()
                .map(|a| shell_quote(&a))
                .collect::<Vec<_>>()
                .join(" "),
            loadavg: read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            core_round_trip_ns: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_meminfo() {
        assert_eq!(shell_quote("--sizes=64,128"), "--sizes=64,128");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        let m = "HugePages_Total:     512\nHugePages_Free:      500\nHugepagesize:       2048 kB\n";
        assert_eq!(meminfo(m, "HugePages_Total"), 512);
        assert_eq!(meminfo(m, "Hugepagesize"), 2048);
        assert_eq!(meminfo(m, "Nope"), 0);
        let s = SystemInfo::collect();
        assert!(s.cores >= 1);
    }

    #[test]
    fn a_round_trip_between_two_cores_takes_a_plausible_time() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 {
            return;
        }
        // A busy machine may deschedule one side for a while: generous.
        let ns = super::core_round_trip_ns(0, cpus - 1).expect("two CPUs to pin to");
        assert!(ns > 1.0 && ns < 1_000_000.0, "{ns}");
        assert_eq!(super::core_round_trip_ns(0, 0), None);
        assert_eq!(super::core_round_trip_ns(0, 4096), None, "no such CPU");
    }
}
