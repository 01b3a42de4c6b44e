//! Generator and sink counters: one single-writer block per queue, summed
//! into a plain [`GenSnapshot`] when read.

use crate::stats::Counter;
use crate::tsc;

/// Streams a sink tracks: stream ids `0..MAX_STREAMS`.
pub const MAX_STREAMS: usize = 1024;
/// Buckets of the latency histogram: bucket `i > 0` counts latencies of
/// `2^(i-1) ..= 2^i - 1` TSC cycles, bucket 0 counts zero.
pub const LATENCY_BUCKETS: usize = 64;

/// Counters of one stream at one sink queue.
#[derive(Debug, Default)]
pub(super) struct StreamCounters {
    pub(super) received: Counter,
    pub(super) lost: Counter,
    pub(super) reordered: Counter,
    pub(super) duplicate: Counter,
}

/// Counters written by one generator queue (and its sink).
#[derive(Debug)]
#[repr(align(64))]
pub(super) struct QueueCounters {
    pub(super) generated: Counter,
    pub(super) generated_bytes: Counter,
    pub(super) no_buffer: Counter,
    pub(super) arp_requests: Counter,
    pub(super) arp_replies: Counter,
    pub(super) arp_dropped: Counter,
    pub(super) sink_packets: Counter,
    pub(super) sink_bytes: Counter,
    pub(super) sink_other: Counter,
    pub(super) lat_min: Counter,
    pub(super) lat_max: Counter,
    pub(super) lat_sum: Counter,
    pub(super) lat_hist: [Counter; LATENCY_BUCKETS],
    pub(super) streams: Box<[StreamCounters]>,
}

impl QueueCounters {
    fn new() -> Self {
        let q = QueueCounters {
            generated: Counter::default(),
            generated_bytes: Counter::default(),
            no_buffer: Counter::default(),
            arp_requests: Counter::default(),
            arp_replies: Counter::default(),
            arp_dropped: Counter::default(),
            sink_packets: Counter::default(),
            sink_bytes: Counter::default(),
            sink_other: Counter::default(),
            lat_min: Counter::default(),
            lat_max: Counter::default(),
            lat_sum: Counter::default(),
            lat_hist: std::array::from_fn(|_| Counter::default()),
            streams: (0..MAX_STREAMS)
                .map(|_| StreamCounters::default())
                .collect(),
        };
        q.lat_min.set(u64::MAX);
        q
    }
}

/// Counters of one generator port, shared between its queues and readers.
///
/// Each queue writes only its own block (single writer, no locked
/// instructions); [`GenStats::snapshot`] sums them.
#[derive(Debug)]
pub struct GenStats {
    pub(super) queues: Box<[QueueCounters]>,
    /// Stream id of queue 0; queue `q` sends stream `first_stream + q`.
    first_stream: u16,
}

impl GenStats {
    pub(super) fn new(queues: usize, first_stream: u16) -> Self {
        GenStats {
            queues: (0..queues).map(|_| QueueCounters::new()).collect(),
            first_stream,
        }
    }

    /// Number of queues.
    pub fn queues(&self) -> usize {
        self.queues.len()
    }

    /// The streams this port generates: one per queue.
    pub fn streams(&self) -> std::ops::Range<u16> {
        self.first_stream..self.first_stream + self.queues.len() as u16
    }

    /// Sum every queue into a plain snapshot (allocates; not for the fast
    /// path).
    pub fn snapshot(&self) -> GenSnapshot {
        let mut s = GenSnapshot {
            latency: Latency {
                min_cycles: u64::MAX,
                hz: tsc::hz(),
                ..Latency::default()
            },
            ..GenSnapshot::default()
        };
        let mut streams = vec![StreamSnapshot::default(); MAX_STREAMS];
        for (id, st) in streams.iter_mut().enumerate() {
            st.id = id as u16;
        }
        for (i, q) in self.queues.iter().enumerate() {
            s.generated += q.generated.get();
            s.generated_bytes += q.generated_bytes.get();
            s.no_buffer += q.no_buffer.get();
            s.arp_requests += q.arp_requests.get();
            s.arp_replies += q.arp_replies.get();
            s.arp_dropped += q.arp_dropped.get();
            s.sink_packets += q.sink_packets.get();
            s.sink_bytes += q.sink_bytes.get();
            s.sink_other += q.sink_other.get();
            let l = &mut s.latency;
            l.min_cycles = l.min_cycles.min(q.lat_min.get());
            l.max_cycles = l.max_cycles.max(q.lat_max.get());
            l.sum_cycles += q.lat_sum.get();
            for (b, c) in l.buckets.iter_mut().zip(&q.lat_hist) {
                *b += c.get();
            }
            if let Some(st) = streams.get_mut(usize::from(self.first_stream) + i) {
                st.sent = q.generated.get();
            }
            for (st, c) in streams.iter_mut().zip(q.streams.iter()) {
                st.received += c.received.get();
                st.lost = st.lost.wrapping_add(c.lost.get());
                st.reordered += c.reordered.get();
                st.duplicate += c.duplicate.get();
            }
        }
        s.latency.count = s.latency.buckets.iter().sum();
        if s.latency.count == 0 {
            s.latency.min_cycles = 0;
        }
        streams.retain(|st| st.sent != 0 || st.received != 0 || st.lost != 0);
        for st in &streams {
            s.sink_lost = s.sink_lost.wrapping_add(st.lost);
            s.sink_reordered += st.reordered;
            s.sink_duplicate += st.duplicate;
        }
        s.streams = streams;
        s
    }
}

