//! weir's declarative configuration: one TOML file, parsed and validated as
//! a whole.
//!
//! [`Config::load`] reads a file and either returns the resolved
//! [`Config`] — every name turned into an index, every default filled in —
//! or a [`ConfigError`] listing *every* problem found, each with file, line,
//! column and field path. A config with any error is rejected whole; nothing
//! of it is applied.
//!
//! # Schema
//!
//! ```toml
//! [workers]                 # optional
//! cores = [1]               # one worker thread pinned per listed core
//! control_core = 0          # optional: pin the control thread
//! pool_size = 16384         # optional: packet buffers, 256..=16777216
//!
//! [dpdk]                    # optional: DPDK's EAL, for `dpdk` interfaces
//! args = ["--log-level=lib.eal:debug"]  # extra EAL arguments
//! no_huge = false           # run without hugepages (--no-huge)
//! memory_mb = 512           # optional: EAL memory (-m), 64..=65536
//! file_prefix = "weir"      # optional: --file-prefix, [A-Za-z0-9_-]{1,32}
//! mbufs = 16384             # optional: mbufs per pool, default pool_size
//! mbuf_cache = 256          # optional: per-core mempool cache, 0..=512
//!
//! [[vrf]]                   # user VRFs; "default" (table 0) always exists
//! name = "MAIN"             # 1..=64 chars [A-Za-z0-9_.-]
//! table = 1                 # unique, 1..=65535
//! rd = "65000:1"            # optional: ASN:N or IPv4:N (RFC 4364 §4.2)
//! import = [                # optional route leaking, default none:
//!   { vrf = "BGP", prefixes = ["10.20.0.0/16", "0.0.0.0/0"] },
//! ]                         # copy BGP's routes within these prefixes
//!
//! [[interface]]
//! name = "gen0"             # unique among interfaces and tunnels,
//!                           # 1..=15 chars [A-Za-z0-9_.-]
//! vrf = "MAIN"              # optional, default "default"
//! mac = "02:00:00:00:00:01" # optional, unicast; default derived (below)
//! addresses = ["10.1.0.1/24"]  # router address / subnet length (1..=32)
//! mtu = 1500                # optional, 68..=9216, default 1500
//! # exactly one driver table: gen, mem, pcap, af_packet or dpdk
//! gen = { dst = "10.2.0.2", dst_count = 16, rate = "10Mpps" }
//!
//! [[tunnel]]                # GRE tunnel interfaces (RFC 2784, RFC 2890)
//! name = "Tunnel75"         # unique among interfaces and tunnels,
//!                           # 1..=15 chars [A-Za-z0-9_.-]
//! vrf = "MAIN"              # overlay VRF (the tunnel's), default "default"
//! underlay_vrf = "default"  # VRF routing the outer packets, default "default"
//! source = "192.0.2.1"      # an address of an interface or tunnel in
//!                           # underlay_vrf, or the name of one (its first
//!                           # address)
//! destination = "192.0.2.2" # unicast, not source; may be a local address
//! key = 75                  # optional RFC 2890 key, 0..=4294967295
//! sequence = false          # RFC 2890 sequence numbers, default false
//! checksum = false          # RFC 2784 checksums, default false
//! ttl = 255                 # outer TTL, 1..=255, default 255
//! df = "copy"               # outer DF: copy (default, from the inner
//!                           # packet) | set | clear
//! fragment = "outer"        # DF-clear packets over the MTU: outer
//!                           # (fragment the outer packet; the default) |
//!                           # inner (fragment, then encapsulate); with
//!                           # df = "set" only inner, and the default
//! mtu = 1476                # optional, 68..=9216; default and maximum:
//!                           # the source's interface's MTU - overhead
//! addresses = ["10.75.0.1/30"]  # like an interface's, in vrf
//! keepalive = { interval = 10, retries = 3 }  # optional, default off;
//!                           # seconds 1..=32767 (10), retries 1..=255 (3)
//!
//! [[route]]                 # static routes
//! vrf = "MAIN"              # optional, default "default"
//! prefix = "10.9.0.0/16"    # no host bits
//! via = "10.2.0.2"          # optional next hop
//! interface = "gen1"        # optional, an interface or tunnel in
//!                           # next_hop_vrf
//! next_hop_vrf = "BGP"      # optional, default the route's vrf: via and
//!                           # interface are in this VRF (route leaking)
//! action = "forward"        # forward (default) | blackhole | reject
//! distance = 1              # optional, 1..=255, default 1
//!
//! [[policy]]                # policy routing, in order: the first match decides
//! interface = "main-hosts"  # packets arriving here (interface or tunnel); or
//! # vrf = "MAIN"            # ... on any interface or tunnel of a VRF; or
//! # local = true            # ... the router's own (ICMP errors, replies)
//! src = "10.1.0.0/24"       # optional prefixes, default any
//! dst = "0.0.0.0/0"
//! protocol = "udp"          # optional: tcp, udp, icmp, gre or 0..=255
//! src_port = "1024-65535"   # optional, TCP/UDP: a port or "lo-hi"
//! dst_port = 5001
//! dscp = 46                 # optional, 0..=63
//! # exactly one action:
//! next_hop = "10.2.0.2"     # a gateway on a connected subnet of
//! # next_hop_vrf = "BGP"    #   next_hop_vrf (default: the scope's VRF;
//!                           #   default VRF for local)
//! # set_vrf = "BGP"         # or: route the destination in another VRF
//! # tunnel = "Tunnel9"      # or: into a tunnel
//!
//! [[neighbor]]              # static ARP entries
//! interface = "gen1"
//! address = "10.2.0.2"      # inside one of the interface's subnets
//! mac = "02:00:00:00:02:02"
//!
//! [control]                 # optional: the control endpoint
//! listen = "127.0.0.1:50051"  # gRPC over TCP (the default); "none": off
//! unix = "weir.sock"        # optional: gRPC on a Unix socket too
//! metrics = "127.0.0.1:9469"  # Prometheus /metrics (the default); "none"
//! tls = { cert = "server.pem", key = "server.key", client_ca = "ca.pem" }
//!                           # optional; client_ca: require client certs
//! token_file = "token"      # optional bearer token: the file's first line
//! # token = "s3cret"        # or inline (a file keeps it out of the config)
//! ```
//!
//! In `[control]`, paths are relative to the config file's directory;
//! certificates, key and token file are read when the config is checked.
//! An address that is not loopback needs `tls` (`cert`, `key`) and client
//! authentication (`tls.client_ca`, a token or both); see
//! [`ControlEndpoint`].
//!
//! Driver tables (see [`GenOptions`], [`MemOptions`], [`PcapOptions`],
//! [`AfPacketOptions`], [`DpdkPortOptions`] for every key and its default):
//!
//! - `gen = { dst = "10.2.0.2", ... }`: a traffic generator and sink;
//! - `mem = { link = "l1", ring = 1024 }`: an in-process link; the two
//!   interfaces naming the same link are joined, and a link named by one
//!   interface only is left for the embedding program (tests, labs);
//! - `pcap = { rx = "in.pcap", tx = "out.pcap", repeat = 1 }`: replay and
//!   record captures; paths are relative to the config file's directory;
//! - `af_packet = { iface = "veth0", queues = 1 }`: a Linux interface;
//! - `dpdk = { device = "0000:03:00.0" }` or
//!   `dpdk = { device = "net_pcap0,rx_pcap=in.pcap,infinite_rx=1" }`: a DPDK
//!   ethdev port, a NIC by PCI address or a virtual device; `rx_pcap` and
//!   `tx_pcap` paths are relative to the config file's directory. Several
//!   interfaces cannot name the same device. The `[dpdk]` section is
//!   optional: without it the EAL gets the defaults of [`DpdkOptions`].
//!
//! # Defaults
//!
//! - Without `[workers]`: one worker on the highest-numbered CPU, and the
//!   control thread on CPU 0 (left unpinned on a one-CPU machine). With
//!   `[workers]` but no `control_core`, the control thread is not pinned.
//! - An interface without `mac` gets `02:77:65:xx:xx:xx`, where the last
//!   three octets are its index in the file plus one, big-endian (so the
//!   first interface is `02:77:65:00:00:01`): locally administered
//!   (`02`), unicast, and stable as long as the interfaces keep their order.
//!   See [`default_mac`].
//! - A VRF named `"default"` may be declared (with `table = 0` or no table)
//!   to give the default VRF a route distinguisher or imports.
//! - A tunnel's overhead is 24 bytes (20 outer IPv4 + 4 GRE), + 4 with a
//!   key, + 4 with sequence numbers, + 4 with checksums (see
//!   [`gre_overhead`]); its MTU defaults to the MTU of the interface (or
//!   tunnel) that has its source address minus that: 1476 over a
//!   1500-byte interface without options.
//! - A tunnel's `fragment` defaults to `"outer"`, or to `"inner"` with
//!   `df = "set"`: an outer header with DF set cannot be fragmented.
//!
//! # Tunnels and route leaking
//!
//! A tunnel is an interface of its own in `vrf` (routes name it as
//! `interface`); it has no ARP, so `[[neighbor]]` entries cannot name it.
//! No two tunnels have the same underlay VRF, source, destination and
//! key: decapsulation could not tell them apart. A tunnel may take its
//! source from another tunnel (whose MTU then bounds its own), but not in a
//! cycle. Whether a tunnel's destination is routed through the tunnel
//! itself depends on the routing tables at run time, so it is not checked
//! here.
//!
//! A route leaks between VRFs in two ways: a `[[route]]` with
//! `next_hop_vrf` lives in `vrf` but forwards to a next hop (`via`,
//! `interface`) of `next_hop_vrf`; a `[[vrf]]` with `import` copies the
//! routes of other VRFs that lie within the listed prefixes (equal or
//! more specific) into itself, with their next hops in the VRF they come
//! from (see [`VrfImport`]). A VRF cannot import from itself or list a
//! VRF twice; imports do not chain.
//!
//! # Checking for tests
//!
//! Checks that depend on the machine (the number of CPUs) take it from an
//! [`Env`]; [`Config::from_str_with`] lets tests pass a fixed one.

