//! Packet capture taps: copies of one port's packets for the control
//! plane, which streams them to a client that writes a pcap.
//!
//! ```text
//!   control thread                         worker w (each poll round)
//!   ──────────────                         ──────────────────────────
//!   CaptureTaps::start(spec) ─┐            generation.load(Relaxed) == seen?
//!     allocate N records      │              yes (idle, the usual case): nothing more
//!     slot = Some(session) ───┼──────────►   no: tap = slot.load()   (cold, once)
//!     generation += 1         │
//!                             │            port[i].rx_burst ─► tap rx? ─► route ...
//!                             │            ... ─► tap tx? ─► port[o].tx_burst
//!                             │                     │
//!                             │          filter ─► free.pop() ─► copy ≤ snaplen
//!                             │                     │   (none free: dropped += 1)
//!   CaptureHandle             ▼                     ▼
//!     try_recv() ◄──────────── filled ◄──── Box<Record>
//!     recycle(r) ─────────────► free
//!     drop: slot = None, generation += 1, records freed
//! ```
//!
//! A router has one [`CaptureTaps`], shared by its workers through
//! [`WorkerQueues`](crate::WorkerQueues). While no capture runs, a worker
//! pays one relaxed atomic load and a never-taken branch per poll round.
//! While one runs, the per-burst hooks are a branch on a worker field, and
//! the copies take records from a pool allocated when the capture started:
//! nothing on the worker allocates, frees, locks or waits. When the pool
//! runs dry (the consumer is too slow), matching packets are counted as
//! dropped and forwarding carries on untouched.
//!
//! One capture runs at a time per router; starting another fails with
//! [`CaptureError::Busy`].
//!
//! The receive tap sees a burst just after `rx_burst`, before routing
//! rewrites it; the transmit tap sees each burst just before `tx_burst`
//! (a packet the driver then refuses is captured nonetheless). Drivers
//! strip the 802.1Q tag into the metadata ([`Buf::vlan`]); the captured
//! bytes carry it again, as it is on the wire.

use arc_swap::ArcSwapOption;
use crossbeam_queue::ArrayQueue;
use pmd::Buf;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Snapshot length used when a spec asks for 0 (whole packets): a jumbo
/// frame with its 802.1Q tag.
pub const DEFAULT_SNAPLEN: u32 = 9220;
/// Largest snapshot length a capture may ask for.
pub const MAX_SNAPLEN: u32 = 65535;
/// Records in the pool when a spec asks for 0.
pub const DEFAULT_RECORDS: usize = 1024;
/// Largest record pool, in bytes of packet data (`records × snaplen`).
pub const MAX_POOL_BYTES: usize = 64 << 20;

const ETHERTYPE_IPV4: u16 = 0x0800;
const TPID_8021Q: u16 = 0x8100;
const TPID_8021AD: u16 = 0x88a8;

/// Which packets of a port a capture takes, or which way a captured
/// packet went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received on the port.
    Rx,
    /// Transmitted on the port.
    Tx,
    /// Both ways (a capture's direction only; a record is `Rx` or `Tx`).
    Both,
}

impl Direction {
    /// True for `Rx` and `Both`.
    pub fn includes_rx(self) -> bool {
        matches!(self, Direction::Rx | Direction::Both)
    }

    /// True for `Tx` and `Both`.
    pub fn includes_tx(self) -> bool {
        matches!(self, Direction::Tx | Direction::Both)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Rx => "rx",
            Direction::Tx => "tx",
            Direction::Both => "both",
        })
    }
}

impl FromStr for Direction {
    type Err = CaptureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rx" | "in" => Ok(Direction::Rx),
            "tx" | "out" => Ok(Direction::Tx),
            "both" => Ok(Direction::Both),
            _ => Err(CaptureError::Invalid(format!(
                "direction {s:?} is none of rx, tx, both"
            ))),
        }
    }
}

/// Why a capture could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// A capture already runs on this router (one at a time).
    #[error("a capture is already running on port {port}")]
    Busy {
        /// Port index of the running capture.
        port: u16,
    },
    /// The spec is not valid.
    #[error("invalid capture: {0}")]
    Invalid(String),
}

/// An IPv4 prefix to match addresses against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: u32,
    len: u8,
}

