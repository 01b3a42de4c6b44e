//! Errors of the `dpdk` driver, each naming what failed and why.

use std::ffi::CStr;

/// What went wrong starting the EAL, creating a pool or opening a port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpdkError {
    /// `rte_eal_init` refused the arguments or failed to start.
    #[error(
        "dpdk: EAL initialisation failed: {message}{}; EAL arguments: `{}`",
        errno_note(*errno),
        args.join(" ")
    )]
    Eal {
        /// The whole argument vector passed to `rte_eal_init` (program name
        /// first).
        args: Vec<String>,
        /// `rte_errno` after the failure (0 when weir itself refused).
        errno: i32,
        /// What failed, from `rte_strerror` or weir's own check.
        message: String,
    },
    /// The EAL already runs with another configuration (it starts once per
    /// process).
    #[error(
        "dpdk: the EAL already runs with `{}` and starts once per process; \
         cannot start it again with `{}`",
        running.join(" "),
        requested.join(" ")
    )]
    EalMismatch {
        /// Arguments of the running EAL.
        running: Vec<String>,
        /// Arguments asked for now.
        requested: Vec<String>,
    },
    /// `rte_eal_init` failed earlier in this process; DPDK cannot be
    /// started again reliably (it keeps part of a failed attempt's state).
    #[error(
        "dpdk: the EAL failed to start earlier in this process and cannot be retried; fix the \
         configuration and restart (first error: {0})"
    )]
    EalFailed(String),
    /// A DPDK object was asked for before [`super::eal_init`] succeeded.
    #[error("dpdk: the EAL is not running: call eal_init first")]
    EalNotRunning,
    /// The EAL was shut down by [`super::eal_cleanup`]; DPDK cannot start
    /// it again in the same process.
    #[error("dpdk: the EAL was shut down (eal_cleanup) and cannot start again in this process")]
    EalShutDown,
    /// [`super::eal_cleanup`] while pools or ports are still open.
    #[error("dpdk: cannot shut the EAL down: {0} still open (drop ports and pools first)")]
    EalBusy(String),
    /// `rte_thread_register` failed.
    #[error("dpdk: cannot register this thread with the EAL: {message} (rte_errno {errno})")]
    Thread {
        /// `rte_errno`.
        errno: i32,
        /// `rte_strerror(errno)`.
        message: String,
    },
    /// `rte_pktmbuf_pool_create` failed.
    #[error(
        "dpdk: cannot create mbuf pool `{name}` ({count} buffers of {buf_size} bytes on socket \
         {socket}): {message} (rte_errno {errno}){hint}"
    )]
    Mempool {
        /// Pool name.
        name: String,
        /// Buffers asked for.
        count: usize,
        /// Bytes per buffer (headroom and data room, without the mbuf
        /// header).
        buf_size: usize,
        /// NUMA socket asked for (-1: any).
        socket: i32,
        /// `rte_errno`.
        errno: i32,
        /// `rte_strerror(errno)`.
        message: String,
        /// What to try, e.g. more memory or hugepages.
        hint: String,
    },
    /// No ethdev port by that name and probing the device failed.
    #[error("dpdk: no such device `{device}` ({reason})")]
    NoSuchDevice {
        /// The device name (the part of the device string before the first
        /// comma: `net_pcap0`, `0000:03:00.0`).
        device: String,
        /// Why: the probe's error or what was found instead.
        reason: String,
    },
    /// A DPDK call on a device failed.
    #[error("dpdk: device `{device}`: {op} failed: {message} (errno {errno})")]
    Device {
        /// The device name.
        device: String,
        /// The operation, e.g. `rx queue 1 setup (1024 descriptors)`.
        op: String,
        /// The (positive) errno the call returned.
        errno: i32,
        /// `rte_strerror(errno)`.
        message: String,
    },
    /// The configuration asks for something the device cannot do.
    #[error("dpdk: device `{device}`: {message}")]
    Config {
        /// The device name.
        device: String,
        /// What is wrong.
        message: String,
    },
    /// An argument weir checks before calling DPDK is invalid.
    #[error("dpdk: {0}")]
    Invalid(String),
}

fn errno_note(errno: i32) -> String {
    if errno == 0 {
        String::new()
    } else {
        format!(" (rte_errno {errno})")
    }
}

/// The calling thread's `rte_errno`.
pub(crate) fn rte_errno() -> i32 {
    // SAFETY: reads a thread-local integer.
    unsafe { rte_sys::shim_errno() }
}

/// `rte_strerror(errno)` as a string (accepts negative return codes too).
pub(crate) fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a NUL-terminated string in a
    // static table or a thread-local buffer, valid until the next call on
    // this thread; it is copied at once.
    unsafe {
        let p = rte_sys::rte_strerror(errno.abs());
        if p.is_null() {
            return format!("error {errno}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}
