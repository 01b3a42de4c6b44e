//! `gen`: a traffic generator and sink polled like any port (as DPDK's
//! `net_null`), so one core can measure the pipeline itself.
//!
//! Each queue of a generator port is a [`GenPort`]:
//!
//! - `rx_burst` *generates*: it takes buffers from the pool and writes
//!   stamped IPv4/UDP frames from a precomputed template, cycling through
//!   [`Flows`] (every combination of the configured address and port
//!   ranges), at a configured rate (a token bucket on the TSC) or as fast
//!   as it is polled, until an optional packet count is reached;
//! - `tx_burst` is the *sink*: it frees what the router sends to the port,
//!   reads the [`Stamp`] of each packet and keeps per-stream sequence
//!   accounting (loss, reordering, duplicates) and a latency histogram;
//! - with [`GenConfig::arp_reply`], ARP requests sent to the port for an
//!   address in the source range (the hosts emulated behind the port) are
//!   answered on the next `rx_burst`, so a router resolves those hosts by
//!   real ARP.
//!
//! The port's [`QueueStats`] count in the router's terms: `rx_*` are the
//! packets the generator handed to the router, `tx_*` the packets the router
//! sent to the sink. Generator and sink details are in [`GenStats`].
//!
//! # Frames
//!
//! ```text
//!  offset len  field
//!   0      6   destination MAC        GenConfig::dst_mac (the router)
//!   6      6   source MAC             host MAC: src_mac + host index
//!  12      2   ethertype 0x0800
//!  14     20   IPv4   version 4, IHL 5, TOS 0, total length, ID 0,
//!                     flags DF or 0, TTL 64, protocol 17, header checksum,
//!                     source address, destination address
//!  34      8   UDP    source port, destination port, length, checksum 0
//!  42     18   stamp  magic "weir", stream, seq (48 bits), TSC (48 bits)
//!  60    ...   zeros up to frame_size - 4
//!              (FCS: 4 bytes on the wire, not in the buffer)
//! ```
//!
//! Frame sizes are counted as RFC 2544 counts them, *including* the 4-byte
//! FCS, so a 64-byte frame is a 60-byte buffer. A VLAN tag
//! ([`GenConfig::vlan`]) lives in the metadata like every received tag, and
//! the driver that puts the packet on a wire adds its 4 bytes to the frame.
//! A UDP checksum of 0 means "none", which IPv4 allows. See [`stamp`] for
//! the stamp layout.
//!
//! # Cost
//!
//! Generating a packet copies a 60-byte template, patches a dozen fields
//! (addresses, ports, lengths, an IPv4 checksum computed from a
//! precomputed partial sum, the stamp), and zeroes the rest of a larger
//! frame; the TSC is read once per burst. The sink parses three headers and
//! touches one stream entry and one histogram bucket per packet. Nothing
//! allocates, locks, divides or calls the kernel per packet.

mod arp;
mod flows;
pub mod stamp;
mod stats;

pub use arp::{host_mac, ARP_QUEUE};
pub use flows::{Flow, Flows, IpRange, PortRange};
pub use stamp::{Stamp, MASK48, STAMP_LEN, STAMP_MAGIC, STAMP_OFFSET};
pub use stats::{GenSnapshot, GenStats, Latency, StreamSnapshot, LATENCY_BUCKETS, MAX_STREAMS};

use crate::buf::{Buf, Burst, Meta, Pool, BURST};
use crate::port::Port;
use crate::stats::QueueStats;
use crate::tsc;
use arp::{Outcome, Responder, ARP_FRAME_LEN};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Bytes of frame check sequence counted in a frame size but absent from
/// the buffer.
pub const FCS_LEN: usize = 4;
/// Smallest frame size (with FCS).
pub const MIN_FRAME_SIZE: usize = 64;
/// Largest frame size (with FCS).
pub const MAX_FRAME_SIZE: usize = 1518;
/// Bytes of a frame the template covers: headers and stamp.
const HEAD: usize = MIN_FRAME_SIZE - FCS_LEN;

/// The "simple IMIX" mix of frame sizes (7 × 64, 4 × 576, 1 × 1518 bytes),
/// interleaved, for [`GenConfig::sizes`].
pub const SIMPLE_IMIX: [usize; 12] = [64, 576, 64, 64, 1518, 64, 576, 64, 64, 576, 64, 576];

