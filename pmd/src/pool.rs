//! The native packet pool: one preallocated arena of fixed-size buffers.
//!
//! Each slot is a 64-byte header (owner pool, data offset, length, [`Meta`])
//! followed by the headroom and the data room:
//!
//! ```text
//!  slot i:  +--------+----------+------------------------+
//!           | MbufHdr| HEADROOM |  data room (2048 def.) |
//!           +--------+----------+------------------------+
//!           0        64         64+128
//! ```
//!
//! The arena is one anonymous mapping advised for transparent huge pages
//! (TLB misses cost packet I/O dearly). Free buffers sit in a lock-free ring
//! shared by all threads, fronted by a cache per lcore id (as DPDK's mempool
//! cache), so a worker allocates and frees without atomics on the fast path.

use crate::buf::{Buf, Burst, Meta, Pool, HEADROOM};
use crate::lcore;
use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Default data room: a 1518-byte frame plus slack for a few tags.
pub const DEFAULT_DATA_ROOM: usize = 2048;
const HDR_SIZE: usize = 64;
const CACHE_SIZE: usize = 512;
const CACHE_BATCH: usize = 256;

#[repr(C, align(64))]
struct MbufHdr {
    pool: *const PoolInner,
    data_off: u16,
    data_len: u16,
    _pad: u32,
    meta: Meta,
}

const _: () = assert!(std::mem::size_of::<MbufHdr>() == HDR_SIZE);

struct Cache {
    len: usize,
    objs: [usize; CACHE_SIZE],
}

struct PoolInner {
    arena: *mut u8,
    arena_len: usize,
    slot_size: usize,
    data_room: usize,
    count: usize,
    ring: ArrayQueue<usize>,
    caches: Box<[CachePadded<UnsafeCell<Cache>>]>,
    /// Buffers outside the ring (in use or in an lcore cache).
    out_of_ring: AtomicUsize,
}

// SAFETY: the arena is only reached through `Mbuf`s (single owner) and the
// lock-free ring; each lcore cache is only touched by the one thread holding
// that lcore id (see `lcore`).
unsafe impl Send for PoolInner {}
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // Unmap only when every buffer is home; otherwise an Mbuf may still
        // point into the arena, so it is leaked rather than freed.
        if self.out_of_ring.load(Ordering::Acquire) == 0 {
            // SAFETY: arena was mapped with this length in `NativePool::new`.
            unsafe { libc::munmap(self.arena as *mut libc::c_void, self.arena_len) };
        }
    }
}

impl PoolInner {
    #[inline]
    #[allow(clippy::mut_from_ref)] // one thread per lcore id: see `lcore`
    fn cache(&self) -> Option<&mut Cache> {
        let id = lcore::id()?;
        // SAFETY: only the thread holding lcore `id` reaches this cache.
        self.caches.get(id).map(|c| unsafe { &mut *c.get() })
    }

    #[inline]
    fn get(&self) -> Option<NonNull<MbufHdr>> {
        let addr = match self.cache() {
            Some(c) => {
                if c.len == 0 {
                    let mut n = 0;
                    while n < CACHE_BATCH {
                        match self.ring.pop() {
                            Some(a) => {
                                c.objs[n] = a;
                                n += 1;
                            }
                            None => break,
                        }
                    }
                    self.out_of_ring.fetch_add(n, Ordering::Relaxed);
                    c.len = n;
                    if n == 0 {
                        return None;
                    }
                }
                c.len -= 1;
                c.objs[c.len]
            }
            None => {
                let a = self.ring.pop()?;
                self.out_of_ring.fetch_add(1, Ordering::Relaxed);
                a
            }
        };
        NonNull::new(addr as *mut MbufHdr)
    }

    #[inline]
    fn put(&self, hdr: NonNull<MbufHdr>) {
        let addr = hdr.as_ptr() as usize;
        match self.cache() {
            Some(c) => {
                if c.len == CACHE_SIZE {
                    self.spill(c, CACHE_BATCH);
                }
                c.objs[c.len] = addr;
                c.len += 1;
            }
            None => {
                // The ring holds every buffer, so it cannot be full here.
                let _ = self.ring.push(addr);
                self.out_of_ring.fetch_sub(1, Ordering::Release);
            }
        }
    }