mod diff;
mod display;
mod endpoint;
mod error;
mod raw;
mod resolve;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Serialize, Serializer};

pub use diff::{Change, ChangeKind};
pub use endpoint::{
    is_loopback, ControlEndpoint, ControlTls, ListenAddr, Secret, Token, TokenSource,
    DEFAULT_CONTROL_LISTEN, DEFAULT_CONTROL_PORT, DEFAULT_METRICS_LISTEN, DEFAULT_METRICS_PORT,
};
pub use error::{ConfigError, Diagnostic};

/// Facts about the machine that validation depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// Number of CPUs: worker and control cores must be below it.
    pub cpus: usize,
}

impl Env {
    /// This machine, as `std::thread::available_parallelism` sees it (which
    /// honours CPU affinity masks and cgroup quotas); 1 if unknown.
    pub fn detect() -> Env {
        Env {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::detect()
    }
}

/// A validated configuration, ready to build a router from.
///
/// Interfaces, routes and neighbors refer to VRFs and interfaces by index
/// into [`Config::vrfs`] and [`Config::interfaces`]; `vrfs[0]` is always the
/// default VRF.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The file it came from (as given).
    pub path: PathBuf,
    /// Worker threads and the buffer pool.
    pub workers: Workers,
    /// The `[dpdk]` section, if there is one (`dpdk` interfaces without it
    /// use [`DpdkOptions::default`]).
    pub dpdk: Option<DpdkOptions>,
    /// VRFs; index 0 is `"default"` (table 0), the rest in file order.
    pub vrfs: Vec<Vrf>,
    /// Interfaces, in file order.
    pub interfaces: Vec<Interface>,
    /// GRE tunnel interfaces, in file order. Their names are unique among
    /// interfaces and tunnels together.
    pub tunnels: Vec<Tunnel>,
    /// Static routes, in file order.
    pub routes: Vec<StaticRoute>,
    /// Static ARP entries, in file order.
    pub neighbors: Vec<Neighbor>,
    /// Policy routing rules, in file order (the first match decides).
    pub policies: Vec<Policy>,
    /// The `[control]` section: the control endpoint's addresses and
    /// security (the defaults without the section).
    pub endpoint: ControlEndpoint,
}