/// What to generate and how a generator port behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    /// MAC of the first emulated host; host `i` (the `i`-th address of
    /// `src_ip`) uses `src_mac + i` (see [`host_mac`]).
    pub src_mac: [u8; 6],
    /// Destination MAC of generated frames: the router's port.
    pub dst_mac: [u8; 6],
    /// Source addresses: the hosts emulated behind this port.
    pub src_ip: IpRange,
    /// Destination addresses (vary fastest).
    pub dst_ip: IpRange,
    /// UDP source ports (vary slowest).
    pub src_port: PortRange,
    /// UDP destination ports.
    pub dst_port: PortRange,
    /// Frame size in bytes, *including* the 4-byte FCS as RFC 2544 counts
    /// it (`64..=1518`); buffers hold `frame_size - 4` bytes.
    pub frame_size: usize,
    /// If non-empty, frame sizes cycle through this list (each counted as
    /// `frame_size` is) and `frame_size` is ignored; e.g. [`SIMPLE_IMIX`].
    pub sizes: Vec<usize>,
    /// 802.1Q TCI (usually just the VLAN ID) of generated packets
    /// ([`Buf::set_vlan`]); the transmitting driver inserts the tag.
    pub vlan: Option<u16>,
    /// Packets per second for the whole port, shared evenly between its
    /// queues; `None` generates as fast as the port is polled.
    pub rate_pps: Option<u64>,
    /// Stop after this many packets for the whole port, shared evenly
    /// between its queues; `Some(0)` makes a pure sink.
    pub count: Option<u64>,
    /// Stream id of queue 0: queue `q` stamps stream `stream + q`. Give
    /// the generator ports of one test disjoint stream ranges, below
    /// [`MAX_STREAMS`].
    pub stream: u16,
    /// Set the IPv4 "don't fragment" flag.
    pub dont_fragment: bool,
    /// Answer ARP requests for addresses in `src_ip`.
    pub arp_reply: bool,
}

impl Default for GenConfig {
    /// 64-byte frames from 10.0.0.2 port 1024 to 10.1.0.2 port 1024,
    /// unlimited rate and count, stream 0, answering ARP.
    fn default() -> Self {
        GenConfig {
            src_mac: [0x02, 0, 0, 0, 0x01, 0x00],
            dst_mac: [0x02, 0, 0, 0, 0x00, 0x01],
            src_ip: IpRange::single(Ipv4Addr::new(10, 0, 0, 2)),
            dst_ip: IpRange::single(Ipv4Addr::new(10, 1, 0, 2)),
            src_port: PortRange::single(1024),
            dst_port: PortRange::single(1024),
            frame_size: MIN_FRAME_SIZE,
            sizes: Vec::new(),
            vlan: None,
            rate_pps: None,
            count: None,
            stream: 0,
            dont_fragment: false,
            arp_reply: true,
        }
    }
}

impl GenConfig {
    /// The frame sizes generated, in order (with FCS).
    pub fn frame_sizes(&self) -> &[usize] {
        if self.sizes.is_empty() {
            std::slice::from_ref(&self.frame_size)
        } else {
            &self.sizes
        }
    }

    /// The flows generated, from the first.
    pub fn flows(&self) -> Flows {
        Flows::new(self.src_ip, self.dst_ip, self.src_port, self.dst_port)
    }

    /// The MAC address of the emulated host `ip`, if it is one.
    pub fn host_mac(&self, ip: Ipv4Addr) -> Option<[u8; 6]> {
        self.src_ip.offset(ip).map(|i| host_mac(self.src_mac, i))
    }

    /// Check the configuration for a port of `queues` queues.
    pub fn validate(&self, queues: usize) -> Result<(), GenError> {
        if queues == 0 {
            return Err(GenError::NoQueues);
        }
        if let Some(&bad) = self
            .frame_sizes()
            .iter()
            .find(|s| !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(s))
        {
            return Err(GenError::FrameSize(bad));
        }
        for (ok, field) in [
            (self.src_ip.is_valid(), "src_ip"),
            (self.dst_ip.is_valid(), "dst_ip"),
            (self.src_port.is_valid(), "src_port"),
            (self.dst_port.is_valid(), "dst_port"),
        ] {
            if !ok {
                return Err(GenError::Range(field));
            }
        }
        if usize::from(self.stream) + queues > MAX_STREAMS {
            return Err(GenError::Streams {
                first: self.stream,
                queues,
            });
        }
        Ok(())
    }
}

