//! The tester: one thread generating stamped frames into a device's input
//! and sinking what comes out of its output, apart from the device's own
//! cores.
//!
//! A *device* ([`Device`]) is two ports of the tester, generic over the
//! pool and port types: `to_dut` feeds the device's ingress, `from_dut`
//! receives its egress.
//!
//! - `mem` ring ends (the default types): weir's ingress and egress
//!   interfaces taken with [`ctrl::router::Router::take_external`], or the
//!   two ends of one link joined back to back (the loopback baseline).
//!   Rings have a finite size, so when the device falls behind, the
//!   tester's enqueue fails and the frame is lost, as on a NIC.
//! - DPDK ethdev ports (`--features dpdk`, [`crate::dpdk_tester`]): tester
//!   NIC ports cabled to weir's, or `net_ring` pairs.
//!
//! Each trial opens a fresh `gen` port (its generator and sink) on a stream
//! id of its own, offers frames at the target rate (a token bucket on the
//! TSC) for the trial's duration, then keeps sinking until the output has
//! been idle for [`DRAIN_IDLE`]. Loss is the sink's count by sequence
//! number: frames of the trial's stream generated but never received.
//!
//! A *two-way* tester ([`Tester::two_way`]) also sends the mirrored flows
//! into `from_dut` (weir's egress) and sinks what comes back out of
//! `to_dut` (weir's ingress), on a second stream id, at the same rate as
//! the forward direction: a trial's target rate is the total of both
//! directions, split evenly. Each direction is counted on its own
//! ([`TrialResult::directions`]) and in total.

use crate::latency::LatencyHistogram;
use crate::search::{Direction, DirectionResult, TrialResult};
use crate::stalls::DropLog;
use anyhow::{Context, Result};
use pipeline::WorkerCounters;
use pmd::drivers::gen::{self, GenConfig, GenPort, IpRange, PortRange, Stamp, MASK48};
use pmd::drivers::mem::MemPort;
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// How long the device's output must stay empty before a trial ends
/// (long enough that a worker descheduled for a moment on a busy machine
/// does not turn late frames into lost ones; RFC 2544 waits up to 2 s,
/// [`DRAIN_MAX`]).
pub const DRAIN_IDLE: Duration = Duration::from_millis(100);
/// Longest a trial waits for the device to drain.
pub const DRAIN_MAX: Duration = Duration::from_secs(2);

/// The simple IMIX the report uses: 7:4:1 of 64, 570 and 1518 bytes,
/// interleaved.
pub const IMIX: [usize; 12] = [64, 570, 64, 64, 1518, 64, 570, 64, 64, 570, 64, 570];

/// A frame size to test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FrameSize {
    /// Every frame this many bytes, FCS included.
    Fixed(usize),
    /// [`IMIX`].
    Imix,
}

impl FrameSize {
    /// The sizes the generator cycles through.
    pub fn sizes(&self) -> Vec<usize> {
        match self {
            FrameSize::Fixed(s) => vec![*s],
            FrameSize::Imix => IMIX.to_vec(),
        }
    }

    /// Mean frame size in bytes (FCS included).
    pub fn mean_bytes(&self) -> f64 {
        let s = self.sizes();
        s.iter().sum::<usize>() as f64 / s.len() as f64
    }

    /// `64`, `1518` or `imix`.
    pub fn label(&self) -> String {
        match self {
            FrameSize::Fixed(s) => s.to_string(),
            FrameSize::Imix => "imix".into(),
        }
    }
}

impl std::str::FromStr for FrameSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("imix") {
            return Ok(FrameSize::Imix);
        }
        let n: usize = s
            .trim()
            .parse()
            .map_err(|_| format!("frame size {s:?}: a number or \"imix\""))?;
        if !(gen::MIN_FRAME_SIZE..=gen::MAX_FRAME_SIZE).contains(&n) {
            return Err(format!(
                "frame size {n}: must be {}..={}",
                gen::MIN_FRAME_SIZE,
                gen::MAX_FRAME_SIZE
            ));
        }
        Ok(FrameSize::Fixed(n))
    }
}

/// Source MAC of the first host behind the tester's `to_dut` port (host
/// `i` is this plus `i`): the forward direction's frames come from
/// `02:00:00:00:01:02`, `..:01:03`, ...
pub const FORWARD_SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x02];
/// Source MAC of the first host behind the tester's `from_dut` port: the
/// reverse direction's frames come from `02:00:00:00:02:02`, ...
pub const REVERSE_SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x02];