impl Prefix {
    /// `addr/len` (host bits are cleared); `len` must be at most 32.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Prefix, CaptureError> {
        if len > 32 {
            return Err(CaptureError::Invalid(format!(
                "prefix length {len} exceeds 32"
            )));
        }
        let len_mask = mask(len);
        Ok(Prefix {
            addr: u32::from(addr) & len_mask,
            len,
        })
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr.into()
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for the prefix /0 (every address).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if `a` (host order) lies in the prefix.
    #[inline]
    pub fn contains(&self, a: u32) -> bool {
        a & mask(self.len) == self.addr
    }
}

#[inline]
fn mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

impl FromStr for Prefix {
    type Err = CaptureError;

    /// `a.b.c.d/len`, or a bare address (a /32).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CaptureError::Invalid(format!("{s:?} is not an IPv4 prefix"));
        let (a, l) = s.split_once('/').unwrap_or((s, "32"));
        let addr: Ipv4Addr = a.trim().parse().map_err(|_| bad())?;
        let len: u8 = l.trim().parse().map_err(|_| bad())?;
        Prefix::new(addr, len)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

/// Which packets a capture takes: every field set must match (the
/// default, all `None`, takes every packet).
///
/// The address and protocol fields match IPv4 over Ethernet only (with an
/// optional 802.1Q tag, stripped into the metadata or still in the data);
/// any other frame fails them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureFilter {
    /// Source address within this prefix.
    pub src: Option<Prefix>,
    /// Destination address within this prefix.
    pub dst: Option<Prefix>,
    /// Source or destination address within this prefix.
    pub host: Option<Prefix>,
    /// IP protocol number (1 ICMP, 6 TCP, 17 UDP, 47 GRE, ...).
    pub proto: Option<u8>,
    /// Tagged with this VLAN ID (12 bits).
    pub vlan: Option<u16>,
}

impl CaptureFilter {
    fn needs_ip(&self) -> bool {
        self.src.is_some() || self.dst.is_some() || self.host.is_some() || self.proto.is_some()
    }

    fn any(&self) -> bool {
        self.needs_ip() || self.vlan.is_some()
    }

    /// True if a frame with bytes `d` and stripped 802.1Q TCI `tci` passes.
    pub fn matches(&self, d: &[u8], tci: Option<u16>) -> bool {
        if !self.any() {
            return true;
        }
        let mut vid = tci.map(|t| t & 0x0fff);
        let mut off = 12;
        // A tag still in the data (a driver that does not strip it).
        if vid.is_none() && d.len() >= 16 && matches!(be16(d, 12), TPID_8021Q | TPID_8021AD) {
            vid = Some(be16(d, 14) & 0x0fff);
            off = 16;
        }
        if self.vlan.is_some() && self.vlan != vid {
            return false;
        }
        if !self.needs_ip() {
            return true;
        }
        let Some(ip) = d.get(off + 2..) else {
            return false;
        };
        if be16(d, off) != ETHERTYPE_IPV4 || ip.len() < 20 || ip[0] >> 4 != 4 {
            return false;
        }
        let (src, dst) = (be32(ip, 12), be32(ip, 16));
        self.proto.is_none_or(|p| p == ip[9])
            && self.src.is_none_or(|p| p.contains(src))
            && self.dst.is_none_or(|p| p.contains(dst))
            && self.host.is_none_or(|p| p.contains(src) || p.contains(dst))
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// What to capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSpec {
    /// Port index (as the workers number their ports).
    pub port: u16,
    /// Received, transmitted or both.
    pub direction: Direction,
    /// Stop after this many packets are captured (`None`: until the
    /// handle is dropped).
    pub count: Option<u64>,
    /// Bytes kept of each packet, 802.1Q tag included; 0 means
    /// [`DEFAULT_SNAPLEN`].
    pub snaplen: u32,
    /// Which packets.
    pub filter: CaptureFilter,
    /// Records in the pool, which bounds the packets waiting for the
    /// consumer; 0 means [`DEFAULT_RECORDS`].
    pub records: usize,
}

impl CaptureSpec {
    /// Every packet of `port` in `direction`, whole, until stopped.
    pub fn new(port: u16, direction: Direction) -> Self {
        CaptureSpec {
            port,
            direction,
            count: None,
            snaplen: 0,
            filter: CaptureFilter::default(),
            records: 0,
        }
    }
}

/// One captured packet.
#[derive(Clone, Debug)]
pub struct Record {
    /// When the worker took the burst, in nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// `Rx` or `Tx`.
    pub direction: Direction,
    /// Port index.
    pub port: u16,
    /// Worker that saw the packet.
    pub worker: u16,
    /// Length on the wire, 802.1Q tag included (pcap's `orig_len`).
    pub orig_len: u32,
    /// The first `snaplen` bytes as on the wire (capacity fixed at start).
    data: Vec<u8>,
}

impl Record {
    fn with_capacity(snaplen: usize) -> Record {
        Record {
            timestamp_ns: 0,
            direction: Direction::Rx,
            port: 0,
            worker: 0,
            orig_len: 0,
            data: Vec::with_capacity(snaplen),
        }
    }

