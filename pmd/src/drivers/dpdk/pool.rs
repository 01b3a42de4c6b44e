//! [`DpdkPool`] and [`DpdkMbuf`]: DPDK's mbufs behind weir's [`Pool`] and
//! [`Buf`] traits (the layout is drawn in the module doc of
//! [`super`]).

use super::eal::{live_pool, require_eal};
use super::error::{rte_errno, strerror, DpdkError};
use crate::buf::{Buf, Burst, Meta, Pool, HEADROOM};
use rte_sys::{rte_mbuf, rte_mempool};
use std::ffi::CString;
use std::mem::size_of;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Headroom DPDK gives every mbuf (`RTE_PKTMBUF_HEADROOM`, 128 in
/// Debian's build).
pub const MBUF_HEADROOM: usize = rte_sys::RTE_PKTMBUF_HEADROOM as usize;
/// Bytes of each mbuf's private area: none. weir's [`Meta`] is a dynamic
/// field inside `struct rte_mbuf` (see `META_OFFSET`).
pub const PRIV_SIZE: usize = 0;
/// Largest per-lcore cache a mempool accepts (`RTE_MEMPOOL_CACHE_MAX_SIZE`).
pub const MAX_CACHE_SIZE: usize = rte_sys::RTE_MEMPOOL_CACHE_MAX_SIZE as usize;

const MBUF_SIZE: usize = size_of::<rte_mbuf>();

const _: () = assert!(
    MBUF_HEADROOM >= HEADROOM,
    "weir needs 128 bytes of headroom"
);
const _: () = assert!(MBUF_SIZE == 128, "struct rte_mbuf is two cache lines");
const _: () = assert!(size_of::<DpdkMbuf>() == size_of::<*mut rte_mbuf>());

struct PoolInner {
    mp: NonNull<rte_mempool>,
    name: String,
    count: usize,
    data_room: usize,
    socket: i32,
}

// SAFETY: a mempool is shared by design: its ring is multi-producer and
// multi-consumer and each per-lcore cache is used only by the thread
// holding that lcore id.
unsafe impl Send for PoolInner {}
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // Free the mempool only when every mbuf is home (in the ring or an
        // lcore cache); otherwise an mbuf may still point into it, so it
        // is leaked rather than freed.
        // SAFETY: the mempool is alive until here.
        unsafe {
            if rte_sys::rte_mempool_in_use_count(self.mp.as_ptr()) == 0 {
                rte_sys::rte_mempool_free(self.mp.as_ptr());
            }
        }
        live_pool(-1);
    }
}

/// A DPDK packet mempool (`rte_pktmbuf_pool_create`) as a weir [`Pool`].
///
/// Cloning clones a handle. Ports opened on the pool keep a handle, so
/// the mempool outlives the devices that fill their RX rings from it.
#[derive(Clone)]
pub struct DpdkPool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for DpdkPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkPool")
            .field("name", &self.inner.name)
            .field("count", &self.inner.count)
            .field("data_room", &self.inner.data_room)
            .field("socket", &self.inner.socket)
            .field("available", &self.available())
            .finish()
    }
}

