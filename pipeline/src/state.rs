//! Forwarding state: the immutable snapshot workers route with.
//!
//! The control plane builds a [`Snapshot`] and publishes it through
//! [`Rcu`]; a worker loads the current one once per burst and routes the
//! whole burst with it, so a swap never splits a burst between two views.
//! The old snapshot is freed when the last worker lets go of it.
//!
//! ```text
//!  dst ──► fibs[vrf].lookup ──► NextHop ──► adj[NextHop] ──┬─ Forward: rewrite MACs, out port
//!                                                          ├─ Attached: neighbors[(port, dst)] ──► adj
//!                                                          ├─ Local: to the router itself
//!                                                          ├─ Glean: punt to ARP (next hop unknown)
//!                                                          ├─ Tunnel: encapsulate, route in the underlay VRF
//!                                                          └─ Blackhole / Reject
//! ```
//!
//! GRE arriving for a Local address is matched in [`DecapMap`] by (underlay
//! VRF, local address, remote address, key) to its [`TunnelState`], and the
//! inner packet is routed in the tunnel's overlay VRF as if it had arrived
//! on the tunnel's interface (`ifaces[tunnel.iface]`, after the ports).
//!
//! Parts that change at different speeds are shared between snapshots
//! through `Arc`s: an ARP reply replaces the adjacency and neighbor tables
//! but keeps the FIBs.

use crate::fib::{Fib4, NextHop};
use arc_swap::ArcSwap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// What to do with a packet whose lookup gave this adjacency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AdjKind {
    /// Send to a resolved neighbor: rewrite the Ethernet header, out `port`.
    Forward = 0,
    /// A connected subnet on `port`: the destination itself is the next
    /// hop, found in the neighbor map.
    Attached = 1,
    /// A next hop (`ip`) on `port` whose MAC is not known yet: the packet
    /// goes to the control plane, which resolves it and holds a few packets.
    Glean = 2,
    /// A neighbor being resolved: drop without punting again.
    Incomplete = 3,
    /// One of the router's own addresses.
    Local = 4,
    /// Drop silently.
    Blackhole = 5,
    /// Drop and answer ICMP destination unreachable (host unreachable).
    Reject = 6,
    /// Into GRE tunnel number `port` (an index into
    /// [`Snapshot::tunnels`]): encapsulate, then route the outer packet in
    /// the tunnel's underlay VRF. `mtu` is the tunnel's.
    Tunnel = 7,
}

/// An adjacency: everything needed to send a packet to one next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(32))]
pub struct Adj {
    /// Ethernet destination then source address, copied onto the frame.
    pub eth: [u8; 12],
    /// Next-hop IPv4 address (host order) for Glean/Forward; 0 otherwise.
    pub ip: u32,
    /// Output port.
    pub port: u16,
    /// Output 802.1Q TCI, 0 for untagged.
    pub vlan: u16,
    /// IP MTU of the output interface.
    pub mtu: u16,
    /// What to do.
    pub kind: AdjKind,
}

impl Adj {
    /// An adjacency of the given kind with no rewrite data.
    pub const fn simple(kind: AdjKind) -> Adj {
        Adj {
            eth: [0; 12],
            ip: 0,
            port: 0,
            vlan: 0,
            mtu: 0,
            kind,
        }
    }

    /// A resolved next hop.
    pub fn forward(port: u16, dst_mac: [u8; 6], src_mac: [u8; 6], ip: Ipv4Addr, mtu: u16) -> Adj {
        let mut eth = [0; 12];
        eth[..6].copy_from_slice(&dst_mac);
        eth[6..].copy_from_slice(&src_mac);
        Adj {
            eth,
            ip: ip.into(),
            port,
            vlan: 0,
            mtu,
            kind: AdjKind::Forward,
        }
    }
}

/// The adjacencies of a snapshot, indexed by [`NextHop`], with the form
/// the forwarding fast path reads ([`FastAdj`]) built beside them once.
/// Dereferences to the adjacencies.
#[derive(Clone, Debug, Default)]
pub struct AdjTable {
    adj: Vec<Adj>,
    fast: Vec<FastAdj>,
}

/// An adjacency as the forwarding fast path sees it: one 16-byte load of
/// everything it needs, and one compare for whether it may take it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct FastAdj {
    /// Ethernet destination then source address.
    pub eth: [u8; 12],
    /// Output port.
    pub port: u16,
    /// The largest IPv4 total length the fast path sends here: the MTU of
    /// an untagged [`AdjKind::Forward`]; [`FastAdj::ATTACHED`] for a
    /// connected subnet (the host's own adjacency is in the neighbor map);
    /// 0 for anything else. Every packet exceeds the last two.
    pub mtu: u16,
}

