//! [`Fib4`]: the IPv4 table (see the [module documentation](super)).

use std::sync::Arc;

use super::node::{self, Route, NODE_WORDS};
use super::{mask, NextHop, MAX_NEXT_HOP, NO_ROUTE};

/// Sections: one per /8.
const SECTIONS: usize = 256;
/// Bits of the direct index inside a section (/8 → /18).
const SLOT_BITS: u32 = 10;
/// Direct entries (slots) per materialized section: one per /18.
const SLOTS: usize = 1 << SLOT_BITS;
/// Prefix length resolved by the direct entries.
const DIRECT: u8 = 8 + SLOT_BITS as u8;
/// Tag of a direct entry that points to a block.
const BLOCK: u32 = 1 << 31;
/// Tag of a direct entry whose block's root is *compact* (see
/// [`compact_leaf`]); set only together with `BLOCK`.
const COMPACT: u32 = 1 << 30;
/// The root's offset in a direct entry that points to a block.
const OFFSET: u32 = COMPACT - 1;
/// Words per cache line (section buffers start on a line).
const LINE: usize = 16;
/// Words of a block's header, before its root node.
const HEADER: usize = 3;

/// Addresses per pipelined round of [`Fib4::lookup_batch`].
const BATCH: usize = 32;
/// Sections from which [`Fib4::lookup_batch`] prefetches (below, the
/// table stays in the core's caches).
const PREFETCH_SECTIONS: usize = 8;

/// True if direct entry `e` points to a block, false for a next hop or
/// `NO_ROUTE` (one signed compare: `0x8000_0000 ..= 0xffff_fffe`).
#[inline(always)]
const fn is_block(e: u32) -> bool {
    (e as i32) < -1
}

/// A route longer than /18 inside its /18, as stored in blocks: a marker
/// bit above the prefix bits past /18.
#[inline]
fn code_of(p: u32, len: u8) -> u16 {
    let extra = u32::from(len - DIRECT);
    ((1 << extra) | ((p >> (32 - u32::from(len))) & ((1 << extra) - 1))) as u16
}

/// The bits of `code` past /18 and their number.
#[inline]
fn code_bits(code: u16) -> (u32, u32) {
    let code = u32::from(code);
    let extra = 31 - code.leading_zeros();
    (code ^ (1 << extra), extra)
}

/// A sort key of codes in (prefix, length) order.
#[inline]
fn code_key(code: u16) -> u32 {
    let (rel, extra) = code_bits(code);
    (rel << (14 - extra)) << 4 | extra
}

/// The route of `code` in the /18 starting at `slot_base`.
#[inline]
fn code_route(code: u16, slot_base: u32) -> (u32, u8) {
    let (rel, extra) = code_bits(code);
    let len = DIRECT + extra as u8;
    (slot_base | rel << (32 - u32::from(len)), len)
}

/// `words` as twice as many `u16`s (native order): how blocks store
/// their route codes.
fn halves(words: &[u32]) -> &[u16] {
    // SAFETY: same memory, u16's alignment divides u32's, every bit
    // pattern is a valid u16.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast(), words.len() * 2) }
}

/// [`halves`], mutable.
fn halves_mut(words: &mut [u32]) -> &mut [u16] {
    // SAFETY: as `halves`, uniquely borrowed.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), words.len() * 2) }
}

/// Where a run of equal values starts in `vals` (bit 0 always set).
#[inline]
fn run_starts(vals: &[u32; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; the loads stay inside `vals`
    // (`i + 4 <= 64`, and `i - 1 >= 0` from `i = 4` on).
    unsafe {
        use std::arch::x86_64::*;
        let p = vals.as_ptr();
        let mut starts = 1u64;
        let first = _mm_loadu_si128(p.cast());
        let prev = _mm_set_epi32(
            vals[2] as i32,
            vals[1] as i32,
            vals[0] as i32,
            vals[0] as i32,
        );
        let eq = _mm_castsi128_ps(_mm_cmpeq_epi32(first, prev));
        starts |= u64::from((!_mm_movemask_ps(eq) & 0xf) as u32) & !1;
        let mut i = 4;
        while i < 64 {
            let cur = _mm_loadu_si128(p.add(i).cast());
            let prev = _mm_loadu_si128(p.add(i - 1).cast());
            let eq = _mm_castsi128_ps(_mm_cmpeq_epi32(cur, prev));
            starts |= u64::from((!_mm_movemask_ps(eq) & 0xf) as u32) << i;
            i += 4;
        }
        starts
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut starts = 1u64;
        for i in 1..64 {
            starts |= u64::from(vals[i] != vals[i - 1]) << i;
        }
        starts
    }
}

/// The first address of slot `s` of section `sec`.
#[inline]
fn slot_base(sec: usize, s: usize) -> u32 {
    (sec as u32) << 24 | (s as u32) << (32 - DIRECT)
}

/// Inserts or replaces `(code, nh)` in a code list sorted by [`code_key`].
fn codes_insert(v: &mut Vec<(u16, NextHop)>, code: u16, nh: NextHop) -> Option<NextHop> {
    match v.binary_search_by_key(&code_key(code), |r| code_key(r.0)) {
        Ok(i) => Some(std::mem::replace(&mut v[i].1, nh)),
        Err(i) => {
            v.insert(i, (code, nh));
            None
        }
    }
}

/// Removes `code` from a code list sorted by [`code_key`].
fn codes_remove(v: &mut Vec<(u16, NextHop)>, code: u16) -> Option<NextHop> {
    let i = v
        .binary_search_by_key(&code_key(code), |r| code_key(r.0))
        .ok()?;
    Some(v.remove(i).1)
}

/// The root offset of block entry `e`.
#[inline(always)]
const fn root_of(e: u32) -> usize {
    (e & OFFSET) as usize
}

/// The leaf of a compact root for `key` (the address bits below /18,
/// left-aligned).
///
/// A compact root is the root of a block without child nodes whose leaves
/// are all below `0x8000` or [`NO_ROUTE`]: `leafvec` (two words) then the
/// leaves as 16-bit values in native order (`NO_ROUTE` as `0xffff`), so
/// that for 28 leaves or fewer the whole root is 64 bytes at most, and
/// placed so that it sits in one cache line: the lookup is one `popcnt`
/// and one load from the line that holds the bitmap.
///
/// # Safety
///
/// `root` must be a compact root.
#[inline(always)]
unsafe fn compact_leaf(root: *const u32, key: u32) -> NextHop {
    // `leafvec << (63 - idx)` keeps bits 0..=idx; `!key >> 26` is
    // `63 - idx`. Bit 0 of leafvec is always set, so k >= 1.
    let leafvec = root.cast::<u64>().read_unaligned();
    let k = (leafvec << (!key >> 26)).count_ones() as usize;
    // Sign extension maps 0xffff back to NO_ROUTE.
    u32::from(*root.cast::<u16>().add(k + 3)) as i16 as i32 as u32
}

/// One cache line of a [`Buf`].
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u32; LINE]);

