//! Range blocks: the sparse ends of the IPv6 trie as sorted interval
//! starts, searched with a few SIMD compares (the idea of DXR, Zec et al.,
//! "DXR: Towards a Billion Routing Lookups per Second in Software", 2012).
//!
//! A range block holds every route below a prefix `P/d` whose routes end
//! within 32 more bits (lengths `d+1 ..= d+32`). Seen through the 32 bits
//! of the address after `P` (the *key*), those routes cut `0 .. 2^32` into
//! `m` intervals of constant answer; the block stores the starts of
//! intervals `1 .. m` (interval 0 starts at 0) and the answer of each:
//!
//! ```text
//!  class c = 0 ..= 3: n = 4 << c slots of keys, then n of answers
//!  (32, 64, 128, 256 bytes; class 0 in half a line, the others on lines)
//!  ┌─────────────────────────────────┬─────────────────────────────────┐
//!  │ start[m-1] .. start[1] ^ 2^31,  │ answer[m-1], .., answer[0],     │
//!  │ then 2^31 (never above a key)   │ then unused                     │
//!  └─────────────────────────────────┴─────────────────────────────────┘
//!    keys: the starts, as i32 after    answers, last interval first
//!    flipping the top bit
//! ```
//!
//! The answer for key `x` is number `k` of the answers, where `k` counts
//! the stored starts above `x`: a signed compare of the flipped values per
//! slot, 16 slots (a line) at a time, a mask and a popcount. A block of up
//! to 8 intervals is one line, of 16 two (keys, answers: fetched together),
//! of 32 four, of which a lookup reads three. Adjacent intervals with
//! equal answers are merged, so a /48 that has its /32's next hop costs
//! nothing; a /32 of the public table with its handful of more-specifics
//! (2 to 3 intervals per route) fits in one block.

use super::node::Route;

/// Largest number of intervals of a block (the slots of class 3).
pub(super) const MAX_INTERVALS: usize = 32;
/// Routes beyond which a subtree is not even tried as a range block (a
/// bound on build work; more routes rarely make 32 intervals).
const MAX_ROUTES: usize = 4 * MAX_INTERVALS;
/// Flips a key's top bit, so that unsigned order is signed order.
const FLIP: u32 = 1 << 31;

/// The 32 key bits of `addr` for a block at depth `depth < 128`: bits
/// `depth .. depth + 32`, the ones past 128 read as zero.
#[inline(always)]
pub(super) fn key(addr: u128, depth: u32) -> u32 {
    ((addr << depth) >> 96) as u32
}

/// The intervals of the routes below a prefix at `depth` (`routes`: all
/// inside it, sorted as [`Route`], may include routes of length `<=
/// depth`, which are ignored: `cover` is the answer they give) as (start
/// key, answer), into `out`. False (and `out` unspecified) if they do not
/// fit in a block: a route ends more than 32 bits below `depth`, or there
/// are more than [`MAX_INTERVALS`] intervals.
pub(super) fn intervals(
    depth: u32,
    routes: &[Route],
    cover: u32,
    out: &mut Vec<(u32, u32)>,
) -> bool {
    out.clear();
    if routes.len() > MAX_ROUTES {
        return false;
    }
    const END: u64 = 1 << 32;
    // Sets the answer from `at` on (replacing one set at the same start).
    let emit = |out: &mut Vec<(u32, u32)>, at: u64, v: u32| {
        if at >= END {
            return;
        }
        match out.last_mut() {
            Some(last) if u64::from(last.0) == at => last.1 = v,
            _ => out.push((at as u32, v)),
        }
    };
    out.push((0, cover));
    // The routes containing the current point: (end, answer), outermost
    // (the cover, to the end) first. Sorted order is containment order.
    let mut open: Vec<(u64, u32)> = vec![(END, cover)];
    for r in routes {
        let len = u32::from(r.len);
        if len <= depth {
            continue;
        }
        if len - depth > 32 {
            return false;
        }
        let start = u64::from(key(r.key, depth));
        let end = start + (1 << (32 - (len - depth)));
        while let Some(&(e, _)) = open.last() {
            if e > start {
                break;
            }
            open.pop();
            let v = open.last().map_or(cover, |o| o.1);
            emit(out, e, v);
        }
        emit(out, start, r.nh);
        open.push((end, r.nh));
        if out.len() > 2 * MAX_INTERVALS {
            return false;
        }
    }
    while open.len() > 1 {
        let (e, _) = open.pop().unwrap_or((END, cover));
        let v = open.last().map_or(cover, |o| o.1);
        emit(out, e, v);
    }
    out.dedup_by_key(|iv| iv.1);
    out.len() <= MAX_INTERVALS
}

/// The class (0 ..= 3: 4, 8, 16 or 32 slots) of a block of `m` intervals
/// (`1 ..= MAX_INTERVALS`).
#[inline]
pub(super) fn class_of(m: usize) -> u32 {
    debug_assert!((1..=MAX_INTERVALS).contains(&m));
    match m {
        0..=4 => 0,
        5..=8 => 1,
        9..=16 => 2,
        _ => 3,
    }
}

/// Slots of a block of class `class`.
#[inline(always)]
pub(super) const fn slots(class: u32) -> usize {
    4 << class
}

