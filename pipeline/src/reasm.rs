//! IPv4 reassembly (RFC 791 §3.2, RFC 815's contiguity test) of fragments
//! addressed to the router, with bounded memory and a timeout: what a
//! tunnel end needs when the far end fragments outer packets.
//!
//! A worker keeps at most [`REASM_SLOTS`] datagrams in progress, each of
//! at most [`REASM_FRAGS`] fragments, held as the packet buffers they
//! arrived in (nothing is allocated or copied until the datagram is
//! complete). A datagram is identified by (VRF, source, destination,
//! protocol, identification) (RFC 791 §3.2). It fails, and every fragment
//! held for it is dropped and counted (`reassembly-failed`), when:
//!
//! - a fragment overlaps one already held (RFC 5722's rule, which RFC
//!   8900 §3.7 recommends for IPv4 as well: overlaps are only ever
//!   attacks or bugs);
//! - it has more fragments than [`REASM_FRAGS`], a non-final fragment's
//!   data is not a multiple of 8 bytes, two final fragments disagree on
//!   the length, or the whole is larger than the first fragment's buffer
//!   can hold;
//! - it is the oldest in progress when a new datagram needs a slot.
//!
//! A datagram still incomplete [`REASM_TIMEOUT`] after its first fragment
//! arrived is dropped (`reassembly-timeout`), checked whenever a fragment
//! arrives. When it is complete, the data of the fragments is appended,
//! in order, to the first one (offset 0, whose header and options the
//! datagram keeps), its header is rewritten (total length, no MF, offset
//! 0, checksum) and the other buffers are freed.

use crate::counters::{DropReason, WorkerCounters};
use crate::ipv4::{be16, ETH_LEN};
use crate::wire::checksum;
use arrayvec::ArrayVec;
use pmd::Buf;
use std::time::Duration;

/// Datagrams in reassembly at once, per worker.
pub const REASM_SLOTS: usize = 32;
/// Fragments per datagram (a 9000-byte datagram over a 1500-byte path
/// takes 7).
pub const REASM_FRAGS: usize = 8;
/// How long a datagram may take to arrive whole (Linux's default
/// `ipfrag_time`; RFC 791 suggests starting at 15 s).
pub const REASM_TIMEOUT: Duration = Duration::from_secs(30);

/// (VRF, source, destination, protocol, identification).
type Key = (u16, u32, u32, u8, u16);

struct Slot<B> {
    key: Option<Key>,
    /// TSC after which the datagram is dropped.
    deadline: u64,
    /// Held fragments with their (offset, data length).
    frags: ArrayVec<(B, usize, usize), REASM_FRAGS>,
    /// Data bytes held.
    have: usize,
    /// Data length of the whole datagram, once the last fragment came.
    total: Option<usize>,
}

impl<B> Slot<B> {
    fn free() -> Self {
        Slot {
            key: None,
            deadline: 0,
            frags: ArrayVec::new(),
            have: 0,
            total: None,
        }
    }

    /// Drop the datagram, counting its fragments as `reason`.
    fn fail(&mut self, counters: &WorkerCounters, reason: DropReason) {
        for _ in self.frags.drain(..) {
            counters.count_drop(reason);
        }
        *self = Slot::free();
    }
}

/// What [`Reassembly::insert`] did with a fragment.
pub(crate) enum Reasm<B> {
    /// The datagram is complete: here it is, as one frame.
    Done(B),
    /// The fragment is held until the rest arrives (or the datagram
    /// fails, when it is counted as dropped).
    Held,
}

/// A worker's datagrams in reassembly.
pub(crate) struct Reassembly<B> {
    slots: Box<[Slot<B>]>,
    timeout: u64,
}

impl<B: Buf> Reassembly<B> {
    /// Empty, with room for [`REASM_SLOTS`] datagrams.
    pub fn new() -> Self {
        Reassembly {
            slots: (0..REASM_SLOTS).map(|_| Slot::free()).collect(),
            timeout: pmd::tsc::ns_to_cycles(REASM_TIMEOUT.as_nanos() as u64),
        }
    }

    /// Fragments held now.
    pub fn held(&self) -> usize {
        self.slots.iter().map(|s| s.frags.len()).sum()
    }

