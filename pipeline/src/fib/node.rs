//! Poptrie nodes: how they are laid out, built and walked. Shared by
//! [`Fib4`](super::Fib4) and [`Fib6`](super::Fib6).
//!
//! A node resolves the next [`STRIDE`] (6) bits of the key: 64 positions,
//! each either an internal child node or a leaf (a next hop). It is six
//! `u32` words:
//!
//! ```text
//!  word 0..2  vector   bit i set: position i is a child node
//!  word 2..4  leafvec  bit i set: position i is a leaf that starts a run of
//!                      equal leaves (counting leaf positions only)
//!  word 4     base0-1  where the node's leaves start, minus one
//!  word 5     base1-6  where its children start, minus one node
//! ```
//!
//! The children of a node are contiguous (six words each) and so are its
//! leaves, so child `i` is at `base1 + 6 * (popcount(vector & bits 0..=i) - 1)`
//! and the leaf for position `i` at `base0 + popcount(leafvec & bits 0..=i) -
//! 1`: one load per level plus one for the leaf, no per-position arrays.
//! Both bases are offsets in `u32` words from the subtree's *block base*
//! (the root node), so a block can be moved with a plain copy.

/// Bits resolved per node.
pub(super) const STRIDE: u32 = 6;
/// `u32` words per node.
pub(super) const NODE_WORDS: usize = 6;

/// A route as a left-aligned 128-bit key (IPv4 addresses in the top 32
/// bits), for the builder. Ordered by key then length: for any two
/// prefixes where one contains the other, the shorter comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Route {
    /// The prefix, left-aligned, host bits zero.
    pub key: u128,
    /// Prefix length.
    pub len: u8,
    /// Next hop.
    pub nh: u32,
}

/// Position of `key` in a node at `depth` (bits `depth .. depth + 6`; bits
/// past 128 read as zero).
#[inline]
fn position(key: u128, depth: u32) -> usize {
    ((key << depth) >> (128 - STRIDE)) as usize
}

/// The 64 positions of a node at `depth` for `routes` (as for [`build`]):
/// per position the next hop of the longest route that covers it and
/// ends in this node (or `default`), and the bitmap of the positions
/// that hold longer routes.
pub(super) fn paint(depth: u32, routes: &[Route], default: u32) -> ([u32; 64], u64) {
    let mut vals = [default; 64];
    let mut long = 0u64;
    let end = depth + STRIDE;
    for r in routes {
        let len = u32::from(r.len);
        if len <= depth {
            continue;
        }
        let pos = position(r.key, depth);
        if len <= end {
            // Sorted order is containment order: later routes are more
            // specific wherever they overlap earlier ones.
            vals[pos..pos + (1 << (end - len))].fill(r.nh);
        } else {
            long |= 1 << pos;
        }
    }
    (vals, long)
}

/// The positions of a node at `depth` that hold routes of `routes`
/// (sorted) longer than `depth`, each with the contiguous run of them
/// there.
pub(super) fn groups(
    depth: u32,
    routes: &[Route],
) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < routes.len() && u32::from(routes[i].len) <= depth {
            i += 1;
        }
        if i == routes.len() {
            return None;
        }
        let pos = position(routes[i].key, depth);
        let mut j = i + 1;
        while j < routes.len() && position(routes[j].key, depth) == pos {
            j += 1;
        }
        let group = (pos, i..j);
        i = j;
        Some(group)
    })
}