/// Worker threads and the packet buffer pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workers {
    /// One worker thread is pinned to each of these CPUs; never empty, no
    /// duplicates.
    pub cores: Vec<usize>,
    /// The CPU to pin the control thread to; `None` leaves it unpinned.
    /// Never one of `cores`.
    pub control_core: Option<usize>,
    /// Packet buffers in the pool (default 16384).
    pub pool_size: usize,
}

/// Default number of packet buffers.
pub const DEFAULT_POOL_SIZE: usize = 16384;

/// The `[dpdk]` section: how DPDK's EAL is started. Plain options, parsed
/// and checked whether or not weir is built with DPDK.
///
/// EAL lcores are not configured here: they come from [`Workers::cores`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DpdkOptions {
    /// Extra EAL arguments, passed as they are after the ones weir derives
    /// (e.g. `["--log-level=lib.eal:debug", "--no-pci"]`). Never empty
    /// strings, and never an option that has a field of its own here
    /// (`--no-huge`, `-m`, `--file-prefix`) or that weir derives (`-l`,
    /// `-c`, `--lcores`); `--socket-mem` only without `memory_mb` and
    /// `no_huge`, as the EAL refuses it with either.
    pub args: Vec<String>,
    /// Run without hugepages (`--no-huge`); default false.
    pub no_huge: bool,
    /// Memory for the EAL in megabytes (`-m`), 64..=65536; `None` = the
    /// driver's choice.
    pub memory_mb: Option<u32>,
    /// `--file-prefix`, 1..=32 characters of `[A-Za-z0-9_-]`: processes
    /// running DPDK at the same time need distinct ones. `None` = the
    /// driver's choice.
    pub file_prefix: Option<String>,
    /// mbufs in each mempool (one per NUMA socket); `None` = the
    /// workers' [`Workers::pool_size`] (see [`Config::dpdk_mbufs`]).
    pub mbufs: Option<usize>,
    /// Per-core mempool cache size, 0..=512 (DPDK's maximum), with
    /// `mbuf_cache × 1.5 ≤ mbufs` as DPDK requires; `None` = the driver's
    /// choice.
    pub mbuf_cache: Option<usize>,
}

/// Default RX and TX descriptor ring size of a `dpdk` port.
pub const DEFAULT_DPDK_DESC: u16 = 1024;

/// A VRF: a routing table of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vrf {
    /// Its name; `"default"` for index 0.
    pub name: String,
    /// Table id: 0 for the default VRF, unique 1..=65535 otherwise.
    pub table: u32,
    /// Route distinguisher, if configured.
    pub rd: Option<RouteDistinguisher>,
    /// Routes leaked into this VRF from others, in file order; at most one
    /// entry per source VRF, never this VRF itself.
    pub imports: Vec<VrfImport>,
}

/// Route leaking: the routes of another VRF copied into this one.
///
/// A route of VRF `from` is copied when its prefix lies within one of
/// `prefixes` (is equal to it or more specific). Only the routes `from`
/// has of its own (connected, static, and later BGP) are copied, never
/// those it imported itself, so imports do not chain and two VRFs may
/// import from each other. A copied route keeps its next hop in `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrfImport {
    /// The VRF the routes come from (index into [`Config::vrfs`]), never
    /// the importing VRF.
    pub from: usize,
    /// The prefixes to import (network address, length 0..=32; no host
    /// bits set, no duplicates, never empty); `0.0.0.0/0` imports every
    /// route.
    pub prefixes: Vec<(Ipv4Addr, u8)>,
}

impl VrfImport {
    /// Whether the route `prefix/len` is imported: it lies within one of
    /// the prefixes.
    pub fn covers(&self, prefix: Ipv4Addr, len: u8) -> bool {
        self.prefixes
            .iter()
            .any(|&(p, l)| len >= l && (u32::from(prefix) ^ u32::from(p)) & mask(l) == 0)
    }
}

/// A route distinguisher (RFC 4364 §4.2): 8 bytes, a 2-byte type and a
/// 6-byte value of administrator and assigned number.
///
/// Written `ASN:N` or `IPv4:N`. An ASN up to 65535 makes a type 0 RD with a
/// 32-bit `N`; a larger (4-byte) ASN, in asplain (`4200000000:7`) or asdot
/// (`64086.59904:7`) notation, makes a type 2 RD with a 16-bit `N`; an IPv4
/// address makes a type 1 RD with a 16-bit `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteDistinguisher {
    /// Type 0: 2-byte ASN, 4-byte assigned number.
    As2 {
        /// Administrator: the ASN.
        asn: u16,
        /// Assigned number.
        number: u32,
    },
    /// Type 1: IPv4 address, 2-byte assigned number.
    Ipv4 {
        /// Administrator: an IPv4 address.
        addr: Ipv4Addr,
        /// Assigned number.
        number: u16,
    },
    /// Type 2: 4-byte ASN, 2-byte assigned number.
    As4 {
        /// Administrator: the ASN.
        asn: u32,
        /// Assigned number.
        number: u16,
    },
}

