//! The FIB benchmark (`weir bench fib`): how fast and how big weir's
//! forwarding table ([`pipeline::fib::Fib4`] / [`pipeline::fib::Fib6`], the
//! structures the pipeline forwards with) is on a routing table of
//! realistic shape, and, with the `dpdk` feature, DPDK's `rte_lpm` /
//! `rte_lpm6` on the same routes and addresses in the same run.
//!
//! ```text
//! weir bench fib [--table FILE | --prefixes N] [--v6] [--json FILE]
//!                [--seed S] [--lookups M] [--no-dpdk]
//! ```
//!
//! - `--table FILE`: one `prefix/len` per line, optionally followed by a
//!   next hop (decimal, `<= 2^31 - 2`); `#` starts a comment; blank lines
//!   are skipped; host bits past `len` are ignored; a prefix given twice
//!   keeps its last next hop. Without a next hop, routes get one of 64
//!   (a hash of the prefix). A bad line is an error naming `FILE:LINE`.
//! - `--prefixes N` (default 565 000 for IPv4, 168 000 for IPv6): a
//!   generated table, see below; `--seed S` (default 1) picks it.
//! - `--v6`: IPv6 (`Fib6`, `rte_lpm6`).
//! - `--lookups M` (default 2^20): addresses per pass of a lookup
//!   measurement. Each measurement runs 7 passes and reports the median.
//! - `--no-dpdk`: skip DPDK's tables even when built with `dpdk`.
//!
//! Everything runs on one thread: lookup rates are per core.
//!
//! # What is measured
//!
//! - **build**: `Fib4::from_routes` (one pass) and, separately, inserting
//!   every route one by one into an empty table; for DPDK `rte_lpm_add` of
//!   every route (the only way to build one).
//! - **memory**: `memory_bytes()` (the lookup structure *and* the routes it
//!   keeps for updates) and the lookup structure alone; for DPDK the bytes
//!   its heap grew by while creating and filling the table
//!   (`rte_malloc` statistics), which includes its rule table. DPDK's table
//!   is created with exactly as many tbl8 groups as the routes need (plus
//!   1/8), the smallest it can be.
//! - **lookups**: `random` addresses are uniformly random over the whole
//!   address space; `inside` addresses are drawn inside a uniformly chosen
//!   route (random host bits). `single` is one `lookup` call per address,
//!   `batch` is `lookup_batch` on bursts of 32 (the pipeline's burst) for
//!   weir and `rte_lpm_lookup_bulk` / `rte_lpm6_lookup_bulk_func` on bursts
//!   of 32 for DPDK (the DPDK loops run in C, compiled with DPDK's flags).
//!   Before timing, every weir answer is checked against DPDK's (when
//!   present) and the batched answers against the single ones.
//! - **updates** (IPv4): the rate at which routes go into a *published*
//!   table, the way the control plane makes the next snapshot: clone the
//!   published `Arc<Fib4>` (sharing all of it), apply a batch of
//!   withdrawals (or announcements), wrap it in a new `Arc`. Measured for
//!   batches of 10 000 random routes and for single-route batches (one new
//!   version per route). For DPDK: `rte_lpm_delete` / `rte_lpm_add` in
//!   place (it has no versions). IPv6 tables are rebuilt per version
//!   (`Fib6Builder::build`); their update rate is not reported.
//!
//! # Generated tables
//!
//! IPv4 (after the length histogram of the public BGP table, mid-2020s):
//! 60 % /24, 35 % /19../23, 4 % /16../18, 0.4 % /8../15, 0.1 % longer than
//! /24 (exact shares in [`V4_LENGTHS`]). Prefixes longer than /16 are
//! clustered: they fall in a pool of "allocated" /16 blocks (one block per
//! 12 prefixes, in 1.0.0.0 .. 223.255.255.255), as real tables
//! deaggregate allocations rather than spread over the whole space;
//! shorter prefixes are anywhere in that range. Next hops: each block has
//! one (its origin's best path) that 70 % of its routes use; the others
//! pick one of 64.
//!
//! IPv6 (after the public IPv6 table): 48 % /48, 13 % /32, 9 % /44, 6 %
//! /40, 4.5 % /29, 3 % /36, the rest spread over /16../64 and a few /128
//! (exact shares in [`V6_LENGTHS`]). Prefixes longer than /32 fall in a
//! pool of allocated /32s (one per 8 prefixes), which lie in the RIRs'
//! blocks (2001::/16, 2400::/12, 2600::/12, 2800::/12, 2a00::/12,
//! 2c00::/12); shorter ones anywhere in those blocks.
//!
//! # JSON (`--json FILE`)
//!
//! ```json
//! {
//!   "schema": "weir-bench-fib/1",
//!   "family": "ipv4",              // or "ipv6"
//!   "source": "generated",         // or the table file's path
//!   "seed": 1,
//!   "prefixes": 565000,            // distinct routes in the table
//!   "lookups_per_pass": 1048576,
//!   "engines": [{
//!     "name": "weir",              // or "rte_lpm", "rte_lpm6"
//!     "build_seconds": 0.08,       // one-pass build (DPDK: add all)
//!     "insert_all_seconds": 0.5,   // one by one (null for DPDK, IPv6)
//!     "memory_bytes": 7000000,     // whole table
//!     "lookup_bytes": 4000000,     // lookup structure alone (null: n/a)
//!     "bytes_per_prefix": 12.4,    // memory_bytes / prefixes
//!     "lookups_per_sec": {
//!       "random_single": 1.0e8, "random_batch": 1.5e8,
//!       "inside_single": 1.0e8, "inside_batch": 2.0e8
//!     },
//!     "updates": {                 // null for IPv6
//!       "batch": 10000,            // routes per published version
//!       "withdraw_per_sec": 2.0e6, "add_per_sec": 2.0e6,
//!       "single_withdraw_per_sec": 3.0e5, "single_add_per_sec": 3.0e5
//!     }
//!   }],
//!   "ratios": {                    // weir / DPDK; null without DPDK
//!     "random_single": 1.2, "random_batch": 1.3,
//!     "inside_single": 1.1, "inside_batch": 1.2,
//!     "memory": 0.1,               // weir memory_bytes / DPDK's
//!     "build": 0.05,               // weir build_seconds / DPDK's
//!     "withdraw": 100.0, "add": 100.0  // weir batch rates / DPDK's
//!   },
//!   "mismatches": 0                // weir answers differing from DPDK's
//! }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use pipeline::fib::{mask6, Fib4, Fib6, Fib6Builder, NextHop, MAX_NEXT_HOP};
use serde::Serialize;

