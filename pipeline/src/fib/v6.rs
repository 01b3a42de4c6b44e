//! [`Fib6`]: the IPv6 table, and [`Fib6Builder`] that makes it (see the
//! [module documentation](super)).

use std::collections::BTreeMap;

use super::node::{self, Route, NODE_WORDS, STRIDE};
use super::range;
use super::{NextHop, MAX_NEXT_HOP, NO_ROUTE};

// An *entry* (in the direct table, an array node, or a Poptrie node's
// leaves) is a next hop, `NO_ROUTE`, or one of these pointers:
//
//   100o_oooo .. oooo   Poptrie node at word o of `buf` (o < 2^29)
//   101u_uuuu .. uuuu   array node at 32-byte unit u of `blocks` (u < 2^29)
//   11cc_uuuu .. uuuu   range block of class c (0 ..= 3) at 32-byte unit u
//                       of `blocks` (u < 2^28, and not all ones for c = 3)
//
// so that `NO_ROUTE` (all ones) is none of them.

/// Entry tag of a Poptrie node.
const NODE: u32 = 0b100 << 29;
/// Entry tag of an array node.
const ARRAY: u32 = 0b101 << 29;
/// Entry tag of a range block (with its class in bits 28..30).
const RANGE: u32 = 0b11 << 30;
/// Offsets (Poptrie nodes in words, array nodes in units) in entries.
const OFFSET: u32 = (1 << 29) - 1;
/// Unit offsets of range blocks in entries.
const RANGE_OFFSET: u32 = (1 << 28) - 1;
/// Words per 32-byte unit of `blocks`.
const UNIT: usize = 8;
/// Positions of a node (array or Poptrie).
const FANOUT: usize = 1 << STRIDE;
/// Fewest distinct items (children and runs of equal leaves) of a node
/// below which it is a Poptrie node rather than an array node.
const ARRAY_MIN: usize = 12;
/// Fewest routes below a node of the first two levels below the direct
/// table for which it is an array node however sparse (a lone long route
/// there, which no range block holds, does not cost arrays).
const ARRAY_MIN_ROUTES: usize = 4;
/// Addresses per pipelined round of [`Fib6::lookup_batch`].
const BATCH: usize = 32;

/// True if entry `e` points to a node or a block, false for a next hop
/// or `NO_ROUTE` (one signed compare: `0x8000_0000 ..= 0xffff_fffe`).
#[inline(always)]
const fn is_ptr(e: u32) -> bool {
    (e as i32) < -1
}

/// For a pointer entry: true if it is a range block.
#[inline(always)]
const fn is_range(e: u32) -> bool {
    e >= RANGE
}

/// For a pointer entry: true if it is an array node.
#[inline(always)]
const fn is_array(e: u32) -> bool {
    e >> 29 == ARRAY >> 29
}

/// The Poptrie node of entry `e` in `buf`.
#[inline(always)]
fn node_of(buf: *const u32, e: u32) -> *const u32 {
    buf.wrapping_add((e & OFFSET) as usize)
}

/// The array node of entry `e` in `blocks`.
#[inline(always)]
fn array_of(blocks: *const u32, e: u32) -> *const u32 {
    blocks.wrapping_add((e & OFFSET) as usize * UNIT)
}

/// The range block of entry `e` in `blocks`.
#[inline(always)]
fn range_of(blocks: *const u32, e: u32) -> *const u32 {
    blocks.wrapping_add((e & RANGE_OFFSET) as usize * UNIT)
}

