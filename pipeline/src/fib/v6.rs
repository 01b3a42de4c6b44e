//! [`Fib6`]: the IPv6 table, and [`Fib6Builder`] that makes it.

use std::collections::BTreeMap;

use super::node::{self, Route, NODE_WORDS};
use super::{NextHop, MAX_NEXT_HOP, NO_ROUTE};

/// Tag of a direct entry that points to a root node.
const BLOCK: u32 = 1 << 31;
/// Addresses per pipelined round of [`Fib6::lookup_batch`].
const BATCH: usize = 32;

/// True if direct entry `e` points to a root node.
#[inline(always)]
const fn is_block(e: u32) -> bool {
    (e as i32) < -1
}

/// Netmask of an IPv6 prefix length (`len <= 128`).
#[inline]
pub const fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    }
}

/// An immutable IPv6 longest-prefix-match table: direct pointing on the
/// top 0, 8, 16 or 20 bits (by table size: 20 from 64k routes), then Poptrie nodes of 6 bits.
/// Made by a [`Fib6Builder`] (or [`Fib6::from_routes`]); a new version is a
/// new build.
#[derive(Clone)]
pub struct Fib6 {
    /// Bits resolved by `direct` (0, 8, 16 or 20).
    bits: u32,
    /// `2^bits` entries: a next hop, or `BLOCK | offset` of a root node in
    /// `buf`.
    direct: node::Words,
    /// The tries; node offsets are relative to their root.
    buf: node::Words,
    /// Number of routes.
    len: usize,
}

impl Default for Fib6 {
    fn default() -> Self {
        Fib6::from_routes(std::iter::empty())
    }
}

impl std::fmt::Debug for Fib6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fib6")
            .field("prefixes", &self.len)
            .field("direct_bits", &self.bits)
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl Fib6 {
    /// A table of `routes` (`(prefix, len, next hop)`; for a prefix given
    /// twice, the last next hop wins).
    ///
    /// # Panics
    ///
    /// If a length is over 128 or a next hop over [`MAX_NEXT_HOP`].
    pub fn from_routes<I: IntoIterator<Item = (u128, u8, NextHop)>>(routes: I) -> Self {
        let mut b = Fib6Builder::new();
        for (p, len, nh) in routes {
            b.insert(p, len, nh);
        }
        b.build()
    }

    /// Longest-prefix match of `addr`: the next hop of the longest prefix
    /// that contains it, or [`NO_ROUTE`]. Never allocates.
    #[inline]
    pub fn lookup(&self, addr: u128) -> NextHop {
        #[cfg(target_arch = "x86_64")]
        if node::has_popcnt() {
            // SAFETY: the CPU has popcnt.
            return unsafe { self.lookup_popcnt(addr) };
        }
        // SAFETY: the table's invariant (see `lookup_in`).
        unsafe { self.lookup_in(addr) }
    }

    /// [`lookup`](Self::lookup) compiled with `popcnt`.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn lookup_popcnt(&self, addr: u128) -> NextHop {
        self.lookup_in(addr)
    }

    /// Index of `addr` in `direct`.
    #[inline(always)]
    fn index(&self, addr: u128) -> usize {
        // `(hi >> 1) >> (63 - bits)` is `hi >> (64 - bits)`, also for 0 bits.
        (((addr >> 64) as u64 >> 1) >> (63 - self.bits)) as usize
    }

    /// The walk of [`lookup`](Self::lookup).
    ///
    /// # Safety
    ///
    /// Always safe: `direct` has `2^bits` entries and each block entry
    /// points to a root built by `node::build`. `unsafe` for the
    /// `target_feature` caller.
    #[inline(always)]
    unsafe fn lookup_in(&self, addr: u128) -> NextHop {
        let e = *self.direct.get_unchecked(self.index(addr));
        if !is_block(e) {
            return e;
        }
        node::walk(
            self.buf.as_ptr().add((e & !BLOCK) as usize),
            addr << self.bits,
        )
    }

    /// Longest-prefix match of every address in `addrs`, written to the
    /// same position of `out` (the answers of [`lookup`](Self::lookup)),
    /// one trie level at a time for rounds of 32 addresses so that their
    /// cache misses overlap.
    ///
    /// # Panics
    ///
    /// If `out.len() < addrs.len()`.
    pub fn lookup_batch(&self, addrs: &[u128], out: &mut [u32]) {
        assert!(out.len() >= addrs.len(), "lookup_batch: out is too short");
        #[cfg(target_arch = "x86_64")]
        if node::has_popcnt() {
            // SAFETY: the CPU has popcnt.
            unsafe { self.batch_popcnt(addrs, out) };
            return;
        }
        // SAFETY: `out` is long enough; otherwise as `lookup_in`.
        unsafe { self.batch_in(addrs, out) }
    }

    /// [`lookup_batch`](Self::lookup_batch) compiled with `popcnt`.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`; `out.len() >= addrs.len()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn batch_popcnt(&self, addrs: &[u128], out: &mut [u32]) {
        self.batch_in(addrs, out)
    }

    /// The body of [`lookup_batch`](Self::lookup_batch).
    ///
    /// # Safety
    ///
    /// `out.len() >= addrs.len()`.
    #[inline(always)]
    unsafe fn batch_in(&self, addrs: &[u128], out: &mut [u32]) {
        let buf = self.buf.as_ptr();
        for (addrs, out) in addrs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            let n = addrs.len();
            let mut blk = [std::ptr::null::<u32>(); BATCH];
            let mut at = [std::ptr::null::<u32>(); BATCH];
            // The key bits below the current node, left-aligned: the
            // high half while it lasts (a step shifts a u64 by 6), the
            // full address past /64.
            let mut keys = [0u64; BATCH];
            let mut pending = 0u32;
            for i in 0..n {
                let e = *self
                    .direct
                    .get_unchecked(self.index(*addrs.get_unchecked(i)));
                let b = is_block(e);
                // For a next hop the root is meaningless: prefetch the
                // buffer's start instead (a wild prefetch can cost a walk).
                let root = node::select(b, buf.wrapping_add((e & !BLOCK) as usize), buf);
                node::prefetch(root);
                *blk.get_unchecked_mut(i) = root;
                *at.get_unchecked_mut(i) = root;
                *out.get_unchecked_mut(i) = e;
                *keys.get_unchecked_mut(i) = (*addrs.get_unchecked(i) >> 64) as u64;
                pending |= u32::from(b) << i;
            }
            let mut shift = self.bits;
            let mut leaves = 0u32;
            while pending != 0 {
                let mut next = 0u32;
                let mut m = pending;
                while m != 0 {
                    let i = m.trailing_zeros() as usize;
                    m &= m - 1;
                    let step = if shift + node::STRIDE <= 64 {
                        let key = *keys.get_unchecked(i) << shift;
                        node::step(*blk.get_unchecked(i), *at.get_unchecked(i), key)
                    } else {
                        let key = *addrs.get_unchecked(i) << shift;
                        node::step(*blk.get_unchecked(i), *at.get_unchecked(i), key)
                    };
                    match step {
                        Ok(child) => {
                            next |= 1 << i;
                            *at.get_unchecked_mut(i) = child;
                            node::prefetch(child);
                        }
                        Err(leaf) => {
                            leaves |= 1 << i;
                            *at.get_unchecked_mut(i) = leaf;
                            node::prefetch(leaf);
                        }
                    }
                }
                pending = next;
                shift += node::STRIDE;
            }
            while leaves != 0 {
                let i = leaves.trailing_zeros() as usize;
                leaves &= leaves - 1;
                *out.get_unchecked_mut(i) = **at.get_unchecked(i);
            }
        }
    }

    /// Number of prefixes in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the table holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes of the lookup structure (the routes themselves stay in
    /// the builder).
    pub fn memory_bytes(&self) -> usize {
        (self.direct.len() + self.buf.len()) * 4
    }
}

