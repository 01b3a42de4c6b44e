//! Starting and stopping DPDK's Environment Abstraction Layer, and
//! registering weir's own threads with it.
//!
//! The EAL starts once per process and, once shut down, never again:
//! [`eal_init`] remembers the configuration it started with, accepts the
//! same configuration again (so every part of a program may call it) and
//! refuses a different one. A failed start can be retried with a corrected
//! configuration when DPDK allows it (it does after argument errors).

use super::error::{rte_errno, strerror, DpdkError};
use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Memory given to the EAL with `no_huge` when `memory_mb` is not set.
pub const DEFAULT_NO_HUGE_MB: usize = 512;

/// How to start the EAL.
///
/// [`EalConfig::argv`] turns it into the EAL command line: the program
/// name, `-l` with `lcores` and `--main-lcore`, `--no-huge --no-shconf
/// -m N` or `--in-memory`, `--file-prefix`, `--no-telemetry`, one `--vdev` per entry
/// of `vdevs`, then `args` verbatim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EalConfig {
    /// CPUs the EAL knows as lcores (`-l`); the first is the main lcore,
    /// the thread calling [`eal_init`]. Empty: the first CPU this thread
    /// may run on. weir's workers are plain threads that call
    /// [`register_thread`]; the EAL parks a thread of its own on each
    /// further lcore listed here, asleep.
    pub lcores: Vec<usize>,
    /// Run without hugepages (`--no-huge`): memory comes from ordinary
    /// pages, and I/O is 1.7-3x slower. Without it the EAL runs
    /// `--in-memory` on the hugepages reserved on the machine (no hugetlbfs
    /// mount needed).
    pub no_huge: bool,
    /// Memory for the EAL in MB (`-m`): with `no_huge` all the memory
    /// there is (default [`DEFAULT_NO_HUGE_MB`]); with hugepages what is
    /// reserved at start (default: none, grown on demand).
    pub memory_mb: Option<usize>,
    /// `--file-prefix` (default `weir-<pid>`): two EALs on one machine
    /// need different prefixes.
    pub file_prefix: Option<String>,
    /// Virtual devices created at start, one `--vdev` each (e.g.
    /// `net_pcap0,rx_pcap=in.pcap`). Not needed for [`super::open`], which
    /// creates a missing vdev itself; a vdev that fails here is only
    /// logged by DPDK, so prefer `open`.
    pub vdevs: Vec<String>,
    /// Further EAL arguments, verbatim and last (`--no-pci`, `-a
    /// 0000:03:00.0`, `--log-level=...`).
    pub args: Vec<String>,
}

impl EalConfig {
    /// The argument vector passed to `rte_eal_init`, program name first.
    pub fn argv(&self) -> Vec<String> {
        let mut v = vec!["weir".to_string()];
        let lcores = if self.lcores.is_empty() {
            vec![first_allowed_cpu()]
        } else {
            self.lcores.clone()
        };
        let list: Vec<String> = lcores.iter().map(usize::to_string).collect();
        v.push("-l".into());
        v.push(list.join(","));
        v.push("--main-lcore".into());
        v.push(lcores[0].to_string());
        if self.no_huge {
            v.push("--no-huge".into());
            // No files in /var/run/dpdk (6 MB each run without it); weir
            // has no secondary processes. --in-memory implies it.
            v.push("--no-shconf".into());
            v.push("-m".into());
            v.push(self.memory_mb.unwrap_or(DEFAULT_NO_HUGE_MB).to_string());
        } else {
            // Refused together with --no-huge; with hugepages it needs no
            // hugetlbfs mount and leaves no files behind.
            v.push("--in-memory".into());
            if let Some(mb) = self.memory_mb {
                v.push("-m".into());
                v.push(mb.to_string());
            }
        }
        v.push("--file-prefix".into());
        v.push(
            self.file_prefix
                .clone()
                .unwrap_or_else(|| format!("weir-{}", std::process::id())),
        );
        v.push("--no-telemetry".into());
        for d in &self.vdevs {
            v.push("--vdev".into());
            v.push(d.clone());
        }
        v.extend(self.args.iter().cloned());
        v
    }
}