#[cfg(feature = "dpdk")]
mod rte;

/// An IPv4 route: (prefix, length, next hop).
pub type Route4 = (u32, u8, NextHop);
/// An IPv6 route: (prefix, length, next hop).
pub type Route6 = (u128, u8, NextHop);

/// A routing table read or generated for the benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Table {
    /// IPv4 routes.
    V4(Vec<Route4>),
    /// IPv6 routes.
    V6(Vec<Route6>),
}

impl Table {
    /// Number of routes.
    pub fn len(&self) -> usize {
        match self {
            Table::V4(r) => r.len(),
            Table::V6(r) => r.len(),
        }
    }

    /// True if there are no routes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A bad line of a prefix file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Netmask of an IPv4 prefix length (`len <= 32`).
fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// The next hop of a route given without one: one of 64, from a hash of
/// the prefix.
fn default_nh(prefix: u128, len: u8) -> NextHop {
    let h = (prefix ^ u128::from(len)).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    (h >> 122) as NextHop
}

/// Parses a prefix file (see the [module documentation](self)): one
/// `prefix/len [next-hop]` per line, `#` comments. Duplicates keep the last
/// next hop; the result is in file order of first appearance.
pub fn parse_table(text: &str, v6: bool) -> Result<Table, ParseError> {
    let mut v4 = Vec::new();
    let mut v6s = Vec::new();
    let mut seen: HashMap<(u128, u8), usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let err = |message: String| ParseError {
            line: i + 1,
            message,
        };
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let prefix = fields.next().unwrap_or("");
        let nh = match fields.next() {
            None => None,
            Some(s) => match s.parse::<NextHop>() {
                Ok(nh) if nh <= MAX_NEXT_HOP => Some(nh),
                _ => return Err(err(format!("bad next hop {s:?} (0..={MAX_NEXT_HOP})"))),
            },
        };
        if let Some(extra) = fields.next() {
            return Err(err(format!("unexpected {extra:?} after the next hop")));
        }
        let (addr, len) = prefix
            .split_once('/')
            .ok_or_else(|| err(format!("{prefix:?} is not prefix/len")))?;
        let len: u8 = len
            .parse()
            .map_err(|_| err(format!("bad prefix length {len:?}")))?;
        let key = if v6 {
            let a: Ipv6Addr = addr
                .parse()
                .map_err(|_| err(format!("bad IPv6 address {addr:?}")))?;
            if len > 128 {
                return Err(err(format!("prefix length {len} > 128")));
            }
            u128::from(a) & mask6(len)
        } else {
            if addr.contains(':') {
                return Err(err(format!(
                    "{prefix:?} is IPv6 in an IPv4 table (use --v6)"
                )));
            }
            let a: Ipv4Addr = addr
                .parse()
                .map_err(|_| err(format!("bad IPv4 address {addr:?}")))?;
            if len > 32 {
                return Err(err(format!("prefix length {len} > 32")));
            }
            u128::from(u32::from(a) & mask4(len))
        };
        let nh = nh.unwrap_or_else(|| default_nh(key, len));
        let n = if v6 { v6s.len() } else { v4.len() };
        match seen.get(&(key, len)) {
            Some(&j) if v6 => v6s[j] = (key, len, nh),
            Some(&j) => v4[j] = (key as u32, len, nh),
            None => {
                seen.insert((key, len), n);
                if v6 {
                    v6s.push((key, len, nh));
                } else {
                    v4.push((key as u32, len, nh));
                }
            }
        }
    }
    Ok(if v6 { Table::V6(v6s) } else { Table::V4(v4) })
}