/// Errors opening a generator port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenError {
    /// A port needs at least one queue.
    #[error("a generator port needs at least one queue")]
    NoQueues,
    /// A frame size outside `64..=1518`.
    #[error("frame size {0} is outside {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE} (sizes count the FCS)")]
    FrameSize(usize),
    /// An empty range, or one running past the last address or port.
    #[error("{0}: the range is empty or runs past the last value")]
    Range(&'static str),
    /// Stream ids beyond what sinks track.
    #[error("streams {first}..{} exceed the {MAX_STREAMS} streams a sink tracks", usize::from(*first) + queues)]
    Streams {
        /// First stream id.
        first: u16,
        /// Queues (one stream each).
        queues: usize,
    },
    /// The pool's buffers are too small for the largest frame.
    #[error("frames of {need} bytes do not fit the pool's {have}-byte buffers")]
    DataRoom {
        /// Largest buffer length needed (frame size without FCS).
        need: usize,
        /// The pool's data room.
        have: usize,
    },
}

/// Lengths of one frame size, precomputed.
#[derive(Clone, Copy, Debug)]
struct Size {
    /// Buffer length (frame size without FCS).
    len: u16,
    /// IPv4 total length.
    ip_len: u16,
    /// UDP length.
    udp_len: u16,
}

/// A token bucket on the TSC, in 1/65536 cycles.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Cost of one packet.
    cost: u64,
    /// Most credit the bucket holds.
    depth: u64,
    credit: u64,
    last: u64,
}

impl Bucket {
    fn new(pps: u64, hz: u64) -> Self {
        let cost = ((u128::from(hz) << 16) / u128::from(pps.max(1)))
            .clamp(1, u128::from(u64::MAX >> 8)) as u64;
        // Hold up to 100 µs of traffic, and at least two bursts, so a
        // worker that polls late still catches up.
        let packets = (pps / 10_000).max(2 * BURST as u64);
        Bucket {
            cost,
            depth: cost.saturating_mul(packets),
            credit: 0,
            last: tsc::rdtsc(),
        }
    }

    /// Refill from the clock; how many of `want` packets are due.
    #[inline]
    fn due(&mut self, now: u64, want: usize) -> usize {
        let elapsed = now.wrapping_sub(self.last);
        self.last = now;
        if elapsed < 1 << 47 {
            self.credit = self
                .credit
                .saturating_add(elapsed.saturating_mul(1 << 16))
                .min(self.depth);
        }
        let mut n = 0;
        let mut c = self.credit;
        while n < want && c >= self.cost {
            c -= self.cost;
            n += 1;
        }
        n
    }

    /// Spend the credit of `n` packets (at most what [`Bucket::due`] said).
    #[inline]
    fn spend(&mut self, n: usize) {
        self.credit -= self.cost * n as u64;
    }
}

/// The generating half of a queue.
#[derive(Debug)]
struct Generator {
    /// Headers and stamp of every frame; fields that vary are patched.
    head: [u8; HEAD],
    /// IPv4 checksum partial sum of the constant header words.
    csum_base: u32,
    sizes: Box<[Size]>,
    size_idx: usize,
    flows: Flows,
    /// Source MAC of host 0 as a 48-bit number.
    base_mac: u64,
    seq: u64,
    /// Packets still to generate (`u64::MAX`: unlimited).
    remaining: u64,
    rate: Option<Bucket>,
    /// Metadata of every generated packet.
    meta: Meta,
    /// 802.1Q TCI of every generated packet, if tagged.
    vlan: Option<u16>,
}