/// A growable word buffer that starts on a cache line, so that block
/// roots can be placed within lines (a `Vec<u32>` of its own lines).
#[derive(Default)]
struct Buf {
    lines: Vec<Line>,
    len: usize,
}

impl Buf {
    /// Empty, with room for `words`.
    fn with_capacity(words: usize) -> Self {
        Buf {
            lines: Vec::with_capacity(words.div_ceil(LINE)),
            len: 0,
        }
    }

    /// `n` copies of `w`.
    fn filled(w: u32, n: usize) -> Self {
        let mut b = Buf::with_capacity(n);
        b.resize(n, w);
        b
    }

    /// Words allocated.
    fn capacity(&self) -> usize {
        self.lines.capacity() * LINE
    }

    /// Appends `k` words written by `write` (given a pointer to the first
    /// one, which may be uninitialized memory).
    ///
    /// # Safety
    ///
    /// `write` must initialize all `k` words.
    unsafe fn append_with(&mut self, k: usize, write: impl FnOnce(*mut u32)) {
        let at = self.len;
        let n = at + k;
        let lines = n.div_ceil(LINE);
        let have = self.lines.len();
        if lines > have {
            self.lines.reserve(lines - have);
        }
        let p = self.lines.as_mut_ptr().cast::<u32>();
        write(p.add(at));
        // The rest of the last line: every word of a line in the vector
        // is initialized (new lines are covered by `at..n` and this).
        std::ptr::write_bytes(p.add(n), 0, lines * LINE - n);
        if lines > have {
            self.lines.set_len(lines);
        }
        self.len = n;
    }

    /// Grows to `n` words (`n >= len`), the new ones `w`.
    fn resize(&mut self, n: usize, w: u32) {
        let k = n - self.len;
        // SAFETY: writes the `k` words.
        unsafe {
            self.append_with(k, |p| {
                for i in 0..k {
                    p.add(i).write(w);
                }
            });
        }
    }

    /// Appends `ws`.
    fn extend_from_slice(&mut self, ws: &[u32]) {
        // SAFETY: copies the `ws.len()` words; `ws` cannot overlap the
        // spare capacity it is copied to.
        unsafe {
            self.append_with(ws.len(), |p| {
                std::ptr::copy_nonoverlapping(ws.as_ptr(), p, ws.len());
            });
        }
    }

    /// Frees the unused capacity.
    fn shrink_to_fit(&mut self) {
        self.lines.shrink_to_fit();
    }
}

impl std::ops::Deref for Buf {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        // SAFETY: the lines are `len.div_ceil(LINE)` initialized
        // `[u32; LINE]`s, contiguous; `len` words of them are in use.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }
}

impl std::ops::DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [u32] {
        // SAFETY: as `deref`, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

/// Appends `block` (header first) to `buf` and returns its root: a compact
/// root of one line or less goes where it does not cross a line, after
/// padding if needed (at most 15 words; usually none).
fn append_block(buf: &mut Buf, block: &[u32], compact: bool) -> usize {
    let mut root = buf.len() + HEADER;
    let size = block[1] as usize;
    if compact && size <= LINE && root % LINE + size > LINE {
        let pad = LINE - root % LINE;
        buf.resize(buf.len() + pad, 0);
        root += pad;
    }
    buf.extend_from_slice(block);
    assert!(root <= OFFSET as usize, "FIB section over 2^30 words");
    root
}

/// The answer for `addr` in a block: `e` is its direct entry in the
/// section at `base`.
///
/// # Safety
///
/// `e` must be a block entry of the section at `base`.
#[inline(always)]
unsafe fn leaf(base: *const u32, e: u32, addr: u32) -> NextHop {
    let root = base.add(root_of(e));
    let key = addr << DIRECT;
    if e & COMPACT != 0 {
        compact_leaf(root, key)
    } else {
        node::walk(root, key)
    }
}

/// Per-/8 entry of the top level, read by every lookup: where the
/// section's direct entries are and which address bits index them.
#[derive(Clone, Copy)]
#[repr(C)]
struct Top {
    /// The section's buffer (direct entries first), or the `leaf` below for
    /// a uniform /8.
    base: *const u32,
    /// `SLOTS - 1`, or 0 for a uniform /8 (one entry: `leaf`).
    mask: u32,
    /// The next hop of a uniform /8.
    leaf: u32,
}

/// A view of a [`Fib4`]'s direct entries ([`Fib4::direct`]) for a tight
/// loop: the forwarding top level is one pointer it keeps in a register
/// (or a spill slot); the table itself is only for the walk.
///
/// The forwarding top level answers [`NO_ROUTE`] for a martian
/// destination (RFC 1812 §5.3.7: 0/8, 127/8, 224/3 upward), so the loop
/// need not test the destination for that itself.
#[derive(Clone, Copy)]
pub struct Direct<'a> {
    top: &'a [FastTop; SECTIONS],
    fib: &'a Fib4,
}

impl Direct<'_> {
    /// [`Fib4::lookup`] where it is called, [`NO_ROUTE`] for a martian
    /// destination: two loads and no mask for an address whose /18 holds
    /// no longer prefix, one more and a popcount in a block with a compact
    /// root (nearly all), a call for the walk of any other. For a loop
    /// compiled with `popcnt` where the CPU has it (without it the
    /// popcount is a dozen instructions).
    #[inline(always)]
    pub fn lookup(self, addr: u32) -> NextHop {
        let sec = (addr >> 24) as usize;
        // SAFETY: every entry of the forwarding top level, moved forward by
        // its /8's first slot, is the start of `SLOTS` direct entries (a
        // section's, or a fill's), and every block entry there points to a
        // block (see `lookup_in`); `addr >> (32 - DIRECT)` is that first
        // slot plus the slot in the /8.
        unsafe {
            let base = self.top.get_unchecked(sec).0;
            let e = *base.wrapping_add((addr >> (32 - DIRECT)) as usize);
            if !is_block(e) {
                return e;
            }
            if e & COMPACT != 0 {
                let section = base.wrapping_add(sec << SLOT_BITS);
                return compact_leaf(section.add(root_of(e)), addr << DIRECT);
            }
        }
        self.fib.lookup_cold(addr)
    }
}