impl DpdkPool {
    /// Create a pool of `count` mbufs, each with [`MBUF_HEADROOM`] bytes
    /// of headroom, `data_room` bytes for the packet and a [`PRIV_SIZE`]
    /// private area holding its [`Meta`], on NUMA socket `socket_id` (-1:
    /// any), with a per-lcore cache of `cache_size` mbufs (clamped to what
    /// DPDK accepts: at most 512 and two thirds of `count`; 0 disables
    /// the caches). `name` is unique in the process, at most 25 bytes.
    ///
    /// A pool of `count` = 2^k - 1 uses its ring best (DPDK's advice).
    pub fn new(
        name: &str,
        count: usize,
        data_room: usize,
        cache_size: usize,
        socket_id: i32,
    ) -> Result<Self, DpdkError> {
        require_eal()?;
        if count == 0 || count > u32::MAX as usize {
            return Err(DpdkError::Invalid(format!(
                "mbuf pool `{name}`: {count} buffers (1..=4294967295)"
            )));
        }
        if !(64..=u16::MAX as usize - MBUF_HEADROOM).contains(&data_room) {
            return Err(DpdkError::Invalid(format!(
                "mbuf pool `{name}`: data room of {data_room} bytes (64..={})",
                u16::MAX as usize - MBUF_HEADROOM
            )));
        }
        register_meta_field()?;
        let c_name = CString::new(name).map_err(|_| {
            DpdkError::Invalid(format!("mbuf pool name `{name}` contains a NUL byte"))
        })?;
        let cache = cache_size.min(MAX_CACHE_SIZE).min(count * 2 / 3);
        let buf_size = MBUF_HEADROOM + data_room;
        // SAFETY: plain call with checked arguments.
        let mp = unsafe {
            rte_sys::rte_pktmbuf_pool_create(
                c_name.as_ptr(),
                count as u32,
                cache as u32,
                PRIV_SIZE as u16,
                buf_size as u16,
                socket_id,
            )
        };
        let Some(mp) = NonNull::new(mp) else {
            let errno = rte_errno();
            let cfg = super::eal::eal_config().unwrap_or_default();
            let per_buf = MBUF_SIZE + PRIV_SIZE + buf_size;
            let hint = match errno {
                libc::ENOMEM if cfg.no_huge => format!(
                    "; it needs about {} MB: raise the EAL memory (memory_mb, now {} MB) or \
                     reserve hugepages",
                    (count * per_buf) >> 20,
                    cfg.memory_mb.unwrap_or(super::eal::DEFAULT_NO_HUGE_MB)
                ),
                libc::ENOMEM => format!(
                    "; it needs about {} MB of hugepages: reserve more (scripts/hugepages \
                     reserve N) or run with no_huge",
                    (count * per_buf) >> 20
                ),
                libc::EEXIST => "; a pool of that name exists already".into(),
                libc::ENAMETOOLONG => "; the name is too long (25 bytes at most)".into(),
                _ => String::new(),
            };
            return Err(DpdkError::Mempool {
                name: name.into(),
                count,
                buf_size,
                socket: socket_id,
                errno,
                message: strerror(errno),
                hint,
            });
        };
        live_pool(1);
        Ok(DpdkPool {
            inner: Arc::new(PoolInner {
                mp,
                name: name.into(),
                count,
                data_room,
                socket: socket_id,
            }),
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Total mbufs in the pool.
    pub fn capacity(&self) -> usize {
        self.inner.count
    }

    /// The NUMA socket asked for at creation (-1: any).
    pub fn socket_id(&self) -> i32 {
        self.inner.socket
    }

    /// The underlying `rte_mempool`, for DPDK calls weir does not wrap.
    pub fn as_ptr(&self) -> *mut rte_mempool {
        self.inner.mp.as_ptr()
    }
}

impl Pool for DpdkPool {
    type Buf = DpdkMbuf;

    #[inline]
    fn alloc(&self) -> Option<DpdkMbuf> {
        // SAFETY: the mempool is alive (we hold it).
        let m = NonNull::new(unsafe { rte_sys::shim_pktmbuf_alloc(self.as_ptr()) })?;
        let mut b = DpdkMbuf { m };
        *b.meta_mut() = Meta::default();
        Some(b)
    }

    #[inline]
    fn alloc_bulk(&self, out: &mut Burst<DpdkMbuf>, n: usize) -> usize {
        let n = n.min(out.remaining_capacity());
        if n == 0 {
            return 0;
        }
        let start = out.len();
        // SAFETY: DpdkMbuf is a transparent non-null mbuf pointer; the
        // spare capacity holds `n` more. rte_pktmbuf_alloc_bulk fills all
        // `n` slots or none; only then is the length raised over them.
        unsafe {
            let slots = (out.as_mut_ptr() as *mut *mut rte_mbuf).add(start);
            if rte_sys::shim_pktmbuf_alloc_bulk(self.as_ptr(), slots, n as u32) == 0 {
                for i in 0..n {
                    meta_ptr(*slots.add(i)).write(Meta::default());
                }
                out.set_len(start + n);
                return n;
            }
        }
        // Fewer than `n` left: take what there is, one by one.
        for i in 0..n {
            match self.alloc() {
                Some(b) => out.push(b),
                None => return i,
            }
        }
        n
    }

    #[inline]
    fn free_bulk(&self, bufs: &mut Burst<DpdkMbuf>) {
        // SAFETY: every element is an mbuf we own; rte_pktmbuf_free_bulk
        // returns each to its own pool, then the vector forgets them.
        unsafe {
            rte_sys::rte_pktmbuf_free_bulk(
                bufs.as_mut_ptr() as *mut *mut rte_mbuf,
                bufs.len() as u32,
            );
            bufs.set_len(0);
        }
    }

    fn data_room(&self) -> usize {
        self.inner.data_room
    }

    fn available(&self) -> usize {
        // SAFETY: the mempool is alive. Counts the ring and every lcore cache.
        unsafe { rte_sys::rte_mempool_avail_count(self.as_ptr()) as usize }
    }

    fn flush_local_cache(&self) {
        // SAFETY: flushes the calling lcore's cache, if it has one.
        unsafe { rte_sys::shim_mempool_cache_flush(self.as_ptr()) }
    }
}

/// Offset of weir's [`Meta`] inside `struct rte_mbuf`: a dynamic field
/// (`rte_mbuf_dynfield_register`), registered when the first pool is made.
/// DPDK places dynamic fields in the mbuf's second cache line, which
/// `rte_pktmbuf_free` reads anyway; the private area after the mbuf would
/// be a third line touched per packet (measured: ~8 % of a bare rx/tx
/// loop without hugepages). 0 until registered.
static META_OFFSET: AtomicUsize = AtomicUsize::new(0);

/// Register (or look up) the `weir_meta` dynamic field; returns its offset.
fn register_meta_field() -> Result<usize, DpdkError> {
    let off = META_OFFSET.load(Ordering::Acquire);
    if off != 0 {
        return Ok(off);
    }
    // SAFETY: a zeroed descriptor is valid; the name is NUL-terminated.
    let mut desc: rte_sys::rte_mbuf_dynfield = unsafe { std::mem::zeroed() };
    for (d, c) in desc.name.iter_mut().zip(b"weir_meta\0") {
        *d = *c as std::os::raw::c_char;
    }
    desc.size = size_of::<Meta>();
    desc.align = std::mem::align_of::<Meta>();
    // SAFETY: plain call with a valid descriptor.
    let off = unsafe { rte_sys::rte_mbuf_dynfield_register(&desc) };
    if off < 0 {
        let errno = rte_errno();
        return Err(DpdkError::Invalid(format!(
            "cannot register the mbuf dynamic field for weir's metadata: {}",
            strerror(errno)
        )));
    }
    META_OFFSET.store(off as usize, Ordering::Release);
    Ok(off as usize)
}

/// Where weir's [`Meta`] lives in an mbuf from a [`DpdkPool`]: the
/// `weir_meta` dynamic field (see [`META_OFFSET`]).
#[inline(always)]
pub(crate) fn meta_ptr(m: *mut rte_mbuf) -> *mut Meta {
    // SAFETY (caller): `m` comes from a DpdkPool, which registered the
    // field (size and alignment of Meta) before making any mbuf.
    (m as *mut u8).wrapping_add(META_OFFSET.load(Ordering::Relaxed)) as *mut Meta
}

/// The `ol_flags` bit saying the packet has an 802.1Q tag outside its
/// data, its TCI in `vlan_tci`: the device stripped it, or weir gave the
/// packet one to transmit ([`Buf::set_vlan`]; the driver writes the tag
/// into the frame itself, so it never asks the device with
/// `RTE_MBUF_F_TX_VLAN`). [`Buf::vlan`] reads it instead of [`Meta`], so
/// the fast path never touches the mbuf's second cache line; a one-bit
/// test with an immediate.
pub(crate) const VLAN_FLAGS: u64 = rte_sys::RTE_MBUF_F_RX_VLAN_STRIPPED as u64;

/// One single-segment `rte_mbuf` from a [`DpdkPool`], owned; freed to its
/// mempool on drop (`rte_pktmbuf_free`, the whole chain if any).
///
/// The packet is `data_len` bytes at `buf_addr + data_off`; every method
/// keeps `pkt_len == data_len` and `nb_segs == 1`, so DPDK sees exactly
/// what weir sees. The one exception is a chain just received through
/// [`Port::rx_burst_uncounted`](crate::Port::rx_burst_uncounted)
/// ([`Buf::whole`] is false), which its receiver drops unchanged. Must
/// not outlive the EAL.
#[repr(transparent)]
pub struct DpdkMbuf {
    m: NonNull<rte_mbuf>,
}

// SAFETY: a DpdkMbuf is the unique owner of its mbuf, and freeing an mbuf
// from any thread is allowed (the mempool ring is multi-producer).
unsafe impl Send for DpdkMbuf {}

impl std::fmt::Debug for DpdkMbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkMbuf")
            .field("len", &self.len())
            .field("headroom", &self.headroom())
            .field("meta", self.meta())
            .finish()
    }
}

impl DpdkMbuf {
    /// The mbuf, still owned by `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut rte_mbuf {
        self.m.as_ptr()
    }

