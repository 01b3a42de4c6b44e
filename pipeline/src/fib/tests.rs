//! Tests of [`Fib4`] against a naive reference: a linear scan over every
//! prefix, longest match wins.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::*;
use v6::Shape;

/// xorshift64: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

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

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The reference model: the exact route set.
#[derive(Default)]
struct Reference {
    routes: BTreeMap<(u32, u8), NextHop>,
}

impl Reference {
    /// Linear scan, longest match wins.
    fn lookup(&self, addr: u32) -> NextHop {
        let mut best: Option<(u8, NextHop)> = None;
        for (&(p, l), &nh) in &self.routes {
            let longer = match best {
                None => true,
                Some((bl, _)) => l > bl,
            };
            if addr & mask(l) == p && longer {
                best = Some((l, nh));
            }
        }
        best.map_or(NO_ROUTE, |(_, nh)| nh)
    }
}

/// Addresses worth checking for a table: every prefix's first and last
/// address and their neighbours, plus `random` uniformly random ones.
fn probe_addrs(reference: &Reference, rng: &mut Rng, random: usize) -> Vec<u32> {
    let mut addrs = vec![0, 1, u32::MAX, u32::MAX - 1, 0x8000_0000, 0x7fff_ffff];
    for &(p, l) in reference.routes.keys() {
        let last = p | !mask(l);
        addrs.extend([
            p,
            p.wrapping_sub(1),
            p.wrapping_add(1),
            last,
            last.wrapping_add(1),
            last.wrapping_sub(1),
        ]);
        // and one inside
        addrs.push(p | (rng.u32() & !mask(l)));
    }
    addrs.extend((0..random).map(|_| rng.u32()));
    addrs
}

/// Checks `fib` against `reference` on `addrs`: lookup, lookup_batch, get,
/// len and iter.
fn check_against(fib: &Fib4, reference: &Reference, addrs: &[u32]) {
    for &a in addrs {
        assert_eq!(fib.lookup(a), reference.lookup(a), "lookup({a:#010x})");
    }
    let mut out = vec![0xdead_beef; addrs.len()];
    fib.lookup_batch(addrs, &mut out);
    for (i, &a) in addrs.iter().enumerate() {
        assert_eq!(out[i], fib.lookup(a), "lookup_batch[{i}] ({a:#010x})");
    }
    let direct = fib.direct();
    for &a in addrs {
        let want = if super::v4::martian_net((a >> 24) as usize) {
            NO_ROUTE
        } else {
            fib.lookup(a)
        };
        assert_eq!(direct.lookup(a), want, "direct ({a:#010x})");
    }
    assert_eq!(fib.len(), reference.routes.len());
    assert_eq!(fib.is_empty(), reference.routes.is_empty());
    for (&(p, l), &nh) in &reference.routes {
        assert_eq!(fib.get(p, l), Some(nh), "get({p:#010x}/{l})");
    }
    let mut listed: Vec<_> = fib.iter().collect();
    listed.sort_unstable();
    let expected: Vec<_> = reference
        .routes
        .iter()
        .map(|(&(p, l), &nh)| (p, l, nh))
        .collect();
    assert_eq!(listed, expected, "iter");
}

/// Checks what only depends on the route set: a table built in one pass
/// from the same routes answers the same, holds the same routes, and uses
/// the same sections (a /8 is materialized iff a route of length >= 8 lies
/// in it).
fn check_structure(fib: &Fib4, reference: &Reference) {
    let fresh: Fib4 = reference
        .routes
        .iter()
        .map(|(&(p, l), &nh)| (p, l, nh))
        .collect();
    let mut rng = Rng::new(fib.len() as u64);
    let addrs = probe_addrs(reference, &mut rng, 200);
    check_against(&fresh, reference, &addrs);
    let eights: std::collections::BTreeSet<u32> = reference
        .routes
        .keys()
        .filter(|k| k.1 >= 8)
        .map(|k| k.0 >> 24)
        .collect();
    assert_eq!(fib.sections_in_use(), eights.len(), "sections in use");
    assert_eq!(
        fresh.sections_in_use(),
        eights.len(),
        "sections in use (fresh)"
    );
    assert!(
        fresh.lookup_bytes() <= fib.lookup_bytes() + 64,
        "fresh build is compact"
    );
}

/// A random prefix, often nested in or around a few shared anchors, with
/// lengths biased towards the level boundaries (0, 8, 15..17, 23..25, 31, 32).
fn random_prefix(rng: &mut Rng, anchors: &[u32]) -> (u32, u8) {
    let base = match rng.below(10) {
        0..=5 => anchors[rng.below(anchors.len() as u64) as usize],
        // a sibling of an anchor: flip a few low bits
        6..=7 => anchors[rng.below(anchors.len() as u64) as usize] ^ (rng.u32() >> rng.below(32)),
        _ => rng.u32(),
    };
    const EDGES: [u8; 11] = [0, 8, 15, 16, 17, 23, 24, 25, 31, 32, 32];
    let len = if rng.chance(40) {
        EDGES[rng.below(EDGES.len() as u64) as usize]
    } else {
        rng.below(33) as u8
    };
    (base & mask(len), len)
}