/// Builds the node for `routes` at `depth` into `out[at .. at + 6]` (already
/// reserved), appending its leaves and children (recursively) to `out`.
/// Offsets are relative to `out[base]`.
///
/// `routes` must be sorted (see [`Route`]), lie inside the node's range and
/// may include routes of length `<= depth` (ignored: they are in
/// `default`, the next hop of the longest route covering the whole node).
///
/// `subtree` is offered each position that holds longer routes, as (`out`,
/// the child's depth, the routes at that position, their cover): if it
/// returns a value, the position is a leaf with that value (the caller
/// stored the subtree elsewhere, possibly appending to `out`) instead of
/// a child node.
pub(super) fn build<F>(
    out: &mut Vec<u32>,
    base: usize,
    at: usize,
    depth: u32,
    routes: &[Route],
    default: u32,
    subtree: &mut F,
) where
    F: FnMut(&mut Vec<u32>, u32, &[Route], u32) -> Option<u32>,
{
    let (mut vals, mut vector) = paint(depth, routes, default);
    let end = depth + STRIDE;
    if vector != 0 {
        for (pos, run) in groups(depth, routes) {
            if vector >> pos & 1 != 0 {
                if let Some(v) = subtree(out, end, &routes[run], vals[pos]) {
                    vals[pos] = v;
                    vector &= !(1 << pos);
                }
            }
        }
    }
    let mut leafvec = 0u64;
    let base0 = out.len();
    let mut prev = None;
    for (i, &v) in vals.iter().enumerate() {
        if vector >> i & 1 == 0 && prev != Some(v) {
            leafvec |= 1 << i;
            out.push(v);
            prev = Some(v);
        }
    }
    let base1 = out.len();
    let children = vector.count_ones() as usize;
    out.resize(base1 + children * NODE_WORDS, 0);
    out[at] = vector as u32;
    out[at + 1] = (vector >> 32) as u32;
    out[at + 2] = leafvec as u32;
    out[at + 3] = (leafvec >> 32) as u32;
    out[at + 4] = offset(base0 - base - 1);
    out[at + 5] = offset(base1 - base - NODE_WORDS);
    if children == 0 {
        return;
    }
    let mut k = 0;
    for (pos, run) in groups(depth, routes) {
        if vector >> pos & 1 != 0 {
            let child = base1 + k * NODE_WORDS;
            build(out, base, child, end, &routes[run], vals[pos], subtree);
            k += 1;
        }
    }
    debug_assert_eq!(k, children);
}

/// An offset as a node word.
fn offset(x: usize) -> u32 {
    u32::try_from(x).expect("FIB block over 2^32 words")
}

/// A key being walked down a trie: the bits not resolved yet, left-aligned.
pub(super) trait Key: Copy {
    /// The next 6 bits.
    fn top6(self) -> u32;
    /// The key without its next 6 bits.
    fn shl6(self) -> Self;
}

impl Key for u32 {
    #[inline(always)]
    fn top6(self) -> u32 {
        self >> 26
    }
    #[inline(always)]
    fn shl6(self) -> Self {
        self << 6
    }
}

impl Key for u64 {
    #[inline(always)]
    fn top6(self) -> u32 {
        (self >> 58) as u32
    }
    #[inline(always)]
    fn shl6(self) -> Self {
        self << 6
    }
}

impl Key for u128 {
    #[inline(always)]
    fn top6(self) -> u32 {
        (self >> 122) as u32
    }
    #[inline(always)]
    fn shl6(self) -> Self {
        self << 6
    }
}

/// Reads the `u64` at word `w` of `p` (two words, any alignment).
///
/// # Safety
///
/// `p.add(w) .. p.add(w + 2)` must be readable.
#[inline(always)]
unsafe fn word64(p: *const u32, w: usize) -> u64 {
    p.add(w).cast::<u64>().read_unaligned()
}

/// One step down from `node` for the next 6 bits of `key`: `Ok(child node)`
/// or `Err(pointer to the leaf)`.
///
/// # Safety
///
/// `node` must be a node built by [`build`] with offsets relative to `blk`.
#[inline(always)]
pub(super) unsafe fn step<K: Key>(
    blk: *const u32,
    node: *const u32,
    key: K,
) -> Result<*const u32, *const u32> {
    let idx = key.top6();
    let vector = word64(node, 0);
    // Bits 0..=idx; for idx = 63 the shift drops the bit and the
    // subtraction wraps to all ones.
    let upto = (2u64 << idx).wrapping_sub(1);
    if vector >> idx & 1 != 0 {
        let k = (vector & upto).count_ones() as usize;
        Ok(blk.add(*node.add(5) as usize + k * NODE_WORDS))
    } else {
        let k = (word64(node, 2) & upto).count_ones() as usize;
        Err(blk.add(*node.add(4) as usize + k))
    }
}

