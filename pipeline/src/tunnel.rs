//! GRE tunnels (RFC 2784, RFC 2890 key and sequence number) in the
//! worker: encapsulation into a tunnel, decapsulation of GRE addressed to
//! the router, and the hairpin between the two.
//!
//! ```text
//!  overlay VRF: route ─► Tunnel adj ─► TTL − 1, MTU check ─► encap ─┐
//!                                                                   │
//!  ┌────────────────────────────────────────────────────────────────┘
//!  └► underlay VRF: route the outer destination ─┬─ Forward/Attached/Glean: out a port
//!                                                ├─ Local: decap here (the hairpin) ─┐
//!                                                └─ Tunnel: GRE in GRE               │
//!  port ─► route ─► Local, protocol 47 ─► decap ◄─────────────────────────────────────┘
//!             └► DecapMap[(vrf, dst, src, key)] ─► strip ─► route the inner packet in
//!                the tunnel's overlay VRF, arriving on the tunnel's interface
//! ```
//!
//! Encapsulation writes the outer IPv4 and GRE headers into the headroom
//! in front of the inner packet, over its old Ethernet header: the packet
//! itself is not copied. Decapsulation moves the data start past the outer
//! headers and writes a fresh Ethernet header there.
//!
//! Every encapsulation and decapsulation of one packet counts as a pass;
//! more than [`MAX_TUNNEL_PASSES`] and the packet is dropped
//! (`tunnel-loop`): a routing loop through tunnels ends, it never spins.
//!
//! The outer header (RFC 2784 §2.1, RFC 2003 §3.1 for the choices GRE
//! leaves open): TOS copied from the inner packet (DSCP, and ECN as
//! RFC 6040's normal mode does), DF as the tunnel's [`DfPolicy`] says, TTL
//! from the tunnel, an identification from a per-worker counter. Sequence
//! numbers are accepted in any order on receipt (no reordering).

use crate::counters::DropReason;
use crate::fib::NO_ROUTE;
use crate::frag::{fragment, FragError};
use crate::ipv4::{be16, be32, ETHERTYPE_IPV4, ETH_LEN};
use crate::state::{AdjKind, DfPolicy, IfaceState, Snapshot, TunnelState};
use crate::wire::{checksum, gre};
use crate::worker::Worker;
use pmd::{Buf, Burst, Pool, Port};
use std::sync::atomic::Ordering;

/// Most tunnel passes (encapsulations plus decapsulations) one packet may
/// take: the seed's hairpin (encapsulate, decapsulate) followed by a
/// tunnel to a remote peer, or GRE in GRE, and a loop ends at once. Four
/// plain encapsulations (96 bytes) fit the 128-byte headroom; beyond it a
/// packet is dropped as `tunnel-no-room` instead.
pub const MAX_TUNNEL_PASSES: u8 = 4;