/// xorshift64*: deterministic, dependency-free randomness.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// 128 random bits.
    pub fn next_u128(&mut self) -> u128 {
        u128::from(self.next_u64()) << 64 | u128::from(self.next_u64())
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Share (per 100 000) of each IPv4 prefix length in generated tables.
pub const V4_LENGTHS: [(u8, u32); 25] = [
    (8, 2),
    (9, 2),
    (10, 4),
    (11, 10),
    (12, 30),
    (13, 60),
    (14, 110),
    (15, 190),
    (16, 1300),
    (17, 800),
    (18, 1350),
    (19, 2500),
    (20, 4500),
    (21, 5600),
    (22, 12200),
    (23, 11200),
    (24, 60002),
    (25, 20),
    (26, 20),
    (27, 20),
    (28, 20),
    (29, 20),
    (30, 20),
    (31, 0),
    (32, 20),
];

/// Share (per 100 000) of each IPv6 prefix length in generated tables.
pub const V6_LENGTHS: [(u8, u32); 29] = [
    (16, 40),
    (19, 60),
    (20, 200),
    (22, 150),
    (24, 250),
    (28, 600),
    (29, 4500),
    (30, 500),
    (31, 500),
    (32, 13000),
    (33, 1200),
    (34, 1000),
    (35, 600),
    (36, 3000),
    (37, 600),
    (38, 900),
    (39, 600),
    (40, 6000),
    (41, 600),
    (42, 1300),
    (43, 600),
    (44, 9000),
    (45, 1000),
    (46, 2600),
    (47, 2200),
    (48, 48000),
    (56, 300),
    (64, 310),
    (128, 140),
];

/// A length drawn from a per-100 000 share table.
fn random_len(rng: &mut Rng, shares: &[(u8, u32)]) -> u8 {
    let total: u32 = shares.iter().map(|s| s.1).sum();
    let mut r = rng.below(u64::from(total)) as u32;
    for &(len, share) in shares {
        if r < share {
            return len;
        }
        r -= share;
    }
    unreachable!("r < total")
}

/// A next hop for a route in a block whose origin uses `block_nh`.
fn random_nh(rng: &mut Rng, block_nh: NextHop) -> NextHop {
    if rng.below(10) < 7 {
        block_nh
    } else {
        rng.below(64) as NextHop
    }
}

/// Share (per 100) of each length of the allocation blocks that
/// generated IPv4 routes longer than /16 fall in.
const V4_BLOCKS: [(u8, u32); 8] = [
    (16, 14),
    (17, 6),
    (18, 10),
    (19, 12),
    (20, 16),
    (21, 12),
    (22, 18),
    (23, 12),
];

/// `n` distinct IPv4 routes with a realistic shape (see the
/// [module documentation](self)).
pub fn generate_v4(n: usize, seed: u64) -> Vec<Route4> {
    let mut rng = Rng::new(seed);
    let unicast = |rng: &mut Rng| loop {
        let a = (1 + rng.below(223) as u32) << 24 | (rng.next_u32() & 0xff_ffff);
        if !matches!(a >> 24, 10 | 127) {
            return a;
        }
    };
    let blocks: Vec<(u32, u8, NextHop)> = (0..n.div_ceil(V4_ROUTES_PER_BLOCK))
        .map(|_| {
            let len = random_len(&mut rng, &V4_BLOCKS);
            (
                unicast(&mut rng) & mask4(len),
                len,
                rng.below(64) as NextHop,
            )
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = random_len(&mut rng, &V4_LENGTHS);
        // A taken prefix is placed again with the same length, so that
        // the length shares stay as documented.
        for _ in 0..64 {
            let (addr, bnh) = if len > 16 {
                // Heavy-tailed: a few blocks are deaggregated into
                // hundreds of routes, most into a handful.
                let u = rng.below(1 << 20) as f64 / f64::from(1 << 20);
                let i = ((u * u * u) * blocks.len() as f64) as usize;
                let (b, blen, nh) = blocks[i.min(blocks.len() - 1)];
                // Inside the block, or an aggregate covering it.
                (b | (rng.next_u32() & !mask4(blen)), nh)
            } else {
                (unicast(&mut rng), rng.below(64) as NextHop)
            };
            let p = addr & mask4(len);
            if seen.insert((p, len)) {
                out.push((p, len, random_nh(&mut rng, bnh)));
                break;
            }
        }
    }
    out
}

/// Routes per allocation block in generated IPv4 tables.
pub const V4_ROUTES_PER_BLOCK: usize = 16;

/// Number of /18s holding a route longer than /18 (what a Poptrie or
/// DIR-style table pays for; about 40-45k in real ~530k-prefix tables).
pub fn split_18s(routes: &[Route4]) -> usize {
    routes
        .iter()
        .filter(|r| r.1 > 18)
        .map(|r| r.0 >> 14)
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// The RIRs' IPv6 blocks generated prefixes fall in: (prefix, length).
const V6_REGIONS: [(u128, u8); 6] = [
    (0x2001 << 112, 16),
    (0x2400 << 112, 12),
    (0x2600 << 112, 12),
    (0x2800 << 112, 12),
    (0x2a00 << 112, 12),
    (0x2c00 << 112, 12),
];

/// `n` distinct IPv6 routes with a realistic shape (see the
/// [module documentation](self)).
pub fn generate_v6(n: usize, seed: u64) -> Vec<Route6> {
    let mut rng = Rng::new(seed);
    let in_region = |rng: &mut Rng| {
        // The big regions (RIPE, ARIN, APNIC) get more.
        const WEIGHTS: [u64; 6] = [15, 20, 25, 8, 30, 2];
        let mut r = rng.below(100);
        let mut i = 0;
        while r >= WEIGHTS[i] {
            r -= WEIGHTS[i];
            i += 1;
        }
        let (p, len) = V6_REGIONS[i];
        p | (rng.next_u128() & !mask6(len))
    };
    let blocks: Vec<(u128, NextHop)> = (0..n.div_ceil(8))
        .map(|_| (in_region(&mut rng) & mask6(32), rng.below(64) as NextHop))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = random_len(&mut rng, &V6_LENGTHS);
        for _ in 0..64 {
            let (addr, bnh) = if len > 32 {
                let (b, nh) = blocks[rng.below(blocks.len() as u64) as usize];
                (b | (rng.next_u128() & !mask6(32)), nh)
            } else {
                (in_region(&mut rng), rng.below(64) as NextHop)
            };
            let p = addr & mask6(len);
            if seen.insert((p, len)) {
                out.push((p, len, random_nh(&mut rng, bnh)));
                break;
            }
        }
    }
    out
}

/// Command-line options of `weir bench fib`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Prefix file (`--table`); `None`: generate.
    pub table: Option<PathBuf>,
    /// Routes to generate (`--prefixes`); `None`: the family's default.
    pub prefixes: Option<usize>,
    /// IPv6 (`--v6`).
    pub v6: bool,
    /// Where to write the JSON report (`--json`).
    pub json: Option<PathBuf>,
    /// Generator seed (`--seed`).
    pub seed: u64,
    /// Addresses per lookup pass (`--lookups`).
    pub lookups: usize,
    /// Skip DPDK even when built with it (`--no-dpdk`).
    pub no_dpdk: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            table: None,
            prefixes: None,
            v6: false,
            json: None,
            seed: 1,
            lookups: 1 << 20,
            no_dpdk: false,
        }
    }
}

