//! Stalls of a worker's poll loop: the times it did not poll for longer
//! than [`STALL_THRESHOLD`].
//!
//! A poll round does bounded work (a burst per port) without syscalls,
//! locks or allocation, and takes a few microseconds. When two rounds end
//! more than [`STALL_THRESHOLD`] apart, something else had the core: the
//! kernel (another thread, interrupts) or, in a virtual machine, the
//! hypervisor. On the busy-polled vCPUs of a shared host that happens
//! many times a second and lasts up to milliseconds, long enough to fill
//! any NIC ring; a bare C loop reading the TSC sees the same gaps there
//! (`perf/noise.md`). The log lets an operator, and `weir bench`, tell
//! that loss from loss the pipeline causes.
//!
//! The exception is a round that did the slow, rare work of the data
//! plane: taking a new port table or a new forwarding snapshot (whose
//! predecessor it may free). A stall in such a round is marked
//! [`Stall::slow_round`]: it may be weir's own.
//!
//! Each stall also records how long the worker's thread was *off* its CPU
//! (wall time minus the thread's CPU time, `CLOCK_THREAD_CPUTIME_ID`,
//! which excludes steal time with `CONFIG_PARAVIRT_TIME_ACCOUNTING`):
//! preemption and steal the kernel saw. Interrupts, and host work the
//! hypervisor does not report as steal, count as on-CPU time. The clock is
//! read only after a stall, so the fast path pays one `rdtsc` and one
//! compare every [`STALL_ROUNDS`] rounds.
//!
//! The log is single-writer (the worker) and lock-free: a ring of the
//! last [`STALL_SLOTS`] stalls with a count that readers check before and
//! after copying ([`StallLog::since`]).

use pmd::tsc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Shortest gap between two poll rounds recorded as a stall. One round
/// of a few bursts takes a few microseconds; a NIC ring of 4096 frames
/// lasts 150 µs at 27 Mpps.
pub const STALL_THRESHOLD: Duration = Duration::from_micros(50);
/// Stalls kept (the newest).
pub const STALL_SLOTS: usize = 256;
/// The worker reads the TSC once every this many poll rounds (a TSC read
/// costs about 9 ns on the CI VMs, a round of two full bursts about 1 µs;
/// four rounds stay far below [`STALL_THRESHOLD`]).
pub const STALL_ROUNDS: u32 = 4;

/// One stall of a worker's loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stall {
    /// TSC when the worker last polled before the stall.
    pub start: u64,
    /// TSC when it had polled again.
    pub end: u64,
    /// Nanoseconds the worker's thread was off its CPU between the
    /// previous stall (or the start of its loop) and the end of this one.
    pub off_cpu_ns: u64,
    /// The round took a new port table or snapshot (the stall may be
    /// weir's own work).
    pub slow_round: bool,
    /// TSC of the first round after the stall that found no full burst
    /// on any port: the backlog the stall left was gone. 0 if another
    /// stall came first (or none such round yet).
    pub recovered: u64,
}

impl Stall {
    /// Length in nanoseconds.
    pub fn ns(&self) -> u64 {
        tsc::cycles_to_ns(self.end.saturating_sub(self.start))
    }

    /// Whether the thread spent at least half of it off its CPU
    /// (preempted, or steal time).
    pub fn off_cpu(&self) -> bool {
        self.off_cpu_ns.saturating_mul(2) >= self.ns()
    }
}

#[derive(Debug, Default)]
struct Slot {
    start: AtomicU64,
    end: AtomicU64,
    off_cpu_ns: AtomicU64,
    slow_round: AtomicU64,
    recovered: AtomicU64,
}

/// A worker's stall log (see the module documentation).
#[derive(Debug)]
#[repr(align(64))]
pub struct StallLog {
    /// Stalls recorded since the worker started.
    count: AtomicU64,
    /// Total nanoseconds of all stalls.
    total_ns: AtomicU64,
    /// Longest stall, nanoseconds.
    longest_ns: AtomicU64,
    /// Total nanoseconds off the CPU during stalls.
    off_cpu_ns: AtomicU64,
    slots: Box<[Slot]>,
}

impl Default for StallLog {
    fn default() -> Self {
        StallLog {
            count: AtomicU64::new(0),
            total_ns: AtomicU64::new(0),
            longest_ns: AtomicU64::new(0),
            off_cpu_ns: AtomicU64::new(0),
            slots: (0..STALL_SLOTS).map(|_| Slot::default()).collect(),
        }
    }
}

/// What a stall log holds in total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StallTotals {
    /// Stalls recorded.
    pub count: u64,
    /// Their total length, nanoseconds.
    pub total_ns: u64,
    /// The longest, nanoseconds.
    pub longest_ns: u64,
    /// Nanoseconds the worker was off its CPU during them.
    pub off_cpu_ns: u64,
}