    fn spill(&self, c: &mut Cache, n: usize) {
        let n = n.min(c.len);
        for _ in 0..n {
            c.len -= 1;
            let _ = self.ring.push(c.objs[c.len]);
        }
        self.out_of_ring.fetch_sub(n, Ordering::Release);
    }
}

/// A handle to a native packet pool.
#[derive(Clone)]
pub struct NativePool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for NativePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativePool")
            .field("count", &self.inner.count)
            .field("data_room", &self.inner.data_room)
            .field("available", &self.available())
            .finish()
    }
}

/// Errors creating a pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The arena could not be mapped.
    #[error("cannot map a {bytes}-byte packet arena: {source}")]
    Map {
        /// Bytes requested.
        bytes: usize,
        /// The OS error.
        source: std::io::Error,
    },
    /// Bad parameters.
    #[error("invalid pool parameters: {0}")]
    Invalid(&'static str),
}

impl NativePool {
    /// Map an arena of `count` buffers, each with [`HEADROOM`] bytes of
    /// headroom and `data_room` bytes for the packet.
    pub fn new(count: usize, data_room: usize) -> Result<Self, PoolError> {
        if count == 0 {
            return Err(PoolError::Invalid("count must be positive"));
        }
        if !(64..=u16::MAX as usize - HEADROOM).contains(&data_room) {
            return Err(PoolError::Invalid("data room must be 64..65407 bytes"));
        }
        let slot_size = (HDR_SIZE + HEADROOM + data_room).next_multiple_of(64);
        let bytes = (slot_size * count).next_multiple_of(2 << 20);
        // SAFETY: anonymous private mapping, checked below.
        let arena = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if arena == libc::MAP_FAILED {
            return Err(PoolError::Map {
                bytes,
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: advisory only; failure (no THP) is harmless.
        unsafe { libc::madvise(arena, bytes, libc::MADV_HUGEPAGE) };
        let caches = (0..lcore::MAX_LCORES)
            .map(|_| {
                CachePadded::new(UnsafeCell::new(Cache {
                    len: 0,
                    objs: [0; CACHE_SIZE],
                }))
            })
            .collect();
        let inner = Arc::new(PoolInner {
            arena: arena as *mut u8,
            arena_len: bytes,
            slot_size,
            data_room,
            count,
            ring: ArrayQueue::new(count),
            caches,
            out_of_ring: AtomicUsize::new(0),
        });
        let pool_ptr = Arc::as_ptr(&inner);
        for i in 0..count {
            // SAFETY: slot i lies within the arena; fresh memory is ours.
            let hdr = unsafe { inner.arena.add(i * slot_size) } as *mut MbufHdr;
            unsafe {
                hdr.write(MbufHdr {
                    pool: pool_ptr,
                    data_off: HEADROOM as u16,
                    data_len: 0,
                    _pad: 0,
                    meta: Meta::default(),
                })
            };
            let _ = inner.ring.push(hdr as usize);
        }
        Ok(NativePool { inner })
    }

    /// Total buffers in the pool.
    pub fn capacity(&self) -> usize {
        self.inner.count
    }

    /// Bytes of each slot (header, headroom and data room).
    pub fn slot_size(&self) -> usize {
        self.inner.slot_size
    }
}

impl Pool for NativePool {
    type Buf = Mbuf;

    #[inline]
    fn alloc(&self) -> Option<Mbuf> {
        let hdr = self.inner.get()?;
        // SAFETY: the buffer was free, so we are its only owner now.
        unsafe {
            let h = &mut *hdr.as_ptr();
            h.data_off = HEADROOM as u16;
            h.data_len = 0;
            h.meta = Meta::default();
        }
        Some(Mbuf { hdr })
    }

    #[inline]
    fn free_bulk(&self, bufs: &mut Burst<Mbuf>) {
        let inner = &*self.inner;
        let Some(c) = inner.cache() else {
            bufs.clear();
            return;
        };
        if c.len + bufs.len() > CACHE_SIZE {
            inner.spill(c, CACHE_BATCH.max(bufs.len()));
        }
        for b in bufs.drain(..) {
            if std::ptr::eq(b.h().pool, inner) {
                c.objs[c.len] = b.hdr.as_ptr() as usize;
                c.len += 1;
                std::mem::forget(b);
            } else {
                drop(b); // from another pool: its own drop returns it
            }
        }
    }

    fn data_room(&self) -> usize {
        self.inner.data_room
    }

    fn available(&self) -> usize {
        self.inner.count - self.inner.out_of_ring.load(Ordering::Relaxed)
            + self.inner.cache().map_or(0, |c| c.len)
    }

    fn flush_local_cache(&self) {
        if let Some(c) = self.inner.cache() {
            let n = c.len;
            self.inner.spill(c, n);
        }
    }
}

/// A buffer from a [`NativePool`]: one pointer, returned to its pool on drop.
pub struct Mbuf {
    hdr: NonNull<MbufHdr>,
}

// SAFETY: an Mbuf is the unique owner of its slot.
unsafe impl Send for Mbuf {}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf")
            .field("len", &self.len())
            .field("headroom", &self.headroom())
            .field("meta", self.meta())
            .finish()
    }
}

impl Mbuf {
    #[inline]
    fn h(&self) -> &MbufHdr {
        // SAFETY: we own the slot.
        unsafe { self.hdr.as_ref() }
    }
    #[inline]
    fn h_mut(&mut self) -> &mut MbufHdr {
        // SAFETY: we own the slot.
        unsafe { self.hdr.as_mut() }
    }
    #[inline]
    fn base(&self) -> *mut u8 {
        // SAFETY: the buffer area follows the header within the slot.
        unsafe { (self.hdr.as_ptr() as *mut u8).add(HDR_SIZE) }
    }
    #[inline]
    fn room(&self) -> usize {
        // SAFETY: the pool outlives its buffers (see PoolInner's Drop).
        HEADROOM + unsafe { (*self.h().pool).data_room }
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the pool outlives its buffers (see PoolInner's Drop).
        let pool = unsafe { &*self.h().pool };
        pool.put(self.hdr);
    }
}

impl Buf for Mbuf {
    #[inline]
    fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // The header, and where the frame starts when it has the
            // default headroom (the common case; a guess costs nothing).
            let hdr = self.hdr.as_ptr() as *const i8;
            // SAFETY: prefetching is a hint; it never faults or reads.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(hdr);
                _mm_prefetch::<_MM_HINT_T0>(hdr.wrapping_add(HDR_SIZE + crate::buf::HEADROOM));
            }
        }
    }
    #[inline]
    fn data(&self) -> &[u8] {
        let h = self.h();
        // SAFETY: data_off + data_len <= room is an invariant of every method.
        unsafe {
            std::slice::from_raw_parts(self.base().add(h.data_off as usize), h.data_len as usize)
        }
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let (off, len) = (self.h().data_off as usize, self.h().data_len as usize);
        // SAFETY: as above, and we hold &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.base().add(off), len) }
    }
    #[inline]
    fn len(&self) -> usize {
        self.h().data_len as usize
    }
    #[inline]
    fn headroom(&self) -> usize {
        self.h().data_off as usize
    }
    #[inline]
    fn tailroom(&self) -> usize {
        self.room() - self.h().data_off as usize - self.h().data_len as usize
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.headroom() {
            return None;
        }
        let h = self.h_mut();
        h.data_off -= n as u16;
        h.data_len += n as u16;
        Some(&mut self.data_mut()[..n])
    }
    #[inline]
    fn adj(&mut self, n: usize) -> Option<()> {
        if n > self.len() {
            return None;
        }
        let h = self.h_mut();
        h.data_off += n as u16;
        h.data_len -= n as u16;
        Some(())
    }
    #[inline]
    fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.tailroom() {
            return None;
        }
        let old = self.len();
        self.h_mut().data_len += n as u16;
        Some(&mut self.data_mut()[old..])
    }
    #[inline]
    fn trim(&mut self, n: usize) -> Option<()> {
        if n > self.len() {
            return None;
        }
        self.h_mut().data_len -= n as u16;
        Some(())
    }
    #[inline]
    fn reset(&mut self) {
        let h = self.h_mut();
        h.data_off = HEADROOM as u16;
        h.data_len = 0;
    }
    #[inline]
    fn meta(&self) -> &Meta {
        &self.h().meta
    }
    #[inline]
    fn meta_mut(&mut self) -> &mut Meta {
        &mut self.h_mut().meta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::Burst;

    #[test]
    fn alloc_free_and_room() {
        let pool = NativePool::new(4, 256).unwrap();
        let mut a = pool.alloc().unwrap();
        assert_eq!(a.len(), 0);
        assert_eq!(a.headroom(), HEADROOM);
        assert_eq!(a.tailroom(), 256);
        a.append(60).unwrap().copy_from_slice(&[7; 60]);
        a.prepend(14).unwrap().copy_from_slice(&[1; 14]);
        assert_eq!(a.len(), 74);
        assert_eq!(&a.data()[..14], &[1; 14]);
        assert_eq!(&a.data()[14..], &[7; 60]);
        assert!(a.prepend(HEADROOM).is_none(), "headroom exhausted");
        a.adj(14).unwrap();
        assert_eq!(a.data(), &[7; 60]);
        assert!(a.append(257).is_none());
        assert!(a.trim(61).is_none());
        a.trim(10).unwrap();
        assert_eq!(a.len(), 50);
        a.meta_mut().in_port = 3;
        let _b = pool.alloc().unwrap();
        let _c = pool.alloc().unwrap();
        let _d = pool.alloc().unwrap();
        assert!(pool.alloc().is_none(), "pool of 4 is exhausted");
        drop(a);
        let e = pool.alloc().unwrap();
        assert_eq!(e.meta().in_port, 0, "metadata is reset on alloc");
        assert_eq!(e.headroom(), HEADROOM);
    }

    #[test]
    fn lcore_cache_round_trip() {
        let pool = NativePool::new(1000, 2048).unwrap();
        let g = lcore::register().unwrap();
        let mut burst: Burst<Mbuf> = Burst::new();
        for _ in 0..100 {
            assert_eq!(pool.alloc_bulk(&mut burst, 32), 32);
            burst.clear();
        }
        assert_eq!(pool.available(), 1000);
        pool.flush_local_cache();
        drop(g);
        assert_eq!(pool.available(), 1000);
        assert_eq!(pool.inner.ring.len(), 1000);
    }

    #[test]
    fn free_bulk_returns_everything() {
        let pool = NativePool::new(2000, 2048).unwrap();
        let other = NativePool::new(8, 2048).unwrap();
        let g = lcore::register().unwrap();
        for _ in 0..100 {
            let mut burst: Burst<Mbuf> = Burst::new();
            pool.alloc_bulk(&mut burst, 31);
            burst.push(other.alloc().unwrap());
            pool.free_bulk(&mut burst);
            assert!(burst.is_empty());
        }
        assert_eq!(pool.available(), 2000);
        assert_eq!(other.available(), 8);
        pool.flush_local_cache();
        drop(g);
        assert_eq!(pool.inner.ring.len(), 2000);
    }

    #[test]
    fn buffers_cross_threads() {
        let pool = NativePool::new(64, 2048).unwrap();
        let bufs: Vec<Mbuf> = (0..64).map(|_| pool.alloc().unwrap()).collect();
        assert!(pool.alloc().is_none());
        std::thread::spawn(move || drop(bufs)).join().unwrap();
        assert_eq!(pool.available(), 64);
    }
}
