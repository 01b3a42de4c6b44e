//! Per-VRF IPv4 forwarding table: longest-prefix match over a DIR-16-8-8
//! multibit trie.
//!
//! The workers look addresses up in an immutable [`Fib4`] that the control
//! thread publishes RCU-style; the control thread makes the next one by
//! cloning the current table and applying [`Fib4::insert`] /
//! [`Fib4::remove`] to the clone.
//!
//! # Layout
//!
//! An address is cut into 16 + 8 + 8 bits. Each level is an array of `u32`
//! entries; an entry is either a final answer (a next hop, or [`NO_ROUTE`])
//! or a pointer to a 256-entry *chunk* that resolves the next 8 bits. Longer
//! prefixes are *expanded*: a /12 fills 16 level-1 entries, a /20 fills 16
//! entries of one level-2 chunk, and so on. A lookup is therefore at most
//! three dependent loads, and at most one when the /16 holds nothing longer
//! than a /16.
//!
//! ```text
//!  address  | 31 ............. 16 | 15 ...... 8 | 7 ....... 0 |
//!                      │                 │             │
//!                      ▼                 │             │
//!  level 1  ┌─────────────────────┐      │             │
//!  65536    │ .. │ nh │ C:7 │ ..  │      │             │
//!  entries  └────────────┼────────┘      ▼             │
//!                        │    ┌─────────────────────┐  │
//!                        └───►│ .. │ nh │ C:42 │ .. │  │  level 2: chunk 7
//!                             └─────────────┼───────┘  ▼
//!                                           │   ┌────────────────────┐
//!                                           └──►│ .. │ nh │ nh │ ..  │   level 3: chunk 42
//!                                               └────────────────────┘
//!  entry (u32):  0 ..= 2^31-2   next hop
//!                2^31 | i       pointer to chunk i  (i < 2^24)
//!                0xffff_ffff    NO_ROUTE
//! ```
//!
//! Level-2 and level-3 chunks share one arena (a `Vec<u32>`, chunk `i` at
//! `i * 256`), with a free list. Chunks are handed out lowest index first and
//! the arena is truncated when its last chunk is freed, so it shrinks back
//! as routes go away.
//!
//! # Updates
//!
//! Beside every entry the table keeps (in arrays the lookups never touch) the
//! length of the prefix that wrote it. Inserting `p/len` rewrites, within
//! the range `p/len` covers, exactly the leaf entries written by a prefix of
//! length `<= len` (so more specific routes underneath survive); removing it
//! rewrites the entries it wrote with its next-shorter covering prefix, found
//! in the authoritative prefix set. Both touch only the range of the prefix,
//! never the whole table. A chunk is created when a prefix longer than its
//! parent entry's level (/16 or /24) arrives, and collapsed back into its
//! parent entry as soon as no such prefix is left in it: the shape of the
//! trie depends only on the set of prefixes, not on the order of updates.

use std::collections::BTreeSet;

mod prefix_set;
#[cfg(test)]
mod tests;

use prefix_set::PrefixSet;

/// Next-hop index stored in the table (index into an adjacency array).
///
/// Values must be at most [`MAX_NEXT_HOP`]: the top bit of a table entry
/// marks a chunk pointer.
pub type NextHop = u32;

/// Lookup result when no prefix matches.
pub const NO_ROUTE: NextHop = u32::MAX;

/// Largest next hop a [`Fib4`] can store (`2^31 - 2`).
pub const MAX_NEXT_HOP: NextHop = (1 << 31) - 2;

/// Addresses resolved per pipelined round of [`Fib4::lookup_batch`].
const BATCH: usize = 32;

/// Level-1 entries: one per /16.
const L1_SIZE: usize = 1 << 16;
/// Entries per level-2 or level-3 chunk: one per /24 or per address.
const CHUNK_SIZE: usize = 256;
/// Tag bit of a chunk-pointer entry.
const CHUNK_FLAG: u32 = 1 << 31;
/// Chunk indices must stay below this (16 GiB of chunks), see
/// [`chunk_base`].
const MAX_CHUNKS: usize = 1 << 24;