/// Usage text.
pub const USAGE: &str = "usage: weir bench fib [--table FILE | --prefixes N] [--v6] [--json FILE] \
                         [--seed S] [--lookups M] [--no-dpdk]";

impl Options {
    /// Parses the arguments after `weir bench fib`.
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut o = Options::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value\n{USAGE}"))
            };
            match a.as_str() {
                "--table" => o.table = Some(value("--table")?.into()),
                "--prefixes" => o.prefixes = Some(parse_num(&value("--prefixes")?, "--prefixes")?),
                "--v6" => o.v6 = true,
                "--json" => o.json = Some(value("--json")?.into()),
                "--seed" => o.seed = parse_num(&value("--seed")?, "--seed")?,
                "--lookups" => o.lookups = parse_num(&value("--lookups")?, "--lookups")?,
                "--no-dpdk" => o.no_dpdk = true,
                "-h" | "--help" => bail!("{USAGE}"),
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        if o.table.is_some() && o.prefixes.is_some() {
            bail!("--table and --prefixes exclude each other\n{USAGE}");
        }
        if o.lookups == 0 {
            bail!("--lookups must be > 0");
        }
        Ok(o)
    }
}

/// A decimal number (underscores allowed) or an error naming the option.
fn parse_num<T: std::str::FromStr>(s: &str, name: &str) -> anyhow::Result<T> {
    s.replace('_', "")
        .parse()
        .map_err(|_| anyhow::anyhow!("{name}: bad number {s:?}"))
}

/// The JSON report (see the [module documentation](self) for the schema).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always `weir-bench-fib/1`.
    pub schema: &'static str,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// `generated` or the table file.
    pub source: String,
    /// Generator seed (also used for the addresses).
    pub seed: u64,
    /// Distinct routes.
    pub prefixes: usize,
    /// Addresses per lookup pass.
    pub lookups_per_pass: usize,
    /// weir first, then DPDK's table if measured.
    pub engines: Vec<EngineReport>,
    /// weir / DPDK, when DPDK was measured.
    pub ratios: Option<Ratios>,
    /// Addresses for which weir and DPDK answered differently.
    pub mismatches: Option<u64>,
}

/// One table's figures.
#[derive(Clone, Debug, Serialize)]
pub struct EngineReport {
    /// `weir`, `rte_lpm` or `rte_lpm6`.
    pub name: &'static str,
    /// One-pass build (DPDK: adding every route).
    pub build_seconds: f64,
    /// Inserting every route one by one into an empty table.
    pub insert_all_seconds: Option<f64>,
    /// Whole table.
    pub memory_bytes: u64,
    /// Lookup structure alone.
    pub lookup_bytes: Option<u64>,
    /// `memory_bytes / prefixes`.
    pub bytes_per_prefix: f64,
    /// Lookup rates.
    pub lookups_per_sec: Rates,
    /// Update rates (IPv4).
    pub updates: Option<Updates>,
}

