//! The worker: one pinned thread polling its queues and routing bursts.
//!
//! ```text
//!  inject queue ──────────────────────────────┐
//!  port[i].rx_burst ─► classify ─► ipv4 ─► route ─► tx[out] ─► port[out].tx_burst
//!                          │         │        └──► punt queue (ARP, unresolved next hop)
//!                          └─ ARP ───┴─────────────► punt queue
//! ```
//!
//! Capture taps ([`crate::capture`]) look at a burst right after
//! `rx_burst` and right before every `tx_burst`, while a capture runs.
//!
//! A worker owns queue `w` of every port, so transmitting needs no lock.
//! It loads the forwarding [`Snapshot`] once per poll round and routes all
//! bursts of that round with it. Nothing on this path allocates, locks or
//! blocks: queues to the control plane are bounded and drop when full.
//!
//! When a config change adds or removes interfaces, the control plane
//! sends each worker a [`Remap`] through its [`PortControl`]: the new port
//! table (ports it keeps, moved to their new index, and new ones) together
//! with the snapshot that describes it. Between two poll rounds the worker
//! sends what is queued with the old view, swaps the table, and routes with
//! that snapshot (or a newer one) from then on, so no packet is ever routed
//! with a port table and a snapshot that disagree.
//!
//! ```text
//!  control: open new ports ─► Remap{ports, snapshot} ─► every worker ─► RemapDone{removed ports}
//!           ◄──────────────── wait for all ◄──────────────────────────┘
//!           publish(snapshot) to the RCU cell; close removed ports
//! ```

use crate::capture::{CaptureSession, CaptureTaps};
use crate::counters::{DropReason, WorkerCounters};
use crate::ratelimit::TokenBucket;
use crate::state::{Rcu, Snapshot};
use crossbeam_queue::ArrayQueue;
use pmd::{Buf, Burst, Pool, Port};
use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `Meta::flags`: a punted IPv4 packet waits for next-hop resolution; it
/// is ready to send on `meta.out_port` once the control plane writes the
/// destination MAC for the next hop in `meta.next_hop` (an IPv4 address).
pub const META_HOLD: u16 = 1 << 8;

/// `Meta::flags` of a packet injected by the control plane: a keepalive
/// probe of tunnel number `meta.out_port`, built by
/// [`crate::tunnel::build_keepalive`], for the worker to route in the
/// tunnel's underlay VRF.
pub const META_KEEPALIVE: u16 = 1 << 9;

/// Queues between one worker and the control plane: the worker's links
/// to it.
pub struct WorkerQueues<B> {
    /// Worker → control: ARP and packets awaiting resolution.
    pub punt: ArrayQueue<B>,
    /// Control → worker: ready-to-send packets (`meta.out_port` set).
    pub inject: ArrayQueue<B>,
    /// The router's capture registry, shared by all its workers.
    pub captures: Arc<CaptureTaps>,
}

impl<B> WorkerQueues<B> {
    /// Queues holding up to `capacity` packets each way, with a capture
    /// registry of their own (captures started on it reach this worker
    /// only).
    pub fn new(capacity: usize) -> Self {
        Self::with_captures(capacity, Arc::new(CaptureTaps::new()))
    }

    /// Queues holding up to `capacity` packets each way, joined to the
    /// router's capture registry `captures` (give every worker the same).
    pub fn with_captures(capacity: usize, captures: Arc<CaptureTaps>) -> Self {
        WorkerQueues {
            punt: ArrayQueue::new(capacity),
            inject: ArrayQueue::new(capacity),
            captures,
        }
    }
}

/// Where a port of a new port table comes from.
pub enum PortSlot<Q> {
    /// The port the worker has at this index now.
    Keep(usize),
    /// A newly opened port (this worker's queue of it).
    New(Q),
}

/// A new port table for a worker, and the snapshot that describes it.
pub struct Remap<Q> {
    /// The new table, by new port index.
    pub ports: Vec<PortSlot<Q>>,
    /// The snapshot to route with from the swap on (until the RCU cell
    /// holds a newer one).
    pub snapshot: Arc<Snapshot>,
}

/// A worker's answer to a [`Remap`].
pub struct RemapDone<Q> {
    /// The ports it no longer has, flushed, for the control plane to
    /// close; `Err` (nothing changed) if the remap named a port twice or
    /// one the worker does not have.
    pub removed: Result<Vec<Q>, String>,
    /// Packets this worker had pushed onto its punt queue before the swap
    /// (in its lifetime): those carry old port numbers.
    pub punted_before: u64,
}

