//! NDR/PDR throughput search (RFC 2544 §26.1), independent of any device.
//!
//! A *trial* offers traffic at a rate for a while and reports how many
//! frames were sent and received ([`TrialResult`]); the search only sees
//! trials through a closure, so it is tested on simulated devices with a
//! known loss curve (see the tests) and runs unchanged on real ones.
//!
//! The search:
//!
//! 1. tries the maximum rate `hi`; if it passes, that is the answer;
//! 2. bisects between the highest passing and the lowest failing rate
//!    seen so far until they are at most `resolution × hi` apart, and
//!    reports the highest passing rate (0 if none passed).
//!
//! NDR (no drop rate) passes a trial with zero loss; PDR (partial drop
//! rate) one with a loss ratio of at most [`SearchParams::pdr_loss`]
//! (0.5 %). The PDR search starts from every trial the NDR search made
//! (a trial that lost 0.1 % failed NDR but passed PDR), so it usually
//! needs only a few more. Like RFC 2544 it assumes that loss grows with
//! the offered rate; on a device where it does not, the answer is still a
//! rate that passed, not necessarily the highest.

use serde::{Deserialize, Serialize};

/// Which way frames travel in a two-way trial.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The scenario's flows: into the ingress, out of the egress.
    #[default]
    Forward,
    /// The mirrored flows: into the egress, out of the ingress.
    Reverse,
}

impl Direction {
    /// Both, in report order.
    pub const BOTH: [Direction; 2] = [Direction::Forward, Direction::Reverse];

    /// `forward` or `reverse`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
        }
    }
}

/// What one direction of a two-way trial measured (a stream of its own,
/// counted by sequence number like the whole).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectionResult {
    /// Which direction.
    pub direction: Direction,
    /// Rate offered in this direction, packets per second.
    pub offered_pps: f64,
    /// Frames sent in this direction.
    pub sent: u64,
    /// Frames of this direction's stream received (duplicates not
    /// counted).
    pub received: u64,
}

impl DirectionResult {
    /// Frames lost: sent but never received.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// Lost frames as a fraction of sent frames (0 when nothing was sent).
    pub fn loss_ratio(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost() as f64 / self.sent as f64
        }
    }
}

/// What one trial measured. In a two-way trial the rates and counts are
/// the totals of both directions, and [`TrialResult::directions`] holds
/// each one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// Rate the trial was asked to offer, packets per second.
    pub target_pps: f64,
    /// Rate actually offered: frames sent over the trial's duration.
    pub offered_pps: f64,
    /// Frames the tester sent.
    pub sent: u64,
    /// Frames of the trial's stream the sink received (duplicates not
    /// counted), by sequence number.
    pub received: u64,
    /// Two-way trials: forward, then reverse (absent in one-way trials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<[DirectionResult; 2]>,
    /// Of the frames lost, those the device's input refused while one of
    /// its workers was stalled ([`crate::stalls`]).
    #[serde(default)]
    pub stalled_loss: u64,
    /// Stalls of the device's workers during the trial.
    #[serde(default)]
    pub stalls: u32,
    /// Of those, stalls the worker spent mostly off its CPU (preempted,
    /// steal time).
    #[serde(default)]
    pub off_cpu_stalls: u32,
    /// The longest stall, microseconds.
    #[serde(default)]
    pub longest_stall_us: f64,
    /// The most time one worker spent stalled, as a share of the trial
    /// (0..1).
    #[serde(default)]
    pub stalled_share: f64,
}

impl TrialResult {
    /// The counts of one direction of a two-way trial.
    pub fn direction(&self, d: Direction) -> Option<&DirectionResult> {
        self.directions
            .as_ref()
            .and_then(|ds| ds.iter().find(|x| x.direction == d))
    }

    /// Frames lost: sent but never received.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// Lost frames as a fraction of sent frames (0 when nothing was sent).
    pub fn loss_ratio(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost() as f64 / self.sent as f64
        }
    }

    /// Frames lost other than while a worker was stalled.
    pub fn lost_excusing_stalls(&self) -> u64 {
        self.lost().saturating_sub(self.stalled_loss)
    }

    /// Whether the trial passes a loss threshold: zero loss for a
    /// threshold of 0, else a loss ratio of at most `threshold`. A trial
    /// that sent nothing fails. A two-way trial is judged on the total of
    /// both directions (RFC 2544 counts the frames of all ports): zero
    /// loss in total is zero loss each way; PDR's ratio is of the total.
    pub fn passes(&self, threshold: f64) -> bool {
        self.passes_with(threshold, false)
    }

    /// [`TrialResult::passes`], not counting the loss of stalls if
    /// `excuse_stalls`.
    pub fn passes_with(&self, threshold: f64, excuse_stalls: bool) -> bool {
        let lost = if excuse_stalls {
            self.lost_excusing_stalls()
        } else {
            self.lost()
        };
        self.sent > 0
            && if threshold <= 0.0 {
                lost == 0
            } else {
                lost as f64 / self.sent as f64 <= threshold
            }
    }
}