    /// Give up ownership: the caller frees the mbuf (or hands it to DPDK).
    #[inline]
    pub fn into_raw(self) -> *mut rte_mbuf {
        let p = self.m.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Take ownership of an mbuf.
    ///
    /// # Safety
    /// `m` is a valid single-segment mbuf from a [`DpdkPool`] (its private
    /// area holds a `Meta`), owned by nobody else.
    #[inline]
    pub unsafe fn from_raw(m: NonNull<rte_mbuf>) -> Self {
        DpdkMbuf { m }
    }

    #[inline(always)]
    pub(crate) fn mb(&self) -> &rte_mbuf {
        // SAFETY: we own the mbuf.
        unsafe { self.m.as_ref() }
    }

    #[inline(always)]
    fn mb_mut(&mut self) -> &mut rte_mbuf {
        // SAFETY: we own the mbuf.
        unsafe { self.m.as_mut() }
    }

    #[inline(always)]
    fn set_data(&mut self, off: usize, len: usize) {
        let m = self.mb_mut();
        m.data_off = off as u16;
        m.data_len = len as u16;
        m.pkt_len = len as u32;
    }
}

impl Drop for DpdkMbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf.
        unsafe { rte_sys::shim_pktmbuf_free(self.m.as_ptr()) }
    }
}