enum State {
    Down,
    Running {
        cfg: EalConfig,
        argv: Vec<String>,
    },
    /// `rte_eal_init` failed: DPDK 22.11 keeps part of the failed
    /// attempt's option state (an `-l` seen once is "already set" ever
    /// after), so a second attempt in the same process is not reliable.
    Failed(String),
    ShutDown,
}

static STATE: Mutex<State> = Mutex::new(State::Down);

/// Pools and ports alive (they must go before the EAL does).
static LIVE_POOLS: AtomicUsize = AtomicUsize::new(0);
static LIVE_PORTS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn live_pool(delta: isize) {
    bump(&LIVE_POOLS, delta)
}

pub(crate) fn live_port(delta: isize) {
    bump(&LIVE_PORTS, delta)
}

fn bump(c: &AtomicUsize, delta: isize) {
    if delta >= 0 {
        c.fetch_add(delta as usize, Ordering::AcqRel);
    } else {
        c.fetch_sub(delta.unsigned_abs(), Ordering::AcqRel);
    }
}

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// True while the EAL runs (between a successful [`eal_init`] and
/// [`eal_cleanup`]).
pub fn eal_running() -> bool {
    matches!(*state(), State::Running { .. })
}

pub(crate) fn require_eal() -> Result<(), DpdkError> {
    match *state() {
        State::Running { .. } => Ok(()),
        State::Down | State::Failed(_) => Err(DpdkError::EalNotRunning),
        State::ShutDown => Err(DpdkError::EalShutDown),
    }
}

/// The configuration of the running EAL.
pub fn eal_config() -> Option<EalConfig> {
    match &*state() {
        State::Running { cfg, .. } => Some(cfg.clone()),
        _ => None,
    }
}

