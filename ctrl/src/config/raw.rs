//! The raw layer: TOML text → a tree of spanned nodes → raw structs that
//! keep the byte span of every field.
//!
//! Only TOML syntax, value types and key names are checked here; what the
//! values mean is checked in `resolve.rs`. Unlike a plain
//! `#[derive(Deserialize)]` with `deny_unknown_fields`, which stops at the
//! first mismatch, this layer reads the whole document into a spanned tree
//! first and then walks it, so every wrong type and unknown key in the file
//! is reported at once.
//!
//! The tree comes from `toml`'s own deserializer through the span protocol
//! that `toml::Spanned` uses; unlike `Spanned`, our visitors also accept a
//! value that arrives without a span (tables made implicitly by dotted keys
//! such as `gen.dst = ...` have none) and give it the span of its key.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::error::RawDiag;

// ---------------------------------------------------------------------------
// The spanned tree
// ---------------------------------------------------------------------------

// The names `toml` (through `serde_spanned`) recognises to hand out spans,
// and the one it uses for date-times.
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];
const DATETIME_FIELD: &str = "$__toml_private_datetime";

/// A TOML value with the byte span of its text.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Range<usize>,
}

/// A key with the byte span of its text.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub name: String,
    pub span: Range<usize>,
}

/// What a [`Node`] holds.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Str(String),
    Int(i64),
    Float,
    Bool(bool),
    Datetime,
    Array(Vec<Node>),
    Table(Vec<(Key, Node)>),
}

impl Kind {
    /// "a string", "an integer", ... for messages.
    fn describe(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime => "a date-time",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

// While deserializing, spans may be missing; `fill` supplies them.
struct PKey {
    name: String,
    span: Option<Range<usize>>,
}

struct PNode {
    kind: PKind,
    span: Option<Range<usize>>,
}

enum PKind {
    Str(String),
    Int(i64),
    Float,
    Bool(bool),
    Datetime,
    Array(Vec<PNode>),
    Table(Vec<(PKey, PNode)>),
}

impl<'de> Deserialize<'de> for PKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PKey, E> {
                Ok(PKey {
                    name: v.to_owned(),
                    span: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PKey, A::Error> {
                let (start, end) = span_fields(&mut map)?;
                expect_key(&mut map, SPANNED_VALUE)?;
                let name: String = map.next_value()?;
                Ok(PKey {
                    name,
                    span: Some(start..end),
                })
            }
        }
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, V)
    }
}

/// Read the start and end entries of the span protocol.
fn span_fields<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(usize, usize), A::Error> {
    expect_key(map, SPANNED_START)?;
    let start: usize = map.next_value()?;
    expect_key(map, SPANNED_END)?;
    let end: usize = map.next_value()?;
    Ok((start, end))
}

fn expect_key<'de, A: MapAccess<'de>>(map: &mut A, want: &'static str) -> Result<(), A::Error> {
    match map.next_key::<String>()? {
        Some(k) if k == want => Ok(()),
        _ => Err(de::Error::custom(format_args!("internal: expected {want}"))),
    }
}

impl<'de> Deserialize<'de> for PNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, NodeVisitor { spanned: true })
    }
}

/// Deserializes a value's kind without asking for a span (the inner value
/// of the span protocol, and the document root).
struct PlainKind(PKind);

impl<'de> Deserialize<'de> for PlainKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor { spanned: false })
            .map(|n| PlainKind(n.kind))
    }
}

struct NodeVisitor {
    /// Whether a map may be the span protocol rather than a table.
    spanned: bool,
}