impl StallLog {
    /// Record one stall (the worker only).
    pub fn record(&self, s: Stall) {
        let n = self.count.load(Ordering::Relaxed);
        let slot = &self.slots[(n % STALL_SLOTS as u64) as usize];
        // Readers tell a slot being reused from the count (see `since`).
        slot.start.store(s.start, Ordering::Relaxed);
        slot.end.store(s.end, Ordering::Relaxed);
        slot.off_cpu_ns.store(s.off_cpu_ns, Ordering::Relaxed);
        slot.slow_round
            .store(u64::from(s.slow_round), Ordering::Relaxed);
        slot.recovered.store(s.recovered, Ordering::Relaxed);
        let ns = s.ns();
        self.total_ns.fetch_add(ns, Ordering::Relaxed);
        self.off_cpu_ns
            .fetch_add(s.off_cpu_ns.min(ns), Ordering::Relaxed);
        self.longest_ns.fetch_max(ns, Ordering::Relaxed);
        self.count.store(n + 1, Ordering::Release);
    }

    /// Stall number `n` (its index since the worker started) recovered
    /// at TSC `at`.
    fn recovered(&self, n: u64, at: u64) {
        let slot = &self.slots[(n % STALL_SLOTS as u64) as usize];
        slot.recovered.store(at, Ordering::Release);
    }

    /// Totals since the worker started.
    pub fn totals(&self) -> StallTotals {
        StallTotals {
            count: self.count.load(Ordering::Acquire),
            total_ns: self.total_ns.load(Ordering::Relaxed),
            longest_ns: self.longest_ns.load(Ordering::Relaxed),
            off_cpu_ns: self.off_cpu_ns.load(Ordering::Relaxed),
        }
    }

    /// Stalls that ended at or after TSC `from`, oldest first, and whether
    /// some of those are gone (overwritten: more than [`STALL_SLOTS`]
    /// stalls since `from`).
    pub fn since(&self, from: u64) -> (Vec<Stall>, bool) {
        let slots = STALL_SLOTS as u64;
        let before = self.count.load(Ordering::Acquire);
        let first = before.saturating_sub(slots);
        let copied: Vec<(u64, Stall)> = (first..before)
            .map(|i| {
                let slot = &self.slots[(i % slots) as usize];
                let s = Stall {
                    start: slot.start.load(Ordering::Relaxed),
                    end: slot.end.load(Ordering::Relaxed),
                    off_cpu_ns: slot.off_cpu_ns.load(Ordering::Relaxed),
                    slow_round: slot.slow_round.load(Ordering::Relaxed) != 0,
                    recovered: slot.recovered.load(Ordering::Acquire),
                };
                (i, s)
            })
            .collect();
        std::sync::atomic::fence(Ordering::Acquire);
        let after = self.count.load(Ordering::Acquire);
        // Stall `after` may be half written into the slot of stall
        // `after - slots`: copies of that one and older are not to be
        // trusted.
        let valid_from = (after + 1).saturating_sub(slots).max(first);
        let valid: Vec<Stall> = copied
            .into_iter()
            .filter(|(i, _)| *i >= valid_from)
            .map(|(_, s)| s)
            .collect();
        // Stalls end in order, so older ones than the oldest we have
        // matter only if that one ended after `from`.
        let lost = valid_from > 0 && valid.first().is_none_or(|s| s.end >= from);
        let kept = valid.into_iter().filter(|s| s.end >= from).collect();
        (kept, lost)
    }
}

/// The worker's side: detects stalls between poll rounds.
#[derive(Debug)]
pub struct StallClock {
    threshold: u64,
    last: u64,
    /// Thread CPU time and TSC at the last stall (or the start).
    cpu_ns: u64,
    tsc: u64,
    /// The last stall, while its backlog lasts.
    recovering: Option<u64>,
    /// Rounds since the last tick, and what they saw (see [`StallClock::round`]).
    rounds: u32,
    slow_round: bool,
    quiet: bool,
}

impl StallClock {
    /// Start watching (on the worker's own thread).
    pub fn start() -> Self {
        // Calibrates the TSC on first use: before the clock starts.
        let threshold = tsc::ns_to_cycles(STALL_THRESHOLD.as_nanos() as u64).max(1);
        let now = tsc::rdtsc();
        StallClock {
            threshold,
            last: now,
            cpu_ns: thread_cpu_ns(),
            tsc: now,
            recovering: None,
            rounds: 0,
            slow_round: false,
            quiet: false,
        }
    }

    /// After each poll round: every [`STALL_ROUNDS`] rounds,
    /// [`StallClock::tick`] with what those rounds saw (any slow round;
    /// a backlog unless some round had no full burst).
    #[inline]
    pub fn round(&mut self, log: &StallLog, slow_round: bool, backlog: bool) {
        self.slow_round |= slow_round;
        self.quiet |= !backlog;
        self.rounds += 1;
        if self.rounds == STALL_ROUNDS {
            self.rounds = 0;
            let slow = std::mem::take(&mut self.slow_round);
            let backlog = !std::mem::take(&mut self.quiet);
            self.tick(log, slow, backlog);
        }
    }

