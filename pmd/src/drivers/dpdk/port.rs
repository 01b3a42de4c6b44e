//! [`DpdkPort`]: one queue of a DPDK ethdev port, as a weir [`Port`].

use super::eal::{live_port, require_eal};
use super::error::{strerror, DpdkError};
use super::pool::{DpdkMbuf, DpdkPool, VLAN_FLAGS};
use crate::buf::{Buf, Burst};
use crate::port::Port;
use crate::stats::QueueStats;
use rte_sys::{rte_eth_conf, rte_eth_dev_info, rte_eth_link, rte_eth_stats, rte_mbuf, rte_ring};
use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex, MutexGuard};

/// Device statistics are sampled at most this often (µs), in `flush` and
/// every [`STATS_POLLS`] calls of `rx_burst` on queue 0.
pub const STATS_INTERVAL_US: u64 = 10_000;
/// Queue 0 looks at the clock every this many `rx_burst` calls (a power
/// of two).
pub const STATS_POLLS: u32 = 1024;
const _: () = assert!(STATS_POLLS.is_power_of_two());

/// How to open a DPDK port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpdkPortConfig {
    /// The device: a PCI address (`0000:03:00.0`) of a NIC bound to
    /// vfio-pci, or a vdev string (`net_null0`, `net_ring0`,
    /// `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap,infinite_rx=1`,
    /// `net_af_packet0,iface=veth0`). The part before the first comma
    /// names the port; a vdev that does not exist yet is created.
    pub device: String,
    /// RX and TX queues, one pair per worker (RSS spreads flows over the
    /// RX queues when there are several and the device hashes).
    pub queues: usize,
    /// RX descriptors per queue (adjusted to the device's limits).
    pub rx_desc: u16,
    /// TX descriptors per queue (adjusted to the device's limits).
    pub tx_desc: u16,
    /// Receive every frame, not only those for the port's MAC address.
    pub promisc: bool,
    /// Set the device's MTU (L3 bytes), if given; ignored by devices that
    /// have none to set (most vdevs).
    pub mtu: Option<u16>,
}

impl Default for DpdkPortConfig {
    fn default() -> Self {
        DpdkPortConfig {
            device: String::new(),
            queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            promisc: true,
            mtu: None,
        }
    }
}

/// A port's link, as the device reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// Link up.
    pub up: bool,
    /// Speed in Mb/s (0: unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
    /// Speed negotiated rather than fixed.
    pub autoneg: bool,
}

/// The device's own counters (`rte_eth_stats_get`), totals since open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the device dropped: RX ring full (weir too slow).
    pub imissed: u64,
    /// Erroneous packets received.
    pub ierrors: u64,
    /// Packets that failed to go out.
    pub oerrors: u64,
    /// RX mbuf allocation failures (pool empty).
    pub rx_nombuf: u64,
}

impl DeviceStats {
    fn from_raw(s: &rte_eth_stats) -> Self {
        DeviceStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }
}

/// Ports open in this process, by port id; the lock also serialises
/// probing, configuring and closing devices.
static OPEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
/// Ring pairs made by [`ring_pair`] and not opened yet, by port name.
static RING_PAIRS: Mutex<Option<HashMap<String, Arc<RingSet>>>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The rings behind a [`ring_pair`]; freed (mbufs inside freed too) when
/// both ports are closed.
struct RingSet {
    rings: Vec<*mut rte_ring>,
}

// SAFETY: the rings are only touched by the ring PMD (through the ports)
// and by Drop, after both ports are closed.
unsafe impl Send for RingSet {}
unsafe impl Sync for RingSet {}

impl Drop for RingSet {
    fn drop(&mut self) {
        for &r in &self.rings {
            let mut objs = [std::ptr::null_mut(); 32];
            // SAFETY: no port uses the ring any more; what is in it are
            // mbufs some port transmitted and nobody received.
            unsafe {
                loop {
                    let n = rte_sys::shim_ring_dequeue_burst(
                        r,
                        objs.as_mut_ptr(),
                        objs.len() as u32,
                        std::ptr::null_mut(),
                    );
                    if n == 0 {
                        break;
                    }
                    rte_sys::rte_pktmbuf_free_bulk(objs.as_mut_ptr() as *mut *mut rte_mbuf, n);
                }
                rte_sys::rte_ring_free(r);
            }
        }
    }
}