impl FastAdj {
    /// [`FastAdj::mtu`] of an [`AdjKind::Attached`] adjacency.
    pub const ATTACHED: u16 = 1;
}

impl AdjTable {
    /// The table of `adj`.
    pub fn new(adj: Vec<Adj>) -> Self {
        let fast = adj
            .iter()
            .map(|a| FastAdj {
                eth: a.eth,
                port: a.port,
                mtu: match a.kind {
                    AdjKind::Forward if a.vlan == 0 => a.mtu.max(FastAdj::ATTACHED + 1),
                    AdjKind::Attached => FastAdj::ATTACHED,
                    _ => 0,
                },
            })
            .collect();
        AdjTable { adj, fast }
    }

    /// The fast path's form of every adjacency, same indices.
    #[inline]
    pub fn fast(&self) -> &[FastAdj] {
        &self.fast
    }
}

impl From<Vec<Adj>> for AdjTable {
    fn from(adj: Vec<Adj>) -> Self {
        AdjTable::new(adj)
    }
}

impl std::ops::Deref for AdjTable {
    type Target = [Adj];
    fn deref(&self) -> &[Adj] {
        &self.adj
    }
}

/// Adjacency index of the shared "local" entry (the router's addresses).
pub const ADJ_LOCAL: NextHop = 0;
/// Adjacency index of the shared blackhole entry.
pub const ADJ_BLACKHOLE: NextHop = 1;
/// Adjacency index of the shared reject entry.
pub const ADJ_REJECT: NextHop = 2;
/// First adjacency index free for interfaces and neighbors.
pub const ADJ_FIRST_DYNAMIC: NextHop = 3;

/// An immutable hash map from (port, IPv4 address) to adjacency index:
/// the resolved neighbors on connected subnets.
///
/// Open addressing with linear probing over a power-of-two table kept at
/// most half full; a lookup is one or two cache lines.
#[derive(Clone, Debug, Default)]
pub struct NeighborMap {
    slots: Box<[(u64, NextHop)]>,
    mask: usize,
    len: usize,
}

const EMPTY_KEY: u64 = u64::MAX;

#[inline]
fn neigh_key(port: u16, ip: u32) -> u64 {
    ((port as u64) << 32) | ip as u64
}

#[inline]
fn neigh_hash(key: u64) -> usize {
    // Fibonacci hashing: multiply, take the high bits.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) as usize
}

impl NeighborMap {
    /// Build from (port, address, adjacency) entries; later duplicates win.
    pub fn build(entries: impl IntoIterator<Item = (u16, Ipv4Addr, NextHop)>) -> NeighborMap {
        let entries: Vec<_> = entries.into_iter().collect();
        let cap = (entries.len() * 2).max(16).next_power_of_two();
        let mut m = NeighborMap {
            slots: vec![(EMPTY_KEY, 0); cap].into_boxed_slice(),
            mask: cap - 1,
            len: 0,
        };
        for (port, ip, adj) in entries {
            let key = neigh_key(port, ip.into());
            let mut i = neigh_hash(key) & m.mask;
            loop {
                if m.slots[i].0 == EMPTY_KEY {
                    m.slots[i] = (key, adj);
                    m.len += 1;
                    break;
                }
                if m.slots[i].0 == key {
                    m.slots[i].1 = adj;
                    break;
                }
                i = (i + 1) & m.mask;
            }
        }
        m
    }