/// Per-/8 entry of the forwarding top level ([`Fib4::direct`]): the /8's
/// `SLOTS` direct entries (its section's, or for a /8 without one a fill
/// of its next hop: `NO_ROUTE` for a martian /8), moved back by the /8's
/// first slot (`sec · SLOTS` entries), so that the slot number of the
/// whole address indexes them without a mask. The pointer is only
/// dereferenced moved forward again, inside the entries.
#[derive(Clone, Copy)]
struct FastTop(*const u32);

/// Whether /8 number `octet` holds only martian addresses (RFC 1812
/// §5.3.7, §4.2.2.11): this network (0/8), loopback (127/8), multicast,
/// class E and the limited broadcast (224/3 upward).
pub(crate) const fn martian_net(octet: usize) -> bool {
    octet == 0 || octet == 127 || octet >= 224
}

/// The routes and lookup entries of one /8 that holds a route of length
/// `>= 8` (see the [module documentation](super)).
struct Section {
    /// `SLOTS` direct entries, then the blocks (live and garbage).
    buf: Buf,
    /// Per slot, the length of the route its default next hop comes from
    /// (0 for none or /0): the longest route of length `<= 18` covering it.
    depth: Box<[u8; SLOTS]>,
    /// Routes of length 8..=18 in this /8, sorted by (prefix, length).
    short: Vec<(u32, u8, NextHop)>,
    /// Words of `buf` in blocks no direct entry points to any more.
    garbage: usize,
    /// Routes in this section: `short` plus the routes in the blocks.
    routes: usize,
}

impl Section {
    /// A section whose every slot has the default `(nh, depth)`.
    fn uniform(nh: u32, depth: u8) -> Self {
        Section {
            buf: Buf::filled(nh, SLOTS),
            depth: Box::new([depth; SLOTS]),
            short: Vec::new(),
            garbage: 0,
            routes: 0,
        }
    }

    /// The block at direct entry `e`: (start of its header, total words).
    fn block(&self, e: u32) -> (usize, usize) {
        let start = root_of(e) - HEADER;
        let n = self.buf[start] as usize;
        let lookup = self.buf[start + 1] as usize;
        (start, HEADER + lookup + n.div_ceil(2) + n)
    }

    /// Default next hop of slot `s` (its leaf, or its block's cover).
    fn cover(&self, s: usize) -> NextHop {
        let e = self.buf[s];
        if is_block(e) {
            self.buf[root_of(e) - HEADER + 2]
        } else {
            e
        }
    }

    /// Slot `s`'s routes as (code, next hop), sorted (see [`code_key`]),
    /// into `out` (cleared first).
    fn slot_codes(&self, s: usize, out: &mut Vec<(u16, NextHop)>) {
        out.clear();
        let e = self.buf[s];
        if !is_block(e) {
            return;
        }
        let (start, _) = self.block(e);
        let n = self.buf[start] as usize;
        let lookup = self.buf[start + 1] as usize;
        let codes = start + HEADER + lookup;
        let nhs = codes + n.div_ceil(2);
        let codes = &halves(&self.buf[codes..nhs])[..n];
        out.extend(
            codes
                .iter()
                .copied()
                .zip(self.buf[nhs..nhs + n].iter().copied()),
        );
    }

    /// Appends slot `s`'s routes (prefix, length, next hop; sorted) to `out`.
    fn slot_routes(&self, sec: usize, s: usize, out: &mut Vec<(u32, u8, NextHop)>) {
        let mut codes = Vec::new();
        self.slot_codes(s, &mut codes);
        let base = slot_base(sec, s);
        out.extend(codes.into_iter().map(|(code, nh)| {
            let (p, len) = code_route(code, base);
            (p, len, nh)
        }));
    }

    /// The next hop of route `p/len` (longer than /18) in slot `s`.
    fn slot_get(&self, s: usize, p: u32, len: u8) -> Option<NextHop> {
        let e = self.buf[s];
        if !is_block(e) {
            return None;
        }
        let (start, _) = self.block(e);
        let n = self.buf[start] as usize;
        let codes = start + HEADER + self.buf[start + 1] as usize;
        let nhs = codes + n.div_ceil(2);
        let want = code_of(p, len);
        halves(&self.buf[codes..nhs])[..n]
            .iter()
            .position(|&c| c == want)
            .map(|i| self.buf[nhs + i])
    }

    /// Replaces the routes of slot `s` of section `sec` with `codes`
    /// (sorted by [`code_key`]) under default `cover`: a leaf if there are
    /// none, else a new block appended to `buf`. `scratch` is reused
    /// memory.
    fn set_slot(
        &mut self,
        sec: usize,
        s: usize,
        codes: &[(u16, NextHop)],
        cover: NextHop,
        scratch: &mut Scratch,
    ) {
        let old = self.buf[s];
        if is_block(old) {
            self.garbage += self.block(old).1;
        }
        if codes.is_empty() {
            self.buf[s] = cover;
        } else {
            let out = &mut scratch.words;
            let base = slot_base(sec, s);
            let compact = encode_block(codes, cover, base, out, &mut scratch.routes);
            let root = append_block(&mut self.buf, out, compact);
            self.buf[s] = BLOCK | if compact { COMPACT } else { 0 } | root as u32;
        }
        if self.garbage > 1024 && self.garbage * 2 > self.buf.len() {
            self.compact();
        }
    }

    /// Rebuilds slot `s`'s block (if any) under a new default.
    fn set_cover(&mut self, sec: usize, s: usize, cover: NextHop, scratch: &mut Scratch) {
        if !is_block(self.buf[s]) {
            self.buf[s] = cover;
            return;
        }
        let mut codes = std::mem::take(&mut scratch.slot);
        self.slot_codes(s, &mut codes);
        self.set_slot(sec, s, &codes, cover, scratch);
        scratch.slot = codes;
    }