/// What the names of [`ring_pair`] ports start with.
pub const RING_PREFIX: &str = "net_ring_";

/// Make two `net_ring` ports joined back to back: what `a` sends on queue
/// q, `b` receives on queue q, and back. `a` and `b` start with
/// [`RING_PREFIX`] (`net_ring_a`); `size` is the least number of packets
/// each ring holds (its slots are the next power of two above). Open them
/// with [`open`] like any device; they disappear when closed.
pub fn ring_pair(a: &str, b: &str, queues: usize, size: usize) -> Result<(), DpdkError> {
    require_eal()?;
    for n in [a, b] {
        if n.len() <= RING_PREFIX.len() || !n.starts_with(RING_PREFIX) || n.contains(',') {
            return Err(DpdkError::Invalid(format!(
                "ring pair port `{n}`: the name must start with `{RING_PREFIX}` and have no \
                 arguments"
            )));
        }
    }
    if a == b || queues == 0 || size == 0 {
        return Err(DpdkError::Invalid(format!(
            "ring pair `{a}`/`{b}`: two distinct names, at least one queue and one slot"
        )));
    }
    let _open = lock(&OPEN);
    let mut pairs = lock(&RING_PAIRS);
    let pairs = pairs.get_or_insert_with(HashMap::new);
    for n in [a, b] {
        if pairs.contains_key(n) || port_by_name(n).is_some() {
            return Err(DpdkError::Invalid(format!("device `{n}` exists already")));
        }
    }
    static SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let count = (size + 1).next_power_of_two() as u32;
    let mut set = RingSet { rings: Vec::new() };
    let mut make = |dir: &str, q: usize| -> Result<*mut rte_ring, DpdkError> {
        let name = CString::new(format!("weir_rp{serial}_{dir}{q}")).expect("no NUL");
        // SAFETY: plain call; one producer (the sending queue's worker) and
        // one consumer (the receiving queue's worker) per ring.
        let r = unsafe {
            rte_sys::rte_ring_create(
                name.as_ptr(),
                count,
                rte_sys::SOCKET_ID_ANY,
                rte_sys::RING_F_SP_ENQ | rte_sys::RING_F_SC_DEQ,
            )
        };
        if r.is_null() {
            let e = super::error::rte_errno();
            return Err(DpdkError::Invalid(format!(
                "ring pair `{a}`/`{b}`: cannot create a ring of {count}: {} (rte_errno {e})",
                strerror(e)
            )));
        }
        set.rings.push(r);
        Ok(r)
    };
    let mut ab = Vec::new();
    let mut ba = Vec::new();
    for q in 0..queues {
        ab.push(make("ab", q)?);
        ba.push(make("ba", q)?);
    }
    for (name, rx, tx) in [(a, &ba, &ab), (b, &ab, &ba)] {
        // rte_eth_from_rings names the port "net_ring_" + its argument.
        let c = CString::new(&name[RING_PREFIX.len()..]).expect("checked above");
        // SAFETY: the rings live in `set`, which the ports keep alive.
        let ret = unsafe {
            rte_sys::rte_eth_from_rings(
                c.as_ptr(),
                rx.as_ptr(),
                queues as u32,
                tx.as_ptr(),
                queues as u32,
                rte_sys::rte_socket_id(),
            )
        };
        if ret < 0 {
            let e = super::error::rte_errno();
            if name == b {
                // SAFETY: removes the `a` port made just before.
                unsafe { rte_sys::rte_vdev_uninit(CString::new(a).expect("checked").as_ptr()) };
            }
            return Err(DpdkError::Invalid(format!(
                "ring pair: cannot create port `{name}`: {} (rte_errno {e})",
                strerror(e)
            )));
        }
    }
    let set = Arc::new(set);
    pairs.insert(a.into(), set.clone());
    pairs.insert(b.into(), set);
    Ok(())
}

