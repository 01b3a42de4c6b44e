//! The authoritative prefix list beside the trie.
//!
//! The trie only knows, per slot, the next hop and the length of the prefix
//! that wrote it. Which prefixes exist, and which one takes over a range when
//! a prefix is removed, is answered here: one hash map keyed by
//! `(prefix, length)` plus a count of prefixes per length, so that the search
//! for the next-shorter covering prefix skips lengths that hold nothing.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use super::{mask, NextHop};

/// Number of distinct prefix lengths (0..=32).
const LENGTHS: usize = 33;

/// The set of `(prefix, length) → next hop` routes of one table.
#[derive(Clone)]
pub(super) struct PrefixSet {
    map: HashMap<u64, NextHop, KeyState>,
    per_len: [u32; LENGTHS],
}

/// Map key: the (already masked) prefix in the high bits, the length in the
/// low byte.
#[inline]
fn key(prefix: u32, len: u8) -> u64 {
    (u64::from(prefix) << 8) | u64::from(len)
}

impl PrefixSet {
    /// An empty set.
    pub(super) fn new() -> Self {
        PrefixSet {
            map: HashMap::with_hasher(KeyState::new()),
            per_len: [0; LENGTHS],
        }
    }

    /// Number of prefixes.
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Exact-match read. `prefix` must already be masked to `len`.
    pub(super) fn get(&self, prefix: u32, len: u8) -> Option<NextHop> {
        self.map.get(&key(prefix, len)).copied()
    }

    /// Inserts or replaces; returns the replaced next hop.
    pub(super) fn insert(&mut self, prefix: u32, len: u8, nh: NextHop) -> Option<NextHop> {
        let old = self.map.insert(key(prefix, len), nh);
        if old.is_none() {
            self.per_len[usize::from(len)] += 1;
        }
        old
    }

    /// Removes a prefix; returns its next hop. Gives memory back to the
    /// allocator once the map is mostly empty.
    pub(super) fn remove(&mut self, prefix: u32, len: u8) -> Option<NextHop> {
        let old = self.map.remove(&key(prefix, len))?;
        self.per_len[usize::from(len)] -= 1;
        let (n, cap) = (self.map.len(), self.map.capacity());
        if n * 4 < cap {
            self.map.shrink_to(n * 2);
        }
        Some(old)
    }

    /// The longest prefix strictly shorter than `len` that covers `prefix`,
    /// as `(next hop, its length)`.
    pub(super) fn covering(&self, prefix: u32, len: u8) -> Option<(NextHop, u8)> {
        (0..len)
            .rev()
            .filter(|&l| self.per_len[usize::from(l)] != 0)
            .find_map(|l| self.get(prefix & mask(l), l).map(|nh| (nh, l)))
    }

    /// All routes, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, u8, NextHop)> + '_ {
        self.map
            .iter()
            .map(|(&k, &nh)| ((k >> 8) as u32, k as u8, nh))
    }

    /// Approximate heap bytes of the map: hashbrown keeps a power of two of
    /// buckets at most 7/8 full, each a `(key, value)` pair plus one control
    /// byte.
    pub(super) fn memory_bytes(&self) -> usize {
        let cap = self.map.capacity();
        if cap == 0 {
            return 0;
        }
        let buckets = (cap * 8 / 7).next_power_of_two();
        buckets * (std::mem::size_of::<(u64, NextHop)>() + 1)
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

/// A one-multiply hasher for the `u64` keys of the map: a 64×64→128-bit
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