    /// Within slots `range`, gives every slot whose default comes from a
    /// route of length `<= len` the default `(nh, depth)`.
    fn paint(
        &mut self,
        sec: usize,
        range: std::ops::Range<usize>,
        len: u8,
        nh: NextHop,
        depth: u8,
        scratch: &mut Scratch,
    ) {
        for s in range {
            if self.depth[s] <= len {
                self.depth[s] = depth;
                self.set_cover(sec, s, nh, scratch);
            }
        }
    }

    /// The live part of `buf` only, with room to grow by an eighth.
    fn compacted(&self) -> Buf {
        let live = self.buf.len() - self.garbage;
        let mut buf = Buf::with_capacity(live + live / 8 + 64);
        buf.extend_from_slice(&self.buf[..SLOTS]);
        for s in 0..SLOTS {
            let e = self.buf[s];
            if is_block(e) {
                let (start, words) = self.block(e);
                let block = &self.buf[start..start + words];
                let root = append_block(&mut buf, block, e & COMPACT != 0);
                buf[s] = (e & !OFFSET) | root as u32;
            }
        }
        buf
    }

    /// Drops the garbage.
    fn compact(&mut self) {
        self.buf = self.compacted();
        self.garbage = 0;
    }

    /// Heap bytes.
    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Section>()
            + self.buf.capacity() * 4
            + SLOTS
            + self.short.capacity() * std::mem::size_of::<(u32, u8, NextHop)>()
    }
}

impl Clone for Section {
    /// A copy (the copy-on-write step of an update): a plain copy while
    /// the garbage is under a quarter of the buffer, else a copy without
    /// it.
    fn clone(&self) -> Self {
        let keep = self.garbage * 4 <= self.buf.len();
        let buf = if keep {
            let mut buf = Buf::with_capacity(self.buf.len() * 9 / 8 + 64);
            buf.extend_from_slice(&self.buf);
            buf
        } else {
            self.compacted()
        };
        Section {
            buf,
            depth: self.depth.clone(),
            short: self.short.clone(),
            garbage: if keep { self.garbage } else { 0 },
            routes: self.routes,
        }
    }
}

/// Reusable buffers for block building.
#[derive(Default)]
struct Scratch {
    words: Vec<u32>,
    routes: Vec<Route>,
    slot: Vec<(u16, NextHop)>,
}

/// Writes the block for a slot's `routes` (sorted, all longer than /18,
/// all in one /18) to `out`: a 3-word header (route count, lookup words,
/// default next hop), the trie (root first), then the routes: 16-bit codes
/// (a marker bit above the prefix bits past /18), two per word, and their
/// next hops. The trie is a compact root (see [`compact_leaf`]) if it can
/// be; returns whether it is.
fn encode_block(
    routes: &[(u16, NextHop)],
    cover: NextHop,
    slot_base: u32,
    out: &mut Vec<u32>,
    keys: &mut Vec<Route>,
) -> bool {
    out.clear();
    let leaves = HEADER + NODE_WORDS;
    // Codes of routes no longer than /24 are below 1 << 7.
    if routes.iter().all(|r| r.0 < 1 << (node::STRIDE + 1)) {
        // Nearly every block: a root without children, built here
        // directly (what `node::build` makes of these routes).
        let mut vals = [cover; 64];
        for &(code, nh) in routes {
            let (rel, extra) = code_bits(code);
            let pos = (rel << (node::STRIDE - extra)) as usize;
            vals[pos..pos + (1 << (node::STRIDE - extra))].fill(nh);
        }
        out.extend_from_slice(&[0; HEADER + NODE_WORDS]);
        let leafvec = run_starts(&vals);
        let mut m = leafvec;
        while m != 0 {
            out.push(vals[m.trailing_zeros() as usize]);
            m &= m - 1;
        }
        out[HEADER + 2] = leafvec as u32;
        out[HEADER + 3] = (leafvec >> 32) as u32;
        out[HEADER + 4] = NODE_WORDS as u32 - 1;
        out[HEADER + 5] = (out.len() - leaves) as u32;
    } else {
        keys.clear();
        keys.extend(routes.iter().map(|&(code, nh)| {
            let (p, len) = code_route(code, slot_base);
            Route {
                key: u128::from(p) << 96,
                len,
                nh,
            }
        }));
        out.extend_from_slice(&[0; HEADER + NODE_WORDS]);
        node::build(
            out,
            HEADER,
            HEADER,
            u32::from(DIRECT),
            keys,
            cover,
            &mut |_, _, _, _| None,
        );
    }
    let compact = out[HEADER] == 0
        && out[HEADER + 1] == 0
        && out[leaves..].iter().all(|&l| l < 0x8000 || l == NO_ROUTE);
    if compact {
        // leafvec, then the leaves as u16s in native order.
        out.copy_within(HEADER + 2..HEADER + 4, HEADER);
        let k = out.len() - leaves;
        for j in (0..k).step_by(2) {
            let lo = out[leaves + j] as u16;
            let hi = if j + 1 < k {
                out[leaves + j + 1] as u16
            } else {
                0
            };
            let [a, b] = lo.to_ne_bytes();
            let [c, d] = hi.to_ne_bytes();
            out[HEADER + 2 + j / 2] = u32::from_ne_bytes([a, b, c, d]);
        }
        out.truncate(HEADER + 2 + k.div_ceil(2));
    }
    let n = routes.len();
    out[0] = n as u32;
    out[1] = (out.len() - HEADER) as u32;
    out[2] = cover;
    let codes = out.len();
    out.resize(codes + n.div_ceil(2), 0);
    for (c, &(code, _)) in halves_mut(&mut out[codes..]).iter_mut().zip(routes) {
        *c = code;
    }
    out.extend(routes.iter().map(|r| r.1));
    compact
}