/// `rte_dev_probe`, with what DPDK logs meanwhile captured for the error
/// message (and passed on to the log as usual).
fn probe(dev: &CStr) -> (i32, String) {
    // SAFETY: the log stream is swapped for a memory stream only around
    // the call, under OPEN's lock; the buffer is read after fclose and
    // freed with free(), as open_memstream requires.
    unsafe {
        let mut buf: *mut libc::c_char = std::ptr::null_mut();
        let mut len = 0usize;
        let mem = libc::open_memstream(&mut buf, &mut len);
        if mem.is_null() {
            return (rte_sys::rte_dev_probe(dev.as_ptr()), String::new());
        }
        let saved = rte_sys::rte_log_get_stream();
        rte_sys::rte_openlog_stream(mem as *mut rte_sys::FILE);
        let ret = rte_sys::rte_dev_probe(dev.as_ptr());
        rte_sys::rte_openlog_stream(saved);
        libc::fclose(mem);
        if buf.is_null() {
            return (ret, String::new());
        }
        let text = CStr::from_ptr(buf).to_string_lossy().into_owned();
        libc::free(buf as *mut libc::c_void);
        if !saved.is_null() && !text.is_empty() {
            let c = CString::new(text.as_str()).unwrap_or_default();
            libc::fputs(c.as_ptr(), saved as *mut libc::FILE);
        }
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        (ret, lines.join("; "))
    }
}

fn port_by_name(name: &str) -> Option<u16> {
    let c = CString::new(name).ok()?;
    let mut id = 0u16;
    // SAFETY: plain lookup.
    (unsafe { rte_sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) } == 0).then_some(id)
}

/// An open ethdev port: configured, started; stopped and closed when the
/// last of its queues is dropped.
struct Device {
    port_id: u16,
    name: String,
    started: bool,
    rte_dev: *mut rte_sys::rte_device,
    /// The ring PMD counts unsent packets in `oerrors`, which `tx_burst`
    /// already counts in `tx_dropped`.
    count_oerrors: bool,
    rings: Option<Arc<RingSet>>,
    /// Last in drop order: the RX rings hold mbufs of this pool until the
    /// device is closed.
    _pool: DpdkPool,
}

// SAFETY: ethdev control calls on a port are made under OPEN's lock; the
// rte_device pointer is only used at close.
unsafe impl Send for Device {}
unsafe impl Sync for Device {}

impl Drop for Device {
    fn drop(&mut self) {
        let mut open = lock(&OPEN);
        // SAFETY: no queue of the port is polled any more (every DpdkPort
        // holding this Device is gone).
        unsafe {
            if self.started {
                rte_sys::rte_eth_dev_stop(self.port_id);
            }
            rte_sys::rte_eth_dev_close(self.port_id);
            // Remove the device too, so that opening it again probes it
            // afresh (a closed ethdev cannot be configured again).
            if !self.rte_dev.is_null() {
                rte_sys::rte_dev_remove(self.rte_dev);
            }
        }
        if let Some(o) = open.as_mut() {
            o.remove(&self.port_id);
        }
        self.rings = None;
        live_port(-1);
    }
}

/// One queue (RX and TX) of a DPDK port, owned by one worker.
///
/// `rx_burst` hands the mbufs the driver filled straight to the pipeline,
/// and `tx_burst` the pipeline's mbufs straight to the driver: no copy.
/// Queue 0 also folds the device's own drop and error counters into its
/// [`QueueStats`] (see the module doc of [`super`]).
pub struct DpdkPort {
    port_id: u16,
    queue: u16,
    stats: Arc<QueueStats>,
    /// Queue 0: the device totals last folded into `stats`.
    dev_last: Option<DeviceStats>,
    polls: u32,
    last_sample: u64,
    sample_ticks: u64,
    dev: Arc<Device>,
}