/// The flows the tester sends one way: as the `gen` driver makes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flows {
    /// Source MAC of the first emulated host ([`FORWARD_SRC_MAC`] or
    /// [`REVERSE_SRC_MAC`]).
    pub src_mac: [u8; 6],
    /// Destination MAC: the device's port the frames enter.
    pub dst_mac: [u8; 6],
    /// Source addresses.
    pub src: IpRange,
    /// Destination addresses.
    pub dst: IpRange,
    /// UDP source ports.
    pub src_port: PortRange,
    /// UDP destination ports.
    pub dst_port: PortRange,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            src_mac: FORWARD_SRC_MAC,
            dst_mac: [0x02, 0, 0, 0, 0, 1],
            src: IpRange::single(Ipv4Addr::new(10, 1, 0, 2)),
            dst: IpRange::single(Ipv4Addr::new(10, 2, 0, 2)),
            src_port: PortRange::single(1024),
            dst_port: PortRange::single(5001),
        }
    }
}

impl Flows {
    /// The mirrored flows: sources and destinations (addresses and ports)
    /// swapped, from [`REVERSE_SRC_MAC`] hosts to `dst_mac` (the device's
    /// other port).
    pub fn mirrored(&self, dst_mac: [u8; 6]) -> Flows {
        Flows {
            src_mac: REVERSE_SRC_MAC,
            dst_mac,
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
        }
    }
}

/// What a trial does.
#[derive(Clone, Debug)]
pub struct TrialSpec {
    /// Frame size.
    pub size: FrameSize,
    /// Target rate in packets per second (a two-way tester: the total of
    /// both directions); `None` = as fast as the tester can (100 % load).
    pub rate_pps: Option<f64>,
    /// How long to offer traffic.
    pub duration: Duration,
    /// Record latencies.
    pub latency: bool,
}

/// The two ports a tester drives, and the pool it allocates from. The
/// default types are `mem` ring ends on the native pool.
pub struct Device<P: Pool = NativePool, T: Port<P> = MemPort<Mbuf>> {
    /// The port whose transmit feeds the device's input (its ingress).
    pub to_dut: T,
    /// The port whose receive yields the device's output (its egress).
    pub from_dut: T,
    /// The pool the tester allocates from (the device's, when it has one).
    pub pool: P,
}

impl Device {
    /// A loopback: one `mem` link of `ring` packets, the tester's output
    /// straight into its own sink, no pipeline (the baseline).
    pub fn loopback(ring: usize, pool_size: usize) -> Result<Device> {
        let pool = NativePool::new(
            pool_size,
            pmd::pool::DEFAULT_DATA_ROOM.max(gen::MAX_FRAME_SIZE),
        )
        .context("allocating the loopback pool")?;
        let (mut a, mut b) = pmd::drivers::mem::link::<Mbuf>(1, ring);
        Ok(Device {
            to_dut: a.remove(0),
            from_dut: b.remove(0),
            pool,
        })
    }
}

/// Drives one device, trial after trial.
pub struct Tester<P: Pool = NativePool, T: Port<P> = MemPort<Mbuf>> {
    dev: Device<P, T>,
    flows: Flows,
    /// Two-way: the flows sent into `from_dut`.
    reverse: Option<Flows>,
    next_stream: u16,
    ns_per_cycle: f64,
    /// The device's workers, whose stalls explain loss ([`crate::stalls`]).
    workers: Vec<Arc<WorkerCounters>>,
    /// Enqueues the device refused during the current trial.
    drops: DropLog,
}

/// The outcome of one trial.
#[derive(Debug)]
pub struct TrialOutcome {
    /// Counts and rates.
    pub result: TrialResult,
    /// Latencies (both directions of a two-way trial), if recorded.
    pub latency: Option<LatencyHistogram>,
    /// Two-way trials recording latencies: each direction's, forward
    /// first.
    pub direction_latency: Vec<(Direction, LatencyHistogram)>,
}

/// One direction of a running trial: its generator (whose sink takes the
/// frames of this direction coming back) and latencies.
struct Way<P: Pool> {
    gen: GenPort<P>,
    stats: std::sync::Arc<gen::GenStats>,
    stream: u16,
    hist: Option<LatencyHistogram>,
}