impl RouteDistinguisher {
    /// The 8 bytes on the wire (type, then value, big-endian).
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        match *self {
            RouteDistinguisher::As2 { asn, number } => {
                b[2..4].copy_from_slice(&asn.to_be_bytes());
                b[4..8].copy_from_slice(&number.to_be_bytes());
            }
            RouteDistinguisher::Ipv4 { addr, number } => {
                b[1] = 1;
                b[2..6].copy_from_slice(&addr.octets());
                b[6..8].copy_from_slice(&number.to_be_bytes());
            }
            RouteDistinguisher::As4 { asn, number } => {
                b[1] = 2;
                b[2..6].copy_from_slice(&asn.to_be_bytes());
                b[6..8].copy_from_slice(&number.to_be_bytes());
            }
        }
        b
    }
}

impl FromStr for RouteDistinguisher {
    type Err = String;

    /// Parse `ASN:N`, `ASN.ASN:N` (asdot) or `IPv4:N`; the error says what
    /// is wrong, in a sentence.
    fn from_str(s: &str) -> Result<Self, String> {
        let form = "expected ASN:N or IPv4:N, e.g. 65000:1 or 192.0.2.1:1";
        let Some((admin, number)) = s.rsplit_once(':') else {
            return Err(format!("invalid route distinguisher \"{s}\": {form}"));
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
        if !digits(number) {
            return Err(format!("invalid route distinguisher \"{s}\": {form}"));
        }
        let too_big = |max: u64| {
            format!(
                "invalid route distinguisher \"{s}\": the assigned number must be at \
                most {max} with this administrator"
            )
        };
        let number: u64 = number.parse().map_err(|_| too_big(u32::MAX.into()))?;
        let dots = admin.matches('.').count();
        if dots == 3 {
            let addr: Ipv4Addr = admin.parse().map_err(|_| {
                format!("invalid route distinguisher \"{s}\": \"{admin}\" is not an IPv4 address")
            })?;
            let number = u16::try_from(number).map_err(|_| too_big(u16::MAX.into()))?;
            return Ok(RouteDistinguisher::Ipv4 { addr, number });
        }
        let asn: u64 = if dots == 1 {
            let not_asn = || {
                format!(
                    "invalid route distinguisher \"{s}\": \"{admin}\" is neither an asdot \
                        ASN (X.Y, both at most 65535) nor an IPv4 address"
                )
            };
            let (hi, lo) = admin.split_once('.').ok_or_else(not_asn)?;
            if !(digits(hi) && digits(lo)) {
                return Err(not_asn());
            }
            match (hi.parse::<u16>(), lo.parse::<u16>()) {
                (Ok(hi), Ok(lo)) => (u64::from(hi) << 16) | u64::from(lo),
                _ => return Err(not_asn()),
            }
        } else if digits(admin) {
            admin.parse().unwrap_or(u64::MAX)
        } else {
            return Err(format!("invalid route distinguisher \"{s}\": {form}"));
        };
        if asn <= u64::from(u16::MAX) {
            let number = u32::try_from(number).map_err(|_| too_big(u32::MAX.into()))?;
            Ok(RouteDistinguisher::As2 {
                asn: asn as u16,
                number,
            })
        } else if asn <= u64::from(u32::MAX) {
            let number = u16::try_from(number).map_err(|_| too_big(u16::MAX.into()))?;
            Ok(RouteDistinguisher::As4 {
                asn: asn as u32,
                number,
            })
        } else {
            Err(format!(
                "invalid route distinguisher \"{s}\": ASN {admin} is larger than 4294967295"
            ))
        }
    }
}

impl fmt::Display for RouteDistinguisher {
    /// `ASN:N` or `IPv4:N` (asplain for 4-byte ASNs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDistinguisher::As2 { asn, number } => write!(f, "{asn}:{number}"),
            RouteDistinguisher::Ipv4 { addr, number } => write!(f, "{addr}:{number}"),
            RouteDistinguisher::As4 { asn, number } => write!(f, "{asn}:{number}"),
        }
    }
}

impl Serialize for RouteDistinguisher {
    /// As its text form, e.g. `"65000:1"`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An interface: a port with a MAC, addresses and a VRF.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interface {
    /// Unique name, 1..=15 characters of `[A-Za-z0-9_.-]`.
    pub name: String,
    /// Index into [`Config::vrfs`] (0 = default).
    pub vrf: usize,
    /// Unicast MAC, configured or [`default_mac`] of the interface's index.
    #[serde(serialize_with = "serialize_mac")]
    pub mac: [u8; 6],
    /// The router's addresses on this interface, each with its subnet.
    /// No two subnets overlap within a VRF.
    pub addresses: Vec<IfAddr>,
    /// MTU in bytes (IP packet size), 68..=9216.
    pub mtu: u16,
    /// The port driver and its options.
    pub driver: Driver,
}