    /// Read the TSC: record a stall in `log` if the last tick was too long
    /// ago. `slow_round`: a round since took a new port table or snapshot;
    /// `backlog`: every round since gave a full burst on some port (after
    /// a stall, the first tick without one marks its recovery).
    #[inline]
    pub fn tick(&mut self, log: &StallLog, slow_round: bool, backlog: bool) {
        let now = tsc::rdtsc();
        if now.wrapping_sub(self.last) > self.threshold {
            self.stalled(now, log, slow_round);
        } else if !backlog {
            if let Some(n) = self.recovering.take() {
                log.recovered(n, now);
            }
        }
        self.last = now;
    }

    #[cold]
    #[inline(never)]
    fn stalled(&mut self, now: u64, log: &StallLog, slow_round: bool) {
        let cpu = thread_cpu_ns();
        let wall = tsc::cycles_to_ns(now.wrapping_sub(self.tsc));
        let off = wall.saturating_sub(cpu.saturating_sub(self.cpu_ns));
        self.recovering = Some(log.count.load(Ordering::Relaxed));
        log.record(Stall {
            start: self.last,
            end: now,
            off_cpu_ns: off,
            slow_round,
            recovered: 0,
        });
        self.cpu_ns = cpu;
        self.tsc = now;
    }
}

/// CPU time of the calling thread, nanoseconds (0 if the clock cannot be
/// read).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stall(start: u64, end: u64, off: u64) -> Stall {
        Stall {
            start,
            end,
            off_cpu_ns: off,
            slow_round: false,
            recovered: 0,
        }
    }

    #[test]
    fn keeps_the_newest_and_says_when_older_ones_were_lost() {
        let log = StallLog::default();
        for i in 0..10u64 {
            log.record(stall(i * 100, i * 100 + 50, 0));
        }
        let (s, lost) = log.since(300);
        assert!(!lost);
        assert_eq!(s.first().unwrap().start, 300);
        assert_eq!(s.len(), 7);
        for i in 10..(STALL_SLOTS as u64 + 20) {
            log.record(stall(i * 100, i * 100 + 50, 0));
        }
        let (s, lost) = log.since(0);
        assert!(lost, "the first 20 stalls were overwritten");
        assert!(s.len() < STALL_SLOTS);
        let (s, lost) = log.since(100 * (STALL_SLOTS as u64 + 10));
        assert!(!lost);
        assert_eq!(s.len(), 10);
        assert_eq!(log.totals().count, STALL_SLOTS as u64 + 20);
    }

    #[test]
    fn rounds_read_the_clock_every_stall_rounds() {
        let log = StallLog::default();
        let mut c = StallClock::start();
        std::thread::sleep(Duration::from_millis(2));
        for _ in 1..STALL_ROUNDS {
            c.round(&log, true, false);
        }
        assert_eq!(log.totals().count, 0, "not read yet");
        c.round(&log, false, true);
        let (s, _) = log.since(0);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].slow_round, "a slow round among the four");
    }

    #[test]
    fn off_cpu_is_at_least_half_of_the_stall_off_the_cpu() {
        let hz = tsc::hz();
        let ms = hz / 1000;
        assert!(stall(0, ms, 900_000).off_cpu());
        assert!(!stall(0, ms, 10_000).off_cpu());
    }

    #[test]
    fn a_thread_that_sleeps_records_a_stall_off_its_cpu() {
        let log = StallLog::default();
        let mut c = StallClock::start();
        c.tick(&log, false, false);
        std::thread::sleep(Duration::from_millis(5));
        c.tick(&log, true, true);
        assert_eq!(log.since(0).0[0].recovered, 0, "backlog left");
        c.tick(&log, false, true);
        assert_eq!(log.since(0).0[0].recovered, 0, "still");
        c.tick(&log, false, false);
        let r = log.since(0).0[0].recovered;
        assert!(r > log.since(0).0[0].end, "recovered after the stall");
        c.tick(&log, false, false);
        assert_eq!(log.since(0).0[0].recovered, r, "once");
        let (s, _) = log.since(0);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].ns() >= 5_000_000, "{s:?}");
        assert!(s[0].off_cpu(), "sleeping is off the CPU: {s:?}");
        assert!(s[0].slow_round);
        // A busy loop stays on the CPU (a noisy host may take the core
        // during one attempt, not all).
        let mut own = 0;
        for attempt in 0..5 {
            let t = std::time::Instant::now();
            let mut x = 0u64;
            while t.elapsed() < Duration::from_millis(3) {
                x = x.wrapping_add(std::hint::black_box(1));
            }
            c.tick(&log, false, false);
            let (s, _) = log.since(0);
            assert_eq!(s.len(), 2 + attempt, "{x}");
            assert!(!s.last().unwrap().slow_round);
            own += usize::from(!s.last().unwrap().off_cpu());
        }
        assert!(own >= 1, "{:?}", log.since(0));
        assert_eq!(log.totals().count, 6);
    }
}