impl<P: Pool, T: Port<P>> Tester<P, T> {
    /// A one-way tester for `dev` sending `flows` into `to_dut`.
    pub fn new(dev: Device<P, T>, flows: Flows) -> Tester<P, T> {
        let hz = pmd::tsc::hz();
        Tester {
            dev,
            flows,
            reverse: None,
            next_stream: 0,
            ns_per_cycle: 1e9 / hz as f64,
            workers: Vec::new(),
            drops: DropLog::default(),
        }
    }

    /// Watch the stall logs of the device's workers, to tell the loss the
    /// host causes by taking their cores away from the device's own
    /// ([`TrialResult::stalled_loss`]).
    pub fn watch_workers(&mut self, workers: Vec<Arc<WorkerCounters>>) {
        self.workers = workers;
    }

    /// A two-way tester: `forward` into `to_dut` (sunk from `from_dut`)
    /// and `reverse` into `from_dut` (sunk from `to_dut`), each at half
    /// of a trial's rate.
    pub fn two_way(dev: Device<P, T>, forward: Flows, reverse: Flows) -> Tester<P, T> {
        let mut t = Tester::new(dev, forward);
        t.reverse = Some(reverse);
        t
    }

    /// Whether it sends both ways.
    pub fn is_two_way(&self) -> bool {
        self.reverse.is_some()
    }

    /// The device (its ports, to read their counters).
    pub fn device(&self) -> &Device<P, T> {
        &self.dev
    }

    /// Open one direction's generator.
    fn way(
        &self,
        flows: &Flows,
        stream: u16,
        rate: Option<u64>,
        secs: f64,
        spec: &TrialSpec,
    ) -> Result<Way<P>> {
        let cfg = GenConfig {
            src_mac: flows.src_mac,
            dst_mac: flows.dst_mac,
            src_ip: flows.src,
            dst_ip: flows.dst,
            src_port: flows.src_port,
            dst_port: flows.dst_port,
            frame_size: gen::MIN_FRAME_SIZE,
            sizes: spec.size.sizes(),
            vlan: None,
            rate_pps: rate,
            count: rate.map(|r| ((r as f64 * secs).round() as u64).max(1)),
            stream,
            dont_fragment: false,
            arp_reply: false,
        };
        let (mut ports, stats) =
            gen::open(&cfg, 1, self.dev.pool.clone()).context("opening the tester's generator")?;
        Ok(Way {
            gen: ports.remove(0),
            stats,
            stream,
            hist: spec.latency.then(LatencyHistogram::new),
        })
    }

