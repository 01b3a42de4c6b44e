//! The classify and IPv4 forwarding stages.
//!
//! For every received frame: check the Ethernet header (ours, untagged),
//! send ARP to the control plane, validate the IPv4 header (RFC 1812
//! §5.2.2), look the destination up in the input interface's VRF, then
//! either answer locally, forward (TTL − 1 with the RFC 1624 incremental
//! checksum, MAC rewrite), punt for next-hop resolution, or drop with a
//! reason and, where RFC 1812 asks, an ICMP error.
//!
//! Three paths, taken in packet order:
//!
//! ```text
//!  burst ─► fast_run ──────────── forwarded in place ─┐
//!            │ (stops at a packet it does not take)    ├─► send_forwarded
//!            ▼                                        │
//!          general: parse, lookup, forward_other ────┘
//!            │ (what is not plain forwarding)
//!            ▼
//!          slow: ipv4_slow (local, ICMP errors, fragments, ARP holds, …)
//! ```
//!
//! The fast path ([`fast_run`]) is one loop without calls for the common
//! case: an untagged frame with IHL 5 and no padding to a resolved
//! neighbor (through a connected subnet's neighbor map or a gateway),
//! about 70 instructions and one adjacency; it touches the mbuf's first
//! line and the first 34 bytes of the frame. It was measured against
//! DPDK's l3fwd (perf/anchors.md), whose loop does less: no checksum,
//! martian or length checks.

use crate::counters::DropReason;
use crate::fib::{martian_net, Direct, NO_ROUTE};
use crate::policy::PolicyAction;
use crate::state::{Adj, AdjKind, DfPolicy, FastAdj, FragmentPolicy, IfaceState, Snapshot};
use crate::wire::checksum;
use crate::worker::{Worker, META_HOLD};
use pmd::{Buf, Burst, Meta, Pool, Port, BURST, META_VLAN};

pub(crate) const ETH_LEN: usize = 14;
pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
const IP_PROTO_ICMP: u8 = 1;

#[inline(always)]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An address that unicast routing never forwards from or to (RFC 1812
/// §5.3.7, §4.2.2.11): this network (0/8), loopback (127/8), multicast,
/// class E and the limited broadcast (224/3 upward).
#[inline(always)]
fn martian(a: u32) -> bool {
    MARTIAN[(a >> 24) as usize] != 0
}

/// [`martian`] by first octet: one load instead of three compares.
static MARTIAN: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = martian_net(i) as u8;
        i += 1;
    }
    t
};

/// The length of `p` as received on the wire: a stripped 802.1Q tag counts.
#[inline]
fn wire_len<B: Buf>(p: &B) -> u64 {
    p.pkt_len() as u64 + if p.vlan().is_some() { 4 } else { 0 }
}

/// What [`fast_check`] read of a frame it accepted.
#[derive(Clone, Copy)]
struct Checked {
    /// Destination address (host order).
    dst: u32,
    /// IPv4 total length.
    total: u16,
    /// Bytes 22..26 of the frame (TTL, protocol, header checksum) as a
    /// little-endian number: see [`ttl_word_decrement`].
    ttl_word: u32,
}

/// TTL − 1 with the RFC 1624 checksum update (RFC 1812 §5.3.1) on the
/// header's word of TTL, protocol and checksum, read little-endian (bytes
/// 22..26 of the frame): `None` when the general [`decrement_ttl`] is
/// needed. The TTL must be at least 2.
///
/// Eqn. 3 for the TTL, the high byte of its 16-bit word, adds 0x0100 to
/// the checksum in ones' complement; on the checksum read little-endian
/// (its two bytes swapped, the word's upper half here) that is + 1 modulo
/// 0xFFFF. Below 0xFFFE no wrap occurs, so one add does both changes:
/// − 1 on the TTL byte (no borrow: TTL >= 2), + 1 on the upper half.
#[inline(always)]
fn ttl_word_decrement(w: u32) -> Option<u32> {
    (w < 0xfffe_0000).then(|| w + 0xffff)
}

/// The end-around-carry sum of three little-endian words: `a + b + c`
/// modulo 2^64 − 1 (= 0xFFFF · 0x0001_0001_0001_0001), in 1 ..= 2^64 − 1
/// when the true sum is not 0. On x86-64 an add and two add-with-carry.
#[inline(always)]
fn sum64_end_around(a: u64, b: u64, c: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::_addcarry_u64;
        let mut s = 0u64;
        #[allow(unused_unsafe)]
        // SAFETY: plain integer arithmetic (safe in newer Rust).
        unsafe {
            let k = _addcarry_u64(0, a, b, &mut s);
            let k = _addcarry_u64(k, s, c, &mut s);
            // After a carry out of `s + c + k`, s <= c, so adding the carry
            // back cannot carry again.
            _addcarry_u64(k, s, 0, &mut s);
        }
        s
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let t = a as u128 + b as u128 + c as u128;
        let t = (t & u64::MAX as u128) + (t >> 64);
        ((t & u64::MAX as u128) + (t >> 64)) as u64
    }
}

/// 2^64 − 1 = 0xFFFF · `ONES16`; `−ONES16` is the inverse of 0xFFFF
/// modulo 2^64.
const ONES16: u64 = 0x0001_0001_0001_0001;
const _: () = assert!(0xffffu64.wrapping_mul(ONES16.wrapping_neg()) == 1);

/// Whether `x`, not 0, is a multiple of 0xFFFF (Granlund and Montgomery,
/// "Division by invariant integers using multiplication", §9): exactly
/// when `x · 0xFFFF⁻¹ = −(x · ONES16)`, modulo 2^64, is at most `u64::MAX
/// / 0xFFFF = ONES16`; `x · ONES16` is not 0, so that is `x · ONES16 +
/// ONES16` carrying out. A multiply, an add and a branch on the carry,
/// with one constant.
#[inline(always)]
fn multiple_of_ffff(x: u64) -> bool {
    debug_assert!(x != 0);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::_addcarry_u64;
        let mut s = 0;
        #[allow(unused_unsafe)]
        // SAFETY: plain integer arithmetic (safe in newer Rust).
        unsafe {
            _addcarry_u64(0, x.wrapping_mul(ONES16), ONES16, &mut s) != 0
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        x.wrapping_mul(ONES16).overflowing_add(ONES16).1
    }
}

