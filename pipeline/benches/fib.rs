//! FIB benchmarks: lookup and batched lookup throughput, build and insert
//! rate, route churn into a new version of a published table, on synthetic
//! tables of 100k and 500k IPv4 prefixes and 168k IPv6 prefixes. (`weir
//! bench fib` measures the same against DPDK's rte_lpm, with a more
//! clustered generator: see perf/src/fib.rs.)
//!
//! The tables follow the length distribution of the public BGP table
//! (60% /24, the rest mostly /16../23, 0.4% /8../15 and 0.1% longer than
//! /24). Prefixes longer than /16 are clustered in a pool of
//! "allocated" /16 blocks (one per 12 prefixes), as real tables are, rather
//! than spread uniformly over the whole space: that decides how many
//! level-2 chunks the table needs, so it is printed with the memory.
//!
//! Run: `cargo bench -p pipeline --bench fib -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pipeline::fib::{Fib4, Fib6, Fib6Builder, NextHop};

/// xorshift64: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
}

/// Share (per 100 000) of each prefix length /8 ../32, after the length
/// histogram of the public IPv4 BGP table (mid-2020s, ~1M prefixes): 60%
/// /24, 35% /19../23, 4% /16../18, 0.4% shorter, 0.1% longer.
const LEN_PER_100K: [(u8, u32); 25] = [
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

fn random_len(rng: &mut Rng) -> u8 {
    let mut r = rng.below(100_000);
    for (len, share) in LEN_PER_100K {
        if r < share {
            return len;
        }
        r -= share;
    }
    unreachable!("shares add up to 100 000")
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// `n` distinct routes with a realistic length distribution, in unicast
/// space (1.0.0.0 .. 223.255.255.255).
fn routes(n: usize, seed: u64) -> Vec<(u32, u8, NextHop)> {
    let mut rng = Rng(seed);
    let blocks: Vec<u32> = (0..n / 12)
        .map(|_| (1 + rng.below(223)) << 24 | rng.below(256) << 16)
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = random_len(&mut rng);
        let addr = if len > 16 {
            blocks[rng.below(blocks.len() as u32) as usize] | (rng.u32() & 0xffff)
        } else {
            (1 + rng.below(223)) << 24 | (rng.u32() & 0x00ff_ffff)
        };
        let p = addr & mask(len);
        if seen.insert((p, len)) {
            out.push((p, len, rng.below(4096)));
        }
    }
    out
}

fn build(routes: &[(u32, u8, NextHop)]) -> Fib4 {
    Fib4::from_routes(routes.iter().copied())
}

/// Addresses to look up: uniformly random, or inside a random route.
fn addrs(routes: &[(u32, u8, NextHop)], inside: bool, n: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            if inside {
                let (p, l, _) = routes[rng.below(routes.len() as u32) as usize];
                p | (rng.u32() & !mask(l))
            } else {
                rng.u32()
            }
        })
        .collect()
}

/// Addresses per measured iteration (256 KiB of them: well past L1/L2, like
/// a stream of packets from many flows).
const ADDRS: usize = 1 << 16;

fn bench_lookup(c: &mut Criterion) {
    for (n, name) in [(100_000, "100k"), (500_000, "500k")] {
        let routes = routes(n, 0x5eed_0000 + n as u64);
        let fib = build(&routes);
        println!(
            "fib {name}: {} prefixes, memory_bytes = {} ({:.1} MiB), lookup structure {:.1} MiB",
            fib.len(),
            fib.memory_bytes(),
            fib.memory_bytes() as f64 / (1 << 20) as f64,
            fib.lookup_bytes() as f64 / (1 << 20) as f64
        );
        let mut group = c.benchmark_group(format!("fib_lookup/{name}"));
        group.throughput(Throughput::Elements(ADDRS as u64));
        for (kind, inside) in [("random", false), ("inside", true)] {
            let addrs = addrs(&routes, inside, ADDRS, 0xadd5 + n as u64);
            let table = &fib;
            group.bench_function(format!("single/{kind}"), |b| {
                b.iter(|| {
                    let mut acc = 0u32;
                    for &a in &addrs {
                        acc = acc.wrapping_add(table.lookup(black_box(a)));
                    }
                    acc
                })
            });
            let mut out = vec![0u32; 32];
            group.bench_function(format!("batch32/{kind}"), |b| {
                b.iter(|| {
                    let mut acc = 0u32;
                    for burst in addrs.chunks(32) {
                        table.lookup_batch(black_box(burst), &mut out);
                        acc = acc.wrapping_add(out[0]);
                    }
                    acc
                })
            });
        }
        group.finish();
    }
}

