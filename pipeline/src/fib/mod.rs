//! Per-VRF forwarding tables: longest-prefix match for IPv4 ([`Fib4`]) and
//! IPv6 ([`Fib6`]), as compressed Poptrie tries (Asai & Ohara, "Poptrie: A
//! Compressed Trie with Population Count for Fast and Scalable Software IP
//! Routing Table Lookup", SIGCOMM 2015).
//!
//! The workers look addresses up in an immutable table that the control
//! thread publishes RCU-style. A new version is a [`Clone`] of the current
//! [`Fib4`] (cheap: it shares every part of it) to which the control thread
//! applies [`Fib4::insert`] / [`Fib4::remove`]; an update copies and
//! rebuilds only the part of the table it touches, never the published
//! original.
//!
//! # Poptrie nodes
//!
//! A node resolves 6 bits of the address: 64 positions, each a child node
//! or a leaf. Instead of 64 pointers it holds two 64-bit bitmaps and two
//! offsets (24 bytes): `vector` marks the positions that are child nodes,
//! which are stored contiguously, so child `i` is number
//! `popcount(vector & bits 0..=i)` of them; `leafvec` marks where a run of
//! equal leaves starts, and leaf `i` is number `popcount(leafvec & bits
//! 0..=i)` of the node's (contiguous, deduplicated) leaves. A lookup is one
//! load and one `popcnt` per 6 bits, plus one load for the leaf; the
//! leaves of a /24 that splits a /20 into three runs take 3 words, not 16.
//!
//! # IPv4 layout
//!
//! ```text
//!  address  | 31 ..... 24 | 23 ...... 14 | 13 .... 8 | 7 ..... 2 | 1 0 |
//!                 │              │             │           │        │
//!                 ▼              │             │           │        │
//!  top      ┌────────────┐       │             │           │        │
//!  256 × 16B│base,mask,nh│──┐    ▼             │           │        │
//!  (in Fib4)└────────────┘  │  ┌─────────────────────────┐ │        │
//!                           └─►│ direct[1024]  │ blocks  │ │        │  section: one per /8,
//!                              │ nh │ B:o │ nh │         │ │        │  Arc-shared between
//!                              └──────┼──────┴────▲────┘ │        │  versions
//!                                     │           │      ▼        │
//!                                     └─── block: [hdr|root 18..24|leaves|
//!                                                   node 24..30|..|node 30..32|..|routes]
//!                                      or, nearly always:  [hdr|leafvec|16-bit leaves|routes]
//! ```
//!
//! - **top**: one entry per /8 in the `Fib4` itself: a pointer to the /8's
//!   direct entries and an index mask. A /8 with no route of length >= 8
//!   (most of them in a small table) has mask 0 and points at its own next
//!   hop. The fast path reads a second top level, the *forwarding top*
//!   ([`Direct`]): one pointer per /8 to its 1024 direct entries, moved
//!   back so that the address's /18 number indexes them without a mask; a
//!   /8 without routes points to a shared *fill* of its next hop, and each
//!   martian /8 (RFC 1812 §5.3.7) to a fill of no route. An empty table is
//!   about 12 KiB.
//! - **section** (a /8 that has routes): 1024 *direct entries*, one per
//!   /18, each either a next hop (the /18 holds no longer route) or the
//!   offset of a *block*; then the blocks, appended.
//! - **block**: everything about one /18 that holds routes longer than
//!   /18: a 3-word header (route count, trie size, default next hop), the
//!   Poptrie of those routes (node 18..24, nodes 24..30, nodes 30..32 with
//!   the last two bits padded to six), and the routes themselves (16-bit
//!   codes of the bits past /18, a marker bit above them, and their next
//!   hops) so that the block can be rebuilt without any other index.
//!   Offsets inside a block are relative to its root, so blocks move by
//!   plain copies.
//! - **compact root**: a block whose routes are all /19../24 (98 % of them
//!   in a real table) and whose leaves are below `0x8000` (or
//!   [`NO_ROUTE`]) has no nodes: its root is the 64-bit `leafvec` then the
//!   leaves as 16-bit values, marked in the direct entry (bit 30). Section
//!   buffers start on a cache line and a root of 64 bytes or less is
//!   placed (padding at most 15 words, on average about one) so that it
//!   does not cross a line: the leaf is in the line of the bitmap.
//!
//! A lookup is the top entry (hot in L1), the direct entry, and for an
//! address in a split /18 with a compact root one line for the root and
//! its leaf: two cache misses for a /24, where a DIR-24-8 table (64 MB)
//! has one. Other blocks take one node per 6 bits and the leaf. Routes
//! shorter than /18 are expanded into the direct entries (and, below them,
//! into the blocks' defaults); routes shorter than /8 into the top
//! entries. [`Fib4::lookup_batch`] does the direct entries of 32 addresses
//! first (prefetching the roots when the table is too big for the core's
//! caches), then their roots.
//!
//! # Updates and versions
//!
//! The routes live in the structure itself (routes of length >= 19 in
//! their block, /8../18 in a sorted list per section, /0../7 in a list in
//! the `Fib4`), together with, per /18, the length of the route its default
//! comes from. An update of a route longer than /18 copies the route codes
//! of its /18, inserts or removes one (binary search), builds the new
//! block from the codes (a compact root directly, without the general
//! node builder) and appends it to its section; the old block becomes
//! garbage, compacted away once it is half the section. A route of length <= 18
//! repaints the direct entries (and rebuilds the blocks) of the /18s it
//! covers whose default came from a route no longer than itself, so more
//! specific routes survive; a removal repaints with the next-shorter
//! covering route. The shape of the table depends only on the set of routes.
//!
//! Sections are `Arc`s: cloning a `Fib4` to make the next version copies
//! only the top levels (6 KiB); the first update to a section in the new
//! version copies that section (a plain copy while its garbage is under a
//! quarter, else without it) and leaves the published one untouched, so
//! the next snapshot costs one section copy per touched /8 plus one block
//! build per update.
//!
//! ```text
//!   published v1:  top₁ ──► [§10]  [§23]  [§81]  ...      (Arc, refcount 2)
//!                             ▲      ▲      ▲
//!   next v2 (clone):  top₂ ───┘      │      └─ shared, untouched
//!      v2.insert(23.1.2.0/24) ──► make_mut(§23): copy → §23' + new block
//!   publish(Arc::new(v2)); v1 is freed when the last worker drops it
//! ```
//!
//! # IPv6
//!
//! [`Fib6`] is built in one pass from a [`Fib6Builder`] that keeps the
//! routes; a new version is a new build. Every slot of the structure holds
//! an *entry*: a next hop, or a tagged pointer to one of three kinds of
//! node, chosen per subtree by how many routes are below it and how they
//! lie:
//!
//! ```text
//!  address | 127 ..... 108 | 107 ... 102 | 101 ............. 70 | 69 .. 0
//!                 │               │                 │
//!                 ▼               ▼                 ▼
//!  direct   ┌───────────┐   array node       range block at depth 26:
//!  2^20 × 4B│nh│A │R │P │   ┌──────────┐     key = address bits 26 .. 58
//!           └───┼──┼──┼─┘   │64 entries│     ┌────────────┬─────────────┐
//!               └──┼──┼────►│nh│R │A │P│────►│ <= 31 keys │ <= 32 answers│
//!                  │  │     └───┼──┼──┼┘     └────────────┴─────────────┘
//!                  │  │         │  │  │       (the usual path of a /48)
//!                  │  │         ▼  ▼  ▼
//!                  │  │      (the same kinds, 6 bits further down)
//!                  │  └────► Poptrie node (6 bits, 24 bytes): children are
//!                  │         Poptrie nodes, leaves are entries (nh, R, A)
//!                  └───────► range block at depth 20 (a sparse /20)
//! ```
//!
//! - **direct**: one entry per /20 (per /16, /8 or a single one for
//!   tables of under 64k, 4k or 64 routes).
//! - **range block** (the routes below a prefix `P/d` whose lengths are
//!   at most `d + 32`, if they cut the 32 bits below `P` into at most 32
//!   intervals of equal answer; see `range.rs`): sorted interval starts,
//!   compared with the address's 32 bits after `P` in one or two SIMD
//!   compares (AVX-512, AVX2 or SSE2, chosen at run time), and the answer
//!   of each interval. Blocks of 4, 8, 16 and 32 intervals take 32, 64,
//!   128 and 256 bytes and sit within a line or on aligned lines, so that
//!   a /32 with its handful of /48s costs one or two cache misses however
//!   many bits its routes span. This is where nearly every lookup ends.
//! - **array node** (a subtree that does not fit in a block and is dense,
//!   with at least 12 distinct children and leaf runs, or is one of the
//!   two levels below the direct table, where nearly every lookup passes):
//!   64 entries, one per value of the next 6 bits; one load, no popcount.
//! - **Poptrie node** (a sparse one): as in IPv4; its leaves are entries.
//!
//! On the generated 168k-route table (48 % /48s) nearly every lookup
//! inside it is direct entry → array node (→ array node) → range block:
//! one line in L1 or L2, one in L2, and one, two or three lines of the
//! block (9.0 MB in all, against 12.9 MB for Poptrie nodes all the way
//! down, where a /48 took six dependent loads). Arrays of 2 MiB and more are allocated on
//! transparent huge pages (`madvise`). Batched lookups run each stage
//! (direct entries, array nodes, Poptrie nodes, leaves, range blocks) for
//! 32 addresses before the next, prefetching what the next stage reads,
//! so that the round's cache misses overlap.

use std::fmt::Debug;

mod node;
mod range;
#[cfg(test)]
mod tests;
mod v4;
mod v6;

pub(crate) use node::has_popcnt;
pub(crate) use v4::martian_net;
pub use v4::{Direct, Fib4};
pub use v6::{mask6, Fib6, Fib6Builder};

/// Next-hop index stored in the table (index into an adjacency array).
///
/// Values must be at most [`MAX_NEXT_HOP`]: the top bit of a direct entry
/// marks a block.
pub type NextHop = u32;

/// Lookup result when no prefix matches.
pub const NO_ROUTE: NextHop = u32::MAX;

/// Largest next hop a [`Fib4`] can store (`2^31 - 2`).
pub const MAX_NEXT_HOP: NextHop = (1 << 31) - 2;

/// Netmask of a prefix length (`len <= 32`).
#[inline]
const fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// Compile-time check that the tables can be shared by worker threads.
const _: () = {
    const fn shared<T: Send + Sync + Clone + Debug + Default>() {}
    shared::<Fib4>();
    shared::<Fib6>();
};