    /// The captured bytes (pcap's `incl_len` is their length).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// True if the snapshot length cut the packet short.
    pub fn truncated(&self) -> bool {
        self.data.len() < self.orig_len as usize
    }

    /// Copy at most `snaplen` bytes of frame `d`, re-inserting the 802.1Q
    /// tag `tci` after the MAC addresses. Never grows the buffer beyond
    /// `snaplen`, which its capacity holds: no allocation.
    fn fill(&mut self, d: &[u8], tci: Option<u16>, snaplen: usize) {
        self.data.clear();
        match tci {
            Some(t) if d.len() >= 12 => {
                self.orig_len = (d.len() + 4) as u32;
                let mut head = [0u8; 16];
                head[..12].copy_from_slice(&d[..12]);
                head[12..14].copy_from_slice(&TPID_8021Q.to_be_bytes());
                head[14..16].copy_from_slice(&t.to_be_bytes());
                let h = snaplen.min(16);
                self.data.extend_from_slice(&head[..h]);
                let rest = (snaplen - h).min(d.len() - 12);
                self.data.extend_from_slice(&d[12..12 + rest]);
            }
            _ => {
                self.orig_len = d.len() as u32;
                self.data.extend_from_slice(&d[..d.len().min(snaplen)]);
            }
        }
    }
}

/// Counters of a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets that passed the filter (captured or dropped).
    pub matched: u64,
    /// Packets copied into a record.
    pub captured: u64,
    /// Packets that passed the filter but found no free record.
    pub dropped: u64,
}

/// Wall clock from the TSC: one `rdtsc` per burst instead of a system
/// call, anchored to `SystemTime` when the capture starts.
#[derive(Debug)]
struct Clock {
    epoch_ns: u64,
    tsc0: u64,
    hz: u64,
}

impl Clock {
    fn new() -> Clock {
        let hz = pmd::tsc::hz(); // calibrated here, not on a worker
        let epoch_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Clock {
            epoch_ns,
            tsc0: pmd::tsc::rdtsc(),
            hz,
        }
    }

    #[inline]
    fn now(&self) -> u64 {
        let d = pmd::tsc::rdtsc().saturating_sub(self.tsc0);
        self.epoch_ns + (u128::from(d) * 1_000_000_000 / u128::from(self.hz)) as u64
    }
}

/// A running capture: its spec, its record pool, its counters. Workers
/// hold an `Arc` of it while it runs.
#[derive(Debug)]
pub(crate) struct CaptureSession {
    port: u16,
    rx: bool,
    tx: bool,
    snaplen: usize,
    limit: Option<u64>,
    filter: CaptureFilter,
    spec: CaptureSpec,
    /// False once the handle is dropped or the limit is reached.
    open: AtomicBool,
    /// Set when [`CaptureTaps::interrupt`] ended it.
    interrupted: AtomicBool,
    free: ArrayQueue<Box<Record>>,
    filled: ArrayQueue<Box<Record>>,
    matched: AtomicU64,
    captured: AtomicU64,
    dropped: AtomicU64,
    clock: Clock,
}