impl std::fmt::Debug for DpdkPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkPort")
            .field("name", &self.dev.name)
            .field("port_id", &self.port_id)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

fn dev_err(device: &str, op: impl Into<String>, ret: i32) -> DpdkError {
    DpdkError::Device {
        device: device.into(),
        op: op.into(),
        errno: ret.abs(),
        message: strerror(ret),
    }
}

/// Open a DPDK port: find the device (creating a vdev that does not exist
/// yet with `rte_dev_probe`), configure `cfg.queues` RX and TX queues on
/// `pool` (RSS over IP/TCP/UDP when there are several and the device can
/// hash; VLAN stripping when it can), start it and enable promiscuous
/// mode. Returns one [`DpdkPort`] per queue, in queue order.
///
/// `pool` should live on the device's NUMA socket
/// ([`DpdkPort::socket_id`] tells it, or `rte_eth_dev_socket_id`).
pub fn open(cfg: &DpdkPortConfig, pool: &DpdkPool) -> Result<Vec<DpdkPort>, DpdkError> {
    require_eal()?;
    let name = cfg
        .device
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if name.is_empty() {
        return Err(DpdkError::Invalid(format!(
            "device string `{}` names no device",
            cfg.device
        )));
    }
    if cfg.queues == 0 || cfg.queues > u16::MAX as usize {
        return Err(DpdkError::Config {
            device: name,
            message: format!("{} queues (1..=65535)", cfg.queues),
        });
    }
    let mut open_guard = lock(&OPEN);
    let open = open_guard.get_or_insert_with(HashSet::new);

    // Find the port, creating the device if need be.
    let port_id = match port_by_name(&name) {
        Some(id) => id,
        None => {
            let dev = CString::new(cfg.device.as_str()).map_err(|_| {
                DpdkError::Invalid(format!(
                    "device string `{}` contains a NUL byte",
                    cfg.device
                ))
            })?;
            let (ret, log) = probe(&dev);
            if ret < 0 && ret != -libc::EEXIST {
                let why = match -ret {
                    libc::ENODEV | libc::ENOENT => format!(
                        "probe failed: {}: not found on its bus (a NIC must be bound to \
                         vfio-pci, and the EAL started without --no-pci)",
                        strerror(ret)
                    ),
                    libc::EFAULT | libc::EINVAL => "probe failed: no driver of that name (a vdev \
                         is `net_<driver><n>[,key=value...]`: net_null0, net_ring0, \
                         net_pcap0,rx_pcap=FILE, net_af_packet0,iface=IF)"
                        .to_string(),
                    _ => format!("probe failed: the driver refused `{}`", cfg.device),
                };
                let why = if log.is_empty() {
                    why
                } else {
                    format!("{why}; DPDK said: {log}")
                };
                return Err(DpdkError::NoSuchDevice {
                    device: name,
                    reason: why,
                });
            }
            port_by_name(&name)
                .or_else(|| port_by_name(&format!("0000:{name}")))
                .ok_or_else(|| DpdkError::NoSuchDevice {
                    device: name.clone(),
                    reason: "probed, but no ethdev port of that name appeared (a PCI device is \
                             named by its full address, 0000:bb:dd.f)"
                        .into(),
                })?
        }
    };
    if open.contains(&port_id) {
        return Err(DpdkError::Config {
            device: name,
            message: "the port is open already".into(),
        });
    }
    let ring_set = lock(&RING_PAIRS).as_mut().and_then(|p| p.remove(&name));

    // SAFETY (whole block): plain ethdev calls on a port nobody else uses
    // (not in OPEN); structures are zeroed C structs filled by DPDK.
    let mut info: rte_eth_dev_info = unsafe { std::mem::zeroed() };
    let ret = unsafe { rte_sys::rte_eth_dev_info_get(port_id, &mut info) };
    if ret != 0 {
        return Err(dev_err(&name, "info get", ret));
    }
    let driver = if info.driver_name.is_null() {
        String::new()
    } else {
        // SAFETY: a static string of the driver.
        unsafe { CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned()
    };
    live_port(1);
    let mut device = Device {
        port_id,
        name: name.clone(),
        started: false,
        rte_dev: info.device,
        count_oerrors: driver != "net_ring",
        rings: ring_set,
        _pool: pool.clone(),
    };
    // From here on `device`'s Drop closes (and removes) the device if
    // anything fails.

    if let Err(e) = setup(&mut device, cfg, pool, &info, &driver) {
        // Device's Drop takes OPEN's lock.
        drop(open_guard);
        drop(device);
        return Err(e);
    }
    let queues = cfg.queues as u16;
    open.insert(port_id);
    let dev = Arc::new(device);
    let sample_ticks = crate::tsc::hz() / 1_000_000 * STATS_INTERVAL_US;
    let mut ports: Vec<DpdkPort> = (0..queues)
        .map(|q| DpdkPort {
            port_id,
            queue: q,
            stats: Arc::default(),
            dev_last: None,
            polls: 0,
            last_sample: 0,
            sample_ticks,
            dev: dev.clone(),
        })
        .collect();
    // Baseline: count only what happens from now on.
    ports[0].dev_last = Some(ports[0].device_stats());
    Ok(ports)
}

/// Configure, set up the queues of and start an open device.
fn setup(
    device: &mut Device,
    cfg: &DpdkPortConfig,
    pool: &DpdkPool,
    info: &rte_eth_dev_info,
    driver: &str,
) -> Result<(), DpdkError> {
    let (port_id, name) = (device.port_id, device.name.as_str());
    // SAFETY (whole function): plain ethdev calls on a port nobody else
    // uses; rte_eth_conf is a zeroed C struct.
    let queues = cfg.queues as u16;
    if queues > info.max_rx_queues || queues > info.max_tx_queues {
        return Err(DpdkError::Config {
            device: name.into(),
            message: format!(
                "{queues} queues asked for, the device ({driver}) has at most {} RX and {} TX \
                 queues",
                info.max_rx_queues, info.max_tx_queues
            ),
        });
    }
    let mut conf: rte_eth_conf = unsafe { std::mem::zeroed() };
    if queues > 1 {
        let hf = (rte_sys::RTE_ETH_RSS_IP | rte_sys::RTE_ETH_RSS_TCP | rte_sys::RTE_ETH_RSS_UDP)
            as u64
            & info.flow_type_rss_offloads;
        if hf != 0 {
            conf.rxmode.mq_mode = rte_sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
        }
    }
    // Offloads: only what the device has (a vdev has few).
    conf.rxmode.offloads = rte_sys::RTE_ETH_RX_OFFLOAD_VLAN_STRIP as u64 & info.rx_offload_capa;
    let ret = unsafe { rte_sys::rte_eth_dev_configure(port_id, queues, queues, &conf) };
    if ret != 0 {
        return Err(dev_err(name, format!("configure ({queues} queues)"), ret));
    }
    let (mut rxd, mut txd) = (cfg.rx_desc, cfg.tx_desc);
    let ret = unsafe { rte_sys::rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &mut rxd, &mut txd) };
    if ret != 0 {
        return Err(dev_err(name, "descriptor count adjustment", ret));
    }
    let dev_socket = unsafe { rte_sys::rte_eth_dev_socket_id(port_id) };
    let socket = if dev_socket >= 0 {
        dev_socket
    } else {
        pool.socket_id()
    } as u32;
    for q in 0..queues {
        let ret = unsafe {
            rte_sys::rte_eth_rx_queue_setup(
                port_id,
                q,
                rxd,
                socket,
                std::ptr::null(),
                pool.as_ptr(),
            )
        };
        if ret != 0 {
            return Err(dev_err(
                name,
                format!(
                    "rx queue {q} setup ({rxd} descriptors, pool `{}`)",
                    pool.name()
                ),
                ret,
            ));
        }
        let ret =
            unsafe { rte_sys::rte_eth_tx_queue_setup(port_id, q, txd, socket, std::ptr::null()) };
        if ret != 0 {
            return Err(dev_err(
                name,
                format!("tx queue {q} setup ({txd} descriptors)"),
                ret,
            ));
        }
    }
    if let Some(mtu) = cfg.mtu {
        let ret = unsafe { rte_sys::rte_eth_dev_set_mtu(port_id, mtu) };
        // Most vdevs (net_pcap, net_ring) have no MTU to set.
        if ret != 0 && ret != -libc::ENOTSUP {
            return Err(dev_err(name, format!("set MTU {mtu}"), ret));
        }
    }
    let ret = unsafe { rte_sys::rte_eth_dev_start(port_id) };
    if ret != 0 {
        return Err(dev_err(name, "start", ret));
    }
    device.started = true;
    if cfg.promisc {
        let ret = unsafe { rte_sys::rte_eth_promiscuous_enable(port_id) };
        if ret != 0 && ret != -libc::ENOTSUP {
            return Err(dev_err(name, "promiscuous mode", ret));
        }
    }
    Ok(())
}