/// A per-VRF IPv4 longest-prefix-match table (a Poptrie, see the
/// [module documentation](super)).
///
/// Cloning is cheap (an 8 KiB copy and reference counts): the clone shares
/// every section with the original, and an update copies only the sections
/// it touches. That is how a new version of a published table is made.
pub struct Fib4 {
    /// Read by lookups: one entry per /8.
    top: Box<[Top; SECTIONS]>,
    /// Read by [`Direct`] lookups: the forwarding top level.
    fast: Box<[FastTop; SECTIONS]>,
    /// `SLOTS` copies of a next hop, one fill per next hop of a /8 without
    /// a section (and `NO_ROUTE`, for the martian /8s), for `fast`; with
    /// the number of `fast` entries that use each.
    fills: Vec<(Arc<[u32]>, usize)>,
    /// The sections; `None` for a uniform /8 (no route of length >= 8 in
    /// it), whose next hop is in `top`.
    sections: Vec<Option<Arc<Section>>>,
    /// Per uniform /8, the length of the route its next hop comes from.
    udepth: Box<[u8; SECTIONS]>,
    /// Routes shorter than /8, sorted by (prefix, length).
    tiny: Vec<(u32, u8, NextHop)>,
    /// Number of routes.
    len: usize,
    /// Number of sections (`Some` in `sections`).
    sections_live: usize,
    /// Reusable buffers for updates (not shared by clones).
    scratch: Scratch,
}

// SAFETY: the raw pointers in `top` and `fast` point into `sections`
// (immutable while shared, and only mutated through `&mut self` after
// `Arc::make_mut`), into `top` itself or into `fills` (immutable); a `Fib4`
// owns everything they point to, like a `Vec<Arc<..>>` would.
unsafe impl Send for Fib4 {}
// SAFETY: `&Fib4` only reads.
unsafe impl Sync for Fib4 {}

impl Default for Fib4 {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for Fib4 {
    fn clone(&self) -> Self {
        let mut fib = Fib4 {
            top: self.top.clone(),
            fast: self.fast.clone(),
            fills: self.fills.clone(),
            sections: self.sections.clone(),
            udepth: self.udepth.clone(),
            tiny: self.tiny.clone(),
            len: self.len,
            sections_live: self.sections_live,
            scratch: Scratch::default(),
        };
        for s in 0..SECTIONS {
            fib.refresh(s);
        }
        fib
    }
}

impl std::fmt::Debug for Fib4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fib4")
            .field("prefixes", &self.len())
            .field("sections", &self.sections.iter().flatten().count())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl FromIterator<(u32, u8, NextHop)> for Fib4 {
    fn from_iter<I: IntoIterator<Item = (u32, u8, NextHop)>>(iter: I) -> Self {
        Fib4::from_routes(iter)
    }
}

impl Fib4 {
    /// An empty table: every lookup answers [`NO_ROUTE`]. About 12 KiB.
    pub fn new() -> Self {
        let top = Box::new(
            [Top {
                base: std::ptr::null(),
                mask: 0,
                leaf: NO_ROUTE,
            }; SECTIONS],
        );
        let mut fib = Fib4 {
            fast: Box::new([FastTop(std::ptr::null()); SECTIONS]),
            fills: Vec::new(),
            top,
            sections: vec![None; SECTIONS],
            udepth: Box::new([0; SECTIONS]),
            tiny: Vec::new(),
            len: 0,
            sections_live: 0,
            scratch: Scratch::default(),
        };
        for s in 0..SECTIONS {
            fib.refresh(s);
        }
        fib
    }

    /// A table of `routes` (`(prefix, len, next hop)`; for a prefix given
    /// twice, the last next hop wins), built in one pass: faster than
    /// [`insert`](Self::insert)ing them one by one, and without slack.
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert).
    pub fn from_routes<I: IntoIterator<Item = (u32, u8, NextHop)>>(routes: I) -> Self {
        let mut long: Vec<(u32, u8, NextHop)> = Vec::new();
        let mut fib = Fib4::new();
        for (p, len, nh) in routes {
            check(len, nh);
            if len > DIRECT {
                long.push((p & mask(len), len, nh));
            } else {
                fib.insert(p, len, nh);
            }
        }
        // Stable: of equal prefixes, the last one given wins below.
        long.sort_by_key(|&(p, len, _)| (p, len));
        let mut dedup: Vec<(u32, u8, NextHop)> = Vec::with_capacity(long.len());
        for r in long {
            match dedup.last_mut() {
                Some(last) if (last.0, last.1) == (r.0, r.1) => *last = r,
                _ => dedup.push(r),
            }
        }
        let mut scratch = Scratch::default();
        let mut codes = Vec::new();
        let mut i = 0;
        while i < dedup.len() {
            let slot = dedup[i].0 >> (32 - DIRECT);
            let mut j = i + 1;
            while j < dedup.len() && dedup[j].0 >> (32 - DIRECT) == slot {
                j += 1;
            }
            let sec = (slot >> SLOT_BITS) as usize;
            let s = (slot & (SLOTS as u32 - 1)) as usize;
            let section = fib.section_mut(sec);
            let cover = section.cover(s);
            codes.clear();
            codes.extend(
                dedup[i..j]
                    .iter()
                    .map(|&(p, len, nh)| (code_of(p, len), nh)),
            );
            section.set_slot(sec, s, &codes, cover, &mut scratch);
            section.routes += j - i;
            fib.len += j - i;
            i = j;
        }
        for s in 0..SECTIONS {
            if let Some(sec) = &mut fib.sections[s] {
                let sec = Arc::get_mut(sec).expect("fresh section");
                sec.compact();
                sec.buf.shrink_to_fit();
                sec.short.shrink_to_fit();
            }
            fib.refresh(s);
        }
        fib
    }

    /// Adds or replaces the route `prefix/len → nh` and returns the next hop
    /// it replaced, if the exact prefix was already present.
    ///
    /// `prefix` is in host byte order; bits beyond `len` are ignored. Only
    /// the /18 (or, for a route of length <= 18, the range) it covers is
    /// rebuilt, in a copy if that part is shared with a clone.
    ///
    /// # Panics
    ///
    /// If `len > 32`, or `nh > MAX_NEXT_HOP` (which includes `NO_ROUTE`).
    pub fn insert(&mut self, prefix: u32, len: u8, nh: NextHop) -> Option<NextHop> {
        check(len, nh);
        let prefix = prefix & mask(len);
        let mut scratch = std::mem::take(&mut self.scratch);
        let old = self.insert_with(prefix, len, nh, &mut scratch);
        self.scratch = scratch;
        old
    }