/// A GRE tunnel interface (RFC 2784, with the key and sequence numbers of
/// RFC 2890): a point-to-point interface in its overlay VRF whose packets
/// travel encapsulated in GRE over IPv4 (outer `source` → `destination`),
/// routed by its underlay VRF.
///
/// The two VRFs may differ (Cisco's `vrf forwarding X` with `tunnel vrf
/// Y`), and `destination` may be one of the router's own addresses: a
/// pair of tunnels whose source and destination are each other's joins
/// two VRFs of the same router (the seed's hairpin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tunnel {
    /// Unique among interfaces and tunnels, 1..=15 characters of
    /// `[A-Za-z0-9_.-]`.
    pub name: String,
    /// The overlay VRF, where the tunnel interface and its addresses live
    /// (index into [`Config::vrfs`]).
    pub vrf: usize,
    /// The underlay VRF, which routes the outer packets (index into
    /// [`Config::vrfs`]).
    pub underlay_vrf: usize,
    /// Outer source address: one of the router's addresses in the
    /// underlay VRF.
    pub source: Ipv4Addr,
    /// The interface or tunnel that has `source` in the underlay VRF (its
    /// MTU bounds this tunnel's).
    pub source_on: IfRef,
    /// Outer destination: a unicast address, not `source`; may be one of
    /// the router's own.
    pub destination: Ipv4Addr,
    /// RFC 2890 key, sent and required on receipt; `None` = no key.
    pub key: Option<u32>,
    /// RFC 2890 sequence numbers (default false).
    pub sequence: bool,
    /// RFC 2784 checksums (default false).
    pub checksum: bool,
    /// TTL of the outer header, 1..=255 (default 255).
    pub ttl: u8,
    /// The DF bit of the outer header.
    pub df: TunnelDf,
    /// How DF-clear packets larger than `mtu` are fragmented.
    pub fragment: TunnelFragment,
    /// The largest inner packet, 68..=9216 and at most the MTU of
    /// `source_on` minus [`Tunnel::overhead`]; by default exactly that.
    pub mtu: u16,
    /// The router's addresses on the tunnel, like an interface's; no two
    /// subnets overlap within a VRF, interfaces and tunnels together.
    pub addresses: Vec<IfAddr>,
    /// Cisco-style GRE keepalives; `None` = off.
    pub keepalive: Option<Keepalive>,
}

impl Tunnel {
    /// Bytes the encapsulation adds to each packet: see [`gre_overhead`].
    pub fn overhead(&self) -> u16 {
        gre_overhead(self.key.is_some(), self.sequence, self.checksum)
    }

    /// The overhead spelt out, e.g. `20 IPv4 + 4 GRE + 4 key`.
    pub fn overhead_parts(&self) -> String {
        let mut s = String::from("20 IPv4 + 4 GRE");
        for (on, what) in [
            (self.key.is_some(), "key"),
            (self.sequence, "sequence"),
            (self.checksum, "checksum"),
        ] {
            if on {
                s.push_str(" + 4 ");
                s.push_str(what);
            }
        }
        s
    }
}

/// The bytes GRE over IPv4 adds to a packet: 20 (outer IPv4 header) + 4
/// (GRE header), + 4 with a key, + 4 with sequence numbers, + 4 with
/// checksums; 24 to 36.
pub const fn gre_overhead(key: bool, sequence: bool, checksum: bool) -> u16 {
    20 + pipeline::wire::gre::header_len(checksum, key, sequence) as u16
}

/// Default outer TTL of a tunnel.
pub const DEFAULT_TUNNEL_TTL: u8 = 255;

/// An interface or a tunnel, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IfRef {
    /// Index into [`Config::interfaces`].
    Interface(usize),
    /// Index into [`Config::tunnels`].
    Tunnel(usize),
}

/// The DF bit of a tunnel's outer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelDf {
    /// Copied from the inner IPv4 header (the default).
    Copy,
    /// Always set.
    Set,
    /// Always clear.
    Clear,
}

impl TunnelDf {
    /// The config spelling: `copy`, `set` or `clear`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TunnelDf::Copy => "copy",
            TunnelDf::Set => "set",
            TunnelDf::Clear => "clear",
        }
    }
}

impl fmt::Display for TunnelDf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a tunnel does with a packet larger than its MTU whose DF bit is
/// clear (one with DF set is answered with ICMP "fragmentation needed"
/// either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelFragment {
    /// Encapsulate it whole and fragment the outer packet; the far end
    /// reassembles before decapsulating. The default, except with
    /// [`TunnelDf::Set`], which forbids it.
    Outer,
    /// Fragment the inner packet and encapsulate each fragment; the
    /// inner destination reassembles.
    Inner,
}

impl TunnelFragment {
    /// The config spelling: `outer` or `inner`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TunnelFragment::Outer => "outer",
            TunnelFragment::Inner => "inner",
        }
    }
}

impl fmt::Display for TunnelFragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cisco-style GRE keepalives: every `interval` seconds the router sends
/// itself a packet through the far end (a GRE packet to `destination`
/// carrying one back to `source`); after `retries` unanswered ones in a
/// row the tunnel is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Keepalive {
    /// Seconds between keepalives, 1..=32767 (default 10).
    pub interval: u16,
    /// Keepalives missed before the tunnel goes down, 1..=255 (default 3).
    pub retries: u8,
}

impl Default for Keepalive {
    /// Cisco's: every 10 seconds, down after 3 missed.
    fn default() -> Self {
        Keepalive {
            interval: 10,
            retries: 3,
        }
    }
}

/// The MAC an interface gets when none is configured: `02:77:65` followed
/// by `index + 1` as three big-endian octets (index 0 → `02:77:65:00:00:01`).
pub fn default_mac(index: usize) -> [u8; 6] {
    let n = (index as u32).wrapping_add(1).to_be_bytes();
    [0x02, 0x77, 0x65, n[1], n[2], n[3]]
}

/// A MAC in the usual `aa:bb:cc:dd:ee:ff` form.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

fn serialize_mac<S: Serializer>(mac: &[u8; 6], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_mac(mac))
}

/// An interface address: the router's own address and its subnet length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct IfAddr {
    /// The router's address (host bits may be set, and usually are).
    pub addr: Ipv4Addr,
    /// Subnet length, 1..=32.
    pub len: u8,
}

/// The netmask of a prefix length (0..=32) as a number.
pub(crate) fn mask(len: u8) -> u32 {
    match len {
        0 => 0,
        l if l >= 32 => u32::MAX,
        l => u32::MAX << (32 - l),
    }
}

