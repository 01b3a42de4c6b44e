//! Scenarios: what weir runs and what the tester sends, from a TOML file
//! (`perf/scenarios/*.toml`).
//!
//! ```toml
//! name = "ipv4-2port"
//! description = "plain IPv4 routing between two ports"
//!
//! [tester]
//! ingress = "in"          # the interface the tester sends into
//! egress = "out"          # the interface the tester receives from
//! src = "10.1.0.2"        # flows: src_count × dst_count × port counts,
//! src_count = 16          # as the `gen` driver makes them
//! dst = "10.2.0.2"
//! dst_count = 16
//! src_port = 1024         # optional (default 1024), src_port_count = 1
//! dst_port = 5001         # optional (default 5001), dst_port_count = 1
//! ring = 4096             # packets per mem ring direction (default 4096,
//!                         # see DEFAULT_RING); ring pairs: their size
//! bidirectional = false   # optional: also send the mirrored flows into
//!                         # `egress` and sink them from `ingress` (below)
//! reverse_src = "10.2.0.2"    # optional, two-way only: the mirrored flows'
//! reverse_src_count = 16      # sources (default: the destinations above,
//! reverse_dst = "10.1.0.2"    # or the [table]'s range) and destinations
//! reverse_dst_count = 16      # (default: the sources above)
//!
//! [table]                 # optional: generated routes
//! prefixes = 10000        # routes (`weir bench --prefixes N` overrides)
//! first = "16.0.0.0"      # first prefix; the next ones follow
//! len = 24                # prefix length
//! via = "10.2.0.2"        # next hop of every route
//!
//! [dpdk_pcap]             # instead of [tester]: a DPDK scenario (--features
//! frames = 1024           # dpdk); weir's ports are net_pcap vdevs replaying
//! [[dpdk_pcap.port]]      # one generated capture each forever; two ports,
//! interface = "p0"        # ingress first; frame i, flow f = i % dst_count:
//! src_mac = "02:00:00:00:01:02"   # src_mac -> the interface's MAC,
//! src = "10.1.0.2"        # src + i % src_count, UDP src_port + f ->
//! src_count = 16          # dst + f * dst_step, UDP dst_port
//! dst = "172.16.0.2"
//! dst_count = 64
//! dst_step = 256          # (src_port 1024, dst_port 5001 by default)
//!
//! [dpdk_tester]           # with [tester]: the tester drives DPDK ethdev
//! to_dut = "0000:03:00.0" # ports (--features dpdk): its port cabled to
//! from_dut = "0000:03:00.1"   # weir's ingress, and the one cabled to
//! mbufs = 16383           # weir's egress; weir's two interfaces have
//! rx_desc = 1024          # `dpdk = { device = ... }` in [router]. Names
//! tx_desc = 1024          # starting with `net_ring_` on both ends of a
//!                         # cable are made as ring pairs (below)
//!
//! [router]                # a weir config (as in examples/), inline...
//! # ...or: config = "../../examples/foo.toml" (relative to this file)
//! ```
//!
//! The `ingress` and `egress` interfaces of the weir config get no driver
//! in the file: the harness gives them one per mode ([`Mode`]): `mem`
//! links to the tester, or inline `gen` ports. With `[table]` the tester's
//! destination range becomes every address of the generated prefixes
//! (walked in address order, so consecutive frames share a prefix).
//! Next hops need static `[[neighbor]]` entries: the tester does not
//! answer ARP.
//!
//! # Two-way traffic
//!
//! With `bidirectional = true` the tester also sends the *mirrored* flows
//! (sources and destinations swapped, addresses and UDP ports) into the
//! egress interface and sinks them from the ingress, on a stream id of
//! their own, at the same rate as the forward flows; a trial's rate is the
//! total of both. The router then needs routes and neighbours both ways:
//! see `perf/scenarios/ipv4-2port-bidir.toml`. Host i of the forward
//! flows' sources sends from MAC `02:00:00:00:01:02` plus i, host i of
//! the reverse flows' from `02:00:00:00:02:02` plus i
//! ([`crate::trial::FORWARD_SRC_MAC`], [`crate::trial::REVERSE_SRC_MAC`]),
//! which the neighbour entries may use.
//!
//! # A tester on DPDK ports
//!
//! With `[dpdk_tester]` the tester's two ports are DPDK ethdev ports
//! (`--features dpdk`, [`crate::dpdk_tester`]), in the same process and
//! EAL as weir, and the NDR/PDR/latency trials run over them unchanged:
//!
//! ```text
//!   tester to_dut ──cable──► weir ingress ──► weir egress ──cable──► tester from_dut
//! ```
//!
//! weir's ingress and egress interfaces keep the `dpdk = { device = ... }`
//! the file gives them. A tester port and the weir port it is cabled to
//! may both be named `net_ring_<x>`: the harness then joins them as a
//! ring pair (`pmd::drivers::dpdk::ring_pair`, `ring` packets per ring)
//! instead of a cable, which runs anywhere with `--no-huge`. Real NICs
//! (PCI addresses bound to vfio-pci) need hugepages (`--huge`).

use crate::trial::Flows;
use anyhow::{bail, Context, Result};
use ctrl::config::Config;
use pmd::drivers::gen::{IpRange, PortRange};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use toml::Value;