/// True if `e` is a chunk pointer, false for a next hop or `NO_ROUTE`.
///
/// One signed compare: everything in `0x8000_0000 ..= 0xffff_fffe`
/// (`i32::MIN ..= -2`) is a pointer; the table only makes pointers below
/// `0x8100_0000`, and never stores a next hop with the top bit set.
#[inline(always)]
const fn is_chunk(e: u32) -> bool {
    (e as i32) < -1
}

/// Arena offset of the first entry of the chunk that pointer `e` points to.
///
/// The 32-bit shift drops the tag bit on its own (index < 2^24), which saves
/// the lookup a mask per level.
#[inline(always)]
const fn chunk_base(e: u32) -> usize {
    (e << 8) as usize
}

/// The pointer entry for the chunk starting at arena offset `base`.
#[inline(always)]
const fn chunk_ptr(base: usize) -> u32 {
    CHUNK_FLAG | (base / CHUNK_SIZE) as u32
}

/// Netmask of a prefix length (`len <= 32`).
#[inline]
const fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// Hints the CPU to pull the cache line holding `p` into L1. Never faults.
#[inline(always)]
fn prefetch(p: *const u32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it does not dereference `p` in the
    // language sense and cannot fault, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A per-VRF IPv4 longest-prefix-match table (DIR-16-8-8, see the
/// [module documentation](self)).
///
/// Cloning is a plain deep copy.
///
/// # Invariant
///
/// Every chunk-pointer entry reachable from `l1` (in `l1` itself, or in a
/// live chunk) points to a live chunk, whose 256 entries all lie inside
/// `chunks`. Entries of level-3 chunks are never pointers. All leaf entries
/// are next hops `<= MAX_NEXT_HOP` or `NO_ROUTE`. `lookup` relies on this to
/// index the arena without bounds checks.
#[derive(Clone)]
pub struct Fib4 {
    /// Level 1, indexed by the top 16 bits.
    l1: Box<[u32; L1_SIZE]>,
    /// Length of the prefix that wrote each leaf of `l1` (0 for none, or /0).
    l1_depth: Box<[u8; L1_SIZE]>,
    /// Arena of level-2 and level-3 chunks, `CHUNK_SIZE` entries each.
    chunks: Vec<u32>,
    /// Length of the prefix that wrote each leaf of `chunks`.
    chunk_depth: Vec<u8>,
    /// Indices of freed chunks below the end of the arena.
    free: BTreeSet<u32>,
    /// Number of chunks in use.
    live_chunks: usize,
    /// The authoritative routes.
    prefixes: PrefixSet,
}

impl Default for Fib4 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Fib4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fib4")
            .field("prefixes", &self.len())
            .field("chunks", &self.live_chunks)
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl Fib4 {
    /// An empty table: every lookup answers [`NO_ROUTE`].
    pub fn new() -> Self {
        let l1: Box<[u32]> = vec![NO_ROUTE; L1_SIZE].into_boxed_slice();
        let l1_depth: Box<[u8]> = vec![0u8; L1_SIZE].into_boxed_slice();
        Fib4 {
            l1: l1.try_into().expect("level 1 has L1_SIZE entries"),
            l1_depth: l1_depth.try_into().expect("level 1 has L1_SIZE entries"),
            chunks: Vec::new(),
            chunk_depth: Vec::new(),
            free: BTreeSet::new(),
            live_chunks: 0,
            prefixes: PrefixSet::new(),
        }
    }

    /// Adds or replaces the route `prefix/len → nh` and returns the next hop
    /// it replaced, if the exact prefix was already present.
    ///
    /// `prefix` is in host byte order; bits beyond `len` are ignored.
    ///
    /// # Panics
    ///
    /// If `len > 32`, or `nh > MAX_NEXT_HOP` (which includes `NO_ROUTE`).
    pub fn insert(&mut self, prefix: u32, len: u8, nh: NextHop) -> Option<NextHop> {
        assert!(len <= 32, "IPv4 prefix length {len} > 32");
        debug_assert_ne!(nh, NO_ROUTE, "NO_ROUTE is not a next hop");
        assert!(nh <= MAX_NEXT_HOP, "next hop {nh:#x} > MAX_NEXT_HOP");
        let prefix = prefix & mask(len);
        let old = self.prefixes.insert(prefix, len, nh);
        if old != Some(nh) {
            self.paint(prefix, len, nh, len, false);
        }
        old
    }

    /// Removes the route for exactly `prefix/len` and returns its next hop;
    /// the addresses it covered fall back to the next-shorter covering
    /// prefix. `None` (and no change) if there is no such route or
    /// `len > 32`. Bits of `prefix` beyond `len` are ignored.
    pub fn remove(&mut self, prefix: u32, len: u8) -> Option<NextHop> {
        if len > 32 {
            return None;
        }
        let prefix = prefix & mask(len);
        let old = self.prefixes.remove(prefix, len)?;
        let (nh, depth) = self.prefixes.covering(prefix, len).unwrap_or((NO_ROUTE, 0));
        self.paint(prefix, len, nh, depth, true);
        Some(old)
    }

    /// The next hop of exactly `prefix/len` (not a longest-prefix match).
    /// Bits of `prefix` beyond `len` are ignored; `None` if `len > 32`.
    pub fn get(&self, prefix: u32, len: u8) -> Option<NextHop> {
        if len > 32 {
            return None;
        }
        self.prefixes.get(prefix & mask(len), len)
    }

    /// Longest-prefix match of `addr` (host byte order): the next hop of the
    /// longest prefix that contains it, or [`NO_ROUTE`].
    ///
    /// At most three dependent loads; never allocates.
    #[inline]
    pub fn lookup(&self, addr: u32) -> NextHop {
        let e = self.l1[(addr >> 16) as usize];
        if !is_chunk(e) {
            return e;
        }
        let e = self.chunk_entry(e, addr >> 8);
        if !is_chunk(e) {
            return e;
        }
        self.chunk_entry(e, addr)
    }

    /// Entry `byte & 0xff` of the chunk that pointer `e` points to.
    #[inline(always)]
    fn chunk_entry(&self, e: u32, byte: u32) -> u32 {
        debug_assert!(is_chunk(e));
        let i = chunk_base(e) | (byte & 0xff) as usize;
        debug_assert!(i < self.chunks.len());
        // SAFETY: `e` was read from `l1` or from a live chunk, so by the
        // type's invariant it points to a live chunk whose entries
        // `base .. base + 256` are all inside `chunks`; `i` is one of them.
        unsafe { *self.chunks.get_unchecked(i) }
    }

    /// Longest-prefix match of every address in `addrs`, written to the
    /// same position of `out`; the same answers as [`lookup`](Self::lookup)
    /// on each, for a burst of packets.
    ///
    /// Works in rounds of up to 32 addresses: first a software prefetch of
    /// the level-1 entries of the whole round (level 1 is 256 KiB and may
    /// have been pushed out of L1/L2 by packet data since the last burst),
    /// then the walk of each address. Keeping the lookups of a burst
    /// together, apart from the per-packet work that uses them, is what
    /// lets the CPU overlap their cache misses.
    ///
    /// Group prefetching of levels 2 and 3 as well (one pass per level,
    /// prefetching the next level's line for all 32 addresses) was measured
    /// and rejected: on the Zen host it is 5-50% *slower* than this loop,
    /// because the out-of-order core already keeps ~20 independent walks in
    /// flight, which fills its miss buffers, and the extra passes only add
    /// instructions and branch misses.
    ///
    /// # Panics
    ///
    /// If `out.len() < addrs.len()`.
    #[inline]
    pub fn lookup_batch(&self, addrs: &[u32], out: &mut [u32]) {
        assert!(out.len() >= addrs.len(), "lookup_batch: out is too short");
        for (addrs, out) in addrs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            for &a in addrs {
                prefetch(&self.l1[(a >> 16) as usize]);
            }
            for (o, &a) in out.iter_mut().zip(addrs) {
                *o = self.lookup(a);
            }
        }
    }

    /// Number of prefixes in the table.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// True if the table holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every route as `(prefix, len, next hop)`, prefix masked, in no
    /// particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u8, NextHop)> + '_ {
        self.prefixes.iter()
    }

    /// Number of level-2 and level-3 chunks in use (1 KiB of lookup entries
    /// each).
    pub fn chunks(&self) -> usize {
        self.live_chunks
    }

    /// Heap bytes held by the table: level 1 and the chunk arena (allocated
    /// capacity, including the per-entry prefix lengths used by updates) plus
    /// an estimate for the prefix list. An empty table takes 320 KiB.
    pub fn memory_bytes(&self) -> usize {
        L1_SIZE * (std::mem::size_of::<u32>() + 1)
            + self.chunks.capacity() * std::mem::size_of::<u32>()
            + self.chunk_depth.capacity()
            + self.free.len() * std::mem::size_of::<u32>() * 2
            + self.prefixes.memory_bytes()
    }

    // ---- updates ---------------------------------------------------------

    /// Within the range of `prefix/len`, sets every leaf written by a prefix
    /// of length `<= len` to `(nh, depth)`. With `collapse`, folds back the
    /// chunks that become uniform. Creates the chunks `prefix/len` needs.
    ///
    /// Insertion paints `(nh, len)`. Removal paints the next-shorter covering
    /// route `(nh', len')` (the leaves with length `<= len` in the range are
    /// exactly the ones the removed prefix wrote, since it covered the whole
    /// range).
    fn paint(&mut self, prefix: u32, len: u8, nh: u32, depth: u8, collapse: bool) {
        let s1 = (prefix >> 16) as usize;
        if len <= 16 {
            for s in s1..s1 + (1 << (16 - len)) {
                self.paint_l1(s, len, nh, depth, collapse);
            }
            return;
        }
        let base2 = self.l1_chunk(s1);
        let s2 = base2 | ((prefix >> 8) & 0xff) as usize;
        if len <= 24 {
            self.paint_l2(s2, 1 << (24 - len), len, nh, depth, collapse);
        } else {
            let base3 = self.l2_chunk(s2);
            let s3 = base3 | (prefix & 0xff) as usize;
            self.paint_leaves(s3, 1 << (32 - len), len, nh, depth);
            if collapse {
                self.collapse_l2(s2);
            }
        }
        if collapse {
            self.collapse_l1(s1);
        }
    }

    /// `paint` for level-1 entry `s`, descending into its chunk if any.
    fn paint_l1(&mut self, s: usize, len: u8, nh: u32, depth: u8, collapse: bool) {
        let e = self.l1[s];
        if is_chunk(e) {
            self.paint_l2(chunk_base(e), CHUNK_SIZE, len, nh, depth, collapse);
            if collapse {
                self.collapse_l1(s);
            }
        } else if self.l1_depth[s] <= len {
            self.l1[s] = nh;
            self.l1_depth[s] = depth;
        }
    }

    /// `paint` for the `n` level-2 entries at arena offset `start`,
    /// descending into their chunks if any.
    fn paint_l2(&mut self, start: usize, n: usize, len: u8, nh: u32, depth: u8, collapse: bool) {
        // Leaves first, in a branch-free loop the compiler vectorizes (short
        // prefixes repaint many whole chunks); then the few pointers.
        let entries = &mut self.chunks[start..start + n];
        let depths = &mut self.chunk_depth[start..start + n];
        let mut pointers = false;
        for (e, d) in entries.iter_mut().zip(depths) {
            let leaf = !is_chunk(*e);
            pointers |= !leaf;
            let hit = leaf & (*d <= len);
            *e = if hit { nh } else { *e };
            *d = if hit { depth } else { *d };
        }
        if !pointers {
            return;
        }
        for i in start..start + n {
            let e = self.chunks[i];
            if is_chunk(e) {
                self.paint_leaves(chunk_base(e), CHUNK_SIZE, len, nh, depth);
                if collapse {
                    self.collapse_l2(i);
                }
            }
        }
    }

    /// `paint` for the `n` level-3 entries (always leaves) at arena offset
    /// `start`.
    fn paint_leaves(&mut self, start: usize, n: usize, len: u8, nh: u32, depth: u8) {
        let entries = &mut self.chunks[start..start + n];
        let depths = &mut self.chunk_depth[start..start + n];
        for (e, d) in entries.iter_mut().zip(depths) {
            let hit = *d <= len;
            *e = if hit { nh } else { *e };
            *d = if hit { depth } else { *d };
        }
    }

    /// The level-2 chunk under level-1 entry `s`, split off the leaf there
    /// if needed; returns its arena offset.
    fn l1_chunk(&mut self, s: usize) -> usize {
        let e = self.l1[s];
        if is_chunk(e) {
            return chunk_base(e);
        }
        let base = self.alloc_chunk(e, self.l1_depth[s]);
        self.l1[s] = chunk_ptr(base);
        base
    }

    /// The level-3 chunk under level-2 entry `i`, split off the leaf there
    /// if needed; returns its arena offset.
    fn l2_chunk(&mut self, i: usize) -> usize {
        let e = self.chunks[i];
        if is_chunk(e) {
            return chunk_base(e);
        }
        let base = self.alloc_chunk(e, self.chunk_depth[i]);
        self.chunks[i] = chunk_ptr(base);
        base
    }

    /// If the chunk under level-1 entry `s` is uniform, folds it back into
    /// a leaf.
    fn collapse_l1(&mut self, s: usize) {
        let e = self.l1[s];
        if !is_chunk(e) {
            return;
        }
        if let Some((nh, depth)) = self.uniform(chunk_base(e), 16) {
            self.l1[s] = nh;
            self.l1_depth[s] = depth;
            self.free_chunk(chunk_base(e));
        }
    }

    /// If the chunk under level-2 entry `i` is uniform, folds it back into
    /// a leaf.
    fn collapse_l2(&mut self, i: usize) {
        let e = self.chunks[i];
        if !is_chunk(e) {
            return;
        }
        if let Some((nh, depth)) = self.uniform(chunk_base(e), 24) {
            self.chunks[i] = nh;
            self.chunk_depth[i] = depth;
            self.free_chunk(chunk_base(e));
        }
    }

    /// `Some((nh, depth))` if every entry of the chunk at `base` is the same
    /// leaf written by the same prefix, of length `<= max_depth` (the
    /// parent's level): then that one prefix covers the whole chunk and the
    /// parent entry can hold it directly.
    fn uniform(&self, base: usize, max_depth: u8) -> Option<(u32, u8)> {
        let entries = &self.chunks[base..base + CHUNK_SIZE];
        let depths = &self.chunk_depth[base..base + CHUNK_SIZE];
        let (e, d) = (entries[0], depths[0]);
        // A leaf of length <= max_depth can only sit beside identical ones
        // (its prefix covers the chunk), but a uniform *pointer* chunk or
        // deeper leaves must stay.
        (!is_chunk(e)
            && d <= max_depth
            && entries.iter().all(|&x| x == e)
            && depths.iter().all(|&x| x == d))
        .then_some((e, d))
    }

    /// A chunk filled with leaf `(e, depth)`; returns its arena offset.
    fn alloc_chunk(&mut self, e: u32, depth: u8) -> usize {
        debug_assert!(!is_chunk(e));
        let base = match self.free.pop_first() {
            Some(idx) => idx as usize * CHUNK_SIZE,
            None => {
                let base = self.chunks.len();
                assert!(base / CHUNK_SIZE < MAX_CHUNKS, "FIB chunk arena full");
                self.chunks.resize(base + CHUNK_SIZE, e);
                self.chunk_depth.resize(base + CHUNK_SIZE, depth);
                self.live_chunks += 1;
                return base;
            }
        };
        self.chunks[base..base + CHUNK_SIZE].fill(e);
        self.chunk_depth[base..base + CHUNK_SIZE].fill(depth);
        self.live_chunks += 1;
        base
    }

    /// Returns the (now unreachable) chunk at `base` to the free list, and
    /// trims free chunks off the end of the arena.
    fn free_chunk(&mut self, base: usize) {
        self.live_chunks -= 1;
        let idx = base / CHUNK_SIZE;
        if base + CHUNK_SIZE != self.chunks.len() {
            self.free.insert(idx as u32);
            return;
        }
        let mut end = idx;
        while end > 0 && self.free.last() == Some(&(end as u32 - 1)) {
            self.free.pop_last();
            end -= 1;
        }
        self.chunks.truncate(end * CHUNK_SIZE);
        self.chunk_depth.truncate(end * CHUNK_SIZE);
        // Give memory back once the arena is under a quarter of its
        // allocation, keeping room to double: the copy is paid for by the
        // frees since the last resize (amortized O(1) per chunk).
        let len = self.chunks.len();
        if self.chunks.capacity() > 4 * len {
            self.chunks.shrink_to(2 * len);
            self.chunk_depth.shrink_to(2 * len);
        }
    }
}