/// The fast classifier: `Some` when frame `d` is the common case, a
/// unicast IPv4 frame to the interface's MAC (`head`) with a 20-byte
/// header, a good checksum, no Ethernet padding and no martian source;
/// `None` sends the frame to [`parse`], which finds out what it is. A
/// martian destination is the caller's to refuse: the fast loop's lookup
/// ([`Direct::lookup`]) answers [`NO_ROUTE`] for it.
///
/// One branch per test, each predicted not taken for a run of good
/// frames. The header is read as three little-endian words, which the
/// checksum sums and the rest is taken from:
///
/// ```text
///  byte 14      16      18      20      22  23  24      26      30      34
///      | 45 tos | total | ident | frag  |ttl|pro| cksum |  src  |  dst  |
///      |<-------------- q0 ------------->|<------------ q1 ---------->|<dw>|
/// ```
#[inline(always)]
fn fast_check<const V2: bool>(d: &[u8], head: &HeadTemplate) -> Option<Checked> {
    let h = d.first_chunk::<34>()?;
    if !head.matches::<V2>(h.first_chunk::<16>().expect("34 > 16")) {
        return None;
    }
    // Exactly header + IPv4 total length (which is then >= 20): the
    // length field is compared with the frame's, swapped.
    let total = d.len() - ETH_LEN;
    if total > u16::MAX as usize || u16::from_be_bytes([h[16], h[17]]) != total as u16 {
        return None;
    }
    let total = total as u16;
    let q = |i: usize| u64::from_le_bytes(*h[i..].first_chunk::<8>().expect("in 34"));
    let (q0, q1) = (q(14), q(22));
    let dw = u32::from_le_bytes(*h[30..].first_chunk::<4>().expect("in 34"));
    // See header_checksum_ok: valid exactly when the sum of the header's
    // words is a multiple of 0xFFFF, which 2^64 − 1 is, and not 0 (byte
    // 14 is 0x45). Each 64-bit word is ≡ the sum of its 16-bit words.
    if !multiple_of_ffff(sum64_end_around(q0, q1, dw as u64)) {
        return None;
    }
    // The source's first octet, loaded again: one load, where taking it
    // out of `q1` would be three instructions.
    // SAFETY: byte 26 of the 34 in `h`.
    let src_octet = unsafe { std::ptr::read_volatile(h.as_ptr().add(26)) };
    if MARTIAN[src_octet as usize] != 0 {
        return None;
    }
    Some(Checked {
        dst: u32::from_be(dw.to_le()),
        total,
        ttl_word: q1 as u32,
    })
}

/// The packets of a burst forwarded so far, compacted to the front of
/// the burst: how many, their output ports, their bytes, and whether any
/// now carries an 802.1Q tag (else the driver need not scan them again:
/// [`Port::tx_burst_plain`]).
struct Forwarded {
    kept: usize,
    ports: Ports,
    bytes: u64,
    tagged: bool,
    /// Bytes received of the packets seen so far, forwarded or not (as on
    /// the wire: stripped tags count).
    rx_bytes: u64,
}

/// Output ports of a burst's packets, aligned so that they can be read
/// four to a word ([`Ports::same`]).
#[repr(C, align(16))]
struct Ports([u16; BURST]);

impl Ports {
    /// `Some(port)` when the first `n` (at least 1) are all `port`.
    #[inline(always)]
    fn same(&self, n: usize) -> Option<u16> {
        let port = self.0[0];
        if n == BURST {
            // A full burst, the common case: 16 words, a vector loop.
            // SAFETY: 128 bytes aligned to 16, as [u64; 16] needs.
            let words = unsafe { &*(self.0.as_ptr() as *const [u64; BURST / 4]) };
            let pat = u64::from(port) * 0x0001_0001_0001_0001;
            let diff = words.iter().fold(0, |d, &w| d | (w ^ pat));
            return (diff == 0).then_some(port);
        }
        self.0[..n].iter().all(|&o| o == port).then_some(port)
    }
}

/// What [`fast_run`] routes with: one interface's MAC, its VRF's FIB, the
/// adjacencies and the snapshot (neighbors, tunnels).
struct FastEnv<'s> {
    head: HeadTemplate,
    fib: Direct<'s>,
    adjs: &'s [FastAdj],
    /// `adjs.len()`, at most `u32::MAX`.
    adjs_len: u32,
    snap: &'s Snapshot,
}

/// The fast path over packets `pkts[i..n]`: while each is a checked IPv4
/// packet ([`fast_check`]) routed to a resolved, untagged neighbor, within
/// its MTU, with TTL to spare, forward it in place (TTL − 1 with the RFC
/// 1624 checksum update, MAC rewrite) and move it down to slot `fw.kept`,
/// recorded in `fw`. Stops at
/// the first packet that is not the common case, leaving it in its slot;
/// returns its index (`n` when there is none). The general path takes
/// that packet from the start.
///
/// A function of its own so that its loop has the registers to itself,
/// compiled with `popcnt` where the CPU has it (the FIB's blocks take
/// one; without it the popcount's constants take four registers).
///
/// # Safety
///
/// `pkts[i..n]` hold packets the caller owns; slots below `i` from
/// `fw.kept` on are free; `fw.kept <= i` and `n <= BURST`.
#[inline(never)]
unsafe fn fast_run<B: Buf>(
    pkts: *mut B,
    i: usize,
    n: usize,
    fw: &mut Forwarded,
    env: &FastEnv<'_>,
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if has_popcnt_sse41() {
        return fast_run_v2(pkts, i, n, fw, env);
    }
    fast_run_in::<B, false>(pkts, i, n, fw, env)
}

/// True if this CPU has `popcnt` and SSE4.1 (every x86-64 since about
/// 2008), which [`fast_run_v2`] is compiled for.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_popcnt_sse41() -> bool {
    #[cfg(all(target_feature = "popcnt", target_feature = "sse4.1"))]
    {
        true
    }
    #[cfg(not(all(target_feature = "popcnt", target_feature = "sse4.1")))]
    {
        crate::fib::has_popcnt() && std::arch::is_x86_feature_detected!("sse4.1")
    }
}

/// [`fast_run`] compiled with the `popcnt` instruction (the FIB's blocks)
/// and SSE4.1 (`ptest` for the header template).
///
/// # Safety
///
/// As [`fast_run`]; the CPU must have `popcnt` and SSE4.1.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,sse4.1")]
unsafe fn fast_run_v2<B: Buf>(
    pkts: *mut B,
    i: usize,
    n: usize,
    fw: &mut Forwarded,
    env: &FastEnv<'_>,
) -> usize {
    fast_run_in::<B, true>(pkts, i, n, fw, env)
}

/// The body of [`fast_run`].
///
/// # Safety
///
/// As [`fast_run`].
#[inline(always)]
unsafe fn fast_run_in<B: Buf, const V2: bool>(
    pkts: *mut B,
    i: usize,
    n: usize,
    fw: &mut Forwarded,
    env: &FastEnv<'_>,
) -> usize {
    // Within one run every packet is forwarded, so each moves down by the
    // same `gap`: 0 when the burst had no stop before, and nothing moves.
    let gap = i - fw.kept;
    let (i, b) = if gap == 0 {
        fast_loop::<B, false, V2>(pkts, i, n, 0, &mut fw.ports.0, env, &mut fw.tagged)
    } else {
        fast_loop::<B, true, V2>(pkts, i, n, gap, &mut fw.ports.0, env, &mut fw.tagged)
    };
    fw.kept = i - gap;
    // The fast loop changes no length.
    fw.bytes += b;
    fw.rx_bytes += b;
    i
}

/// The loop of [`fast_run`], moving each forwarded packet down by `gap`
/// slots (`MOVE`) or leaving it where it is (`gap` is 0): the stop index
/// and the bytes forwarded.
///
/// # Safety
///
/// As [`fast_run`], with `gap` = `i - fw.kept`.
#[inline(always)]
unsafe fn fast_loop<B: Buf, const MOVE: bool, const V2: bool>(
    pkts: *mut B,
    mut i: usize,
    n: usize,
    gap: usize,
    outp: &mut [u16; BURST],
    env: &FastEnv<'_>,
    tagged: &mut bool,
) -> (usize, u64) {
    let mut b = 0;
    while i < n {
        let slot = pkts.add(i);
        let Some((port, total)) = fast_one::<B, V2>(&mut *slot, env, tagged) else {
            break;
        };
        b += total as u64 + ETH_LEN as u64;
        if MOVE {
            // SAFETY: slot i - gap (>= fw.kept) is free.
            std::ptr::copy_nonoverlapping(slot, slot.sub(gap), 1);
        }
        *outp.get_unchecked_mut(i - gap) = port;
        i += 1;
    }
    (i, b)
}