impl IfAddr {
    /// The netmask, e.g. 255.255.255.0 for /24.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask(self.len))
    }

    /// The subnet's network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & mask(self.len))
    }

    /// The subnet's broadcast address (host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.len))
    }

    /// Whether `ip` lies in this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) ^ u32::from(self.addr)) & mask(self.len) == 0
    }

    /// Whether the two subnets share any address.
    pub fn overlaps(&self, other: &IfAddr) -> bool {
        let len = self.len.min(other.len);
        (u32::from(self.addr) ^ u32::from(other.addr)) & mask(len) == 0
    }
}

impl fmt::Display for IfAddr {
    /// `10.1.0.1/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The port driver of an interface, with its options.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// `gen`: a traffic generator (rx) and sink (tx).
    Gen(GenOptions),
    /// `mem`: one end of an in-process link.
    Mem(MemOptions),
    /// `pcap`: replay a capture as rx, write tx to a capture.
    Pcap(PcapOptions),
    /// `af_packet`: a Linux network interface through TPACKET_V3 rings.
    AfPacket(AfPacketOptions),
    /// `dpdk`: a DPDK ethdev port (a NIC by PCI address, or a vdev).
    Dpdk(DpdkPortOptions),
}

impl Driver {
    /// The config key of this driver: `gen`, `mem`, `pcap`, `af_packet` or
    /// `dpdk`.
    pub fn kind(&self) -> &'static str {
        match self {
            Driver::Gen(_) => "gen",
            Driver::Mem(_) => "mem",
            Driver::Pcap(_) => "pcap",
            Driver::AfPacket(_) => "af_packet",
            Driver::Dpdk(_) => "dpdk",
        }
    }
}

/// `gen` options: UDP flows over ranges of addresses and ports.
///
/// Flow `i` of `src_count` × `dst_count` × port counts uses consecutive
/// addresses and ports from the starting ones; no range wraps past
/// 255.255.255.255 or port 65535.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenOptions {
    /// First source address; default: the interface's first address + 1
    /// (the simulated host next to the router).
    pub src: Ipv4Addr,
    /// Number of source addresses (default 1).
    pub src_count: u32,
    /// First destination address (required).
    pub dst: Ipv4Addr,
    /// Number of destination addresses (default 1).
    pub dst_count: u32,
    /// First UDP source port (default 1024).
    pub src_port: u16,
    /// Number of source ports (default 1).
    pub src_port_count: u16,
    /// First UDP destination port (default 5001).
    pub dst_port: u16,
    /// Number of destination ports (default 1).
    pub dst_port_count: u16,
    /// Frame size (default 64 bytes).
    pub frame_size: FrameSize,
    /// Packets per second; `None` (absent or `"line"`) = as fast as possible.
    pub rate_pps: Option<u64>,
    /// 802.1Q tag (1..=4094) on generated frames, if any.
    pub vlan: Option<u16>,
    /// Packets to generate before stopping; `None` = forever.
    pub count: Option<u64>,
    /// Answer ARP requests for the simulated hosts (default true).
    pub arp_reply: bool,
}

/// Size of generated frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameSize {
    /// Every frame this many bytes, FCS included (64..=1518).
    Fixed(usize),
    /// The simple IMIX mix (64/594/1518 bytes in 7:4:1).
    Imix,
}

/// `mem` options: one end of an in-process link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemOptions {
    /// Link name; the (at most two) interfaces naming it are joined.
    pub link: String,
    /// Ring size in packets: a power of two, 32..=65536 (default 1024).
    /// Both ends of a link have the same: an end that leaves `ring` out
    /// takes the other end's, and two different sizes are an error.
    pub ring: usize,
    /// Index of the interface at the other end; `None` = an external
    /// endpoint, for the embedding program (tests, labs) to attach to.
    pub peer: Option<usize>,
}

/// `pcap` options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PcapOptions {
    /// Capture to replay as received traffic (exists at load time); the
    /// path is joined to the config file's directory if relative.
    pub rx: Option<PathBuf>,
    /// Capture to write transmitted traffic to; resolved like `rx`.
    pub tx: Option<PathBuf>,
    /// How many times to replay `rx` (default once).
    pub repeat: Repeat,
    /// Use the capture's timestamps and a fixed clock, so runs repeat
    /// byte for byte (default false).
    pub deterministic: bool,
}

/// How many times a capture is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    /// This many times (at least 1).
    Times(u64),
    /// Until stopped.
    Forever,
}

/// `af_packet` options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AfPacketOptions {
    /// The Linux interface (its existence is checked when the port opens).
    pub iface: String,
    /// Number of rx/tx queues; `None` = one per worker. Each worker owns
    /// one queue of every port, so when given it equals the worker count.
    pub queues: Option<usize>,
    /// `PACKET_FANOUT` group id for the queues' sockets; `None` = chosen
    /// when the port opens.
    pub fanout_group: Option<u16>,
    /// Put the interface in promiscuous mode (default true: the router's
    /// MAC is not the kernel's).
    pub promisc: bool,
}

/// `dpdk` options: one DPDK ethdev port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DpdkPortOptions {
    /// The device, as DPDK takes it (`-a` / `--vdev`), checked and
    /// normalised:
    ///
    /// - a PCI address, always in full form with the domain and in lower
    ///   case (`03:00.0` becomes `0000:03:00.0`), as DPDK names the port;
    /// - or a virtual device `net_<driver><n>[,key=value...]`, such as
    ///   `net_pcap0,rx_pcap=/abs/in.pcap,infinite_rx=1`, where the paths of
    ///   `rx_pcap` and `tx_pcap` have been made absolute, relative to the
    ///   config file's directory (an `rx_pcap` file exists at load time).
    ///
    /// Either may be followed by device arguments (`,key=value`). No two
    /// interfaces name the same device ([`DpdkPortOptions::device_name`]).
    pub device: String,
    /// RX descriptors per queue: a power of two, 64..=16384 (default 1024).
    pub rx_desc: u16,
    /// TX descriptors per queue: a power of two, 64..=16384 (default 1024).
    pub tx_desc: u16,
    /// Put the port in promiscuous mode (default true: the router's MAC is
    /// not necessarily the device's).
    pub promisc: bool,
}