/// Search bounds and thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchParams {
    /// Highest rate tried, packets per second (the tester's maximum).
    pub hi_pps: f64,
    /// Stop bisecting when the bounds are this fraction of `hi_pps` apart
    /// (e.g. 0.01).
    pub resolution: f64,
    /// Loss ratio PDR tolerates (RFC-style 0.005 = 0.5 %).
    pub pdr_loss: f64,
    /// Do not count frames lost while one of the device's workers was
    /// stalled ([`TrialResult::stalled_loss`]).
    #[serde(default)]
    pub excuse_stalls: bool,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            hi_pps: 1e6,
            resolution: 0.01,
            pdr_loss: 0.005,
            excuse_stalls: false,
        }
    }
}

/// The outcome of a search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// Highest rate with zero loss (packets per second), 0 if none.
    pub ndr_pps: f64,
    /// Highest rate with a loss ratio of at most `pdr_loss`, 0 if none.
    pub pdr_pps: f64,
    /// Every trial, in the order made.
    pub trials: Vec<TrialResult>,
}

impl SearchResult {
    /// The trial that established `rate` (the last one at that target).
    pub fn trial_at(&self, rate: f64) -> Option<&TrialResult> {
        self.trials.iter().rev().find(|t| t.target_pps == rate)
    }
}

/// Bisect for the highest rate passing `threshold`, starting from the
/// bounds the trials made so far imply.
fn bisect<E>(
    p: &SearchParams,
    threshold: f64,
    trials: &mut Vec<TrialResult>,
    trial: &mut impl FnMut(f64) -> Result<TrialResult, E>,
) -> Result<f64, E> {
    if !trials.iter().any(|t| t.target_pps >= p.hi_pps) {
        trials.push(trial(p.hi_pps)?);
    }
    let step = (p.resolution.max(1e-6) * p.hi_pps).max(1.0);
    let passes = |t: &TrialResult| t.passes_with(threshold, p.excuse_stalls);
    loop {
        let pass = trials
            .iter()
            .filter(|t| passes(t))
            .map(|t| t.target_pps)
            .fold(0.0, f64::max);
        let fail = trials
            .iter()
            .filter(|t| !passes(t) && t.target_pps > pass)
            .map(|t| t.target_pps)
            .fold(f64::INFINITY, f64::min);
        if !fail.is_finite() || fail - pass <= step {
            return Ok(pass);
        }
        let mid = ((pass + fail) / 2.0).round().max(1.0);
        if mid <= pass || mid >= fail {
            return Ok(pass);
        }
        trials.push(trial(mid)?);
    }
}