/// A plain copy of a generator port's counters, summed over its queues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenSnapshot {
    /// Stamped packets generated (handed to the router).
    pub generated: u64,
    /// Bytes of those packets (without FCS).
    pub generated_bytes: u64,
    /// Packets the generator could not make for want of a buffer (the rate
    /// was due but the pool was empty).
    pub no_buffer: u64,
    /// Stamped packets that reached the sink (sent to this port).
    pub sink_packets: u64,
    /// Bytes of those packets.
    pub sink_bytes: u64,
    /// Other packets sent to this port (not stamped: ARP, foreign traffic,
    /// streams beyond [`MAX_STREAMS`]).
    pub sink_other: u64,
    /// Packets missing from the streams seen by the sink: sequence gaps,
    /// minus the late packets that later filled them. Packets lost after
    /// the last one received are not visible here: compare
    /// [`StreamSnapshot::sent`] at the sender with `received` here.
    pub sink_lost: u64,
    /// Packets that arrived after a later packet of their stream.
    pub sink_reordered: u64,
    /// Packets that arrived twice (detected within 64 sequence numbers of
    /// the newest; older late packets count as reordered).
    pub sink_duplicate: u64,
    /// ARP requests for emulated hosts, queued for a reply.
    pub arp_requests: u64,
    /// ARP replies sent.
    pub arp_replies: u64,
    /// ARP requests not answered because the reply queue was full.
    pub arp_dropped: u64,
    /// Latency of the stamped packets, generator to sink.
    pub latency: Latency,
    /// Per-stream counters for every stream sent or received here, by id.
    pub streams: Vec<StreamSnapshot>,
}

impl GenSnapshot {
    /// The counters of stream `id`, if it was sent or received here.
    pub fn stream(&self, id: u16) -> Option<&StreamSnapshot> {
        self.streams.iter().find(|s| s.id == id)
    }

    /// Packets this port sent on its streams that the `receivers` did not
    /// receive (the tail loss [`GenSnapshot::sink_lost`] cannot see, plus
    /// the gaps), summed over this port's streams; negative values (more
    /// received than sent, e.g. duplicates) count as 0.
    pub fn lost_to(&self, receivers: &[&GenSnapshot]) -> u64 {
        self.streams
            .iter()
            .filter(|s| s.sent != 0)
            .map(|s| {
                let got: u64 = receivers
                    .iter()
                    .filter_map(|r| r.stream(s.id))
                    .map(|r| r.received - r.duplicate)
                    .sum();
                s.sent.saturating_sub(got)
            })
            .sum()
    }
}

/// Counters of one stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamSnapshot {
    /// Stream id.
    pub id: u16,
    /// Packets this port generated on the stream.
    pub sent: u64,
    /// Packets of the stream this port's sink received.
    pub received: u64,
    /// Gaps in the stream seen by the sink (see [`GenSnapshot::sink_lost`]).
    pub lost: u64,
    /// Packets that arrived late.
    pub reordered: u64,
    /// Packets that arrived twice.
    pub duplicate: u64,
}

/// A log2 latency histogram in TSC cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Packets measured.
    pub count: u64,
    /// Smallest latency seen (0 if none).
    pub min_cycles: u64,
    /// Largest latency seen.
    pub max_cycles: u64,
    /// Sum of all latencies.
    pub sum_cycles: u64,
    /// Bucket `i > 0` counts latencies of `2^(i-1) ..= 2^i - 1` cycles;
    /// bucket 0 counts zero.
    pub buckets: [u64; LATENCY_BUCKETS],
    /// TSC frequency the cycles were counted in ([`tsc::hz`]).
    pub hz: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            count: 0,
            min_cycles: 0,
            max_cycles: 0,
            sum_cycles: 0,
            buckets: [0; LATENCY_BUCKETS],
            hz: 1,
        }
    }
}

impl Latency {
    fn ns(&self, cycles: u64) -> u64 {
        (u128::from(cycles) * 1_000_000_000 / u128::from(self.hz.max(1))) as u64
    }

    /// Smallest latency in nanoseconds.
    pub fn min_ns(&self) -> u64 {
        self.ns(self.min_cycles)
    }

    /// Largest latency in nanoseconds.
    pub fn max_ns(&self) -> u64 {
        self.ns(self.max_cycles)
    }

    /// Mean latency in nanoseconds (0 if none).
    pub fn mean_ns(&self) -> u64 {
        self.ns(self.sum_cycles.checked_div(self.count).unwrap_or(0))
    }

    /// An upper bound of the `q`-quantile (`0.0..=1.0`) in nanoseconds: the
    /// top of the bucket holding it, clamped to the maximum seen.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &b) in self.buckets.iter().enumerate() {
            seen += b;
            if seen >= rank {
                let top = if i == 0 { 0 } else { (1u64 << i) - 1 };
                return self.ns(top.min(self.max_cycles));
            }
        }
        self.max_ns()
    }
}

/// The histogram bucket of a latency of `cycles`.
#[inline(always)]
pub(super) fn bucket(cycles: u64) -> usize {
    ((64 - cycles.leading_zeros()) as usize).min(LATENCY_BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_quantiles() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 1);
        assert_eq!(bucket(2), 2);
        assert_eq!(bucket(3), 2);
        assert_eq!(bucket(4), 3);
        assert_eq!(bucket(u64::MAX), 63);
        let mut l = Latency {
            hz: 1_000_000_000,
            ..Latency::default()
        };
        for c in [10u64, 10, 10, 1000] {
            l.buckets[bucket(c)] += 1;
            l.count += 1;
            l.sum_cycles += c;
            l.max_cycles = l.max_cycles.max(c);
        }
        l.min_cycles = 10;
        assert_eq!(l.quantile_ns(0.5), 15);
        assert_eq!(l.quantile_ns(1.0), 1000);
        assert_eq!(l.mean_ns(), 257);
    }
}