impl CaptureSession {
    fn new(spec: CaptureSpec) -> Result<CaptureSession, CaptureError> {
        let snaplen = match spec.snaplen {
            0 => DEFAULT_SNAPLEN,
            s if s > MAX_SNAPLEN => {
                return Err(CaptureError::Invalid(format!(
                    "snaplen {s} exceeds {MAX_SNAPLEN}"
                )))
            }
            s => s,
        } as usize;
        let records = match spec.records {
            0 => DEFAULT_RECORDS,
            r => r,
        };
        if records.saturating_mul(snaplen) > MAX_POOL_BYTES {
            return Err(CaptureError::Invalid(format!(
                "{records} records of {snaplen} bytes exceed {MAX_POOL_BYTES} bytes"
            )));
        }
        if spec.count == Some(0) {
            return Err(CaptureError::Invalid("count 0 captures nothing".into()));
        }
        if spec.filter.vlan.is_some_and(|v| v > 0x0fff) {
            return Err(CaptureError::Invalid("VLAN ID exceeds 4095".into()));
        }
        let free = ArrayQueue::new(records);
        for _ in 0..records {
            let _ = free.push(Box::new(Record::with_capacity(snaplen)));
        }
        Ok(CaptureSession {
            port: spec.port,
            rx: spec.direction.includes_rx(),
            tx: spec.direction.includes_tx(),
            snaplen,
            limit: spec.count,
            filter: spec.filter,
            spec,
            open: AtomicBool::new(true),
            interrupted: AtomicBool::new(false),
            free,
            filled: ArrayQueue::new(records),
            matched: AtomicU64::new(0),
            captured: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            clock: Clock::new(),
        })
    }

    /// Receive tap: `pkts` just received on `port` by worker `worker`.
    #[inline(always)]
    pub(crate) fn on_rx<B: Buf>(&self, port: u16, pkts: &[B], worker: u16) {
        if self.rx && self.port == port {
            self.copy(Direction::Rx, pkts, worker);
        }
    }

    /// Transmit tap: `pkts` about to be sent on `port` by worker `worker`.
    #[inline(always)]
    pub(crate) fn on_tx<B: Buf>(&self, port: u16, pkts: &[B], worker: u16) {
        if self.tx && self.port == port {
            self.copy(Direction::Tx, pkts, worker);
        }
    }