/// The class of range entry `e`.
#[inline(always)]
const fn class_of(e: u32) -> u32 {
    e >> 28 & 3
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

/// An immutable IPv6 longest-prefix-match table (see the [module
/// documentation](super)): direct pointing on the top 0, 8, 16 or 20 bits
/// (by table size: 20 from 64k routes), then array nodes (64 entries)
/// where the table is dense, Poptrie nodes (6 bits) where it is sparse,
/// down to where the routes below a position fit in a range block.
/// Made by a [`Fib6Builder`] (or [`Fib6::from_routes`]); a new version is a
/// new build.
#[derive(Clone)]
pub struct Fib6 {
    /// Bits resolved by `direct` (0, 8, 16 or 20).
    bits: u32,
    /// `2^bits` entries.
    direct: node::Words,
    /// The Poptrie nodes and their leaves (entries: next hops, range
    /// blocks, array nodes); node offsets are relative to its start.
    buf: node::Words,
    /// The range blocks (each inside a cache line, or on two or four
    /// aligned lines) and array nodes (four aligned lines).
    blocks: node::Words,
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
            .field("node_bytes", &(self.buf.len() * 4))
            .field("block_bytes", &(self.blocks.len() * 4))
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

/// The answer of the range block of entry `e` for `key` (the address
/// bits below the block's depth, left-aligned).
///
/// # Safety
///
/// `e` must be a range entry of the table whose blocks start at `blocks`.
#[inline(always)]
unsafe fn range_leaf<const L: u8>(blocks: *const u32, e: u32, key: u128) -> NextHop {
    range::lookup::<L>(range_of(blocks, e), class_of(e), (key >> 96) as u32)
}

/// Prefetches the range block of entry `e`: its first line, and for
/// classes 2 and 3 its second (the answers of class 2, the other keys of
/// class 3; the line of the answer of class 3 is known only after the
/// compares).
#[inline(always)]
fn prefetch_range(blocks: *const u32, e: u32) {
    let b = range_of(blocks, e);
    let class = class_of(e);
    node::prefetch(b);
    node::prefetch(b.wrapping_add(16 * usize::from(class >= 2)));
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
        match range::simd() {
            // SAFETY: the CPU has the features of each level (`simd`).
            range::AVX512 => return unsafe { self.lookup_avx512(addr) },
            // SAFETY: as above.
            range::AVX2 => return unsafe { self.lookup_avx2(addr) },
            _ if node::has_popcnt() => {
                // SAFETY: the CPU has popcnt.
                return unsafe { self.lookup_popcnt(addr) };
            }
            _ => {}
        }
        // SAFETY: the table's invariant (see `lookup_in`); SSE2 is part
        // of x86-64.
        unsafe { self.lookup_in::<{ range::SSE2 }>(addr) }
    }

    /// [`lookup`](Self::lookup) compiled with `popcnt`.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn lookup_popcnt(&self, addr: u128) -> NextHop {
        self.lookup_in::<{ range::SSE2 }>(addr)
    }

    /// [`lookup`](Self::lookup) compiled with AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt` and AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2")]
    unsafe fn lookup_avx2(&self, addr: u128) -> NextHop {
        self.lookup_in::<{ range::AVX2 }>(addr)
    }

    /// [`lookup`](Self::lookup) compiled with AVX-512.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`, AVX2, AVX-512F and AVX-512BW.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2,avx512f,avx512bw")]
    unsafe fn lookup_avx512(&self, addr: u128) -> NextHop {
        self.lookup_in::<{ range::AVX512 }>(addr)
    }

    /// Index of `addr` in `direct`.
    #[inline(always)]
    fn index(&self, addr: u128) -> usize {
        // `(hi >> 1) >> (63 - bits)` is `hi >> (64 - bits)`, also for 0 bits.
        (((addr >> 64) as u64 >> 1) >> (63 - self.bits)) as usize
    }

    /// Index in the array node at depth `bits` for the high half `hi` of an
    /// address.
    #[inline(always)]
    fn array_pos(&self, hi: u64) -> usize {
        ((hi << self.bits) >> (64 - STRIDE)) as usize
    }

    /// The key of a range block at depth `bits + 6` for the high half `hi`
    /// of an address (the bits fit in it: `bits + 6 + 32 <= 64`).
    #[inline(always)]
    fn range_key(&self, hi: u64) -> u32 {
        ((hi << (self.bits + STRIDE)) >> 32) as u32
    }

    /// The walk of [`lookup`](Self::lookup): the usual path (direct entry,
    /// array node, range block) on the high half of the address, the
    /// others in [`walk`](Self::walk).
    ///
    /// # Safety
    ///
    /// Always safe: `direct` has `2^bits` entries; every pointer entry
    /// (in `direct`, array nodes and Poptrie leaves) points to a node or
    /// block of its kind, and every path ends in a next hop or a range
    /// block before the key runs out (see `Fib6Builder::build`). `unsafe`
    /// for the `target_feature` caller.
    #[inline(always)]
    unsafe fn lookup_in<const L: u8>(&self, addr: u128) -> NextHop {
        let e = *self.direct.get_unchecked(self.index(addr));
        if !is_ptr(e) {
            return e;
        }
        let blocks = self.blocks.as_ptr();
        if !is_array(e) {
            return self.walk::<L>(e, addr << self.bits);
        }
        let hi = (addr >> 64) as u64;
        let e = *array_of(blocks, e).add(self.array_pos(hi));
        if !is_ptr(e) {
            return e;
        }
        if is_range(e) {
            return range::lookup::<L>(range_of(blocks, e), class_of(e), self.range_key(hi));
        }
        self.walk::<L>(e, addr << (self.bits + STRIDE))
    }

    /// The answer below pointer entry `e` for `key` (the address bits
    /// below its depth, left-aligned): any path.
    ///
    /// # Safety
    ///
    /// As `lookup_in`; `e` is a pointer entry of this table.
    #[inline(always)]
    unsafe fn walk<const L: u8>(&self, mut e: u32, mut key: u128) -> NextHop {
        let buf = self.buf.as_ptr();
        let blocks = self.blocks.as_ptr();
        loop {
            if is_range(e) {
                return range_leaf::<L>(blocks, e, key);
            }
            if is_array(e) {
                e = *array_of(blocks, e).add((key >> (128 - STRIDE)) as usize);
                key <<= STRIDE;
            } else {
                let mut at = node_of(buf, e);
                loop {
                    let step = node::step(buf, at, key);
                    key <<= STRIDE;
                    match step {
                        Ok(child) => at = child,
                        Err(leaf) => {
                            e = *leaf;
                            break;
                        }
                    }
                }
            }
            if !is_ptr(e) {
                return e;
            }
        }
    }

    /// Longest-prefix match of every address in `addrs`, written to the
    /// same position of `out` (the answers of [`lookup`](Self::lookup)).
    ///
    /// Works in rounds of 32 addresses, each stage for the whole round
    /// before the next, prefetching what the next stage reads so that the
    /// cache misses of the round overlap: the direct entries; the entries
    /// of the array nodes they point to; then, for the lanes on other
    /// paths, array nodes and Poptrie nodes a level at a time, and the
    /// Poptrie leaves; last the range blocks of all lanes. The usual path
    /// (direct entry, array node, range block) takes its keys from the
    /// high half of the address and does not branch on what the array
    /// entry is (next hops, range blocks and deeper nodes mix in a round:
    /// a mispredicted branch per lane costs more than the selects); a
    /// direct entry is nearly always the same kind within a table (array
    /// nodes inside it, next hops outside), so that stage branches.
    ///
    /// # Panics
    ///
    /// If `out.len() < addrs.len()`.
    pub fn lookup_batch(&self, addrs: &[u128], out: &mut [u32]) {
        assert!(out.len() >= addrs.len(), "lookup_batch: out is too short");
        #[cfg(target_arch = "x86_64")]
        match range::simd() {
            // SAFETY: the CPU has the features of each level (`simd`);
            // `out` is long enough.
            range::AVX512 => return unsafe { self.batch_avx512(addrs, out) },
            // SAFETY: as above.
            range::AVX2 => return unsafe { self.batch_avx2(addrs, out) },
            _ if node::has_popcnt() => {
                // SAFETY: the CPU has popcnt; `out` is long enough.
                return unsafe { self.batch_popcnt(addrs, out) };
            }
            _ => {}
        }
        // SAFETY: `out` is long enough; otherwise as `lookup_in`.
        unsafe { self.batch_in::<{ range::SSE2 }>(addrs, out) }
    }

    /// [`lookup_batch`](Self::lookup_batch) compiled with `popcnt`.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`; `out.len() >= addrs.len()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn batch_popcnt(&self, addrs: &[u128], out: &mut [u32]) {
        self.batch_in::<{ range::SSE2 }>(addrs, out)
    }

    /// [`lookup_batch`](Self::lookup_batch) compiled with AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt` and AVX2; `out.len() >= addrs.len()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2")]
    unsafe fn batch_avx2(&self, addrs: &[u128], out: &mut [u32]) {
        self.batch_in::<{ range::AVX2 }>(addrs, out)
    }

    /// [`lookup_batch`](Self::lookup_batch) compiled with AVX-512.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`, AVX2, AVX-512F and AVX-512BW;
    /// `out.len() >= addrs.len()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2,avx512f,avx512bw")]
    unsafe fn batch_avx512(&self, addrs: &[u128], out: &mut [u32]) {
        self.batch_in::<{ range::AVX512 }>(addrs, out)
    }

    /// The body of [`lookup_batch`](Self::lookup_batch).
    ///
    /// # Safety
    ///
    /// `out.len() >= addrs.len()`; otherwise as `lookup_in`.
    #[inline(always)]
    unsafe fn batch_in<const L: u8>(&self, addrs: &[u128], out: &mut [u32]) {
        use std::mem::MaybeUninit;
        let buf = self.buf.as_ptr();
        let blocks = self.blocks.as_ptr();
        for (addrs, out) in addrs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            let n = addrs.len();
            // `out[i]` holds lane i's current entry until the answer
            // replaces it. The usual path (direct entry, array node, range
            // block) works on the high half of the address; the others
            // (`arrays`, `nodes`) on `key`, the address bits below the
            // current depth, left-aligned, and `at`, the Poptrie node or
            // leaf being read. A bit per lane in each stage's mask; the
            // arrays are written before a lane's bit is set.
            let mut key = [MaybeUninit::<u128>::uninit(); BATCH];
            let mut at = [MaybeUninit::<*const u32>::uninit(); BATCH];
            // The range block's key of the lanes in `ranges`.
            let mut rkey = [MaybeUninit::<u32>::uninit(); BATCH];
            let mut fast = 0u32;
            let mut arrays = 0u32;
            let mut nodes = 0u32;
            let mut ranges = 0u32;
            // Sorts lane `i`, whose entry is now pointer `e` and key `k`,
            // into its next stage, prefetching what that stage reads.
            macro_rules! sort {
                ($i:expr, $e:expr, $k:expr, $arrays:expr) => {
                    let (i, e, k): (usize, u32, u128) = ($i, $e, $k);
                    key.get_unchecked_mut(i).write(k);
                    if is_array(e) {
                        node::prefetch(array_of(blocks, e).add((k >> (128 - STRIDE)) as usize));
                        $arrays |= 1 << i;
                    } else if is_range(e) {
                        prefetch_range(blocks, e);
                        rkey.get_unchecked_mut(i).write((k >> 96) as u32);
                        ranges |= 1 << i;
                    } else {
                        let node = node_of(buf, e);
                        node::prefetch(node);
                        at.get_unchecked_mut(i).write(node);
                        nodes |= 1 << i;
                    }
                };
            }
            // The direct entries; for an array node, its entry's line.
            // The other kinds go to `slow` (rare inside a big table, as
            // next hops are for random addresses: the branch predicts).
            let mut slow = 0u32;
            for i in 0..n {
                let a = *addrs.get_unchecked(i);
                let e = *self.direct.get_unchecked(self.index(a));
                *out.get_unchecked_mut(i) = e;
                if is_array(e) {
                    let p = array_of(blocks, e).add(self.array_pos((a >> 64) as u64));
                    node::prefetch(p);
                    at.get_unchecked_mut(i).write(p);
                    fast |= 1 << i;
                } else if is_ptr(e) {
                    slow |= 1 << i;
                }
            }
            while slow != 0 {
                let i = slow.trailing_zeros() as usize;
                slow &= slow - 1;
                let e = *out.get_unchecked(i);
                sort!(i, e, *addrs.get_unchecked(i) << self.bits, arrays);
            }
            // The array entries; for a range block, its lines. Without a
            // branch on the kind of entry: next hops, range blocks and
            // deeper nodes mix in a round; the nodes go to `slow`.
            while fast != 0 {
                let i = fast.trailing_zeros() as usize;
                fast &= fast - 1;
                let e = *at.get_unchecked(i).assume_init();
                *out.get_unchecked_mut(i) = e;
                let range = is_ptr(e) & is_range(e);
                prefetch_range(blocks, std::hint::select_unpredictable(range, e, RANGE));
                let hi = (*addrs.get_unchecked(i) >> 64) as u64;
                rkey.get_unchecked_mut(i).write(self.range_key(hi));
                ranges |= u32::from(range) << i;
                slow |= u32::from(is_ptr(e) & !range) << i;
            }
            while slow != 0 {
                let i = slow.trailing_zeros() as usize;
                slow &= slow - 1;
                let e = *out.get_unchecked(i);
                let k = *addrs.get_unchecked(i) << (self.bits + STRIDE);
                sort!(i, e, k, arrays);
            }
            // The other paths: array nodes and Poptrie nodes take turns (a
            // Poptrie leaf may be an array node), each a level at a time.
            while arrays | nodes != 0 {
                while arrays != 0 {
                    let mut m = arrays;
                    arrays = 0;
                    while m != 0 {
                        let i = m.trailing_zeros() as usize;
                        m &= m - 1;
                        let k = key.get_unchecked(i).assume_init();
                        let b = array_of(blocks, *out.get_unchecked(i));
                        let e = *b.add((k >> (128 - STRIDE)) as usize);
                        *out.get_unchecked_mut(i) = e;
                        if is_ptr(e) {
                            sort!(i, e, k << STRIDE, arrays);
                        }
                    }
                }
                let mut leaves = 0u32;
                while nodes != 0 {
                    let mut next = 0u32;
                    let mut m = nodes;
                    while m != 0 {
                        let i = m.trailing_zeros() as usize;
                        m &= m - 1;
                        let k = key.get_unchecked(i).assume_init();
                        let step = node::step(buf, at.get_unchecked(i).assume_init(), k);
                        key.get_unchecked_mut(i).write(k << STRIDE);
                        match step {
                            Ok(child) => {
                                next |= 1 << i;
                                at.get_unchecked_mut(i).write(child);
                                node::prefetch(child);
                            }
                            Err(leaf) => {
                                leaves |= 1 << i;
                                at.get_unchecked_mut(i).write(leaf);
                                node::prefetch(leaf);
                            }
                        }
                    }
                    nodes = next;
                }
                // The leaves: next hops, range blocks or array nodes.
                while leaves != 0 {
                    let i = leaves.trailing_zeros() as usize;
                    leaves &= leaves - 1;
                    let e = *at.get_unchecked(i).assume_init();
                    *out.get_unchecked_mut(i) = e;
                    if is_ptr(e) {
                        sort!(i, e, key.get_unchecked(i).assume_init(), arrays);
                    }
                }
            }
            while ranges != 0 {
                let i = ranges.trailing_zeros() as usize;
                ranges &= ranges - 1;
                let e = *out.get_unchecked(i);
                let x = rkey.get_unchecked(i).assume_init();
                *out.get_unchecked_mut(i) = range::lookup::<L>(range_of(blocks, e), class_of(e), x);
            }
        }
    }

    /// [`lookup`](Self::lookup) and [`lookup_batch`](Self::lookup_batch)
    /// with the compares of `level` (tests cover every level the CPU has).
    ///
    /// # Panics
    ///
    /// If the CPU lacks the instructions of `level`.
    #[cfg(test)]
    pub(super) fn lookups_at(&self, level: u8, addrs: &[u128]) -> (Vec<NextHop>, Vec<NextHop>) {
        assert!(range::supported(level), "level {level} not supported");
        let mut batch = vec![0; addrs.len()];
        // SAFETY: the CPU has the level's instructions (and popcnt with
        // AVX2 or AVX-512, see `range::supported`).
        let single = unsafe {
            match level {
                #[cfg(target_arch = "x86_64")]
                range::AVX512 => {
                    self.batch_avx512(addrs, &mut batch);
                    addrs.iter().map(|&a| self.lookup_avx512(a)).collect()
                }
                #[cfg(target_arch = "x86_64")]
                range::AVX2 => {
                    self.batch_avx2(addrs, &mut batch);
                    addrs.iter().map(|&a| self.lookup_avx2(a)).collect()
                }
                _ => {
                    self.batch_in::<{ range::SSE2 }>(addrs, &mut batch);
                    addrs
                        .iter()
                        .map(|&a| self.lookup_in::<{ range::SSE2 }>(a))
                        .collect()
                }
            }
        };
        (single, batch)
    }

    /// What the table is made of (for tests).
    #[cfg(test)]
    pub(super) fn shape(&self) -> Shape {
        let mut shape = Shape::default();
        for &e in self.direct.iter() {
            self.visit(e, false, &mut shape);
        }
        shape
    }

    /// Counts what entry `e` (a Poptrie leaf if `leaf`) points to into
    /// `shape`.
    #[cfg(test)]
    fn visit(&self, e: u32, leaf: bool, shape: &mut Shape) {
        if !is_ptr(e) {
        } else if is_range(e) {
            shape.ranges[class_of(e) as usize] += 1;
        } else if is_array(e) {
            shape.arrays += 1;
            shape.leaf_arrays += usize::from(leaf);
            let at = (e & OFFSET) as usize * UNIT;
            for i in 0..FANOUT {
                self.visit(self.blocks[at + i], false, shape);
            }
        } else {
            self.visit_node((e & OFFSET) as usize, shape);
        }
    }

    /// Counts the Poptrie node at word `at` and below into `shape`.
    #[cfg(test)]
    fn visit_node(&self, at: usize, shape: &mut Shape) {
        shape.nodes += 1;
        let w = &self.buf[at..at + NODE_WORDS];
        let vector = u64::from(w[0]) | u64::from(w[1]) << 32;
        let leafvec = u64::from(w[2]) | u64::from(w[3]) << 32;
        for k in 1..=leafvec.count_ones() as usize {
            self.visit(self.buf[w[4] as usize + k], true, shape);
        }
        for k in 1..=vector.count_ones() as usize {
            self.visit_node(w[5] as usize + k * NODE_WORDS, shape);
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
        (self.direct.len() + self.buf.len() + self.blocks.len()) * 4
    }
}