/// Lookups per second, one core.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Rates {
    /// Uniformly random addresses, one call each.
    pub random_single: f64,
    /// Uniformly random addresses, bursts of 32.
    pub random_batch: f64,
    /// Addresses inside the table's routes, one call each.
    pub inside_single: f64,
    /// Addresses inside the table's routes, bursts of 32.
    pub inside_batch: f64,
}

/// Route updates per second into a published table.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Updates {
    /// Routes per published version in the batch figures.
    pub batch: usize,
    /// Withdrawals per second, in batches.
    pub withdraw_per_sec: f64,
    /// Announcements per second, in batches.
    pub add_per_sec: f64,
    /// Withdrawals per second, one version per route.
    pub single_withdraw_per_sec: f64,
    /// Announcements per second, one version per route.
    pub single_add_per_sec: f64,
}

/// weir's figures over DPDK's.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Ratios {
    /// Lookup rate ratio, random addresses, single.
    pub random_single: f64,
    /// Lookup rate ratio, random addresses, batched.
    pub random_batch: f64,
    /// Lookup rate ratio, inside addresses, single.
    pub inside_single: f64,
    /// Lookup rate ratio, inside addresses, batched.
    pub inside_batch: f64,
    /// Memory ratio (smaller is better).
    pub memory: f64,
    /// Build time ratio (smaller is better).
    pub build: f64,
    /// Batched withdrawal rate ratio (IPv4).
    pub withdraw: Option<f64>,
    /// Batched announcement rate ratio (IPv4).
    pub add: Option<f64>,
}

/// Burst size of batched lookups (the pipeline's `BURST`).
pub const BURST: usize = 32;
/// Timed passes per lookup measurement (the median is reported).
const PASSES: usize = 7;

/// Median of the rates of `PASSES` runs of `f`, which does `n` lookups.
fn rate(n: usize, mut f: impl FnMut() -> u32) -> f64 {
    black_box(f()); // warm-up
    let mut rates: Vec<f64> = (0..PASSES)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[PASSES / 2]
}

/// Lookups that a table under test offers to [`measure_lookups`].
trait Lookups<A> {
    /// Sum of one `lookup` per address.
    fn single(&self, addrs: &[A]) -> u32;
    /// Sum of the first answers of `lookup_batch` over bursts.
    fn batch(&self, addrs: &[A], out: &mut [u32]) -> u32;
}

impl Lookups<u32> for Fib4 {
    fn single(&self, addrs: &[u32]) -> u32 {
        addrs
            .iter()
            .fold(0u32, |acc, &a| acc.wrapping_add(self.lookup(a)))
    }
    fn batch(&self, addrs: &[u32], out: &mut [u32]) -> u32 {
        let mut acc = 0u32;
        for burst in addrs.chunks(BURST) {
            self.lookup_batch(burst, &mut out[..burst.len()]);
            acc = acc.wrapping_add(out[0]);
        }
        acc
    }
}

impl Lookups<u128> for Fib6 {
    fn single(&self, addrs: &[u128]) -> u32 {
        addrs
            .iter()
            .fold(0u32, |acc, &a| acc.wrapping_add(self.lookup(a)))
    }
    fn batch(&self, addrs: &[u128], out: &mut [u32]) -> u32 {
        let mut acc = 0u32;
        for burst in addrs.chunks(BURST) {
            self.lookup_batch(burst, &mut out[..burst.len()]);
            acc = acc.wrapping_add(out[0]);
        }
        acc
    }
}

/// `n` addresses uniformly random (`inside == false`) or inside random
/// routes of `routes`.
pub fn addresses_v4(routes: &[Route4], inside: bool, n: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            if inside && !routes.is_empty() {
                let (p, l, _) = routes[rng.below(routes.len() as u64) as usize];
                p | (rng.next_u32() & !mask4(l))
            } else {
                rng.next_u32()
            }
        })
        .collect()
}

/// IPv6 version of [`addresses_v4`].
pub fn addresses_v6(routes: &[Route6], inside: bool, n: usize, seed: u64) -> Vec<u128> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            if inside && !routes.is_empty() {
                let (p, l, _) = routes[rng.below(routes.len() as u64) as usize];
                p | (rng.next_u128() & !mask6(l))
            } else {
                rng.next_u128()
            }
        })
        .collect()
}