impl Generator {
    fn new(cfg: &GenConfig, queue: usize, queues: usize) -> Self {
        let stream = cfg.stream + queue as u16;
        let mut head = [0u8; HEAD];
        head[0..6].copy_from_slice(&cfg.dst_mac);
        head[6..12].copy_from_slice(&cfg.src_mac);
        head[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let flags: u16 = if cfg.dont_fragment { 0x4000 } else { 0 };
        head[14] = 0x45;
        head[20..22].copy_from_slice(&flags.to_be_bytes());
        head[22] = 64;
        head[23] = 17;
        Stamp {
            stream,
            seq: 0,
            tsc: 0,
        }
        .write((&mut head[STAMP_OFFSET..]).try_into().expect("stamp fits"));
        let csum_base = 0x4500 + u32::from(flags) + 0x4011;
        let sizes = cfg
            .frame_sizes()
            .iter()
            .map(|&s| {
                let len = (s - FCS_LEN) as u16;
                Size {
                    len,
                    ip_len: len - 14,
                    udp_len: len - 34,
                }
            })
            .collect();
        let mut flows = cfg.flows();
        let n = flows.combinations();
        flows.seek((u128::from(n) * queue as u128 / queues as u128) as u64);
        let share =
            |total: u64| total / queues as u64 + u64::from((queue as u64) < total % queues as u64);
        let mut remaining = cfg.count.map_or(u64::MAX, share);
        let rate = match cfg.rate_pps.map(share) {
            Some(0) => {
                remaining = 0;
                None
            }
            Some(pps) => Some(Bucket::new(pps, tsc::hz())),
            None => None,
        };
        let mut mac = [0u8; 8];
        mac[2..].copy_from_slice(&cfg.src_mac);
        let meta = Meta {
            queue: queue as u16,
            ..Meta::default()
        };
        Generator {
            head,
            csum_base,
            sizes,
            size_idx: 0,
            flows,
            base_mac: u64::from_be_bytes(mac),
            seq: 0,
            remaining,
            rate,
            meta,
            vlan: cfg.vlan,
        }
    }

    /// Append up to a burst of generated packets to `out`; returns how many
    /// and their bytes.
    #[inline]
    fn generate<P: Pool>(
        &mut self,
        pool: &P,
        out: &mut Burst<P::Buf>,
        counters: &stats::QueueCounters,
    ) -> (usize, usize) {
        let mut want = (out.remaining_capacity() as u64).min(self.remaining) as usize;
        if want == 0 {
            return (0, 0);
        }
        if let Some(r) = &mut self.rate {
            want = r.due(tsc::rdtsc(), want);
            if want == 0 {
                return (0, 0);
            }
        }
        let first = out.len();
        let got = pool.alloc_bulk(out, want);
        if let Some(r) = &mut self.rate {
            r.spend(got);
            if got < want {
                counters.no_buffer.add((want - got) as u64);
            }
        }
        let now = tsc::rdtsc() & MASK48;
        let mut bytes = 0;
        if let [size] = *self.sizes {
            for b in &mut out[first..] {
                // Fresh from the pool: empty, default headroom.
                if let Some(d) = b.append(usize::from(size.len)) {
                    self.fill(d, size, now);
                }
                *b.meta_mut() = self.meta;
                if self.vlan.is_some() {
                    b.set_vlan(self.vlan);
                }
            }
            bytes = got * usize::from(size.len);
        } else {
            for b in &mut out[first..] {
                let size = self.sizes[self.size_idx];
                self.size_idx += 1;
                if self.size_idx == self.sizes.len() {
                    self.size_idx = 0;
                }
                if let Some(d) = b.append(usize::from(size.len)) {
                    self.fill(d, size, now);
                }
                *b.meta_mut() = self.meta;
                if self.vlan.is_some() {
                    b.set_vlan(self.vlan);
                }
                bytes += usize::from(size.len);
            }
        }
        self.remaining -= got as u64;
        (got, bytes)
    }

    /// Write the next frame into `d` (exactly `size.len` bytes long).
    #[inline(always)]
    fn fill(&mut self, d: &mut [u8], size: Size, now: u64) {
        let f = self.flows.current();
        self.flows.advance();
        let seq = self.seq;
        self.seq += 1;
        let Some((h, tail)) = d.split_first_chunk_mut::<HEAD>() else {
            return;
        };
        *h = self.head;
        let mac = self.base_mac.wrapping_add(u64::from(f.host)) << 16;
        h[6..12].copy_from_slice(&mac.to_be_bytes()[..6]);
        h[16..18].copy_from_slice(&size.ip_len.to_be_bytes());
        let mut sum = self.csum_base
            + u32::from(size.ip_len)
            + (f.src_ip >> 16)
            + (f.src_ip & 0xffff)
            + (f.dst_ip >> 16)
            + (f.dst_ip & 0xffff);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        h[24..26].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        h[26..30].copy_from_slice(&f.src_ip.to_be_bytes());
        h[30..34].copy_from_slice(&f.dst_ip.to_be_bytes());
        h[34..36].copy_from_slice(&f.src_port.to_be_bytes());
        h[36..38].copy_from_slice(&f.dst_port.to_be_bytes());
        h[38..40].copy_from_slice(&size.udp_len.to_be_bytes());
        h[48..54].copy_from_slice(&(seq << 16).to_be_bytes()[..6]);
        h[54..60].copy_from_slice(&(now << 16).to_be_bytes()[..6]);
        if !tail.is_empty() {
            tail.fill(0);
        }
    }
}

/// Sequence tracking of one stream at one sink queue.
#[derive(Clone, Copy, Debug, Default)]
struct Track {
    /// Next sequence number expected.
    expected: u64,
    /// Bit `i` set: sequence `expected - 1 - i` was received.
    window: u64,
}

impl Track {
    /// A packet with a sequence number other than the expected one.
    #[cold]
    #[inline(never)]
    fn unexpected(&mut self, seq: u64, c: &stats::StreamCounters) {
        if seq > self.expected {
            let gap = seq - self.expected;
            c.lost.add(gap);
            self.window = if gap >= 63 {
                1
            } else {
                (self.window << (gap + 1)) | 1
            };
            self.expected = seq + 1;
            return;
        }
        let age = self.expected - 1 - seq;
        if age >= 64 {
            c.reordered.add(1);
        } else if self.window & (1 << age) != 0 {
            c.duplicate.add(1);
        } else {
            self.window |= 1 << age;
            c.reordered.add(1);
            c.lost.add(u64::MAX); // one fewer lost: the gap is filled
        }
    }
}

/// One queue of a generator port: generator on receive, sink on transmit.
pub struct GenPort<P: Pool> {
    pool: P,
    queue: usize,
    stats: Arc<QueueStats>,
    gen_stats: Arc<GenStats>,
    gen: Generator,
    tracks: Box<[Track]>,
    /// Boxed: the slow path need not make every port bigger.
    arp: Option<Box<Responder>>,
}

impl<P: Pool> std::fmt::Debug for GenPort<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenPort")
            .field("queue", &self.queue)
            .field("stream", &self.stream())
            .field("seq", &self.gen.seq)
            .field("remaining", &self.gen.remaining)
            .finish_non_exhaustive()
    }
}

