//! Validation: raw structs → the resolved [`Config`].
//!
//! Every check reports into the same list and carries on, so one run finds
//! every problem. Where a value is wrong, a placeholder stands in for it
//! (the config is rejected anyway) and checks that depend on it are
//! skipped, so one mistake gives one message.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::error::{RawDiag, SourceMap};
use super::raw::{
    Field, IntOrStr, RawAfPacket, RawConfig, RawDpdk, RawDpdkPort, RawDriver, RawGen, RawImport,
    RawInterface, RawMem, RawPcap, RawPolicy, RawRoute, RawTunnel, RawVrf, RawWorkers,
};
use super::{
    default_mac, format_mac, mask, AfPacketOptions, Config, DpdkOptions, DpdkPortOptions, Driver,
    Env, FrameSize, GenOptions, IfAddr, IfRef, Interface, Keepalive, MemOptions, Neighbor,
    PcapOptions, Policy, PolicyScope, PolicyTarget, Repeat, RouteAction, StaticRoute, Tunnel,
    TunnelDf, TunnelFragment, Vrf, VrfImport, Workers, DEFAULT_DPDK_DESC, DEFAULT_POOL_SIZE,
    DEFAULT_TUNNEL_TTL,
};

/// Collects diagnostics; knows line numbers for "first defined at line N".
struct Cx<'a> {
    diags: &'a mut Vec<RawDiag>,
    map: SourceMap<'a>,
}

impl Cx<'_> {
    fn err(&mut self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) {
        self.diags.push(RawDiag {
            span,
            field: field.into(),
            message: message.into(),
        });
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.map.line(span.start)
    }

    /// A required key is absent: report it at the table.
    fn missing(&mut self, table_span: &Range<usize>, field: String) {
        self.err(table_span.clone(), field, "missing (required)");
    }

    /// An integer field within `lo..=hi`; `None` if absent, invalid or out
    /// of range (reported).
    fn ranged(&mut self, f: &Field<i64>, field: String, lo: i64, hi: i64) -> Option<i64> {
        let v = f.get()?;
        let n = *v.get_ref();
        if (lo..=hi).contains(&n) {
            Some(n)
        } else {
            self.err(
                v.span(),
                field,
                format!("{n} is out of range ({lo}..={hi})"),
            );
            None
        }
    }

    /// Parse a present string field with `parse`; errors are reported.
    fn parsed<T>(
        &mut self,
        f: &Field<String>,
        field: String,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = f.get()?;
        match parse(v.get_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(v.span(), field, e);
                None
            }
        }
    }

    /// Resolve a VRF name (absent = the default VRF).
    fn vrf(&mut self, f: &Field<String>, field: String, vrfs: &Names<'_>) -> Option<usize> {
        match f {
            Field::Absent => Some(0),
            Field::Invalid => None,
            Field::Present(name) => {
                let found = vrfs.get(name.get_ref());
                if found.is_none() {
                    self.err(
                        name.span(),
                        field,
                        format!(
                            "unknown VRF \"{}\" (defined: {})",
                            name.get_ref(),
                            vrfs.listed()
                        ),
                    );
                }
                found
            }
        }
    }

    /// Resolve a present interface name.
    fn interface(
        &mut self,
        name: &Spanned<String>,
        field: String,
        ifaces: &Names<'_>,
    ) -> Option<usize> {
        let found = ifaces.get(name.get_ref());
        if found.is_none() {
            let defined = if ifaces.list.is_empty() {
                "no interfaces are defined".to_owned()
            } else {
                format!("defined: {}", ifaces.listed())
            };
            self.err(
                name.span(),
                field,
                format!("unknown interface \"{}\" ({defined})", name.get_ref()),
            );
        }
        found
    }
}

/// Names in definition order, with an index; the first of duplicates wins
/// and empty (missing) names are left out.
struct Names<'a> {
    list: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Names<'a> {
    fn new(names: impl Iterator<Item = &'a str>) -> Self {
        let mut list = Vec::new();
        let mut index = HashMap::new();
        for (i, name) in names.enumerate() {
            if !name.is_empty() && !index.contains_key(name) {
                index.insert(name, i);
                list.push(name);
            }
        }
        Names { list, index }
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// "a, b, c" (the first twenty, then how many more).
    fn listed(&self) -> String {
        const SHOWN: usize = 20;
        let mut s = self.list[..self.list.len().min(SHOWN)].join(", ");
        if self.list.len() > SHOWN {
            s.push_str(&format!(" and {} more", self.list.len() - SHOWN));
        }
        s
    }
}

/// Validate `raw` (read from `path`, whose text is `text`) into a config;
/// the config is meaningful only if nothing was added to `diags`.
pub(crate) fn resolve(
    raw: RawConfig,
    path: &Path,
    text: &str,
    env: &Env,
    diags: &mut Vec<RawDiag>,
) -> Config {
    let mut cx = Cx {
        diags,
        map: SourceMap::new(text),
    };
    let before = cx.diags.len();
    let workers = workers(raw.workers.as_ref(), env, &mut cx);
    // The worker count, if the cores are right (checks depend on it).
    let nworkers = (cx.diags.len() == before).then_some(workers.cores.len());
    // The pool size, if `[workers]` is valid (the mbuf cache is checked
    // against it when `[dpdk]` has no mbufs).
    let pool_size = nworkers.map(|_| workers.pool_size);
    let dpdk = raw.dpdk.as_ref().map(|d| dpdk(d, pool_size, &mut cx));
    let vrfs = vrfs(&raw.vrfs, &mut cx);
    let ctx = IfCtx {
        vrfs: &vrfs,
        dir: path.parent().unwrap_or(Path::new("")),
        nworkers,
    };
    let (interfaces, mut facts) = interfaces(&raw.interfaces, &ctx, &mut cx);
    let tunnels = tunnels(&raw.tunnels, &vrfs, &interfaces, &mut facts, &mut cx);
    check_overlaps(&facts.addrs, &interfaces, &tunnels, &vrfs, &mut cx);
    let routes = routes(&raw.routes, &vrfs, &interfaces, &tunnels, &mut cx);
    let neighbors = neighbors(&raw.neighbors, &interfaces, &tunnels, &mut cx);
    let policies = policies(&raw.policies, &vrfs, &interfaces, &tunnels, &mut cx);
    let endpoint = super::endpoint::resolve(raw.control.as_ref(), ctx.dir, cx.diags);

    Config {
        path: path.to_path_buf(),
        workers,
        dpdk,
        vrfs,
        interfaces,
        tunnels,
        routes,
        neighbors,
        policies,
        endpoint,
    }
}

// ---------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------

fn workers(raw: Option<&RawWorkers>, env: &Env, cx: &mut Cx<'_>) -> Workers {
    let cpus = env.cpus.max(1);
    let (no_cores, no_int) = (Field::Absent, Field::Absent);
    let cores_field = raw.map_or(&no_cores, |w| &w.cores);
    let control_field = raw.map_or(&no_int, |w| &w.control_core);
    let pool_field = raw.map_or(&no_int, |w| &w.pool_size);

    let mut cores = Vec::new();
    match cores_field {
        Field::Present(list) => {
            if list.get_ref().is_empty() {
                cx.err(
                    list.span(),
                    "workers.cores",
                    "empty: list at least one core to run a worker on",
                );
            }
            for (i, c) in list.get_ref().iter().enumerate() {
                let field = format!("workers.cores[{i}]");
                if let Some(core) = cpu(c, field.clone(), cpus, cx) {
                    if cores.contains(&core) {
                        cx.err(c.span(), field, format!("core {core} is listed twice"));
                    } else {
                        cores.push(core);
                    }
                }
            }
        }
        Field::Invalid => {}
        Field::Absent => cores.push(cpus - 1),
    }

    let control_core = match control_field {
        Field::Present(c) => {
            let core = cpu(c, "workers.control_core".into(), cpus, cx);
            if let Some(core) = core.filter(|c| cores.contains(c)) {
                cx.err(
                    c.span(),
                    "workers.control_core",
                    format!(
                        "core {core} is also a worker core; workers poll without pause, so the \
                            control thread would starve"
                    ),
                );
            }
            core
        }
        Field::Invalid => None,
        Field::Absent => (cores_field.is_absent() && cpus > 1).then_some(0),
    };

    let pool_size = cx
        .ranged(pool_field, "workers.pool_size".into(), 256, 1 << 24)
        .map_or(DEFAULT_POOL_SIZE, |n| n as usize);

    Workers {
        cores,
        control_core,
        pool_size,
    }
}