/// Seconds `f` takes.
fn time<R>(f: impl FnOnce() -> R) -> (R, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

/// Update rates into published versions of `fib` (see the
/// [module documentation](self)).
fn measure_updates(fib: &Fib4, routes: &[Route4], seed: u64) -> Updates {
    let mut rng = Rng::new(seed ^ 0x0bda7e);
    let batch = 10_000.min(routes.len() / 2).max(1);
    let mut published = Arc::new(fib.clone());
    let pick = |rng: &mut Rng, k: usize| -> Vec<Route4> {
        (0..k)
            .map(|_| routes[rng.below(routes.len() as u64) as usize])
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect()
    };
    let (mut wt, mut at, mut wn, mut an) = (0.0, 0.0, 0usize, 0usize);
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 1.0 || wn == 0 {
        let chosen = pick(&mut rng, batch);
        let ((), t) = time(|| {
            let mut next = Fib4::clone(&published);
            for &(p, l, _) in &chosen {
                next.remove(p, l);
            }
            published = Arc::new(next);
        });
        wt += t;
        wn += chosen.len();
        let ((), t) = time(|| {
            let mut next = Fib4::clone(&published);
            for &(p, l, nh) in &chosen {
                next.insert(p, l, nh);
            }
            published = Arc::new(next);
        });
        at += t;
        an += chosen.len();
    }
    let (mut swt, mut sat, mut sn) = (0.0, 0.0, 0usize);
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 0.5 || sn == 0 {
        for (p, l, nh) in pick(&mut rng, 1000) {
            let ((), t) = time(|| {
                let mut next = Fib4::clone(&published);
                next.remove(p, l);
                published = Arc::new(next);
            });
            swt += t;
            let ((), t) = time(|| {
                let mut next = Fib4::clone(&published);
                next.insert(p, l, nh);
                published = Arc::new(next);
            });
            sat += t;
            sn += 1;
        }
    }
    assert_eq!(published.len(), fib.len(), "updates restored the table");
    Updates {
        batch,
        withdraw_per_sec: wn as f64 / wt,
        add_per_sec: an as f64 / at,
        single_withdraw_per_sec: sn as f64 / swt,
        single_add_per_sec: sn as f64 / sat,
    }
}

/// Reads or generates the table of `opts`.
pub fn load_table(opts: &Options) -> anyhow::Result<(Table, String)> {
    match &opts.table {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let table = parse_table(&text, opts.v6)
                .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
            Ok((table, path.display().to_string()))
        }
        None => {
            let table = if opts.v6 {
                Table::V6(generate_v6(opts.prefixes.unwrap_or(168_000), opts.seed))
            } else {
                Table::V4(generate_v4(opts.prefixes.unwrap_or(565_000), opts.seed))
            };
            Ok((table, "generated".into()))
        }
    }
}