/// The tester's side of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TesterSpec {
    /// Interface the tester sends into.
    pub ingress: String,
    /// Interface the tester receives from.
    pub egress: String,
    /// First source address.
    pub src: Ipv4Addr,
    /// Source addresses.
    #[serde(default = "one")]
    pub src_count: u32,
    /// First destination address.
    pub dst: Ipv4Addr,
    /// Destination addresses.
    #[serde(default = "one")]
    pub dst_count: u32,
    /// First UDP source port.
    #[serde(default = "default_src_port")]
    pub src_port: u16,
    /// UDP source ports.
    #[serde(default = "one16")]
    pub src_port_count: u16,
    /// First UDP destination port.
    #[serde(default = "default_dst_port")]
    pub dst_port: u16,
    /// UDP destination ports.
    #[serde(default = "one16")]
    pub dst_port_count: u16,
    /// Size of each `mem` ring between tester and weir, packets.
    #[serde(default = "default_ring")]
    pub ring: usize,
    /// Also send the mirrored flows, egress to ingress.
    #[serde(default)]
    pub bidirectional: bool,
    /// Two-way: first source of the mirrored flows (default: the forward
    /// destinations).
    #[serde(default)]
    pub reverse_src: Option<Ipv4Addr>,
    /// Two-way: their number of sources.
    #[serde(default)]
    pub reverse_src_count: Option<u32>,
    /// Two-way: first destination of the mirrored flows (default: the
    /// forward sources).
    #[serde(default)]
    pub reverse_dst: Option<Ipv4Addr>,
    /// Two-way: their number of destinations.
    #[serde(default)]
    pub reverse_dst_count: Option<u32>,
}

impl TesterSpec {
    fn has_reverse_fields(&self) -> Option<&'static str> {
        [
            (self.reverse_src.is_some(), "reverse_src"),
            (self.reverse_src_count.is_some(), "reverse_src_count"),
            (self.reverse_dst.is_some(), "reverse_dst"),
            (self.reverse_dst_count.is_some(), "reverse_dst_count"),
        ]
        .into_iter()
        .find_map(|(set, name)| set.then_some(name))
    }
}

fn one() -> u32 {
    1
}
fn one16() -> u16 {
    1
}
fn default_src_port() -> u16 {
    1024
}
fn default_dst_port() -> u16 {
    5001
}
/// The default `mem` ring between tester and weir: 4096 packets, so that
/// one short preemption of the worker (at 10 Mpps, up to ~400 µs) is
/// absorbed by the ring instead of counting as loss. RFC 2544 lets the
/// tester buffer as long as the buffering is reported (`settings.ring`).
pub const DEFAULT_RING: usize = 4096;

fn default_ring() -> usize {
    DEFAULT_RING
}

/// Generated routes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Number of routes.
    pub prefixes: u32,
    /// First prefix.
    pub first: Ipv4Addr,
    /// Prefix length of every route (8..=32).
    pub len: u8,
    /// Next hop of every route.
    pub via: Ipv4Addr,
    /// VRF of the routes (default: "default").
    #[serde(default)]
    pub vrf: Option<String>,
}

/// A DPDK scenario's traffic (`[dpdk_pcap]`): weir's two ports are
/// `net_pcap` vdevs, each replaying a generated capture forever
/// (`infinite_rx=1`); what they transmit is counted and freed. The offered
/// rate is whatever the vdevs deliver, so the figure is the maximum rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpdkPcapSpec {
    /// Frames per capture (default 1024).
    #[serde(default = "default_frames")]
    pub frames: usize,
    /// Exactly two: the first is the tester's ingress, the second its
    /// egress; each receives its own capture.
    pub port: Vec<PcapPortSpec>,
}

fn default_frames() -> usize {
    1024
}

/// The capture one port replays. Frame `i` (flow `f = i % dst_count`)
/// goes from `src + i % src_count`, UDP port `src_port + f`, to `dst + f *
/// dst_step`, UDP port `dst_port`, Ethernet from `src_mac` to the
/// interface's MAC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcapPortSpec {
    /// The weir interface that receives this capture.
    pub interface: String,
    /// Source MAC of the frames.
    pub src_mac: String,
    /// First source address.
    pub src: Ipv4Addr,
    /// Source addresses.
    #[serde(default = "one")]
    pub src_count: u32,
    /// First destination address.
    pub dst: Ipv4Addr,
    /// Destination addresses (= flows).
    #[serde(default = "one")]
    pub dst_count: u32,
    /// Distance between consecutive destinations.
    #[serde(default = "one")]
    pub dst_step: u32,
    /// First UDP source port.
    #[serde(default = "default_src_port")]
    pub src_port: u16,
    /// UDP destination port.
    #[serde(default = "default_dst_port")]
    pub dst_port: u16,
}

/// A tester on DPDK ethdev ports (`[dpdk_tester]`, needs `--features
/// dpdk`): see the module doc.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpdkTesterSpec {
    /// The tester's port whose transmit reaches weir's ingress: a PCI
    /// address (a NIC bound to vfio-pci) or a vdev; `net_ring_<x>` makes a
    /// ring pair with weir's ingress device (also `net_ring_...`).
    pub to_dut: String,
    /// The tester's port receiving weir's egress, as `to_dut`.
    pub from_dut: String,
    /// mbufs in the tester's pool (default 16383).
    #[serde(default = "default_tester_mbufs")]
    pub mbufs: usize,
    /// RX descriptors per tester port: a power of two, 64..=16384
    /// (default 1024; ring pairs have none).
    #[serde(default = "default_desc")]
    pub rx_desc: u16,
    /// TX descriptors per tester port, as `rx_desc`.
    #[serde(default = "default_desc")]
    pub tx_desc: u16,
}