/// The control plane's channel for changing a worker's port table.
pub struct PortControl<Q> {
    /// Control → worker.
    pub remap: ArrayQueue<Remap<Q>>,
    /// Worker → control.
    pub done: ArrayQueue<RemapDone<Q>>,
}

impl<Q> Default for PortControl<Q> {
    fn default() -> Self {
        PortControl {
            remap: ArrayQueue::new(1),
            done: ArrayQueue::new(1),
        }
    }
}

/// Settings of a worker.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// ICMP errors per second this worker may originate.
    pub icmp_rate: u32,
    /// ICMP error burst.
    pub icmp_burst: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            icmp_rate: 1000,
            icmp_burst: 100,
        }
    }
}

/// One forwarding worker, generic over the buffer pool and the port type
/// (monomorphised per driver set: no dynamic dispatch per packet).
pub struct Worker<P: Pool, Q: Port<P>> {
    /// Worker index (also the queue index it owns on every port).
    pub id: usize,
    pub(crate) ports: Vec<Q>,
    pub(crate) pool: P,
    rcu: Rcu,
    pub(crate) queues: Arc<WorkerQueues<P::Buf>>,
    pub(crate) counters: Arc<WorkerCounters>,
    pub(crate) tx: Vec<Burst<P::Buf>>,
    /// Whether an output burst in `tx` may hold packets (else
    /// [`Self::flush_tx`] has nothing to look at).
    pub(crate) tx_pending: bool,
    pub(crate) icmp_limit: TokenBucket,
    generation: u64,
    /// Identification of the last IPv4 header this worker built (outer
    /// headers of tunnels).
    pub(crate) ip_id: u16,
    /// Datagrams addressed to the router being reassembled.
    pub(crate) reasm: crate::reasm::Reassembly<P::Buf>,
    /// Packets punted per unresolved next hop under the current snapshot.
    glean: [GleanSlot; GLEAN_SLOTS],
    /// Port table changes from the control plane, if it makes any.
    port_ctl: Option<Arc<PortControl<Q>>>,
    /// The snapshot that came with the last [`Remap`], used until the RCU
    /// cell holds one at least as new.
    pinned: Option<Arc<Snapshot>>,
    /// Packets pushed onto the punt queue so far.
    punts_pushed: u64,
    /// The capture registry (`queues.captures`, one pointer closer).
    taps: Arc<CaptureTaps>,
    /// `taps`' generation when `tap` was loaded.
    tap_generation: u64,
    /// The running capture, if any, refreshed when the generation moves.
    pub(crate) tap: Option<Arc<CaptureSession>>,
    /// This round took a new port table or snapshot, or let go of one
    /// (see [`crate::stall`]).
    slow_round: bool,
    /// This round received a full burst on some port.
    backlog: bool,
}

/// Packets per unresolved next hop a worker punts before the control
/// plane's snapshot marks it incomplete: the control plane holds this many
/// (RFC 1122 §2.3.2.2 asks for at least one), the rest would only flood
/// the punt queue.
pub const GLEAN_PUNTS: u8 = 3;
const GLEAN_SLOTS: usize = 256;

#[derive(Clone, Copy, Default)]
struct GleanSlot {
    key: u64,
    generation: u64,
    count: u8,
}

impl<P: Pool, Q: Port<P>> Worker<P, Q> {
    /// A worker polling `ports` (its own queue of each port, indexed by
    /// port number).
    pub fn new(
        id: usize,
        ports: Vec<Q>,
        pool: P,
        rcu: Rcu,
        queues: Arc<WorkerQueues<P::Buf>>,
        counters: Arc<WorkerCounters>,
        cfg: &WorkerConfig,
    ) -> Self {
        let tx = (0..ports.len()).map(|_| Burst::new()).collect();
        let taps = queues.captures.clone();
        Worker {
            id,
            ports,
            pool,
            rcu,
            queues,
            counters,
            tx,
            tx_pending: false,
            icmp_limit: TokenBucket::new(cfg.icmp_rate, cfg.icmp_burst),
            generation: u64::MAX,
            ip_id: (id as u16).wrapping_mul(0x4000),
            reasm: crate::reasm::Reassembly::new(),
            glean: [GleanSlot::default(); GLEAN_SLOTS],
            port_ctl: None,
            pinned: None,
            punts_pushed: 0,
            taps,
            tap_generation: 0,
            tap: None,
            slow_round: false,
            backlog: false,
        }
    }

    /// Take port table changes from `ctl` (live config changes).
    pub fn with_port_control(mut self, ctl: Arc<PortControl<Q>>) -> Self {
        self.port_ctl = Some(ctl);
        self
    }