    /// Run one trial.
    pub fn run(&mut self, spec: &TrialSpec) -> Result<TrialOutcome> {
        let ways = if self.reverse.is_some() { 2 } else { 1 };
        let stream = self.next_stream;
        self.next_stream = (self.next_stream + ways) % (gen::MAX_STREAMS as u16);
        let secs = spec.duration.as_secs_f64();
        // Each direction offers its share of the target.
        let rate = spec
            .rate_pps
            .map(|r| ((r / f64::from(ways)).round() as u64).max(1));
        let mut fwd = self.way(&self.flows, stream, rate, secs, spec)?;
        let mut rev = match &self.reverse {
            Some(f) => Some(self.way(f, stream + 1, rate, secs, spec)?),
            None => None,
        };
        let mut out: Burst<P::Buf> = Burst::new();
        let mut got: Burst<P::Buf> = Burst::new();
        let hz = pmd::tsc::hz();
        let t0 = pmd::tsc::rdtsc();
        // A rate-limited trial ends when its count is sent; stop anyway a
        // little after its time if the tester could not keep up (the
        // offered rate then shows it).
        let limit = if rate.is_some() {
            secs * 1.1 + 0.005
        } else {
            secs
        };
        let end = t0 + (limit * hz as f64) as u64;
        let mut now = t0;
        let ns = self.ns_per_cycle;
        let dev = &mut self.dev;
        let drops = &mut self.drops;
        drops.clear();
        let pending = |fwd: &Way<P>, rev: &Option<Way<P>>| {
            fwd.gen.remaining() != Some(0)
                || rev.as_ref().is_some_and(|r| r.gen.remaining() != Some(0))
        };
        // After the device refused frames (it stalled), it will catch up
        // faster than the generator's pace: sink its backlog for a while.
        let catch_up = (CATCH_UP.as_secs_f64() * hz as f64) as u64;
        let mut catch_up_until = 0;
        while now < end && pending(&fwd, &rev) {
            if offer(&mut fwd, &mut dev.to_dut, &mut out, drops, now) {
                catch_up_until = now + catch_up;
            }
            let bursts = if now < catch_up_until { SINK_BURSTS } else { 1 };
            sink_backlog(&mut dev.from_dut, &mut fwd, &mut got, ns, bursts);
            if let Some(r) = &mut rev {
                if offer(r, &mut dev.from_dut, &mut out, drops, now) {
                    catch_up_until = now + catch_up;
                }
                sink_backlog(&mut dev.to_dut, r, &mut got, ns, bursts);
            }
            now = pmd::tsc::rdtsc();
        }
        let gen_secs = (now - t0) as f64 / hz as f64;
        // Drain: until the outputs stay empty for DRAIN_IDLE.
        let idle = (DRAIN_IDLE.as_secs_f64() * hz as f64) as u64;
        let drain_end = now + (DRAIN_MAX.as_secs_f64() * hz as f64) as u64;
        let mut last = now;
        loop {
            let t = pmd::tsc::rdtsc();
            let mut n = sink(&mut dev.from_dut, &mut fwd, &mut got, ns);
            if let Some(r) = &mut rev {
                n += sink(&mut dev.to_dut, r, &mut got, ns);
            }
            if n > 0 {
                last = t;
            } else if t - last > idle || t > drain_end {
                break;
            }
        }
        // A frame of either stream counts wherever it was sunk.
        let snaps: Vec<gen::GenSnapshot> = std::iter::once(&fwd)
            .chain(rev.as_ref())
            .map(|w| w.stats.snapshot())
            .collect();
        let count = |w: &Way<P>, direction| {
            let sent = snaps
                .iter()
                .filter_map(|s| s.stream(w.stream))
                .map(|s| s.sent)
                .sum::<u64>();
            let received = snaps
                .iter()
                .filter_map(|s| s.stream(w.stream))
                .map(|s| s.received.saturating_sub(s.duplicate))
                .sum::<u64>();
            DirectionResult {
                direction,
                offered_pps: sent as f64 / gen_secs.max(1e-9),
                sent,
                received,
            }
        };
        let f = count(&fwd, Direction::Forward);
        let directions = rev.as_ref().map(|r| [f, count(r, Direction::Reverse)]);
        let (sent, received) = match &directions {
            Some(d) => (d[0].sent + d[1].sent, d[0].received + d[1].received),
            None => (f.sent, f.received),
        };
        let rev_hist = rev.as_mut().and_then(|r| r.hist.take());
        let (latency, direction_latency) = match (fwd.hist.take(), rev_hist) {
            (Some(f), Some(r)) => {
                let mut total = LatencyHistogram::new();
                total.merge(&f)?;
                total.merge(&r)?;
                (
                    Some(total),
                    vec![(Direction::Forward, f), (Direction::Reverse, r)],
                )
            }
            (f, _) => (f, Vec::new()),
        };
        let mut result = TrialResult {
            target_pps: spec.rate_pps.unwrap_or(0.0),
            offered_pps: sent as f64 / gen_secs.max(1e-9),
            sent,
            received,
            directions,
            ..TrialResult::default()
        };
        self.account_stalls(t0, &mut result);
        Ok(TrialOutcome {
            result,
            latency,
            direction_latency,
        })
    }
}

impl<P: Pool, T: Port<P>> Tester<P, T> {
    /// Fill in the stalls of the device's workers since TSC `t0` and the
    /// loss they explain.
    fn account_stalls(&self, t0: u64, r: &mut TrialResult) {
        let now = pmd::tsc::rdtsc();
        let trial_ns = pmd::tsc::cycles_to_ns(now.wrapping_sub(t0)).max(1);
        let mut stalls = Vec::new();
        let mut share = 0f64;
        for w in &self.workers {
            let (mine, _) = w.stalls.since(t0);
            let ns: u64 = mine.iter().map(|s| s.ns()).sum();
            share = share.max(ns as f64 / trial_ns as f64);
            stalls.extend(mine);
        }
        r.stalls = stalls.len() as u32;
        r.off_cpu_stalls = stalls.iter().filter(|s| s.off_cpu()).count() as u32;
        r.longest_stall_us = stalls.iter().map(|s| s.ns()).max().unwrap_or(0) as f64 / 1e3;
        r.stalled_share = share;
        let grace = pmd::tsc::ns_to_cycles(crate::stalls::GRACE.as_nanos() as u64);
        r.stalled_loss = if share <= crate::stalls::MAX_STALLED_SHARE {
            crate::stalls::stalled_loss(self.drops.intervals(), &stalls, grace).min(r.lost())
        } else {
            0
        };
    }
}