/// Write the outer IPv4 and GRE headers of tunnel `t` in front of the
/// IPv4 packet in frame `p` (an Ethernet header, then exactly the inner
/// packet), keeping room for an Ethernet header in front. False, with
/// `p` unchanged, when the headroom is too small.
pub(crate) fn encapsulate<B: Buf>(p: &mut B, t: &TunnelState, id: u16) -> bool {
    let g = t.overhead() - 20;
    let inner_len = p.len() - ETH_LEN;
    let (tos, inner_df) = {
        let d = p.data();
        (d[ETH_LEN + 1], d[ETH_LEN + 6] & 0x40 != 0)
    };
    if p.prepend(20 + g).is_none() {
        return false;
    }
    let d = p.data_mut();
    d[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let df = match t.df {
        DfPolicy::Copy => inner_df,
        DfPolicy::Set => true,
        DfPolicy::Clear => false,
    };
    // RFC 791 header, 20 bytes, no options.
    let ip = &mut d[ETH_LEN..ETH_LEN + 20];
    ip[0] = 0x45;
    ip[1] = tos;
    ip[2..4].copy_from_slice(&((20 + g + inner_len) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6..8].copy_from_slice(&(if df { 0x4000u16 } else { 0 }).to_be_bytes());
    ip[8] = t.ttl;
    ip[9] = gre::IP_PROTOCOL;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&t.src.to_be_bytes());
    ip[16..20].copy_from_slice(&t.dst.to_be_bytes());
    let c = checksum::checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let repr = gre::Repr {
        protocol: gre::PROTO_IPV4,
        checksum: t.checksum,
        key: t.key,
        sequence: t.sequence.then(|| t.seq.fetch_add(1, Ordering::Relaxed)),
    };
    let mut packet = gre::Packet::new_unchecked(&mut d[ETH_LEN + 20..]);
    repr.emit(&mut packet);
    if t.checksum {
        packet.fill_checksum();
    }
    true
}

/// What [`decapsulate`] found.
pub(crate) enum Decap {
    /// The inner packet, now the frame's IPv4 packet, belongs to tunnel
    /// number `.0`.
    Inner(u16),
    /// An empty GRE packet of Protocol Type 0 for tunnel `.0`: the answer
    /// to a Cisco-style keepalive this router sent, for the control plane
    /// (the frame is left as it is).
    Keepalive(u16),
    /// Drop, for this reason.
    Drop(DropReason),
}

/// Take the outer IPv4 and GRE headers off frame `p`, a GRE packet that
/// arrived for a local address in VRF `vrf`, if it belongs to one of
/// `snap`'s tunnels: the frame then holds an Ethernet header addressed to
/// the tunnel's interface and the inner IPv4 packet.
pub(crate) fn decapsulate<B: Buf>(p: &mut B, vrf: u16, snap: &Snapshot) -> Decap {
    let d = p.data();
    let ip = &d[ETH_LEN..];
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(be16(ip, 2)).min(ip.len());
    if be16(ip, 6) & 0x3fff != 0 {
        // More fragments, or not the first: the outer packet would need
        // reassembly first.
        return Decap::Drop(DropReason::FragmentToUs);
    }
    let Ok(packet) = gre::Packet::new_checked(&ip[hl..total]) else {
        return Decap::Drop(DropReason::GreMalformed);
    };
    if !packet.verify_checksum() {
        return Decap::Drop(DropReason::GreMalformed);
    }
    let src = be32(ip, 12);
    let dst = be32(ip, 16);
    let Some(t) = snap.decap.get(vrf, dst, src, packet.key()) else {
        return Decap::Drop(DropReason::GreNoTunnel);
    };
    let Some(tunnel) = snap.tunnels.get(usize::from(t)) else {
        return Decap::Drop(DropReason::GreNoTunnel);
    };
    match packet.protocol() {
        gre::PROTO_IPV4 => {}
        // A keepalive coming back (see `Decap::Keepalive`), even while the
        // tunnel is down: it is what brings it up again.
        0 if packet.payload().is_empty() => return Decap::Keepalive(t),
        _ => return Decap::Drop(DropReason::GreProtocol),
    }
    if !tunnel.up {
        return Decap::Drop(DropReason::TunnelDown);
    }
    let Some(mac) = snap.ifaces.get(usize::from(tunnel.iface)).map(|i| i.mac) else {
        return Decap::Drop(DropReason::GreNoTunnel);
    };
    let outer = hl + packet.header_len();
    let trailer = ip.len() - total;
    if trailer > 0 {
        let _ = p.trim(trailer);
    }
    if p.adj(outer).is_none() {
        return Decap::Drop(DropReason::GreMalformed);
    }
    let d = p.data_mut();
    d[..6].copy_from_slice(&mac);
    d[6..12].copy_from_slice(&[0; 6]);
    d[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    Decap::Inner(t)
}

/// Whether the inner frame `d` (Ethernet, IPv4) of tunnel `t` is the far
/// end's keepalive probe: a GRE packet from this end's address to the far
/// end's (Cisco's keepalive is a GRE packet inside GRE, which the
/// receiver decapsulates and routes back to the sender).
fn is_keepalive_probe(d: &[u8], t: &TunnelState) -> bool {
    let Some(ip) = d.get(ETH_LEN..ETH_LEN + 20) else {
        return false;
    };
    ip[0] >> 4 == 4 && ip[9] == gre::IP_PROTOCOL && be32(ip, 12) == t.src && be32(ip, 16) == t.dst
}

/// Build, in `p` (empty, default headroom), the keepalive probe of tunnel
/// `t`: outer IPv4 to the far end, GRE, and inside an IPv4 packet from
/// the far end back to us carrying an empty GRE packet of Protocol Type 0,
/// which the far end decapsulates and sends back. `id` is the IPv4
/// identification of both headers. Returns the frame's length, or `None`
/// without room. The Ethernet header is left for routing to fill.
pub fn build_keepalive<B: Buf>(p: &mut B, t: &TunnelState, id: u16) -> Option<usize> {
    let inner_gre = 4usize;
    let inner_len = 20 + inner_gre;
    let d = p.append(ETH_LEN + inner_len)?;
    let ip = &mut d[ETH_LEN..];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&(inner_len as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6..8].copy_from_slice(&[0, 0]);
    ip[8] = 255;
    ip[9] = gre::IP_PROTOCOL;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&t.dst.to_be_bytes());
    ip[16..20].copy_from_slice(&t.src.to_be_bytes());
    let c = checksum::checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    // The inner GRE: no flags, Protocol Type 0. (Cisco sends the tunnel's
    // key inside too when it has one.)
    let mut g = gre::Packet::new_unchecked(&mut ip[20..]);
    gre::Repr {
        protocol: 0,
        checksum: false,
        key: None,
        sequence: None,
    }
    .emit(&mut g);
    if !encapsulate(p, t, id) {
        return None;
    }
    Some(p.len())
}

impl<P: Pool, Q: Port<P>> Worker<P, Q> {
    /// Send a keepalive probe (built by [`build_keepalive`]) of tunnel
    /// `t`: route its outer packet in the underlay VRF.
    pub(crate) fn send_keepalive(&mut self, p: P::Buf, t: u16, snap: &Snapshot) {
        let Some(tunnel) = snap.tunnels.get(usize::from(t)) else {
            return;
        };
        self.route_outer(p, tunnel.underlay_vrf, tunnel.dst, snap, 1, false);
    }

    /// Send the IPv4 packet `p` (TTL already decremented, MTU checked)
    /// into tunnel number `t`: encapsulate, then route the outer packet.
    #[cold]
    #[inline(never)]
    pub(crate) fn tunnel_output(
        &mut self,
        mut p: P::Buf,
        t: u16,
        snap: &Snapshot,
        passes: u8,
        count: bool,
    ) {
        if passes >= MAX_TUNNEL_PASSES {
            self.counters.count_drop(DropReason::TunnelLoop);
            return;
        }
        let Some(tunnel) = snap.tunnels.get(usize::from(t)) else {
            self.counters.count_drop(DropReason::TunnelDown);
            return;
        };
        if !tunnel.up {
            self.counters.count_drop(DropReason::TunnelDown);
            return;
        }
        if let Some(peer) = tunnel.hairpin {
            self.hairpin(p, peer, snap, passes + 2, count);
            return;
        }
        self.ip_id = self.ip_id.wrapping_add(1);
        if !encapsulate(&mut p, tunnel, self.ip_id) {
            self.counters.count_drop(DropReason::TunnelNoRoom);
            return;
        }
        self.route_outer(p, tunnel.underlay_vrf, tunnel.dst, snap, passes + 1, count);
    }

    /// The hairpin ([`TunnelState::hairpin`]): the packet, already routed
    /// into a tunnel whose far end is tunnel number `peer` on this router,
    /// arrives on `peer`'s interface as it would after encapsulation,
    /// local delivery and decapsulation.
    fn hairpin(&mut self, p: P::Buf, peer: u16, snap: &Snapshot, passes: u8, count: bool) {
        if passes > MAX_TUNNEL_PASSES {
            self.counters.count_drop(DropReason::TunnelLoop);
            return;
        }
        let Some(tunnel) = snap.tunnels.get(usize::from(peer)) else {
            self.counters.count_drop(DropReason::GreNoTunnel);
            return;
        };
        if !tunnel.up {
            self.counters.count_drop(DropReason::TunnelDown);
            return;
        }
        let Some(iface) = snap.ifaces.get(usize::from(tunnel.iface)) else {
            self.counters.count_drop(DropReason::IfaceDown);
            return;
        };
        let d = p.data();
        let dst = be32(d, 30);
        let nh = snap.lookup(iface.vrf, dst);
        let nh = crate::ipv4::policy_nh(snap, tunnel.iface, &p, dst, nh);
        self.ipv4_route(p, dst, nh, iface, snap, passes, count);
    }

    /// Route an outer packet the router built (encapsulated) in `vrf`
    /// towards `dst`, fragmenting it when it is larger than the output MTU
    /// and its DF bit is clear. Errors about it are counted, never
    /// answered with ICMP: its source is the router itself. `count` as in
    /// `send_routed`.
    fn route_outer(
        &mut self,
        p: P::Buf,
        vrf: u16,
        dst: u32,
        snap: &Snapshot,
        passes: u8,
        count: bool,
    ) {
        let nh = snap.lookup(vrf, dst);
        if nh == NO_ROUTE {
            self.counters.count_drop(DropReason::NoRoute);
            return;
        }
        let (_, adj) = snap.resolve(nh, dst);
        let adj = *adj;
        match adj.kind {
            AdjKind::Local => self.gre_input(p, vrf, snap, passes),
            AdjKind::Tunnel | AdjKind::Forward | AdjKind::Attached | AdjKind::Glean => {
                let d = p.data();
                let (total, df) = (be16(d, ETH_LEN + 2), d[ETH_LEN + 6] & 0x40 != 0);
                if total <= adj.mtu {
                    self.send_routed(p, &adj, dst, snap, passes, count);
                    return;
                }
                if df {
                    self.counters.count_drop(DropReason::TooBig);
                    return;
                }
                let mut frags: Burst<P::Buf> = Burst::new();
                match fragment(&self.pool, p, adj.mtu, &mut frags) {
                    Ok(()) => {
                        self.counters.fragments.add(frags.len() as u64);
                        for (i, f) in frags.drain(..).enumerate() {
                            self.send_routed(f, &adj, dst, snap, passes, count && i == 0);
                        }
                    }
                    Err(FragError::TooSmall) => self.counters.count_drop(DropReason::TooBig),
                    Err(FragError::NoBuffer) => self.counters.count_drop(DropReason::NoBuffer),
                }
            }
            AdjKind::Incomplete => self.counters.count_drop(DropReason::Incomplete),
            AdjKind::Blackhole => self.counters.count_drop(DropReason::Blackhole),
            AdjKind::Reject => self.counters.count_drop(DropReason::Reject),
        }
    }

    /// GRE addressed to one of the router's addresses in `vrf`: hand the
    /// inner packet to its tunnel's overlay VRF.
    #[cold]
    #[inline(never)]
    pub(crate) fn gre_input(&mut self, mut p: P::Buf, vrf: u16, snap: &Snapshot, passes: u8) {
        if passes >= MAX_TUNNEL_PASSES {
            self.counters.count_drop(DropReason::TunnelLoop);
            return;
        }
        match decapsulate(&mut p, vrf, snap) {
            Decap::Drop(r) => self.counters.count_drop(r),
            Decap::Keepalive(t) => {
                let tunnel = &snap.tunnels[usize::from(t)];
                *p.meta_mut() = pmd::Meta {
                    in_port: tunnel.iface,
                    vrf,
                    ..pmd::Meta::default()
                };
                self.punt(p);
            }
            Decap::Inner(t) => {
                let tunnel = &snap.tunnels[usize::from(t)];
                if is_keepalive_probe(p.data(), tunnel) {
                    // The far end's keepalive: its inner packet goes back
                    // to it through the underlay, as Cisco's do.
                    self.route_outer(p, tunnel.underlay_vrf, tunnel.dst, snap, passes + 1, true);
                    return;
                }
                self.route_received(p, tunnel.iface, snap, passes + 1);
            }
        }
    }

    /// Route frame `p` as if it had arrived on interface `in_iface` (a
    /// tunnel's, after decapsulation): the checks and routing of the slow
    /// path, one packet.
    fn route_received(&mut self, mut p: P::Buf, in_iface: u16, snap: &Snapshot, passes: u8) {
        let Some(iface) = snap.ifaces.get(usize::from(in_iface)) else {
            self.counters.count_drop(DropReason::IfaceDown);
            return;
        };
        if !iface.up {
            self.counters.count_drop(DropReason::IfaceDown);
            return;
        }
        let iface: &IfaceState = iface;
        match crate::ipv4::parse(&mut p, iface) {
            crate::ipv4::Parsed::Ipv4 { dst } => {
                let nh = snap.lookup(iface.vrf, dst);
                let nh = crate::ipv4::policy_nh(snap, in_iface, &p, dst, nh);
                self.ipv4_route(p, dst, nh, iface, snap, passes, true);
            }
            // An inner frame is IPv4 by construction; whatever else parse
            // finds is the inner header's fault.
            crate::ipv4::Parsed::Arp => self.counters.count_drop(DropReason::IpMalformed),
            crate::ipv4::Parsed::Drop(r) => self.counters.count_drop(r),
        }
    }
}