impl Buf for DpdkMbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        let m = self.mb();
        // SAFETY: data_off + data_len <= buf_len, an invariant DPDK and
        // every method here keep.
        unsafe {
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.mb();
        let (base, off, len) = (m.buf_addr as *mut u8, m.data_off, m.data_len);
        // SAFETY: as above, and we hold &mut self.
        unsafe { std::slice::from_raw_parts_mut(base.add(off as usize), len as usize) }
    }

    #[inline]
    fn len(&self) -> usize {
        self.mb().data_len as usize
    }

    #[inline(always)]
    fn pkt_len(&self) -> usize {
        self.mb().pkt_len as usize
    }

    #[inline]
    fn headroom(&self) -> usize {
        self.mb().data_off as usize
    }

    #[inline]
    fn tailroom(&self) -> usize {
        let m = self.mb();
        m.buf_len as usize - m.data_off as usize - m.data_len as usize
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        let (off, len) = (self.headroom(), self.len());
        if n > off {
            return None;
        }
        self.set_data(off - n, len + n);
        Some(&mut self.data_mut()[..n])
    }

    #[inline]
    fn adj(&mut self, n: usize) -> Option<()> {
        let (off, len) = (self.headroom(), self.len());
        if n > len {
            return None;
        }
        self.set_data(off + n, len - n);
        Some(())
    }

    #[inline]
    fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.tailroom() {
            return None;
        }
        let (off, len) = (self.headroom(), self.len());
        self.set_data(off, len + n);
        Some(&mut self.data_mut()[len..])
    }

    #[inline]
    fn trim(&mut self, n: usize) -> Option<()> {
        let (off, len) = (self.headroom(), self.len());
        if n > len {
            return None;
        }
        self.set_data(off, len - n);
        Some(())
    }

    #[inline]
    fn reset(&mut self) {
        let off = MBUF_HEADROOM.min(self.mb().buf_len as usize);
        self.set_data(off, 0);
    }

    #[inline(always)]
    fn vlan(&self) -> Option<u16> {
        let m = self.mb();
        (m.ol_flags & VLAN_FLAGS != 0).then_some(m.vlan_tci)
    }

    #[inline]
    fn set_vlan(&mut self, tci: Option<u16>) {
        let m = self.mb_mut();
        m.ol_flags &=
            !(VLAN_FLAGS | rte_sys::RTE_MBUF_F_RX_VLAN as u64 | rte_sys::RTE_MBUF_F_TX_VLAN);
        if let Some(t) = tci {
            m.ol_flags |= VLAN_FLAGS;
            m.vlan_tci = t;
        }
    }

    #[inline]
    fn meta(&self) -> &Meta {
        // SAFETY: our mbufs come from a DpdkPool (see meta_ptr).
        unsafe { &*meta_ptr(self.m.as_ptr()) }
    }

    #[inline]
    fn meta_mut(&mut self) -> &mut Meta {
        // SAFETY: as above, and we hold &mut self.
        unsafe { &mut *meta_ptr(self.m.as_ptr()) }
    }
}
