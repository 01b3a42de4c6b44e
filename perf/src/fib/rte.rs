//! DPDK's `rte_lpm` and `rte_lpm6` on the benchmark's routes (perf's `dpdk`
//! feature), through rte-sys's shim.

use std::collections::HashSet;
use std::ffi::CString;
use std::time::Instant;

use anyhow::{bail, Context};
use pipeline::fib::{Fib4, Fib6, NO_ROUTE};
use pmd::drivers::dpdk::{eal_init, EalConfig};

use super::{Rng, Route4, Route6, Updates, BURST};

/// Starts the EAL for the benchmark (once per process): no hugepages, no
/// PCI, 1 GiB of ordinary memory, a file prefix of its own.
fn start_eal() -> anyhow::Result<()> {
    let cfg = EalConfig {
        no_huge: true,
        memory_mb: Some(1024),
        file_prefix: Some(format!("weir-fibbench-{}", std::process::id())),
        args: vec!["--no-pci".into(), "--log-level=lib.eal:warning".into()],
        ..EalConfig::default()
    };
    eal_init(&cfg).context("starting DPDK's EAL for rte_lpm")
}

/// Bytes on DPDK's heaps now.
fn heap_bytes() -> u64 {
    // SAFETY: reads the heap statistics of a running EAL.
    unsafe { rte_sys::shim_malloc_allocated_bytes() }
}

/// An `rte_lpm` holding the benchmark's IPv4 routes.
pub(super) struct Lpm4 {
    lpm: *mut rte_sys::rte_lpm,
    /// Heap bytes the table took.
    pub memory_bytes: u64,
}

impl Drop for Lpm4 {
    fn drop(&mut self) {
        // SAFETY: created by shim_lpm_create, freed once.
        unsafe { rte_sys::shim_lpm_free(self.lpm) }
    }
}

impl Lpm4 {
    /// Creates the table (the smallest that fits: as many rules and tbl8
    /// groups as the routes need, plus an eighth) and adds every route;
    /// returns it and the seconds the adds took.
    pub(super) fn build(routes: &[Route4]) -> anyhow::Result<(Self, f64)> {
        start_eal()?;
        let tbl8s: HashSet<u32> = routes
            .iter()
            .filter(|r| r.1 > 24)
            .map(|r| r.0 >> 8)
            .collect();
        let tbl8s = tbl8s.len() + tbl8s.len() / 8 + 16;
        let rules = routes.len() + routes.len() / 8 + 16;
        let name = CString::new("weir-fibbench-lpm").expect("no NUL");
        let before = heap_bytes();
        // SAFETY: a valid name and sizes; the EAL runs.
        let lpm = unsafe {
            rte_sys::shim_lpm_create(
                name.as_ptr(),
                rte_sys::SOCKET_ID_ANY,
                rules as u32,
                tbl8s as u32,
            )
        };
        if lpm.is_null() {
            bail!("rte_lpm_create failed ({rules} rules, {tbl8s} tbl8 groups)");
        }
        let mut me = Lpm4 {
            lpm,
            memory_bytes: 0,
        };
        let t = Instant::now();
        for &(p, l, nh) in routes {
            if nh >= 1 << 24 {
                bail!("rte_lpm stores 24-bit next hops; {nh} is too big");
            }
            // SAFETY: `lpm` is live.
            let rc = unsafe { rte_sys::shim_lpm_add(lpm, p, l, nh) };
            if rc != 0 {
                bail!("rte_lpm_add({p:#010x}/{l}) = {rc}");
            }
        }
        let build = t.elapsed().as_secs_f64();
        me.memory_bytes = heap_bytes().saturating_sub(before);
        Ok((me, build))
    }

    /// Sum of `rte_lpm_lookup` over `addrs`.
    pub(super) fn single(&self, addrs: &[u32]) -> u32 {
        // SAFETY: `addrs` is readable for its length; `lpm` is live.
        unsafe { rte_sys::shim_lpm_loop_single(self.lpm, addrs.as_ptr(), addrs.len() as u32) }
    }

    /// Sum over bursts of 32 of `rte_lpm_lookup_bulk`'s first answer.
    pub(super) fn batch(&self, addrs: &[u32]) -> u32 {
        // SAFETY: as `single`.
        unsafe {
            rte_sys::shim_lpm_loop_bulk(self.lpm, addrs.as_ptr(), addrs.len() as u32, BURST as u32)
        }
    }

    /// Addresses for which `fib` and this table disagree (bulk and
    /// single lookups).
    pub(super) fn mismatches(&self, fib: &Fib4, addrs: &[u32]) -> u64 {
        let mut bad = 0;
        let mut hops = [0u32; BURST];
        for burst in addrs.chunks(BURST) {
            // SAFETY: `hops` holds BURST >= burst.len() entries.
            unsafe {
                rte_sys::shim_lpm_lookup_bulk(
                    self.lpm,
                    burst.as_ptr(),
                    hops.as_mut_ptr(),
                    burst.len() as u32,
                )
            };
            for (i, &a) in burst.iter().enumerate() {
                let mut nh = 0;
                // SAFETY: `lpm` is live.
                let rc = unsafe { rte_sys::shim_lpm_lookup(self.lpm, a, &mut nh) };
                let single = if rc == 0 { nh } else { NO_ROUTE };
                let w = fib.lookup(a);
                bad += u64::from(w != hops[i] || w != single);
            }
        }
        bad
    }