fn default_tester_mbufs() -> usize {
    16383
}
fn default_desc() -> u16 {
    1024
}

/// What starts with [`pmd`]'s ring-pair prefix (`net_ring_`): a ring pair
/// end the harness creates.
pub const RING_PAIR_PREFIX: &str = "net_ring_";

/// Whether `device` names a ring pair end (`net_ring_<x>`, no arguments).
pub fn is_ring_pair(device: &str) -> bool {
    device.len() > RING_PAIR_PREFIX.len() && device.starts_with(RING_PAIR_PREFIX)
}

/// Whether `device` is a PCI address rather than a vdev (`net_...`).
pub fn is_pci(device: &str) -> bool {
    !device.trim().starts_with("net_")
}

/// The four DPDK devices of a `[dpdk_tester]` scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpdkCabling {
    /// Tester port → weir ingress: (tester device, weir device).
    pub to_dut: (String, String),
    /// weir egress → tester port: (weir device, tester device).
    pub from_dut: (String, String),
}

impl DpdkCabling {
    /// The pairs of ends to join as ring pairs (tester end first).
    pub fn ring_pairs(&self) -> Vec<(&str, &str)> {
        let mut v = Vec::new();
        if is_ring_pair(&self.to_dut.0) {
            v.push((self.to_dut.0.as_str(), self.to_dut.1.as_str()));
        }
        if is_ring_pair(&self.from_dut.1) {
            v.push((self.from_dut.1.as_str(), self.from_dut.0.as_str()));
        }
        v
    }

    /// Whether any of the four is a PCI device (a real NIC).
    pub fn any_pci(&self) -> bool {
        [
            &self.to_dut.0,
            &self.to_dut.1,
            &self.from_dut.0,
            &self.from_dut.1,
        ]
        .iter()
        .any(|d| is_pci(d))
    }
}

/// The tester's flow fields: counts of at least one, ranges that do not
/// run past the last address or port, `reverse_*` only when two-way.
fn check_flows(t: &TesterSpec, dpdk_pcap: bool) -> Result<()> {
    let ip = |start: Ipv4Addr, count: u32| IpRange { start, count }.is_valid();
    let port = |start: u16, count: u16| {
        PortRange {
            start,
            count: count.into(),
        }
        .is_valid()
    };
    for (ok, field) in [
        (ip(t.src, t.src_count), "tester.src_count"),
        (ip(t.dst, t.dst_count), "tester.dst_count"),
        (port(t.src_port, t.src_port_count), "tester.src_port_count"),
        (port(t.dst_port, t.dst_port_count), "tester.dst_port_count"),
        (
            t.reverse_src_count != Some(0) && t.reverse_dst_count != Some(0),
            "tester.reverse_*_count",
        ),
    ] {
        if !ok {
            bail!("{field}: at least 1, and the range must not run past the last address or port");
        }
    }
    if !t.bidirectional {
        if let Some(f) = t.has_reverse_fields() {
            bail!("tester.{f} describes the mirrored flows: it needs tester.bidirectional = true");
        }
    } else if dpdk_pcap {
        bail!("tester.bidirectional: [dpdk_pcap] scenarios have no tester (their captures go both ways already)");
    }
    if !(32..=65536).contains(&t.ring) || !t.ring.is_power_of_two() {
        bail!(
            "tester.ring: {} packets; a power of two from 32 to 65536",
            t.ring
        );
    }
    Ok(())
}

fn check_dpdk_tester(d: &DpdkTesterSpec) -> Result<()> {
    for (dev, field) in [(&d.to_dut, "to_dut"), (&d.from_dut, "from_dut")] {
        if dev.trim().is_empty() || dev.contains(char::is_whitespace) {
            bail!("dpdk_tester.{field}: {dev:?} is not a DPDK device (a PCI address such as 0000:03:00.0, or a vdev)");
        }
    }
    if d.to_dut == d.from_dut {
        bail!(
            "dpdk_tester.to_dut and from_dut name the same port ({:?}): the tester needs two",
            d.to_dut
        );
    }
    for (n, field) in [(d.rx_desc, "rx_desc"), (d.tx_desc, "tx_desc")] {
        if !(64..=16384).contains(&n) || !n.is_power_of_two() {
            bail!("dpdk_tester.{field}: {n}; a power of two from 64 to 16384");
        }
    }
    if !(1023..=16_777_215).contains(&d.mbufs) {
        bail!("dpdk_tester.mbufs: {}; 1023..=16777215", d.mbufs);
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    #[serde(default)]
    description: String,
    tester: Option<TesterSpec>,
    dpdk_pcap: Option<DpdkPcapSpec>,
    dpdk_tester: Option<DpdkTesterSpec>,
    table: Option<TableSpec>,
    router: Option<Value>,
    config: Option<PathBuf>,
}

/// A loaded scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name (default: the file's stem).
    pub name: String,
    /// One line saying what it measures.
    pub description: String,
    /// Where it came from (`<embedded>` for the built-in default).
    pub path: PathBuf,
    /// What the tester sends.
    pub tester: TesterSpec,
    /// Generated routes, if any.
    pub table: Option<TableSpec>,
    /// A DPDK scenario: weir on two `net_pcap` vdevs (no tester thread).
    pub dpdk_pcap: Option<DpdkPcapSpec>,
    /// The tester on DPDK ports (and weir's ingress and egress too).
    pub dpdk_tester: Option<DpdkTesterSpec>,
    /// The weir config without drivers for the tester's interfaces.
    router: Value,
}