impl DpdkPortOptions {
    /// The device's name, without its arguments: the PCI address or the
    /// vdev name (`net_pcap0`), which is also DPDK's name for the port.
    pub fn device_name(&self) -> &str {
        self.device.split(',').next().unwrap_or_default()
    }

    /// The device's arguments after the name (`rx_pcap=...,infinite_rx=1`),
    /// empty if there are none.
    pub fn device_args(&self) -> &str {
        self.device.split_once(',').map_or("", |(_, args)| args)
    }

    /// Whether the device is a PCI address (else it is a vdev).
    pub fn is_pci(&self) -> bool {
        !self.device_name().starts_with("net_")
    }
}

/// A static route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticRoute {
    /// Index into [`Config::vrfs`].
    pub vrf: usize,
    /// Network address (no host bits set).
    pub prefix: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub len: u8,
    /// The VRF `via`, `interface` and `tunnel` belong to (index into
    /// [`Config::vrfs`]): the route's own `vrf` unless it is leaked from
    /// another (`next_hop_vrf`).
    pub next_hop_vrf: usize,
    /// Next-hop address (never one of the router's own addresses in
    /// `next_hop_vrf`).
    pub via: Option<Ipv4Addr>,
    /// Output interface (index into [`Config::interfaces`], in
    /// `next_hop_vrf`); never together with `tunnel`.
    pub interface: Option<usize>,
    /// Output tunnel (index into [`Config::tunnels`], whose overlay VRF is
    /// `next_hop_vrf`); never together with `interface`.
    pub tunnel: Option<usize>,
    /// What to do with matching packets. `Forward` has `via`, `interface`
    /// or `tunnel`, or `via` with one of the other two; the others have
    /// none of them, and `next_hop_vrf` is `vrf`.
    pub action: RouteAction,
    /// Administrative distance, 1..=255 (default 1).
    pub distance: u8,
}

/// What a static route does with the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteAction {
    /// Forward to the next hop.
    Forward,
    /// Drop silently.
    Blackhole,
    /// Drop and answer ICMP destination unreachable.
    Reject,
}

impl RouteAction {
    /// The config spelling: `forward`, `blackhole` or `reject`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RouteAction::Forward => "forward",
            RouteAction::Blackhole => "blackhole",
            RouteAction::Reject => "reject",
        }
    }
}

impl fmt::Display for RouteAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy routing rule (`[[policy]]`): packets it matches go its way
/// instead of their VRF's route. Rules apply in file order; the first
/// that matches decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Which packets the rule looks at.
    pub scope: PolicyScope,
    /// Source prefix (network, length); `0.0.0.0/0` by default.
    pub src: (Ipv4Addr, u8),
    /// Destination prefix; `0.0.0.0/0` by default.
    pub dst: (Ipv4Addr, u8),
    /// IP protocol number, if given.
    pub protocol: Option<u8>,
    /// TCP/UDP source ports (inclusive range), if given.
    pub src_ports: Option<(u16, u16)>,
    /// TCP/UDP destination ports (inclusive range), if given.
    pub dst_ports: Option<(u16, u16)>,
    /// DSCP 0..=63, if given.
    pub dscp: Option<u8>,
    /// Where matching packets go.
    pub target: PolicyTarget,
}

/// The packets a [`Policy`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyScope {
    /// Arriving on this interface or tunnel.
    Interface(IfRef),
    /// Arriving on any interface or tunnel of this VRF.
    Vrf(usize),
    /// Originated by the router itself (ICMP errors and replies).
    Local,
}

/// Where a [`Policy`] sends the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyTarget {
    /// To this gateway, on a connected subnet (of an interface or tunnel)
    /// of `vrf`.
    NextHop {
        /// The VRF whose connected subnets hold `via`.
        vrf: usize,
        /// The gateway.
        via: Ipv4Addr,
    },
    /// Routed in this VRF.
    Vrf(usize),
    /// Into this tunnel (index into [`Config::tunnels`]).
    Tunnel(usize),
}

/// A static ARP entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbor {
    /// Index into [`Config::interfaces`].
    pub interface: usize,
    /// The neighbor's address, inside one of the interface's subnets.
    pub address: Ipv4Addr,
    /// The neighbor's (unicast) MAC.
    #[serde(serialize_with = "serialize_mac")]
    pub mac: [u8; 6],
}

/// A route derived from an interface address: its subnet, reached directly
/// through the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConnectedRoute {
    /// Index into [`Config::vrfs`] (the interface's VRF).
    pub vrf: usize,
    /// Network address of the subnet.
    pub prefix: Ipv4Addr,
    /// Prefix length.
    pub len: u8,
    /// Index into [`Config::interfaces`].
    pub interface: usize,
    /// The router's own address in the subnet.
    pub local: Ipv4Addr,
}