/// Runs the benchmark (printing progress to stderr) and returns the
/// report.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let (table, source) = load_table(opts)?;
    let prefixes = table.len();
    let mut engines = Vec::new();
    #[allow(unused_mut)] // set only with the `dpdk` feature
    let mut mismatches = None;
    match &table {
        Table::V4(routes) => {
            eprintln!(
                "fib: {prefixes} IPv4 routes ({source}), {} /18s split; building",
                split_18s(routes)
            );
            let (fib, build) = time(|| Fib4::from_routes(routes.iter().copied()));
            let (one_by_one, insert_all) = time(|| {
                let mut f = Fib4::new();
                for &(p, l, nh) in routes {
                    f.insert(p, l, nh);
                }
                f
            });
            drop(one_by_one);
            let random = addresses_v4(routes, false, opts.lookups, opts.seed ^ 0xa);
            let inside = addresses_v4(routes, true, opts.lookups, opts.seed ^ 0xb);
            check_batch(&fib, &random)?;
            check_batch(&fib, &inside)?;
            #[cfg(feature = "dpdk")]
            let dpdk = if opts.no_dpdk {
                None
            } else {
                Some(rte::Lpm4::build(routes)?)
            };
            #[cfg(feature = "dpdk")]
            if let Some((lpm, _)) = &dpdk {
                mismatches = Some(lpm.mismatches(&fib, &random) + lpm.mismatches(&fib, &inside));
            }
            eprintln!("fib: lookups");
            let mut w = EngineReport {
                name: "weir",
                build_seconds: build,
                insert_all_seconds: Some(insert_all),
                memory_bytes: fib.memory_bytes() as u64,
                lookup_bytes: Some(fib.lookup_bytes() as u64),
                bytes_per_prefix: fib.memory_bytes() as f64 / prefixes.max(1) as f64,
                lookups_per_sec: Rates::default(),
                updates: None,
            };
            #[cfg(feature = "dpdk")]
            let mut d = dpdk.map(|(lpm, build)| (lpm, build, Rates::default()));
            for (kind, addrs) in [("random", &random), ("inside", &inside)] {
                let mut out = vec![0u32; BURST];
                let single = rate(addrs.len(), || fib.single(addrs));
                let batch = rate(addrs.len(), || fib.batch(addrs, &mut out));
                set_rates(&mut w.lookups_per_sec, kind, single, batch);
                #[cfg(feature = "dpdk")]
                if let Some((lpm, _, r)) = &mut d {
                    let single = rate(addrs.len(), || lpm.single(addrs));
                    let batch = rate(addrs.len(), || lpm.batch(addrs));
                    set_rates(r, kind, single, batch);
                }
            }
            eprintln!("fib: updates");
            w.updates = Some(measure_updates(&fib, routes, opts.seed));
            engines.push(w);
            #[cfg(feature = "dpdk")]
            if let Some((mut lpm, build, rates)) = d {
                let updates = lpm.measure_updates(routes, opts.seed);
                engines.push(EngineReport {
                    name: "rte_lpm",
                    build_seconds: build,
                    insert_all_seconds: None,
                    memory_bytes: lpm.memory_bytes,
                    lookup_bytes: None,
                    bytes_per_prefix: lpm.memory_bytes as f64 / prefixes.max(1) as f64,
                    lookups_per_sec: rates,
                    updates: Some(updates),
                });
            }
        }
        Table::V6(routes) => {
            eprintln!("fib: {prefixes} IPv6 routes ({source}); building");
            let (fib, build) = time(|| {
                let mut b = Fib6Builder::new();
                for &(p, l, nh) in routes {
                    b.insert(p, l, nh);
                }
                b.build()
            });
            let random = addresses_v6(routes, false, opts.lookups, opts.seed ^ 0xa);
            let inside = addresses_v6(routes, true, opts.lookups, opts.seed ^ 0xb);
            check_batch6(&fib, &random)?;
            check_batch6(&fib, &inside)?;
            #[cfg(feature = "dpdk")]
            let dpdk = if opts.no_dpdk {
                None
            } else {
                Some(rte::Lpm6::build(routes)?)
            };
            #[cfg(feature = "dpdk")]
            if let Some((lpm, _)) = &dpdk {
                mismatches = Some(lpm.mismatches(&fib, &random) + lpm.mismatches(&fib, &inside));
            }
            eprintln!("fib: lookups");
            let mut w = EngineReport {
                name: "weir",
                build_seconds: build,
                insert_all_seconds: None,
                memory_bytes: fib.memory_bytes() as u64,
                lookup_bytes: Some(fib.memory_bytes() as u64),
                bytes_per_prefix: fib.memory_bytes() as f64 / prefixes.max(1) as f64,
                lookups_per_sec: Rates::default(),
                updates: None,
            };
            #[cfg(feature = "dpdk")]
            let mut d = dpdk.map(|(lpm, build)| (lpm, build, Rates::default()));
            for (kind, addrs) in [("random", &random), ("inside", &inside)] {
                let mut out = vec![0u32; BURST];
                let single = rate(addrs.len(), || fib.single(addrs));
                let batch = rate(addrs.len(), || fib.batch(addrs, &mut out));
                set_rates(&mut w.lookups_per_sec, kind, single, batch);
                #[cfg(feature = "dpdk")]
                if let Some((lpm, _, r)) = &mut d {
                    let bytes = rte::Lpm6::addrs(addrs);
                    let single = rate(addrs.len(), || lpm.single(&bytes));
                    let batch = rate(addrs.len(), || lpm.batch(&bytes));
                    set_rates(r, kind, single, batch);
                }
            }
            engines.push(w);
            #[cfg(feature = "dpdk")]
            if let Some((lpm, build, rates)) = d {
                engines.push(EngineReport {
                    name: "rte_lpm6",
                    build_seconds: build,
                    insert_all_seconds: None,
                    memory_bytes: lpm.memory_bytes,
                    lookup_bytes: None,
                    bytes_per_prefix: lpm.memory_bytes as f64 / prefixes.max(1) as f64,
                    lookups_per_sec: rates,
                    updates: None,
                });
            }
        }
    }
    let ratios = engines.get(1).map(|d| ratios(&engines[0], d));
    Ok(Report {
        schema: "weir-bench-fib/1",
        family: if opts.v6 { "ipv6" } else { "ipv4" },
        source,
        seed: opts.seed,
        prefixes,
        lookups_per_pass: opts.lookups,
        engines,
        ratios,
        mismatches,
    })
}

/// Sets the `kind` (`random`/`inside`) rates.
fn set_rates(r: &mut Rates, kind: &str, single: f64, batch: f64) {
    if kind == "random" {
        r.random_single = single;
        r.random_batch = batch;
    } else {
        r.inside_single = single;
        r.inside_batch = batch;
    }
}

/// weir over DPDK.
fn ratios(w: &EngineReport, d: &EngineReport) -> Ratios {
    let (a, b) = (&w.lookups_per_sec, &d.lookups_per_sec);
    let upd = |f: fn(&Updates) -> f64| match (&w.updates, &d.updates) {
        (Some(x), Some(y)) => Some(f(x) / f(y)),
        _ => None,
    };
    Ratios {
        random_single: a.random_single / b.random_single,
        random_batch: a.random_batch / b.random_batch,
        inside_single: a.inside_single / b.inside_single,
        inside_batch: a.inside_batch / b.inside_batch,
        memory: w.memory_bytes as f64 / d.memory_bytes as f64,
        build: w.build_seconds / d.build_seconds,
        withdraw: upd(|u| u.withdraw_per_sec),
        add: upd(|u| u.add_per_sec),
    }
}