    /// This worker's counters.
    pub fn counters(&self) -> &Arc<WorkerCounters> {
        &self.counters
    }

    /// Fragments held for reassembly (each is counted once the datagram
    /// completes or fails).
    pub fn fragments_held(&self) -> usize {
        self.reasm.held()
    }

    /// True while this worker holds a running capture (it lets go at the
    /// first poll round after the capture stops).
    pub fn capturing(&self) -> bool {
        self.tap.is_some()
    }

    /// The ports, for inspection after the worker stopped.
    pub fn ports(&self) -> &[Q] {
        &self.ports
    }

    /// Poll until `stop` is set, then flush every port.
    pub fn run(&mut self, stop: &AtomicBool) {
        let mut idle = 0u32;
        let counters = self.counters.clone();
        let mut clock = crate::stall::StallClock::start();
        while !stop.load(Ordering::Relaxed) {
            let n = self.poll();
            clock.round(
                &counters.stalls,
                std::mem::take(&mut self.slow_round),
                std::mem::take(&mut self.backlog),
            );
            if n == 0 {
                idle += 1;
                if idle >= 1024 {
                    idle = 0;
                    for p in &mut self.ports {
                        p.flush();
                    }
                }
                std::hint::spin_loop();
            } else {
                idle = 0;
            }
        }
        for p in &mut self.ports {
            p.flush();
        }
        self.pool.flush_local_cache();
    }

    /// One round: drain the inject queue, then one rx burst from every
    /// port, each routed and transmitted. Returns packets received.
    pub fn poll(&mut self) -> usize {
        if self.port_ctl.as_ref().is_some_and(|c| !c.remap.is_empty()) {
            self.slow_round = true;
            self.remap_ports();
        }
        let guard = self.rcu.load();
        let pinned = self.pinned_over(guard.generation);
        let snap: &Snapshot = pinned.as_deref().unwrap_or(&guard);
        if snap.generation != self.generation {
            self.slow_round = true;
            self.generation = snap.generation;
            self.counters.generation.set(snap.generation);
        }
        // Idle cost of the capture taps: this load and branch.
        let g = self.taps.generation();
        if g != self.tap_generation {
            self.refresh_tap(g);
        }
        self.drain_inject(snap);
        let mut total = 0;
        let mut rx: Burst<P::Buf> = Burst::new();
        for i in 0..self.ports.len() {
            // The bytes are route_burst's to count.
            let n = self.ports[i].rx_burst_uncounted(&mut rx);
            if n == 0 {
                continue;
            }
            self.backlog |= n == pmd::BURST;
            total += n;
            if let Some(t) = &self.tap {
                t.on_rx(i as u16, &rx[rx.len() - n..], self.id as u16);
            }
            self.counters.bursts.add(1);
            let bytes = self.route_burst(i as u16, &mut rx, snap);
            self.ports[i].count_rx_bytes(bytes);
            self.flush_tx();
        }
        total
    }

    /// The pinned snapshot while it is newer than the RCU cell's
    /// (`current`); dropped once the cell caught up.
    #[inline]
    fn pinned_over(&mut self, current: u64) -> Option<Arc<Snapshot>> {
        let p = self.pinned.as_ref()?;
        if p.generation > current {
            Some(p.clone())
        } else {
            self.slow_round = true;
            self.pinned = None;
            None
        }
    }

    /// Apply the control plane's [`Remap`]s: send everything queued with
    /// the old table, then swap in the new one.
    #[cold]
    #[inline(never)]
    fn remap_ports(&mut self) {
        let Some(ctl) = self.port_ctl.clone() else {
            return;
        };
        while let Some(remap) = ctl.remap.pop() {
            {
                let guard = self.rcu.load();
                let pinned = self.pinned_over(guard.generation);
                let snap: &Snapshot = pinned.as_deref().unwrap_or(&guard);
                while !self.queues.inject.is_empty() {
                    self.drain_inject(snap);
                }
            }
            self.flush_tx();
            for p in &mut self.ports {
                p.flush();
            }
            let removed = self.swap_ports(remap.ports);
            if removed.is_ok() {
                self.generation = remap.snapshot.generation;
                self.counters.generation.set(remap.snapshot.generation);
                self.pinned = Some(remap.snapshot);
            }
            let done = RemapDone {
                removed,
                punted_before: self.punts_pushed,
            };
            if ctl.done.push(done).is_err() {
                // The control plane sends one remap at a time and waits for
                // its answer; a full answer slot means it gave up waiting.
                self.counters.count_drop(DropReason::IfaceDown);
            }
        }
    }