impl NodeVisitor {
    fn plain<E>(kind: PKind) -> Result<PNode, E> {
        Ok(PNode { kind, span: None })
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = PNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<PNode, E> {
        Self::plain(PKind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PNode, E> {
        Self::plain(PKind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PNode, E> {
        match i64::try_from(v) {
            Ok(v) => Self::plain(PKind::Int(v)),
            Err(_) => Self::plain(PKind::Float),
        }
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<PNode, E> {
        Self::plain(PKind::Float)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PNode, E> {
        Self::plain(PKind::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<PNode, E> {
        Self::plain(PKind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<PNode>()? {
            items.push(item);
        }
        Self::plain(PKind::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PNode, A::Error> {
        let Some(first) = map.next_key::<PKey>()? else {
            return Self::plain(PKind::Table(Vec::new()));
        };
        if self.spanned && first.name == SPANNED_START {
            let start: usize = map.next_value()?;
            expect_key(&mut map, SPANNED_END)?;
            let end: usize = map.next_value()?;
            expect_key(&mut map, SPANNED_VALUE)?;
            let PlainKind(kind) = map.next_value()?;
            return Ok(PNode {
                kind,
                span: Some(start..end),
            });
        }
        if first.name == DATETIME_FIELD {
            map.next_value::<de::IgnoredAny>()?;
            return Self::plain(PKind::Datetime);
        }
        let mut entries = vec![(first, map.next_value::<PNode>()?)];
        while let Some(k) = map.next_key::<PKey>()? {
            let v = map.next_value::<PNode>()?;
            entries.push((k, v));
        }
        Self::plain(PKind::Table(entries))
    }
}

/// Give every node a span: its own, else its key's, else its parent's.
fn fill(p: PNode, fallback: &Range<usize>) -> Node {
    let span = p.span.unwrap_or_else(|| fallback.clone());
    let kind = match p.kind {
        PKind::Str(s) => Kind::Str(s),
        PKind::Int(i) => Kind::Int(i),
        PKind::Float => Kind::Float,
        PKind::Bool(b) => Kind::Bool(b),
        PKind::Datetime => Kind::Datetime,
        PKind::Array(items) => Kind::Array(items.into_iter().map(|n| fill(n, &span)).collect()),
        PKind::Table(entries) => Kind::Table(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let kspan = k.span.unwrap_or_else(|| span.clone());
                    let v = fill(v, &kspan);
                    (
                        Key {
                            name: k.name,
                            span: kspan,
                        },
                        v,
                    )
                })
                .collect(),
        ),
    };
    Node { kind, span }
}

/// Parse TOML text into a spanned tree (the root table), or a syntax error.
pub(crate) fn parse_tree(text: &str) -> Result<Node, RawDiag> {
    match toml::from_str::<PlainKind>(text) {
        Ok(PlainKind(kind)) => Ok(fill(PNode { kind, span: None }, &(0..0))),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            // toml's messages may span lines; keep one line per diagnostic.
            let message = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            Err(RawDiag {
                span,
                field: String::new(),
                message: format!("TOML syntax error: {message}"),
            })
        }
    }
}

// ---------------------------------------------------------------------------
// Raw structs
// ---------------------------------------------------------------------------

/// A field as read: absent, present but of the wrong type (already
/// reported), or present with its span.
#[derive(Debug, Clone)]
pub(crate) enum Field<T> {
    Absent,
    Invalid,
    Present(Spanned<T>),
}

impl<T> Field<T> {
    pub fn get(&self) -> Option<&Spanned<T>> {
        match self {
            Field::Present(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
}

impl Field<bool> {
    /// The value if present, else `default`.
    pub fn or(&self, default: bool) -> bool {
        match self {
            Field::Present(b) => *b.get_ref(),
            _ => default,
        }
    }
}

/// A value that may be an integer or a string (`rate`, `frame_size`,
/// `repeat`).
#[derive(Debug, Clone)]
pub(crate) enum IntOrStr {
    Int(i64),
    Str(String),
}

/// The whole file.
#[derive(Debug, Default)]
pub(crate) struct RawConfig {
    pub workers: Option<RawWorkers>,
    pub dpdk: Option<RawDpdk>,
    pub vrfs: Vec<RawVrf>,
    pub interfaces: Vec<RawInterface>,
    pub tunnels: Vec<RawTunnel>,
    pub routes: Vec<RawRoute>,
    pub neighbors: Vec<RawNeighbor>,
    pub policies: Vec<RawPolicy>,
    pub control: Option<RawControl>,
}

/// `[workers]`.
#[derive(Debug)]
pub(crate) struct RawWorkers {
    pub cores: Field<Vec<Spanned<i64>>>,
    pub control_core: Field<i64>,
    pub pool_size: Field<i64>,
}

/// `[dpdk]`.
#[derive(Debug)]
pub(crate) struct RawDpdk {
    pub args: Field<Vec<Spanned<String>>>,
    pub no_huge: Field<bool>,
    pub memory_mb: Field<i64>,
    pub file_prefix: Field<String>,
    pub mbufs: Field<i64>,
    pub mbuf_cache: Field<i64>,
}

/// `[control]`.
#[derive(Debug)]
pub(crate) struct RawControl {
    pub listen: Field<String>,
    pub unix: Field<String>,
    pub metrics: Field<String>,
    pub tls: Field<RawControlTls>,
    pub token_file: Field<String>,
    pub token: Field<String>,
}

/// `tls = { ... }` of `[control]`.
#[derive(Debug)]
pub(crate) struct RawControlTls {
    pub cert: Field<String>,
    pub key: Field<String>,
    pub client_ca: Field<String>,
}

/// One `[[vrf]]`.
#[derive(Debug)]
pub(crate) struct RawVrf {
    /// Field path of the element, e.g. `vrf[1] (MAIN)`.
    pub path: String,
    pub span: Range<usize>,
    pub name: Field<String>,
    pub table: Field<i64>,
    pub rd: Field<String>,
    /// `import = [...]`, each element with its path, e.g.
    /// `vrf[1] (MAIN).import[0] (BGP)`.
    pub imports: Vec<RawImport>,
}

/// One element of a VRF's `import`.
#[derive(Debug)]
pub(crate) struct RawImport {
    pub path: String,
    pub span: Range<usize>,
    pub vrf: Field<String>,
    pub prefixes: Field<Vec<Spanned<String>>>,
}

/// One `[[interface]]`.
#[derive(Debug)]
pub(crate) struct RawInterface {
    pub path: String,
    pub span: Range<usize>,
    pub name: Field<String>,
    pub vrf: Field<String>,
    pub mac: Field<String>,
    pub addresses: Field<Vec<Spanned<String>>>,
    pub mtu: Field<i64>,
    /// Every driver key present, in file order.
    pub drivers: Vec<DriverEntry>,
}

/// A driver key of an interface.
#[derive(Debug)]
pub(crate) struct DriverEntry {
    /// `gen`, `mem`, `pcap`, `af_packet` or `dpdk`.
    pub kind: &'static str,
    /// The key's span.
    pub span: Range<usize>,
    /// `None` when the value was not a table (already reported).
    pub driver: Option<RawDriver>,
}

/// The driver table of an interface.
#[derive(Debug)]
pub(crate) enum RawDriver {
    Gen(Box<RawGen>),
    Mem(RawMem),
    Pcap(RawPcap),
    AfPacket(RawAfPacket),
    Dpdk(RawDpdkPort),
}

impl RawDriver {
    pub const KEYS: [&'static str; 5] = ["gen", "mem", "pcap", "af_packet", "dpdk"];
}

/// `gen = { ... }`.
#[derive(Debug)]
pub(crate) struct RawGen {
    pub span: Range<usize>,
    pub src: Field<String>,
    pub src_count: Field<i64>,
    pub dst: Field<String>,
    pub dst_count: Field<i64>,
    pub src_port: Field<i64>,
    pub src_port_count: Field<i64>,
    pub dst_port: Field<i64>,
    pub dst_port_count: Field<i64>,
    pub frame_size: Field<IntOrStr>,
    pub rate: Field<IntOrStr>,
    pub vlan: Field<i64>,
    pub count: Field<i64>,
    pub arp_reply: Field<bool>,
}

/// `mem = { ... }`.
#[derive(Debug)]
pub(crate) struct RawMem {
    pub span: Range<usize>,
    pub link: Field<String>,
    pub ring: Field<i64>,
}

/// `pcap = { ... }`.
#[derive(Debug)]
pub(crate) struct RawPcap {
    pub span: Range<usize>,
    pub rx: Field<String>,
    pub tx: Field<String>,
    pub repeat: Field<IntOrStr>,
    pub deterministic: Field<bool>,
}

/// `af_packet = { ... }`.
#[derive(Debug)]
pub(crate) struct RawAfPacket {
    pub span: Range<usize>,
    pub iface: Field<String>,
    pub queues: Field<i64>,
    pub fanout_group: Field<i64>,
    pub promisc: Field<bool>,
}

/// `dpdk = { ... }`.
#[derive(Debug)]
pub(crate) struct RawDpdkPort {
    pub span: Range<usize>,
    pub device: Field<String>,
    pub rx_desc: Field<i64>,
    pub tx_desc: Field<i64>,
    pub promisc: Field<bool>,
}

/// One `[[tunnel]]`.
#[derive(Debug)]
pub(crate) struct RawTunnel {
    pub path: String,
    pub span: Range<usize>,
    pub name: Field<String>,
    pub vrf: Field<String>,
    pub underlay_vrf: Field<String>,
    pub source: Field<String>,
    pub destination: Field<String>,
    pub key: Field<i64>,
    pub sequence: Field<bool>,
    pub checksum: Field<bool>,
    pub ttl: Field<i64>,
    pub df: Field<String>,
    pub fragment: Field<String>,
    pub mtu: Field<i64>,
    pub addresses: Field<Vec<Spanned<String>>>,
    pub keepalive: Field<RawKeepalive>,
}

/// `keepalive = { ... }` of a tunnel.
#[derive(Debug)]
pub(crate) struct RawKeepalive {
    pub interval: Field<i64>,
    pub retries: Field<i64>,
}

/// One `[[route]]`.
#[derive(Debug)]
pub(crate) struct RawRoute {
    pub path: String,
    pub span: Range<usize>,
    pub vrf: Field<String>,
    pub prefix: Field<String>,
    pub via: Field<String>,
    pub interface: Field<String>,
    pub next_hop_vrf: Field<String>,
    pub action: Field<String>,
    pub distance: Field<i64>,
}

/// One `[[policy]]`.
#[derive(Debug)]
pub(crate) struct RawPolicy {
    pub path: String,
    pub span: Range<usize>,
    pub interface: Field<String>,
    pub vrf: Field<String>,
    pub local: Field<bool>,
    pub src: Field<String>,
    pub dst: Field<String>,
    pub protocol: Field<IntOrStr>,
    pub src_port: Field<IntOrStr>,
    pub dst_port: Field<IntOrStr>,
    pub dscp: Field<i64>,
    pub next_hop: Field<String>,
    pub next_hop_vrf: Field<String>,
    pub set_vrf: Field<String>,
    pub tunnel: Field<String>,
}

/// One `[[neighbor]]`.
#[derive(Debug)]
pub(crate) struct RawNeighbor {
    pub path: String,
    pub span: Range<usize>,
    pub interface: Field<String>,
    pub address: Field<String>,
    pub mac: Field<String>,
}

// ---------------------------------------------------------------------------
// Reading the tree into raw structs
// ---------------------------------------------------------------------------

/// Read a parsed document; type errors and unknown keys go to `diags`.
pub(crate) fn read(root: Node, diags: &mut Vec<RawDiag>) -> RawConfig {
    let sink = RefCell::new(std::mem::take(diags));
    let raw = read_root(root, &sink);
    *diags = sink.into_inner();
    raw
}

fn read_root(root: Node, diags: &RefCell<Vec<RawDiag>>) -> RawConfig {
    let mut raw = RawConfig::default();
    let Some(mut t) = Table::new(String::new(), root, diags) else {
        return raw;
    };
    if let Some((key, node)) = t.take("workers") {
        if let Some(w) = t.sub_table(&key, node) {
            raw.workers = Some(read_workers(w));
        }
    }
    if let Some((key, node)) = t.take("dpdk") {
        if let Some(d) = t.sub_table(&key, node) {
            raw.dpdk = Some(read_dpdk(d));
        }
    }
    for (path, el) in t.array_of_tables("vrf", "name") {
        raw.vrfs.push(read_vrf(path, el));
    }
    for (path, el) in t.array_of_tables("interface", "name") {
        raw.interfaces.push(read_interface(path, el));
    }
    for (path, el) in t.array_of_tables("tunnel", "name") {
        raw.tunnels.push(read_tunnel(path, el));
    }
    for (path, el) in t.array_of_tables("route", "prefix") {
        raw.routes.push(read_route(path, el));
    }
    for (path, el) in t.array_of_tables("neighbor", "address") {
        raw.neighbors.push(read_neighbor(path, el));
    }
    for (path, el) in t.array_of_tables("policy", "interface") {
        raw.policies.push(read_policy(path, el));
    }
    if let Some((key, node)) = t.take("control") {
        if let Some(c) = t.sub_table(&key, node) {
            raw.control = Some(read_control(c));
        }
    }
    t.finish();
    raw
}

fn read_control(mut t: Table<'_>) -> RawControl {
    let listen = t.string("listen");
    let unix = t.string("unix");
    let metrics = t.string("metrics");
    let tls = match t.take("tls") {
        None => Field::Absent,
        Some((key, node)) => match t.sub_table(&key, node) {
            Some(mut k) => {
                let span = k.span.clone();
                let tls = RawControlTls {
                    cert: k.string("cert"),
                    key: k.string("key"),
                    client_ca: k.string("client_ca"),
                };
                k.finish();
                Field::Present(Spanned::new(span, tls))
            }
            None => Field::Invalid,
        },
    };
    let c = RawControl {
        listen,
        unix,
        metrics,
        tls,
        token_file: t.string("token_file"),
        token: t.string("token"),
    };
    t.finish();
    c
}

fn read_workers(mut t: Table<'_>) -> RawWorkers {
    let w = RawWorkers {
        cores: t.int_array("cores"),
        control_core: t.int("control_core"),
        pool_size: t.int("pool_size"),
    };
    t.finish();
    w
}

fn read_dpdk(mut t: Table<'_>) -> RawDpdk {
    let d = RawDpdk {
        args: t.string_array("args"),
        no_huge: t.bool("no_huge"),
        memory_mb: t.int("memory_mb"),
        file_prefix: t.string("file_prefix"),
        mbufs: t.int("mbufs"),
        mbuf_cache: t.int("mbuf_cache"),
    };
    t.finish();
    d
}

fn read_vrf(path: String, mut t: Table<'_>) -> RawVrf {
    let mut v = RawVrf {
        path,
        span: t.span.clone(),
        name: t.string("name"),
        table: t.int("table"),
        rd: t.string("rd"),
        imports: Vec::new(),
    };
    for (path, el) in t.array_of_tables("import", "vrf") {
        v.imports.push(read_import(path, el));
    }
    t.finish();
    v
}

fn read_import(path: String, mut t: Table<'_>) -> RawImport {
    let i = RawImport {
        path,
        span: t.span.clone(),
        vrf: t.string("vrf"),
        prefixes: t.string_array("prefixes"),
    };
    t.finish();
    i
}

fn read_interface(path: String, mut t: Table<'_>) -> RawInterface {
    let mut i = RawInterface {
        path,
        span: t.span.clone(),
        name: t.string("name"),
        vrf: t.string("vrf"),
        mac: t.string("mac"),
        addresses: t.string_array("addresses"),
        mtu: t.int("mtu"),
        drivers: Vec::new(),
    };
    for kind in RawDriver::KEYS {
        let Some((key, node)) = t.take(kind) else {
            continue;
        };
        let span = key.span.clone();
        let driver = t.sub_table(&key, node).map(|d| match kind {
            "gen" => RawDriver::Gen(Box::new(read_gen(d))),
            "mem" => RawDriver::Mem(read_mem(d)),
            "pcap" => RawDriver::Pcap(read_pcap(d)),
            "af_packet" => RawDriver::AfPacket(read_af_packet(d)),
            _ => RawDriver::Dpdk(read_dpdk_port(d)),
        });
        i.drivers.push(DriverEntry { kind, span, driver });
    }
    i.drivers.sort_by_key(|d| d.span.start);
    t.finish();
    i
}

fn read_gen(mut t: Table<'_>) -> RawGen {
    let g = RawGen {
        span: t.span.clone(),
        src: t.string("src"),
        src_count: t.int("src_count"),
        dst: t.string("dst"),
        dst_count: t.int("dst_count"),
        src_port: t.int("src_port"),
        src_port_count: t.int("src_port_count"),
        dst_port: t.int("dst_port"),
        dst_port_count: t.int("dst_port_count"),
        frame_size: t.int_or_string("frame_size"),
        rate: t.int_or_string("rate"),
        vlan: t.int("vlan"),
        count: t.int("count"),
        arp_reply: t.bool("arp_reply"),
    };
    t.finish();
    g
}

fn read_mem(mut t: Table<'_>) -> RawMem {
    let m = RawMem {
        span: t.span.clone(),
        link: t.string("link"),
        ring: t.int("ring"),
    };
    t.finish();
    m
}

fn read_pcap(mut t: Table<'_>) -> RawPcap {
    let p = RawPcap {
        span: t.span.clone(),
        rx: t.string("rx"),
        tx: t.string("tx"),
        repeat: t.int_or_string("repeat"),
        deterministic: t.bool("deterministic"),
    };
    t.finish();
    p
}

fn read_af_packet(mut t: Table<'_>) -> RawAfPacket {
    let a = RawAfPacket {
        span: t.span.clone(),
        iface: t.string("iface"),
        queues: t.int("queues"),
        fanout_group: t.int("fanout_group"),
        promisc: t.bool("promisc"),
    };
    t.finish();
    a
}

fn read_dpdk_port(mut t: Table<'_>) -> RawDpdkPort {
    let d = RawDpdkPort {
        span: t.span.clone(),
        device: t.string("device"),
        rx_desc: t.int("rx_desc"),
        tx_desc: t.int("tx_desc"),
        promisc: t.bool("promisc"),
    };
    t.finish();
    d
}

fn read_tunnel(path: String, mut t: Table<'_>) -> RawTunnel {
    let mut r = RawTunnel {
        path,
        span: t.span.clone(),
        name: t.string("name"),
        vrf: t.string("vrf"),
        underlay_vrf: t.string("underlay_vrf"),
        source: t.string("source"),
        destination: t.string("destination"),
        key: t.int("key"),
        sequence: t.bool("sequence"),
        checksum: t.bool("checksum"),
        ttl: t.int("ttl"),
        df: t.string("df"),
        fragment: t.string("fragment"),
        mtu: t.int("mtu"),
        addresses: t.string_array("addresses"),
        keepalive: Field::Absent,
    };
    if let Some((key, node)) = t.take("keepalive") {
        r.keepalive = match t.sub_table(&key, node) {
            Some(mut k) => {
                let span = k.span.clone();
                let ka = RawKeepalive {
                    interval: k.int("interval"),
                    retries: k.int("retries"),
                };
                k.finish();
                Field::Present(Spanned::new(span, ka))
            }
            None => Field::Invalid,
        };
    }
    t.finish();
    r
}

fn read_route(path: String, mut t: Table<'_>) -> RawRoute {
    let r = RawRoute {
        path,
        span: t.span.clone(),
        vrf: t.string("vrf"),
        prefix: t.string("prefix"),
        via: t.string("via"),
        interface: t.string("interface"),
        next_hop_vrf: t.string("next_hop_vrf"),
        action: t.string("action"),
        distance: t.int("distance"),
    };
    t.finish();
    r
}

fn read_policy(path: String, mut t: Table<'_>) -> RawPolicy {
    let p = RawPolicy {
        path,
        span: t.span.clone(),
        interface: t.string("interface"),
        vrf: t.string("vrf"),
        local: t.bool("local"),
        src: t.string("src"),
        dst: t.string("dst"),
        protocol: t.int_or_string("protocol"),
        src_port: t.int_or_string("src_port"),
        dst_port: t.int_or_string("dst_port"),
        dscp: t.int("dscp"),
        next_hop: t.string("next_hop"),
        next_hop_vrf: t.string("next_hop_vrf"),
        set_vrf: t.string("set_vrf"),
        tunnel: t.string("tunnel"),
    };
    t.finish();
    p
}

fn read_neighbor(path: String, mut t: Table<'_>) -> RawNeighbor {
    let n = RawNeighbor {
        path,
        span: t.span.clone(),
        interface: t.string("interface"),
        address: t.string("address"),
        mac: t.string("mac"),
    };
    t.finish();
    n
}

/// A table being read: fields are taken by name; whatever is left when
/// [`Table::finish`] is called is an unknown key.
struct Table<'d> {
    /// Field path of the table ("" for the root).
    path: String,
    span: Range<usize>,
    entries: Vec<Option<(Key, Node)>>,
    /// Keys asked for so far, in schema order (for "allowed: ...").
    allowed: Vec<&'static str>,
    diags: &'d RefCell<Vec<RawDiag>>,
}

impl<'d> Table<'d> {
    /// `None` (nothing reported) if `node` is not a table.
    fn new(path: String, node: Node, diags: &'d RefCell<Vec<RawDiag>>) -> Option<Self> {
        match node.kind {
            Kind::Table(entries) => Some(Table {
                path,
                span: node.span,
                entries: entries.into_iter().map(Some).collect(),
                allowed: Vec::new(),
                diags,
            }),
            _ => None,
        }
    }

    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn error(&self, span: Range<usize>, field: String, message: String) {
        self.diags.borrow_mut().push(RawDiag {
            span,
            field,
            message,
        });
    }

    fn type_error(&self, field: String, node: &Node, expected: &str) {
        let found = node.kind.describe();
        self.error(
            node.span.clone(),
            field,
            format!("expected {expected}, found {found}"),
        );
    }

    /// Take the entry named `key`, recording `key` as allowed.
    fn take(&mut self, key: &'static str) -> Option<(Key, Node)> {
        self.allowed.push(key);
        let slot = self
            .entries
            .iter_mut()
            .find(|e| matches!(e, Some((k, _)) if k.name == key))?;
        slot.take()
    }

    /// Read `key` with `convert`, which returns `None` for the wrong type.
    fn scalar<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        convert: impl FnOnce(&Kind) -> Option<T>,
    ) -> Field<T> {
        let Some((_, node)) = self.take(key) else {
            return Field::Absent;
        };
        match convert(&node.kind) {
            Some(v) => Field::Present(Spanned::new(node.span, v)),
            None => {
                let field = self.field_path(key);
                self.type_error(field, &node, expected);
                Field::Invalid
            }
        }
    }

    fn string(&mut self, key: &'static str) -> Field<String> {
        self.scalar(key, "a string", |k| match k {
            Kind::Str(s) => Some(s.clone()),
            _ => None,
        })
    }

    fn int(&mut self, key: &'static str) -> Field<i64> {
        self.scalar(key, "an integer", |k| match k {
            Kind::Int(i) => Some(*i),
            _ => None,
        })
    }

    fn bool(&mut self, key: &'static str) -> Field<bool> {
        self.scalar(key, "true or false", |k| match k {
            Kind::Bool(b) => Some(*b),
            _ => None,
        })
    }

    fn int_or_string(&mut self, key: &'static str) -> Field<IntOrStr> {
        self.scalar(key, "an integer or a string", |k| match k {
            Kind::Int(i) => Some(IntOrStr::Int(*i)),
            Kind::Str(s) => Some(IntOrStr::Str(s.clone())),
            _ => None,
        })
    }

    /// An array whose every element `convert` accepts; each wrong element
    /// is reported, and then the whole field is `Invalid`.
    fn array<T>(
        &mut self,
        key: &'static str,
        (one, many): (&str, &str),
        convert: impl Fn(&Kind) -> Option<T>,
    ) -> Field<Vec<Spanned<T>>> {
        let Some((_, node)) = self.take(key) else {
            return Field::Absent;
        };
        let field = self.field_path(key);
        let Kind::Array(items) = &node.kind else {
            self.type_error(field, &node, &format!("an array of {many}"));
            return Field::Invalid;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match convert(&item.kind) {
                Some(v) => out.push(Spanned::new(item.span.clone(), v)),
                None => {
                    ok = false;
                    self.type_error(format!("{field}[{i}]"), item, one);
                }
            }
        }
        if ok {
            Field::Present(Spanned::new(node.span, out))
        } else {
            Field::Invalid
        }
    }

    fn string_array(&mut self, key: &'static str) -> Field<Vec<Spanned<String>>> {
        self.array(key, ("a string", "strings"), |k| match k {
            Kind::Str(s) => Some(s.clone()),
            _ => None,
        })
    }

    fn int_array(&mut self, key: &'static str) -> Field<Vec<Spanned<i64>>> {
        self.array(key, ("an integer", "integers"), |k| match k {
            Kind::Int(i) => Some(*i),
            _ => None,
        })
    }

    /// A sub-table under `key`; a wrong type is reported.
    fn sub_table(&self, key: &Key, node: Node) -> Option<Table<'d>> {
        let field = self.field_path(&key.name);
        if !matches!(node.kind, Kind::Table(_)) {
            self.type_error(field, &node, "a table");
            return None;
        }
        Table::new(field, node, self.diags)
    }

    /// The elements of `[[key]]`, each with its field path: `key[i]`, plus
    /// ` (NAME)` where the element has a string under `label_key`.
    fn array_of_tables(&mut self, key: &'static str, label_key: &str) -> Vec<(String, Table<'d>)> {
        let Some((_, node)) = self.take(key) else {
            return Vec::new();
        };
        let field = self.field_path(key);
        let Kind::Array(items) = node.kind else {
            let expected = format!("an array of tables ([[{key}]])");
            self.type_error(field, &node, &expected);
            return Vec::new();
        };
        let mut tables = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let mut path = format!("{field}[{i}]");
            let Kind::Table(entries) = &item.kind else {
                self.type_error(path, &item, "a table");
                continue;
            };
            let label = entries.iter().find_map(|(k, v)| match &v.kind {
                Kind::Str(s) if k.name == label_key => Some(s.clone()),
                _ => None,
            });
            if let Some(label) = label {
                path = format!("{path} ({label})");
            }
            if let Some(t) = Table::new(path.clone(), item, self.diags) {
                tables.push((path, t));
            }
        }
        tables
    }

    /// Report every key that no one took.
    fn finish(self) {
        let allowed = self.allowed.join(", ");
        for (key, _) in self.entries.into_iter().flatten() {
            let field = if self.path.is_empty() {
                key.name.clone()
            } else {
                format!("{}.{}", self.path, key.name)
            };
            let hint = match suggest(&key.name, &self.allowed) {
                Some(s) => format!("; did you mean \"{s}\"?"),
                None => String::new(),
            };
            self.diags.borrow_mut().push(RawDiag {
                span: key.span,
                field,
                message: format!("unknown key \"{}\"{hint} (allowed: {allowed})", key.name),
            });
        }
    }
}

/// The allowed key closest to `key`, if it is a likely typo (at most two
/// edits away) or an abbreviation (`pool` for `pool_size`).
fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let close = allowed
        .iter()
        .map(|a| (edit_distance(key, a), *a))
        .filter(|&(d, a)| d <= 2 && d < a.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, a)| a);
    close.or_else(|| {
        allowed
            .iter()
            .find(|a| key.len() >= 3 && a.starts_with(key))
            .copied()
    })
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