fn bench_update(c: &mut Criterion) {
    for (n, name) in [(100_000, "100k"), (500_000, "500k")] {
        let routes = routes(n, 0x5eed_0000 + n as u64);
        let mut group = c.benchmark_group(format!("fib_update/{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("from_routes", |b| b.iter(|| build(&routes)));
        group.bench_function("insert_all", |b| {
            b.iter_batched(
                Fib4::new,
                |mut fib| {
                    for &(p, l, nh) in &routes {
                        fib.insert(p, l, nh);
                    }
                    fib
                },
                BatchSize::LargeInput,
            )
        });
        // Churn into the next version of a published table: clone it
        // (sharing everything), withdraw a random route and announce it
        // again with another next hop (two updates per element), publish.
        let mut published = std::sync::Arc::new(build(&routes));
        let mut rng = Rng(0xc4a2);
        const CHURN: usize = 10_000;
        group.throughput(Throughput::Elements(2 * CHURN as u64));
        group.bench_function("remove_insert_10k_per_version", |b| {
            b.iter(|| {
                let mut next = Fib4::clone(&published);
                for _ in 0..CHURN {
                    let (p, l, nh) = routes[rng.below(routes.len() as u32) as usize];
                    next.remove(p, l);
                    next.insert(p, l, nh ^ 1);
                }
                published = std::sync::Arc::new(next);
            })
        });
        group.throughput(Throughput::Elements(2));
        group.bench_function("remove_insert_1_per_version", |b| {
            b.iter(|| {
                let (p, l, nh) = routes[rng.below(routes.len() as u32) as usize];
                let mut next = Fib4::clone(&published);
                next.remove(p, l);
                next.insert(p, l, nh ^ 1);
                published = std::sync::Arc::new(next);
            })
        });
        group.throughput(Throughput::Elements(1));
        group.bench_function("clone", |b| b.iter(|| published.as_ref().clone()));
        group.finish();
    }
}

/// `n` IPv6 routes: 50% /48, 15% /32, the rest /29../64, in 2000::/4,
/// longer than /32 clustered in one /32 per 8 routes.
fn routes6(n: usize, seed: u64) -> Vec<(u128, u8, NextHop)> {
    let mut rng = Rng(seed);
    let r128 = |rng: &mut Rng| u128::from(rng.next()) << 64 | u128::from(rng.next());
    let blocks: Vec<u128> = (0..n / 8)
        .map(|_| (2 << 124 | (r128(&mut rng) >> 4)) & (u128::MAX << 96))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = match rng.below(100) {
            0..=49 => 48,
            50..=64 => 32,
            65..=74 => 44,
            75..=82 => 40,
            83..=89 => 29,
            90..=94 => 36,
            _ => 33 + rng.below(32) as u8,
        };
        let addr = if len > 32 {
            blocks[rng.below(blocks.len() as u32) as usize] | (r128(&mut rng) >> 32)
        } else {
            2 << 124 | (r128(&mut rng) >> 4)
        };
        let p = addr & (u128::MAX << (128 - len));
        if seen.insert((p, len)) {
            out.push((p, len, rng.below(64)));
        }
    }
    out
}

fn bench_v6(c: &mut Criterion) {
    let routes = routes6(168_000, 0x0005_eed6);
    let fib: Fib6 = Fib6::from_routes(routes.iter().copied());
    println!("fib6 168k: {fib:?}");
    let mut group = c.benchmark_group("fib6/168k");
    group.throughput(Throughput::Elements(ADDRS as u64));
    let mut rng = Rng(0xadd6);
    for (kind, inside) in [("random", false), ("inside", true)] {
        let addrs: Vec<u128> = (0..ADDRS)
            .map(|_| {
                let r = u128::from(rng.next()) << 64 | u128::from(rng.next());
                if inside {
                    let (p, l, _) = routes[rng.below(routes.len() as u32) as usize];
                    p | (r & !(u128::MAX << (128 - l)))
                } else {
                    r
                }
            })
            .collect();
        let table = &fib;
        group.bench_function(format!("single/{kind}"), |b| {
            b.iter(|| {
                addrs
                    .iter()
                    .fold(0u32, |acc, &a| acc.wrapping_add(table.lookup(black_box(a))))
            })
        });
        let mut out = vec![0u32; 32];
        group.bench_function(format!("batch32/{kind}"), |b| {
            b.iter(|| {
                let mut acc = 0u32;
                for burst in addrs.chunks(32) {
                    table.lookup_batch(black_box(burst), &mut out);
                    acc = acc.wrapping_add(out[0]);
                }
                acc
            })
        });
    }
    group.throughput(Throughput::Elements(routes.len() as u64));
    group.sample_size(10);
    group.bench_function("build", |b| {
        b.iter(|| {
            let mut builder = Fib6Builder::new();
            for &(p, l, nh) in &routes {
                builder.insert(p, l, nh);
            }
            builder.build()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_lookup, bench_update, bench_v6);
criterion_main!(benches);