/// `if c { a } else { b }` without a branch (a conditional move: `c` is
/// not predictable).
#[inline(always)]
pub(super) fn select<T>(c: bool, a: *const T, b: *const T) -> *const T {
    std::hint::select_unpredictable(c, a, b)
}

/// Walks the trie rooted at `blk` (a block base) for `key` (the bits below
/// the block's depth, left-aligned) and returns the leaf.
///
/// # Safety
///
/// `blk` must be the root of a trie built by [`build`] with offsets relative
/// to it, and `key` deep enough for it (every trie ends in leaves before
/// the key runs out of bits).
#[inline(always)]
pub(super) unsafe fn walk<K: Key>(blk: *const u32, mut key: K) -> u32 {
    let mut node = blk;
    loop {
        match step(blk, node, key) {
            Ok(child) => {
                node = child;
                key = key.shl6();
            }
            Err(leaf) => return *leaf,
        }
    }
}

/// True if this CPU has a `popcnt` instruction (x86-64 before SSE4.2 does
/// not; the baseline target emulates it with a dozen instructions).
#[inline(always)]
pub(crate) fn has_popcnt() -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "popcnt"))]
    {
        true
    }
    #[cfg(all(target_arch = "x86_64", not(target_feature = "popcnt")))]
    {
        std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Hints the CPU to pull the cache line holding `p` into L1. Never faults.
#[inline(always)]
pub(super) fn prefetch<T>(p: *const T) {
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

/// An immutable word array, on transparent huge pages when it is big
/// enough (2 MiB and more): a big table's lookups then miss the TLB far
/// less often (a 4 KiB page per dependent load otherwise).
pub(super) struct Words {
    ptr: std::ptr::NonNull<u32>,
    len: usize,
    /// The allocation's layout; size 0 for an empty array (not allocated).
    layout: std::alloc::Layout,
}

/// Huge page size (and the alignment of big [`Words`]).
const HUGE: usize = 2 << 20;

// SAFETY: `Words` owns its memory like a `Box<[u32]>` and never mutates
// it after construction.
unsafe impl Send for Words {}
// SAFETY: as above; `&Words` only reads.
unsafe impl Sync for Words {}

impl Words {
    /// A copy of `words`.
    pub(super) fn new(words: &[u32]) -> Self {
        let bytes = words.len() * 4;
        let (size, align) = if bytes >= HUGE {
            (bytes.next_multiple_of(HUGE), HUGE)
        } else {
            (bytes, 64)
        };
        let layout = std::alloc::Layout::from_size_align(size, align).expect("FIB size");
        if size == 0 {
            return Words {
                ptr: std::ptr::NonNull::dangling(),
                len: 0,
                layout,
            };
        }
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(ptr) = std::ptr::NonNull::new(raw.cast::<u32>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        #[cfg(target_os = "linux")]
        if align == HUGE {
            // SAFETY: advice on memory this allocation owns; failure
            // (no THP) only means small pages.
            unsafe { libc::madvise(raw.cast(), size, libc::MADV_HUGEPAGE) };
        }
        // SAFETY: `size >= bytes`, fresh memory, no overlap.
        unsafe { std::ptr::copy_nonoverlapping(words.as_ptr(), ptr.as_ptr(), words.len()) };
        Words {
            ptr,
            len: words.len(),
            layout,
        }
    }
}

impl Drop for Words {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated in `new` with this layout.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), self.layout) }
        }
    }
}

impl Clone for Words {
    fn clone(&self) -> Self {
        Words::new(self)
    }
}

impl std::ops::Deref for Words {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        // SAFETY: `len` initialized words at `ptr` (dangling only for 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}