/// Writes the block of `ivs` (from [`intervals`]) with `slots(class)`
/// slots to `out` (`2 * slots` words).
pub(super) fn encode(ivs: &[(u32, u32)], class: u32, out: &mut [u32]) {
    let n = slots(class);
    debug_assert!(ivs.len() <= n && out.len() == 2 * n);
    let m = ivs.len();
    let (keys, answers) = out.split_at_mut(n);
    keys.fill(FLIP);
    for (k, iv) in ivs[1..].iter().rev().enumerate() {
        keys[k] = iv.0 ^ FLIP;
    }
    answers.fill(ivs[0].1);
    for (k, iv) in ivs.iter().rev().enumerate() {
        answers[k] = iv.1;
    }
    debug_assert!(m >= 1);
}

/// Vector instructions for the key compares: SSE2 (any x86-64), AVX2
/// or AVX-512 (F and BW), chosen at run time by [`simd`].
pub(super) const SSE2: u8 = 0;
/// See [`SSE2`].
pub(super) const AVX2: u8 = 1;
/// See [`SSE2`].
pub(super) const AVX512: u8 = 2;

/// The best of [`SSE2`], [`AVX2`] and [`AVX512`] this CPU has (and
/// `SSE2`, meaning scalar code, off x86-64).
#[inline(always)]
pub(super) fn simd() -> u8 {
    use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
    /// The answer, once known (`u8::MAX` before).
    static LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);
    #[cold]
    fn detect() -> u8 {
        let level = [AVX512, AVX2, SSE2]
            .into_iter()
            .find(|&l| supported(l))
            .unwrap_or(SSE2);
        LEVEL.store(level, Relaxed);
        level
    }
    match LEVEL.load(Relaxed) {
        u8::MAX => detect(),
        level => level,
    }
}

/// True if this CPU can run the code of `level`: [`AVX2`] and [`AVX512`]
/// include `popcnt` and, for `AVX512`, AVX2 (the functions compiled for
/// them enable these too).
#[inline(always)]
pub(super) fn supported(level: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        match level {
            SSE2 => true,
            AVX2 => has!("popcnt") && has!("avx2"),
            _ => has!("popcnt") && has!("avx2") && has!("avx512f") && has!("avx512bw"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        level == SSE2
    }
}

/// The answer of the block of class `class` at `blk` for key `x`, with
/// the compares of level `L` ([`SSE2`], [`AVX2`], [`AVX512`]).
///
/// # Safety
///
/// `blk` must point to a block written by [`encode`] for this class, at
/// a 32-byte boundary (64-byte for classes 1 ..= 3) of memory whose whole
/// cache line (64 bytes) is readable; the CPU must have the instructions
/// of level `L`.
#[inline(always)]
pub(super) unsafe fn lookup<const L: u8>(blk: *const u32, class: u32, x: u32) -> u32 {
    // The keys are compared a line at a time: the block's first line,
    // where a class-0 block takes one half (slots 0..4 or 8..12), and for
    // class 3 the second line (else the first again, its result unused:
    // no branch to mispredict). What to count per class and half line:
    // (first line's slots, second line's slots, second line's offset in
    // words, where the answers start).
    const fn desc(first: u16, second: u16, at: u64, answers: u64) -> u64 {
        first as u64 | (second as u64) << 16 | at << 32 | answers << 40
    }
    const DESC: [u64; 8] = [
        desc(0x000f, 0, 0, 4),
        desc(0x00ff, 0, 0, 8),
        desc(0xffff, 0, 0, 16),
        desc(0xffff, 0xffff, 16, 32),
        desc(0x0f00, 0, 0, 4),
        desc(0x00ff, 0, 0, 8),
        desc(0xffff, 0, 0, 16),
        desc(0xffff, 0xffff, 16, 32),
    ];
    let half = (blk as usize >> 5) & 1;
    let d = DESC[class as usize & 3 | half << 2];
    let line = blk.sub(half * 8);
    let x = (x ^ FLIP) as i32;
    let first = above16::<L>(line, x) & d as u32 & 0xffff;
    let second = above16::<L>(line.add((d >> 32) as u8 as usize), x) & (d >> 16) as u32 & 0xffff;
    let k = (first.count_ones() + second.count_ones()) as usize;
    *blk.add((d >> 40) as usize + k)
}

/// Bit `i` set if word `i` of the line at `line` is above `x` (both as
/// flipped keys).
///
/// # Safety
///
/// `line` must be 64-byte aligned and readable for 64 bytes; the CPU must
/// have the instructions of level `L`.
#[inline(always)]
unsafe fn above16<const L: u8>(line: *const u32, x: i32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        if L == AVX512 {
            let keys = _mm512_load_si512(line.cast());
            return u32::from(_mm512_cmpgt_epi32_mask(keys, _mm512_set1_epi32(x)));
        }
        if L == AVX2 {
            let xv = _mm256_set1_epi32(x);
            let p = line.cast::<__m256i>();
            let gt = |i: usize| {
                let c = _mm256_cmpgt_epi32(_mm256_load_si256(p.add(i)), xv);
                _mm256_movemask_ps(_mm256_castsi256_ps(c)) as u32
            };
            return gt(0) | gt(1) << 8;
        }
        let xv = _mm_set1_epi32(x);
        let p = line.cast::<__m128i>();
        let gt = |i: usize| {
            let c = _mm_cmpgt_epi32(_mm_load_si128(p.add(i)), xv);
            _mm_movemask_ps(_mm_castsi128_ps(c)) as u32
        };
        gt(0) | gt(1) << 4 | gt(2) << 8 | gt(3) << 12
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (0..16).fold(0, |m, i| m | u32::from(*line.add(i) as i32 > x) << i)
    }
}