    /// The adjacency of neighbor `ip` on `port`, if known.
    #[inline]
    pub fn get(&self, port: u16, ip: u32) -> Option<NextHop> {
        if self.len == 0 {
            return None;
        }
        let key = neigh_key(port, ip);
        let mut i = neigh_hash(key) & self.mask;
        loop {
            let (k, v) = self.slots[i];
            if k == key {
                return Some(v);
            }
            if k == EMPTY_KEY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Per-port (interface) state the pipeline needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceState {
    /// Interface name (for traces and errors).
    pub name: String,
    /// VRF index packets arriving here are routed in.
    pub vrf: u16,
    /// The interface's MAC address.
    pub mac: [u8; 6],
    /// IP MTU.
    pub mtu: u16,
    /// The interface's first IPv4 address (host order), the source of ICMP
    /// errors sent for packets that arrived here; 0 when it has none.
    pub primary_ip: u32,
    /// Whether the interface is up (packets to and from a down interface
    /// are dropped).
    pub up: bool,
}

/// How a tunnel sets the DF bit of the outer IPv4 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DfPolicy {
    /// Copy it from the inner packet (RFC 2003 §3.1's choice).
    #[default]
    Copy,
    /// Always set it.
    Set,
    /// Never set it.
    Clear,
}

/// Where a tunnel fragments a DF-clear packet larger than its MTU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FragmentPolicy {
    /// Encapsulate it whole and fragment the outer packet (the far end
    /// reassembles before decapsulating).
    #[default]
    Outer,
    /// Fragment the inner packet to the tunnel MTU, then encapsulate each
    /// fragment (the destination host reassembles).
    Inner,
}

/// A GRE tunnel (RFC 2784, RFC 2890) as the data plane needs it.
#[derive(Clone, Debug)]
pub struct TunnelState {
    /// The tunnel interface's index in [`Snapshot::ifaces`] (after the
    /// ports): decapsulated packets arrive there.
    pub iface: u16,
    /// VRF the tunnel carries (routes through the tunnel live there, and
    /// decapsulated packets are routed there).
    pub overlay_vrf: u16,
    /// VRF the outer packets are routed in.
    pub underlay_vrf: u16,
    /// Outer source: a local address in the underlay VRF (host order).
    pub src: u32,
    /// Outer destination (host order).
    pub dst: u32,
    /// RFC 2890 key, sent and required on receipt.
    pub key: Option<u32>,
    /// Send RFC 2784 checksums.
    pub checksum: bool,
    /// Send RFC 2890 sequence numbers.
    pub sequence: bool,
    /// Outer TTL.
    pub ttl: u8,
    /// Outer DF bit.
    pub df: DfPolicy,
    /// Where DF-clear packets larger than `mtu` are fragmented.
    pub fragment: FragmentPolicy,
    /// Largest inner packet (IP MTU of the tunnel interface).
    pub mtu: u16,
    /// Whether the tunnel is up (keepalives may take it down).
    pub up: bool,
    /// The hairpin: when the underlay routes `dst` to a local address and
    /// a tunnel there takes this one's packets (the seed's Tunnel75 and
    /// Tunnel76), its number. Encapsulating, routing the outer packet to
    /// ourselves and decapsulating it again would give exactly the inner
    /// packet arriving on that tunnel, so the worker hands it over
    /// directly. Set by [`Snapshot::link_hairpins`].
    pub hairpin: Option<u16>,
    /// The next RFC 2890 sequence number, shared by the workers and kept
    /// from one snapshot to the next.
    pub seq: Arc<std::sync::atomic::AtomicU32>,
}

impl TunnelState {
    /// Bytes the outer IPv4 and GRE headers add.
    pub const fn overhead(&self) -> usize {
        20 + crate::wire::gre::header_len(self.checksum, self.key.is_some(), self.sequence)
    }
}

/// Key of a tunnel for decapsulation: (underlay VRF, local address, remote
/// address, key or none).
pub type DecapKey = (u16, u32, u32, Option<u32>);

/// A fast hasher for small fixed keys (multiply and fold, as FxHash
/// does): decapsulation looks a key up per packet, and its keys come from
/// the configuration, not from the wire's choice alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    #[inline]
    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }

    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Tunnels by [`DecapKey`], for GRE arriving at a local address.
#[derive(Clone, Debug, Default)]
pub struct DecapMap {
    map: std::collections::HashMap<DecapKey, u16, std::hash::BuildHasherDefault<KeyHasher>>,
}

impl DecapMap {
    /// A map of the given tunnels (index in `tunnels` = tunnel number).
    pub fn build(tunnels: &[TunnelState]) -> DecapMap {
        let map = tunnels
            .iter()
            .enumerate()
            .map(|(i, t)| ((t.underlay_vrf, t.src, t.dst, t.key), i as u16))
            .collect();
        DecapMap { map }
    }