/// [`fast_run`] for one packet: forward `p` in place and give its output
/// port and IPv4 total length, or `None`, having changed nothing, when it
/// is not the common case. Sets `tagged` when it gave the packet an 802.1Q
/// tag. (Two `u16`s: the answer stays in one register.)
#[inline(always)]
fn fast_one<B: Buf, const V2: bool>(
    p: &mut B,
    env: &FastEnv<'_>,
    tagged: &mut bool,
) -> Option<(u16, u16)> {
    if p.vlan().is_some() || !p.whole() {
        return None;
    }
    let d = p.data_mut();
    let c = fast_check::<V2>(d, &env.head)?;
    let nh = env.fib.lookup(c.dst);
    // (Compared as u32: no zero-extension of the lookup's answer.)
    if nh >= env.adjs_len {
        return None;
    }
    // SAFETY: nh < adjs_len <= adjs.len().
    let mut adj = unsafe { env.adjs.get_unchecked(nh as usize) };
    // RFC 1812 §5.3.1: TTL expiry comes before anything else; it is the
    // general path's, with every other case.
    if c.ttl_word as u8 <= 1 {
        return None;
    }
    if c.total > adj.mtu {
        if adj.mtu != FastAdj::ATTACHED {
            return forward_other(p, c.dst, nh, env.snap, tagged);
        }
        // A host on a connected subnet: its own adjacency, if resolved.
        let host = env.snap.neighbors.get(adj.port, c.dst)?;
        adj = env.adjs.get(host as usize)?;
        if c.total > adj.mtu {
            return forward_other(p, c.dst, host, env.snap, tagged);
        }
    }
    let ttl_word = ttl_word_decrement(c.ttl_word)?;
    let h = d.first_chunk_mut::<34>().expect("fast_check saw 34 bytes");
    h[22..26].copy_from_slice(&ttl_word.to_le_bytes());
    h[..12].copy_from_slice(&adj.eth);
    Some((adj.port, c.total))
}

/// What [`fast_one`] does not take, out of its loop, and the general
/// path: a checked IPv4 packet to `dst` whose lookup gave `nh`, forwarded
/// in place by [`forward_in_place`] (a tagged neighbor, a hairpin tunnel
/// pair) or left alone (`None`). Gives the port and IPv4 total length, as
/// [`fast_one`], and sets `tagged` for a tagged neighbor.
#[cold]
#[inline(never)]
fn forward_other<B: Buf>(
    p: &mut B,
    dst: u32,
    nh: u32,
    snap: &Snapshot,
    tagged: &mut bool,
) -> Option<(u16, u16)> {
    let total = u16::from_be_bytes([p.data()[16], p.data()[17]]);
    let port = forward_in_place(p, dst, nh, snap)?;
    *tagged |= p.vlan().is_some();
    Some((port, total))
}

/// The general path's in-place forwarding of a checked IPv4 packet to
/// `dst` whose lookup gave `nh`: to a resolved neighbor (tagged or not),
/// or through a hairpin tunnel pair (two routing hops), when TTL and MTU
/// allow. The output port, or `None` for the slow path
/// ([`Worker::ipv4_slow`]).
#[inline]
fn forward_in_place<B: Buf>(p: &mut B, dst: u32, nh: u32, snap: &Snapshot) -> Option<u16> {
    let (_, mut adj) = snap.resolve(nh, dst);
    let h = p.data_mut().first_chunk_mut::<34>()?;
    let ttl = h[22];
    let total = u16::from_be_bytes([h[16], h[17]]);
    let mut hops = 1;
    if adj.kind == AdjKind::Tunnel {
        if let Some(out) = hairpin_adj(snap, adj, dst, total) {
            (adj, hops) = (out, 2);
        }
    }
    // RFC 1812 §5.3.1: TTL expiry is checked before anything else.
    if !((adj.kind == AdjKind::Forward) & (ttl > hops) & (total <= adj.mtu)) {
        return None;
    }
    decrement_ttl(h);
    if hops == 2 {
        decrement_ttl(h);
    }
    h[..12].copy_from_slice(&adj.eth);
    if adj.vlan != 0 {
        p.set_vlan(Some(adj.vlan));
    }
    Some(adj.port)
}

/// TTL − 1 (RFC 1812 §5.3.1) with the RFC 1624 header checksum update,
/// in the IPv4 packet whose Ethernet frame starts with `h` (TTL > 1).
#[inline(always)]
fn decrement_ttl(h: &mut [u8; 34]) {
    h[22] -= 1;
    let c = checksum::ttl_decrement(u16::from_ne_bytes([h[24], h[25]]));
    h[24..26].copy_from_slice(&c.to_ne_bytes());
}

/// The next hop of a packet that arrived on `in_port` once its policy
/// rules are applied: `nh` (the FIB's answer) when no rule matches.
#[inline]
pub(crate) fn policy_nh<B: Buf>(snap: &Snapshot, in_port: u16, p: &B, dst: u32, nh: u32) -> u32 {
    if !snap.policies.has(in_port) {
        return nh;
    }
    match snap.policies.decide(in_port, &p.data()[ETH_LEN..]) {
        None => nh,
        Some(PolicyAction::Adjacency(a)) => a,
        Some(PolicyAction::Vrf(v)) => snap.lookup(v, dst),
    }
}

/// The fast path of the hairpin ([`crate::state::TunnelState::hairpin`]):
/// for a packet of `total` bytes to `dst` routed into tunnel adjacency
/// `adj`, the adjacency it leaves by after the far end's tunnel takes it
/// and its VRF routes it, when every step is the plain case (tunnels and
/// interface up, within the tunnel MTU); `None` leaves the packet to the
/// slow path, which does the same with every check and error.
#[inline]
fn hairpin_adj<'s>(snap: &'s Snapshot, adj: &Adj, dst: u32, total: u16) -> Option<&'s Adj> {
    let tunnel = snap.tunnels.get(usize::from(adj.port))?;
    let peer = snap.tunnels.get(usize::from(tunnel.hairpin?))?;
    let iface = snap.ifaces.get(usize::from(peer.iface))?;
    if !(tunnel.up && peer.up && iface.up && total <= adj.mtu) || snap.policies.has(peer.iface) {
        return None;
    }
    let nh = snap.fibs.get(usize::from(iface.vrf))?.lookup(dst);
    Some(snap.resolve(nh, dst).1)
}

/// The first 16 bytes of a frame [`fast_check`] takes, where they are
/// fixed: the destination MAC (the interface's), EtherType 0x0800 and
/// version 4 with IHL 5. The source MAC and the TOS byte are free.
///
/// ```text
///  byte  0       6       12  13  14  15
///       | dst MAC | src MAC | 08  00 | 45 | tos |
///  mask   111111   000000    1   1    1    0
/// ```
#[derive(Clone, Copy)]
struct HeadTemplate {
    bytes: [u8; 16],
}