    /// [`insert`](Self::insert) of a checked, masked route.
    fn insert_with(
        &mut self,
        prefix: u32,
        len: u8,
        nh: NextHop,
        scratch: &mut Scratch,
    ) -> Option<NextHop> {
        if len < 8 {
            let old = sorted_insert(&mut self.tiny, prefix, len, nh);
            if old != Some(nh) {
                self.paint_sections(prefix, len, nh, len, scratch);
            }
            self.len += usize::from(old.is_none());
            return old;
        }
        let sec = (prefix >> 24) as usize;
        let section = self.section_mut(sec);
        let old = if len <= DIRECT {
            let old = sorted_insert(&mut section.short, prefix, len, nh);
            if old != Some(nh) {
                let (range, _) = slot_range(prefix, len);
                section.paint(sec, range, len, nh, len, scratch);
            }
            old
        } else {
            let s = ((prefix >> (32 - DIRECT)) as usize) & (SLOTS - 1);
            let mut codes = std::mem::take(&mut scratch.slot);
            section.slot_codes(s, &mut codes);
            let old = codes_insert(&mut codes, code_of(prefix, len), nh);
            if old != Some(nh) {
                let cover = section.cover(s);
                section.set_slot(sec, s, &codes, cover, scratch);
            }
            scratch.slot = codes;
            old
        };
        section.routes += usize::from(old.is_none());
        self.len += usize::from(old.is_none());
        self.refresh(sec);
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
        let mut scratch = std::mem::take(&mut self.scratch);
        let old = if len > DIRECT {
            self.remove_long(prefix, len, &mut scratch)
        } else if self.get(prefix, len).is_some() {
            self.remove_with(prefix, len, &mut scratch)
        } else {
            None
        };
        self.scratch = scratch;
        old
    }

    /// [`remove`](Self::remove) of a masked route longer than /18 (which
    /// may be absent): its slot's routes are decoded once, from the shared
    /// section, and copied only if the route is there.
    fn remove_long(&mut self, prefix: u32, len: u8, scratch: &mut Scratch) -> Option<NextHop> {
        let sec = (prefix >> 24) as usize;
        let s = ((prefix >> (32 - DIRECT)) as usize) & (SLOTS - 1);
        let mut codes = std::mem::take(&mut scratch.slot);
        self.sections[sec].as_ref()?.slot_codes(s, &mut codes);
        let old = codes_remove(&mut codes, code_of(prefix, len));
        if old.is_some() {
            self.len -= 1;
            let section = self.section_mut(sec);
            let cover = section.cover(s);
            section.set_slot(sec, s, &codes, cover, scratch);
            section.routes -= 1;
            if section.routes == 0 {
                let tiny_cover = covering(&self.tiny, prefix, 8).unwrap_or((NO_ROUTE, 0));
                self.sections[sec] = None;
                self.top[sec].leaf = tiny_cover.0;
                self.udepth[sec] = tiny_cover.1;
            }
            self.refresh(sec);
        }
        scratch.slot = codes;
        old
    }

    /// [`remove`](Self::remove) of a masked route of length <= 18 that
    /// exists.
    fn remove_with(&mut self, prefix: u32, len: u8, scratch: &mut Scratch) -> Option<NextHop> {
        self.len -= 1;
        if len < 8 {
            let old = sorted_remove(&mut self.tiny, prefix, len)?;
            if self.tiny.len() * 4 <= self.tiny.capacity() {
                self.tiny.shrink_to(self.tiny.len() * 2);
            }
            let (nh, depth) = covering(&self.tiny, prefix, len).unwrap_or((NO_ROUTE, 0));
            self.paint_sections(prefix, len, nh, depth, scratch);
            return Some(old);
        }
        let sec = (prefix >> 24) as usize;
        let tiny_cover = covering(&self.tiny, prefix, 8).unwrap_or((NO_ROUTE, 0));
        let section = self.section_mut(sec);
        let old = sorted_remove(&mut section.short, prefix, len)?;
        let (nh, depth) = covering(&section.short, prefix, len).unwrap_or(tiny_cover);
        let (range, _) = slot_range(prefix, len);
        section.paint(sec, range, len, nh, depth, scratch);
        section.routes -= 1;
        if section.routes == 0 {
            // Back to a uniform /8: every slot has the tiny routes' default.
            self.sections[sec] = None;
            self.top[sec].leaf = tiny_cover.0;
            self.udepth[sec] = tiny_cover.1;
        }
        self.refresh(sec);
        Some(old)
    }

    /// The next hop of exactly `prefix/len` (not a longest-prefix match).
    /// Bits of `prefix` beyond `len` are ignored; `None` if `len > 32`.
    pub fn get(&self, prefix: u32, len: u8) -> Option<NextHop> {
        if len > 32 {
            return None;
        }
        let prefix = prefix & mask(len);
        if len < 8 {
            return sorted_get(&self.tiny, prefix, len);
        }
        let sec = (prefix >> 24) as usize;
        let section = self.sections[sec].as_ref()?;
        if len <= DIRECT {
            return sorted_get(&section.short, prefix, len);
        }
        let s = ((prefix >> (32 - DIRECT)) as usize) & (SLOTS - 1);
        section.slot_get(s, prefix, len)
    }

    /// Longest-prefix match of `addr` (host byte order): the next hop of the
    /// longest prefix that contains it, or [`NO_ROUTE`].
    ///
    /// Two loads for an address whose /18 holds no longer prefix, three
    /// (the last two in one cache line) for one in a /18 with a compact
    /// root (routes up to /24), else one per 6 bits of trie and one for the
    /// leaf; never allocates.
    #[inline]
    pub fn lookup(&self, addr: u32) -> NextHop {
        #[cfg(target_arch = "x86_64")]
        if node::has_popcnt() {
            // SAFETY: the CPU has popcnt.
            return unsafe { self.lookup_popcnt(addr) };
        }
        // SAFETY: the table's invariant (see `lookup_in`).
        unsafe { self.lookup_in(addr) }
    }