    /// The tunnel a GRE packet from `remote` to `local` in `vrf` with key
    /// `key` belongs to.
    #[inline]
    pub fn get(&self, vrf: u16, local: u32, remote: u32, key: Option<u32>) -> Option<u16> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(&(vrf, local, remote, key)).copied()
    }

    /// Number of tunnels.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The complete forwarding state, immutable once published.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Monotonic version number, for tests and traces.
    pub generation: u64,
    /// One IPv4 FIB per VRF, indexed by VRF index.
    pub fibs: Arc<Vec<Arc<Fib4>>>,
    /// Adjacencies, indexed by [`NextHop`].
    pub adj: Arc<AdjTable>,
    /// Resolved neighbors on connected subnets.
    pub neighbors: Arc<NeighborMap>,
    /// Per-interface state, indexed by port; tunnel interfaces follow the
    /// ports.
    pub ifaces: Arc<Vec<IfaceState>>,
    /// GRE tunnels, indexed by tunnel number.
    pub tunnels: Arc<Vec<TunnelState>>,
    /// The tunnels by decapsulation key.
    pub decap: Arc<DecapMap>,
    /// Policy routing rules.
    pub policies: Arc<crate::policy::Policies>,
}

impl Snapshot {
    /// Work out every tunnel's [`TunnelState::hairpin`] from this
    /// snapshot's FIBs and decapsulation map (a new `tunnels` table if any
    /// changed).
    pub fn link_hairpins(&mut self) {
        let hairpin = |t: &TunnelState| {
            let (_, adj) = self.route(t.underlay_vrf, t.dst)?;
            if adj.kind != AdjKind::Local {
                return None;
            }
            self.decap.get(t.underlay_vrf, t.dst, t.src, t.key)
        };
        let wanted: Vec<Option<u16>> = self.tunnels.iter().map(hairpin).collect();
        if wanted
            .iter()
            .zip(self.tunnels.iter())
            .all(|(w, t)| *w == t.hairpin)
        {
            return;
        }
        let mut tunnels = (*self.tunnels).clone();
        for (t, w) in tunnels.iter_mut().zip(wanted) {
            t.hairpin = w;
        }
        self.tunnels = Arc::new(tunnels);
    }

    /// The adjacency for `nh`, or the blackhole for an index out of range.
    #[inline]
    pub fn adj(&self, nh: NextHop) -> &Adj {
        static BLACKHOLE: Adj = Adj::simple(AdjKind::Blackhole);
        self.adj.get(nh as usize).unwrap_or(&BLACKHOLE)
    }

    /// The FIB's answer for `dst` in `vrf`: `NO_ROUTE` when there is no
    /// route or no such VRF.
    #[inline]
    pub fn lookup(&self, vrf: u16, dst: u32) -> NextHop {
        self.fibs
            .get(usize::from(vrf))
            .map_or(crate::fib::NO_ROUTE, |f| f.lookup(dst))
    }

    /// Route `dst` in `vrf`: the adjacency to use, resolving connected
    /// subnets through the neighbor map. `None` when there is no route.
    #[inline]
    pub fn route(&self, vrf: u16, dst: u32) -> Option<(NextHop, &Adj)> {
        let nh = self.lookup(vrf, dst);
        if nh == crate::fib::NO_ROUTE {
            return None;
        }
        Some(self.resolve(nh, dst))
    }

    /// The adjacency a lookup result `nh` leads to for `dst`: a connected
    /// subnet's host comes from the neighbor map when it is known.
    #[inline]
    pub fn resolve(&self, nh: NextHop, dst: u32) -> (NextHop, &Adj) {
        let adj = self.adj(nh);
        if adj.kind == AdjKind::Attached {
            if let Some(n) = self.neighbors.get(adj.port, dst) {
                return (n, self.adj(n));
            }
        }
        (nh, adj)
    }
}

/// The RCU cell through which the control plane publishes snapshots.
pub type Rcu = Arc<ArcSwap<Snapshot>>;

/// Make a new RCU cell holding `snap`.
pub fn rcu(snap: Snapshot) -> Rcu {
    Arc::new(ArcSwap::from_pointee(snap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbor_map_finds_what_it_holds() {
        let entries: Vec<_> = (0..1000u32)
            .map(|i| ((i % 4) as u16, Ipv4Addr::from(0x0a00_0000 + i * 7), i + 10))
            .collect();
        let m = NeighborMap::build(entries.clone());
        assert_eq!(m.len(), 1000);
        for (p, ip, nh) in entries {
            assert_eq!(m.get(p, ip.into()), Some(nh));
            assert_eq!(m.get(p + 4, ip.into()), None);
        }
        assert_eq!(NeighborMap::default().get(0, 1), None);
    }
}
