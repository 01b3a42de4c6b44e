//! The authoritative prefix list beside the trie.
//!
//! The trie only knows, per slot, the next hop and the length of the prefix
//! that wrote it. Which prefixes exist, and which one takes over a range when
//! a prefix is removed, is answered here: one hash map per prefix length,
//! keyed by the (masked) prefix. Eight bytes per entry, and the search for
//! the next-shorter covering prefix skips the lengths that hold nothing.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use super::{mask, NextHop};

/// Number of distinct prefix lengths (0..=32).
const LENGTHS: usize = 33;

/// The set of `(prefix, length) → next hop` routes of one table.
#[derive(Clone)]
pub(super) struct PrefixSet {
    /// `by_len[l]`: the routes of length `l`, keyed by masked prefix.
    by_len: [HashMap<u32, NextHop, KeyState>; LENGTHS],
    /// Total number of routes.
    len: usize,
}

impl PrefixSet {
    /// An empty set (allocates nothing).
    pub(super) fn new() -> Self {
        let state = KeyState::new();
        PrefixSet {
            by_len: std::array::from_fn(|_| HashMap::with_hasher(state.clone())),
            len: 0,
        }
    }

    /// Number of prefixes.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Exact-match read. `prefix` must already be masked to `len <= 32`.
    pub(super) fn get(&self, prefix: u32, len: u8) -> Option<NextHop> {
        self.by_len[usize::from(len)].get(&prefix).copied()
    }

    /// Inserts or replaces; returns the replaced next hop.
    pub(super) fn insert(&mut self, prefix: u32, len: u8, nh: NextHop) -> Option<NextHop> {
        let old = self.by_len[usize::from(len)].insert(prefix, nh);
        self.len += usize::from(old.is_none());
        old
    }

    /// Removes a prefix; returns its next hop. Gives memory back to the
    /// allocator once a map is mostly empty (amortized: it must have lost
    /// three quarters of its capacity since it last grew or shrank).
    pub(super) fn remove(&mut self, prefix: u32, len: u8) -> Option<NextHop> {
        let map = &mut self.by_len[usize::from(len)];
        let old = map.remove(&prefix)?;
        self.len -= 1;
        if map.len() * 4 < map.capacity() {
            map.shrink_to(map.len() * 2);
        }
        Some(old)
    }

    /// The longest prefix strictly shorter than `len` that covers `prefix`,
    /// as `(next hop, its length)`.
    pub(super) fn covering(&self, prefix: u32, len: u8) -> Option<(NextHop, u8)> {
        (0..len)
            .rev()
            .filter(|&l| !self.by_len[usize::from(l)].is_empty())
            .find_map(|l| self.get(prefix & mask(l), l).map(|nh| (nh, l)))
    }

    /// All routes, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, u8, NextHop)> + '_ {
        self.by_len
            .iter()
            .zip(0u8..)
            .flat_map(|(map, len)| map.iter().map(move |(&p, &nh)| (p, len, nh)))
    }

    /// Approximate heap bytes of the maps: hashbrown keeps a power of two of
    /// buckets at most 7/8 full, each a `(key, value)` pair plus one control
    /// byte.
    pub(super) fn memory_bytes(&self) -> usize {
        self.by_len
            .iter()
            .map(|map| match map.capacity() {
                0 => 0,
                cap => {
                    let buckets = (cap * 8 / 7).next_power_of_two();
                    buckets * (std::mem::size_of::<(u32, NextHop)>() + 1)
                }
            })
            .sum()
    }
}

/// Builds [`KeyHasher`]s with a per-table random seed, so that the bucket a
/// prefix lands in cannot be predicted from outside.
#[derive(Clone)]
struct KeyState {
    seed: u64,
}

impl KeyState {
    fn new() -> Self {
        KeyState {
            seed: RandomState::new().hash_one(0x5eed_u64) | 1,
        }
    }
}

impl BuildHasher for KeyState {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.seed)
    }
}

/// A one-multiply hasher for the `u32` keys of the maps: a 64×64→128-bit
/// product folded back to 64 bits mixes every key bit into both the low bits
/// (bucket index) and the high bits (control tag) that the map uses. Much
/// cheaper than SipHash, which matters for the insert rate.
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u32(&mut self, k: u32) {
        self.write_u64(u64::from(k));
    }

    #[inline]
    fn write_u64(&mut self, k: u64) {
        const K: u128 = 0x9e37_79b9_7f4a_7c15;
        let m = u128::from(k ^ self.0) * K;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}