/// Counts of the parts of a [`Fib6`] (for tests).
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Shape {
    /// Array nodes.
    pub arrays: usize,
    /// Array nodes that are leaves of Poptrie nodes.
    pub leaf_arrays: usize,
    /// Poptrie nodes.
    pub nodes: usize,
    /// Range blocks per class.
    pub ranges: [usize; 4],
}

/// The line-aligned part of a table being built: range blocks and array
/// nodes.
#[derive(Default)]
struct Blocks {
    /// The blocks; 32-byte units from a cache line's start.
    words: Vec<u32>,
    /// A free half line (for a range block of class 0), if any.
    half: Option<usize>,
    /// Depth down to which a node with `ARRAY_MIN_ROUTES` routes below
    /// is an array node, however sparse: the first two levels below the
    /// direct table, where nearly every lookup inside a big table passes
    /// (so that its path is direct entry, array node, array node, range
    /// block, with no Poptrie node to send a batched lane to the slower
    /// general stages).
    dense_until: u32,
    /// Scratch intervals.
    ivs: Vec<(u32, u32)>,
}

impl Blocks {
    /// `k` words (a multiple of 8) at a 32-byte boundary, the
    /// start of a line if `k >= 16`, and their entry unit.
    fn alloc(&mut self, k: usize) -> usize {
        if k == UNIT {
            if let Some(h) = self.half.take() {
                return h;
            }
        }
        let at = self.words.len();
        self.words.resize(at + k.max(16), 0);
        if k == UNIT {
            self.half = Some(at + UNIT);
        }
        at
    }