impl DpdkPort {
    /// The ethdev port id.
    pub fn port_id(&self) -> u16 {
        self.port_id
    }

    /// The queue this value polls and transmits on.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// The device's name (`net_pcap0`, `0000:03:00.0`).
    pub fn name(&self) -> &str {
        &self.dev.name
    }

    /// The device's NUMA socket (-1: unknown).
    pub fn socket_id(&self) -> i32 {
        // SAFETY: plain query on an open port.
        unsafe { rte_sys::rte_eth_dev_socket_id(self.port_id) }
    }

    /// The device's MAC address.
    pub fn mac_addr(&self) -> [u8; 6] {
        let mut a = rte_sys::rte_ether_addr::default();
        // SAFETY: plain query on an open port.
        unsafe { rte_sys::rte_eth_macaddr_get(self.port_id, &mut a) };
        a.addr_bytes
    }

    /// The link, without waiting for the device to find out.
    pub fn link_status(&self) -> LinkStatus {
        let mut l = rte_eth_link::default();
        // SAFETY: plain query on an open port.
        if unsafe { rte_sys::rte_eth_link_get_nowait(self.port_id, &mut l) } != 0 {
            return LinkStatus::default();
        }
        let speed = l.link_speed;
        LinkStatus {
            up: l.link_status() as u32 == rte_sys::RTE_ETH_LINK_UP,
            speed_mbps: if speed == u32::MAX { 0 } else { speed },
            full_duplex: l.link_duplex() as u32 == rte_sys::RTE_ETH_LINK_FULL_DUPLEX,
            autoneg: l.link_autoneg() as u32 == rte_sys::RTE_ETH_LINK_AUTONEG,
        }
    }