/// [`HeadTemplate`]'s fixed bytes: 0..6 and 12..15.
const HEAD_MASK: [u8; 16] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0,
];

/// [`HEAD_MASK`] as one bit per byte (a `pmovmskb` mask).
#[cfg(target_arch = "x86_64")]
const HEAD_BITS: u32 = {
    let (mut bits, mut i) = (0, 0);
    while i < 16 {
        bits |= ((HEAD_MASK[i] != 0) as u32) << i;
        i += 1;
    }
    bits
};

impl HeadTemplate {
    fn new(mac: &[u8; 6]) -> Self {
        // Built per burst: two words, not byte copies.
        let lo = u64::from(u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]))
            | u64::from(u16::from_le_bytes([mac[4], mac[5]])) << 32;
        // Bytes 12..15: 08 00 45.
        let hi = 0x0045_0008u64 << 32;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&lo.to_le_bytes());
        bytes[8..].copy_from_slice(&hi.to_le_bytes());
        HeadTemplate { bytes }
    }

    /// Whether `h` has the template's fixed bytes: one 16-byte compare;
    /// with `SSE41` (only where the CPU has SSE4.1: see [`fast_run`]) an
    /// xor and a masked `ptest`.
    #[inline(always)]
    fn matches<const SSE41: bool>(&self, h: &[u8; 16]) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8};
            if SSE41 {
                // SAFETY: SSE41 is only set in code compiled for, and run
                // on, CPUs with SSE4.1.
                return unsafe { self.matches_sse41(h) };
            }
            // SAFETY: SSE2 is part of x86_64; both are 16 readable bytes
            // and loadu takes any alignment.
            let eq = unsafe {
                let a = _mm_loadu_si128(h.as_ptr() as *const __m128i);
                let b = _mm_loadu_si128(self.bytes.as_ptr() as *const __m128i);
                _mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) as u32
            };
            !eq & HEAD_BITS == 0
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            (0..16).all(|i| (h[i] ^ self.bytes[i]) & HEAD_MASK[i] == 0)
        }
    }

    /// [`Self::matches`] with SSE4.1.
    ///
    /// # Safety
    ///
    /// The CPU must have SSE4.1.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse4.1")]
    #[inline]
    unsafe fn matches_sse41(&self, h: &[u8; 16]) -> bool {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_testz_si128, _mm_xor_si128};
        // SAFETY: three 16-byte arrays; loadu takes any alignment.
        unsafe {
            let a = _mm_loadu_si128(h.as_ptr() as *const __m128i);
            let b = _mm_loadu_si128(self.bytes.as_ptr() as *const __m128i);
            let m = _mm_loadu_si128(HEAD_MASK.as_ptr() as *const __m128i);
            _mm_testz_si128(_mm_xor_si128(a, b), m) != 0
        }
    }
}

/// Compare two MAC addresses with two loads each instead of a byte loop.
#[inline(always)]
fn mac_eq(a: &[u8], b: &[u8; 6]) -> bool {
    a.len() == 6
        && u32::from_ne_bytes([a[0], a[1], a[2], a[3]])
            == u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
        && u16::from_ne_bytes([a[4], a[5]]) == u16::from_ne_bytes([b[4], b[5]])
}

/// Verify the IPv4 header checksum (RFC 1071): the ones'-complement sum of
/// the header, checksum included, must be 0xFFFF.
///
/// The ones'-complement sum of 16-bit words is their plain sum S folded
/// modulo 0xFFFF (a non-zero multiple folds to 0xFFFF), so the header is
/// valid exactly when S ≡ 0 (mod 0xFFFF) and S ≠ 0. A native-endian 32-bit
/// word `hi·2^16 + lo` ≡ `hi + lo`, and swapping a word's bytes multiplies
/// it by 256 (a unit modulo 0xFFFF), so five native-endian 32-bit loads
/// and one remainder by a constant decide it: no byte swaps, no folds.
#[inline(always)]
fn header_checksum_ok(ip: &[u8], hl: usize) -> bool {
    if let (20, Some(ip)) = (hl, ip.first_chunk::<20>()) {
        let w = |i: usize| u32::from_ne_bytes([ip[i], ip[i + 1], ip[i + 2], ip[i + 3]]) as u64;
        let acc = w(0) + w(4) + w(8) + w(12) + w(16);
        acc % 0xffff == 0 && acc != 0
    } else {
        checksum::fold(checksum::sum(&ip[..hl], 0)) == 0
    }
}

/// What [`Worker::not_ipv4`] does with a frame that is not IPv4 to
/// route: `VERDICT_PUNT`, or `VERDICT_DROP + reason`.
const VERDICT_PUNT: u8 = 1;
const VERDICT_DROP: u8 = 2;

/// Outcome of checking one frame's headers, before the route lookup.
pub(crate) enum Parsed {
    Ipv4 { dst: u32 },
    Arp,
    Drop(DropReason),
}

/// Check the Ethernet and IPv4 headers of `p` arriving on `iface`, and
/// trim Ethernet padding so the frame is exactly header + IPv4 total
/// length.
#[cold]
#[inline(never)]
pub(crate) fn parse<B: Buf>(p: &mut B, iface: &IfaceState) -> Parsed {
    if p.vlan().is_some() {
        return Parsed::Drop(DropReason::Vlan);
    }
    let d = p.data();
    let len = d.len();
    let Some(h) = d.first_chunk::<34>() else {
        return parse_short(d, iface);
    };
    let ethertype = u16::from_be_bytes([h[12], h[13]]);
    if !mac_eq(&h[..6], &iface.mac) {
        // Broadcast is for ARP only; everything else must be ours.
        if !(h[..6] == [0xff; 6] && ethertype == ETHERTYPE_ARP) {
            return Parsed::Drop(DropReason::NotForUs);
        }
    }
    if ethertype != ETHERTYPE_IPV4 {
        return match ethertype {
            ETHERTYPE_ARP => Parsed::Arp,
            0x8100 | 0x88a8 => Parsed::Drop(DropReason::Vlan),
            _ => Parsed::Drop(DropReason::Ethertype),
        };
    }
    let ip = &d[ETH_LEN..];
    let hl = if h[14] == 0x45 {
        20
    } else {
        // Options present (or garbage): validate them the slow way.
        if crate::wire::ipv4::Packet::new_checked(ip).is_err() {
            return Parsed::Drop(DropReason::IpMalformed);
        }
        ((h[14] & 0x0f) as usize) * 4
    };
    let total = u16::from_be_bytes([h[16], h[17]]) as usize;
    if total < hl || total > len - ETH_LEN {
        return Parsed::Drop(DropReason::IpMalformed);
    }
    if !header_checksum_ok(ip, hl) {
        return Parsed::Drop(DropReason::IpChecksum);
    }
    let src = u32::from_be_bytes([h[26], h[27], h[28], h[29]]);
    let dst = u32::from_be_bytes([h[30], h[31], h[32], h[33]]);
    if martian(src) || martian(dst) {
        return Parsed::Drop(DropReason::Martian);
    }
    let extra = len - ETH_LEN - total;
    if extra > 0 {
        let _ = p.trim(extra);
    }
    Parsed::Ipv4 { dst }
}