    /// Withdraws and re-adds random routes in place (DPDK has no
    /// versions): rates per second.
    pub(super) fn measure_updates(&mut self, routes: &[Route4], seed: u64) -> Updates {
        let mut rng = Rng::new(seed ^ 0x1b7e);
        let chosen: Vec<Route4> = (0..2000.min(routes.len()))
            .map(|_| routes[rng.below(routes.len() as u64) as usize])
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let t = Instant::now();
        for &(p, l, _) in &chosen {
            // SAFETY: `lpm` is live.
            unsafe { rte_sys::shim_lpm_delete(self.lpm, p, l) };
        }
        let withdraw = chosen.len() as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for &(p, l, nh) in &chosen {
            // SAFETY: `lpm` is live.
            unsafe { rte_sys::shim_lpm_add(self.lpm, p, l, nh) };
        }
        let add = chosen.len() as f64 / t.elapsed().as_secs_f64();
        Updates {
            batch: chosen.len(),
            withdraw_per_sec: withdraw,
            add_per_sec: add,
            single_withdraw_per_sec: withdraw,
            single_add_per_sec: add,
        }
    }
}

/// An `rte_lpm6` holding the benchmark's IPv6 routes.
pub(super) struct Lpm6 {
    lpm: *mut rte_sys::rte_lpm6,
    /// Heap bytes the table took.
    pub memory_bytes: u64,
}

impl Drop for Lpm6 {
    fn drop(&mut self) {
        // SAFETY: created by shim_lpm6_create, freed once.
        unsafe { rte_sys::shim_lpm6_free(self.lpm) }
    }
}

impl Lpm6 {
    /// As [`Lpm4::build`]: tbl8 groups for every 8-bit boundary past /24
    /// that some route crosses, plus an eighth.
    pub(super) fn build(routes: &[Route6]) -> anyhow::Result<(Self, f64)> {
        start_eal()?;
        let mut groups = HashSet::new();
        for &(p, l, _) in routes {
            let mut b = 24;
            while b < l {
                groups.insert((b, p >> (128 - b)));
                b += 8;
            }
        }
        let tbl8s = groups.len() + groups.len() / 8 + 64;
        let rules = routes.len() + routes.len() / 8 + 16;
        let name = CString::new("weir-fibbench-lpm6").expect("no NUL");
        let before = heap_bytes();
        // SAFETY: a valid name and sizes; the EAL runs.
        let lpm = unsafe {
            rte_sys::shim_lpm6_create(
                name.as_ptr(),
                rte_sys::SOCKET_ID_ANY,
                rules as u32,
                tbl8s as u32,
            )
        };
        if lpm.is_null() {
            bail!("rte_lpm6_create failed ({rules} rules, {tbl8s} tbl8 groups)");
        }
        let mut me = Lpm6 {
            lpm,
            memory_bytes: 0,
        };
        let t = Instant::now();
        for &(p, l, nh) in routes {
            if nh >= 1 << 21 {
                bail!("rte_lpm6 stores 21-bit next hops; {nh} is too big");
            }
            let ip = p.to_be_bytes();
            // SAFETY: `lpm` is live, `ip` is 16 bytes.
            let rc = unsafe { rte_sys::shim_lpm6_add(lpm, ip.as_ptr(), l, nh) };
            if rc != 0 {
                bail!("rte_lpm6_add({p:#x}/{l}) = {rc}");
            }
        }
        let build = t.elapsed().as_secs_f64();
        me.memory_bytes = heap_bytes().saturating_sub(before);
        Ok((me, build))
    }

    /// The addresses in DPDK's form (16 bytes, network order).
    pub(super) fn addrs(addrs: &[u128]) -> Vec<[u8; 16]> {
        addrs.iter().map(|a| a.to_be_bytes()).collect()
    }

    /// Sum of `rte_lpm6_lookup` over `addrs`.
    pub(super) fn single(&self, addrs: &[[u8; 16]]) -> u32 {
        // SAFETY: `addrs` is readable for 16 * len bytes; `lpm` is live.
        unsafe {
            rte_sys::shim_lpm6_loop_single(self.lpm, addrs.as_ptr().cast(), addrs.len() as u32)
        }
    }

    /// Sum over bursts of 32 of `rte_lpm6_lookup_bulk_func`'s first answer.
    pub(super) fn batch(&self, addrs: &[[u8; 16]]) -> u32 {
        // SAFETY: as `single`.
        unsafe {
            rte_sys::shim_lpm6_loop_bulk(
                self.lpm,
                addrs.as_ptr().cast(),
                addrs.len() as u32,
                BURST as u32,
            )
        }
    }

    /// Addresses for which `fib` and this table disagree.
    pub(super) fn mismatches(&self, fib: &Fib6, addrs: &[u128]) -> u64 {
        addrs
            .iter()
            .filter(|&&a| {
                let ip = a.to_be_bytes();
                let mut nh = 0;
                // SAFETY: `lpm` is live, `ip` is 16 bytes.
                let rc = unsafe { rte_sys::shim_lpm6_lookup(self.lpm, ip.as_ptr(), &mut nh) };
                let theirs = if rc == 0 { nh } else { NO_ROUTE };
                theirs != fib.lookup(a)
            })
            .count() as u64
    }
}
