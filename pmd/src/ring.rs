//! A bounded single-producer single-consumer ring moving whole bursts.
//!
//! Like DPDK's `rte_ring` in SP/SC mode: the producer and the consumer each
//! own one index and publish it once per burst, so a burst of 32 packets
//! costs two atomic stores, not 32 compare-and-swaps.

use crossbeam_utils::CachePadded;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Shared<T> {
    head: CachePadded<AtomicUsize>, // next slot to read (consumer)
    tail: CachePadded<AtomicUsize>, // next slot to write (producer)
    mask: usize,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: slots between head and tail belong to the consumer, the others to
// the producer; indices are published with release/acquire.
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        let (mut h, t) = (*self.head.get_mut(), *self.tail.get_mut());
        while h != t {
            // SAFETY: slots in [head, tail) are initialised.
            unsafe { (*self.slots[h & self.mask].get()).assume_init_drop() };
            h = h.wrapping_add(1);
        }
    }
}

/// The writing end of a ring.
pub struct Producer<T> {
    s: Arc<Shared<T>>,
}

/// The reading end of a ring.
pub struct Consumer<T> {
    s: Arc<Shared<T>>,
}

/// Create a ring holding up to `capacity` items (rounded up to a power of
/// two).
pub fn ring<T: Send>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let cap = capacity.max(2).next_power_of_two();
    let s = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        mask: cap - 1,
        slots: (0..cap)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect(),
    });
    (Producer { s: s.clone() }, Consumer { s })
}

impl<T: Send> Producer<T> {
    /// Move items from `items` into the ring, in order, as many as fit;
    /// returns how many were moved (they are removed from `items`' front,
    /// the rest stay).
    pub fn enqueue<const N: usize>(&mut self, items: &mut arrayvec::ArrayVec<T, N>) -> usize {
        let s = &*self.s;
        let tail = s.tail.load(Ordering::Relaxed);
        let head = s.head.load(Ordering::Acquire);
        let free = s.mask + 1 - tail.wrapping_sub(head);
        let n = free.min(items.len());
        for (i, item) in items.drain(..n).enumerate() {
            // SAFETY: slot is free (outside [head, tail)), only we write it.
            unsafe { (*s.slots[tail.wrapping_add(i) & s.mask].get()).write(item) };
        }
        s.tail.store(tail.wrapping_add(n), Ordering::Release);
        n
    }

    /// Move one item in; gives it back if the ring is full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        let s = &*self.s;
        let tail = s.tail.load(Ordering::Relaxed);
        if tail.wrapping_sub(s.head.load(Ordering::Acquire)) > s.mask {
            return Err(item);
        }
        // SAFETY: as in `enqueue`.
        unsafe { (*s.slots[tail & s.mask].get()).write(item) };
        s.tail.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Capacity in items.
    pub fn capacity(&self) -> usize {
        self.s.mask + 1
    }
}

impl<T: Send> Consumer<T> {
    /// Move up to `out`'s spare capacity of items out of the ring; returns
    /// how many were appended.
    pub fn dequeue<const N: usize>(&mut self, out: &mut arrayvec::ArrayVec<T, N>) -> usize {
        let s = &*self.s;
        let head = s.head.load(Ordering::Relaxed);
        let tail = s.tail.load(Ordering::Acquire);
        let n = tail.wrapping_sub(head).min(out.remaining_capacity());
        for i in 0..n {
            // SAFETY: slot is in [head, tail): initialised, ours to take.
            let item =
                unsafe { (*s.slots[head.wrapping_add(i) & s.mask].get()).assume_init_read() };
            out.push(item);
        }
        s.head.store(head.wrapping_add(n), Ordering::Release);
        n
    }

    /// Take one item.
    pub fn pop(&mut self) -> Option<T> {
        let s = &*self.s;
        let head = s.head.load(Ordering::Relaxed);
        if head == s.tail.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: as in `dequeue`.
        let item = unsafe { (*s.slots[head & s.mask].get()).assume_init_read() };
        s.head.store(head.wrapping_add(1), Ordering::Release);
        Some(item)
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        let s = &*self.s;
        s.tail
            .load(Ordering::Acquire)
            .wrapping_sub(s.head.load(Ordering::Relaxed))
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrayvec::ArrayVec;

    #[test]
    fn fifo_and_full() {
        let (mut p, mut c) = ring::<u32>(4);
        let mut a: ArrayVec<u32, 8> = (0..6).collect();
        assert_eq!(p.enqueue(&mut a), 4);
        assert_eq!(a.as_slice(), &[4, 5]);
        assert!(p.push(9).is_err());
        let mut out: ArrayVec<u32, 3> = ArrayVec::new();
        assert_eq!(c.dequeue(&mut out), 3);
        assert_eq!(out.as_slice(), &[0, 1, 2]);
        assert_eq!(c.pop(), Some(3));
        assert_eq!(c.pop(), None);
    }

    #[test]
    fn threads_keep_order_and_drop_leftovers() {
        let (mut p, mut c) = ring::<Box<u64>>(64);
        let t = std::thread::spawn(move || {
            let mut next = 0u64;
            while next < 100_000 {
                let mut b: ArrayVec<Box<u64>, 32> = ArrayVec::new();
                while !b.is_full() && next + (b.len() as u64) < 100_000 {
                    b.push(Box::new(next + b.len() as u64));
                }
                let want = b.len();
                let mut sent = 0;
                while sent < want {
                    sent += p.enqueue(&mut b);
                }
                next += want as u64;
            }
            p.push(Box::new(7)).unwrap();
        });
        let mut expect = 0u64;
        while expect < 100_000 {
            let mut out: ArrayVec<Box<u64>, 32> = ArrayVec::new();
            c.dequeue(&mut out);
            for v in out {
                assert_eq!(*v, expect);
                expect += 1;
            }
        }
        t.join().unwrap();
        assert_eq!(c.len(), 1); // left in the ring, freed on drop
    }
}