/// Frames too short for Ethernet + a minimal IPv4 header: say why.
#[cold]
fn parse_short(d: &[u8], iface: &IfaceState) -> Parsed {
    if d.len() < ETH_LEN {
        return Parsed::Drop(DropReason::Runt);
    }
    let ethertype = be16(d, 12);
    if d[..6] != iface.mac && !(d[..6] == [0xff; 6] && ethertype == ETHERTYPE_ARP) {
        return Parsed::Drop(DropReason::NotForUs);
    }
    match ethertype {
        ETHERTYPE_IPV4 => Parsed::Drop(DropReason::IpMalformed),
        ETHERTYPE_ARP => Parsed::Arp,
        0x8100 | 0x88a8 => Parsed::Drop(DropReason::Vlan),
        _ => Parsed::Drop(DropReason::Ethertype),
    }
}

impl<P: Pool, Q: Port<P>> Worker<P, Q> {
    /// Route one received burst from `in_port`; returns the bytes
    /// received (as on the wire: stripped 802.1Q tags count), for
    /// [`Port::count_rx_bytes`].
    ///
    /// Packets are taken in order: the fast path ([`fast_run`]) forwards
    /// the common case in place; the first packet it does not take goes on
    /// through the general path ([`parse`], [`forward_other`]) and, failing
    /// that, the slow path; then the fast path resumes. Forwarded
    /// packets are compacted to the front of the burst with their output
    /// port and leave together ([`Self::send_forwarded`]).
    pub(crate) fn route_burst(
        &mut self,
        in_port: u16,
        rx: &mut Burst<P::Buf>,
        snap: &Snapshot,
    ) -> u64 {
        let Some(iface) = snap.ifaces.get(in_port as usize) else {
            return self.drop_burst(rx, DropReason::IfaceDown);
        };
        if !iface.up {
            return self.drop_burst(rx, DropReason::IfaceDown);
        }
        let vrf = iface.vrf;
        let Some(fib) = snap.fibs.get(vrf as usize) else {
            return self.drop_burst(rx, DropReason::NoRoute);
        };
        // Packets of an interface with policy rules take the slow path.
        let policy = snap.policies.has(in_port);
        let env = FastEnv {
            head: HeadTemplate::new(&iface.mac),
            fib: fib.direct(),
            adjs: snap.adj.fast(),
            adjs_len: snap.adj.fast().len().min(u32::MAX as usize) as u32,
            snap,
        };
        // (`min` tells the compiler what ArrayVec guarantees.)
        let n = rx.len().min(BURST);
        let pkts = rx.as_mut_ptr();
        // SAFETY: from here the burst's `n` packets are handled through
        // `pkts`: each is either read out once (general and slow paths) or
        // moved down to slot `kept` <= its own; the length is set to `kept`
        // at the end.
        unsafe { rx.set_len(0) };
        let mut fw = Forwarded {
            kept: 0,
            ports: Ports([0; BURST]),
            bytes: 0,
            tagged: false,
            rx_bytes: 0,
        };
        let mut i = 0;
        while i < n {
            if !policy {
                // SAFETY: as above; fw.kept <= i.
                i = unsafe { fast_run(pkts, i, n, &mut fw, &env) };
                if i == n {
                    break;
                }
            }
            // The general path for packet j, from the start.
            let j = i;
            // SAFETY: slot j holds a packet we own (j < n).
            let p = unsafe { &mut *pkts.add(j) };
            fw.rx_bytes += wire_len(p);
            if !p.whole() {
                // SAFETY: read out once; the slot is not used again.
                let p = unsafe { std::ptr::read(pkts.add(j)) };
                self.not_ipv4(p, VERDICT_DROP + DropReason::Chained as u8, in_port, vrf);
                i = j + 1;
                continue;
            }
            let checked = if p.vlan().is_none() {
                fast_check::<false>(p.data(), &env.head)
                    .map(|c| c.dst)
                    .filter(|&dst| !martian(dst))
            } else {
                None
            };
            let dst = match checked {
                Some(dst) => dst,
                None => match parse(p, iface) {
                    Parsed::Ipv4 { dst } => dst,
                    Parsed::Arp => {
                        // SAFETY: read out once; the slot is not used again.
                        let p = unsafe { std::ptr::read(pkts.add(j)) };
                        self.not_ipv4(p, VERDICT_PUNT, in_port, vrf);
                        i = j + 1;
                        continue;
                    }
                    Parsed::Drop(r) => {
                        // SAFETY: as above.
                        let p = unsafe { std::ptr::read(pkts.add(j)) };
                        self.not_ipv4(p, VERDICT_DROP + r as u8, in_port, vrf);
                        i = j + 1;
                        continue;
                    }
                },
            };
            let nh = fib.lookup(dst);
            i = j + 1;
            // SAFETY: slot j holds a packet we own.
            let slot = unsafe { pkts.add(j) };
            let forwarded = if policy {
                None
            } else {
                forward_other(unsafe { &mut *slot }, dst, nh, snap, &mut fw.tagged)
            };
            if let Some((port, total)) = forwarded {
                // SAFETY: slot `fw.kept` (<= j) is free or is slot j itself.
                unsafe { std::ptr::copy(slot, pkts.add(fw.kept), 1) };
                fw.ports.0[fw.kept] = port;
                fw.kept += 1;
                fw.bytes += total as u64 + ETH_LEN as u64;
                continue;
            }
            // SAFETY: read out once; the slot is not used again.
            let p = unsafe { std::ptr::read(slot) };
            self.ipv4_slow(p, dst, nh, in_port, iface, snap);
        }
        // SAFETY: slots 0..fw.kept hold the forwarded packets, moved there.
        unsafe { rx.set_len(fw.kept) };
        self.counters.forwarded.add(fw.kept as u64);
        if fw.kept > 0 {
            let plain = (!fw.tagged).then_some(fw.bytes);
            self.send_forwarded(rx, &fw.ports, plain);
        }
        fw.rx_bytes
    }

    /// Drop every packet of `rx` for reason `r`; returns their bytes, as
    /// [`Self::route_burst`].
    #[cold]
    #[inline(never)]
    fn drop_burst(&mut self, rx: &mut Burst<P::Buf>, r: DropReason) -> u64 {
        let mut bytes = 0;
        for p in rx.drain(..) {
            bytes += wire_len(&p);
            self.counters.count_drop(r);
        }
        bytes
    }

    /// Transmit the forwarded packets of a burst (at least one),
    /// `out.0[i]` being the port of `fwd[i]`; `plain`: none is tagged and
    /// their lengths add up to this. When they all leave by one port, as
    /// they mostly do, the burst itself goes to the driver, after anything
    /// already queued for that port; otherwise each joins its port's
    /// output burst.
    #[inline(always)]
    fn send_forwarded(&mut self, fwd: &mut Burst<P::Buf>, out: &Ports, plain: Option<u64>) {
        let one = out.same(fwd.len());
        if let Some(port) = one.filter(|&o| (o as usize) < self.ports.len().min(self.tx.len())) {
            let p = port as usize;
            let q = &mut self.tx[p];
            if self.tx_pending && !q.is_empty() {
                if let Some(t) = &self.tap {
                    t.on_tx(port, q, self.id as u16);
                }
                self.ports[p].tx_burst(q);
            }
            if let Some(t) = &self.tap {
                t.on_tx(port, fwd, self.id as u16);
            }
            match plain {
                Some(bytes) => self.ports[p].tx_burst_plain(fwd, bytes),
                None => self.ports[p].tx_burst(fwd),
            };
            return;
        }
        for (pkt, &o) in fwd.drain(..).zip(&out.0) {
            self.enqueue_tx_on(o, pkt);
        }
    }