    /// The device's own counters (all queues), read now.
    pub fn device_stats(&self) -> DeviceStats {
        let mut s = rte_eth_stats::default();
        // SAFETY: plain query on an open port.
        unsafe { rte_sys::rte_eth_stats_get(self.port_id, &mut s) };
        DeviceStats::from_raw(&s)
    }

    /// Queue 0: fold what the device counted since the last sample into
    /// this queue's counters now (`rx_missed` += imissed + rx_nombuf,
    /// `rx_errors` += ierrors, `tx_dropped` += oerrors). Other queues: no-op.
    pub fn sample_device_stats(&mut self) {
        let Some(last) = self.dev_last else { return };
        let now = self.device_stats();
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let missed = d(now.imissed, last.imissed) + d(now.rx_nombuf, last.rx_nombuf);
        if missed > 0 {
            self.stats.rx_missed.add(missed);
        }
        let errors = d(now.ierrors, last.ierrors);
        if errors > 0 {
            self.stats.rx_errors.add(errors);
        }
        let oerr = d(now.oerrors, last.oerrors);
        if oerr > 0 && self.dev.count_oerrors {
            self.stats.tx_dropped.add(oerr);
        }
        self.dev_last = Some(now);
        self.last_sample = crate::tsc::rdtsc();
    }