/// The mutable side of IPv6 tables: the routes, from which
/// [`build`](Self::build) makes an immutable [`Fib6`].
#[derive(Clone, Debug, Default)]
pub struct Fib6Builder {
    routes: BTreeMap<(u128, u8), NextHop>,
}

impl Fib6Builder {
    /// No routes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `prefix/len → nh`; returns the replaced next hop.
    /// Bits of `prefix` beyond `len` are ignored.
    ///
    /// # Panics
    ///
    /// If `len > 128` or `nh > MAX_NEXT_HOP`.
    pub fn insert(&mut self, prefix: u128, len: u8, nh: NextHop) -> Option<NextHop> {
        assert!(len <= 128, "IPv6 prefix length {len} > 128");
        assert!(nh <= MAX_NEXT_HOP, "next hop {nh:#x} > MAX_NEXT_HOP");
        self.routes.insert((prefix & mask6(len), len), nh)
    }

    /// Removes exactly `prefix/len`; returns its next hop.
    pub fn remove(&mut self, prefix: u128, len: u8) -> Option<NextHop> {
        if len > 128 {
            return None;
        }
        self.routes.remove(&(prefix & mask6(len), len))
    }

    /// The next hop of exactly `prefix/len`.
    pub fn get(&self, prefix: u128, len: u8) -> Option<NextHop> {
        if len > 128 {
            return None;
        }
        self.routes.get(&(prefix & mask6(len), len)).copied()
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True if there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Every route as `(prefix, len, next hop)`, sorted by prefix then
    /// length.
    pub fn iter(&self) -> impl Iterator<Item = (u128, u8, NextHop)> + '_ {
        self.routes.iter().map(|(&(p, l), &nh)| (p, l, nh))
    }

    /// The lookup table of the current routes.
    pub fn build(&self) -> Fib6 {
        let n = self.routes.len();
        let bits: u32 = match n {
            0..=63 => 0,
            64..=4095 => 8,
            4096..=65535 => 16,
            _ => 20,
        };
        let mut direct = vec![NO_ROUTE; 1 << bits];
        let routes: Vec<Route> = self
            .routes
            .iter()
            .map(|(&(key, len), &nh)| Route { key, len, nh })
            .collect();
        let index = |key: u128| (((key >> 64) as u64 >> 1) >> (63 - bits)) as usize;
        // Short routes in containment order (sorted), then the tries.
        for r in routes.iter().filter(|r| u32::from(r.len) <= bits) {
            let i = index(r.key);
            direct[i..i + (1 << (bits - u32::from(r.len)))].fill(r.nh);
        }
        let mut buf = Vec::new();
        let mut i = 0;
        while i < routes.len() {
            if u32::from(routes[i].len) <= bits {
                i += 1;
                continue;
            }
            let d = index(routes[i].key);
            let mut j = i + 1;
            while j < routes.len() && index(routes[j].key) == d {
                j += 1;
            }
            let root = buf.len();
            buf.resize(root + NODE_WORDS, 0);
            node::build(&mut buf, root, root, bits, &routes[i..j], direct[d]);
            assert!(root < (BLOCK - 1) as usize, "IPv6 FIB over 2^31 words");
            direct[d] = BLOCK | root as u32;
            i = j;
        }
        Fib6 {
            bits,
            direct: node::Words::new(&direct),
            buf: node::Words::new(&buf),
            len: n,
        }
    }
}