    /// Take fragment `p` (a frame: Ethernet header, then exactly the
    /// IPv4 fragment, checked by the classifier) that arrived for the
    /// router in `vrf` at TSC `now`.
    pub fn insert(&mut self, p: B, vrf: u16, now: u64, counters: &WorkerCounters) -> Reasm<B> {
        for s in self.slots.iter_mut() {
            if s.key.is_some() && s.deadline < now {
                s.fail(counters, DropReason::ReassemblyTimeout);
            }
        }
        let d = p.data();
        let ip = &d[ETH_LEN..];
        let hl = usize::from(ip[0] & 0x0f) * 4;
        let n = usize::from(be16(ip, 2)) - hl;
        let fo = be16(ip, 6);
        let (mf, off) = (fo & 0x2000 != 0, usize::from(fo & 0x1fff) * 8);
        let key: Key = (
            vrf,
            u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]),
            u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]),
            ip[9],
            be16(ip, 4),
        );
        let i = match self.slots.iter().position(|s| s.key == Some(key)) {
            Some(i) => i,
            None => {
                let i = match self.slots.iter().position(|s| s.key.is_none()) {
                    Some(i) => i,
                    None => {
                        // Full: the oldest datagram gives way.
                        let (i, _) = self
                            .slots
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, s)| s.deadline)
                            .expect("REASM_SLOTS > 0");
                        self.slots[i].fail(counters, DropReason::ReassemblyFailed);
                        i
                    }
                };
                let s = &mut self.slots[i];
                s.key = Some(key);
                s.deadline = now.saturating_add(self.timeout);
                i
            }
        };
        let s = &mut self.slots[i];
        let bad = n == 0
            || (mf && n % 8 != 0)
            || off + n > 65_535 - 20
            || s.frags.is_full()
            || s.frags.iter().any(|&(_, o, l)| off < o + l && o < off + n)
            || (!mf && s.total.is_some_and(|t| t != off + n))
            || s.total.is_some_and(|t| off + n > t);
        if bad {
            counters.count_drop(DropReason::ReassemblyFailed);
            s.fail(counters, DropReason::ReassemblyFailed);
            return Reasm::Held;
        }
        if !mf {
            s.total = Some(off + n);
        }
        s.have += n;
        s.frags.push((p, off, n));
        if s.total != Some(s.have) {
            return Reasm::Held;
        }
        // Complete and contiguous: no overlaps, and the lengths add up.
        let total = s.have;
        let mut frags = std::mem::take(&mut s.frags);
        *s = Slot::free();
        frags.sort_unstable_by_key(|&(_, o, _)| o);
        let mut it = frags.into_iter();
        let (mut first, _, _) = it.next().expect("a complete datagram has fragments");
        let hl = usize::from(first.data()[ETH_LEN] & 0x0f) * 4;
        let first_len = ETH_LEN + hl;
        if first.tailroom() + first.len() < first_len + total {
            counters.count_drop(DropReason::ReassemblyFailed);
            for _ in it {
                counters.count_drop(DropReason::ReassemblyFailed);
            }
            return Reasm::Held;
        }
        for (f, _, l) in it {
            let fd = f.data();
            let fhl = usize::from(fd[ETH_LEN] & 0x0f) * 4;
            let src = &fd[ETH_LEN + fhl..ETH_LEN + fhl + l];
            first.append(l).expect("room checked").copy_from_slice(src);
            counters.reassembled.add(1);
        }
        let ip = &mut first.data_mut()[ETH_LEN..];
        ip[2..4].copy_from_slice(&((hl + total) as u16).to_be_bytes());
        let df = be16(ip, 6) & 0x4000;
        ip[6..8].copy_from_slice(&df.to_be_bytes());
        ip[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&ip[..hl]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        Reasm::Done(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frag::fragment;
    use crate::testing;
    use pmd::{Burst, Mbuf, NativePool, Pool};
    use std::net::Ipv4Addr;

    /// A DF-clear UDP frame of `payload` bytes with identification `id`.
    fn frame(payload: usize, id: u16) -> Vec<u8> {
        let mut f = testing::udp(
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            64,
            payload,
        );
        f[ETH_LEN + 4..ETH_LEN + 6].copy_from_slice(&id.to_be_bytes());
        f[ETH_LEN + 6] = 0;
        f[ETH_LEN + 10..ETH_LEN + 12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&f[ETH_LEN..ETH_LEN + 20]);
        f[ETH_LEN + 10..ETH_LEN + 12].copy_from_slice(&c.to_be_bytes());
        f
    }

    fn frags(pool: &NativePool, f: &[u8], mtu: u16) -> Vec<Mbuf> {
        let mut p = pool.alloc().unwrap();
        p.append(f.len()).unwrap().copy_from_slice(f);
        let mut out: Burst<Mbuf> = Burst::new();
        fragment(pool, p, mtu, &mut out).unwrap();
        out.into_iter().collect()
    }

    #[test]
    fn in_any_order_the_datagram_comes_back_whole() {
        let pool = NativePool::new(256, 2048).unwrap();
        let c = WorkerCounters::default();
        let mut r: Reassembly<Mbuf> = Reassembly::new();
        let f = frame(1400, 7);
        for order in [[0usize, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let mut fs: Vec<Option<Mbuf>> = frags(&pool, &f, 576).into_iter().map(Some).collect();
            assert_eq!(fs.len(), 3);
            let mut done = None;
            for (k, &i) in order.iter().enumerate() {
                match r.insert(fs[i].take().unwrap(), 0, 1, &c) {
                    Reasm::Done(p) => {
                        assert_eq!(k, 2, "complete only with the last");
                        done = Some(p);
                    }
                    Reasm::Held => assert!(k < 2),
                }
            }
            let d = done.unwrap();
            assert_eq!(d.data(), &f[..], "{order:?}");
            assert!(testing::ipv4_checksum_ok(&d.data()[ETH_LEN..]));
            assert_eq!(r.held(), 0);
        }
        assert_eq!(c.read().reassembled, 4 * 2);
        assert_eq!(c.read().total_drops(), 0);
    }

    #[test]
    fn overlaps_and_duplicates_fail_the_datagram() {
        let pool = NativePool::new(256, 2048).unwrap();
        let c = WorkerCounters::default();
        let mut r: Reassembly<Mbuf> = Reassembly::new();
        let f = frame(1400, 8);
        let mut fs = frags(&pool, &f, 576).into_iter();
        let first = fs.next().unwrap();
        let dup = {
            let mut p = pool.alloc().unwrap();
            p.append(first.len()).unwrap().copy_from_slice(first.data());
            p
        };
        assert!(matches!(r.insert(first, 0, 1, &c), Reasm::Held));
        assert!(matches!(r.insert(dup, 0, 1, &c), Reasm::Held));
        assert_eq!(c.read().dropped(DropReason::ReassemblyFailed), 2);
        assert_eq!(r.held(), 0);
        // The rest can no longer complete it.
        for p in fs {
            assert!(matches!(r.insert(p, 0, 1, &c), Reasm::Held));
        }
        assert_eq!(r.held(), 2);
    }

    #[test]
    fn incomplete_datagrams_time_out_and_the_table_is_bounded() {
        let pool = NativePool::new(1024, 2048).unwrap();
        let c = WorkerCounters::default();
        let mut r: Reassembly<Mbuf> = Reassembly::new();
        // One fragment each of REASM_SLOTS + 5 datagrams: the five oldest
        // are evicted.
        for id in 0..(REASM_SLOTS + 5) as u16 {
            let first = frags(&pool, &frame(1400, id), 576)
                .into_iter()
                .next()
                .unwrap();
            assert!(matches!(
                r.insert(first, 0, 10 + u64::from(id), &c),
                Reasm::Held
            ));
        }
        assert_eq!(r.held(), REASM_SLOTS);
        assert_eq!(c.read().dropped(DropReason::ReassemblyFailed), 5);
        // Past the deadline, the next fragment's arrival expires them all.
        let late = r.timeout + 1000;
        let first = frags(&pool, &frame(100, 999), 68)
            .into_iter()
            .next()
            .unwrap();
        assert!(matches!(r.insert(first, 0, late, &c), Reasm::Held));
        assert_eq!(
            c.read().dropped(DropReason::ReassemblyTimeout),
            REASM_SLOTS as u64
        );
        assert_eq!(r.held(), 1);
    }

    #[test]
    fn inconsistent_fragments_fail() {
        let pool = NativePool::new(256, 2048).unwrap();
        let c = WorkerCounters::default();
        let mut r: Reassembly<Mbuf> = Reassembly::new();
        // Too many fragments: 1400 bytes at MTU 68 is 30.
        let fs = frags(&pool, &frame(1400, 3), 68);
        assert!(fs.len() > REASM_FRAGS);
        for p in fs {
            assert!(matches!(r.insert(p, 0, 1, &c), Reasm::Held));
        }
        assert!(c.read().dropped(DropReason::ReassemblyFailed) > 0);
        // Different VRFs do not mix.
        let f = frame(1000, 4);
        let mut fs = frags(&pool, &f, 576).into_iter();
        assert!(matches!(
            r.insert(fs.next().unwrap(), 1, 1, &c),
            Reasm::Held
        ));
        assert!(matches!(
            r.insert(fs.next().unwrap(), 2, 1, &c),
            Reasm::Held
        ));
    }
}