    /// The table's direct entries, for a per-packet forwarding loop that
    /// cannot batch its lookups: see [`Direct::lookup`].
    #[inline]
    pub fn direct(&self) -> Direct<'_> {
        Direct {
            top: &self.fast,
            fib: self,
        }
    }

    /// [`lookup`](Self::lookup) as a call a tight loop's registers survive
    /// (`cold` keeps its spills on its own path): [`Direct::lookup`]'s
    /// walk.
    #[cold]
    #[inline(never)]
    fn lookup_cold(&self, addr: u32) -> NextHop {
        self.lookup(addr)
    }

    /// [`lookup`](Self::lookup) compiled with the `popcnt` instruction.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn lookup_popcnt(&self, addr: u32) -> NextHop {
        self.lookup_in(addr)
    }

    /// The walk of [`lookup`](Self::lookup).
    ///
    /// # Safety
    ///
    /// Always safe to call: every `top` entry points to a live buffer with
    /// `mask + 1` entries, and every block entry there to a trie built by
    /// `node::build`. `unsafe` only to be callable from `lookup_popcnt`'s
    /// context without a wrapper.
    #[inline(always)]
    unsafe fn lookup_in(&self, addr: u32) -> NextHop {
        let t = self.top.get_unchecked((addr >> 24) as usize);
        let e = *t.base.add(((addr >> (32 - DIRECT)) & t.mask) as usize);
        if !is_block(e) {
            return e;
        }
        leaf(t.base, e, addr)
    }

    /// Longest-prefix match of every address in `addrs`, written to the
    /// same position of `out`; the same answers as [`lookup`](Self::lookup)
    /// on each, for a burst of packets.
    ///
    /// Works in rounds of 32 addresses: first the direct entries of the
    /// whole round (a next hop is the answer: nothing more is done for
    /// that address); then, for the addresses in blocks, the prefetch of
    /// their roots; then their leaves. The round's cache misses on the
    /// direct entries overlap, and so do those on the roots; a compact
    /// root (nearly all of them) holds its leaves in the same line, so an
    /// address in a split /18 costs two misses. (A pass per trie level
    /// with selects instead of branches was measured and is slower: more
    /// instructions for the same misses.)
    ///
    /// # Panics
    ///
    /// If `out.len() < addrs.len()`.
    #[inline]
    pub fn lookup_batch(&self, addrs: &[u32], out: &mut [u32]) {
        assert!(out.len() >= addrs.len(), "lookup_batch: out is too short");
        #[cfg(target_arch = "x86_64")]
        if node::has_popcnt() {
            // SAFETY: the CPU has popcnt.
            unsafe { self.batch_popcnt(addrs, out) };
            return;
        }
        // SAFETY: as in `lookup_in`; `out` is long enough.
        unsafe { self.batch_in(addrs, out) }
    }

    /// [`lookup_batch`](Self::lookup_batch) compiled with `popcnt`.
    ///
    /// # Safety
    ///
    /// The CPU must support `popcnt`; `out.len() >= addrs.len()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn batch_popcnt(&self, addrs: &[u32], out: &mut [u32]) {
        self.batch_in(addrs, out)
    }

    /// The body of [`lookup_batch`](Self::lookup_batch).
    ///
    /// # Safety
    ///
    /// `out.len() >= addrs.len()`; otherwise as `lookup_in`.
    #[inline(always)]
    unsafe fn batch_in(&self, addrs: &[u32], out: &mut [u32]) {
        if self.sections_live >= PREFETCH_SECTIONS {
            self.rounds::<true>(addrs, out);
        } else {
            self.rounds::<false>(addrs, out);
        }
    }

    /// [`batch_in`](Self::batch_in) with or without prefetching the roots
    /// (pointless when the table fits in L1/L2).
    ///
    /// # Safety
    ///
    /// As `batch_in`.
    #[inline(always)]
    unsafe fn rounds<const PREFETCH: bool>(&self, addrs: &[u32], out: &mut [u32]) {
        let top = self.top.as_ptr();
        let mut done = 0;
        while done < addrs.len() {
            let n = (addrs.len() - done).min(BATCH);
            let addrs = addrs.as_ptr().add(done);
            let out = out.as_mut_ptr().add(done);
            done += n;
            // The direct entries: the loads of the lanes overlap (top is
            // hot); a next hop is the answer, a block's root is
            // prefetched (without a branch: for a next hop the section
            // itself is, as a wild prefetch could cost a page walk).
            let mut root = [std::mem::MaybeUninit::<*const u32>::uninit(); BATCH];
            let mut live = 0u32;
            for i in 0..n {
                let a = *addrs.add(i);
                let t = &*top.add((a >> 24) as usize);
                let e = *t.base.add(((a >> (32 - DIRECT)) & t.mask) as usize);
                *out.add(i) = e;
                let b = is_block(e);
                if PREFETCH {
                    let r = node::select(b, t.base.wrapping_add(root_of(e)), t.base);
                    node::prefetch(r);
                    root.get_unchecked_mut(i).write(r);
                }
                live |= u32::from(b) << i;
            }
            // The leaves of the lanes in blocks: in the root's line for a
            // compact root (the branch predicts well: nearly all roots
            // are compact), and the walks of different lanes overlap in
            // the out-of-order window.
            while live != 0 {
                let i = live.trailing_zeros() as usize;
                live &= live - 1;
                let a = *addrs.add(i);
                let e = *out.add(i);
                let r = if PREFETCH {
                    root.get_unchecked(i).assume_init()
                } else {
                    (*top.add((a >> 24) as usize)).base.add(root_of(e))
                };
                let key = a << DIRECT;
                *out.add(i) = if e & COMPACT != 0 {
                    compact_leaf(r, key)
                } else {
                    node::walk(r, key)
                };
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

    /// Every route as `(prefix, len, next hop)`, prefix masked, in no
    /// particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u8, NextHop)> + '_ {
        let sections = self
            .sections
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)));
        self.tiny
            .iter()
            .copied()
            .chain(sections.flat_map(|(sec, section)| {
                let slots = (0..SLOTS).flat_map(move |s| {
                    let mut routes = Vec::new();
                    section.slot_routes(sec, s, &mut routes);
                    routes
                });
                section.short.iter().copied().chain(slots)
            }))
    }

    /// Heap bytes held by the table: the lookup structure and the routes
    /// (counting sections shared with clones in full). About 12 KiB empty.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<[Top; SECTIONS]>()
            + std::mem::size_of::<[FastTop; SECTIONS]>()
            + self.fills.len() * SLOTS * 4
            + SECTIONS * (std::mem::size_of::<Option<Arc<Section>>>() + 1)
            + self.tiny.capacity() * std::mem::size_of::<(u32, u8, NextHop)>()
            + self
                .sections
                .iter()
                .flatten()
                .map(|s| s.memory_bytes() + 16)
                .sum::<usize>()
    }

    /// Bytes of the lookup structure alone (top level, direct entries and
    /// tries, without the routes kept for updates), counting garbage.
    pub fn lookup_bytes(&self) -> usize {
        std::mem::size_of::<[Top; SECTIONS]>()
            + std::mem::size_of::<[FastTop; SECTIONS]>()
            + self.fills.len() * SLOTS * 4
            + self
                .sections
                .iter()
                .flatten()
                .map(|s| {
                    let mut bytes = s.buf.len() * 4;
                    for slot in 0..SLOTS {
                        let e = s.buf[slot];
                        if is_block(e) {
                            let (start, _) = s.block(e);
                            let n = s.buf[start] as usize;
                            bytes -= (n.div_ceil(2) + n) * 4;
                        }
                    }
                    bytes
                })
                .sum::<usize>()
    }

    /// Number of /8s with a section of their own (holding a route of
    /// length >= 8).
    #[cfg(test)]
    pub(super) fn sections_in_use(&self) -> usize {
        self.sections.iter().flatten().count()
    }

    // ---- updates ---------------------------------------------------------

    /// Section `sec` for writing: materialized if uniform, copied if shared.
    fn section_mut(&mut self, sec: usize) -> &mut Section {
        let (leaf, depth) = (self.top[sec].leaf, self.udepth[sec]);
        let slot = &mut self.sections[sec];
        let arc = slot.get_or_insert_with(|| Arc::new(Section::uniform(leaf, depth)));
        Arc::make_mut(arc)
    }

    /// Points `top[sec]` at the section's current buffer.
    fn refresh(&mut self, sec: usize) {
        let t = &mut self.top[sec];
        self.sections_live -= usize::from(t.mask != 0);
        self.sections_live += usize::from(self.sections[sec].is_some());
        match &self.sections[sec] {
            Some(s) => {
                t.base = s.buf.as_ptr();
                t.mask = SLOTS as u32 - 1;
            }
            None => {
                t.base = &t.leaf;
                t.mask = 0;
            }
        }
        let old = self.fast[sec].0.wrapping_add(sec << SLOT_BITS);
        let entries = if martian_net(sec) {
            self.take_fill(NO_ROUTE)
        } else if let Some(s) = &self.sections[sec] {
            s.buf.as_ptr()
        } else {
            let leaf = self.top[sec].leaf;
            self.take_fill(leaf)
        };
        self.fast[sec] = FastTop(entries.wrapping_sub(sec << SLOT_BITS));
        self.drop_fill(old);
    }

    /// The fill of next hop `nh` (made if there is none), for one more
    /// `fast` entry.
    fn take_fill(&mut self, nh: NextHop) -> *const u32 {
        if let Some(f) = self.fills.iter_mut().find(|f| f.0[0] == nh) {
            f.1 += 1;
            return f.0.as_ptr();
        }
        let f: Arc<[u32]> = vec![nh; SLOTS].into();
        let p = f.as_ptr();
        self.fills.push((f, 1));
        p
    }

    /// One `fast` entry less uses the direct entries at `p`: if they are a
    /// fill, and nothing else uses it, it goes.
    fn drop_fill(&mut self, p: *const u32) {
        if let Some(i) = self.fills.iter().position(|f| f.0.as_ptr() == p) {
            self.fills[i].1 -= 1;
            if self.fills[i].1 == 0 {
                self.fills.swap_remove(i);
            }
        }
    }

    /// For a route of length < 8 (insert, or removal painting its
    /// replacement): every /8 in its range whose default comes from a route
    /// of length `<= len` gets the default `(nh, depth)`.
    fn paint_sections(&mut self, prefix: u32, len: u8, nh: NextHop, depth: u8, sc: &mut Scratch) {
        let first = (prefix >> 24) as usize;
        for sec in first..first + (1 << (8 - len)) {
            if self.sections[sec].is_some() {
                self.section_mut(sec)
                    .paint(sec, 0..SLOTS, len, nh, depth, sc);
            } else if self.udepth[sec] <= len {
                self.top[sec].leaf = nh;
                self.udepth[sec] = depth;
            }
            self.refresh(sec);
        }
    }
}