/// How the tester reaches weir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Both tester interfaces are external `mem` links of `ring` packets,
    /// for a tester on its own thread.
    Mem {
        /// Ring size.
        ring: usize,
    },
    /// Both are `gen` ports polled by the worker itself: the ingress
    /// generating as fast as it is polled, the egress a pure sink.
    Inline {
        /// Frame size (FCS included) or `None` for IMIX.
        frame_size: Option<usize>,
    },
    /// Both are `net_pcap` vdevs replaying these captures forever
    /// (ingress, egress), weir's EAL started with this file prefix, with
    /// or without hugepages (needs `--features dpdk` to run).
    DpdkPcap {
        /// The ingress's and the egress's capture.
        pcaps: [PathBuf; 2],
        /// `--file-prefix` of weir's EAL.
        file_prefix: String,
        /// Use hugepages (`no_huge = false`).
        huge: bool,
    },
    /// weir's ingress and egress keep the `dpdk` devices the scenario
    /// gives them (`[dpdk_tester]`); weir's EAL starts with this file
    /// prefix, with or without hugepages, and `--no-pci` unless a device
    /// is a PCI address.
    DpdkTester {
        /// `--file-prefix` of the EAL.
        file_prefix: String,
        /// Use hugepages (`no_huge = false`).
        huge: bool,
    },
}

/// The built-in default scenario (`perf/scenarios/ipv4-2port.toml`).
pub const DEFAULT: &str = include_str!("../scenarios/ipv4-2port.toml");