/// Generate one burst of `way` into `port`, noting in `drops` what the
/// device refused at TSC `now`; whether it refused any.
#[inline]
fn offer<P: Pool, T: Port<P>>(
    way: &mut Way<P>,
    port: &mut T,
    out: &mut Burst<P::Buf>,
    drops: &mut DropLog,
    now: u64,
) -> bool {
    let n = way.gen.rx_burst(out);
    if n == 0 {
        return false;
    }
    let sent = port.tx_burst(out);
    if sent < n {
        drops.note(now, (n - sent) as u64);
    }
    sent < n
}

/// Bursts the sink may take between two generated bursts while the
/// device catches up.
const SINK_BURSTS: usize = 8;
/// How long after the device last refused frames the sink takes up to
/// [`SINK_BURSTS`] per turn (one otherwise: draining eagerly all the time
/// costs the tester rate in cache traffic on the ring).
const CATCH_UP: Duration = Duration::from_millis(5);

/// Take what `port` has, up to `bursts` bursts, into `way`'s sink: a
/// device catching up after a stall sends faster than the generator's
/// pace, and its output ring must not overflow because the tester took
/// one burst per turn (a NIC receives at line rate).
#[inline]
fn sink_backlog<P: Pool, T: Port<P>>(
    port: &mut T,
    way: &mut Way<P>,
    got: &mut Burst<P::Buf>,
    ns_per_cycle: f64,
    bursts: usize,
) -> usize {
    let mut total = 0;
    for _ in 0..bursts {
        let n = sink(port, way, got, ns_per_cycle);
        total += n;
        if n < pmd::BURST {
            break;
        }
    }
    total
}