    /// Punt (ARP) or drop (with its reason) a frame stage 1 found is not
    /// IPv4 to route.
    #[cold]
    #[inline(never)]
    fn not_ipv4(&mut self, mut p: P::Buf, verdict: u8, in_port: u16, vrf: u16) {
        if verdict == VERDICT_PUNT {
            // Only punted packets need to say where they came from: the
            // fast path writes no metadata (DPDK's is undefined until now).
            *p.meta_mut() = Meta {
                in_port,
                vrf,
                ..Meta::default()
            };
            self.punt(p)
        } else {
            self.counters
                .count_drop(DropReason::ALL[(verdict - VERDICT_DROP) as usize])
        }
    }

    /// Deliver, forward, punt or drop one IPv4 packet whose lookup gave
    /// `nh` and that the fast path of stage 3 did not take: no route, a
    /// connected destination, a local address, an unresolved next hop, a
    /// TTL to expire, a packet too big, a drop adjacency.
    #[cold]
    #[inline(never)]
    fn ipv4_slow(
        &mut self,
        p: P::Buf,
        dst: u32,
        nh: u32,
        in_port: u16,
        iface: &IfaceState,
        snap: &Snapshot,
    ) {
        let nh = policy_nh(snap, in_port, &p, dst, nh);
        self.ipv4_route(p, dst, nh, iface, snap, 0, true);
    }

