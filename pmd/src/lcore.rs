//! Logical core ids, as DPDK's `rte_lcore_id()`.
//!
//! A thread that polls ports takes an lcore id for its lifetime. Pools keep
//! a cache of free buffers per lcore id, so allocation and free on the fast
//! path touch only thread-private memory. At most one thread holds an id at
//! a time; threads without one use the pools' shared rings.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Number of lcore ids available in a process.
pub const MAX_LCORES: usize = 64;

static TAKEN: [AtomicBool; MAX_LCORES] = [const { AtomicBool::new(false) }; MAX_LCORES];

thread_local! {
    static LCORE: Cell<u32> = const { Cell::new(u32::MAX) };
}

/// This thread's lcore id, if it holds one.
#[inline]
pub fn id() -> Option<usize> {
    let v = LCORE.with(|c| c.get());
    (v != u32::MAX).then_some(v as usize)
}

/// Holds an lcore id for the current thread; releases it on drop.
#[derive(Debug)]
pub struct LcoreGuard {
    id: usize,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl LcoreGuard {
    /// The id held.
    pub fn id(&self) -> usize {
        self.id
    }
}

impl Drop for LcoreGuard {
    fn drop(&mut self) {
        LCORE.with(|c| c.set(u32::MAX));
        TAKEN[self.id].store(false, Ordering::Release);
    }
}

/// Take the lowest free lcore id for the current thread.
///
/// Returns `None` if the thread already holds one or all are taken.
pub fn register() -> Option<LcoreGuard> {
    if id().is_some() {
        return None;
    }
    for (i, slot) in TAKEN.iter().enumerate() {
        if slot
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            LCORE.with(|c| c.set(i as u32));
            return Some(LcoreGuard {
                id: i,
                _not_send: std::marker::PhantomData,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_and_release() {
        assert_eq!(id(), None);
        let g = register().expect("an id");
        assert_eq!(id(), Some(g.id()));
        assert!(register().is_none(), "second registration on one thread");
        let other = std::thread::spawn(|| register().map(|g| g.id()))
            .join()
            .unwrap();
        assert_ne!(other, Some(g.id()));
        drop(g);
        assert_eq!(id(), None);
    }
}