/// Take one burst off `port` into `way`'s sink (recording latencies if
/// asked); returns how many frames.
#[inline]
fn sink<P: Pool, T: Port<P>>(
    port: &mut T,
    way: &mut Way<P>,
    got: &mut Burst<P::Buf>,
    ns_per_cycle: f64,
) -> usize {
    let n = port.rx_burst(got);
    if n == 0 {
        return 0;
    }
    if let Some(h) = &mut way.hist {
        let now = pmd::tsc::rdtsc() & MASK48;
        for p in got.iter() {
            if let Some(s) = Stamp::parse_frame(p.data()) {
                let cycles = now.wrapping_sub(s.tsc) & MASK48;
                h.record((cycles as f64 * ns_per_cycle) as u64);
            }
        }
    }
    way.gen.tx_burst(got);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_parse_and_average() {
        assert_eq!("64".parse(), Ok(FrameSize::Fixed(64)));
        assert_eq!("IMIX".parse(), Ok(FrameSize::Imix));
        assert!("63".parse::<FrameSize>().is_err());
        assert!("1519".parse::<FrameSize>().is_err());
        let m = FrameSize::Imix.mean_bytes();
        assert!((m - (7.0 * 64.0 + 4.0 * 570.0 + 1518.0) / 12.0).abs() < 1e-9);
        assert_eq!(IMIX.iter().filter(|&&s| s == 64).count(), 7);
    }

    #[test]
    fn loopback_loses_nothing_at_a_modest_rate() {
        let dev = Device::loopback(1024, 4096).unwrap();
        let mut t = Tester::new(dev, Flows::default());
        let o = t
            .run(&TrialSpec {
                size: FrameSize::Fixed(128),
                rate_pps: Some(20_000.0),
                duration: Duration::from_millis(100),
                latency: true,
            })
            .unwrap();
        // At most 2000 (fewer if this thread was descheduled for long),
        // every one received and timed.
        let sent = o.result.sent;
        assert!(sent > 0 && sent <= 2000, "{:?}", o.result);
        assert_eq!(o.result.received, sent, "{:?}", o.result);
        assert_eq!(o.latency.unwrap().len(), sent);
        // A second trial uses a new stream and starts from zero.
        let o = t
            .run(&TrialSpec {
                size: FrameSize::Imix,
                rate_pps: Some(10_000.0),
                duration: Duration::from_millis(50),
                latency: false,
            })
            .unwrap();
        assert!(o.result.sent > 0 && o.result.sent <= 500);
        assert_eq!(o.result.received, o.result.sent);
        assert!(o.latency.is_none());
    }

    /// A `mem` end that drops every `drop_every`-th frame it transmits
    /// (0: none), counting them: a device losing on purpose.
    struct Lossy {
        inner: MemPort<Mbuf>,
        drop_every: usize,
        seen: usize,
    }

    impl Port<NativePool> for Lossy {
        fn rx_burst(&mut self, out: &mut Burst<Mbuf>) -> usize {
            <_ as Port<NativePool>>::rx_burst(&mut self.inner, out)
        }
        fn tx_burst(&mut self, pkts: &mut Burst<Mbuf>) -> usize {
            if self.drop_every > 0 {
                let (every, seen) = (self.drop_every, &mut self.seen);
                pkts.retain(|_| {
                    *seen += 1;
                    *seen % every != 0
                });
            }
            <_ as Port<NativePool>>::tx_burst(&mut self.inner, pkts)
        }
        fn stats(&self) -> &std::sync::Arc<pmd::QueueStats> {
            <_ as Port<NativePool>>::stats(&self.inner)
        }
    }

    fn lossy_loopback(fwd_drop: usize, rev_drop: usize) -> Device<NativePool, Lossy> {
        let Device {
            to_dut,
            from_dut,
            pool,
        } = Device::loopback(1024, 4096).unwrap();
        Device {
            to_dut: Lossy {
                inner: to_dut,
                drop_every: fwd_drop,
                seen: 0,
            },
            from_dut: Lossy {
                inner: from_dut,
                drop_every: rev_drop,
                seen: 0,
            },
            pool,
        }
    }

    fn two_way_spec(latency: bool) -> TrialSpec {
        TrialSpec {
            size: FrameSize::Fixed(64),
            rate_pps: Some(40_000.0),
            duration: Duration::from_millis(100),
            latency,
        }
    }

    #[test]
    fn mirrored_flows_swap_addresses_and_ports() {
        let f = Flows {
            src: IpRange {
                start: Ipv4Addr::new(10, 1, 0, 2),
                count: 16,
            },
            dst_port: PortRange::single(7),
            ..Flows::default()
        };
        let m = f.mirrored([2, 0, 0, 0, 0, 2]);
        assert_eq!((m.src, m.dst), (f.dst, f.src));
        assert_eq!((m.src_port, m.dst_port), (f.dst_port, f.src_port));
        assert_eq!(
            (m.src_mac, m.dst_mac),
            (REVERSE_SRC_MAC, [2, 0, 0, 0, 0, 2])
        );
    }

    #[test]
    fn two_way_loopback_counts_each_direction_without_loss() {
        let f = Flows::default();
        let r = f.mirrored([2, 0, 0, 0, 0, 2]);
        let mut t = Tester::two_way(lossy_loopback(0, 0), f, r);
        assert!(t.is_two_way());
        let o = t.run(&two_way_spec(true)).unwrap();
        let d = o.result.directions.expect("two-way counts");
        // 20 kpps each way for 0.1 s: at most 2000 each.
        for (x, dir) in d.iter().zip(Direction::BOTH) {
            assert_eq!(x.direction, dir);
            assert!(x.sent > 0 && x.sent <= 2000, "{d:?}");
            assert_eq!(x.received, x.sent, "{d:?}");
        }
        assert_eq!(o.result.sent, d[0].sent + d[1].sent);
        assert_eq!(o.result.received, o.result.sent);
        let total = o.latency.unwrap();
        assert_eq!(total.len(), o.result.sent);
        assert_eq!(o.direction_latency.len(), 2);
        assert_eq!(o.direction_latency[0].1.len(), d[0].sent);
        assert_eq!(o.direction_latency[1].1.len(), d[1].sent);
        // The next trial takes two fresh streams.
        let o = t.run(&two_way_spec(false)).unwrap();
        assert_eq!(o.result.received, o.result.sent);
        assert!(o.direction_latency.is_empty());
    }

    #[test]
    fn two_way_loss_is_counted_in_the_direction_that_lost() {
        let f = Flows::default();
        let r = f.mirrored([2, 0, 0, 0, 0, 2]);
        // The reverse direction's sender drops every 4th frame.
        let mut t = Tester::two_way(lossy_loopback(0, 4), f, r);
        let o = t.run(&two_way_spec(false)).unwrap();
        let [fwd, rev] = o.result.directions.unwrap();
        assert!(fwd.sent > 100 && rev.sent > 100, "{:?}", o.result);
        assert_eq!(fwd.lost(), 0, "{fwd:?}");
        assert_eq!(rev.lost(), rev.sent / 4, "{rev:?}");
        assert_eq!(o.result.lost(), rev.lost());
        assert!(!o.result.passes(0.0));
    }
}