/// Start the EAL with `cfg`, once per process.
///
/// A second call with an identical configuration is a no-op; a different
/// one is [`DpdkError::EalMismatch`]. A bad argument is a
/// [`DpdkError::Eal`] naming the arguments and DPDK's reason (its usage
/// text and details go to the EAL log, stderr), never an exit: weir
/// refuses `-h`/`--help` itself, the one option on which DPDK 22.11 calls
/// `exit()`, and every other argument error makes `rte_eal_init` return
/// -1. weir also checks `lcores` against the machine's CPUs first. Errors
/// found by weir leave the EAL untouched, so a corrected configuration
/// may follow; after DPDK itself failed, later calls return
/// [`DpdkError::EalFailed`]: DPDK keeps part of a failed attempt's
/// option state, so the process must be restarted.
///
/// The EAL pins the calling thread to the main lcore's CPU; weir restores
/// the thread's previous CPU affinity afterwards, so a control thread that
/// starts the EAL is not left pinned to a worker's core.
pub fn eal_init(cfg: &EalConfig) -> Result<(), DpdkError> {
    let mut st = state();
    let argv = cfg.argv();
    match &*st {
        State::Running {
            cfg: running,
            argv: running_argv,
        } => {
            return if running == cfg {
                Ok(())
            } else {
                Err(DpdkError::EalMismatch {
                    running: running_argv.clone(),
                    requested: argv,
                })
            };
        }
        State::ShutDown => return Err(DpdkError::EalShutDown),
        State::Failed(first) => return Err(DpdkError::EalFailed(first.clone())),
        State::Down => {}
    }
    let refuse = |message: String| DpdkError::Eal {
        args: argv.clone(),
        errno: 0,
        message,
    };
    if let Some(a) = argv[1..].iter().find(|a| is_help(a)) {
        return Err(refuse(format!(
            "`{a}` asks the EAL to print its usage and exit the process; weir does not pass it"
        )));
    }
    if let Some(&c) = cfg
        .lcores
        .iter()
        .find(|&&c| c >= rte_sys::RTE_MAX_LCORE as usize || !cpu_exists(c))
    {
        return Err(refuse(format!(
            "lcore {c} is not a CPU of this machine (lcores: {:?})",
            cfg.lcores
        )));
    }
    let mut c_args = Vec::with_capacity(argv.len());
    for a in &argv {
        c_args.push(
            CString::new(a.as_str())
                .map_err(|_| refuse(format!("argument `{a}` contains a NUL byte")))?,
        );
    }
    // rte_eal_init permutes argv and may keep pointers into it for the
    // life of the process: give it a leaked copy.
    let ptrs: &'static mut [*mut c_char] = Box::leak(
        c_args
            .into_iter()
            .map(CString::into_raw)
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let saved = ThreadAffinity::get();
    // SAFETY: argc/argv describe NUL-terminated strings that live forever;
    // STATE's lock serialises calls.
    let ret = unsafe { rte_sys::rte_eal_init(ptrs.len() as c_int, ptrs.as_mut_ptr()) };
    let errno = rte_errno();
    if let Some(a) = saved {
        a.restore();
    }
    if ret < 0 {
        let e = DpdkError::Eal {
            args: argv,
            errno,
            message: strerror(errno),
        };
        *st = State::Failed(e.to_string());
        return Err(e);
    }
    let consumed = ret as usize;
    if consumed + 1 < argv.len() {
        // Non-option arguments: getopt moved them to the end, the EAL
        // ignored them. Refuse rather than run with a config that was not
        // what was meant; DPDK cannot restart after this.
        // SAFETY: the EAL is running and nothing of it is in use yet.
        unsafe { rte_sys::rte_eal_cleanup() };
        *st = State::ShutDown;
        // SAFETY: ptrs[consumed + 1..] are the leftover argument strings.
        let extra: Vec<String> = ptrs[consumed + 1..]
            .iter()
            .map(|&p| {
                unsafe { std::ffi::CStr::from_ptr(p) }
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        return Err(refuse(format!(
            "the EAL does not understand `{}` (not an option)",
            extra.join(" ")
        )));
    }
    // With --no-shconf (and --in-memory) DPDK leaves its runtime
    // directory empty: remove it rather than leave one per run behind.
    // SAFETY: returns a pointer to a static path string.
    let dir = unsafe { rte_sys::rte_eal_get_runtime_dir() };
    if !dir.is_null() {
        // SAFETY: NUL-terminated, static.
        let dir = unsafe { std::ffi::CStr::from_ptr(dir) };
        if let Ok(d) = dir.to_str() {
            let _ = std::fs::remove_dir(d); // only if empty
        }
    }
    *st = State::Running {
        cfg: cfg.clone(),
        argv,
    };
    Ok(())
}

/// `-h`, `--help` or an abbreviation getopt would take for it (`--he`),
/// or a cluster of short flags containing `h` (`-vh`).
fn is_help(a: &str) -> bool {
    if let Some(long) = a.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or("");
        return name.len() >= 2 && "help".starts_with(name);
    }
    if let Some(short) = a.strip_prefix('-') {
        // Only -v and -h take no argument among the EAL's short options;
        // the first other letter takes the rest of the word as its value.
        for c in short.chars() {
            match c {
                'h' => return true,
                'v' => continue,
                _ => return false,
            }
        }
    }
    false
}

/// Shut the EAL down (`rte_eal_cleanup`). Idempotent; an EAL that never
/// ran is left alone.
///
/// Every [`super::DpdkPort`], [`super::DpdkPool`] and
/// [`super::DpdkMbuf`] must be dropped first: ports and pools are
/// counted and refused with [`DpdkError::EalBusy`]; a buffer still held
/// after this points into unmapped memory. The EAL cannot start again in
/// this process.
pub fn eal_cleanup() -> Result<(), DpdkError> {
    let mut st = state();
    if !matches!(*st, State::Running { .. }) {
        return Ok(());
    }
    let (pools, ports) = (
        LIVE_POOLS.load(Ordering::Acquire),
        LIVE_PORTS.load(Ordering::Acquire),
    );
    if pools + ports > 0 {
        return Err(DpdkError::EalBusy(format!(
            "{ports} port device(s) and {pools} mbuf pool(s)"
        )));
    }
    // SAFETY: nothing of the EAL is in use (see above).
    unsafe { rte_sys::rte_eal_cleanup() };
    *st = State::ShutDown;
    Ok(())
}

/// The EAL lcore id of the calling thread, if it has one (the thread that
/// started the EAL, or one that called [`register_thread`]).
pub fn lcore_id() -> Option<u32> {
    // SAFETY: reads a thread-local.
    let id = unsafe { rte_sys::shim_lcore_id() };
    (id != rte_sys::LCORE_ID_ANY).then_some(id)
}

/// The calling thread's registration with the EAL; unregisters on drop.
///
/// Not `Send`: it belongs to the thread that registered.
#[derive(Debug)]
pub struct DpdkThread {
    lcore: u32,
    registered: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl DpdkThread {
    /// The lcore id the thread holds.
    pub fn lcore_id(&self) -> u32 {
        self.lcore
    }
}

impl Drop for DpdkThread {
    fn drop(&mut self) {
        if self.registered && eal_running() {
            // SAFETY: this thread registered itself (the guard is !Send).
            unsafe { rte_sys::rte_thread_unregister() };
        }
    }
}

/// Give the calling (non-EAL) thread an EAL lcore id, so that mempool
/// per-lcore caches serve it without atomics, for as long as the returned
/// guard lives.
///
/// Pin the thread first: DPDK derives the thread's NUMA socket
/// (`rte_socket_id()`) from its CPU affinity at registration. A thread
/// that already has an lcore id (the one that started the EAL) gets a
/// guard that does nothing.
pub fn register_thread() -> Result<DpdkThread, DpdkError> {
    require_eal()?;
    if let Some(id) = lcore_id() {
        return Ok(DpdkThread {
            lcore: id,
            registered: false,
            _not_send: std::marker::PhantomData,
        });
    }
    // SAFETY: the EAL is running; registers the calling thread.
    if unsafe { rte_sys::rte_thread_register() } != 0 {
        let errno = rte_errno();
        return Err(DpdkError::Thread {
            errno,
            message: strerror(errno),
        });
    }
    Ok(DpdkThread {
        lcore: lcore_id().unwrap_or(rte_sys::LCORE_ID_ANY),
        registered: true,
        _not_send: std::marker::PhantomData,
    })
}

/// The calling thread's CPU affinity, to put back after `rte_eal_init`.
struct ThreadAffinity(libc::cpu_set_t);

impl ThreadAffinity {
    fn get() -> Option<Self> {
        // SAFETY: cpu_set_t is plain data; sched_getaffinity(0) fills it
        // for the calling thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
                .then_some(ThreadAffinity(set))
        }
    }

    fn restore(&self) {
        // SAFETY: sets the calling thread's affinity to a mask it had.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.0) };
    }
}

fn cpu_exists(c: usize) -> bool {
    std::path::Path::new(&format!("/sys/devices/system/cpu/cpu{c}")).exists()
}

fn first_allowed_cpu() -> usize {
    ThreadAffinity::get()
        .and_then(|a| {
            // SAFETY: CPU_ISSET reads the mask.
            (0..libc::CPU_SETSIZE as usize).find(|&c| unsafe { libc::CPU_ISSET(c, &a.0) })
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_defaults_and_order() {
        let cfg = EalConfig {
            lcores: vec![1, 2],
            no_huge: true,
            file_prefix: Some("t".into()),
            vdevs: vec!["net_null0".into()],
            args: vec!["--no-pci".into()],
            ..Default::default()
        };
        assert_eq!(
            cfg.argv().join(" "),
            "weir -l 1,2 --main-lcore 1 --no-huge --no-shconf -m 512 --file-prefix t \
             --no-telemetry \
             --vdev net_null0 --no-pci"
        );
        let huge = EalConfig {
            lcores: vec![3],
            memory_mb: Some(1024),
            ..Default::default()
        };
        let a = huge.argv().join(" ");
        assert!(a.starts_with("weir -l 3 --main-lcore 3 --in-memory -m 1024 --file-prefix weir-"));
    }

    #[test]
    fn help_is_recognised() {
        for a in ["-h", "--help", "--he", "--hel", "-vh", "--help=x"] {
            assert!(is_help(a), "{a}");
        }
        for a in ["--huge-dir", "-d", "-dh.so", "-l", "--no-huge", "-v", "--h"] {
            assert!(!is_help(a), "{a}");
        }
    }
}