/// Fails unless batched lookups agree with single ones.
fn check_batch(fib: &Fib4, addrs: &[u32]) -> anyhow::Result<()> {
    let mut out = vec![0u32; addrs.len()];
    fib.lookup_batch(addrs, &mut out);
    match addrs.iter().zip(&out).find(|(&a, &o)| fib.lookup(a) != o) {
        Some((a, o)) => bail!("lookup_batch({}) = {o} != lookup", Ipv4Addr::from(*a)),
        None => Ok(()),
    }
}

/// Fails unless batched lookups agree with single ones.
fn check_batch6(fib: &Fib6, addrs: &[u128]) -> anyhow::Result<()> {
    let mut out = vec![0u32; addrs.len()];
    fib.lookup_batch(addrs, &mut out);
    match addrs.iter().zip(&out).find(|(&a, &o)| fib.lookup(a) != o) {
        Some((a, o)) => bail!("lookup_batch({}) = {o} != lookup", Ipv6Addr::from(*a)),
        None => Ok(()),
    }
}

/// `x` in engineering units (k, M, G).
fn eng(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.1} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.1} ")
    }
}

/// The report as a readable table.
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "FIB benchmark: {} {} prefixes ({}), {} addresses per pass, 1 core",
        r.prefixes, r.family, r.source, r.lookups_per_pass
    );
    let names: Vec<&str> = r.engines.iter().map(|e| e.name).collect();
    let _ = write!(s, "{:<28}", "");
    for n in &names {
        let _ = write!(s, "{n:>14}");
    }
    if r.ratios.is_some() {
        let _ = write!(s, "{:>10}", "ratio");
    }
    s.push('\n');
    let row =
        |s: &mut String, label: &str, f: &dyn Fn(&EngineReport) -> String, ratio: Option<f64>| {
            let _ = write!(s, "{label:<28}");
            for e in &r.engines {
                let _ = write!(s, "{:>14}", f(e));
            }
            if let Some(x) = ratio {
                let _ = write!(s, "{:>9.2}x", x);
            }
            s.push('\n');
        };
    let ra = r.ratios;
    row(
        &mut s,
        "lookups/s random single",
        &|e| eng(e.lookups_per_sec.random_single),
        ra.map(|x| x.random_single),
    );
    row(
        &mut s,
        "lookups/s random batch32",
        &|e| eng(e.lookups_per_sec.random_batch),
        ra.map(|x| x.random_batch),
    );
    row(
        &mut s,
        "lookups/s inside single",
        &|e| eng(e.lookups_per_sec.inside_single),
        ra.map(|x| x.inside_single),
    );
    row(
        &mut s,
        "lookups/s inside batch32",
        &|e| eng(e.lookups_per_sec.inside_batch),
        ra.map(|x| x.inside_batch),
    );
    row(
        &mut s,
        "memory (bytes)",
        &|e| format!("{}B", eng(e.memory_bytes as f64)),
        ra.map(|x| x.memory),
    );
    row(
        &mut s,
        "  lookup structure",
        &|e| {
            e.lookup_bytes
                .map_or("-".into(), |b| format!("{}B", eng(b as f64)))
        },
        None,
    );
    row(
        &mut s,
        "bytes per prefix",
        &|e| format!("{:.1}", e.bytes_per_prefix),
        None,
    );
    row(
        &mut s,
        "build (s)",
        &|e| format!("{:.3}", e.build_seconds),
        ra.map(|x| x.build),
    );
    row(
        &mut s,
        "insert one by one (s)",
        &|e| {
            e.insert_all_seconds
                .map_or("-".into(), |t| format!("{t:.3}"))
        },
        None,
    );
    if r.engines.iter().any(|e| e.updates.is_some()) {
        let u = |f: fn(&Updates) -> f64| {
            move |e: &EngineReport| e.updates.as_ref().map_or("-".into(), |u| eng(f(u)))
        };
        let batch = r.engines[0].updates.map_or(0, |u| u.batch);
        row(
            &mut s,
            &format!("withdraw/s (batch {batch})"),
            &u(|u| u.withdraw_per_sec),
            ra.and_then(|x| x.withdraw),
        );
        row(
            &mut s,
            &format!("add/s (batch {batch})"),
            &u(|u| u.add_per_sec),
            ra.and_then(|x| x.add),
        );
        row(
            &mut s,
            "withdraw/s (1 per version)",
            &u(|u| u.single_withdraw_per_sec),
            None,
        );
        row(
            &mut s,
            "add/s (1 per version)",
            &u(|u| u.single_add_per_sec),
            None,
        );
    }
    if let Some(m) = r.mismatches {
        let _ = writeln!(s, "answers differing from DPDK's: {m}");
    }
    s
}

/// `weir bench fib ARGS...`: runs, prints the table, writes the JSON.
pub fn cli_main(args: &[String]) -> anyhow::Result<()> {
    let opts = Options::parse(args)?;
    let report = run(&opts)?;
    print!("{}", render(&report));
    if let Some(path) = &opts.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.mismatches.is_some_and(|m| m > 0) {
        bail!("weir and DPDK disagree on some addresses");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