impl Config {
    /// Read and validate the file at `path`, checking cores against this
    /// machine ([`Env::detect`]). An unreadable file is one diagnostic
    /// naming the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, &Env::detect())
    }

    /// [`Config::load`] against a given [`Env`].
    pub fn load_with(path: &Path, env: &Env) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_str_with(&text, path, env),
            Err(e) => Err(ConfigError {
                diagnostics: vec![Diagnostic {
                    file: path.to_path_buf(),
                    line: 0,
                    col: 0,
                    field: String::new(),
                    message: format!("cannot read config file: {e}"),
                }],
            }),
        }
    }

    /// Validate `text` as if read from `path` (used in messages, and to
    /// resolve relative pcap paths), checking cores against this machine.
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::from_str_with(text, path, &Env::detect())
    }

    /// Validate `text` as if read from `path`, against `env`.
    pub fn from_str_with(text: &str, path: &Path, env: &Env) -> Result<Config, ConfigError> {
        let mut diags = Vec::new();
        let raw = match raw::parse_tree(text) {
            Ok(tree) => raw::read(tree, &mut diags),
            Err(d) => return Err(error::into_error(path, text, vec![d])),
        };
        let config = resolve::resolve(raw, path, text, env, &mut diags);
        if diags.is_empty() {
            Ok(config)
        } else {
            Err(error::into_error(path, text, diags))
        }
    }

    /// The number of mbufs in each DPDK mempool: `[dpdk] mbufs`, else the
    /// workers' pool size.
    pub fn dpdk_mbufs(&self) -> usize {
        self.dpdk
            .as_ref()
            .and_then(|d| d.mbufs)
            .unwrap_or(self.workers.pool_size)
    }

    /// Whether any interface uses the `dpdk` driver (and so the EAL must be
    /// started).
    pub fn uses_dpdk(&self) -> bool {
        self.interfaces
            .iter()
            .any(|i| matches!(i.driver, Driver::Dpdk(_)))
    }

    /// Index of the VRF named `name`.
    pub fn vrf_index(&self, name: &str) -> Option<usize> {
        self.vrfs.iter().position(|v| v.name == name)
    }

    /// Index of the interface named `name`.
    pub fn interface_index(&self, name: &str) -> Option<usize> {
        self.interfaces.iter().position(|i| i.name == name)
    }

    /// Index of the tunnel named `name`.
    pub fn tunnel_index(&self, name: &str) -> Option<usize> {
        self.tunnels.iter().position(|t| t.name == name)
    }

    /// The name of an interface or tunnel.
    pub fn if_name(&self, r: IfRef) -> &str {
        match r {
            IfRef::Interface(i) => &self.interfaces[i].name,
            IfRef::Tunnel(t) => &self.tunnels[t].name,
        }
    }

    /// The MTU of an interface or tunnel.
    pub fn if_mtu(&self, r: IfRef) -> u16 {
        match r {
            IfRef::Interface(i) => self.interfaces[i].mtu,
            IfRef::Tunnel(t) => self.tunnels[t].mtu,
        }
    }

    /// The connected routes: one per interface address, in interface order.
    /// Tunnel subnets are not among them: they are reached through the
    /// tunnel, not through a port (see [`Tunnel::addresses`]).
    pub fn connected_routes(&self) -> Vec<ConnectedRoute> {
        self.interfaces
            .iter()
            .enumerate()
            .flat_map(|(i, iface)| {
                iface.addresses.iter().map(move |a| ConnectedRoute {
                    vrf: iface.vrf,
                    prefix: a.network(),
                    len: a.len,
                    interface: i,
                    local: a.addr,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_distinguishers() {
        let rd = |s: &str| s.parse::<RouteDistinguisher>();
        assert_eq!(
            rd("65000:1"),
            Ok(RouteDistinguisher::As2 {
                asn: 65000,
                number: 1
            })
        );
        assert_eq!(
            rd("65000:4294967295").unwrap().to_bytes(),
            [0, 0, 0xfd, 0xe8, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            rd("4200000000:7"),
            Ok(RouteDistinguisher::As4 {
                asn: 4_200_000_000,
                number: 7
            })
        );
        assert_eq!(rd("1.10:7").unwrap(), rd("65546:7").unwrap());
        assert_eq!(
            rd("192.0.2.1:7").unwrap().to_bytes(),
            [0, 1, 192, 0, 2, 1, 0, 7]
        );
        assert_eq!(rd("4200000000:7").unwrap().to_bytes()[..2], [0, 2]);
        for bad in [
            "65000",
            "65000:",
            ":1",
            "x:1",
            "65000:-1",
            "4200000000:65536",
            "192.0.2.1:65536",
            "65000:4294967296",
            "4294967296:1",
            "1.2.3:4",
            "300.0.0.1:1",
            "1.70000:1",
            "+1:1",
        ] {
            assert!(rd(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(rd("192.0.2.1:7").unwrap().to_string(), "192.0.2.1:7");
    }

    #[test]
    fn ifaddr_helpers() {
        let a = IfAddr {
            addr: Ipv4Addr::new(10, 1, 0, 1),
            len: 24,
        };
        assert_eq!(a.network(), Ipv4Addr::new(10, 1, 0, 0));
        assert_eq!(a.broadcast(), Ipv4Addr::new(10, 1, 0, 255));
        assert_eq!(a.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert!(a.contains(Ipv4Addr::new(10, 1, 0, 77)));
        assert!(!a.contains(Ipv4Addr::new(10, 1, 1, 1)));
        let b = IfAddr {
            addr: Ipv4Addr::new(10, 1, 0, 9),
            len: 16,
        };
        assert!(a.overlaps(&b) && b.overlaps(&a));
        let c = IfAddr {
            addr: Ipv4Addr::new(10, 2, 0, 1),
            len: 24,
        };
        assert!(!a.overlaps(&c));
        assert_eq!(a.to_string(), "10.1.0.1/24");
    }

    #[test]
    fn derived_macs() {
        assert_eq!(default_mac(0), [2, 0x77, 0x65, 0, 0, 1]);
        assert_eq!(default_mac(255), [2, 0x77, 0x65, 0, 1, 0]);
        assert_eq!(format_mac(&default_mac(1)), "02:77:65:00:00:02");
    }
}