/// A CPU number that exists on this machine.
fn cpu(c: &Spanned<i64>, field: String, cpus: usize, cx: &mut Cx<'_>) -> Option<usize> {
    let n = *c.get_ref();
    match usize::try_from(n) {
        Ok(core) if core < cpus => Some(core),
        _ => {
            let s = if cpus == 1 { "" } else { "s" };
            cx.err(
                c.span(),
                field,
                format!(
                    "core {n} does not exist: this machine has {cpus} CPU{s} (0..={})",
                    cpus - 1
                ),
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------
// DPDK
// ---------------------------------------------------------------------------

fn dpdk(d: &RawDpdk, pool_size: Option<usize>, cx: &mut Cx<'_>) -> DpdkOptions {
    let no_huge = d.no_huge.or(false);
    let memory_mb = cx
        .ranged(&d.memory_mb, "dpdk.memory_mb".into(), 64, 65536)
        .map(|n| n as u32);

    let mut args = Vec::new();
    if let Some(list) = d.args.get() {
        for (i, a) in list.get_ref().iter().enumerate() {
            let memory = !d.memory_mb.is_absent();
            match check_eal_arg(a.get_ref(), no_huge, memory) {
                Ok(()) => args.push(a.get_ref().clone()),
                Err(e) => cx.err(a.span(), format!("dpdk.args[{i}]"), e),
            }
        }
    }

    let file_prefix = cx.parsed(&d.file_prefix, "dpdk.file_prefix".into(), |s| {
        let len = s.chars().count();
        if len == 0 {
            Err("empty file prefix".into())
        } else if len > 32 {
            Err(format!(
                "file prefix \"{s}\" is {len} characters long; the limit is 32"
            ))
        } else if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
        {
            Err(format!(
                "file prefix \"{s}\" contains {c:?}; use letters, digits, '_' and '-'"
            ))
        } else {
            Ok(s.to_owned())
        }
    });

    let mbufs = cx
        .ranged(&d.mbufs, "dpdk.mbufs".into(), 256, 1 << 24)
        .map(|n| n as usize);
    let mbuf_cache = cx
        .ranged(&d.mbuf_cache, "dpdk.mbuf_cache".into(), 0, 512)
        .map(|n| n as usize);
    // rte_mempool_create refuses a cache whose flush threshold (1.5 times
    // its size) exceeds the pool.
    let pool = match &d.mbufs {
        Field::Absent => pool_size.map(|n| (n, "workers.pool_size")),
        _ => mbufs.map(|n| (n, "dpdk.mbufs")),
    };
    if let (Some(cache), Some((n, from)), Some(v)) = (mbuf_cache, pool, d.mbuf_cache.get()) {
        if cache * 3 / 2 > n {
            cx.err(
                v.span(),
                "dpdk.mbuf_cache",
                format!(
                    "a cache of {cache} mbufs is too large for pools of {n} ({from}): DPDK \
                        needs mbuf_cache × 1.5 ≤ mbufs"
                ),
            );
        }
    }

    DpdkOptions {
        args,
        no_huge,
        memory_mb,
        file_prefix,
        mbufs,
        mbuf_cache,
    }
}

/// An extra EAL argument: not empty, not one that `[dpdk]` has a field for
/// or that weir derives, and not `--socket-mem` where the EAL refuses it
/// (with `-m` or `--no-huge`).
fn check_eal_arg(a: &str, no_huge: bool, memory_mb: bool) -> Result<(), String> {
    if a.is_empty() {
        return Err("empty EAL argument".into());
    }
    if a.contains('\0') {
        return Err(format!("EAL argument {a:?} contains a NUL byte"));
    }
    let option = if let Some(long) = a.strip_prefix("--") {
        long.split('=').next().unwrap_or_default()
    } else if let Some(short) = a.strip_prefix('-') {
        short.get(..1).unwrap_or_default()
    } else {
        return Ok(());
    };
    let own = |key: &str, how: &str| {
        Err(format!(
            "\"{a}\": [dpdk] has a field for this, set {key}{how} instead"
        ))
    };
    match option {
        "no-huge" => own("no_huge", " = true"),
        "m" => own("memory_mb", ""),
        "socket-mem" if memory_mb => Err(format!(
            "\"{a}\": the EAL refuses --socket-mem together with -m (memory_mb)"
        )),
        "socket-mem" if no_huge => Err(format!(
            "\"{a}\": the EAL refuses --socket-mem together with --no-huge (no_huge = true)"
        )),
        "file-prefix" => own("file_prefix", ""),
        "l" | "c" | "lcores" => Err(format!(
            "\"{a}\": weir gives the EAL its cores, derived from [workers] cores; leave it out"
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// VRFs
// ---------------------------------------------------------------------------

fn vrfs(raw: &[RawVrf], cx: &mut Cx<'_>) -> Vec<Vrf> {
    let mut vrfs = vec![Vrf {
        name: "default".into(),
        table: 0,
        rd: None,
        imports: Vec::new(),
    }];
    // The declarations that made (or gave an rd to) a VRF, by its index:
    // their imports are resolved once every VRF name is known.
    let mut declared: Vec<(usize, &RawVrf)> = Vec::new();
    // Where each VRF (by index) and each table id was first defined.
    let mut defined_at: Vec<Option<Range<usize>>> = vec![None];
    let mut by_name: HashMap<String, usize> = HashMap::from([("default".to_owned(), 0)]);
    let mut tables: HashMap<i64, (String, Range<usize>)> = HashMap::new();

    for v in raw {
        let f = |k: &str| format!("{}.{k}", v.path);
        if v.name.is_absent() {
            cx.missing(&v.span, f("name"));
        }
        let name = v.name.get();
        if let Some(n) = name {
            if let Err(e) = check_name(n.get_ref(), "VRF", 64) {
                cx.err(n.span(), f("name"), e);
            }
        }
        let is_default = name.is_some_and(|n| n.get_ref() == "default");
        let rd = cx.parsed(&v.rd, f("rd"), |s| s.parse());

        let mut table = None;
        match &v.table {
            Field::Present(t) => {
                let n = *t.get_ref();
                if is_default {
                    if n != 0 {
                        cx.err(
                            t.span(),
                            f("table"),
                            format!(
                                "the VRF named \"default\" is the built-in one with table 0, \
                                    not {n}; give this VRF another name"
                            ),
                        );
                    }
                } else if n == 0 {
                    cx.err(
                        t.span(),
                        f("table"),
                        "table 0 is the default VRF's; use 1..=65535",
                    );
                } else if !(1..=65535).contains(&n) {
                    cx.err(
                        t.span(),
                        f("table"),
                        format!("{n} is out of range (1..=65535)"),
                    );
                } else if let Some((other, at)) = tables.get(&n) {
                    let line = cx.line(at);
                    cx.err(
                        t.span(),
                        f("table"),
                        format!("table {n} is already used by VRF \"{other}\" (line {line})"),
                    );
                } else {
                    table = Some(n);
                    if let Some(name) = name {
                        tables.insert(n, (name.get_ref().clone(), t.span()));
                    }
                }
            }
            Field::Absent if !is_default && name.is_some() => cx.missing(&v.span, f("table")),
            _ => {}
        }

        let Some(name) = name else { continue };
        if let Some(&i) = by_name.get(name.get_ref()) {
            match &defined_at[i] {
                Some(at) => {
                    let line = cx.line(at);
                    cx.err(
                        name.span(),
                        f("name"),
                        format!(
                            "duplicate VRF name \"{}\" (first defined at line {line})",
                            name.get_ref()
                        ),
                    );
                }
                None => {
                    // The first declaration of "default": it gives the
                    // built-in VRF its route distinguisher.
                    defined_at[i] = Some(name.span());
                    vrfs[i].rd = rd;
                    declared.push((i, v));
                }
            }
            continue;
        }
        by_name.insert(name.get_ref().clone(), vrfs.len());
        declared.push((vrfs.len(), v));
        vrfs.push(Vrf {
            name: name.get_ref().clone(),
            table: table.unwrap_or(0) as u32,
            rd,
            imports: Vec::new(),
        });
        defined_at.push(Some(name.span()));
    }

    let names = Names::new(vrfs.iter().map(|v| v.name.as_str()));
    let imports: Vec<(usize, Vec<VrfImport>)> = declared
        .into_iter()
        .map(|(i, v)| (i, vrf_imports(&v.imports, i, &vrfs, &names, cx)))
        .collect();
    for (i, list) in imports {
        vrfs[i].imports = list;
    }
    vrfs
}

/// The `import` list of VRF `me`: known VRFs other than `me`, each once,
/// with a non-empty list of prefixes without host bits.
fn vrf_imports(
    raw: &[RawImport],
    me: usize,
    vrfs: &[Vrf],
    names: &Names<'_>,
    cx: &mut Cx<'_>,
) -> Vec<VrfImport> {
    let mut out = Vec::new();
    // Source VRF → where it was first imported.
    let mut seen: HashMap<usize, Range<usize>> = HashMap::new();
    for im in raw {
        let f = |k: &str| format!("{}.{k}", im.path);
        let mut from = match &im.vrf {
            Field::Absent => {
                cx.missing(&im.span, f("vrf"));
                None
            }
            field => cx.vrf(field, f("vrf"), names),
        };
        if let (Some(v), Some(name)) = (from, im.vrf.get()) {
            if v == me {
                cx.err(
                    name.span(),
                    f("vrf"),
                    format!(
                        "VRF \"{}\" cannot import from itself; name the VRF to copy routes from",
                        vrfs[me].name
                    ),
                );
                from = None;
            } else if let Some(at) = seen.get(&v) {
                let line = cx.line(at);
                cx.err(
                    name.span(),
                    f("vrf"),
                    format!(
                        "VRF \"{}\" is already imported (line {line}); list all its prefixes \
                            there",
                        vrfs[v].name
                    ),
                );
                from = None;
            } else {
                seen.insert(v, name.span());
            }
        }

        let mut prefixes: Vec<(Ipv4Addr, u8)> = Vec::new();
        let mut ok = true;
        match &im.prefixes {
            Field::Absent => {
                cx.missing(&im.span, f("prefixes"));
                ok = false;
            }
            Field::Invalid => ok = false,
            Field::Present(list) => {
                if list.get_ref().is_empty() {
                    cx.err(
                        list.span(),
                        f("prefixes"),
                        "empty: list the prefixes to import (\"0.0.0.0/0\" for every route)",
                    );
                    ok = false;
                }
                for (k, p) in list.get_ref().iter().enumerate() {
                    let field = format!("{}.prefixes[{k}]", im.path);
                    match parse_prefix(p.get_ref()) {
                        Ok(net) if prefixes.contains(&net) => {
                            cx.err(
                                p.span(),
                                field,
                                format!("{}/{} is listed twice", net.0, net.1),
                            );
                        }
                        Ok(net) => prefixes.push(net),
                        Err(e) => {
                            cx.err(p.span(), field, e);
                            ok = false;
                        }
                    }
                }
            }
        }
        if let (Some(from), true) = (from, ok) {
            out.push(VrfImport { from, prefixes });
        }
    }
    out
}

/// Names of VRFs and interfaces: 1..=max characters of `[A-Za-z0-9_.-]`.
fn check_name(name: &str, what: &str, max: usize) -> Result<(), String> {
    let len = name.chars().count();
    if len == 0 {
        return Err(format!("empty {what} name"));
    }
    if len > max {
        return Err(format!(
            "{what} name \"{name}\" is {len} characters long; the limit is {max}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "{what} name \"{name}\" contains {c:?}; use letters, digits, '_', '.' and '-'"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Interfaces
// ---------------------------------------------------------------------------

/// What interface checks need from the rest of the config.
struct IfCtx<'a> {
    vrfs: &'a [Vrf],
    /// The config file's directory (pcap paths are relative to it).
    dir: &'a Path,
    /// Number of workers, if `[workers]` is valid.
    nworkers: Option<usize>,
}

/// An interface address and where it was written.
struct AddrAt {
    addr: IfAddr,
    span: Range<usize>,
    field: String,
}

/// Where something was first defined (for "duplicate ... (line N)").
struct First {
    path: String,
    span: Range<usize>,
}

/// Per-interface facts the cross-interface checks need.
struct IfSpans {
    mac: Option<Range<usize>>,
    mem_link: Option<Spanned<String>>,
    /// The `ring` of a mem driver, where it was given.
    mem_ring: Option<Spanned<i64>>,
    /// The device name of a valid dpdk driver, and where it was written.
    dpdk_device: Option<(String, Range<usize>)>,
}

/// What the checks after the interfaces need to know about them (and,
/// once tunnels are resolved, about tunnels).
struct IfFacts {
    /// Every good address of an interface or tunnel in a known VRF, in
    /// file order (interfaces first), for overlaps and tunnel sources.
    addrs: Vec<VrfAddr>,
    /// Per interface: whether its VRF is known.
    vrf_ok: Vec<bool>,
    /// Per interface: whether some address was wrong (already reported).
    addr_failed: Vec<bool>,
    /// Per interface: its name and where it was written (for duplicates
    /// among interfaces and tunnels).
    names: Vec<Option<Spanned<String>>>,
}

/// A good address of an interface or tunnel whose VRF is known.
struct VrfAddr {
    vrf: usize,
    owner: IfRef,
    at: AddrAt,
}

fn interfaces(raw: &[RawInterface], ctx: &IfCtx<'_>, cx: &mut Cx<'_>) -> (Vec<Interface>, IfFacts) {
    let vrfs = ctx.vrfs;
    let vrf_names = Names::new(vrfs.iter().map(|v| v.name.as_str()));
    let mut out: Vec<Interface> = Vec::with_capacity(raw.len());
    let mut spans: Vec<IfSpans> = Vec::with_capacity(raw.len());
    let mut facts = IfFacts {
        addrs: Vec::new(),
        vrf_ok: Vec::with_capacity(raw.len()),
        addr_failed: Vec::with_capacity(raw.len()),
        names: raw.iter().map(|r| r.name.get().cloned()).collect(),
    };
    let mut names: HashMap<String, Range<usize>> = HashMap::new();

    for (idx, r) in raw.iter().enumerate() {
        let f = |k: &str| format!("{}.{k}", r.path);

        // name
        let mut name = String::new();
        match &r.name {
            Field::Present(n) => {
                name = n.get_ref().clone();
                if let Err(e) = check_name(&name, "interface", 15) {
                    cx.err(n.span(), f("name"), e);
                }
                if let Some(at) = names.get(&name) {
                    let line = cx.line(at);
                    cx.err(
                        n.span(),
                        f("name"),
                        format!(
                            "duplicate interface name \"{name}\" (first defined at line {line})"
                        ),
                    );
                } else {
                    names.insert(name.clone(), n.span());
                }
            }
            Field::Absent => cx.missing(&r.span, f("name")),
            Field::Invalid => {}
        }

        let vrf = cx.vrf(&r.vrf, f("vrf"), &vrf_names);
        facts.vrf_ok.push(vrf.is_some());

        // mac
        let mut mac = default_mac(idx);
        let mut mac_span = None;
        if let Some(m) = cx.parsed(&r.mac, f("mac"), parse_unicast_mac) {
            mac = m;
            mac_span = r.mac.get().map(|s| s.span());
        }

        let (addresses, addr_spans, addr_failed) = if_addresses(&r.addresses, &r.path, cx);
        facts.addr_failed.push(addr_failed);
        if let Some(v) = vrf {
            facts.addrs.extend(addr_spans.into_iter().map(|at| VrfAddr {
                vrf: v,
                owner: IfRef::Interface(idx),
                at,
            }));
        }

        let mtu = cx
            .ranged(&r.mtu, f("mtu"), 68, 9216)
            .map_or(1500, |n| n as u16);

        // driver: exactly one
        let mut driver = None;
        let mut mem_link = None;
        let mut mem_ring = None;
        let mut dpdk_device = None;
        let kinds = RawDriver::KEYS.join(", ");
        match r.drivers.as_slice() {
            [] => cx.err(
                r.span.clone(),
                r.path.clone(),
                format!("no driver: give exactly one of {kinds}"),
            ),
            [first, rest @ ..] => {
                for extra in rest {
                    cx.err(
                        extra.span.clone(),
                        format!("{}.{}", r.path, extra.kind),
                        format!(
                            "a second driver (\"{}\" after \"{}\"): an interface has \
                                exactly one of {kinds}",
                            extra.kind, first.kind,
                        ),
                    );
                }
                let p = |k: &str| format!("{}.{k}", r.path);
                driver = match &first.driver {
                    None => None,
                    Some(RawDriver::Gen(g)) => Some(Driver::Gen(gen(
                        g,
                        &p("gen"),
                        addresses.first().copied(),
                        addr_failed,
                        cx,
                    ))),
                    Some(RawDriver::Mem(m)) => {
                        mem_link = m.link.get().cloned();
                        mem_ring = m.ring.get().cloned();
                        Some(Driver::Mem(mem(m, &p("mem"), cx)))
                    }
                    Some(RawDriver::Pcap(pc)) => {
                        Some(Driver::Pcap(pcap(pc, &p("pcap"), ctx.dir, cx)))
                    }
                    Some(RawDriver::AfPacket(a)) => Some(Driver::AfPacket(af_packet(
                        a,
                        &p("af_packet"),
                        ctx.nworkers,
                        cx,
                    ))),
                    Some(RawDriver::Dpdk(d)) => {
                        // A good device name counts for duplicates even where
                        // its arguments are wrong.
                        dpdk_device = d.device.get().and_then(|dev| {
                            let name = dev.get_ref().split(',').next().unwrap_or_default();
                            Some((dpdk_device_name(name).ok()?, dev.span()))
                        });
                        Some(Driver::Dpdk(dpdk_port(d, &p("dpdk"), ctx.dir, cx)))
                    }
                };
            }
        }

        out.push(Interface {
            name,
            vrf: vrf.unwrap_or(0),
            mac,
            addresses,
            mtu,
            // A placeholder where the driver was wrong (already reported).
            driver: driver.unwrap_or(Driver::Mem(MemOptions {
                link: String::new(),
                ring: 1024,
                peer: None,
            })),
        });
        spans.push(IfSpans {
            mac: mac_span,
            mem_link,
            mem_ring,
            dpdk_device,
        });
    }

    check_macs(raw, &out, &spans, cx);
    join_mem_links(raw, &mut out, &spans, cx);
    check_dpdk_devices(raw, &out, &spans, cx);
    (out, facts)
}

/// The `addresses` of an interface or tunnel at `path`: the good ones,
/// where each was written, and whether any was wrong (reported).
fn if_addresses(
    f: &Field<Vec<Spanned<String>>>,
    path: &str,
    cx: &mut Cx<'_>,
) -> (Vec<IfAddr>, Vec<AddrAt>, bool) {
    let mut addresses = Vec::new();
    let mut spans = Vec::new();
    let mut failed = matches!(f, Field::Invalid);
    if let Some(list) = f.get() {
        for (i, a) in list.get_ref().iter().enumerate() {
            let field = format!("{path}.addresses[{i}]");
            match parse_ifaddr(a.get_ref()) {
                Ok(ifa) => {
                    addresses.push(ifa);
                    spans.push(AddrAt {
                        addr: ifa,
                        span: a.span(),
                        field,
                    });
                }
                Err(e) => {
                    failed = true;
                    cx.err(a.span(), field, e);
                }
            }
        }
    }
    (addresses, spans, failed)
}

/// No two interfaces name the same DPDK device (by PCI address or vdev
/// name; the arguments do not matter).
fn check_dpdk_devices(raw: &[RawInterface], out: &[Interface], spans: &[IfSpans], cx: &mut Cx<'_>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, s) in spans.iter().enumerate() {
        let Some((name, span)) = &s.dpdk_device else {
            continue;
        };
        match seen.get(name.as_str()) {
            Some(&j) => {
                let line = spans[j].dpdk_device.as_ref().map_or(0, |d| cx.line(&d.1));
                cx.err(
                    span.clone(),
                    format!("{}.dpdk.device", raw[i].path),
                    format!(
                        "device {name} is already used by interface \"{}\" (line {line}); \
                            a device is one port",
                        out[j].name
                    ),
                );
            }
            None => {
                seen.insert(name, i);
            }
        }
    }
}

/// No two interfaces share a MAC. A configured MAC that equals another
/// interface's derived one is reported at the configured one.
fn check_macs(raw: &[RawInterface], out: &[Interface], spans: &[IfSpans], cx: &mut Cx<'_>) {
    for (i, s) in spans.iter().enumerate() {
        let Some(span) = &s.mac else { continue };
        let clash = out.iter().enumerate().find(|&(j, other)| {
            j != i && other.mac == out[i].mac && (spans[j].mac.is_none() || j < i)
        });
        if let Some((j, other)) = clash {
            let how = if spans[j].mac.is_none() {
                " (derived)"
            } else {
                ""
            };
            cx.err(
                span.clone(),
                format!("{}.mac", raw[i].path),
                format!(
                    "MAC {} is also interface \"{}\"'s{how}",
                    format_mac(&out[i].mac),
                    other.name
                ),
            );
        }
    }
}

/// No two subnets overlap within one VRF, interfaces and tunnels together
/// (in different VRFs they may). `all` is in file order, interfaces first.
fn check_overlaps(
    all: &[VrfAddr],
    ifaces: &[Interface],
    tunnels: &[Tunnel],
    vrfs: &[Vrf],
    cx: &mut Cx<'_>,
) {
    for (k, a) in all.iter().enumerate() {
        let earlier = all[..k]
            .iter()
            .find(|b| b.vrf == a.vrf && b.at.addr.overlaps(&a.at.addr));
        if let Some(other) = earlier {
            let on = match (other.owner == a.owner, other.owner) {
                (true, IfRef::Interface(_)) => "on the same interface".to_owned(),
                (true, IfRef::Tunnel(_)) => "on the same tunnel".to_owned(),
                (false, IfRef::Interface(j)) => format!("on {}", ifaces[j].name),
                (false, IfRef::Tunnel(j)) => format!("on tunnel {}", tunnels[j].name),
            };
            cx.err(
                a.at.span.clone(),
                a.at.field.clone(),
                format!(
                    "{} overlaps {} {on} in VRF \"{}\"",
                    a.at.addr,
                    other.at.addr,
                    vrfs.get(a.vrf).map_or("?", |v| v.name.as_str())
                ),
            );
        }
    }
}

/// Pair up the interfaces on each mem link; more than two is an error.
fn join_mem_links(raw: &[RawInterface], out: &mut [Interface], spans: &[IfSpans], cx: &mut Cx<'_>) {
    let mut links: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        let Some(link) = &s.mem_link else { continue };
        match links
            .iter_mut()
            .find(|(l, _)| *l == link.get_ref().as_str())
        {
            Some((_, ends)) => ends.push(i),
            None => links.push((link.get_ref().as_str(), vec![i])),
        }
    }
    for (link, ends) in &links {
        for &extra in ends.iter().skip(2) {
            let span = spans[extra]
                .mem_link
                .as_ref()
                .map_or(raw[extra].span.clone(), |l| l.span());
            cx.err(
                span,
                format!("{}.mem.link", raw[extra].path),
                format!(
                    "mem link \"{link}\" already joins {} and {}; a link has two ends",
                    out[ends[0]].name, out[ends[1]].name
                ),
            );
        }
        if let [a, b, ..] = ends[..] {
            // One ring size per link: an end that leaves `ring` out takes
            // the other end's.
            let ring = |i: usize| spans[i].mem_ring.as_ref();
            let size = match (ring(a), ring(b)) {
                (Some(ra), Some(rb)) if ra.get_ref() != rb.get_ref() => {
                    cx.err(
                        rb.span(),
                        format!("{}.mem.ring", raw[b].path),
                        format!(
                            "ring {} differs from {} at the other end of link \"{link}\" ({}); a \
                                link has one ring size",
                            rb.get_ref(),
                            ra.get_ref(),
                            out[a].name
                        ),
                    );
                    None
                }
                (Some(_), _) => Some(a),
                (None, Some(_)) => Some(b),
                (None, None) => None,
            }
            .and_then(|from| match &out[from].driver {
                Driver::Mem(m) => Some(m.ring),
                _ => None,
            });
            for (me, peer) in [(a, b), (b, a)] {
                if let Driver::Mem(m) = &mut out[me].driver {
                    m.peer = Some(peer);
                    if let Some(size) = size {
                        m.ring = size;
                    }
                }
            }
        }
    }
}

fn gen(
    g: &RawGen,
    p: &str,
    first: Option<IfAddr>,
    addr_failed: bool,
    cx: &mut Cx<'_>,
) -> GenOptions {
    let f = |k: &str| format!("{p}.{k}");
    if g.dst.is_absent() {
        cx.missing(&g.span, f("dst"));
    }
    let dst = cx.parsed(&g.dst, f("dst"), parse_ipv4);
    let src = match &g.src {
        Field::Present(_) => cx.parsed(&g.src, f("src"), parse_ipv4),
        Field::Invalid => None,
        Field::Absent => match first {
            Some(a) => {
                let next = u32::from(a.addr).checked_add(1).map(Ipv4Addr::from);
                match next.filter(|&n| a.contains(n) && (a.len > 30 || n != a.broadcast())) {
                    Some(n) => Some(n),
                    None => {
                        cx.err(
                            g.span.clone(),
                            f("src"),
                            format!(
                                "no default: the address after {} is not a host in {}/{}; set src",
                                a.addr,
                                a.network(),
                                a.len
                            ),
                        );
                        None
                    }
                }
            }
            None => {
                if !addr_failed {
                    cx.err(
                        g.span.clone(),
                        f("src"),
                        "no default: the interface has no address to derive it from (the \
                            default is the interface's first address + 1); set src or give the \
                            interface an address",
                    );
                }
                None
            }
        },
    };

    let src_count = addr_count(src, &g.src_count, f("src_count"), cx);
    let dst_count = addr_count(dst, &g.dst_count, f("dst_count"), cx);
    let src_port = cx
        .ranged(&g.src_port, f("src_port"), 0, 65535)
        .map_or(1024, |n| n as u16);
    let dst_port = cx
        .ranged(&g.dst_port, f("dst_port"), 0, 65535)
        .map_or(5001, |n| n as u16);
    let src_port_count = port_count(src_port, &g.src_port_count, f("src_port_count"), cx);
    let dst_port_count = port_count(dst_port, &g.dst_port_count, f("dst_port_count"), cx);

    let frame_size = match g.frame_size.get() {
        None => FrameSize::Fixed(64),
        Some(v) => match v.get_ref() {
            IntOrStr::Int(n) if (64..=1518).contains(n) => FrameSize::Fixed(*n as usize),
            IntOrStr::Str(s) if s.eq_ignore_ascii_case("imix") => FrameSize::Imix,
            other => {
                let shown = match other {
                    IntOrStr::Int(n) => n.to_string(),
                    IntOrStr::Str(s) => format!("\"{s}\""),
                };
                cx.err(
                    v.span(),
                    f("frame_size"),
                    format!(
                        "{shown}: expected a size in bytes, FCS included (64..=1518), or \
                        \"imix\""
                    ),
                );
                FrameSize::Fixed(64)
            }
        },
    };

    let rate_pps = match g.rate.get() {
        None => None,
        Some(v) => {
            let parsed = match v.get_ref() {
                IntOrStr::Int(n) if *n >= 1 => Ok(Some(*n as u64)),
                IntOrStr::Int(n) => Err(format!(
                    "{n}: a rate is at least 1 pps (leave it out, or say \"line\", for as \
                        fast as possible)"
                )),
                IntOrStr::Str(s) => parse_rate(s),
            };
            parsed.unwrap_or_else(|e| {
                cx.err(v.span(), f("rate"), e);
                None
            })
        }
    };

    let vlan = cx.ranged(&g.vlan, f("vlan"), 1, 4094).map(|n| n as u16);
    let count = match g.count.get() {
        Some(c) if *c.get_ref() < 1 => {
            cx.err(
                c.span(),
                f("count"),
                format!(
                    "{}: count is at least 1 (leave it out to generate forever)",
                    c.get_ref()
                ),
            );
            None
        }
        Some(c) => Some(*c.get_ref() as u64),
        None => None,
    };
    let arp_reply = g.arp_reply.or(true);

    GenOptions {
        src: src.unwrap_or(Ipv4Addr::UNSPECIFIED),
        src_count,
        dst: dst.unwrap_or(Ipv4Addr::UNSPECIFIED),
        dst_count,
        src_port,
        src_port_count,
        dst_port,
        dst_port_count,
        frame_size,
        rate_pps,
        vlan,
        count,
        arp_reply,
    }
}

/// A count of consecutive addresses from `start` (default 1), which must
/// not run past 255.255.255.255.
fn addr_count(start: Option<Ipv4Addr>, f: &Field<i64>, field: String, cx: &mut Cx<'_>) -> u32 {
    let Some(n) = cx.ranged(f, field.clone(), 1, u32::MAX.into()) else {
        return 1;
    };
    if let (Some(start), Some(v)) = (start, f.get()) {
        let last = u64::from(u32::from(start)) + n as u64 - 1;
        if last > u64::from(u32::MAX) {
            cx.err(
                v.span(),
                field,
                format!("{n} addresses from {start} run past 255.255.255.255"),
            );
        }
    }
    n as u32
}

/// A count of consecutive ports from `start` (default 1), which must not
/// run past 65535.
fn port_count(start: u16, f: &Field<i64>, field: String, cx: &mut Cx<'_>) -> u16 {
    let Some(n) = cx.ranged(f, field.clone(), 1, 65535) else {
        return 1;
    };
    if i64::from(start) + n - 1 > 65535 {
        if let Some(v) = f.get() {
            cx.err(
                v.span(),
                field,
                format!("{n} ports from {start} run past 65535"),
            );
        }
    }
    n as u16
}

fn mem(m: &RawMem, p: &str, cx: &mut Cx<'_>) -> MemOptions {
    let f = |k: &str| format!("{p}.{k}");
    let mut link = String::new();
    match &m.link {
        Field::Present(l) if l.get_ref().is_empty() => {
            cx.err(l.span(), f("link"), "empty link name")
        }
        Field::Present(l) => link = l.get_ref().clone(),
        Field::Absent => cx.missing(&m.span, f("link")),
        Field::Invalid => {}
    }
    let mut ring = 1024;
    if let Some(r) = m.ring.get() {
        let n = *r.get_ref();
        if (32..=65536).contains(&n) && (n as u64).is_power_of_two() {
            ring = n as usize;
        } else {
            cx.err(
                r.span(),
                f("ring"),
                format!("{n}: a ring size is a power of two from 32 to 65536"),
            );
        }
    }
    MemOptions {
        link,
        ring,
        peer: None,
    }
}

fn pcap(pc: &RawPcap, p: &str, dir: &Path, cx: &mut Cx<'_>) -> PcapOptions {
    let f = |k: &str| format!("{p}.{k}");
    if pc.rx.is_absent() && pc.tx.is_absent() {
        cx.err(pc.span.clone(), p.to_owned(), "needs rx, tx or both");
    }
    let rx = cx.parsed(&pc.rx, f("rx"), |s| {
        if s.is_empty() {
            return Err("empty path".into());
        }
        let path = dir.join(s);
        if path.is_dir() {
            Err(format!(
                "{} is a directory, not a capture file",
                path.display()
            ))
        } else if !path.exists() {
            Err(format!("file not found: {}", path.display()))
        } else {
            Ok(path)
        }
    });
    let tx = cx.parsed(&pc.tx, f("tx"), |s| {
        if s.is_empty() {
            return Err("empty path".into());
        }
        let path = dir.join(s);
        match path.parent() {
            _ if path.is_dir() => Err(format!("{} is a directory, not a file", path.display())),
            Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => Err(format!(
                "directory not found: {} (for {})",
                parent.display(),
                path.display()
            )),
            _ => Ok(path),
        }
    });
    let repeat = match pc.repeat.get() {
        None => Repeat::Times(1),
        Some(v) => match v.get_ref() {
            IntOrStr::Int(n) if *n >= 1 => Repeat::Times(*n as u64),
            IntOrStr::Str(s) if s == "forever" => Repeat::Forever,
            other => {
                let shown = match other {
                    IntOrStr::Int(n) => n.to_string(),
                    IntOrStr::Str(s) => format!("\"{s}\""),
                };
                cx.err(
                    v.span(),
                    f("repeat"),
                    format!("{shown}: expected a number of times (at least 1) or \"forever\""),
                );
                Repeat::Times(1)
            }
        },
    };
    PcapOptions {
        rx,
        tx,
        repeat,
        deterministic: pc.deterministic.or(false),
    }
}

fn af_packet(
    a: &RawAfPacket,
    p: &str,
    nworkers: Option<usize>,
    cx: &mut Cx<'_>,
) -> AfPacketOptions {
    let f = |k: &str| format!("{p}.{k}");
    if a.iface.is_absent() {
        cx.missing(&a.span, f("iface"));
    }
    let iface = cx
        .parsed(&a.iface, f("iface"), |s| {
            let bad = s.is_empty()
                || s.len() > 15
                || s == "."
                || s == ".."
                || s.chars()
                    .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
            if bad {
                Err(format!(
                    "\"{s}\" is not a Linux interface name (1..=15 bytes, no '/', ':' or spaces)"
                ))
            } else {
                Ok(s.to_owned())
            }
        })
        .unwrap_or_default();
    let queues = cx
        .ranged(&a.queues, f("queues"), 1, 256)
        .map(|n| n as usize);
    if let (Some(q), Some(w), Some(v)) = (queues, nworkers, a.queues.get()) {
        if q != w {
            let s = if w == 1 { "" } else { "s" };
            cx.err(
                v.span(),
                f("queues"),
                format!(
                    "{q} queues, but there {} {w} worker{s}; each worker owns one queue of \
                    every port (leave queues out to match)",
                    if w == 1 { "is" } else { "are" }
                ),
            );
        }
    }
    AfPacketOptions {
        iface,
        queues,
        fanout_group: cx
            .ranged(&a.fanout_group, f("fanout_group"), 0, 65535)
            .map(|n| n as u16),
        promisc: a.promisc.or(true),
    }
}

fn dpdk_port(d: &RawDpdkPort, p: &str, dir: &Path, cx: &mut Cx<'_>) -> DpdkPortOptions {
    let f = |k: &str| format!("{p}.{k}");
    if d.device.is_absent() {
        cx.missing(&d.span, f("device"));
    }
    let device = cx
        .parsed(&d.device, f("device"), |s| parse_dpdk_device(s, dir))
        .unwrap_or_default();
    let mut desc = |field: &Field<i64>, key: &str| match field.get() {
        None => DEFAULT_DPDK_DESC,
        Some(v) => {
            let n = *v.get_ref();
            if (64..=16384).contains(&n) && (n as u64).is_power_of_two() {
                n as u16
            } else {
                cx.err(
                    v.span(),
                    f(key),
                    format!("{n}: a descriptor count is a power of two from 64 to 16384"),
                );
                DEFAULT_DPDK_DESC
            }
        }
    };
    let rx_desc = desc(&d.rx_desc, "rx_desc");
    let tx_desc = desc(&d.tx_desc, "tx_desc");
    DpdkPortOptions {
        device,
        rx_desc,
        tx_desc,
        promisc: d.promisc.or(true),
    }
}

/// What a DPDK device looks like, for messages.
const DEVICE_FORMS: &str = "expected a PCI address (0000:03:00.0 or 03:00.0) or a DPDK \
    vdev (net_<driver><n>[,key=value...], e.g. net_pcap0,rx_pcap=in.pcap)";

/// A `dpdk` device: a PCI address (normalised to `DDDD:BB:DD.F`, lower
/// case) or a vdev name `net_<driver><n>`, then `,key=value` arguments,
/// with `rx_pcap` and `tx_pcap` paths made absolute relative to `dir`.
fn parse_dpdk_device(s: &str, dir: &Path) -> Result<String, String> {
    if s.is_empty() {
        return Err(format!("empty device: {DEVICE_FORMS}"));
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("device \"{s}\" contains {c:?}; {DEVICE_FORMS}"));
    }
    let (name, args) = match s.split_once(',') {
        Some((name, args)) => (name, Some(args)),
        None => (s, None),
    };
    let mut out = dpdk_device_name(name)?;
    let vdev = name.starts_with("net_");
    let Some(args) = args else {
        return Ok(out);
    };
    for arg in split_device_args(args).map_err(|e| format!("device \"{s}\": {e}"))? {
        let bad = || {
            format!(
                "invalid device argument \"{arg}\" in \"{s}\": expected key=value \
                    (arguments are separated by ',')"
            )
        };
        let (key, value) = arg.split_once('=').ok_or_else(bad)?;
        let key_ok = !key.is_empty()
            && key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
        if !key_ok || value.is_empty() {
            return Err(bad());
        }
        if value.contains('=') {
            return Err(format!(
                "device argument \"{arg}\" in \"{s}\": a value cannot contain '=' (DPDK \
                    splits arguments at '=')"
            ));
        }
        out.push(',');
        out.push_str(key);
        out.push('=');
        match key {
            "rx_pcap" | "tx_pcap" if vdev => out.push_str(&device_path(key, value, dir)?),
            _ => out.push_str(value),
        }
    }
    Ok(out)
}

/// The name part of a device: a vdev name `net_<driver><n>` as it is, or
/// a PCI address normalised.
fn dpdk_device_name(name: &str) -> Result<String, String> {
    if let Some(rest) = name.strip_prefix("net_") {
        let driver = rest.trim_end_matches(|c: char| c.is_ascii_digit());
        let numbered = driver.len() < rest.len();
        if driver.is_empty()
            || !numbered
            || !driver.bytes().all(|c| c.is_ascii_lowercase() || c == b'_')
        {
            return Err(format!(
                "invalid vdev name \"{name}\": expected net_<driver><n>, a lower-case DPDK \
                    driver name and an instance number, e.g. net_pcap0"
            ));
        }
        Ok(name.to_owned())
    } else if name.contains(':') && name.starts_with(|c: char| c.is_ascii_hexdigit()) {
        parse_pci(name)
    } else {
        Err(format!("\"{name}\" is not a DPDK device: {DEVICE_FORMS}"))
    }
}

/// `DDDD:BB:DD.F` or `BB:DD.F` (hex; the domain 4 to 8 digits, the device
/// at most 1f, the function at most 7), as `dddd:bb:dd.f`.
fn parse_pci(name: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "invalid PCI address \"{name}\": expected DDDD:BB:DD.F or BB:DD.F in hex \
                (e.g. 0000:03:00.0; device at most 1f, function at most 7)"
        )
    };
    let hex = |t: &str, lens: std::ops::RangeInclusive<usize>| {
        if lens.contains(&t.len()) && t.bytes().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(t, 16).ok()
        } else {
            None
        }
    };
    let parts: Vec<&str> = name.split(':').collect();
    let (domain, bus, rest) = match parts[..] {
        [bus, rest] => (Some(0), bus, rest),
        [domain, bus, rest] => (hex(domain, 4..=8), bus, rest),
        _ => return Err(bad()),
    };
    let (dev, func) = rest.split_once('.').ok_or_else(bad)?;
    match (domain, hex(bus, 2..=2), hex(dev, 2..=2), hex(func, 1..=1)) {
        (Some(domain), Some(bus), Some(dev), Some(func)) if dev <= 0x1f && func <= 7 => {
            Ok(format!("{domain:04x}:{bus:02x}:{dev:02x}.{func:x}"))
        }
        _ => Err(bad()),
    }
}

/// Split device arguments at the commas outside `[...]` (DPDK's lists).
fn split_device_args(args: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in args.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| "a ']' without its '['".to_owned())?
            }
            ',' if depth == 0 => {
                out.push(&args[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err("a '[' without its ']'".into());
    }
    out.push(&args[start..]);
    if out.iter().any(|a| a.is_empty()) {
        return Err("an empty argument (a stray ',')".into());
    }
    Ok(out)
}

/// The absolute path of a capture named in a vdev argument, relative to
/// `dir`; an `rx_pcap` file must exist, a `tx_pcap` file's directory too.
fn device_path(key: &str, value: &str, dir: &Path) -> Result<String, String> {
    let joined = dir.join(value);
    let path: PathBuf = std::path::absolute(&joined).unwrap_or(joined);
    if path.is_dir() {
        return Err(format!(
            "{key} {} is a directory, not a capture file",
            path.display()
        ));
    }
    if key == "rx_pcap" {
        if !path.exists() {
            return Err(format!("{key} file not found: {}", path.display()));
        }
    } else if let Some(parent) = path.parent().filter(|p| !p.is_dir()) {
        return Err(format!(
            "{key} directory not found: {} (for {})",
            parent.display(),
            path.display()
        ));
    }
    let text = path
        .to_str()
        .ok_or_else(|| format!("{key} path {} is not UTF-8", path.display()))?;
    if let Some(c) = text.chars().find(|&c| c == ',' || c == '=') {
        return Err(format!(
            "{key} path {text} contains {c:?}, which DPDK takes as an argument separator; \
                move the capture"
        ));
    }
    Ok(text.to_owned())
}

// ---------------------------------------------------------------------------
// Tunnels
// ---------------------------------------------------------------------------

/// What the later tunnel checks need from the first pass.
struct TunFacts {
    /// The underlay VRF, if known.
    underlay: Option<usize>,
    /// The mtu if given and in range.
    mtu: Option<u16>,
    /// Whether the mtu was given (good or not).
    mtu_given: bool,
    /// The destination, if good.
    destination: Option<Ipv4Addr>,
    /// The source, once resolved: address and owner.
    source: Option<(Ipv4Addr, IfRef)>,
    /// Whether the (overlay) VRF is known.
    vrf_ok: bool,
    /// Whether some address was wrong (reported).
    addr_failed: bool,
}

fn tunnels(
    raw: &[RawTunnel],
    vrfs: &[Vrf],
    ifaces: &[Interface],
    facts: &mut IfFacts,
    cx: &mut Cx<'_>,
) -> Vec<Tunnel> {
    let vrf_names = Names::new(vrfs.iter().map(|v| v.name.as_str()));
    let mut out: Vec<Tunnel> = Vec::with_capacity(raw.len());
    let mut tf: Vec<TunFacts> = Vec::with_capacity(raw.len());
    // Names taken so far: interfaces (all of them) and earlier tunnels,
    // with whether it is a tunnel and where.
    let mut names: HashMap<String, (bool, Range<usize>)> = HashMap::new();
    for n in facts.names.iter().flatten() {
        names
            .entry(n.get_ref().clone())
            .or_insert((false, n.span()));
    }

    for (idx, r) in raw.iter().enumerate() {
        let f = |k: &str| format!("{}.{k}", r.path);

        let mut name = String::new();
        match &r.name {
            Field::Present(n) => {
                name = n.get_ref().clone();
                if let Err(e) = check_name(&name, "tunnel", 15) {
                    cx.err(n.span(), f("name"), e);
                }
                match names.get(&name) {
                    Some((true, at)) => {
                        let line = cx.line(at);
                        cx.err(
                            n.span(),
                            f("name"),
                            format!(
                                "duplicate tunnel name \"{name}\" (first defined at line {line})"
                            ),
                        );
                    }
                    Some((false, at)) => {
                        let line = cx.line(at);
                        cx.err(
                            n.span(),
                            f("name"),
                            format!(
                                "\"{name}\" is already the name of an interface (line {line}); \
                                    interfaces and tunnels share names"
                            ),
                        );
                    }
                    None => {
                        names.insert(name.clone(), (true, n.span()));
                    }
                }
            }
            Field::Absent => cx.missing(&r.span, f("name")),
            Field::Invalid => {}
        }

        let vrf = cx.vrf(&r.vrf, f("vrf"), &vrf_names);
        let underlay = cx.vrf(&r.underlay_vrf, f("underlay_vrf"), &vrf_names);

        if r.source.is_absent() {
            cx.missing(&r.span, f("source"));
        }
        if r.destination.is_absent() {
            cx.missing(&r.span, f("destination"));
        }
        let destination = cx.parsed(&r.destination, f("destination"), |s| {
            let ip = parse_ipv4(s)?;
            check_unicast(ip)?;
            Ok(ip)
        });

        let key = cx
            .ranged(&r.key, f("key"), 0, u32::MAX.into())
            .map(|n| n as u32);
        let ttl = cx
            .ranged(&r.ttl, f("ttl"), 1, 255)
            .map_or(DEFAULT_TUNNEL_TTL, |n| n as u8);

        let df = match r.df.get() {
            None => TunnelDf::Copy,
            Some(v) => match v.get_ref().as_str() {
                "copy" => TunnelDf::Copy,
                "set" => TunnelDf::Set,
                "clear" => TunnelDf::Clear,
                other => {
                    cx.err(
                        v.span(),
                        f("df"),
                        format!("unknown df \"{other}\" (expected copy, set or clear)"),
                    );
                    TunnelDf::Copy
                }
            },
        };
        // An outer header with DF set cannot be fragmented: with df = "set"
        // the default is "inner", and "outer" is a contradiction.
        let fragment = match r.fragment.get() {
            None if df == TunnelDf::Set => TunnelFragment::Inner,
            None => TunnelFragment::Outer,
            Some(v) => match v.get_ref().as_str() {
                "outer" if df == TunnelDf::Set => {
                    cx.err(
                        v.span(),
                        f("fragment"),
                        "\"outer\" fragments the outer packet, but df = \"set\" forbids it; \
                            use \"inner\" (the default with df = \"set\") or another df",
                    );
                    TunnelFragment::Outer
                }
                "outer" => TunnelFragment::Outer,
                "inner" => TunnelFragment::Inner,
                other => {
                    cx.err(
                        v.span(),
                        f("fragment"),
                        format!("unknown fragment \"{other}\" (expected outer or inner)"),
                    );
                    TunnelFragment::Outer
                }
            },
        };

        let mtu = cx.ranged(&r.mtu, f("mtu"), 68, 9216).map(|n| n as u16);

        let (addresses, addr_spans, addr_failed) = if_addresses(&r.addresses, &r.path, cx);
        if let Some(v) = vrf {
            facts.addrs.extend(addr_spans.into_iter().map(|at| VrfAddr {
                vrf: v,
                owner: IfRef::Tunnel(idx),
                at,
            }));
        }

        let keepalive = r.keepalive.get().map(|k| {
            let k = k.get_ref();
            let d = Keepalive::default();
            let p = |key: &str| f(&format!("keepalive.{key}"));
            Keepalive {
                interval: cx
                    .ranged(&k.interval, p("interval"), 1, 32767)
                    .map_or(d.interval, |n| n as u16),
                retries: cx
                    .ranged(&k.retries, p("retries"), 1, 255)
                    .map_or(d.retries, |n| n as u8),
            }
        });

        tf.push(TunFacts {
            underlay,
            mtu,
            mtu_given: !r.mtu.is_absent(),
            destination,
            source: None,
            vrf_ok: vrf.is_some(),
            addr_failed,
        });
        out.push(Tunnel {
            name,
            vrf: vrf.unwrap_or(0),
            underlay_vrf: underlay.unwrap_or(0),
            // Placeholders until the sources are resolved below.
            source: Ipv4Addr::UNSPECIFIED,
            source_on: IfRef::Interface(0),
            destination: destination.unwrap_or(Ipv4Addr::UNSPECIFIED),
            key,
            sequence: r.sequence.or(false),
            checksum: r.checksum.or(false),
            ttl,
            df,
            fragment,
            mtu: 0,
            addresses,
            keepalive,
        });
    }

    tunnel_sources(raw, vrfs, ifaces, facts, &mut out, &mut tf, cx);
    check_tunnel_tuples(raw, vrfs, &out, &tf, cx);
    tunnel_mtus(raw, ifaces, &mut out, &tf, cx);
    out
}

/// Resolve each tunnel's source in its underlay VRF: an address of an
/// interface or tunnel there, or the name of one (its first address).
fn tunnel_sources(
    raw: &[RawTunnel],
    vrfs: &[Vrf],
    ifaces: &[Interface],
    facts: &IfFacts,
    out: &mut [Tunnel],
    tf: &mut [TunFacts],
    cx: &mut Cx<'_>,
) {
    let nif = ifaces.len();
    let tunnel_names: Vec<String> = out.iter().map(|t| t.name.clone()).collect();
    let all_names = Names::new(
        ifaces
            .iter()
            .map(|i| i.name.as_str())
            .chain(tunnel_names.iter().map(String::as_str)),
    );
    // (vrf, address) → owner: the first one (overlaps are reported).
    let mut own: HashMap<(usize, Ipv4Addr), IfRef> = HashMap::new();
    for a in &facts.addrs {
        own.entry((a.vrf, a.at.addr.addr)).or_insert(a.owner);
    }
    let name_of = |r: IfRef, out: &[Tunnel]| match r {
        IfRef::Interface(i) => ifaces[i].name.clone(),
        IfRef::Tunnel(t) => out[t].name.clone(),
    };

    for (idx, r) in raw.iter().enumerate() {
        let field = format!("{}.source", r.path);
        let Some(src) = r.source.get() else { continue };
        let s = src.get_ref().as_str();
        let looks_like_ip = !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit() || c == b'.');
        let found: Option<(Ipv4Addr, IfRef)> = if looks_like_ip {
            let ip = match parse_ipv4(s) {
                Ok(ip) => ip,
                Err(e) => {
                    cx.err(src.span(), field, e);
                    continue;
                }
            };
            let Some(u) = tf[idx].underlay else { continue };
            match own.get(&(u, ip)) {
                Some(&o) => Some((ip, o)),
                None => {
                    let mut here: Vec<String> = facts
                        .addrs
                        .iter()
                        .filter(|a| a.vrf == u)
                        .map(|a| format!("{} on {}", a.at.addr.addr, name_of(a.owner, out)))
                        .collect();
                    const SHOWN: usize = 20;
                    let more = here.len().saturating_sub(SHOWN);
                    here.truncate(SHOWN);
                    let mut listed = if here.is_empty() {
                        "it has none there".to_owned()
                    } else {
                        format!("its addresses there: {}", here.join(", "))
                    };
                    if more > 0 {
                        listed.push_str(&format!(" and {more} more"));
                    }
                    let elsewhere = facts
                        .addrs
                        .iter()
                        .find(|a| a.at.addr.addr == ip)
                        .map(|a| {
                            format!(
                                "; it is {}'s address in VRF \"{}\"",
                                name_of(a.owner, out),
                                vrfs[a.vrf].name
                            )
                        })
                        .unwrap_or_default();
                    cx.err(
                        src.span(),
                        field,
                        format!(
                            "{ip} is not an address of this router in the underlay VRF \
                                \"{}\" ({listed}){elsewhere}",
                            vrfs[u].name
                        ),
                    );
                    None
                }
            }
        } else {
            let Some(k) = cx.interface(src, field.clone(), &all_names) else {
                continue;
            };
            let (owner, what, vrf_ok, owner_vrf, addrs, failed) = if k < nif {
                let i = &ifaces[k];
                (
                    IfRef::Interface(k),
                    "interface",
                    facts.vrf_ok[k],
                    i.vrf,
                    &i.addresses,
                    facts.addr_failed[k],
                )
            } else {
                let t = &out[k - nif];
                (
                    IfRef::Tunnel(k - nif),
                    "tunnel",
                    tf[k - nif].vrf_ok,
                    t.vrf,
                    &t.addresses,
                    tf[k - nif].addr_failed,
                )
            };
            let Some(u) = tf[idx].underlay.filter(|_| vrf_ok) else {
                continue;
            };
            if owner_vrf != u {
                cx.err(
                    src.span(),
                    field,
                    format!(
                        "{what} \"{s}\" is in VRF \"{}\", not in the tunnel's underlay VRF \"{}\"",
                        vrfs[owner_vrf].name, vrfs[u].name
                    ),
                );
                None
            } else if let Some(a) = addrs.first() {
                Some((a.addr, owner))
            } else {
                if !failed {
                    cx.err(
                        src.span(),
                        field,
                        format!("{what} \"{s}\" has no address to be the tunnel's source"),
                    );
                }
                None
            }
        };
        let Some((ip, owner)) = found else { continue };
        if owner == IfRef::Tunnel(idx) {
            cx.err(
                src.span(),
                format!("{}.source", r.path),
                format!("{ip} is this tunnel's own address: a tunnel cannot carry itself"),
            );
            continue;
        }
        tf[idx].source = Some((ip, owner));
        out[idx].source = ip;
        out[idx].source_on = owner;
        if let (Some(d), Some(dspan)) = (tf[idx].destination, r.destination.get()) {
            if d == ip {
                cx.err(
                    dspan.span(),
                    format!("{}.destination", r.path),
                    format!("{d} is the tunnel's source; the far end is another address"),
                );
                tf[idx].destination = None;
            }
        }
    }
}

/// No two tunnels have the same underlay VRF, source, destination and key:
/// a received packet could not be given to one of them.
fn check_tunnel_tuples(
    raw: &[RawTunnel],
    vrfs: &[Vrf],
    out: &[Tunnel],
    tf: &[TunFacts],
    cx: &mut Cx<'_>,
) {
    let mut seen: HashMap<(usize, Ipv4Addr, Ipv4Addr, Option<u32>), usize> = HashMap::new();
    for (i, t) in tf.iter().enumerate() {
        let (Some(u), Some((src, _)), Some(dst), Some(dspan)) = (
            t.underlay,
            t.source,
            t.destination,
            raw[i].destination.get(),
        ) else {
            continue;
        };
        // A key that was wrong is reported; leave the tunnel out.
        if out[i].key.is_none() && !raw[i].key.is_absent() {
            continue;
        }
        let tuple = (u, src, dst, out[i].key);
        match seen.get(&tuple) {
            Some(&j) => {
                let line = raw[j].destination.get().map_or(0, |d| cx.line(&d.span()));
                let key = match out[i].key {
                    Some(k) => format!("key {k}"),
                    None => "no key".to_owned(),
                };
                cx.err(
                    dspan.span(),
                    format!("{}.destination", raw[i].path),
                    format!(
                        "{} (line {line}) has the same underlay VRF \"{}\", source {src}, \
                            destination {dst} and {key}: received packets could not be told \
                            apart (give one of them another key)",
                        raw[j].path, vrfs[u].name
                    ),
                );
            }
            None => {
                seen.insert(tuple, i);
            }
        }
    }
}

/// Each tunnel's MTU: the configured one, at most the MTU of its source's
/// interface (or tunnel) minus its overhead, or by default exactly that.
/// Tunnels sourced from tunnels are done after those; a cycle of them is
/// reported.
fn tunnel_mtus(
    raw: &[RawTunnel],
    ifaces: &[Interface],
    out: &mut [Tunnel],
    tf: &[TunFacts],
    cx: &mut Cx<'_>,
) {
    let n = out.len();
    // The effective MTU where known (`None`: unknown, and checks against it
    // are skipped: whatever made it unknown is reported).
    let mut mtu: Vec<Option<u16>> = vec![None; n];
    let mut done = vec![false; n];
    loop {
        let mut progress = false;
        for t in 0..n {
            if done[t] {
                continue;
            }
            let under = match tf[t].source.map(|s| s.1) {
                None => None,
                Some(IfRef::Interface(i)) => Some((ifaces[i].mtu, ifaces[i].name.clone())),
                Some(IfRef::Tunnel(o)) if done[o] => {
                    mtu[o].map(|m| (m, format!("tunnel {}", out[o].name)))
                }
                Some(IfRef::Tunnel(_)) => continue,
            };
            done[t] = true;
            progress = true;
            let tun = &out[t];
            let overhead = tun.overhead();
            let parts = tun.overhead_parts();
            mtu[t] = match (under, tf[t].mtu) {
                (_, None) if tf[t].mtu_given => None,
                (None, m) => m,
                (Some((u, on)), Some(m)) => {
                    let max = u - overhead;
                    if m > max {
                        let span = raw[t].mtu.get().map_or(raw[t].span.clone(), |m| m.span());
                        cx.err(
                            span,
                            format!("{}.mtu", raw[t].path),
                            format!(
                                "{m} is larger than {max}: {on}'s MTU {u} minus the tunnel's \
                                    overhead of {overhead} bytes ({parts})"
                            ),
                        );
                        None
                    } else {
                        Some(m)
                    }
                }
                (Some((u, on)), None) => {
                    let max = u - overhead;
                    if max < 68 {
                        let span = raw[t]
                            .source
                            .get()
                            .map_or(raw[t].span.clone(), |s| s.span());
                        cx.err(
                            span,
                            format!("{}.source", raw[t].path),
                            format!(
                                "the tunnel's MTU would be {max}: {on}'s MTU {u} minus the \
                                    tunnel's overhead of {overhead} bytes ({parts}), below \
                                    the minimum of 68"
                            ),
                        );
                        None
                    } else {
                        Some(max)
                    }
                }
            };
        }
        if !progress {
            break;
        }
    }

    // What is left is sourced from tunnels in a cycle, or on one.
    let carrier = |t: usize| match tf[t].source.map(|s| s.1) {
        Some(IfRef::Tunnel(o)) => Some(o),
        _ => None,
    };
    for t in (0..n).filter(|&t| !done[t]) {
        let mut chain = vec![t];
        let mut at = t;
        while let Some(o) = carrier(at) {
            chain.push(o);
            if o == t || chain.len() > n {
                break;
            }
            at = o;
        }
        if chain.last() != Some(&t) {
            continue;
        }
        let names: Vec<&str> = chain.iter().map(|&k| out[k].name.as_str()).collect();
        if let Some(src) = raw[t].source.get() {
            cx.err(
                src.span(),
                format!("{}.source", raw[t].path),
                format!(
                    "{} is an address of tunnel {}, whose source leads back to this tunnel: \
                        tunnels cannot take their sources from each other in a cycle ({})",
                    out[t].source,
                    names[1],
                    names.join(" → ")
                ),
            );
        }
    }

    for (t, tun) in out.iter_mut().enumerate() {
        tun.mtu = mtu[t].or(tf[t].mtu).unwrap_or(1476);
    }
}

// ---------------------------------------------------------------------------
// Routes and neighbors
// ---------------------------------------------------------------------------

fn routes(
    raw: &[RawRoute],
    vrfs: &[Vrf],
    ifaces: &[Interface],
    tunnels: &[Tunnel],
    cx: &mut Cx<'_>,
) -> Vec<StaticRoute> {
    let mut out = Vec::with_capacity(raw.len());
    let vrf_names = Names::new(vrfs.iter().map(|v| v.name.as_str()));
    // Interfaces, then tunnels: one set of names.
    let nif = ifaces.len();
    let if_names = Names::new(
        ifaces
            .iter()
            .map(|i| i.name.as_str())
            .chain(tunnels.iter().map(|t| t.name.as_str())),
    );
    let if_vrf = |k: usize| match k.checked_sub(nif) {
        None => ("interface", ifaces[k].vrf),
        Some(t) => ("tunnel", tunnels[t].vrf),
    };
    // The router's own addresses: (vrf, address) → interface or tunnel
    // name.
    let own: HashMap<(usize, Ipv4Addr), &str> = ifaces
        .iter()
        .map(|i| (i.vrf, &i.addresses, i.name.as_str()))
        .chain(
            tunnels
                .iter()
                .map(|t| (t.vrf, &t.addresses, t.name.as_str())),
        )
        .flat_map(|(vrf, addrs, name)| addrs.iter().map(move |a| ((vrf, a.addr), name)))
        .collect();
    // (vrf, prefix, len, distance) → where first seen
    let mut seen: HashMap<(usize, u32, u8, u8), First> = HashMap::new();

    for r in raw {
        let f = |k: &str| format!("{}.{k}", r.path);
        let vrf = cx.vrf(&r.vrf, f("vrf"), &vrf_names);
        // The VRF of the next hop: the route's own unless leaked.
        let leaked = !r.next_hop_vrf.is_absent();
        let nh_vrf = if leaked {
            cx.vrf(&r.next_hop_vrf, f("next_hop_vrf"), &vrf_names)
        } else {
            vrf
        };

        if r.prefix.is_absent() {
            cx.missing(&r.span, f("prefix"));
        }
        let prefix = cx.parsed(&r.prefix, f("prefix"), parse_prefix);

        let via = cx.parsed(&r.via, f("via"), |s| {
            let ip = parse_ipv4(s)?;
            check_unicast(ip)?;
            if let Some(name) = nh_vrf.and_then(|v| own.get(&(v, ip))) {
                let in_vrf = match nh_vrf {
                    Some(v) if leaked => format!(" in VRF \"{}\"", vrfs[v].name),
                    _ => String::new(),
                };
                return Err(format!(
                    "{ip} is this router's own address (on {name}{in_vrf}); a next hop is \
                        another host"
                ));
            }
            Ok(ip)
        });

        // An interface or a tunnel (`k` indexes interfaces, then tunnels).
        let target = r.interface.get().and_then(|name| {
            let k = cx.interface(name, f("interface"), &if_names)?;
            let (what, owner_vrf) = if_vrf(k);
            match nh_vrf {
                Some(v) if owner_vrf != v => {
                    let whose = if leaked {
                        "next_hop_vrf"
                    } else {
                        "route's VRF"
                    };
                    cx.err(
                        name.span(),
                        f("interface"),
                        format!(
                            "{what} \"{}\" is in VRF \"{}\", not in the {whose} \"{}\"",
                            name.get_ref(),
                            vrfs[owner_vrf].name,
                            vrfs[v].name
                        ),
                    );
                    None
                }
                _ => Some(k),
            }
        });
        let interface = target.filter(|&k| k < nif);
        let tunnel = target.and_then(|k| k.checked_sub(nif));

        let action = match r.action.get() {
            None => Some(RouteAction::Forward),
            Some(a) => match a.get_ref().as_str() {
                "forward" => Some(RouteAction::Forward),
                "blackhole" => Some(RouteAction::Blackhole),
                "reject" => Some(RouteAction::Reject),
                other => {
                    cx.err(
                        a.span(),
                        f("action"),
                        format!(
                            "unknown action \"{other}\" \
                            (expected forward, blackhole or reject)"
                        ),
                    );
                    None
                }
            },
        };
        match action {
            Some(RouteAction::Forward) if r.via.is_absent() && r.interface.is_absent() => cx.err(
                r.span.clone(),
                r.path.clone(),
                "a forward route needs via, interface or both",
            ),
            Some(a @ (RouteAction::Blackhole | RouteAction::Reject)) => {
                for (key, field) in [
                    ("via", &r.via),
                    ("interface", &r.interface),
                    ("next_hop_vrf", &r.next_hop_vrf),
                ] {
                    if let Some(v) = field.get() {
                        cx.err(
                            v.span(),
                            f(key),
                            format!("a {a} route drops its packets and takes no {key}"),
                        );
                    }
                }
            }
            _ => {}
        }

        let distance = cx
            .ranged(&r.distance, f("distance"), 1, 255)
            .map_or(1, |n| n as u8);

        if let (Some(v), Some((addr, len)), Some(span)) =
            (vrf, prefix, r.prefix.get().map(|p| p.span()))
        {
            let key = (v, u32::from(addr), len, distance);
            if let Some(first) = seen.get(&key) {
                let (other, line) = (&first.path, cx.line(&first.span));
                cx.err(
                    span,
                    f("prefix"),
                    format!(
                        "duplicate route: {other} (line {line}) has the same prefix and \
                            distance {distance} in VRF \"{}\"",
                        vrfs[v].name
                    ),
                );
            } else {
                seen.insert(
                    key,
                    First {
                        path: r.path.clone(),
                        span,
                    },
                );
            }
        }

        let (prefix, len) = prefix.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
        out.push(StaticRoute {
            vrf: vrf.unwrap_or(0),
            prefix,
            len,
            next_hop_vrf: nh_vrf.or(vrf).unwrap_or(0),
            via,
            interface,
            tunnel,
            action: action.unwrap_or(RouteAction::Forward),
            distance,
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Policy routing
// ---------------------------------------------------------------------------

fn policies(
    raw: &[RawPolicy],
    vrfs: &[Vrf],
    ifaces: &[Interface],
    tunnels: &[Tunnel],
    cx: &mut Cx<'_>,
) -> Vec<Policy> {
    let vrf_names = Names::new(vrfs.iter().map(|v| v.name.as_str()));
    let nif = ifaces.len();
    let if_names = Names::new(
        ifaces
            .iter()
            .map(|i| i.name.as_str())
            .chain(tunnels.iter().map(|t| t.name.as_str())),
    );
    let tunnel_names = Names::new(tunnels.iter().map(|t| t.name.as_str()));
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let f = |k: &str| format!("{}.{k}", r.path);
        // Scope: exactly one of interface, vrf, local = true.
        let local = r.local.or(false);
        let given = usize::from(!r.interface.is_absent())
            + usize::from(!r.vrf.is_absent())
            + usize::from(local);
        if given != 1 {
            cx.err(
                r.span.clone(),
                r.path.clone(),
                "a policy applies to exactly one of: interface = \"NAME\", vrf = \"NAME\" \
                    or local = true",
            );
        }
        let scope = if let Some(name) = r.interface.get() {
            cx.interface(name, f("interface"), &if_names).map(|k| {
                PolicyScope::Interface(match k.checked_sub(nif) {
                    None => IfRef::Interface(k),
                    Some(t) => IfRef::Tunnel(t),
                })
            })
        } else if !r.vrf.is_absent() {
            cx.vrf(&r.vrf, f("vrf"), &vrf_names).map(PolicyScope::Vrf)
        } else {
            Some(PolicyScope::Local)
        };
        let scope_vrf = match scope {
            Some(PolicyScope::Interface(IfRef::Interface(i))) => Some(ifaces[i].vrf),
            Some(PolicyScope::Interface(IfRef::Tunnel(t))) => Some(tunnels[t].vrf),
            Some(PolicyScope::Vrf(v)) => Some(v),
            Some(PolicyScope::Local) => Some(0),
            None => None,
        };
        let any = (Ipv4Addr::UNSPECIFIED, 0);
        let src = cx.parsed(&r.src, f("src"), parse_prefix).unwrap_or(any);
        let dst = cx.parsed(&r.dst, f("dst"), parse_prefix).unwrap_or(any);
        let protocol = match r.protocol.get() {
            None => None,
            Some(v) => match parse_protocol(v.get_ref()) {
                Ok(p) => Some(p),
                Err(e) => {
                    cx.err(v.span(), f("protocol"), e);
                    None
                }
            },
        };
        let mut ports = |field: &Field<IntOrStr>, key: &str| {
            let v = field.get()?;
            if !matches!(protocol, Some(6 | 17)) {
                cx.err(
                    v.span(),
                    f(key),
                    "ports need protocol = \"tcp\" or \"udp\" in the same policy",
                );
                return None;
            }
            match parse_port_range(v.get_ref()) {
                Ok(r) => Some(r),
                Err(e) => {
                    cx.err(v.span(), f(key), e);
                    None
                }
            }
        };
        let src_ports = ports(&r.src_port, "src_port");
        let dst_ports = ports(&r.dst_port, "dst_port");
        let dscp = cx.ranged(&r.dscp, f("dscp"), 0, 63).map(|n| n as u8);

        // The action: exactly one of next_hop, set_vrf, tunnel.
        let actions = usize::from(!r.next_hop.is_absent())
            + usize::from(!r.set_vrf.is_absent())
            + usize::from(!r.tunnel.is_absent());
        if actions != 1 {
            cx.err(
                r.span.clone(),
                r.path.clone(),
                "a policy needs exactly one action: next_hop = \"ADDRESS\", \
                    set_vrf = \"NAME\" or tunnel = \"NAME\"",
            );
        }
        if let (Some(v), true) = (r.next_hop_vrf.get(), r.next_hop.is_absent()) {
            cx.err(
                v.span(),
                f("next_hop_vrf"),
                "next_hop_vrf goes with next_hop",
            );
        }
        let target = if !r.next_hop.is_absent() {
            let vrf = if r.next_hop_vrf.is_absent() {
                scope_vrf
            } else {
                cx.vrf(&r.next_hop_vrf, f("next_hop_vrf"), &vrf_names)
            };
            let via = cx.parsed(&r.next_hop, f("next_hop"), |s| {
                let ip = parse_ipv4(s)?;
                check_unicast(ip)?;
                Ok(ip)
            });
            match (vrf, via) {
                (Some(vrf), Some(via)) => {
                    let on_link = ifaces
                        .iter()
                        .map(|i| (i.vrf, &i.addresses))
                        .chain(tunnels.iter().map(|t| (t.vrf, &t.addresses)))
                        .filter(|(v, _)| *v == vrf)
                        .flat_map(|(_, a)| a.iter())
                        .any(|a| a.contains(via) && a.addr != via);
                    if !on_link {
                        if let Some(v) = r.next_hop.get() {
                            cx.err(
                                v.span(),
                                f("next_hop"),
                                format!(
                                    "{via} is on no connected subnet of VRF \"{}\" (a policy's \
                                        next hop is a neighbor, not one of the router's addresses)",
                                    vrfs[vrf].name
                                ),
                            );
                        }
                        None
                    } else {
                        Some(PolicyTarget::NextHop { vrf, via })
                    }
                }
                _ => None,
            }
        } else if !r.set_vrf.is_absent() {
            cx.vrf(&r.set_vrf, f("set_vrf"), &vrf_names)
                .map(PolicyTarget::Vrf)
        } else if let Some(name) = r.tunnel.get() {
            let t = tunnel_names.get(name.get_ref());
            if t.is_none() {
                cx.err(
                    name.span(),
                    f("tunnel"),
                    format!(
                        "unknown tunnel \"{}\" (defined: {})",
                        name.get_ref(),
                        if tunnel_names.list.is_empty() {
                            "none".to_owned()
                        } else {
                            tunnel_names.listed()
                        }
                    ),
                );
            }
            t.map(PolicyTarget::Tunnel)
        } else {
            None
        };
        if let (Some(scope), Some(target)) = (scope, target) {
            out.push(Policy {
                scope,
                src,
                dst,
                protocol,
                src_ports,
                dst_ports,
                dscp,
                target,
            });
        }
    }
    out
}

/// `tcp`, `udp`, `icmp`, `gre` or a protocol number 0..=255.
fn parse_protocol(v: &IntOrStr) -> Result<u8, String> {
    match v {
        IntOrStr::Int(n) => u8::try_from(*n).map_err(|_| format!("protocol {n} is not 0..=255")),
        IntOrStr::Str(s) => match s.to_ascii_lowercase().as_str() {
            "icmp" => Ok(1),
            "tcp" => Ok(6),
            "udp" => Ok(17),
            "gre" => Ok(47),
            other => other
                .parse::<u8>()
                .map_err(|_| format!("unknown protocol \"{s}\" (tcp, udp, icmp, gre or 0..=255)")),
        },
    }
}

/// A port `80` or a range `"1024-65535"` (inclusive, low first).
fn parse_port_range(v: &IntOrStr) -> Result<(u16, u16), String> {
    let port = |t: &str| {
        t.trim()
            .parse::<u16>()
            .map_err(|_| format!("invalid port \"{t}\" (0..=65535)"))
    };
    match v {
        IntOrStr::Int(n) => u16::try_from(*n)
            .map(|p| (p, p))
            .map_err(|_| format!("port {n} is not 0..=65535")),
        IntOrStr::Str(s) => {
            let (lo, hi) = match s.split_once('-') {
                Some((a, b)) => (port(a)?, port(b)?),
                None => {
                    let p = port(s)?;
                    (p, p)
                }
            };
            if lo > hi {
                return Err(format!("port range \"{s}\" is empty (low end first)"));
            }
            Ok((lo, hi))
        }
    }
}

fn neighbors(
    raw: &[super::raw::RawNeighbor],
    ifaces: &[Interface],
    tunnels: &[Tunnel],
    cx: &mut Cx<'_>,
) -> Vec<Neighbor> {
    let mut out = Vec::with_capacity(raw.len());
    let if_names = Names::new(ifaces.iter().map(|i| i.name.as_str()));
    let mut seen: HashMap<(usize, Ipv4Addr), First> = HashMap::new();
    for n in raw {
        let f = |k: &str| format!("{}.{k}", n.path);
        for (key, field) in [
            ("interface", &n.interface),
            ("address", &n.address),
            ("mac", &n.mac),
        ] {
            if field.is_absent() {
                cx.missing(&n.span, f(key));
            }
        }
        let interface = n.interface.get().and_then(|name| {
            if if_names.get(name.get_ref()).is_none()
                && tunnels.iter().any(|t| &t.name == name.get_ref())
            {
                cx.err(
                    name.span(),
                    f("interface"),
                    format!(
                        "\"{}\" is a GRE tunnel: point-to-point, without ARP, so it takes no \
                            neighbors",
                        name.get_ref()
                    ),
                );
                return None;
            }
            cx.interface(name, f("interface"), &if_names)
        });
        let address = cx.parsed(&n.address, f("address"), |s| {
            let ip = parse_ipv4(s)?;
            check_unicast(ip)?;
            let Some(iface) = interface.map(|i| &ifaces[i]) else {
                return Ok(ip);
            };
            let subnets = || {
                iface
                    .addresses
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if iface.addresses.is_empty() {
                return Err(format!(
                    "{ip} cannot be a neighbor on {}: it has no addresses",
                    iface.name
                ));
            }
            if iface.addresses.iter().any(|a| a.addr == ip) {
                return Err(format!("{ip} is {}'s own address", iface.name));
            }
            match iface.addresses.iter().find(|a| a.contains(ip)) {
                None => Err(format!(
                    "{ip} is outside {}'s subnets ({})",
                    iface.name,
                    subnets()
                )),
                Some(a) if a.len <= 30 && ip == a.network() => Err(format!(
                    "{ip} is the network address of {}/{}",
                    a.network(),
                    a.len
                )),
                Some(a) if a.len <= 30 && ip == a.broadcast() => Err(format!(
                    "{ip} is the broadcast address of {}/{}",
                    a.network(),
                    a.len
                )),
                Some(_) => Ok(ip),
            }
        });
        let mac = cx.parsed(&n.mac, f("mac"), parse_unicast_mac);

        if let (Some(i), Some(ip), Some(span)) =
            (interface, address, n.address.get().map(|a| a.span()))
        {
            if let Some(first) = seen.get(&(i, ip)) {
                let (other, line) = (&first.path, cx.line(&first.span));
                cx.err(
                    span,
                    f("address"),
                    format!(
                        "duplicate neighbor: {other} (line {line}) already gives {ip} on {}",
                        ifaces[i].name
                    ),
                );
            } else {
                seen.insert(
                    (i, ip),
                    First {
                        path: n.path.clone(),
                        span,
                    },
                );
            }
        }

        out.push(Neighbor {
            interface: interface.unwrap_or(0),
            address: address.unwrap_or(Ipv4Addr::UNSPECIFIED),
            mac: mac.unwrap_or([0; 6]),
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Value parsers
// ---------------------------------------------------------------------------

fn parse_ipv4(s: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| format!("invalid IPv4 address \"{s}\""))
}

/// Addresses that can be a host: not 0.0.0.0/8, loopback, multicast or
/// 240.0.0.0/4 (which includes the limited broadcast).
fn check_unicast(ip: Ipv4Addr) -> Result<(), String> {
    let o = ip.octets()[0];
    let what = match o {
        0 => "in 0.0.0.0/8 (\"this network\")",
        127 => "a loopback address",
        224..=239 => "a multicast address",
        240..=255 => "in 240.0.0.0/4 (reserved, or broadcast)",
        _ => return Ok(()),
    };
    Err(format!("{ip} is {what}, not a host address"))
}

/// `ADDRESS/LENGTH` with length 0..=32.
fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let Some((a, l)) = s.split_once('/') else {
        return Err(format!(
            "expected ADDRESS/LENGTH (e.g. 10.1.0.0/24), found \"{s}\""
        ));
    };
    let addr = parse_ipv4(a)?;
    let len = l
        .parse::<u8>()
        .ok()
        .filter(|&n| n <= 32 && l.bytes().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("invalid prefix length \"{l}\" in \"{s}\" (0..=32)"))?;
    Ok((addr, len))
}

/// A route prefix: `ADDRESS/LENGTH` with no host bits set.
fn parse_prefix(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = parse_cidr(s)?;
    let net = Ipv4Addr::from(u32::from(addr) & mask(len));
    if net != addr {
        return Err(format!("host bits set in {s}; did you mean {net}/{len}?"));
    }
    Ok((addr, len))
}

/// An interface address: a host address with a subnet length 1..=32.
fn parse_ifaddr(s: &str) -> Result<IfAddr, String> {
    let (addr, len) = parse_cidr(s)?;
    if len == 0 {
        return Err(format!("{s}: an interface subnet is /1 to /32"));
    }
    check_unicast(addr)?;
    let a = IfAddr { addr, len };
    if len <= 30 && addr == a.network() {
        return Err(format!(
            "{addr} is the network address of {}/{len}; give the router a host address in it",
            a.network()
        ));
    }
    if len <= 30 && addr == a.broadcast() {
        return Err(format!(
            "{addr} is the broadcast address of {}/{len}; give the router a host address in it",
            a.network()
        ));
    }
    Ok(a)
}

/// `aa:bb:cc:dd:ee:ff` (or with `-`), unicast and not all zeros.
fn parse_unicast_mac(s: &str) -> Result<[u8; 6], String> {
    let bad =
        || format!("invalid MAC address \"{s}\" (expected six hex octets, e.g. 02:00:00:00:00:01)");
    let sep = if s.contains('-') { '-' } else { ':' };
    let parts: Vec<&str> = s.split(sep).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (o, p) in mac.iter_mut().zip(&parts) {
        if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(format!(
            "{s} is a multicast MAC (the first octet is odd); use a unicast one"
        ));
    }
    if mac == [0; 6] {
        return Err("00:00:00:00:00:00 is not a usable MAC".into());
    }
    Ok(mac)
}

/// A rate: `N[kMG]pps` (N may have a fraction if the result is whole) or
/// `"line"` for as fast as possible (`None`).
fn parse_rate(s: &str) -> Result<Option<u64>, String> {
    let bad = || {
        format!(
            "invalid rate \"{s}\" (expected packets per second: an integer, \
                \"N[k|M|G]pps\" such as \"10Mpps\", or \"line\")"
        )
    };
    let t = s.trim();
    if t == "line" {
        return Ok(None);
    }
    let num = t.strip_suffix("pps").ok_or_else(bad)?.trim_end();
    let (num, mult) = match num.as_bytes().last() {
        Some(b'k' | b'K') => (&num[..num.len() - 1], 1_000u64),
        Some(b'M') => (&num[..num.len() - 1], 1_000_000),
        Some(b'G') => (&num[..num.len() - 1], 1_000_000_000),
        _ => (num, 1),
    };
    let num = num.trim_end();
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (num.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    let too_big = || format!("rate \"{s}\" is too large");
    let whole: u64 = int.parse().map_err(|_| too_big())?;
    let mut pps = whole.checked_mul(mult).ok_or_else(too_big)?;
    if !frac.is_empty() {
        let scale = 10u64.checked_pow(frac.len() as u32).ok_or_else(bad)?;
        let f: u64 = frac.parse().map_err(|_| bad())?;
        let part = f.checked_mul(mult).ok_or_else(too_big)?;
        if part % scale != 0 {
            return Err(format!(
                "rate \"{s}\" is not a whole number of packets per second"
            ));
        }
        pps = pps.checked_add(part / scale).ok_or_else(too_big)?;
    }
    if pps == 0 {
        return Err(format!(
            "rate \"{s}\" is zero (leave it out, or say \"line\", for as fast as possible)"
        ));
    }
    Ok(Some(pps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10Mpps"), Ok(Some(10_000_000)));
        assert_eq!(parse_rate("1.5Mpps"), Ok(Some(1_500_000)));
        assert_eq!(parse_rate("250kpps"), Ok(Some(250_000)));
        assert_eq!(parse_rate("2 Gpps"), Ok(Some(2_000_000_000)));
        assert_eq!(parse_rate("500pps"), Ok(Some(500)));
        assert_eq!(parse_rate("line"), Ok(None));
        for bad in [
            "", "10", "Mpps", "10Mbps", "1.5pps", "-1pps", "0pps", "1.pps", "10mpps",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_unicast_mac("02:00:00:00:0a:FF"),
            Ok([2, 0, 0, 0, 10, 255])
        );
        assert_eq!(
            parse_unicast_mac("02-00-00-00-00-01"),
            Ok([2, 0, 0, 0, 0, 1])
        );
        assert!(parse_unicast_mac("01:00:5e:00:00:01")
            .unwrap_err()
            .contains("multicast"));
        assert!(parse_unicast_mac("00:00:00:00:00:00").is_err());
        for bad in [
            "02:00:00:00:00",
            "02:00:00:00:00:001",
            "2:0:0:0:0:1",
            "zz:00:00:00:00:01",
            "02:00:00:00:00:01:02",
        ] {
            assert!(parse_unicast_mac(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn pci_addresses() {
        assert_eq!(parse_pci("0000:03:00.0").as_deref(), Ok("0000:03:00.0"));
        assert_eq!(parse_pci("03:00.0").as_deref(), Ok("0000:03:00.0"));
        assert_eq!(parse_pci("AF:1F.7").as_deref(), Ok("0000:af:1f.7"));
        assert_eq!(parse_pci("10000:e1:00.1").as_deref(), Ok("10000:e1:00.1"));
        for bad in [
            "03:00",
            "3:00.0",
            "03:0.0",
            "03:00.00",
            "03:20.0",
            "03:00.8",
            "000:03:00.0",
            "123456789:03:00.0",
            "0000:03:00:0",
            "0000:03:00.0.0",
            "0x00:03:00.0",
        ] {
            assert!(parse_pci(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn device_arguments() {
        let dir = Path::new("/nonexistent");
        assert_eq!(
            parse_dpdk_device("net_null0,size=64,copy=1", dir).as_deref(),
            Ok("net_null0,size=64,copy=1")
        );
        assert_eq!(
            parse_dpdk_device("net_af_packet0,iface=veth0,qpairs=2", dir).as_deref(),
            Ok("net_af_packet0,iface=veth0,qpairs=2")
        );
        assert_eq!(
            parse_dpdk_device("net_pcap0,tx_pcap=/tmp/out.pcap", dir).as_deref(),
            Ok("net_pcap0,tx_pcap=/tmp/out.pcap")
        );
        // A PCI device's arguments are not vdev paths.
        assert_eq!(
            parse_dpdk_device("03:00.0,rx_pcap=x", dir).as_deref(),
            Ok("0000:03:00.0,rx_pcap=x")
        );
        assert_eq!(split_device_args("a=[1,2],b=3"), Ok(vec!["a=[1,2]", "b=3"]));
        assert!(split_device_args("a=1,").is_err());
        assert!(split_device_args("a=[1").is_err());
    }

    #[test]
    fn eal_arguments() {
        for good in [
            "--no-pci",
            "-n",
            "4",
            "--log-level=8",
            "--socket-mem=64",
            "-a",
            "--vdev",
        ] {
            assert_eq!(check_eal_arg(good, false, false), Ok(()), "{good}");
        }
        for bad in [
            "",
            "--no-huge",
            "-m",
            "-m64",
            "--file-prefix=x",
            "-l",
            "-c0x3",
            "--lcores",
        ] {
            assert!(check_eal_arg(bad, false, false).is_err(), "{bad} accepted");
        }
        assert!(check_eal_arg("--socket-mem=64", true, false).is_err());
        assert!(check_eal_arg("--socket-mem=64", false, true).is_err());
    }

    #[test]
    fn interface_addresses() {
        assert_eq!(
            parse_ifaddr("10.1.0.1/24"),
            Ok(IfAddr {
                addr: Ipv4Addr::new(10, 1, 0, 1),
                len: 24
            })
        );
        assert!(parse_ifaddr("10.1.0.0/31").is_ok());
        assert!(parse_ifaddr("10.1.0.7/32").is_ok());
        for bad in [
            "10.1.0.0/24",
            "10.1.0.255/24",
            "10.1.0.1/0",
            "10.1.0.1/33",
            "10.1.0.1",
            "224.0.0.1/24",
            "10.1.0.1/2x",
            "10.1.0.1/+8",
        ] {
            assert!(parse_ifaddr(bad).is_err(), "{bad} accepted");
        }
    }
}
