//! The tester: one thread generating stamped frames into a device's input
//! ring and sinking what comes out of its output ring, apart from the
//! device's own cores.
//!
//! A *device* is two `mem` ring ends ([`Device`]): weir's ingress and
//! egress interfaces taken with [`ctrl::router::Router::take_external`], or
//! the two ends of one link joined back to back (the loopback baseline).
//! Rings have a finite size, so when the device falls behind, the
//! tester's enqueue fails and the frame is lost, as on a NIC.
//!
//! Each trial opens a fresh `gen` port (its generator and sink) on a stream
//! id of its own, offers frames at the target rate (a token bucket on the
//! TSC) for the trial's duration, then keeps sinking until the output has
//! been idle for [`DRAIN_IDLE`]. Loss is the sink's count by sequence
//! number: frames of the trial's stream generated but never received.

use crate::latency::LatencyHistogram;
use crate::search::TrialResult;
use anyhow::{Context, Result};
use pmd::drivers::gen::{self, GenConfig, IpRange, PortRange, Stamp, MASK48};
use pmd::drivers::mem::MemPort;
use pmd::{Buf, Burst, Mbuf, NativePool, Port};
use std::net::Ipv4Addr;
use std::time::Duration;

/// How long the device's output must stay empty before a trial ends.
pub const DRAIN_IDLE: Duration = Duration::from_millis(20);
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

/// The flows the tester sends: as the `gen` driver makes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flows {
    /// Destination MAC: the device's ingress port.
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
            dst_mac: [0x02, 0, 0, 0, 0, 1],
            src: IpRange::single(Ipv4Addr::new(10, 1, 0, 2)),
            dst: IpRange::single(Ipv4Addr::new(10, 2, 0, 2)),
            src_port: PortRange::single(1024),
            dst_port: PortRange::single(5001),
        }
    }
}

/// What a trial does.
#[derive(Clone, Debug)]
pub struct TrialSpec {
    /// Frame size.
    pub size: FrameSize,
    /// Target rate in packets per second; `None` = as fast as the tester
    /// can (100 % load).
    pub rate_pps: Option<f64>,
    /// How long to offer traffic.
    pub duration: Duration,
    /// Record latencies.
    pub latency: bool,
}

/// The two ring ends a tester drives.
pub struct Device {
    /// The end whose transmit feeds the device's input.
    pub to_dut: MemPort<Mbuf>,
    /// The end whose receive yields the device's output.
    pub from_dut: MemPort<Mbuf>,
    /// The pool the tester allocates from (the device's, when it has one).
    pub pool: NativePool,
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
pub struct Tester {
    dev: Device,
    flows: Flows,
    next_stream: u16,
    ns_per_cycle: f64,
}

/// The outcome of one trial.
#[derive(Debug)]
pub struct TrialOutcome {
    /// Counts and rates.
    pub result: TrialResult,
    /// Latencies, if recorded.
    pub latency: Option<LatencyHistogram>,
}

impl Tester {
    /// A tester for `dev` sending `flows`.
    pub fn new(dev: Device, flows: Flows) -> Tester {
        let hz = pmd::tsc::hz();
        Tester {
            dev,
            flows,
            next_stream: 0,
            ns_per_cycle: 1e9 / hz as f64,
        }
    }

    /// Run one trial.
    pub fn run(&mut self, spec: &TrialSpec) -> Result<TrialOutcome> {
        let stream = self.next_stream;
        self.next_stream = (self.next_stream + 1) % (gen::MAX_STREAMS as u16);
        let secs = spec.duration.as_secs_f64();
        let rate = spec.rate_pps.map(|r| (r.round() as u64).max(1));
        let cfg = GenConfig {
            src_mac: [0x02, 0, 0, 0, 0x01, 0x02],
            dst_mac: self.flows.dst_mac,
            src_ip: self.flows.src,
            dst_ip: self.flows.dst,
            src_port: self.flows.src_port,
            dst_port: self.flows.dst_port,
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
        let mut g = ports.remove(0);
        let mut hist = spec.latency.then(LatencyHistogram::new);
        let mut out: Burst<Mbuf> = Burst::new();
        let mut got: Burst<Mbuf> = Burst::new();
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
        while now < end && g.remaining() != Some(0) {
            if <_ as Port<NativePool>>::rx_burst(&mut g, &mut out) > 0 {
                <_ as Port<NativePool>>::tx_burst(&mut self.dev.to_dut, &mut out);
            }
            self.sink(&mut g, &mut got, hist.as_mut());
            now = pmd::tsc::rdtsc();
        }
        let gen_secs = (now - t0) as f64 / hz as f64;
        // Drain: until the output stays empty for DRAIN_IDLE.
        let idle = (DRAIN_IDLE.as_secs_f64() * hz as f64) as u64;
        let drain_end = now + (DRAIN_MAX.as_secs_f64() * hz as f64) as u64;
        let mut last = now;
        loop {
            let t = pmd::tsc::rdtsc();
            if self.sink(&mut g, &mut got, hist.as_mut()) > 0 {
                last = t;
            } else if t - last > idle || t > drain_end {
                break;
            }
        }
        let snap = stats.snapshot();
        let sent = snap.stream(stream).map_or(0, |s| s.sent);
        let received = snap
            .stream(stream)
            .map_or(0, |s| s.received.saturating_sub(s.duplicate));
        Ok(TrialOutcome {
            result: TrialResult {
                target_pps: spec.rate_pps.unwrap_or(0.0),
                offered_pps: sent as f64 / gen_secs.max(1e-9),
                sent,
                received,
            },
            latency: hist,
        })
    }

    /// Take one burst off the device's output into the sink; returns how
    /// many frames.
    #[inline]
    fn sink(
        &mut self,
        g: &mut gen::GenPort<NativePool>,
        got: &mut Burst<Mbuf>,
        hist: Option<&mut LatencyHistogram>,
    ) -> usize {
        let n = <_ as Port<NativePool>>::rx_burst(&mut self.dev.from_dut, got);
        if n == 0 {
            return 0;
        }
        if let Some(h) = hist {
            let now = pmd::tsc::rdtsc() & MASK48;
            for p in got.iter() {
                if let Some(s) = Stamp::parse_frame(p.data()) {
                    let cycles = now.wrapping_sub(s.tsc) & MASK48;
                    h.record((cycles as f64 * self.ns_per_cycle) as u64);
                }
            }
        }
        <_ as Port<NativePool>>::tx_burst(g, got);
        n
    }
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
}