/// Open a generator port of `queues` queues taking buffers from `pool`.
///
/// Queue `q` stamps stream `cfg.stream + q`, starts `q/queues` of the way
/// through the flow cycle (so queues do not send the same flows in lock
/// step) and gets an even share of `rate_pps` and `count`. The returned
/// [`GenStats`] is shared by all queues.
pub fn open<P: Pool>(
    cfg: &GenConfig,
    queues: usize,
    pool: P,
) -> Result<(Vec<GenPort<P>>, Arc<GenStats>), GenError> {
    cfg.validate(queues)?;
    let need = cfg
        .frame_sizes()
        .iter()
        .max()
        .copied()
        .unwrap_or(MIN_FRAME_SIZE)
        - FCS_LEN;
    if pool.data_room() < need.max(ARP_FRAME_LEN) {
        return Err(GenError::DataRoom {
            need,
            have: pool.data_room(),
        });
    }
    if cfg.rate_pps.is_some() {
        tsc::hz(); // calibrate now, not on a worker
    }
    let gen_stats = Arc::new(GenStats::new(queues, cfg.stream));
    let ports = (0..queues)
        .map(|q| GenPort {
            pool: pool.clone(),
            queue: q,
            stats: Arc::default(),
            gen_stats: gen_stats.clone(),
            gen: Generator::new(cfg, q, queues),
            tracks: vec![Track::default(); MAX_STREAMS].into_boxed_slice(),
            arp: cfg
                .arp_reply
                .then(|| Box::new(Responder::new(cfg.src_ip, cfg.src_mac))),
        })
        .collect();
    Ok((ports, gen_stats))
}

impl<P: Pool> GenPort<P> {
    /// The queue index within the port.
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// The stream id this queue stamps.
    pub fn stream(&self) -> u16 {
        self.gen
            .meta
            .queue
            .wrapping_add(self.gen_stats.streams().start)
    }

    /// Packets this queue still has to generate (`None`: unlimited).
    pub fn remaining(&self) -> Option<u64> {
        (self.gen.remaining != u64::MAX).then_some(self.gen.remaining)
    }

    /// The generator and sink counters of the whole port.
    pub fn gen_stats(&self) -> &Arc<GenStats> {
        &self.gen_stats
    }