impl Scenario {
    /// Load a scenario file.
    pub fn load(path: &Path) -> Result<Scenario> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Scenario::parse(&text, path)
    }

    /// The built-in default scenario.
    pub fn default_scenario() -> Scenario {
        Scenario::parse(DEFAULT, Path::new("<embedded>/ipv4-2port.toml"))
            .expect("the embedded scenario parses")
    }

    /// Parse scenario text; `path` names it and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario> {
        let f: File = toml::from_str(text).with_context(|| format!("{}", path.display()))?;
        let router = match (f.router, f.config) {
            (Some(r), None) => r,
            (None, Some(c)) => {
                let c = path.parent().unwrap_or(Path::new(".")).join(c);
                let t = std::fs::read_to_string(&c)
                    .with_context(|| format!("reading {}", c.display()))?;
                toml::from_str(&t).with_context(|| format!("{}", c.display()))?
            }
            _ => bail!(
                "{}: give the weir config as [router] or config = FILE (one of them)",
                path.display()
            ),
        };
        if let Some(t) = &f.table {
            if !(8..=32).contains(&t.len) {
                bail!("{}: table.len must be 8..=32", path.display());
            }
        }
        let name = f.name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        });
        let file = path.display();
        if f.dpdk_tester.is_some() && f.dpdk_pcap.is_some() {
            bail!("{file}: [dpdk_tester] and [dpdk_pcap] exclude each other");
        }
        if f.dpdk_tester.is_some() && f.tester.is_none() {
            bail!("{file}: [dpdk_tester] needs [tester] (the interfaces and the flows)");
        }
        if let Some(t) = &f.tester {
            check_flows(t, f.dpdk_pcap.is_some()).with_context(|| format!("{file}"))?;
        }
        if let Some(d) = &f.dpdk_tester {
            check_dpdk_tester(d).with_context(|| format!("{file}"))?;
        }
        let tester = match (f.tester, &f.dpdk_pcap) {
            (_, Some(d)) if d.port.len() != 2 => {
                bail!(
                    "{}: [dpdk_pcap] needs exactly two [[dpdk_pcap.port]]",
                    path.display()
                )
            }
            (Some(t), _) => t,
            // The tester's fields from the two captures (ingress, egress).
            (None, Some(d)) => TesterSpec {
                ingress: d.port[0].interface.clone(),
                egress: d.port[1].interface.clone(),
                src: d.port[0].src,
                src_count: d.port[0].src_count,
                dst: d.port[0].dst,
                dst_count: 1,
                src_port: d.port[0].src_port,
                src_port_count: 1,
                dst_port: d.port[0].dst_port,
                dst_port_count: 1,
                ring: DEFAULT_RING,
                bidirectional: false,
                reverse_src: None,
                reverse_src_count: None,
                reverse_dst: None,
                reverse_dst_count: None,
            },
            (None, None) => bail!(
                "{}: a scenario needs [tester] or [dpdk_pcap]",
                path.display()
            ),
        };
        if let Some(d) = &f.dpdk_pcap {
            if d.frames == 0 || d.frames > 1 << 20 {
                bail!("{}: dpdk_pcap.frames must be 1..=1048576", path.display());
            }
            for p in &d.port {
                crate::pcapgen::parse_mac(&p.src_mac)
                    .with_context(|| format!("{}: dpdk_pcap.port.src_mac", path.display()))?;
                if p.src_count == 0 || p.dst_count == 0 || p.dst_step == 0 {
                    bail!(
                        "{}: dpdk_pcap.port counts and step must be >= 1",
                        path.display()
                    );
                }
            }
            if d.port[0].interface != tester.ingress || d.port[1].interface != tester.egress {
                bail!(
                    "{}: the [[dpdk_pcap.port]] interfaces must be tester.ingress and tester.egress, in order",
                    path.display()
                );
            }
        }
        let s = Scenario {
            name,
            description: f.description,
            path: path.to_path_buf(),
            tester,
            table: f.table,
            dpdk_pcap: f.dpdk_pcap,
            dpdk_tester: f.dpdk_tester,
            router,
        };
        // Validate once, in the tester's mode.
        if s.dpdk_tester.is_some() {
            let c = s.dpdk_cabling()?;
            for (tester, weir) in c.ring_pairs() {
                if tester == weir {
                    bail!("{file}: the ring pair {tester} needs two different names (tester end, weir end)");
                }
            }
            s.config(&Mode::DpdkTester {
                file_prefix: "weir-bench".into(),
                huge: false,
            })?;
        } else {
            s.config(&Mode::Mem {
                ring: s.tester.ring,
            })?;
        }
        if s.tester.bidirectional {
            let (src, dst) = s.reverse_range();
            for (r, field) in [(src, "reverse_src"), (dst, "reverse_dst")] {
                if !r.is_valid() {
                    bail!(
                        "{file}: tester.{field}: the mirrored flows' range {} + {} runs past 255.255.255.255",
                        r.start,
                        r.count
                    );
                }
            }
        }
        Ok(s)
    }

    /// The tester and weir devices of a `[dpdk_tester]` scenario: the
    /// tester's ports from `[dpdk_tester]`, weir's from the `dpdk` drivers
    /// of its ingress and egress interfaces; ring pair ends on both sides
    /// of a cable or on neither.
    pub fn dpdk_cabling(&self) -> Result<DpdkCabling> {
        let file = self.path.display();
        let d = self
            .dpdk_tester
            .as_ref()
            .with_context(|| format!("{file}: no [dpdk_tester]"))?;
        let weir = |itf: &str, field: &str| -> Result<String> {
            self.router
                .get("interface")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|i| i.get("name").and_then(Value::as_str) == Some(itf))
                .and_then(|i| i.get("dpdk"))
                .and_then(|d| d.get("device"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .with_context(|| {
                    format!(
                        "{file}: with [dpdk_tester], weir's interface {itf:?} (tester.{field}) needs \
                         dpdk = {{ device = \"...\" }} (the port cabled to the tester)"
                    )
                })
        };
        let c = DpdkCabling {
            to_dut: (d.to_dut.clone(), weir(&self.tester.ingress, "ingress")?),
            from_dut: (weir(&self.tester.egress, "egress")?, d.from_dut.clone()),
        };
        for ((a, b), (fa, fb)) in [
            (
                &c.to_dut,
                ("dpdk_tester.to_dut", "the ingress interface's dpdk.device"),
            ),
            (
                &c.from_dut,
                ("the egress interface's dpdk.device", "dpdk_tester.from_dut"),
            ),
        ] {
            if is_ring_pair(a) != is_ring_pair(b) {
                bail!(
                    "{file}: {fa} ({a:?}) and {fb} ({b:?}) are cabled together: both are ring \
                     pair ends ({RING_PAIR_PREFIX}<name>) or neither is"
                );
            }
            for (dev, field) in [(a, fa), (b, fb)] {
                if is_ring_pair(dev) && dev.contains(',') {
                    bail!("{file}: {field} ({dev:?}): a ring pair end takes no arguments");
                }
            }
        }
        Ok(c)
    }

    /// The mirrored flows' sources and destinations (two-way): the
    /// `reverse_*` fields, else the forward destinations (the table's
    /// range with `[table]`) and sources.
    pub fn reverse_range(&self) -> (IpRange, IpRange) {
        let t = &self.tester;
        let (dst, dst_count) = self.dst_range();
        (
            IpRange {
                start: t.reverse_src.unwrap_or(dst),
                count: t.reverse_src_count.unwrap_or(dst_count),
            },
            IpRange {
                start: t.reverse_dst.unwrap_or(t.src),
                count: t.reverse_dst_count.unwrap_or(t.src_count),
            },
        )
    }

    /// The tester's flows for weir's `cfg`: forward (into the ingress's
    /// MAC), and with `bidirectional` the mirrored ones (into the
    /// egress's MAC).
    pub fn flows(&self, cfg: &Config) -> Result<(Flows, Option<Flows>)> {
        let mac = |name: &str| {
            cfg.interfaces
                .iter()
                .find(|i| i.name == name)
                .map(|i| i.mac)
                .with_context(|| format!("the weir config has no interface {name}"))
        };
        let (dst, dst_count) = self.dst_range();
        let t = &self.tester;
        let fwd = Flows {
            src_mac: crate::trial::FORWARD_SRC_MAC,
            dst_mac: mac(&t.ingress)?,
            src: IpRange {
                start: t.src,
                count: t.src_count,
            },
            dst: IpRange {
                start: dst,
                count: dst_count,
            },
            src_port: PortRange {
                start: t.src_port,
                count: t.src_port_count.into(),
            },
            dst_port: PortRange {
                start: t.dst_port,
                count: t.dst_port_count.into(),
            },
        };
        let rev = if t.bidirectional {
            let mut r = fwd.mirrored(mac(&t.egress)?);
            (r.src, r.dst) = self.reverse_range();
            Some(r)
        } else {
            None
        };
        Ok((fwd, rev))
    }

    /// Override the number of generated routes (`--prefixes`).
    pub fn set_prefixes(&mut self, n: u32) -> Result<()> {
        match &mut self.table {
            Some(t) => t.prefixes = n,
            None => bail!("scenario {} has no [table] to size", self.name),
        }
        Ok(())
    }

    /// The tester's destination range: the configured one, or every
    /// address of the generated table.
    pub fn dst_range(&self) -> (Ipv4Addr, u32) {
        match &self.table {
            Some(t) if t.prefixes > 0 => {
                let per = 1u64 << (32 - t.len);
                let n = (u64::from(t.prefixes) * per).min(u64::from(u32::MAX) - 1);
                (t.first, n as u32)
            }
            _ => (self.tester.dst, self.tester.dst_count),
        }
    }

    /// The generated routes as `(prefix, len)`, in order.
    pub fn routes(&self) -> Vec<(Ipv4Addr, u8)> {
        let Some(t) = &self.table else {
            return Vec::new();
        };
        let step = 1u64 << (32 - t.len);
        (0..u64::from(t.prefixes))
            .map_while(|i| {
                let a = u64::from(u32::from(t.first)) + i * step;
                (a <= u64::from(u32::MAX)).then(|| (Ipv4Addr::from(a as u32), t.len))
            })
            .collect()
    }

    /// The weir config for `mode`, validated.
    pub fn config(&self, mode: &Mode) -> Result<Config> {
        let text = self.config_text(mode)?;
        Config::from_str(&text, &self.path).map_err(|e| {
            anyhow::anyhow!("{}: the weir config is invalid:\n{e}", self.path.display())
        })
    }

    /// The weir config for `mode` as TOML text.
    pub fn config_text(&self, mode: &Mode) -> Result<String> {
        let mut root = self.router.clone();
        let tbl = root
            .as_table_mut()
            .context("[router] must be a table (a weir config)")?;
        let t = &self.tester;
        let (dst, dst_count) = self.dst_range();
        let mut found = [false, false];
        for itf in tbl
            .get_mut("interface")
            .and_then(Value::as_array_mut)
            .context("the weir config has no [[interface]]")?
        {
            let Some(it) = itf.as_table_mut() else {
                continue;
            };
            let name = it.get("name").and_then(Value::as_str).unwrap_or_default();
            let which = if name == t.ingress {
                0
            } else if name == t.egress {
                1
            } else {
                continue;
            };
            found[which] = true;
            let driver = match mode {
                // The devices cabled to the tester stay as given.
                Mode::DpdkTester { .. } => continue,
                Mode::Mem { ring } => {
                    let mut m = toml::Table::new();
                    m.insert("link".into(), Value::from(format!("bench-{name}")));
                    m.insert("ring".into(), Value::from(*ring as i64));
                    ("mem", m)
                }
                Mode::Inline { frame_size } => {
                    let mut g = toml::Table::new();
                    let fs = match frame_size {
                        Some(s) => Value::from(*s as i64),
                        None => Value::from("imix"),
                    };
                    if which == 0 {
                        g.insert("src".into(), Value::from(t.src.to_string()));
                        g.insert("src_count".into(), Value::from(i64::from(t.src_count)));
                        g.insert("dst".into(), Value::from(dst.to_string()));
                        g.insert("dst_count".into(), Value::from(i64::from(dst_count)));
                        g.insert("src_port".into(), Value::from(i64::from(t.src_port)));
                        g.insert(
                            "src_port_count".into(),
                            Value::from(i64::from(t.src_port_count)),
                        );
                        g.insert("dst_port".into(), Value::from(i64::from(t.dst_port)));
                        g.insert(
                            "dst_port_count".into(),
                            Value::from(i64::from(t.dst_port_count)),
                        );
                    } else if t.bidirectional {
                        // Two-way: the egress generates the mirrored
                        // flows too.
                        let (rs, rd) = self.reverse_range();
                        g.insert("src".into(), Value::from(rs.start.to_string()));
                        g.insert("src_count".into(), Value::from(i64::from(rs.count)));
                        g.insert("dst".into(), Value::from(rd.start.to_string()));
                        g.insert("dst_count".into(), Value::from(i64::from(rd.count)));
                        g.insert("src_port".into(), Value::from(i64::from(t.dst_port)));
                        g.insert(
                            "src_port_count".into(),
                            Value::from(i64::from(t.dst_port_count)),
                        );
                        g.insert("dst_port".into(), Value::from(i64::from(t.src_port)));
                        g.insert(
                            "dst_port_count".into(),
                            Value::from(i64::from(t.src_port_count)),
                        );
                    } else {
                        // A sink (weir's config wants count >= 1: one
                        // frame back to the ingress's hosts).
                        g.insert("dst".into(), Value::from(t.src.to_string()));
                        g.insert("count".into(), Value::from(1));
                    }
                    g.insert("frame_size".into(), fs);
                    g.insert("arp_reply".into(), Value::from(false));
                    ("gen", g)
                }
                Mode::DpdkPcap { pcaps, .. } => {
                    let mut d = toml::Table::new();
                    d.insert(
                        "device".into(),
                        Value::from(format!(
                            "net_pcap{which},rx_pcap={},infinite_rx=1",
                            pcaps[which].display()
                        )),
                    );
                    ("dpdk", d)
                }
            };
            for k in ["gen", "mem", "pcap", "af_packet", "dpdk"] {
                it.remove(k);
            }
            it.insert(driver.0.into(), Value::Table(driver.1));
        }
        if let Some(i) = found.iter().position(|f| !f) {
            bail!(
                "the weir config has no interface named {:?} (tester.{})",
                [&t.ingress, &t.egress][i],
                ["ingress", "egress"][i]
            );
        }
        let eal = match mode {
            Mode::DpdkPcap {
                file_prefix, huge, ..
            } => Some((file_prefix, *huge, true)),
            Mode::DpdkTester { file_prefix, huge } => Some((
                file_prefix,
                *huge,
                // Real NICs are probed on the PCI bus.
                !self.dpdk_cabling()?.any_pci(),
            )),
            _ => None,
        };
        if let Some((file_prefix, huge, no_pci)) = eal {
            let d = tbl
                .entry("dpdk")
                .or_insert_with(|| Value::Table(toml::Table::new()))
                .as_table_mut()
                .context("[dpdk] must be a table")?;
            d.insert("file_prefix".into(), Value::from(file_prefix.clone()));
            d.insert("no_huge".into(), Value::from(!huge));
            let args = d
                .entry("args")
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .context("dpdk.args must be an array")?;
            if no_pci && !args.iter().any(|a| a.as_str() == Some("--no-pci")) {
                args.push(Value::from("--no-pci"));
            }
        }
        if let Some(tab) = &self.table {
            let routes = tbl
                .entry("route")
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .context("route must be an array of tables")?;
            for (p, len) in self.routes() {
                let mut r = toml::Table::new();
                if let Some(v) = &tab.vrf {
                    r.insert("vrf".into(), Value::from(v.clone()));
                }
                r.insert("prefix".into(), Value::from(format!("{p}/{len}")));
                r.insert("via".into(), Value::from(tab.via.to_string()));
                routes.push(Value::Table(r));
            }
        }
        Ok(toml::to_string(&root)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctrl::config::Driver;

    fn scenarios_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
    }

    #[test]
    fn the_shipped_scenarios_load_in_both_modes() {
        for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "toml") {
                let s = Scenario::load(&p).unwrap();
                let c = s.config(&Mode::Mem { ring: 256 }).unwrap();
                let i = c
                    .interfaces
                    .iter()
                    .find(|i| i.name == s.tester.ingress)
                    .unwrap();
                assert!(matches!(&i.driver, Driver::Mem(m) if m.ring == 256 && m.peer.is_none()));
                let c = s
                    .config(&Mode::Inline {
                        frame_size: Some(128),
                    })
                    .unwrap();
                assert!(c
                    .interfaces
                    .iter()
                    .any(|i| matches!(i.driver, Driver::Gen(_))));
            }
        }
    }

    #[test]
    fn a_table_generates_routes_and_spans_the_destinations() {
        let mut s = Scenario::load(&scenarios_dir().join("ipv4-table.toml")).unwrap();
        s.set_prefixes(1000).unwrap();
        let r = s.routes();
        assert_eq!(r.len(), 1000);
        assert_eq!(r[1].0, Ipv4Addr::new(16, 0, 1, 0));
        let c = s.config(&Mode::Mem { ring: 1024 }).unwrap();
        assert!(c.routes.len() >= 1000);
        assert_eq!(s.dst_range(), (Ipv4Addr::new(16, 0, 0, 0), 256_000));
        assert!(Scenario::default_scenario().set_prefixes(5).is_err());
    }

    #[test]
    fn a_missing_interface_is_an_error() {
        let text = DEFAULT.replace("egress = \"out\"", "egress = \"nope\"");
        let e = Scenario::parse(&text, Path::new("x.toml")).unwrap_err();
        assert!(format!("{e:#}").contains("nope"), "{e:#}");
    }

    fn load(name: &str) -> Scenario {
        Scenario::load(&scenarios_dir().join(name)).unwrap()
    }

    fn err(text: &str) -> String {
        let e = Scenario::parse(text, Path::new("bad.toml")).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("bad.toml"), "the error names the file: {e}");
        e
    }

    #[test]
    fn two_way_flows_are_mirrored_and_one_way_has_none() {
        let s = load("ipv4-2port-bidir.toml");
        assert!(s.tester.bidirectional);
        let cfg = s.config(&Mode::Mem { ring: 1024 }).unwrap();
        let (f, r) = s.flows(&cfg).unwrap();
        let r = r.expect("two-way");
        assert_eq!(f.dst_mac, [2, 0, 0, 0, 0, 1], "into in");
        assert_eq!(r.dst_mac, [2, 0, 0, 0, 0, 2], "into out");
        assert_eq!((r.src, r.dst), (f.dst, f.src));
        assert_eq!((r.src_port, r.dst_port), (f.dst_port, f.src_port));
        assert_eq!(r.src.start, Ipv4Addr::new(10, 2, 0, 2));
        // Every host of either side has a static neighbour with the MAC
        // the tester's frames come from.
        for (flows, itf) in [(&f, "in"), (&r, "out")] {
            let i = cfg.interfaces.iter().position(|i| i.name == itf).unwrap();
            for k in 0..flows.src.count {
                let ip = Ipv4Addr::from(u32::from(flows.src.start) + k);
                let n = cfg
                    .neighbors
                    .iter()
                    .find(|n| n.address == ip && n.interface == i)
                    .unwrap_or_else(|| panic!("no neighbour {ip} on {itf}"));
                assert_eq!(n.mac, pmd::drivers::gen::host_mac(flows.src_mac, k));
            }
        }
        // Inline, the egress generates the mirrored flows.
        let c = s
            .config(&Mode::Inline {
                frame_size: Some(64),
            })
            .unwrap();
        let out = c.interfaces.iter().find(|i| i.name == "out").unwrap();
        match &out.driver {
            Driver::Gen(g) => {
                assert_eq!(
                    (g.src, g.dst),
                    (Ipv4Addr::new(10, 2, 0, 2), Ipv4Addr::new(10, 1, 0, 2))
                );
                assert_eq!(g.count, None);
            }
            d => panic!("{d:?}"),
        }
        let one = Scenario::default_scenario();
        let cfg = one.config(&Mode::Mem { ring: 1024 }).unwrap();
        assert!(one.flows(&cfg).unwrap().1.is_none());
    }

    #[test]
    fn reverse_overrides_and_their_errors() {
        let text = DEFAULT.replace(
            "ring = 4096",
            "ring = 4096\nbidirectional = true\nreverse_dst = \"10.1.0.9\"\nreverse_dst_count = 2",
        );
        let s = Scenario::parse(&text, Path::new("x.toml")).unwrap();
        let (src, dst) = s.reverse_range();
        assert_eq!((src.start, src.count), (Ipv4Addr::new(10, 2, 0, 2), 16));
        assert_eq!((dst.start, dst.count), (Ipv4Addr::new(10, 1, 0, 9), 2));
        let e = err(&DEFAULT.replace("ring = 4096", "ring = 4096\nreverse_src = \"10.2.0.2\""));
        assert!(
            e.contains("tester.reverse_src") && e.contains("bidirectional"),
            "{e}"
        );
        let e = err(&DEFAULT.replace(
            "ring = 4096",
            "ring = 4096\nbidirectional = true\nreverse_src_count = 0",
        ));
        assert!(e.contains("reverse_"), "{e}");
        let e = err(&DEFAULT.replace("src_count = 16", "src_count = 0"));
        assert!(e.contains("tester.src_count"), "{e}");
        let e = err(&DEFAULT.replace("ring = 4096", "ring = 1000"));
        assert!(e.contains("tester.ring"), "{e}");
        let e = err(&DEFAULT.replace("ring = 4096", "bidirectional = \"yes\""));
        assert!(e.contains("bidirectional"), "{e}");
    }

    #[test]
    fn dpdk_tester_scenarios_cable_ring_pairs_and_nics() {
        let s = load("ipv4-dpdk-ring.toml");
        let c = s.dpdk_cabling().unwrap();
        assert_eq!(
            c.ring_pairs(),
            vec![
                ("net_ring_tester0", "net_ring_weir0"),
                ("net_ring_tester1", "net_ring_weir1")
            ]
        );
        assert!(!c.any_pci());
        let mode = Mode::DpdkTester {
            file_prefix: "t1".into(),
            huge: false,
        };
        let cfg = s.config(&mode).unwrap();
        for (itf, dev) in [("p0", "net_ring_weir0"), ("p1", "net_ring_weir1")] {
            let i = cfg.interfaces.iter().find(|i| i.name == itf).unwrap();
            assert!(
                matches!(&i.driver, Driver::Dpdk(d) if d.device == dev),
                "{i:?}"
            );
        }
        let d = cfg.dpdk.as_ref().unwrap();
        assert!(d.no_huge && d.file_prefix.as_deref() == Some("t1"));
        assert!(d.args.contains(&"--no-pci".to_string()));

        let s = load("ipv4-dpdk-nic.toml");
        let c = s.dpdk_cabling().unwrap();
        assert!(c.ring_pairs().is_empty() && c.any_pci());
        assert_eq!(c.to_dut, ("0000:02:00.0".into(), "0000:01:00.0".into()));
        let cfg = s
            .config(&Mode::DpdkTester {
                file_prefix: "t2".into(),
                huge: true,
            })
            .unwrap();
        let d = cfg.dpdk.as_ref().unwrap();
        assert!(!d.no_huge && !d.args.contains(&"--no-pci".to_string()));
    }

    #[test]
    fn bad_dpdk_tester_sections_name_the_field() {
        let ring = std::fs::read_to_string(scenarios_dir().join("ipv4-dpdk-ring.toml")).unwrap();
        let e = err(&ring.replace("to_dut = \"net_ring_tester0\"", "to_dut = \"0000:02:00.0\""));
        assert!(
            e.contains("dpdk_tester.to_dut") && e.contains("ring pair"),
            "{e}"
        );
        let e = err(&ring.replace("\"net_ring_tester1\"", "\"net_ring_tester0\""));
        assert!(e.contains("same port"), "{e}");
        let e = err(&ring.replace("mbufs = 16383", "mbufs = 16383\nrx_desc = 100"));
        assert!(e.contains("dpdk_tester.rx_desc"), "{e}");
        let e = err(&ring.replace("mbufs = 16383", "mbufs = 10"));
        assert!(e.contains("dpdk_tester.mbufs"), "{e}");
        let e = err(&ring.replace("mbufs = 16383", "mbuf = 1"));
        assert!(e.contains("mbuf"), "unknown field: {e}");
        let e = err(&ring.replace("dpdk = { device = \"net_ring_weir1\" }", ""));
        assert!(e.contains("\"p1\"") && e.contains("tester.egress"), "{e}");
        let e = err(&ring.replace("\"net_ring_weir0\"", "\"net_ring_tester0\""));
        assert!(e.contains("two different names"), "{e}");
        let tester_at = ring.find("[tester]").unwrap();
        let dpdk_at = ring.find("[dpdk_tester]").unwrap();
        let e = err(&(ring[..tester_at].to_string() + &ring[dpdk_at..]));
        assert!(e.contains("[dpdk_tester] needs [tester]"), "{e}");
    }
}