/// Panics on a bad route (see [`Fib4::insert`]).
fn check(len: u8, nh: NextHop) {
    assert!(len <= 32, "IPv4 prefix length {len} > 32");
    assert!(nh <= MAX_NEXT_HOP, "next hop {nh:#x} > MAX_NEXT_HOP");
}

/// The slots (/18s) of its section that `prefix/len` (8 <= len <= 18)
/// covers, and their count.
fn slot_range(prefix: u32, len: u8) -> (std::ops::Range<usize>, usize) {
    let first = ((prefix >> (32 - DIRECT)) as usize) & (SLOTS - 1);
    let n = 1 << (DIRECT - len);
    (first..first + n, n)
}

/// Inserts or replaces in a list sorted by (prefix, length).
fn sorted_insert(v: &mut Vec<(u32, u8, NextHop)>, p: u32, len: u8, nh: NextHop) -> Option<NextHop> {
    match v.binary_search_by_key(&(p, len), |r| (r.0, r.1)) {
        Ok(i) => Some(std::mem::replace(&mut v[i].2, nh)),
        Err(i) => {
            v.insert(i, (p, len, nh));
            None
        }
    }
}

/// Removes from a list sorted by (prefix, length).
fn sorted_remove(v: &mut Vec<(u32, u8, NextHop)>, p: u32, len: u8) -> Option<NextHop> {
    let i = v.binary_search_by_key(&(p, len), |r| (r.0, r.1)).ok()?;
    Some(v.remove(i).2)
}

/// Exact match in a list sorted by (prefix, length).
fn sorted_get(v: &[(u32, u8, NextHop)], p: u32, len: u8) -> Option<NextHop> {
    let i = v.binary_search_by_key(&(p, len), |r| (r.0, r.1)).ok()?;
    Some(v[i].2)
}

/// The longest route in `v` (sorted) strictly shorter than `len` that
/// covers `prefix`, as (next hop, length).
fn covering(v: &[(u32, u8, NextHop)], prefix: u32, len: u8) -> Option<(NextHop, u8)> {
    if v.is_empty() {
        return None;
    }
    (0..len)
        .rev()
        .find_map(|l| sorted_get(v, prefix & mask(l), l).map(|nh| (nh, l)))
}