    /// [`ipv4_slow`](Self::ipv4_slow) for a packet that already went
    /// through `passes` tunnel encapsulations or decapsulations; `count`
    /// as in [`send_routed`](Self::send_routed).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ipv4_route(
        &mut self,
        mut p: P::Buf,
        dst: u32,
        nh: u32,
        iface: &IfaceState,
        snap: &Snapshot,
        passes: u8,
        count: bool,
    ) {
        if nh == NO_ROUTE {
            self.counters.count_drop(DropReason::NoRoute);
            self.icmp_error(&p, iface, snap, 3, 0, 0);
            return;
        }
        let (_, adj) = snap.resolve(nh, dst);
        match adj.kind {
            AdjKind::Forward => {}
            AdjKind::Local => {
                self.local_input(p, iface, snap, passes);
                return;
            }
            AdjKind::Attached | AdjKind::Glean | AdjKind::Tunnel => {}
            AdjKind::Incomplete => {
                self.counters.count_drop(DropReason::Incomplete);
                return;
            }
            AdjKind::Blackhole => {
                self.counters.count_drop(DropReason::Blackhole);
                return;
            }
            AdjKind::Reject => {
                self.counters.count_drop(DropReason::Reject);
                self.icmp_error(&p, iface, snap, 3, 1, 0);
                return;
            }
        }
        let (ttl, total, df) = {
            let h = p
                .data()
                .first_chunk::<34>()
                .expect("parse checked the length");
            (h[22], u16::from_be_bytes([h[16], h[17]]), h[20] & 0x40 != 0)
        };
        // RFC 1812 §5.3.1: TTL expiry is checked before anything else.
        if ttl <= 1 {
            self.counters.count_drop(DropReason::TtlExpired);
            self.icmp_error(&p, iface, snap, 11, 0, 0);
            return;
        }
        if total > adj.mtu {
            if df {
                self.counters.count_drop(DropReason::TooBig);
                let mtu = adj.mtu;
                self.icmp_error(&p, iface, snap, 3, 4, mtu);
                return;
            }
            // A tunnel that fragments the outer packet takes it whole.
            let outer = adj.kind == AdjKind::Tunnel
                && snap
                    .tunnels
                    .get(usize::from(adj.port))
                    .is_some_and(|t| t.fragment == FragmentPolicy::Outer && t.df != DfPolicy::Set);
            if !outer {
                self.forward_fragmented(p, adj, dst, snap, passes, count);
                return;
            }
        }
        decrement_ttl(
            p.data_mut()
                .first_chunk_mut::<34>()
                .expect("parse checked the length"),
        );
        self.send_routed(p, adj, dst, snap, passes, count);
    }

    /// RFC 1812 §5.2.6: forward `p` (DF clear, larger than `adj.mtu`) in
    /// fragments, counted once as forwarded.
    #[cold]
    #[inline(never)]
    fn forward_fragmented(
        &mut self,
        mut p: P::Buf,
        adj: &Adj,
        dst: u32,
        snap: &Snapshot,
        passes: u8,
        count: bool,
    ) {
        decrement_ttl(
            p.data_mut()
                .first_chunk_mut::<34>()
                .expect("parse checked the length"),
        );
        let mut frags: Burst<P::Buf> = Burst::new();
        match crate::frag::fragment(&self.pool, p, adj.mtu, &mut frags) {
            Ok(()) => {
                self.counters.fragments.add(frags.len() as u64);
                for (i, f) in frags.drain(..).enumerate() {
                    self.send_routed(f, adj, dst, snap, passes, count && i == 0);
                }
            }
            Err(crate::frag::FragError::TooSmall) => self.counters.count_drop(DropReason::TooBig),
            Err(crate::frag::FragError::NoBuffer) => self.counters.count_drop(DropReason::NoBuffer),
        }
    }

    /// Send a routed IPv4 packet (TTL decremented, size checked) by
    /// adjacency `adj` (Forward, Attached, Glean or Tunnel) toward `dst`.
    /// `count`: it counts as forwarded when it leaves by a port (false for
    /// the second and later fragments of a packet).
    pub(crate) fn send_routed(
        &mut self,
        mut p: P::Buf,
        adj: &Adj,
        dst: u32,
        snap: &Snapshot,
        passes: u8,
        count: bool,
    ) {
        match adj.kind {
            AdjKind::Tunnel => self.tunnel_output(p, adj.port, snap, passes, count),
            AdjKind::Forward => {
                self.counters.forwarded.add(u64::from(count));
                p.data_mut()[..12].copy_from_slice(&adj.eth);
                p.set_vlan((adj.vlan != 0).then_some(adj.vlan));
                self.enqueue_tx_on(adj.port, p);
            }
            _ => {
                p.data_mut()[6..12].copy_from_slice(&adj.eth[6..]);
                p.set_vlan((adj.vlan != 0).then_some(adj.vlan));
                self.hold_for_neighbor(p, adj, dst);
            }
        }
    }

    /// The next hop of `p` (a Glean gateway, or `dst` itself on an Attached
    /// subnet) has no MAC yet: the control plane resolves it, holds a few
    /// packets and sends them once it is known. The source MAC is written.
    pub(crate) fn hold_for_neighbor(&mut self, mut p: P::Buf, adj: &Adj, dst: u32) {
        let m = p.meta_mut();
        m.out_port = adj.port;
        // The rest of the flags may be undefined (a received DPDK mbuf);
        // META_VLAN is the native buffers' VLAN state, kept as it is.
        m.flags = (m.flags & META_VLAN) | META_HOLD;
        m.next_hop = if adj.kind == AdjKind::Glean {
            adj.ip
        } else {
            dst
        };
        self.punt_hold(p);
    }

    /// Send a locally built IPv4 packet (Ethernet header space included,
    /// its contents ignored) by routing its destination in `vrf`.
    pub(crate) fn ip_send_local(&mut self, mut p: P::Buf, vrf: u16, snap: &Snapshot) {
        let d = p.data();
        if d.len() < ETH_LEN + 20 {
            return;
        }
        let dst = be32(d, ETH_LEN + 16);
        let routed = match snap.policies.decide_local(&d[ETH_LEN..]) {
            None => snap.route(vrf, dst),
            Some(PolicyAction::Vrf(v)) => snap.route(v, dst),
            Some(PolicyAction::Adjacency(a)) => Some(snap.resolve(a, dst)),
        };
        let Some((_, adj)) = routed else {
            return;
        };
        let adj = *adj;
        if !matches!(
            adj.kind,
            AdjKind::Forward | AdjKind::Attached | AdjKind::Glean | AdjKind::Tunnel
        ) {
            return;
        }
        p.meta_mut().flags |= pmd::buf::META_LOCAL;
        p.data_mut()[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        // Sent like a routed packet (into a tunnel too), not counted as
        // forwarded.
        self.send_routed(p, &adj, dst, snap, 0, false);
    }

    /// Answer a packet addressed to the router: ICMP echo is answered
    /// here (RFC 1122 §3.2.2.6); UDP gets port unreachable, other
    /// protocols protocol unreachable (RFC 1122 §3.2.2.1), TCP is dropped
    /// until a service listens.
    #[cold]
    #[inline(never)]
    fn local_input(&mut self, mut p: P::Buf, iface: &IfaceState, snap: &Snapshot, passes: u8) {
        if be16(p.data(), ETH_LEN + 6) & 0x3fff != 0 {
            let now = pmd::tsc::rdtsc();
            match self.reasm.insert(p, iface.vrf, now, &self.counters) {
                crate::reasm::Reasm::Done(whole) => p = whole,
                crate::reasm::Reasm::Held => return,
            }
        }
        let d = p.data();
        let ip = &d[ETH_LEN..];
        let hl = ((ip[0] & 0x0f) as usize) * 4;
        let total = be16(ip, 2) as usize;
        let proto = ip[9];
        if proto == crate::wire::gre::IP_PROTOCOL && !snap.decap.is_empty() {
            self.gre_input(p, iface.vrf, snap, passes);
            return;
        }
        let fragmented = be16(ip, 6) & 0x3fff != 0;
        if proto == IP_PROTO_ICMP && !fragmented && total >= hl + 8 {
            let icmp = &ip[hl..total];
            if icmp[0] == 8 && checksum::fold(checksum::sum(icmp, 0)) == 0 {
                self.echo_reply(p, hl, iface.vrf, snap);
                return;
            }
            // Other ICMP to us (replies, errors): nothing listens yet.
            self.counters.count_drop(DropReason::LocalUnsupported);
            return;
        }
        self.counters.count_drop(DropReason::LocalUnsupported);
        match proto {
            17 => self.icmp_error(&p, iface, snap, 3, 3, 0),
            6 => {}
            _ => self.icmp_error(&p, iface, snap, 3, 2, 0),
        }
    }

    /// Turn an echo request into the reply in place and send it.
    #[cold]
    #[inline(never)]
    fn echo_reply(&mut self, mut p: P::Buf, hl: usize, vrf: u16, snap: &Snapshot) {
        let d = p.data_mut();
        let ip = &mut d[ETH_LEN..];
        let (src, dst) = (be32(ip, 12), be32(ip, 16));
        ip[12..16].copy_from_slice(&dst.to_be_bytes());
        ip[16..20].copy_from_slice(&src.to_be_bytes());
        ip[8] = 64;
        ip[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&ip[..hl]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        // Type 8 → 0: update the ICMP checksum for the changed word.
        let icmp = &mut ip[hl..];
        let old = be16(icmp, 0);
        icmp[0] = 0;
        let c = checksum::update16(be16(icmp, 2), old, be16(icmp, 0));
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        self.counters.local.add(1);
        p.meta_mut().flags = 0;
        self.ip_send_local(p, vrf, snap);
    }

    /// Originate an ICMP error (RFC 792, RFC 1812 §4.3.2) about `orig`,
    /// which arrived on `iface`, subject to the rate limit and to the rules
    /// of §4.3.2.7 (never about ICMP errors, non-first fragments, or
    /// packets from addresses that do not name one host).
    #[cold]
    #[inline(never)]
    pub(crate) fn icmp_error(
        &mut self,
        orig: &P::Buf,
        iface: &IfaceState,
        snap: &Snapshot,
        typ: u8,
        code: u8,
        mtu: u16,
    ) {
        let d = orig.data();
        let ip = &d[ETH_LEN..];
        let hl = ((ip[0] & 0x0f) as usize) * 4;
        let total = (be16(ip, 2) as usize).min(ip.len());
        let src = be32(ip, 12);
        if iface.primary_ip == 0 || martian(src) {
            return;
        }
        if be16(ip, 6) & 0x1fff != 0 {
            return; // not the first fragment
        }
        if ip[9] == IP_PROTO_ICMP && total > hl {
            let t = ip[hl];
            // Only queries (echo, timestamp, info, address mask) may draw
            // an error.
            if !matches!(t, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18) {
                return;
            }
        }
        if !self.icmp_limit.allow() {
            self.counters.icmp_ratelimited.add(1);
            return;
        }
        // RFC 1812 §4.3.2.3: as much of the original as fits in 576 bytes.
        let quote = total.min(576 - 20 - 8);
        let Some(mut e) = self.pool.alloc() else {
            return;
        };
        let Some(buf) = e.append(ETH_LEN + 20 + 8 + quote) else {
            return;
        };
        let out = &mut buf[ETH_LEN..];
        let len = (20 + 8 + quote) as u16;
        out[0] = 0x45;
        out[1] = 0xc0; // DSCP CS6: network control
        out[2..4].copy_from_slice(&len.to_be_bytes());
        out[4..8].copy_from_slice(&[0, 0, 0, 0]);
        out[8] = 64;
        out[9] = IP_PROTO_ICMP;
        out[10..12].copy_from_slice(&[0, 0]);
        out[12..16].copy_from_slice(&iface.primary_ip.to_be_bytes());
        out[16..20].copy_from_slice(&src.to_be_bytes());
        let c = checksum::checksum(&out[..20]);
        out[10..12].copy_from_slice(&c.to_be_bytes());
        let icmp = &mut out[20..];
        icmp[0] = typ;
        icmp[1] = code;
        icmp[2..4].copy_from_slice(&[0, 0]);
        icmp[4..6].copy_from_slice(&[0, 0]);
        icmp[6..8].copy_from_slice(&mtu.to_be_bytes());
        icmp[8..].copy_from_slice(&ip[..quote]);
        let c = checksum::checksum(icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        self.counters.icmp_errors.add(1);
        self.ip_send_local(e, iface.vrf, snap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_template_checks_exactly_the_fixed_bytes() {
        let mac = [0x02, 0x77, 0, 0, 0, 1];
        let t = HeadTemplate::new(&mac);
        let mut h = [0u8; 16];
        h[..6].copy_from_slice(&mac);
        h[6..12].copy_from_slice(&[0xaa; 6]);
        h[12..16].copy_from_slice(&[0x08, 0x00, 0x45, 0xb8]);
        assert!(t.matches::<false>(&h));
        for i in 0..16 {
            let mut x = h;
            x[i] ^= 0x10;
            let fixed = HEAD_MASK[i] != 0;
            assert_eq!(t.matches::<false>(&x), !fixed, "byte {i}");
            #[cfg(target_arch = "x86_64")]
            if has_popcnt_sse41() {
                assert_eq!(t.matches::<true>(&x), !fixed, "byte {i}, SSE4.1");
            }
        }
    }

    #[test]
    fn fast_checksum_agrees_with_the_general_one() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..20000 {
            let mut h = [0u8; 20];
            for b in h.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let good = checksum::fold(checksum::sum(&h, 0)) == 0;
            assert_eq!(header_checksum_ok(&h, 20), good);
            // Make it valid and check again.
            h[10] = 0;
            h[11] = 0;
            let c = checksum::checksum(&h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            assert!(header_checksum_ok(&h, 20));
        }
    }

    #[test]
    fn fast_check_takes_exactly_the_common_case() {
        let mac = [0x02, 0x77, 0, 0, 0, 1];
        let head = HeadTemplate::new(&mac);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut taken, mut refused) = (0, 0);
        for i in 0..200_000u32 {
            let len = 34 + (rnd() % 40) as usize;
            let mut d = vec![0u8; len];
            for b in d.iter_mut() {
                *b = rnd() as u8;
            }
            d[..6].copy_from_slice(&mac);
            d[12..15].copy_from_slice(&[0x08, 0x00, 0x45]);
            d[16..18].copy_from_slice(&((len - ETH_LEN) as u16).to_be_bytes());
            d[24..26].copy_from_slice(&[0, 0]);
            let c = checksum::checksum(&d[14..34]);
            d[24..26].copy_from_slice(&c.to_be_bytes());
            // Break one thing in most frames, or nothing.
            match i % 8 {
                0 => d[(rnd() % 34) as usize] ^= 1 << (rnd() % 8),
                1 => d.truncate(len - 1 - (rnd() % 4) as usize),
                2 => d[26] = [0, 127, 224, 255][(rnd() % 4) as usize],
                3 => d[30] = [0, 127, 230, 255][(rnd() % 4) as usize],
                _ => {}
            }
            let len = d.len();
            if len < 34 {
                assert!(fast_check::<false>(&d, &head).is_none());
                refused += 1;
                continue;
            }
            let total = u16::from_be_bytes([d[16], d[17]]) as usize;
            let src = u32::from_be_bytes([d[26], d[27], d[28], d[29]]);
            let dst = u32::from_be_bytes([d[30], d[31], d[32], d[33]]);
            let want = d[..6] == mac
                && d[12..15] == [0x08, 0x00, 0x45]
                && total + ETH_LEN == len
                && header_checksum_ok(&d[14..34], 20)
                && !martian(src);
            let got = fast_check::<false>(&d, &head);
            #[cfg(target_arch = "x86_64")]
            if has_popcnt_sse41() {
                assert_eq!(
                    fast_check::<true>(&d, &head).map(|c| c.dst),
                    got.map(|c| c.dst)
                );
            }
            assert_eq!(got.is_some(), want, "frame {i}: {d:02x?}");
            if let Some(c) = got {
                assert_eq!((c.dst, c.total as usize), (dst, total));
                assert_eq!(c.ttl_word.to_le_bytes(), d[22..26]);
                taken += 1;
            } else {
                refused += 1;
            }
        }
        assert!(taken > 50_000 && refused > 50_000, "{taken} {refused}");
    }

    #[test]
    fn multiple_of_ffff_is_remainder_zero() {
        let mut x = 1u64;
        for _ in 0..1_000_000 {
            assert_eq!(multiple_of_ffff(x), x.is_multiple_of(0xffff), "{x:#x}");
            x = x
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(0x7f4a_7c15)
                | 1;
        }
        // Around multiples spread over the whole range, both ends included.
        let mut k = 1u64;
        while k <= u64::MAX / 0xffff {
            let m = k * 0xffff;
            assert!(multiple_of_ffff(m), "{m:#x}");
            assert!(!multiple_of_ffff(m - 1), "{:#x}", m - 1);
            assert!(m == u64::MAX || !multiple_of_ffff(m + 1), "{:#x}", m + 1);
            k = if k < 0x20000 {
                k + 1
            } else {
                k + k / 0x1000 + 7
            };
        }
        assert!(multiple_of_ffff(u64::MAX));
        // The end-around sums are never 0 but the carry folds right.
        assert_eq!(sum64_end_around(u64::MAX, 1, 0), 1);
        assert_eq!(
            sum64_end_around(u64::MAX, u64::MAX, u32::MAX as u64),
            0xffff_ffff
        );
        assert_eq!(sum64_end_around(u64::MAX, 0, 0), u64::MAX);
        assert_eq!(sum64_end_around(1 << 63, 1 << 63, 0), 1);
        assert_eq!(sum64_end_around(1 << 63, (1 << 63) - 1, 1), 1);
    }

    #[test]
    fn ttl_word_decrement_is_decrement_ttl() {
        let mut h = [0u8; 34];
        for ttl in [2u8, 3, 64, 128, 255] {
            for proto in [1u8, 6, 17, 47] {
                for c in 0..=0xffffu16 {
                    h[22] = ttl;
                    h[23] = proto;
                    h[24..26].copy_from_slice(&c.to_be_bytes());
                    let w = u32::from_le_bytes([h[22], h[23], h[24], h[25]]);
                    let mut g = h;
                    decrement_ttl(&mut g);
                    match ttl_word_decrement(w) {
                        Some(n) => assert_eq!(n.to_le_bytes(), g[22..26], "ttl {ttl} csum {c:#x}"),
                        // Only the two checksums that wrap are left to the
                        // general path.
                        None => assert!(c.swap_bytes() >= 0xfffe, "csum {c:#x}"),
                    }
                }
            }
        }
    }

    #[test]
    fn checksum_corner_cases() {
        assert!(!header_checksum_ok(&[0u8; 20], 20), "all zero is not valid");
        assert!(
            header_checksum_ok(&[0xffu8; 20], 20),
            "all ones sums to 0xFFFF"
        );
        let mut h = [0u8; 20];
        h[0] = 0x45;
        let c = checksum::checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(header_checksum_ok(&h, 20));
        h[10] ^= 1;
        assert!(!header_checksum_ok(&h, 20));
    }

    #[test]
    fn mac_compare() {
        assert!(mac_eq(&[1, 2, 3, 4, 5, 6], &[1, 2, 3, 4, 5, 6]));
        assert!(!mac_eq(&[1, 2, 3, 4, 5, 7], &[1, 2, 3, 4, 5, 6]));
        assert!(!mac_eq(&[0, 2, 3, 4, 5, 6], &[1, 2, 3, 4, 5, 6]));
    }
}