    /// Copy the packets of a burst that pass the filter into free records.
    #[inline(never)]
    fn copy<B: Buf>(&self, direction: Direction, pkts: &[B], worker: u16) {
        if !self.open.load(Ordering::Relaxed) {
            return;
        }
        let mut ts = None;
        let (mut matched, mut captured, mut dropped) = (0u64, 0u64, 0u64);
        // Once the pool is dry, the rest of the burst is counted without
        // touching the queue again (its cache lines are the consumer's).
        let mut dry = false;
        for p in pkts {
            let tci = p.vlan();
            let d = p.data();
            if !self.filter.matches(d, tci) {
                continue;
            }
            let Some(mut r) = (if dry { None } else { self.free.pop() }) else {
                dry = true;
                matched += 1;
                dropped += 1;
                continue;
            };
            if let Some(limit) = self.limit {
                let took = self
                    .captured
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                        (c < limit).then_some(c + 1)
                    });
                match took {
                    Ok(c) if c + 1 < limit => {}
                    Ok(_) => self.open.store(false, Ordering::Relaxed),
                    Err(_) => {
                        // Another worker took the last one.
                        let _ = self.free.push(r);
                        break;
                    }
                }
            } else {
                captured += 1;
            }
            matched += 1;
            r.timestamp_ns = *ts.get_or_insert_with(|| self.clock.now());
            r.direction = direction;
            r.port = self.port;
            r.worker = worker;
            r.fill(d, tci, self.snaplen);
            // Both queues hold every record, so this cannot fail; if it
            // did, the record would go back rather than be freed here.
            if let Err(r) = self.filled.push(r) {
                let _ = self.free.push(r);
            }
        }
        if matched > 0 {
            self.matched.fetch_add(matched, Ordering::Relaxed);
        }
        if captured > 0 {
            self.captured.fetch_add(captured, Ordering::Relaxed);
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    fn stats(&self) -> CaptureStats {
        let captured = self.captured.load(Ordering::Relaxed);
        CaptureStats {
            matched: self.matched.load(Ordering::Relaxed),
            captured: self.limit.map_or(captured, |l| captured.min(l)),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// A router's capture registry, shared by the control plane and every
/// worker (through [`WorkerQueues`](crate::WorkerQueues)).
///
/// Workers read `generation` once per poll round and look at the session
/// slot only when it changed; the control plane bumps it after every
/// start and stop.
#[derive(Default)]
pub struct CaptureTaps {
    generation: AtomicU64,
    session: ArcSwapOption<CaptureSession>,
    /// Serialises start and stop; holds stopped sessions until no worker
    /// refers to them, so that a worker never frees one.
    retired: Mutex<Vec<Arc<CaptureSession>>>,
}

impl fmt::Debug for CaptureTaps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureTaps")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .field("running", &self.running())
            .finish()
    }
}

impl CaptureTaps {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Start capturing as `spec` says: allocates its record pool, then
    /// workers pick it up at their next poll round. Fails if a capture
    /// already runs on this router or the spec is invalid.
    ///
    /// The first capture in a process may take some 20 ms to calibrate
    /// the TSC clock (unless a worker or driver did it already).
    pub fn start(self: &Arc<Self>, spec: CaptureSpec) -> Result<CaptureHandle, CaptureError> {
        let mut retired = self.lock();
        retired.retain(|s| Arc::strong_count(s) > 1);
        if let Some(s) = &*self.session.load() {
            return Err(CaptureError::Busy { port: s.port });
        }
        let session = Arc::new(CaptureSession::new(spec)?);
        self.session.store(Some(session.clone()));
        self.generation.fetch_add(1, Ordering::Release);
        drop(retired);
        Ok(CaptureHandle {
            taps: self.clone(),
            session,
        })
    }

    /// End the running capture, if any, from the control plane (a config
    /// change renumbered its port): workers stop copying at their next
    /// poll round, and its handle reports [`CaptureHandle::interrupted`].
    /// Returns whether one ran.
    pub fn interrupt(&self) -> bool {
        let _retired = self.lock();
        let Some(s) = self.session.load_full() else {
            return false;
        };
        s.interrupted.store(true, Ordering::Relaxed);
        s.open.store(false, Ordering::Relaxed);
        self.session.store(None);
        self.generation.fetch_add(1, Ordering::Release);
        true
    }

    /// The spec of the running capture, if any.
    pub fn running(&self) -> Option<CaptureSpec> {
        self.session.load().as_ref().map(|s| s.spec.clone())
    }

    /// Changes with every start and stop; what workers poll.
    #[inline(always)]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// The running session, to be read after [`Self::generation`] moved.
    #[cold]
    pub(crate) fn session(&self) -> Option<Arc<CaptureSession>> {
        // Pairs with the release increment of `generation` after the slot
        // was written.
        fence(Ordering::Acquire);
        self.session.load_full()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<CaptureSession>>> {
        self.retired.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The consumer's end of a running capture. Dropping it stops the
/// capture.
#[derive(Debug)]
pub struct CaptureHandle {
    taps: Arc<CaptureTaps>,
    session: Arc<CaptureSession>,
}

impl CaptureHandle {
    /// The next captured packet, if any (never blocks). Hand it back with
    /// [`Self::recycle`] once written out, or the pool shrinks.
    pub fn try_recv(&self) -> Option<Box<Record>> {
        self.session.filled.pop()
    }

    /// Return a record taken by [`Self::try_recv`] to the free pool.
    pub fn recycle(&self, r: Box<Record>) {
        // Only records that hold a whole snapshot; a stranger is freed.
        if r.data.capacity() >= self.session.snaplen {
            let _ = self.session.free.push(r);
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> CaptureStats {
        self.session.stats()
    }

    /// What is captured.
    pub fn spec(&self) -> &CaptureSpec {
        &self.session.spec
    }

    /// The snapshot length in effect (the spec's, or the default for 0).
    pub fn snaplen(&self) -> u32 {
        self.session.snaplen as u32
    }

    /// Whether the control plane ended the capture
    /// ([`CaptureTaps::interrupt`]); records already copied can still be
    /// read.
    pub fn interrupted(&self) -> bool {
        self.session.interrupted.load(Ordering::Relaxed)
    }

    /// True once the packet limit is reached and every record was
    /// received: nothing more will come.
    pub fn is_finished(&self) -> bool {
        self.session
            .limit
            .is_some_and(|l| self.session.captured.load(Ordering::Relaxed) >= l)
            && self.session.filled.is_empty()
    }
}

impl Drop for CaptureHandle {
    fn drop(&mut self) {
        let s = &self.session;
        s.open.store(false, Ordering::Relaxed);
        let mut retired = self.taps.lock();
        if self
            .taps
            .session
            .load()
            .as_ref()
            .is_some_and(|cur| Arc::ptr_eq(cur, s))
        {
            self.taps.session.store(None);
            self.taps.generation.fetch_add(1, Ordering::Release);
        }
        // Free the records here, not on a worker.
        while s.free.pop().is_some() {}
        while s.filled.pop().is_some() {}
        retired.retain(|s| Arc::strong_count(s) > 1);
        retired.push(s.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use pmd::{Mbuf, NativePool, Pool};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn udp(src: &str, dst: &str) -> Vec<u8> {
        testing::udp([2; 6], [4; 6], a(src), a(dst), 64, 10)
    }

    #[test]
    fn prefixes_parse_mask_and_match() {
        let p: Prefix = "10.1.2.3/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert!(p.contains(u32::from(a("10.1.255.1"))));
        assert!(!p.contains(u32::from(a("10.2.0.1"))));
        let any: Prefix = "0.0.0.0/0".parse().unwrap();
        assert!(any.is_empty() && any.contains(u32::MAX));
        assert_eq!("1.2.3.4".parse::<Prefix>().unwrap().len(), 32);
        assert!("1.2.3.4/33".parse::<Prefix>().is_err());
        assert!("1.2.3/8".parse::<Prefix>().is_err());
    }

    #[test]
    fn filter_fields_and_together() {
        let f = udp("10.1.0.2", "10.2.0.2");
        let mut flt = CaptureFilter::default();
        assert!(flt.matches(&f, None));
        flt.dst = Some("10.2.0.0/24".parse().unwrap());
        assert!(flt.matches(&f, None));
        flt.proto = Some(6);
        assert!(!flt.matches(&f, None), "UDP is not TCP");
        flt.proto = Some(17);
        flt.host = Some("10.1.0.2".parse().unwrap());
        assert!(flt.matches(&f, None));
        flt.src = Some("10.9.0.0/16".parse().unwrap());
        assert!(!flt.matches(&f, None));
        flt.src = None;
        flt.vlan = Some(5);
        assert!(!flt.matches(&f, None), "untagged");
        assert!(flt.matches(&f, Some(0x2005)), "VID 5 with PCP 1");
        assert!(!flt.matches(&f, Some(6)));
        // An ARP frame has no addresses to match.
        let arp = testing::arp_request([4; 6], a("10.1.0.2"), a("10.1.0.1"));
        assert!(!flt.matches(&arp, Some(5)));
        assert!(CaptureFilter {
            vlan: Some(5),
            ..Default::default()
        }
        .matches(&arp, Some(5)));
    }

    #[test]
    fn filter_reads_a_tag_left_in_the_data() {
        let mut f = udp("10.1.0.2", "10.2.0.2");
        f.splice(12..12, [0x81, 0x00, 0x00, 0x07]);
        let flt = CaptureFilter {
            vlan: Some(7),
            dst: Some("10.2.0.2".parse().unwrap()),
            ..Default::default()
        };
        assert!(flt.matches(&f, None));
    }

    #[test]
    fn record_reinserts_the_tag_and_truncates() {
        let f = udp("10.1.0.2", "10.2.0.2");
        let mut r = Record::with_capacity(64);
        r.fill(&f, Some(0x0123), 64);
        assert_eq!(r.orig_len as usize, f.len() + 4);
        assert_eq!(&r.data()[..12], &f[..12]);
        assert_eq!(&r.data()[12..16], &[0x81, 0x00, 0x01, 0x23]);
        assert_eq!(&r.data()[16..], &f[12..]);
        assert!(!r.truncated());
        let cap = r.data.capacity();
        r.fill(&f, Some(0x0123), 14);
        assert_eq!(r.data(), &[&f[..12], &[0x81, 0x00][..]].concat()[..]);
        assert!(r.truncated());
        r.fill(&f, None, 20);
        assert_eq!(r.data(), &f[..20]);
        assert_eq!(r.orig_len as usize, f.len());
        assert_eq!(r.data.capacity(), cap, "no reallocation");
    }

    fn burst(pool: &NativePool, frames: &[(Vec<u8>, Option<u16>)]) -> Vec<Mbuf> {
        frames
            .iter()
            .map(|(f, tci)| {
                let mut p = pool.alloc().unwrap();
                p.append(f.len()).unwrap().copy_from_slice(f);
                p.set_vlan(*tci);
                p
            })
            .collect()
    }

    #[test]
    fn one_capture_at_a_time_and_drop_stops_it() {
        let taps = Arc::new(CaptureTaps::new());
        assert_eq!(taps.generation(), 0);
        let h = taps.start(CaptureSpec::new(3, Direction::Rx)).unwrap();
        assert_eq!(taps.generation(), 1);
        let err = taps.start(CaptureSpec::new(1, Direction::Tx)).unwrap_err();
        assert_eq!(err, CaptureError::Busy { port: 3 });
        assert_eq!(err.to_string(), "a capture is already running on port 3");
        assert_eq!(taps.running().unwrap().port, 3);
        // A worker's reference.
        let tap = taps.session().unwrap();
        drop(h);
        assert_eq!(taps.generation(), 2);
        assert!(taps.running().is_none() && taps.session().is_none());
        let pool = NativePool::new(64, 2048).unwrap();
        tap.on_rx(3, &burst(&pool, &[(udp("10.0.0.1", "10.0.0.2"), None)]), 0);
        assert_eq!(tap.stats(), CaptureStats::default(), "nothing after drop");
        assert!(
            tap.filled.is_empty() && tap.free.is_empty(),
            "records freed"
        );
        // The worker lets go; the next start frees the old session.
        drop(tap);
        let h = taps.start(CaptureSpec::new(1, Direction::Tx)).unwrap();
        assert!(taps.lock().is_empty());
        assert_eq!(h.spec().port, 1);
    }

    #[test]
    fn an_interrupted_capture_stops_copying_and_says_so() {
        let taps = Arc::new(CaptureTaps::new());
        assert!(!taps.interrupt(), "nothing to interrupt");
        let h = taps.start(CaptureSpec::new(0, Direction::Rx)).unwrap();
        let tap = taps.session().unwrap();
        let pool = NativePool::new(64, 2048).unwrap();
        let b = burst(&pool, &[(udp("10.0.0.1", "10.0.0.2"), None)]);
        tap.on_rx(0, &b, 0);
        assert!(taps.interrupt());
        assert_eq!(taps.generation(), 2);
        assert!(taps.running().is_none() && h.interrupted());
        tap.on_rx(0, &b, 0);
        assert_eq!(h.stats().captured, 1, "nothing after the interrupt");
        assert!(h.try_recv().is_some(), "what was copied is still there");
        // A new capture may start at once.
        drop(tap);
        let h2 = taps.start(CaptureSpec::new(1, Direction::Rx)).unwrap();
        drop(h);
        assert_eq!(
            taps.running().map(|s| s.port),
            Some(1),
            "the old handle's drop leaves it"
        );
        drop(h2);
    }

    #[test]
    fn invalid_specs_are_refused() {
        let taps = Arc::new(CaptureTaps::new());
        let mut s = CaptureSpec::new(0, Direction::Both);
        s.snaplen = MAX_SNAPLEN + 1;
        assert!(matches!(taps.start(s), Err(CaptureError::Invalid(_))));
        let mut s = CaptureSpec::new(0, Direction::Both);
        s.count = Some(0);
        assert!(taps.start(s).is_err());
        let mut s = CaptureSpec::new(0, Direction::Both);
        s.records = 1 << 20;
        s.snaplen = 1500;
        assert!(taps.start(s).is_err());
        assert!(taps.running().is_none());
        assert_eq!("both".parse::<Direction>().unwrap(), Direction::Both);
        assert!("sideways".parse::<Direction>().is_err());
    }

    #[test]
    fn taps_copy_by_port_direction_and_limit() {
        let taps = Arc::new(CaptureTaps::new());
        let mut spec = CaptureSpec::new(2, Direction::Tx);
        spec.count = Some(3);
        spec.records = 8;
        let h = taps.start(spec).unwrap();
        let tap = taps.session().unwrap();
        let pool = NativePool::new(64, 2048).unwrap();
        let frames: Vec<_> = (0..5)
            .map(|_| (udp("10.0.0.1", "10.0.0.2"), None))
            .collect();
        let pkts = burst(&pool, &frames);
        tap.on_rx(2, &pkts, 0);
        tap.on_tx(1, &pkts, 0);
        assert_eq!(h.stats(), CaptureStats::default(), "wrong way or port");
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        tap.on_tx(2, &pkts, 7);
        tap.on_tx(2, &pkts, 7);
        let st = h.stats();
        assert_eq!((st.matched, st.captured, st.dropped), (3, 3, 0));
        let mut got = 0;
        while let Some(r) = h.try_recv() {
            assert_eq!((r.direction, r.port, r.worker), (Direction::Tx, 2, 7));
            assert_eq!(r.data(), &frames[0].0[..]);
            // Within a second of the wall clock.
            assert!(r.timestamp_ns.abs_diff(before) < 1_000_000_000);
            h.recycle(r);
            got += 1;
        }
        assert_eq!(got, 3);
        assert!(h.is_finished());
        assert_eq!(tap.free.len(), 8);
    }
}