    /// Hand `pkts` (`bytes` long in all) to the device, freeing and
    /// counting what it does not take; `untagged` more were dropped
    /// before (no room for their tag).
    #[inline(always)]
    fn send(&mut self, pkts: &mut Burst<DpdkMbuf>, bytes: u64, untagged: u64) -> usize {
        let n = pkts.len();
        // SAFETY: the driver takes ownership of the first `sent` mbufs; the
        // rest are ours and freed here; then the vector forgets them all.
        let (sent, lost_bytes) = unsafe {
            let ptrs = pkts.as_mut_ptr() as *mut *mut rte_mbuf;
            let sent = if n > 0 {
                rte_sys::shim_eth_tx_burst(self.port_id, self.queue, ptrs, n as u16) as usize
            } else {
                0
            };
            let mut lost = 0u64;
            if sent < n {
                for i in sent..n {
                    lost += (**ptrs.add(i)).data_len as u64;
                }
                rte_sys::rte_pktmbuf_free_bulk(ptrs.add(sent), (n - sent) as u32);
            }
            pkts.set_len(0);
            (sent, lost)
        };
        self.stats.tx_packets.add(sent as u64);
        self.stats.tx_bytes.add(bytes - lost_bytes);
        let dropped = (n - sent) as u64 + untagged;
        if dropped > 0 {
            self.stats.tx_dropped.add(dropped);
        }
        sent
    }

    /// Poll the device into the spare capacity of `out`: where the new
    /// mbufs start and how many came. `out`'s length is the caller's to
    /// raise over the ones it keeps. Every [`STATS_POLLS`] polls of queue
    /// 0, the device's counters too, when due.
    #[inline(always)]
    fn receive(&mut self, out: &mut Burst<DpdkMbuf>) -> (*mut *mut rte_mbuf, usize) {
        if self.dev_last.is_some() {
            self.polls = self.polls.wrapping_add(1);
            if self.polls & (STATS_POLLS - 1) == 0 {
                self.maybe_sample();
            }
        }
        // SAFETY: DpdkMbuf is a transparent non-null mbuf pointer and the
        // driver writes at most `room` pointers into the spare capacity.
        unsafe {
            let slots = (out.as_mut_ptr() as *mut *mut rte_mbuf).add(out.len());
            let room = out.remaining_capacity();
            if room == 0 {
                return (slots, 0);
            }
            let n =
                rte_sys::shim_eth_rx_burst(self.port_id, self.queue, slots, room as u16) as usize;
            (slots, n)
        }
    }

    #[inline]
    fn maybe_sample(&mut self) {
        if self.dev_last.is_some()
            && crate::tsc::rdtsc().wrapping_sub(self.last_sample) >= self.sample_ticks
        {
            self.sample_device_stats();
        }
    }
}

impl Drop for DpdkPort {
    fn drop(&mut self) {
        // Final counts before the device goes.
        self.sample_device_stats();
    }
}