/// Find NDR and PDR with `trial(rate_pps)`.
pub fn search<E>(
    p: &SearchParams,
    mut trial: impl FnMut(f64) -> Result<TrialResult, E>,
) -> Result<SearchResult, E> {
    let mut trials = Vec::new();
    let ndr_pps = bisect(p, 0.0, &mut trials, &mut trial)?;
    let pdr_pps = bisect(p, p.pdr_loss, &mut trials, &mut trial)?;
    Ok(SearchResult {
        ndr_pps,
        pdr_pps: pdr_pps.max(ndr_pps),
        trials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    /// A device forwarding at most `cap` pps, with a fixed extra loss
    /// ratio `floor` at any rate, tried for one second.
    fn device(cap: f64, floor: f64) -> impl FnMut(f64) -> Result<TrialResult, Infallible> {
        move |rate| {
            let sent = rate.round() as u64;
            let through = rate.min(cap) * (1.0 - floor);
            Ok(TrialResult {
                target_pps: rate,
                offered_pps: rate,
                sent,
                received: through.floor() as u64,
                ..TrialResult::default()
            })
        }
    }

    fn params(hi: f64) -> SearchParams {
        SearchParams {
            hi_pps: hi,
            resolution: 0.01,
            pdr_loss: 0.005,
            excuse_stalls: false,
        }
    }

    #[test]
    fn finds_the_knee_within_the_resolution() {
        let p = params(10e6);
        let r = search(&p, device(6e6, 0.0)).unwrap();
        assert!(r.ndr_pps <= 6e6 && r.ndr_pps >= 6e6 - 0.01 * 10e6, "{r:?}");
        // PDR: loss = 1 - cap/rate <= 0.5 %  <=>  rate <= cap / 0.995.
        let pdr = 6e6 / 0.995;
        assert!(r.pdr_pps <= pdr && r.pdr_pps >= pdr - 0.01 * 10e6, "{r:?}");
        assert!(r.pdr_pps > r.ndr_pps);
        // log2(100) ≈ 7 bisections each, PDR reusing NDR's trials.
        assert!(r.trials.len() <= 16, "{} trials", r.trials.len());
        for t in &r.trials {
            assert!(t.target_pps > 0.0 && t.target_pps <= 10e6);
        }
    }

    #[test]
    fn a_device_faster_than_the_tester_passes_at_the_top() {
        let r = search(&params(5e6), device(8e6, 0.0)).unwrap();
        assert_eq!((r.ndr_pps, r.pdr_pps), (5e6, 5e6));
        assert_eq!(r.trials.len(), 1);
    }

    #[test]
    fn constant_small_loss_has_no_ndr_but_a_pdr() {
        let r = search(&params(1e6), device(2e6, 0.001)).unwrap();
        assert_eq!(r.ndr_pps, 0.0);
        assert_eq!(r.pdr_pps, 1e6);
    }

    #[test]
    fn a_device_losing_everything_has_neither() {
        let r = search(&params(1e6), device(0.0, 0.0)).unwrap();
        assert_eq!((r.ndr_pps, r.pdr_pps), (0.0, 0.0));
        assert!(r.trials.len() < 20);
    }

    #[test]
    fn errors_stop_the_search() {
        let mut n = 0;
        let r = search(&params(1e6), |rate| {
            n += 1;
            if n == 3 {
                Err("tester failed")
            } else {
                Ok(TrialResult {
                    target_pps: rate,
                    offered_pps: rate,
                    sent: 10,
                    received: 5,
                    ..TrialResult::default()
                })
            }
        });
        assert_eq!(r, Err("tester failed"));
    }

    #[test]
    fn stall_loss_is_excused_only_when_asked_and_only_that_loss() {
        // A device forwarding up to 6 Mpps, whose host takes its core
        // away in every trial: 2000 frames lost to that at any rate.
        let stalled = |cap: f64| {
            move |rate: f64| -> Result<TrialResult, Infallible> {
                let sent = rate.round() as u64;
                let through = (rate.min(cap).floor() as u64).saturating_sub(2000);
                Ok(TrialResult {
                    target_pps: rate,
                    offered_pps: rate,
                    sent,
                    received: through,
                    stalled_loss: 2000,
                    stalls: 3,
                    ..TrialResult::default()
                })
            }
        };
        let strict = search(&params(10e6), stalled(6e6)).unwrap();
        assert_eq!(strict.ndr_pps, 0.0, "strict: every trial lost frames");
        let p = SearchParams {
            excuse_stalls: true,
            ..params(10e6)
        };
        let r = search(&p, stalled(6e6)).unwrap();
        assert!(r.ndr_pps <= 6e6 && r.ndr_pps >= 6e6 - 0.01 * 10e6, "{r:?}");
        let t = r.trial_at(r.ndr_pps).unwrap();
        assert!(!t.passes(0.0) && t.passes_with(0.0, true));
        assert_eq!(t.lost_excusing_stalls(), 0);
        // Loss beyond the stalls' is the device's: it still fails.
        let over = r.trials.iter().find(|t| t.target_pps > 6.2e6).unwrap();
        assert!(over.lost_excusing_stalls() > 0 && !over.passes_with(0.0, true));
    }

    #[test]
    fn loss_accounting() {
        let t = TrialResult {
            target_pps: 1.0,
            offered_pps: 1.0,
            sent: 1000,
            received: 995,
            ..TrialResult::default()
        };
        assert_eq!(t.lost(), 5);
        assert!(t.passes(0.005) && !t.passes(0.0));
        let none = TrialResult::default();
        assert!(
            !none.passes(0.0),
            "a trial that sent nothing proves nothing"
        );
    }

    #[test]
    fn two_way_trials_pass_on_the_total_and_keep_each_direction() {
        let d = |direction, sent, received| DirectionResult {
            direction,
            offered_pps: sent as f64,
            sent,
            received,
        };
        let t = TrialResult {
            target_pps: 2000.0,
            offered_pps: 2000.0,
            sent: 2000,
            received: 1992,
            directions: Some([
                d(Direction::Forward, 1000, 1000),
                d(Direction::Reverse, 1000, 992),
            ]),
            ..TrialResult::default()
        };
        assert!(!t.passes(0.0) && t.passes(0.005), "0.4 % lost in total");
        let r = t.direction(Direction::Reverse).unwrap();
        assert_eq!((r.lost(), r.loss_ratio()), (8, 0.008));
        assert_eq!(t.direction(Direction::Forward).unwrap().lost(), 0);
        assert!(TrialResult::default()
            .direction(Direction::Forward)
            .is_none());
        // One-way trials serialize as before; two-way ones name directions.
        let one = serde_json::to_value(TrialResult::default()).unwrap();
        assert!(one.get("directions").is_none(), "{one}");
        let two = serde_json::to_value(t).unwrap();
        assert_eq!(two["directions"][1]["direction"], "reverse");
        assert_eq!(serde_json::from_value::<TrialResult>(two).unwrap(), t);
    }
}
