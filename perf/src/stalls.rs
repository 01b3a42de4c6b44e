//! Loss the platform caused: frames the tester could not hand to the
//! device while one of the device's workers was stalled.
//!
//! On a shared or virtual machine the hypervisor and the kernel take a
//! busy-polled vCPU away many times a second, for up to milliseconds
//! (measured on the CI machines: dozens of gaps over 50 µs a second, the
//! longest 4–7 ms, in weir's worker and in a bare C loop alike; see
//! `perf/noise.md`). A ring of 4096 frames lasts 150 µs at 27 Mpps and
//! 2 ms at 2 Mpps, so a strict zero-loss search there finds the longest
//! stall, not the device's throughput, and two invocations disagree by
//! tens of percent.
//!
//! The tester notes when its enqueue into the device fails ([`DropLog`]);
//! each worker logs the gaps between its poll rounds
//! ([`pipeline::stall`]). Frames refused from the start of a stall until
//! [`GRACE`] after its end, or after the worker worked off the backlog
//! the stall left (its first round without a full burst; a device just
//! below its capacity takes milliseconds), are *stalled loss*
//! ([`stalled_loss`]). A device above its capacity never works off its
//! backlog, so its loss stays its own. Not excused either: stalls that
//! may be weir's own (a round that took a new snapshot or port table),
//! and any stall of a trial whose workers were stalled for more than
//! [`MAX_STALLED_SHARE`] of the trial (a device that is slow all the
//! time is not having a stall). Everything else the device lost stays
//! loss. `weir bench` always reports it; with `--excuse-stalls` the
//! search does not count it.

use pipeline::stall::Stall;
use std::time::Duration;

/// How long after a stall ends the ring may still refuse frames: the
/// worker's first rounds after it got its core back.
pub const GRACE: Duration = Duration::from_micros(20);
/// Most of a trial a worker may spend stalled for its stalls to excuse
/// loss.
pub const MAX_STALLED_SHARE: f64 = 0.05;
/// Drop intervals a trial keeps (beyond this, the last one grows: never
/// excused more than it should be).
pub const DROP_INTERVALS: usize = 1 << 16;
/// Failed enqueues this close together (in time) are one interval.
const MERGE: Duration = Duration::from_micros(2);

/// A stretch of time during which enqueues into the device failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropInterval {
    /// TSC of the first failure.
    pub start: u64,
    /// TSC of the last failure.
    pub end: u64,
    /// Frames refused.
    pub frames: u64,
}

/// The tester's record of refused enqueues during one trial.
#[derive(Debug)]
pub struct DropLog {
    intervals: Vec<DropInterval>,
    merge: u64,
}

impl Default for DropLog {
    fn default() -> Self {
        DropLog {
            intervals: Vec::with_capacity(DROP_INTERVALS),
            merge: pmd::tsc::ns_to_cycles(MERGE.as_nanos() as u64),
        }
    }
}

impl DropLog {
    /// Forget the last trial's (keeps the memory).
    pub fn clear(&mut self) {
        self.intervals.clear();
    }

    /// `frames` refused at TSC `now`.
    #[inline]
    pub fn note(&mut self, now: u64, frames: u64) {
        let full = self.intervals.len() == DROP_INTERVALS;
        match self.intervals.last_mut() {
            Some(last) if full || now.wrapping_sub(last.end) <= self.merge => {
                last.end = now.max(last.end);
                last.frames += frames;
            }
            _ => self.intervals.push(DropInterval {
                start: now,
                end: now,
                frames,
            }),
        }
    }

    /// The intervals, oldest first.
    pub fn intervals(&self) -> &[DropInterval] {
        &self.intervals
    }

    /// Frames refused in total.
    pub fn frames(&self) -> u64 {
        self.intervals.iter().map(|i| i.frames).sum()
    }
}