/// Put an 802.1Q tag with TCI `tci` back after the MAC addresses, in the
/// headroom. False if the frame has no room or no MAC header.
#[inline]
fn insert_vlan(p: &mut DpdkMbuf, tci: u16) -> bool {
    if p.len() < 12 || p.headroom() < 4 {
        return false;
    }
    let Some(_) = p.prepend(4) else { return false };
    let d = p.data_mut();
    d.copy_within(4..16, 0);
    d[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
    d[14..16].copy_from_slice(&tci.to_be_bytes());
    p.set_vlan(None);
    true
}

/// The uncommon part of a received burst: drop chained mbufs (larger than
/// one buffer; weir handles single segments only) and count stripped VLAN
/// tags as on the wire. Compacts the kept ones to the front of `slots`;
/// returns (kept, extra bytes, dropped).
///
/// # Safety
/// `slots[..n]` are mbufs just received, owned by the caller.
#[cold]
unsafe fn rx_fixup(slots: *mut *mut rte_mbuf, n: usize) -> (usize, u64, u64) {
    let (mut kept, mut extra, mut bad) = (0usize, 0u64, 0u64);
    for i in 0..n {
        let m = *slots.add(i);
        let mb = &*m;
        if mb.nb_segs != 1 {
            extra = extra.wrapping_sub(mb.data_len as u64);
            rte_sys::shim_pktmbuf_free(m);
            bad += 1;
            continue;
        }
        if mb.ol_flags & VLAN_FLAGS != 0 {
            // Counted as on the wire, tag included.
            extra = extra.wrapping_add(4);
        }
        *slots.add(kept) = m;
        kept += 1;
    }
    (kept, extra, bad)
}

impl Port<DpdkPool> for DpdkPort {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<DpdkMbuf>) -> usize {
        let start = out.len();
        let (slots, n) = self.receive(out);
        if n == 0 {
            return 0;
        }
        // SAFETY: `slots[..n]` are the mbufs just received; the length is
        // raised only over the ones kept, compacted to the front.
        unsafe {
            // The common case touches each mbuf's first cache line only:
            // its length, segment count and offload flags. One segment
            // each adds up to n.
            let (mut bytes, mut segs, mut flags) = (0u64, 0u64, 0u64);
            for i in 0..n {
                let mb = &**slots.add(i);
                bytes += mb.data_len as u64;
                segs += mb.nb_segs as u64;
                flags |= mb.ol_flags;
            }
            let kept = if segs == n as u64 && flags & VLAN_FLAGS == 0 {
                n
            } else {
                let (kept, extra, bad) = rx_fixup(slots, n);
                bytes = bytes.wrapping_add(extra);
                if bad > 0 {
                    self.stats.rx_errors.add(bad);
                }
                kept
            };
            out.set_len(start + kept);
            self.stats.rx_packets.add(kept as u64);
            self.stats.rx_bytes.add(bytes);
            kept
        }
    }

    /// The burst without the scan of [`Port::rx_burst`]: no byte count, no
    /// check for chains (`pkt_len == data_len` tells a chain: see
    /// [`Buf::whole`]).
    #[inline]
    fn rx_burst_uncounted(&mut self, out: &mut Burst<DpdkMbuf>) -> usize {
        let start = out.len();
        let (_, n) = self.receive(out);
        // SAFETY: the driver wrote `n` mbufs after `start`.
        unsafe { out.set_len(start + n) };
        if n > 0 {
            self.stats.rx_packets.add(n as u64);
        }
        n
    }

    #[inline]
    fn count_rx_bytes(&mut self, bytes: u64) {
        self.stats.rx_bytes.add(bytes);
    }

    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<DpdkMbuf>) -> usize {
        if pkts.is_empty() {
            return 0;
        }
        let mut untagged = 0u64;
        let mut bytes = 0u64;
        let mut tagged = 0u64;
        for p in pkts.iter() {
            bytes += p.len() as u64;
            tagged |= p.mb().ol_flags & VLAN_FLAGS;
        }
        if tagged != 0 {
            // Put the tags back in software (no VLAN insert offload is
            // configured), dropping frames with no room for one.
            bytes = 0;
            pkts.retain(|p| {
                if let Some(tci) = p.vlan() {
                    if !insert_vlan(p, tci) {
                        untagged += 1;
                        return false;
                    }
                }
                bytes += p.len() as u64;
                true
            });
        }
        self.send(pkts, bytes, untagged)
    }

    #[inline]
    fn tx_burst_plain(&mut self, pkts: &mut Burst<DpdkMbuf>, bytes: u64) -> usize {
        debug_assert!(pkts.iter().all(|p| p.vlan().is_none()));
        debug_assert_eq!(pkts.iter().map(|p| p.len() as u64).sum::<u64>(), bytes);
        if pkts.is_empty() {
            return 0;
        }
        self.send(pkts, bytes, 0)
    }

    fn flush(&mut self) {
        self.maybe_sample();
    }

    fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }
}