    /// Build the port table `slots` describes from the current one; the
    /// ports left over are returned. Nothing changes on a bad description.
    fn swap_ports(&mut self, slots: Vec<PortSlot<Q>>) -> Result<Vec<Q>, String> {
        let mut seen = vec![false; self.ports.len()];
        for s in &slots {
            if let PortSlot::Keep(i) = *s {
                match seen.get_mut(i) {
                    Some(x) if !*x => *x = true,
                    Some(_) => return Err(format!("port {i} kept twice")),
                    None => return Err(format!("no port {i} to keep")),
                }
            }
        }
        let mut old: Vec<Option<Q>> = mem::take(&mut self.ports).into_iter().map(Some).collect();
        self.ports = slots
            .into_iter()
            .map(|s| match s {
                PortSlot::Keep(i) => old[i].take().expect("checked above"),
                PortSlot::New(q) => q,
            })
            .collect();
        // (Flushed before the swap.)
        self.tx = (0..self.ports.len()).map(|_| Burst::new()).collect();
        self.tx_pending = false;
        Ok(old.into_iter().flatten().collect())
    }

    /// Pick up the capture that started or stopped (once per change).
    #[cold]
    #[inline(never)]
    fn refresh_tap(&mut self, generation: u64) {
        self.tap_generation = generation;
        self.tap = self.taps.session();
    }

    fn drain_inject(&mut self, snap: &Snapshot) {
        if self.queues.inject.is_empty() {
            return;
        }
        let mut n = 0;
        while n < pmd::BURST {
            let Some(p) = self.queues.inject.pop() else {
                break;
            };
            n += 1;
            if p.meta().flags & META_KEEPALIVE != 0 {
                let t = p.meta().out_port;
                self.send_keepalive(p, t, snap);
                continue;
            }
            self.enqueue_tx(p);
        }
        self.counters.injected.add(n as u64);
        self.flush_tx();
    }

    /// Queue a packet for transmission on `meta.out_port`.
    #[inline]
    pub(crate) fn enqueue_tx(&mut self, p: P::Buf) {
        let out = p.meta().out_port;
        self.enqueue_tx_on(out, p);
    }

    /// Queue a packet for transmission on port `out`.
    #[inline]
    pub(crate) fn enqueue_tx_on(&mut self, out: u16, p: P::Buf) {
        let out = out as usize;
        let Some(q) = self.tx.get_mut(out) else {
            self.counters.count_drop(DropReason::IfaceDown);
            return;
        };
        if let Err(full) = q.try_push(p) {
            if let Some(t) = &self.tap {
                t.on_tx(out as u16, q, self.id as u16);
            }
            self.ports[out].tx_burst(q);
            q.push(full.element());
        }
        self.tx_pending = true;
    }

    /// Transmit every pending output burst.
    #[inline]
    pub(crate) fn flush_tx(&mut self) {
        if !std::mem::take(&mut self.tx_pending) {
            return;
        }
        let (tap, id) = (self.tap.as_deref(), self.id as u16);
        for (i, (port, q)) in self.ports.iter_mut().zip(self.tx.iter_mut()).enumerate() {
            if !q.is_empty() {
                if let Some(t) = tap {
                    t.on_tx(i as u16, q, id);
                }
                port.tx_burst(q);
            }
        }
    }

    /// Hand a packet waiting for next hop `ip` on `port` to the control
    /// plane, unless enough for it were punted under this snapshot already.
    #[cold]
    #[inline(never)]
    pub(crate) fn punt_hold(&mut self, p: P::Buf) {
        let m = p.meta();
        let key = ((m.out_port as u64) << 32 | m.next_hop as u64) + 1;
        let slot = &mut self.glean[(key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize];
        if slot.key != key || slot.generation != self.generation {
            *slot = GleanSlot {
                key,
                generation: self.generation,
                count: 0,
            };
        }
        if slot.count >= GLEAN_PUNTS {
            self.counters.count_drop(DropReason::Incomplete);
            return;
        }
        slot.count += 1;
        self.punt(p);
    }

    /// Hand a packet to the control plane.
    #[cold]
    #[inline(never)]
    pub(crate) fn punt(&mut self, p: P::Buf) {
        match self.queues.punt.push(p) {
            Ok(()) => {
                self.punts_pushed += 1;
                self.counters.punted.add(1)
            }
            Err(_) => self.counters.count_drop(DropReason::PuntFull),
        }
    }
}