    /// The entry for word `at` with tag `tag`, whose offsets go up to
    /// `max` (exclusive) units.
    fn entry(tag: u32, at: usize, max: u32) -> u32 {
        let unit = at / UNIT;
        assert!(unit < max as usize, "IPv6 FIB over {max} block units");
        tag | unit as u32
    }

    /// A range block for the routes below a prefix at `depth` (see
    /// [`range::intervals`]) and its entry, if they fit in one.
    fn range(&mut self, depth: u32, routes: &[Route], cover: NextHop) -> Option<u32> {
        if !range::intervals(depth, routes, cover, &mut self.ivs) {
            return None;
        }
        let class = range::class_of(self.ivs.len());
        let words = 2 * range::slots(class);
        let at = self.alloc(words);
        range::encode(&self.ivs, class, &mut self.words[at..at + words]);
        Some(Self::entry(RANGE | class << 28, at, RANGE_OFFSET))
    }

    /// An array node of `entries` and its entry.
    fn array(&mut self, entries: &[u32; FANOUT]) -> u32 {
        let at = self.alloc(FANOUT);
        self.words[at..at + FANOUT].copy_from_slice(entries);
        Self::entry(ARRAY, at, OFFSET + 1)
    }
}

/// The entry for the routes below a prefix at `depth`: `routes` lie
/// inside it, sorted, and may include routes of length `<= depth`
/// (ignored: `cover` is their answer). `cover` if there are no others;
/// else a range block if they fit in one; else a node of 64 positions,
/// each a leaf (`cover` or a route ending there) or the entry of the
/// routes below it: an array node if it has at least `ARRAY_MIN`
/// distinct items or is one of the first two levels below the direct
/// table with `ARRAY_MIN_ROUTES` routes below, else a Poptrie node.
fn subtree(
    buf: &mut Vec<u32>,
    blocks: &mut Blocks,
    depth: u32,
    routes: &[Route],
    cover: NextHop,
) -> u32 {
    if let Some(e) = leaf_entry(buf, blocks, depth, routes, cover) {
        return e;
    }
    let root = buf.len();
    buf.resize(root + NODE_WORDS, 0);
    let mut leaf = |buf: &mut Vec<u32>, d, r: &[Route], c| leaf_entry(buf, blocks, d, r, c);
    node::build(buf, 0, root, depth, routes, cover, &mut leaf);
    assert!(root <= OFFSET as usize, "IPv6 FIB over 2^29 node words");
    NODE | root as u32
}

