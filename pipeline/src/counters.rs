//! Per-worker pipeline counters: what happened to every packet.
//!
//! Every packet a worker receives ends up counted exactly once: forwarded,
//! delivered locally, punted to the control plane, or dropped with a
//! [`DropReason`]. A worker owns its counters (single-writer, see
//! [`pmd::Counter`]); readers sum over workers.

use pmd::Counter;

macro_rules! drop_reasons {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// Why the pipeline dropped a packet.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason {
            $(#[doc = $doc] $variant,)*
        }

        impl DropReason {
            /// All reasons, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();

            /// Short stable name (used in output and JSON).
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$variant => $name,)* }
            }

            /// One-line description.
            pub const fn describe(self) -> &'static str {
                match self { $(DropReason::$variant => $doc,)* }
            }
        }
    };
}

drop_reasons! {
    Runt => "runt", "frame shorter than an Ethernet header";
    NotForUs => "not-for-us", "destination MAC neither ours nor broadcast";
    Vlan => "vlan", "802.1Q tag on an interface that expects none";
    Ethertype => "ethertype", "EtherType the router does not handle";
    IpMalformed => "ip-malformed", "IPv4 header invalid or truncated";
    IpChecksum => "ip-checksum", "IPv4 header checksum wrong";
    Martian => "martian", "source or destination address that must not be routed (RFC 1812 §5.3.7)";
    TtlExpired => "ttl-expired", "TTL reached zero (ICMP time exceeded sent when allowed)";
    NoRoute => "no-route", "no route to the destination (ICMP net unreachable sent when allowed)";
    Blackhole => "blackhole", "route is a blackhole";
    Reject => "reject", "route rejects (ICMP host unreachable sent when allowed)";
    TooBig => "too-big", "larger than the output MTU (ICMP fragmentation needed sent when DF)";
    Incomplete => "neighbor-incomplete", "next hop MAC being resolved; packets beyond the held few are dropped";
    PuntFull => "punt-full", "queue to the control plane full";
    LocalUnsupported => "local-unsupported", "addressed to the router with a protocol it does not serve";
    ArpInvalid => "arp-invalid", "ARP packet malformed or not Ethernet/IPv4";
    IfaceDown => "iface-down", "input or output interface is down";
    NoBuffer => "no-buffer", "no packet buffer for a reply";
    GreMalformed => "gre-malformed", "GRE header invalid (RFC 1701 bits, version not 0, truncated) or its checksum wrong";
    GreProtocol => "gre-protocol", "GRE carrying something other than IPv4";
    GreNoTunnel => "gre-no-tunnel", "GRE to a local address matching no tunnel (addresses and key)";
    TunnelDown => "tunnel-down", "routed into, or received from, a tunnel that is down";
    TunnelLoop => "tunnel-loop", "more passes through tunnels than the bound allows (a routing loop through tunnels)";
    TunnelNoRoom => "tunnel-no-room", "no headroom left to prepend the outer headers";
    FragmentToUs => "fragment-to-us", "IPv4 fragment where a whole packet is needed";
    ReassemblyFailed => "reassembly-failed", "fragment of a datagram that could not be reassembled (overlap, too many fragments, too large, evicted)";
    ReassemblyTimeout => "reassembly-timeout", "fragment of a datagram not complete within the reassembly timeout";
    Chained => "chained", "frame received in several buffers (a DPDK mbuf chain); the router handles single buffers only";
}

/// One worker's pipeline counters.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct WorkerCounters {
    /// Packets routed out of a port.
    pub forwarded: Counter,
    /// Packets addressed to the router and answered in the data plane
    /// (ICMP echo).
    pub local: Counter,
    /// Fragments sent for packets forwarded in fragments (RFC 1812
    /// §5.2.6); such a packet counts once in `forwarded`.
    pub fragments: Counter,
    /// Fragments merged into a reassembled datagram (the datagram itself
    /// is counted by what happens to it).
    pub reassembled: Counter,
    /// Packets handed to the control plane (ARP, unresolved next hops).
    pub punted: Counter,
    /// Packets the control plane handed to this worker to send.
    pub injected: Counter,
    /// ICMP errors generated.
    pub icmp_errors: Counter,
    /// ICMP errors suppressed by the rate limit.
    pub icmp_ratelimited: Counter,
    /// Bursts processed.
    pub bursts: Counter,
    /// Snapshot generation this worker last routed with.
    pub generation: Counter,
    /// Drops by reason, indexed by `DropReason as usize`.
    pub drops: [Counter; DropReason::COUNT],
    /// Times the worker's loop did not run (see [`crate::stall`]).
    pub stalls: crate::stall::StallLog,
}

impl WorkerCounters {
    /// Count one drop.
    #[inline]
    pub fn count_drop(&self, r: DropReason) {
        self.drops[r as usize].add(1);
    }

    /// A plain copy.
    pub fn read(&self) -> CounterValues {
        let mut drops = [0; DropReason::COUNT];
        for (d, c) in drops.iter_mut().zip(&self.drops) {
            *d = c.get();
        }
        CounterValues {
            forwarded: self.forwarded.get(),
            fragments: self.fragments.get(),
            reassembled: self.reassembled.get(),
            local: self.local.get(),
            punted: self.punted.get(),
            injected: self.injected.get(),
            icmp_errors: self.icmp_errors.get(),
            icmp_ratelimited: self.icmp_ratelimited.get(),
            drops,
        }
    }
}

/// Counter values, summed over workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterValues {
    /// Packets routed out of a port (a packet sent in fragments counts
    /// once).
    pub forwarded: u64,
    /// Fragments sent for packets forwarded in fragments.
    pub fragments: u64,
    /// Fragments merged into reassembled datagrams.
    pub reassembled: u64,
    /// Packets answered by the data plane itself.
    pub local: u64,
    /// Packets handed to the control plane.
    pub punted: u64,
    /// Packets the control plane sent through workers.
    pub injected: u64,
    /// ICMP errors generated.
    pub icmp_errors: u64,
    /// ICMP errors suppressed by the rate limit.
    pub icmp_ratelimited: u64,
    /// Drops by reason.
    pub drops: [u64; DropReason::COUNT],
}

impl CounterValues {
    /// Sum of several workers' values.
    pub fn sum<'a>(it: impl IntoIterator<Item = &'a WorkerCounters>) -> CounterValues {
        let mut s = CounterValues::default();
        for w in it {
            let v = w.read();
            s.forwarded += v.forwarded;
            s.fragments += v.fragments;
            s.reassembled += v.reassembled;
            s.local += v.local;
            s.punted += v.punted;
            s.injected += v.injected;
            s.icmp_errors += v.icmp_errors;
            s.icmp_ratelimited += v.icmp_ratelimited;
            for (a, b) in s.drops.iter_mut().zip(v.drops) {
                *a += b;
            }
        }
        s
    }

    /// Total packets dropped.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Non-zero drop counters with their reasons.
    pub fn nonzero_drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .zip(self.drops)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| (*r, n))
    }

    /// Drop count for one reason.
    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }
}