    /// Hand queued ARP replies to the router.
    #[cold]
    #[inline(never)]
    fn send_arp(&mut self, out: &mut Burst<P::Buf>) -> usize {
        let Some(arp) = &mut self.arp else { return 0 };
        let mut n = 0;
        while arp.has_pending() && !out.is_full() {
            let Some(mut b) = self.pool.alloc() else {
                break;
            };
            let Some(d) = b.set_len(ARP_FRAME_LEN) else {
                break;
            };
            let d: &mut [u8; ARP_FRAME_LEN] = d.try_into().expect("exact length");
            let Some(tci) = arp.pop_into(d) else { break };
            b.meta_mut().queue = self.queue as u16;
            b.set_vlan(tci);
            out.push(b);
            n += 1;
        }
        self.gen_stats.queues[self.queue].arp_replies.add(n as u64);
        n
    }
}

impl<P: Pool> Port<P> for GenPort<P> {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<P::Buf>) -> usize {
        let mut n = 0;
        let mut bytes = 0;
        if self.arp.as_ref().is_some_and(|a| a.has_pending()) {
            n = self.send_arp(out);
            bytes = n * ARP_FRAME_LEN;
        }
        let counters = &self.gen_stats.queues[self.queue];
        let (g, gb) = self.gen.generate(&self.pool, out, counters);
        if g > 0 {
            counters.generated.add(g as u64);
            counters.generated_bytes.add(gb as u64);
        }
        n += g;
        bytes += gb;
        if n > 0 {
            self.stats.rx_packets.add(n as u64);
            self.stats.rx_bytes.add(bytes as u64);
        }
        n
    }

    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<P::Buf>) -> usize {
        let n = pkts.len();
        if n == 0 {
            return 0;
        }
        let q = &self.gen_stats.queues[self.queue];
        let now = tsc::rdtsc();
        let (mut bytes, mut good, mut good_bytes, mut other) = (0, 0, 0, 0);
        let (mut lat_sum, mut lat_min, mut lat_max) = (0u64, u64::MAX, 0u64);
        // Packets of a burst mostly belong to one stream and have similar
        // latencies: keep the current stream's state and the current
        // histogram bucket in registers, and write them back when they
        // change (no store-to-load chain through memory per packet).
        let (mut id, mut track, mut run) = (usize::MAX, Track::default(), 0u64);
        let (mut bucket, mut bucket_run) = (0usize, 0u64);
        // Another core (the router's worker) wrote these last: overlap the
        // misses.
        for p in pkts.iter() {
            p.prefetch();
        }
        for p in pkts.iter() {
            let d = p.data();
            bytes += d.len();
            match Stamp::parse_frame(d) {
                Some(s) if usize::from(s.stream) < MAX_STREAMS => {
                    good += 1;
                    good_bytes += d.len();
                    if usize::from(s.stream) != id {
                        if let Some(t) = self.tracks.get_mut(id) {
                            *t = track;
                            q.streams[id].received.add(run);
                        }
                        id = usize::from(s.stream);
                        track = self.tracks[id];
                        run = 0;
                    }
                    run += 1;
                    if s.seq == track.expected {
                        track.expected += 1;
                        track.window = (track.window << 1) | 1;
                    } else {
                        track.unexpected(s.seq, &q.streams[id]);
                    }
                    let mut lat = now.wrapping_sub(s.tsc) & MASK48;
                    if lat > 1 << 47 {
                        lat = 0; // stamped by a core whose TSC runs ahead
                    }
                    let b = stats::bucket(lat);
                    if b != bucket {
                        q.lat_hist[bucket].add(bucket_run);
                        bucket = b;
                        bucket_run = 0;
                    }
                    bucket_run += 1;
                    lat_sum += lat;
                    lat_min = lat_min.min(lat);
                    lat_max = lat_max.max(lat);
                }
                _ => {
                    other += 1;
                    if let Some(arp) = &mut self.arp {
                        match arp.on_frame(d, p.vlan()) {
                            Outcome::Ignored => {}
                            Outcome::Queued => q.arp_requests.add(1),
                            Outcome::Dropped => q.arp_dropped.add(1),
                        }
                    }
                }
            }
        }
        if let Some(t) = self.tracks.get_mut(id) {
            *t = track;
            q.streams[id].received.add(run);
        }
        if bucket_run > 0 {
            q.lat_hist[bucket].add(bucket_run);
        }
        self.pool.free_bulk(pkts);
        self.stats.tx_packets.add(n as u64);
        self.stats.tx_bytes.add(bytes as u64);
        if good > 0 {
            q.sink_packets.add(good);
            q.sink_bytes.add(good_bytes as u64);
            q.lat_sum.add(lat_sum);
            if lat_min < q.lat_min.get() {
                q.lat_min.set(lat_min);
            }
            if lat_max > q.lat_max.get() {
                q.lat_max.set(lat_max);
            }
        }
        if other > 0 {
            q.sink_other.add(other);
        }
        n
    }

    fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::NativePool;

    fn ports(
        cfg: &GenConfig,
        queues: usize,
    ) -> (Vec<GenPort<NativePool>>, Arc<GenStats>, NativePool) {
        let pool = NativePool::new(1024, 2048).unwrap();
        let (p, s) = open(cfg, queues, pool.clone()).unwrap();
        (p, s, pool)
    }

    #[test]
    fn rejects_bad_configs() {
        let pool = NativePool::new(64, 256).unwrap();
        let bad = |cfg: GenConfig, queues| open(&cfg, queues, pool.clone()).unwrap_err();
        assert_eq!(bad(GenConfig::default(), 0), GenError::NoQueues);
        let c = GenConfig {
            frame_size: 63,
            ..GenConfig::default()
        };
        assert_eq!(bad(c, 1), GenError::FrameSize(63));
        let c = GenConfig {
            sizes: vec![64, 1519],
            ..GenConfig::default()
        };
        assert_eq!(bad(c, 1), GenError::FrameSize(1519));
        let c = GenConfig {
            dst_port: PortRange::new(65535, 2),
            ..GenConfig::default()
        };
        assert_eq!(bad(c, 1), GenError::Range("dst_port"));
        let c = GenConfig {
            stream: 1020,
            ..GenConfig::default()
        };
        assert!(matches!(
            bad(c, 5),
            GenError::Streams {
                first: 1020,
                queues: 5
            }
        ));
        let c = GenConfig {
            frame_size: 1518,
            ..GenConfig::default()
        };
        assert_eq!(
            bad(c, 1),
            GenError::DataRoom {
                need: 1514,
                have: 256
            }
        );
    }

    #[test]
    fn queues_split_count_and_streams() {
        let cfg = GenConfig {
            count: Some(10),
            stream: 4,
            ..GenConfig::default()
        };
        let (ports, stats, _pool) = ports(&cfg, 3);
        let rem: Vec<_> = ports.iter().map(|p| p.remaining().unwrap()).collect();
        assert_eq!(rem, [4, 3, 3]);
        let streams: Vec<_> = ports.iter().map(GenPort::stream).collect();
        assert_eq!(streams, [4, 5, 6]);
        assert_eq!(stats.streams(), 4..7);
    }

    #[test]
    fn track_counts_gaps_late_and_duplicates() {
        let c = stats::StreamCounters::default();
        let mut t = Track::default();
        let mut feed = |seq: u64| {
            if seq == t.expected {
                t.expected += 1;
                t.window = (t.window << 1) | 1;
            } else {
                t.unexpected(seq, &c);
            }
        };
        for s in [0, 1, 3, 4, 2, 2, 8, 5, 200, 6] {
            feed(s);
        }
        // gaps: 2 (filled later), 5..=7 (5 filled), 9..=199; 6 is too old.
        assert_eq!(c.lost.get(), 2 + 191);
        assert_eq!(c.reordered.get(), 3);
        assert_eq!(c.duplicate.get(), 1);
    }

    #[test]
    fn imix_sizes_cycle() {
        let cfg = GenConfig {
            sizes: SIMPLE_IMIX.to_vec(),
            ..GenConfig::default()
        };
        let (mut ports, _stats, _pool) = ports(&cfg, 1);
        let mut b = Burst::new();
        Port::<NativePool>::rx_burst(&mut ports[0], &mut b);
        let lens: Vec<_> = b.iter().take(12).map(|p| p.len() + FCS_LEN).collect();
        assert_eq!(lens, SIMPLE_IMIX);
        for p in &b {
            let d = p.data();
            assert_eq!(
                usize::from(u16::from_be_bytes([d[16], d[17]])),
                d.len() - 14
            );
            assert_eq!(
                usize::from(u16::from_be_bytes([d[38], d[39]])),
                d.len() - 34
            );
            assert!(d[60..].iter().all(|&x| x == 0));
        }
    }
}