/// [`subtree`] if it is not a Poptrie node (which a Poptrie node above
/// builds as a child of its own), else `None`.
fn leaf_entry(
    buf: &mut Vec<u32>,
    blocks: &mut Blocks,
    depth: u32,
    routes: &[Route],
    cover: NextHop,
) -> Option<u32> {
    if !routes.iter().any(|r| u32::from(r.len) > depth) {
        return Some(cover);
    }
    if let Some(e) = blocks.range(depth, routes, cover) {
        return Some(e);
    }
    let (vals, long) = node::paint(depth, routes, cover);
    let runs = (0..FANOUT)
        .filter(|&i| {
            long >> i & 1 == 0 && (i == 0 || long >> (i - 1) & 1 != 0 || vals[i] != vals[i - 1])
        })
        .count();
    let busy = depth <= blocks.dense_until
        && routes
            .iter()
            .filter(|r| u32::from(r.len) > depth)
            .nth(ARRAY_MIN_ROUTES - 1)
            .is_some();
    if !busy && (long.count_ones() as usize) + runs < ARRAY_MIN {
        return None;
    }
    let mut entries = vals;
    for (pos, run) in node::groups(depth, routes) {
        if long >> pos & 1 != 0 {
            entries[pos] = subtree(buf, blocks, depth + STRIDE, &routes[run], vals[pos]);
        }
    }
    Some(blocks.array(&entries))
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
        let mut blocks = Blocks {
            dense_until: bits + STRIDE,
            ..Blocks::default()
        };
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
            direct[d] = subtree(&mut buf, &mut blocks, bits, &routes[i..j], direct[d]);
            i = j;
        }
        Fib6 {
            bits,
            direct: node::Words::new(&direct),
            buf: node::Words::new(&buf),
            blocks: node::Words::new(&blocks.words),
            len: n,
        }
    }
}