/// Frames of `drops` refused inside a stall of `stalls`: from the
/// stall's start to `grace` cycles after its end or, if the worker then
/// worked off the backlog the stall left, after it did; windows that touch
/// joined into one (a worker that got its core back for a moment between
/// two stalls). An interval counts only if it lies wholly inside one
/// window.
pub fn stalled_loss(drops: &[DropInterval], stalls: &[Stall], grace: u64) -> u64 {
    let windows = windows(stalls, grace);
    drops
        .iter()
        .filter(|d| windows.iter().any(|&(s, e)| d.start >= s && d.end <= e))
        .map(|d| d.frames)
        .sum()
}

/// The windows of the stalls that excuse loss, sorted and joined where
/// they overlap.
fn windows(stalls: &[Stall], grace: u64) -> Vec<(u64, u64)> {
    let mut w: Vec<(u64, u64)> = stalls
        .iter()
        .filter(|s| !s.slow_round)
        .map(|s| (s.start, s.end.max(s.recovered).saturating_add(grace)))
        .collect();
    w.sort_unstable();
    let mut joined: Vec<(u64, u64)> = Vec::with_capacity(w.len());
    for (s, e) in w {
        match joined.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => joined.push((s, e)),
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(start: u64, end: u64) -> Stall {
        Stall {
            start,
            end,
            off_cpu_ns: 0,
            slow_round: false,
            recovered: 0,
        }
    }

    #[test]
    fn refusals_close_together_are_one_interval() {
        let mut log = DropLog::default();
        let step = log.merge / 2;
        log.note(1000, 32);
        log.note(1000 + step, 32);
        log.note(1000 + 2 * step, 5);
        log.note(1000 + 2 * step + 10 * log.merge, 7);
        assert_eq!(log.intervals().len(), 2);
        assert_eq!(log.intervals()[0].frames, 69);
        assert_eq!(log.intervals()[0].end, 1000 + 2 * step);
        assert_eq!(log.frames(), 76);
        log.clear();
        assert_eq!(log.frames(), 0);
    }

    #[test]
    fn only_refusals_inside_a_stall_are_stalled_loss() {
        let d = |start, end, frames| DropInterval { start, end, frames };
        let drops = [
            d(1_000, 2_000, 100), // inside the first stall
            d(2_000, 2_040, 3),   // just after it, within the grace
            d(5_000, 5_500, 40),  // no stall: the device's own
            d(7_900, 9_100, 60),  // straddles the end of a stall
            d(20_000, 20_100, 9), // inside a stall in a slow round
        ];
        let own = Stall {
            start: 19_000,
            end: 21_000,
            off_cpu_ns: 0,
            slow_round: true,
            recovered: 0,
        };
        let stalls = [host(900, 2_000), host(7_000, 9_000), own];
        assert_eq!(stalled_loss(&drops, &stalls, 50), 103);
        assert_eq!(stalled_loss(&drops, &stalls, 0), 100);
        assert_eq!(stalled_loss(&drops, &[], 50), 0);
        // Two stalls with the core back for a moment between them: one
        // window (the straddling refusals are the host's).
        let twice = [host(900, 2_000), host(7_000, 8_000), host(8_030, 9_060)];
        assert_eq!(stalled_loss(&drops, &twice, 50), 163);
        assert_eq!(
            stalled_loss(&drops, &twice, 10),
            100,
            "the gap is wider than the grace"
        );
        // A stall whose backlog lasted: its window runs until the worker
        // worked it off.
        let backlog = [Stall {
            recovered: 5_600,
            ..host(4_000, 4_500)
        }];
        assert_eq!(stalled_loss(&drops, &backlog, 0), 40);
    }

    #[test]
    fn a_full_log_grows_its_last_interval() {
        let mut log = DropLog::default();
        let far = log.merge * 10;
        for i in 0..DROP_INTERVALS as u64 + 5 {
            log.note(i * far, 1);
        }
        assert_eq!(log.intervals().len(), DROP_INTERVALS);
        assert_eq!(log.frames(), DROP_INTERVALS as u64 + 5);
        let last = log.intervals().last().unwrap();
        assert_eq!(last.frames, 6);
        assert_eq!(last.end, (DROP_INTERVALS as u64 + 4) * far);
    }
}