fn random_nh(rng: &mut Rng) -> NextHop {
    match rng.below(20) {
        0 => MAX_NEXT_HOP,
        1 => 0,
        // few distinct next hops: neighbours often share one
        2..=11 => rng.below(3) as NextHop,
        _ => rng.below(64) as NextHop,
    }
}

/// Random interleaved inserts, replacements and removes on nested prefixes,
/// checked against the reference after every batch of operations.
fn random_ops(seed: u64, ops: usize, check_every: usize, structure_every: usize) {
    let mut rng = Rng::new(seed);
    let anchors: Vec<u32> = (0..6).map(|_| rng.u32()).collect();
    let mut fib = Fib4::new();
    let mut reference = Reference::default();
    for op in 1..=ops {
        let roll = rng.below(100);
        if roll < 55 {
            let (p, l) = random_prefix(&mut rng, &anchors);
            let nh = random_nh(&mut rng);
            // unmasked host bits must be ignored
            let noisy = p | (rng.u32() & !mask(l));
            assert_eq!(
                fib.insert(noisy, l, nh),
                reference.routes.insert((p, l), nh)
            );
        } else if roll < 90 && !reference.routes.is_empty() {
            // remove an existing route
            let i = rng.below(reference.routes.len() as u64) as usize;
            let (&(p, l), _) = reference.routes.iter().nth(i).unwrap();
            let noisy = p | (rng.u32() & !mask(l));
            assert_eq!(fib.remove(noisy, l), reference.routes.remove(&(p, l)));
        } else {
            // remove something that is probably absent
            let (p, l) = random_prefix(&mut rng, &anchors);
            assert_eq!(fib.remove(p, l), reference.routes.remove(&(p, l)));
        }
        if op % check_every == 0 {
            let addrs = probe_addrs(&reference, &mut rng, 500);
            check_against(&fib, &reference, &addrs);
        }
        if op % structure_every == 0 {
            check_structure(&fib, &reference);
        }
    }
    let addrs = probe_addrs(&reference, &mut rng, 2000);
    check_against(&fib, &reference, &addrs);
    check_structure(&fib, &reference);

    // Drain in random order: every intermediate table stays right, and the
    // empty table is back to its initial size.
    let mut keys: Vec<_> = reference.routes.keys().copied().collect();
    for i in (1..keys.len()).rev() {
        keys.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (n, (p, l)) in keys.into_iter().enumerate() {
        assert_eq!(fib.remove(p, l), reference.routes.remove(&(p, l)));
        if n % 97 == 0 {
            let addrs = probe_addrs(&reference, &mut rng, 100);
            check_against(&fib, &reference, &addrs);
        }
    }
    check_structure(&fib, &reference);
    assert!(fib.is_empty());
    assert_eq!(fib.sections_in_use(), 0);
    assert_eq!(fib.memory_bytes(), Fib4::new().memory_bytes());
}

#[test]
fn fib_random_ops_seed_1() {
    random_ops(1, 3000, 100, 500);
}

#[test]
fn fib_random_ops_seed_2() {
    random_ops(2, 3000, 100, 500);
}

#[test]
fn fib_random_ops_seed_3() {
    random_ops(0xfeed_face, 5000, 250, 1000);
}

#[test]
fn fib_random_ops_many_small_seeds() {
    // Small tables: the odd corner shows up sooner with many seeds.
    for seed in 100..124 {
        random_ops(seed, 300, 20, 150);
    }
}

#[test]
fn fib_empty_table() {
    let fib = Fib4::new();
    assert!(fib.is_empty());
    assert_eq!(fib.len(), 0);
    for a in [0, 1, 0x0a00_0001, u32::MAX] {
        assert_eq!(fib.lookup(a), NO_ROUTE);
    }
    assert_eq!(fib.get(0, 0), None);
    assert_eq!(fib.iter().count(), 0);
    assert_eq!(fib.sections_in_use(), 0);
    assert_eq!(fib.memory_bytes(), Fib4::default().memory_bytes());
    assert!(fib.memory_bytes() < 13 * 1024, "{}", fib.memory_bytes());
    let mut out = [0; 3];
    fib.lookup_batch(&[1, 2, 3], &mut out);
    assert_eq!(out, [NO_ROUTE; 3]);
}

#[test]
fn fib_default_route_and_hosts() {
    let mut fib = Fib4::new();
    assert_eq!(fib.insert(0, 0, 7), None);
    assert_eq!(fib.lookup(0x0102_0304), 7);
    assert_eq!(fib.lookup(u32::MAX), 7);
    assert_eq!(fib.insert(0x0a00_0001, 32, 9), None);
    assert_eq!(fib.lookup(0x0a00_0001), 9);
    assert_eq!(fib.lookup(0x0a00_0000), 7);
    assert_eq!(fib.lookup(0x0a00_0002), 7);
    assert_eq!(fib.sections_in_use(), 1);
    // replace the default; the host route stays
    assert_eq!(fib.insert(0xffff_ffff, 0, 8), Some(7));
    assert_eq!(fib.lookup(0x0a00_0000), 8);
    assert_eq!(fib.lookup(0x0a00_0001), 9);
    assert_eq!(fib.remove(0, 0), Some(8));
    assert_eq!(fib.lookup(0x0a00_0000), NO_ROUTE);
    assert_eq!(fib.lookup(0x0a00_0001), 9);
    assert_eq!(fib.remove(0x0a00_0001, 32), Some(9));
    assert_eq!(fib.lookup(0x0a00_0001), NO_ROUTE);
    assert_eq!(fib.sections_in_use(), 0);
}

#[test]
fn fib_insert_masks_and_replaces() {
    let mut fib = Fib4::new();
    assert_eq!(fib.insert(0x0a01_02ff, 24, 1), None);
    assert_eq!(fib.get(0x0a01_0200, 24), Some(1));
    assert_eq!(fib.get(0x0a01_0277, 24), Some(1));
    assert_eq!(fib.get(0x0a01_0200, 23), None);
    assert_eq!(fib.get(0x0a01_0200, 33), None);
    assert_eq!(fib.insert(0x0a01_0200, 24, 2), Some(1));
    assert_eq!(fib.insert(0x0a01_0200, 24, 2), Some(2));
    assert_eq!(fib.len(), 1);
    assert_eq!(fib.iter().collect::<Vec<_>>(), [(0x0a01_0200, 24, 2)]);
    assert_eq!(fib.lookup(0x0a01_0280), 2);
    assert_eq!(fib.remove(0x0a01_0200, 25), None);
    assert_eq!(fib.remove(0x0a01_0200, 40), None);
    assert_eq!(fib.remove(0x0a01_02aa, 24), Some(2));
    assert_eq!(fib.remove(0x0a01_0200, 24), None);
    assert!(fib.is_empty());
}

#[test]
fn fib_nested_removal_restores_covering_prefix() {
    let mut fib = Fib4::new();
    let net = 0xc0a8_0000; // 192.168.0.0
    fib.insert(net, 8, 8);
    fib.insert(net, 16, 16);
    fib.insert(net, 20, 20);
    fib.insert(net, 24, 24);
    fib.insert(net, 28, 28);
    fib.insert(net, 32, 32);
    assert_eq!(fib.lookup(net), 32);
    assert_eq!(fib.lookup(net + 1), 28);
    assert_eq!(fib.lookup(net + 16), 24);
    assert_eq!(fib.lookup(net + 256), 20);
    assert_eq!(fib.lookup(net + 4096), 16);
    assert_eq!(fib.lookup(net + 65536), 8);
    // remove from the middle out
    assert_eq!(fib.remove(net, 24), Some(24));
    assert_eq!(fib.lookup(net + 16), 20);
    assert_eq!(fib.lookup(net + 1), 28);
    assert_eq!(fib.remove(net, 16), Some(16));
    assert_eq!(fib.lookup(net + 4096), 8);
    assert_eq!(fib.lookup(net + 256), 20);
    assert_eq!(fib.remove(net, 28), Some(28));
    assert_eq!(fib.lookup(net + 1), 20);
    assert_eq!(fib.lookup(net), 32);
    assert_eq!(fib.remove(net, 32), Some(32));
    assert_eq!(fib.lookup(net), 20);
    assert_eq!(fib.remove(net, 20), Some(20));
    assert_eq!(fib.lookup(net), 8);
    assert_eq!(fib.sections_in_use(), 1);
    assert_eq!(fib.remove(net, 8), Some(8));
    assert_eq!(fib.sections_in_use(), 0);
    fib.insert(net, 8, 8);
    assert_eq!(fib.lookup(0xc0ff_ffff), 8);
    assert_eq!(fib.lookup(0xc100_0000), NO_ROUTE);
}

#[test]
fn fib_same_next_hop_siblings_do_not_collapse_wrongly() {
    // Two /17 halves with the same next hop fill a level-2 chunk uniformly,
    // but they are two prefixes: removing one must not take the other.
    let mut fib = Fib4::new();
    fib.insert(0x0a00_0000, 17, 5);
    fib.insert(0x0a00_8000, 17, 5);
    assert_eq!(fib.remove(0x0a00_0000, 17), Some(5));
    assert_eq!(fib.lookup(0x0a00_0001), NO_ROUTE);
    assert_eq!(fib.lookup(0x0a00_8001), 5);
    assert_eq!(fib.remove(0x0a00_8000, 17), Some(5));
    // The same, made uniform by a removal: the chunk must stay.
    fib.insert(0x0a00_0000, 17, 5);
    fib.insert(0x0a00_8000, 17, 5);
    fib.insert(0x0a00_0100, 24, 6);
    fib.insert(0x0a00_0180, 25, 5);
    fib.insert(0x0a00_0100, 25, 5);
    fib.remove(0x0a00_0100, 24);
    fib.remove(0x0a00_0100, 25);
    fib.remove(0x0a00_0180, 25);
    assert_eq!(fib.lookup(0x0a00_0101), 5);
    fib.remove(0x0a00_0000, 17);
    fib.remove(0x0a00_8000, 17);
    // A /16 and a nested /24 with the same next hop: removing the /24
    // collapses the chunk back into the /16 leaf.
    fib.insert(0x0b00_0000, 16, 3);
    fib.insert(0x0b00_0100, 24, 3);
    fib.remove(0x0b00_0100, 24);
    assert_eq!(fib.lookup(0x0b00_0101), 3);
    assert_eq!(fib.get(0x0b00_0000, 16), Some(3));
}

#[test]
fn fib_removal_gives_memory_back() {
    let empty = Fib4::new().memory_bytes();
    let mut rng = Rng::new(42);
    let mut fib = Fib4::new();
    let mut routes = Vec::new();
    for _ in 0..20_000 {
        let len = 17 + rng.below(16) as u8;
        let p = rng.u32() & mask(len);
        if fib.insert(p, len, rng.below(1000) as NextHop).is_none() {
            routes.push((p, len));
        }
    }
    fib.insert(0, 0, 1);
    fib.insert(0x0a00_0000, 8, 2);
    let full = fib.memory_bytes();
    assert_eq!(fib.sections_in_use(), 256);
    assert!(full > 10 * empty, "{full} vs empty {empty}");
    for (p, len) in routes {
        assert!(fib.remove(p, len).is_some());
    }
    assert_eq!(fib.sections_in_use(), 1);
    assert_eq!(fib.len(), 2);
    assert_eq!(fib.lookup(0x0a01_0203), 2);
    assert_eq!(fib.lookup(0x0b01_0203), 1);
    fib.remove(0, 0);
    fib.remove(0x0a00_0000, 8);
    assert_eq!(fib.memory_bytes(), empty);
}

#[test]
fn fib_tiny_table_is_small() {
    let mut fib = Fib4::new();
    fib.insert(0, 0, 1);
    fib.insert(0x0a00_0000, 8, 2);
    fib.insert(0x0a01_0200, 24, 3);
    fib.insert(0xc0a8_0000, 16, 4);
    assert!(fib.memory_bytes() < 32 * 1024, "{}", fib.memory_bytes());
    assert_eq!(fib.lookup(0x0a01_0203), 3);
    assert_eq!(fib.lookup(0xc0a8_0203), 4);
    assert_eq!(fib.lookup(0x0b00_0000), 1);
}

#[test]
fn fib_from_routes_matches_inserts() {
    let mut rng = Rng::new(99);
    let anchors: Vec<u32> = (0..8).map(|_| rng.u32()).collect();
    let mut reference = Reference::default();
    let mut given = Vec::new();
    for _ in 0..4000 {
        let (p, l) = random_prefix(&mut rng, &anchors);
        let nh = random_nh(&mut rng);
        // duplicates: the last one wins
        given.push((p | (rng.u32() & !mask(l)), l, nh));
        reference.routes.insert((p, l), nh);
    }
    let fib = Fib4::from_routes(given);
    let addrs = probe_addrs(&reference, &mut rng, 3000);
    check_against(&fib, &reference, &addrs);
    check_structure(&fib, &reference);
}

#[test]
fn fib_versions_share_and_do_not_interfere() {
    // A published table stays exactly as it was while the next version is
    // updated, whatever the updates.
    let mut rng = Rng::new(5);
    let anchors: Vec<u32> = (0..8).map(|_| rng.u32()).collect();
    let mut reference = Reference::default();
    let mut fib = Fib4::new();
    for _ in 0..2000 {
        let (p, l) = random_prefix(&mut rng, &anchors);
        let nh = random_nh(&mut rng);
        fib.insert(p, l, nh);
        reference.routes.insert((p, l), nh);
    }
    for _ in 0..5 {
        let published = fib.clone();
        let before = reference.routes.clone();
        for _ in 0..300 {
            let (p, l) = random_prefix(&mut rng, &anchors);
            if rng.chance(50) {
                let nh = random_nh(&mut rng);
                assert_eq!(fib.insert(p, l, nh), reference.routes.insert((p, l), nh));
            } else {
                assert_eq!(fib.remove(p, l), reference.routes.remove(&(p, l)));
            }
        }
        let old = Reference { routes: before };
        let addrs = probe_addrs(&old, &mut rng, 500);
        check_against(&published, &old, &addrs);
        let addrs = probe_addrs(&reference, &mut rng, 500);
        check_against(&fib, &reference, &addrs);
    }
}

#[test]
fn fib_lookup_batch_matches_lookup() {
    let mut rng = Rng::new(7);
    let anchors: Vec<u32> = (0..4).map(|_| rng.u32()).collect();
    let mut fib = Fib4::new();
    let mut reference = Reference::default();
    for _ in 0..3000 {
        let (p, l) = random_prefix(&mut rng, &anchors);
        let nh = random_nh(&mut rng);
        fib.insert(p, l, nh);
        reference.routes.insert((p, l), nh);
    }
    let addrs = probe_addrs(&reference, &mut rng, 5000);
    for n in [0, 1, 2, 31, 32, 33, 64, 100, addrs.len()] {
        let mut out = vec![0x1234_5678; n + 3];
        fib.lookup_batch(&addrs[..n], &mut out);
        for i in 0..n {
            assert_eq!(out[i], fib.lookup(addrs[i]), "n={n} i={i}");
        }
        assert_eq!(&out[n..], &[0x1234_5678; 3], "wrote past addrs.len()");
    }
    check_against(&fib, &reference, &addrs);
}

#[test]
#[should_panic(expected = "lookup_batch")]
fn fib_lookup_batch_short_out_panics() {
    let mut out = [0; 1];
    Fib4::new().lookup_batch(&[1, 2], &mut out);
}

#[test]
fn fib_direct_answers_as_lookup() {
    let mut fib = Fib4::new();
    let a = u32::from(Ipv4Addr::new(10, 0, 0, 0));
    fib.insert(a, 8, 1);
    // A block with a compact root: a few /24s in one /18.
    for i in 0..4u32 {
        fib.insert(a | (i << 8), 24, 10 + i);
    }
    // One with child nodes: a /30 under a /26 in another /18.
    let b = a | (1 << 14);
    fib.insert(b, 26, 20);
    fib.insert(b | 4, 30, 21);
    let d = fib.direct();
    assert_eq!(d.lookup(a | 0x0001_0100), 1, "direct entry");
    assert_eq!(d.lookup(a | 0x0205), 12, "compact root");
    assert_eq!(d.lookup(a | 0x0405), 1, "compact root, covering /8");
    assert_eq!(d.lookup(0x0b00_0001), NO_ROUTE, "no route");
    assert_eq!(d.lookup(b | 5), 21, "a walk");
    assert_eq!(d.lookup(b | 9), 20, "a walk");
    // Martian destinations answer no route whatever covers them.
    fib.insert(0, 0, 7);
    fib.insert(0xe000_0000, 4, 8);
    fib.insert(0x7f00_0000, 8, 9);
    fib.insert(0x7f00_0100, 24, 10);
    let d = fib.direct();
    for m in [
        0x0000_0001,
        0x00ff_ffff,
        0x7f00_0001,
        0x7f00_0101,
        0xe000_0001,
        0xefff_ffff,
        0xf000_0001,
        0xffff_ffff,
    ] {
        assert_eq!(d.lookup(m), NO_ROUTE, "martian {m:#010x}");
        assert_ne!(fib.lookup(m), NO_ROUTE, "{m:#010x} has a route");
    }
    assert_eq!(d.lookup(0x0100_0001), 7, "1/8 is not martian");
    assert_eq!(d.lookup(0xdfff_ffff), 7, "223/8 is not martian");
    assert_eq!(d.lookup(0x7e00_0001), 7, "126/8 is not martian");
}

#[test]
fn fib_clone_is_independent() {
    let mut a = Fib4::new();
    a.insert(0x0a00_0000, 8, 1);
    a.insert(0x0a01_0200, 24, 2);
    a.insert(0x0a01_0203, 32, 3);
    let b = a.clone();
    a.remove(0x0a01_0203, 32);
    a.insert(0x0a01_0200, 24, 4);
    a.insert(0x0b00_0000, 8, 5);
    assert_eq!(b.lookup(0x0a01_0203), 3);
    assert_eq!(b.lookup(0x0a01_0204), 2);
    assert_eq!(b.lookup(0x0b00_0000), NO_ROUTE);
    assert_eq!(b.len(), 3);
    assert_eq!(a.lookup(0x0a01_0203), 4);
    assert_eq!(a.lookup(0x0b00_0000), 5);
}

#[test]
fn fib_max_next_hop_round_trips() {
    let mut fib = Fib4::new();
    fib.insert(0x0a00_0000, 16, MAX_NEXT_HOP);
    fib.insert(0x0a00_0100, 24, MAX_NEXT_HOP - 1);
    fib.insert(0x0a00_0101, 32, 0);
    assert_eq!(fib.lookup(0x0a00_0000), MAX_NEXT_HOP);
    assert_eq!(fib.lookup(0x0a00_0102), MAX_NEXT_HOP - 1);
    assert_eq!(fib.lookup(0x0a00_0101), 0);
}

#[test]
#[should_panic(expected = "MAX_NEXT_HOP")]
fn fib_next_hop_with_top_bit_panics() {
    Fib4::new().insert(0, 8, 1 << 31);
}

#[test]
#[should_panic]
fn fib_no_route_as_next_hop_panics() {
    Fib4::new().insert(0, 8, NO_ROUTE);
}

#[test]
#[should_panic(expected = "> 32")]
fn fib_prefix_length_over_32_panics() {
    Fib4::new().insert(0, 33, 1);
}

// ---- IPv6 ----------------------------------------------------------------

/// Checks `fib`'s answers for `addrs` against `want`: `lookup` and
/// `lookup_batch`, and both with every vector instruction set this CPU
/// has.
fn check6(fib: &Fib6, addrs: &[u128], want: &[NextHop]) {
    let mut out = vec![0; addrs.len()];
    fib.lookup_batch(addrs, &mut out);
    for (i, &a) in addrs.iter().enumerate() {
        assert_eq!(fib.lookup(a), want[i], "lookup6({a:#x}) in {fib:?}");
        assert_eq!(out[i], want[i], "lookup_batch6({a:#x}) in {fib:?}");
    }
    for level in [range::SSE2, range::AVX2, range::AVX512] {
        if !range::supported(level) {
            continue;
        }
        let (single, batch) = fib.lookups_at(level, addrs);
        for (i, &a) in addrs.iter().enumerate() {
            assert_eq!(single[i], want[i], "lookup6({a:#x}) at level {level}");
            assert_eq!(batch[i], want[i], "lookup_batch6({a:#x}) at level {level}");
        }
    }
}

/// Linear-scan reference for IPv6.
fn lookup6(routes: &BTreeMap<(u128, u8), NextHop>, addr: u128) -> NextHop {
    let mut best: Option<(u8, NextHop)> = None;
    for (&(p, l), &nh) in routes {
        if addr & mask6(l) == p && best.is_none_or(|(bl, _)| l > bl) {
            best = Some((l, nh));
        }
    }
    best.map_or(NO_ROUTE, |(_, nh)| nh)
}

fn random_ops6(seed: u64, ops: usize, check_every: usize) {
    let mut rng = Rng::new(seed);
    let u128r = |rng: &mut Rng| u128::from(rng.next()) << 64 | u128::from(rng.next());
    let anchors: Vec<u128> = (0..6).map(|_| u128r(&mut rng)).collect();
    let mut b = Fib6Builder::new();
    let mut reference = BTreeMap::new();
    for op in 1..=ops {
        let base = match rng.below(10) {
            0..=6 => anchors[rng.below(anchors.len() as u64) as usize],
            7 => {
                anchors[rng.below(anchors.len() as u64) as usize]
                    ^ (u128r(&mut rng) >> rng.below(128))
            }
            _ => u128r(&mut rng),
        };
        const EDGES: [u8; 24] = [
            0, 7, 8, 9, 15, 16, 17, 20, 21, 22, 26, 29, 32, 33, 40, 48, 52, 58, 59, 64, 96, 97,
            127, 128,
        ];
        let len = if rng.chance(50) {
            EDGES[rng.below(EDGES.len() as u64) as usize]
        } else {
            rng.below(129) as u8
        };
        let p = base & mask6(len);
        if rng.chance(60) {
            let nh = random_nh(&mut rng);
            let noisy = p | (u128r(&mut rng) & !mask6(len));
            assert_eq!(b.insert(noisy, len, nh), reference.insert((p, len), nh));
        } else {
            assert_eq!(b.remove(p, len), reference.remove(&(p, len)));
        }
        if op % check_every == 0 || op == ops {
            let fib = b.build();
            assert_eq!(fib.len(), reference.len());
            assert_eq!(b.iter().count(), reference.len());
            let mut addrs = vec![0, u128::MAX, 1 << 127, (1 << 127) - 1];
            for &(p, l) in reference.keys() {
                let last = p | !mask6(l);
                addrs.extend([p, p.wrapping_sub(1), last, last.wrapping_add(1)]);
                addrs.push(p | (u128r(&mut rng) & !mask6(l)));
            }
            addrs.extend((0..300).map(|_| u128r(&mut rng)));
            let want: Vec<_> = addrs.iter().map(|&a| lookup6(&reference, a)).collect();
            check6(&fib, &addrs, &want);
        }
    }
}

#[test]
fn fib6_random_ops() {
    random_ops6(1, 3000, 150);
    random_ops6(2, 6000, 1000);
}

#[test]
fn fib6_many_small_seeds() {
    for seed in 10..40 {
        random_ops6(seed, 200, 10);
    }
}

#[test]
fn fib6_empty_and_default() {
    let fib = Fib6::default();
    assert!(fib.is_empty());
    assert_eq!(fib.lookup(42), NO_ROUTE);
    assert!(fib.memory_bytes() < 64);
    let mut b = Fib6Builder::new();
    b.insert(0, 0, 3);
    b.insert(0x2001_0db8 << 96, 32, 4);
    b.insert(u128::MAX, 128, 5);
    let fib = b.build();
    assert_eq!(fib.lookup(1), 3);
    assert_eq!(fib.lookup(0x2001_0db8 << 96 | 77), 4);
    assert_eq!(fib.lookup(u128::MAX), 5);
    assert_eq!(fib.lookup(u128::MAX - 1), 3);
    assert_eq!(b.get(0x2001_0db8 << 96 | 5, 32), Some(4));
}

/// Longest match by exact lookups of every length (for big tables).
fn lookup6_fast(routes: &BTreeMap<(u128, u8), NextHop>, addr: u128) -> NextHop {
    (0..=128u8)
        .rev()
        .find_map(|l| routes.get(&(addr & mask6(l), l)).copied())
        .unwrap_or(NO_ROUTE)
}

#[test]
fn fib6_big_table() {
    // Over 64k routes (20 direct bits), crowded into a few /20s so that
    // the tries are deep and wide, with lengths around /32 and below.
    let mut rng = Rng::new(6);
    let u128r = |rng: &mut Rng| u128::from(rng.next()) << 64 | u128::from(rng.next());
    let regions: Vec<u128> = (0..24).map(|_| u128r(&mut rng) & mask6(20)).collect();
    let mut b = Fib6Builder::new();
    let mut reference = BTreeMap::new();
    b.insert(0, 0, 1);
    reference.insert((0, 0), 1);
    // /32s with a dozen /48s each: range blocks of 17..32 intervals.
    for i in 0..50 {
        let base = regions[i % regions.len()] | (u128r(&mut rng) & !mask6(20)) & mask6(32);
        for j in 0..12u128 {
            let p = base | (u128r(&mut rng) & !mask6(32)) & mask6(48);
            reference.insert((p, 48), 200 + j as NextHop);
            b.insert(p, 48, 200 + j as NextHop);
        }
    }
    while reference.len() < 70_000 {
        let base = regions[rng.below(regions.len() as u64) as usize];
        const LENS: [u8; 17] = [
            16, 20, 21, 24, 26, 27, 28, 31, 32, 33, 40, 48, 52, 58, 59, 64, 128,
        ];
        let len = LENS[rng.below(LENS.len() as u64) as usize];
        let p = (base | (u128r(&mut rng) & !mask6(20))) & mask6(len);
        let nh = if rng.chance(3) {
            0x7fff_0000
        } else {
            rng.below(64) as NextHop
        };
        b.insert(p, len, nh);
        reference.insert((p, len), nh);
    }
    let fib = b.build();
    assert_eq!(fib.len(), reference.len());
    let mut addrs = Vec::new();
    for (i, &(p, l)) in reference.keys().enumerate() {
        if i % 7 == 0 {
            let last = p | !mask6(l);
            addrs.extend([p, p.wrapping_sub(1), last, last.wrapping_add(1)]);
            addrs.push(p | (u128r(&mut rng) & !mask6(l)));
        }
    }
    addrs.extend((0..2000).map(|_| u128r(&mut rng)));
    let want: Vec<_> = addrs.iter().map(|&a| lookup6_fast(&reference, a)).collect();
    check6(&fib, &addrs, &want);
    let shape = fib.shape();
    assert!(shape.arrays > 0 && shape.nodes > 0, "{shape:?}");
    assert!(shape.ranges.iter().all(|&k| k > 0), "{shape:?}");
}

#[test]
fn fib_compact_root_next_hop_edges() {
    // Blocks of /19../24 routes (compact roots) with next hops at the
    // 16-bit boundary and without a cover (NO_ROUTE leaves), next to
    // blocks that cannot be compact (0x8000, longer routes); many blocks
    // per section so that roots get padded to stay inside a line.
    let mut rng = Rng::new(9);
    let mut reference = Reference::default();
    let mut fib = Fib4::new();
    const NHS: [NextHop; 6] = [0, 1, 0x7ffe, 0x7fff, 0x8000, MAX_NEXT_HOP];
    for i in 0..600u32 {
        let slot = (0x0a00_0000 | (i % 300) << 14) ^ (i / 300) << 24;
        let len = 19 + rng.below(6) as u8;
        let p = (slot | rng.u32() & 0x3fff) & mask(len);
        let nh = NHS[rng.below(if i % 3 == 0 { 6 } else { 4 }) as usize];
        assert_eq!(
            fib.insert(p, len, nh),
            reference.routes.insert((p, len), nh)
        );
        if i % 50 == 0 {
            let q = (slot | rng.u32() & 0x3fff) & mask(28);
            fib.insert(q, 28, 7);
            reference.routes.insert((q, 28), 7);
        }
    }
    let addrs = probe_addrs(&reference, &mut rng, 500);
    check_against(&fib, &reference, &addrs);
    check_structure(&fib, &reference);
    // Replacing next hops across the boundary switches blocks between
    // the two forms.
    let keys: Vec<_> = reference.routes.keys().copied().collect();
    for (k, &(p, l)) in keys.iter().enumerate() {
        let nh = NHS[k % 6];
        assert_eq!(fib.insert(p, l, nh), reference.routes.insert((p, l), nh));
    }
    check_against(&fib, &reference, &addrs);
    check_structure(&fib, &reference);
}

/// Checks a table of `routes` against the reference (exact lookups of
/// every length) at the edges of every route, inside it, and at `probes`;
/// returns its shape.
fn check_table6(routes: &BTreeMap<(u128, u8), NextHop>, probes: &[u128], rng: &mut Rng) -> Shape {
    let fib = Fib6::from_routes(routes.iter().map(|(&(p, l), &nh)| (p, l, nh)));
    assert_eq!(fib.len(), routes.len());
    let mut addrs = probes.to_vec();
    addrs.extend([0, u128::MAX, 1 << 127, (1 << 127) - 1]);
    for &(p, l) in routes.keys() {
        let last = p | !mask6(l);
        let host = u128::from(rng.next()) << 64 | u128::from(rng.next());
        addrs.extend([p, p.wrapping_sub(1), last, last.wrapping_add(1)]);
        addrs.push(p | (host & !mask6(l)));
    }
    let want: Vec<_> = addrs.iter().map(|&a| lookup6_fast(routes, a)).collect();
    check6(&fib, &addrs, &want);
    fib.shape()
}

#[test]
fn fib6_range_block_sizes() {
    // A /32 cover and k /48s (next to each other, every other one inside
    // a /44 with its own next hop) make 2k + 1 intervals or so: range
    // blocks of every class, then too many for one (a node above blocks).
    let mut rng = Rng::new(61);
    let base: u128 = 0x2001_0db8 << 96;
    let mut seen = Shape::default();
    let mut split = false;
    for k in 0..=24u128 {
        let mut routes = BTreeMap::new();
        routes.insert((base, 32), 1);
        for j in 0..k {
            let p = base | (j * 0x2_0001) << 80;
            routes.insert((p & mask6(48), 48), 100 + j as NextHop);
            if j % 2 == 1 {
                routes.insert((p & mask6(44), 44), 2);
            }
        }
        let shape = check_table6(&routes, &[], &mut rng);
        for (c, n) in shape.ranges.iter().enumerate() {
            seen.ranges[c] += n;
        }
        split |= shape.ranges.iter().sum::<usize>() > 1;
    }
    assert!(seen.ranges.iter().all(|&n| n > 0), "{seen:?}");
    assert!(split, "some table needs more than one block");
}

#[test]
fn fib6_range_key_edges() {
    // Routes at the first and the last key of a block (which covers 32
    // bits below its depth), ending exactly 32 bits below it or one bit
    // further, with and without a cover (NO_ROUTE inside blocks), with
    // the smallest and the largest next hop.
    let mut rng = Rng::new(62);
    const NHS: [NextHop; 4] = [0, 1, MAX_NEXT_HOP - 1, MAX_NEXT_HOP];
    for depth in [0u32, 6, 8, 12, 16, 20, 26, 32, 60, 90, 96, 100, 122] {
        for extra in [31u32, 32, 33] {
            let len = (depth + extra).min(128) as u8;
            let region = 0x2a00_1450_4001_0800_0000_0000_0000_0000u128 & mask6(depth as u8);
            for cover in [None, Some(7)] {
                let mut routes = BTreeMap::new();
                if let Some(nh) = cover {
                    routes.insert((region, depth as u8), nh);
                }
                let first = region;
                let last = (region | !mask6(depth as u8)) & mask6(len);
                routes.insert((first, len), NHS[(depth as usize + 1) % 4]);
                routes.insert((last, len), NHS[depth as usize % 4]);
                // A nested pair in the middle.
                let mid = region | 1 << (127 - depth.min(127));
                let mid_len = (depth + 1).min(128) as u8;
                routes.insert((mid & mask6(mid_len), mid_len), 3);
                routes.insert((mid & mask6(len), len), 4);
                let shape = check_table6(&routes, &[], &mut rng);
                assert!(shape.arrays + shape.nodes + shape.ranges.iter().sum::<usize>() > 0);
            }
        }
    }
}

#[test]
fn fib6_direct_bits_thresholds() {
    // Tables just below and at each size where the direct table grows
    // (0, 8, 16 bits), crowded into a few /24s (dense down to /36, nested
    // below) so that array nodes, Poptrie nodes and range blocks all
    // appear.
    let mut rng = Rng::new(63);
    let u128r = |rng: &mut Rng| u128::from(rng.next()) << 64 | u128::from(rng.next());
    let regions: Vec<u128> = (0..4).map(|_| u128r(&mut rng) & mask6(24)).collect();
    let mut seen = Shape::default();
    for n in [63, 64, 4095, 4096] {
        let mut routes = BTreeMap::new();
        while routes.len() < n {
            let base = regions[rng.below(regions.len() as u64) as usize];
            const LENS: [u8; 14] = [8, 16, 24, 26, 28, 32, 40, 44, 48, 52, 56, 64, 96, 128];
            let len = LENS[rng.below(LENS.len() as u64) as usize];
            // Random bits 24..36 only: dense there, nested below.
            let p = (base | (u128r(&mut rng) & !mask6(24) & mask6(36))) & mask6(len);
            routes.insert((p, len), rng.below(64) as NextHop);
        }
        let probes: Vec<u128> = (0..500).map(|_| u128r(&mut rng)).collect();
        let shape = check_table6(&routes, &probes, &mut rng);
        seen.arrays += shape.arrays;
        seen.leaf_arrays += shape.leaf_arrays;
        seen.nodes += shape.nodes;
        for (c, k) in shape.ranges.iter().enumerate() {
            seen.ranges[c] += k;
        }
    }
    assert!(seen.leaf_arrays > 0 && seen.nodes > 0, "{seen:?}");
    assert!(seen.ranges.iter().all(|&k| k > 0), "{seen:?}");
}

#[test]
fn fib6_sparse_long_routes_stay_small() {
    // Lone long routes (no range block holds a /128 far below its
    // depth) are chains of Poptrie nodes, not array nodes: a few hundred
    // bytes each (rte_lpm6 takes a 1 KiB group per 8 bits past /24).
    let mut rng = Rng::new(64);
    for (n, len) in [(5000, 128u8), (5000, 64), (70_000, 128)] {
        let mut routes = BTreeMap::new();
        while routes.len() < n {
            let p = (u128::from(rng.next()) << 64 | u128::from(rng.next())) & mask6(len);
            routes.insert((p, len), rng.below(64) as NextHop);
        }
        let fib = Fib6::from_routes(routes.iter().map(|(&(p, l), &nh)| (p, l, nh)));
        let per_route = fib.memory_bytes() / n;
        assert!(
            per_route < 600,
            "{n} /{len}s: {per_route} bytes each ({fib:?})"
        );
        let addrs: Vec<u128> = routes
            .keys()
            .take(2000)
            .flat_map(|&(p, l)| [p, p | !mask6(l), p.wrapping_sub(1)])
            .collect();
        let want: Vec<_> = addrs.iter().map(|&a| lookup6_fast(&routes, a)).collect();
        check6(&fib, &addrs, &want);
    }
}
