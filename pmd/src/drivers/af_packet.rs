//! `af_packet`: any Linux interface (veth, tap, a real NIC) through
//! memory-mapped `TPACKET_V3` rings.
//!
//! Each queue is one `AF_PACKET`/`SOCK_RAW` socket bound to the interface
//! with `ETH_P_ALL`, with a receive ring and a transmit ring mapped into
//! weir's address space in one mapping. Several queues of one interface
//! join one `PACKET_FANOUT` group (`PACKET_FANOUT_HASH` with
//! `PACKET_FANOUT_FLAG_DEFRAG`), so the kernel spreads flows over them, as
//! RSS spreads them over a NIC's queues.
//!
//! # Ring layout
//!
//! ```text
//!  one mmap per queue (socket); the RX ring first, then the TX ring
//!  +------------------------------------------+-------------------------+
//!  | RX: block_count blocks of block_size     | TX: blocks of frames    |
//!  +------------------------------------------+-------------------------+
//!
//!  RX block (TPACKET_V3: the kernel packs variable-sized frames)
//!  +------------------------------------------------------------------+
//!  | tpacket_block_desc                                               |
//!  |   version, offset_to_priv                                        |
//!  |   block_status   TP_STATUS_KERNEL (0) | TP_STATUS_USER (1)       |
//!  |   num_pkts, offset_to_first_pkt, blk_len, seq_num, timestamps    |
//!  +------------------------------------------------------------------+ <- offset_to_first_pkt
//!  | tpacket3_hdr (48 B)                 | sockaddr_ll | pad | frame   |
//!  |   tp_next_offset ----------------+  | sll_pkttype |     | tp_mac..|
//!  |   tp_snaplen, tp_len, tp_status  |  |             |     | +snaplen|
//!  |   tp_mac, hv1.tp_vlan_tci/_tpid  |  |             |     |         |
//!  +----------------------------------|-------------------------------+
//!  | tpacket3_hdr  <------------------+  ...  (num_pkts frames)        |
//!  +------------------------------------------------------------------+
//!
//!  The kernel fills the active block and hands it to weir (block_status
//!  = USER) when it is full or after RETIRE_TIMEOUT_MS; weir reads every
//!  frame and hands the whole block back (block_status = KERNEL).
//!
//!  TX frame (fixed size; frames never straddle a block)
//!  +----------------------+---------------------------------+---------+
//!  | tpacket3_hdr (48 B)  | frame data, tp_len bytes        | unused  |
//!  |  tp_status           |                                 |         |
//!  |  tp_len, next = 0    |                                 |         |
//!  +----------------------+---------------------------------+---------+
//!  0                      48                            frame_size
//!
//!  tp_status: AVAILABLE (0) --weir--> SEND_REQUEST (1)
//!             --kernel--> SENDING (2) --> AVAILABLE once the skb is freed
//! ```
//!
//! # Receive
//!
//! `rx_burst` walks the current block, copying each frame into a buffer from
//! the pool (one copy from the ring is unavoidable with `AF_PACKET`). A
//! cursor inside the block survives across calls, so a burst may end in
//! the middle of a block; the block goes back to the kernel once its last
//! frame is read. The driver sets `meta.queue`, never `meta.in_port` (the
//! pipeline does).
//!
//! - **802.1Q**: the kernel strips the outer tag of a received frame into
//!   the frame header (`TP_STATUS_VLAN_VALID`, `tp_vlan_tci`, and
//!   `tp_vlan_tpid` with `TP_STATUS_VLAN_TPID_VALID`). A `0x8100` tag
//!   becomes the packet's [`Buf::vlan`]; any other TPID (802.1ad
//!   `0x88a8`) cannot be expressed there, so the tag is put
//!   back into the data and the frame is delivered exactly as on the wire.
//! - **Own traffic**: `PACKET_IGNORE_OUTGOING` (Linux 4.20) keeps frames
//!   leaving the interface out of the ring; on older kernels the driver
//!   skips frames whose `sll_pkttype` is `PACKET_OUTGOING`. Either way weir
//!   receives neither its own transmissions nor the host's.
//! - **Checksums**: frames a local stack sent through a veth or tap with
//!   checksum offload arrive with `TP_STATUS_CSUMNOTREADY` and only the
//!   pseudo-header sum in their TCP/UDP checksum; the driver completes it
//!   (see `csum`), since a router forwards such frames to hosts that check.
//! - **Counters**: `rx_packets`/`rx_bytes` (bytes as on the wire, a stripped
//!   tag included); `rx_missed` for frames dropped because the pool was
//!   empty plus the kernel's ring-overrun drops (`PACKET_STATISTICS`, read
//!   every [`STATS_EVERY`] calls of `rx_burst` and in `flush`; reading resets
//!   the kernel's counter); `rx_errors` for frames truncated by the ring
//!   (`tp_snaplen < tp_len`) or longer than the pool's data room, e.g.
//!   64 KiB GSO frames from a veth peer with TSO on.
//!
//! # Transmit
//!
//! `tx_burst` copies each packet into the next TX frame if that frame is
//! `TP_STATUS_AVAILABLE`, putting a `0x8100` tag back after the MAC
//! addresses when the packet has a [`Buf::vlan`], marks it
//! `TP_STATUS_SEND_REQUEST`, and kicks the kernel once per burst with a
//! non-blocking `sendto`. A packet finding no free frame, or too long for a
//! frame, or shorter than an Ethernet header, is dropped and counted in
//! `tx_dropped`. The socket uses `PACKET_QDISC_BYPASS` (straight to the
//! driver, like a NIC queue) and `PACKET_LOSS` (a frame the kernel rejects
//! is skipped instead of stalling the ring).
//!
//! # Limits
//!
//! - `TPACKET_V3` transmit rings need Linux 4.11 or later; there is no
//!   fallback to a `TPACKET_V2` ring on older kernels (opening fails with a
//!   clear error).
//! - A received frame is delivered once its block is retired: under light
//!   load that adds up to [`RETIRE_TIMEOUT_MS`] of latency.
//! - Frames longer than the pool's data room (GSO/GRO super-frames) are
//!   dropped: switch TSO/GSO/GRO off on the peer of a veth.

mod csum;

use crate::buf::{Buf, Burst, Pool};
use crate::port::Port;
use crate::stats::QueueStats;
use std::ffi::CString;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Milliseconds after which the kernel hands over a partly filled RX block.
pub const RETIRE_TIMEOUT_MS: u32 = 2;
/// Frames in each queue's TX ring (rounded up to fill whole blocks).
pub const TX_FRAMES: usize = 512;
/// `rx_burst` calls between two reads of the kernel's drop counter.
pub const STATS_EVERY: u32 = 1024;

const TX_BLOCK_MAX: usize = 64 << 10;
const ETH_HLEN: usize = 14;
const ETH_ALEN2: usize = 12;
const VLAN_HLEN: usize = 4;
const TPID_8021Q: u16 = 0x8100;
/// Offset of the packet data in a TX frame, and of the `sockaddr_ll` in an
/// RX frame: `TPACKET_ALIGN(sizeof(struct tpacket3_hdr))`.
const HDR_LEN: usize = libc::TPACKET3_HDRLEN - size_of::<libc::sockaddr_ll>();
/// Smallest frame size: the header and a minimal Ethernet frame.
const MIN_FRAME: usize = libc::TPACKET3_HDRLEN + 64;

/// How to open an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfPacketConfig {
    /// Interface name, e.g. `eth0` or `veth1`.
    pub iface: String,
    /// Number of queues (sockets in one fanout group); at least 1.
    pub queues: usize,
    /// Bytes per RX ring block: a multiple of the page size. The largest
    /// frame received whole is a little smaller than one block.
    pub block_size: usize,
    /// RX ring blocks per queue.
    pub block_count: usize,
    /// Bytes per TX ring frame, header included (a multiple of 16); the
    /// largest frame sent is `frame_size - 48` bytes.
    pub frame_size: usize,
    /// Fanout group id; by default derived from the interface index. Given
    /// explicitly, even a single queue joins the group.
    pub fanout_group: Option<u16>,
    /// Put the interface in promiscuous mode while the port is open.
    pub promisc: bool,
}

impl Default for AfPacketConfig {
    /// One queue, 4 MiB of RX ring (16 blocks of 256 KiB), 2048-byte TX
    /// frames, promiscuous.
    fn default() -> Self {
        AfPacketConfig {
            iface: String::new(),
            queues: 1,
            block_size: 256 << 10,
            block_count: 16,
            frame_size: 2048,
            fanout_group: None,
            promisc: true,
        }
    }
}

impl AfPacketConfig {
    /// The default configuration for interface `iface`.
    pub fn new(iface: impl Into<String>) -> Self {
        AfPacketConfig {
            iface: iface.into(),
            ..Default::default()
        }
    }
}

/// Errors opening an `af_packet` port.
#[derive(Debug, thiserror::Error)]
pub enum AfPacketError {
    /// The interface does not exist (in the calling thread's network
    /// namespace).
    #[error("af_packet: no such interface `{0}`")]
    NoSuchInterface(String),
    /// Opening a packet socket was refused.
    #[error("af_packet needs CAP_NET_RAW (run as root) to open `{0}`")]
    Permission(String),
    /// The configuration is unusable.
    #[error("af_packet: invalid configuration for `{iface}`: {reason}")]
    Config {
        /// Interface name.
        iface: String,
        /// What is wrong.
        reason: String,
    },
    /// A system call failed.
    #[error("af_packet: {op} on `{iface}` failed: {source}")]
    Os {
        /// The operation, e.g. `setsockopt(PACKET_RX_RING)`.
        op: &'static str,
        /// Interface name.
        iface: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Ring sizes derived from a configuration.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    rx_block: usize,
    rx_blocks: usize,
    rx_frame: usize,
    tx_block: usize,
    tx_blocks: usize,
    tx_frame: usize,
}

impl Geometry {
    fn new(cfg: &AfPacketConfig) -> Result<Geometry, AfPacketError> {
        let bad = |reason: String| AfPacketError::Config {
            iface: cfg.iface.clone(),
            reason,
        };
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        if cfg.queues == 0 || cfg.queues > usize::from(u16::MAX) {
            return Err(bad(format!("queues must be 1..=65535, not {}", cfg.queues)));
        }
        if cfg.block_size == 0 || cfg.block_size.next_multiple_of(page) != cfg.block_size {
            return Err(bad(format!(
                "block_size {} is not a positive multiple of the page size ({page})",
                cfg.block_size
            )));
        }
        if cfg.block_count == 0 {
            return Err(bad("block_count must be positive".into()));
        }
        if cfg.frame_size < MIN_FRAME
            || cfg.frame_size.next_multiple_of(libc::TPACKET_ALIGNMENT) != cfg.frame_size
            || cfg.frame_size > cfg.block_size
        {
            return Err(bad(format!(
                "frame_size {} must be a multiple of {} in {MIN_FRAME}..={}",
                cfg.frame_size,
                libc::TPACKET_ALIGNMENT,
                cfg.block_size
            )));
        }
        let tx_block = cfg
            .frame_size
            .next_multiple_of(page)
            .max(TX_BLOCK_MAX.min(cfg.block_size));
        let per_block = tx_block / cfg.frame_size;
        let tx_blocks = TX_FRAMES.div_ceil(per_block);
        let g = Geometry {
            rx_block: cfg.block_size,
            rx_blocks: cfg.block_count,
            rx_frame: cfg.frame_size,
            tx_block,
            tx_blocks,
            tx_frame: cfg.frame_size,
        };
        if u32::try_from(g.rx_len()).is_err() || u32::try_from(g.tx_len()).is_err() {
            return Err(bad("rings larger than 4 GiB".into()));
        }
        Ok(g)
    }

    fn rx_len(&self) -> usize {
        self.rx_block * self.rx_blocks
    }

    fn tx_len(&self) -> usize {
        self.tx_block * self.tx_blocks
    }

    fn tx_per_block(&self) -> usize {
        self.tx_block / self.tx_frame
    }

    fn tx_frames(&self) -> usize {
        self.tx_per_block() * self.tx_blocks
    }
}

/// The rings' shared mapping; unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; nothing points
        // into the mapping once its port is dropped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Receive-ring cursor.
struct RxRing {
    base: *mut u8,
    block_size: usize,
    blocks: usize,
    /// Block being read (or the next one to wait for).
    block: usize,
    /// Frames of the current block not yet read; 0 when no block is open.
    left: u32,
    /// Offset of the next frame within the current block.
    off: usize,
}

/// Transmit-ring cursor.
struct TxRing {
    base: *mut u8,
    block_size: usize,
    frame_size: usize,
    per_block: usize,
    frames: usize,
    /// Next frame to fill.
    head: usize,
    /// Frames were queued but the last kick failed.
    unkicked: bool,
}

impl TxRing {
    #[inline]
    fn frame(&self, i: usize) -> *mut u8 {
        let off = (i / self.per_block) * self.block_size + (i % self.per_block) * self.frame_size;
        // SAFETY: i < frames, so the frame lies inside the TX ring.
        unsafe { self.base.add(off) }
    }
}

/// A 32-bit status word the kernel shares with us.
///
/// # Safety
/// `p` must be 4-byte aligned and point into the ring mapping, which
/// outlives the returned reference.
#[inline]
unsafe fn status_word<'a>(p: *mut u8) -> &'a AtomicU32 {
    // SAFETY: per the caller; the kernel only ever accesses the word with
    // aligned 32-bit loads and stores.
    unsafe { AtomicU32::from_ptr(p.cast()) }
}

/// One queue of an `af_packet` port: a packet socket with its rings.
pub struct AfPacketPort<P: Pool> {
    rx: RxRing,
    tx: TxRing,
    // Field order: unmap before the socket closes.
    _map: Mapping,
    fd: OwnedFd,
    pool: P,
    stats: Arc<QueueStats>,
    queue: u16,
    ifindex: u32,
    iface: String,
    mac: [u8; 6],
    /// `rx_burst` calls left until the next kernel counter read.
    polls: u32,
}

// SAFETY: the raw pointers point into the port's own mapping, which moves
// with it; nothing else in the process touches the rings.
unsafe impl<P: Pool> Send for AfPacketPort<P> {}

impl<P: Pool> std::fmt::Debug for AfPacketPort<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfPacketPort")
            .field("iface", &self.iface)
            .field("ifindex", &self.ifindex)
            .field("queue", &self.queue)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// Open `cfg.queues` queues on interface `cfg.iface`, in the calling
/// thread's network namespace. Received packets are copied into buffers
/// from `pool`.
///
/// Needs `CAP_NET_RAW`. Each returned port is one queue; move each to the
/// worker that polls it.
pub fn open<P: Pool>(cfg: &AfPacketConfig, pool: P) -> Result<Vec<AfPacketPort<P>>, AfPacketError> {
    let geo = Geometry::new(cfg)?;
    let ifindex = if_index(&cfg.iface)?;
    let fanout = if cfg.queues > 1 || cfg.fanout_group.is_some() {
        Some(cfg.fanout_group.unwrap_or(ifindex as u16))
    } else {
        None
    };
    let mut ports = Vec::with_capacity(cfg.queues);
    for q in 0..cfg.queues {
        ports.push(AfPacketPort::open_queue(
            cfg,
            &geo,
            ifindex,
            q as u16,
            fanout,
            pool.clone(),
        )?);
    }
    Ok(ports)
}

fn if_index(name: &str) -> Result<u32, AfPacketError> {
    let missing = || AfPacketError::NoSuchInterface(name.to_string());
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(missing());
    }
    let c = CString::new(name).map_err(|_| missing())?;
    // SAFETY: `c` is a valid NUL-terminated string.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(missing()),
        i => Ok(i),
    }
}

fn setopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to a live `T` of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl<P: Pool> AfPacketPort<P> {
    fn open_queue(
        cfg: &AfPacketConfig,
        geo: &Geometry,
        ifindex: u32,
        queue: u16,
        fanout: Option<u16>,
        pool: P,
    ) -> Result<Self, AfPacketError> {
        let os = |op: &'static str| {
            let source = io::Error::last_os_error();
            AfPacketError::Os {
                op,
                iface: cfg.iface.clone(),
                source,
            }
        };
        let os_err = |op: &'static str, source: io::Error| AfPacketError::Os {
            op,
            iface: cfg.iface.clone(),
            source,
        };

        // Protocol 0: no packets reach the socket until it is bound, after
        // the rings exist.
        // SAFETY: plain system call.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => {
                    AfPacketError::Permission(cfg.iface.clone())
                }
                _ => os_err("socket(AF_PACKET)", e),
            });
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let s = fd.as_raw_fd();

        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        setopt(s, libc::SOL_PACKET, libc::PACKET_VERSION, &version)
            .map_err(|e| os_err("setsockopt(PACKET_VERSION, TPACKET_V3)", e))?;
        // Before the rings: the kernel refuses PACKET_LOSS once they exist.
        let one: libc::c_int = 1;
        setopt(s, libc::SOL_PACKET, libc::PACKET_LOSS, &one)
            .map_err(|e| os_err("setsockopt(PACKET_LOSS)", e))?;
        let rx_req = libc::tpacket_req3 {
            tp_block_size: geo.rx_block as u32,
            tp_block_nr: geo.rx_blocks as u32,
            tp_frame_size: geo.rx_frame as u32,
            tp_frame_nr: ((geo.rx_block / geo.rx_frame) * geo.rx_blocks) as u32,
            tp_retire_blk_tov: RETIRE_TIMEOUT_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setopt(s, libc::SOL_PACKET, libc::PACKET_RX_RING, &rx_req)
            .map_err(|e| os_err("setsockopt(PACKET_RX_RING)", e))?;
        let tx_req = libc::tpacket_req3 {
            tp_block_size: geo.tx_block as u32,
            tp_block_nr: geo.tx_blocks as u32,
            tp_frame_size: geo.tx_frame as u32,
            tp_frame_nr: geo.tx_frames() as u32,
            tp_retire_blk_tov: 0,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setopt(s, libc::SOL_PACKET, libc::PACKET_TX_RING, &tx_req).map_err(|e| {
            os_err(
                "setsockopt(PACKET_TX_RING) (TPACKET_V3 TX needs Linux >= 4.11)",
                e,
            )
        })?;
        setopt(s, libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, &one)
            .map_err(|e| os_err("setsockopt(PACKET_QDISC_BYPASS)", e))?;
        // Linux >= 4.20; older kernels rely on the sll_pkttype check in rx.
        let _ = setopt(s, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &one);

        let len = geo.rx_len() + geo.tx_len();
        // SAFETY: maps the socket's rings; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                s,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(os("mmap(rings)"));
        }
        let map = Mapping {
            ptr: ptr.cast(),
            len,
        };

        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
        let r = unsafe {
            libc::bind(
                s,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ENODEV) | Some(libc::ENXIO) => {
                    AfPacketError::NoSuchInterface(cfg.iface.clone())
                }
                _ => os_err("bind", e),
            });
        }
        if cfg.promisc {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as i32,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setopt(s, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(|e| os_err("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)", e))?;
        }
        if let Some(group) = fanout {
            let mode = libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG;
            let arg = (mode << 16 | u32::from(group)) as libc::c_int;
            setopt(s, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg).map_err(|e| {
                if e.raw_os_error() == Some(libc::EINVAL) {
                    // Fanout groups are per network namespace: another
                    // socket holds this id for another interface or mode.
                    AfPacketError::Config {
                        iface: cfg.iface.clone(),
                        reason: format!(
                            "fanout group {group} is in use with another interface or mode; \
                             choose another fanout_group"
                        ),
                    }
                } else {
                    os_err("setsockopt(PACKET_FANOUT)", e)
                }
            })?;
        }
        let mac = hw_addr(s, &cfg.iface);

        let rx = RxRing {
            base: map.ptr,
            block_size: geo.rx_block,
            blocks: geo.rx_blocks,
            block: 0,
            left: 0,
            off: 0,
        };
        let tx = TxRing {
            // SAFETY: the TX ring follows the RX ring inside the mapping.
            base: unsafe { map.ptr.add(geo.rx_len()) },
            block_size: geo.tx_block,
            frame_size: geo.tx_frame,
            per_block: geo.tx_per_block(),
            frames: geo.tx_frames(),
            head: 0,
            unkicked: false,
        };
        Ok(AfPacketPort {
            rx,
            tx,
            _map: map,
            fd,
            pool,
            stats: Arc::default(),
            queue,
            ifindex,
            iface: cfg.iface.clone(),
            mac,
            polls: STATS_EVERY,
        })
    }

    /// Queue index within the port (sets `meta.queue` on receive).
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface's name.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The interface's MAC address when the queue was opened (zero if it
    /// has none).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Add the kernel's ring-overrun drops since the last read to
    /// `rx_missed` (`PACKET_STATISTICS` resets the kernel's counters).
    fn read_kernel_stats(&mut self) {
        // SAFETY: all-zero is a valid tpacket_stats_v3.
        let mut st: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` and `len` are valid for writes of the given size.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if r == 0 && st.tp_drops > 0 {
            self.stats.rx_missed.add(u64::from(st.tp_drops));
        }
    }

    /// Hand the current RX block back to the kernel and move to the next.
    #[inline]
    fn release_block(&mut self) {
        let rx = &mut self.rx;
        // SAFETY: block < blocks; block_status is the aligned u32 at
        // offset 8 of the block descriptor.
        unsafe {
            let bd = rx.base.add(rx.block * rx.block_size);
            status_word(bd.add(block_status_offset()))
                .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        }
        rx.left = 0;
        rx.block = (rx.block + 1) % rx.blocks;
    }

    /// Kick the kernel to send every frame marked SEND_REQUEST.
    fn kick(&mut self) {
        // SAFETY: a send with no data and no address on a bound packet
        // socket with a TX ring transmits the ring's pending frames.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                std::ptr::null(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null(),
                0,
            )
        };
        // On failure (ENOBUFS, EAGAIN, ENETDOWN) the frames stay marked
        // and go out with the next kick.
        self.tx.unkicked = r < 0;
    }
}

impl<P: Pool> AsRawFd for AfPacketPort<P> {
    /// The packet socket (e.g. to sleep in `poll` while idle).
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[inline]
const fn block_status_offset() -> usize {
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, block_status)
}

/// The interface's MAC address (zeros if it has none or the ioctl fails).
fn hw_addr(fd: RawFd, name: &str) -> [u8; 6] {
    // SAFETY: all-zero is a valid ifreq.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr
        .ifr_name
        .iter_mut()
        .zip(name.bytes().take(libc::IFNAMSIZ - 1))
    {
        *d = s as libc::c_char;
    }
    // SAFETY: `ifr` is a valid ifreq naming the interface.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR, &mut ifr) } != 0 {
        return [0; 6];
    }
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    mac
}

/// What one RX frame turned into.
enum Rx<B> {
    Packet(B, usize),
    Skip,
    Missed,
    Error,
}

impl<P: Pool> AfPacketPort<P> {
    /// Turn the frame at `frame` (inside the current block, `room` bytes
    /// left in it) into a packet.
    ///
    /// # Safety
    /// `frame` must point at a frame header inside a block owned by user
    /// space, with `room` bytes of the block from there on.
    #[inline]
    unsafe fn take_frame(&self, frame: *const u8, room: usize) -> Rx<P::Buf> {
        if room < libc::TPACKET3_HDRLEN {
            return Rx::Error;
        }
        // SAFETY: the header fits in the block (checked above); the kernel
        // aligns frames to 16 bytes.
        let h = unsafe { &*frame.cast::<libc::tpacket3_hdr>() };
        // SAFETY: the sockaddr_ll follows the aligned header (checked above).
        let pkttype = unsafe { *frame.add(HDR_LEN + offset_of!(libc::sockaddr_ll, sll_pkttype)) };
        if pkttype == libc::PACKET_OUTGOING {
            return Rx::Skip;
        }
        let snap = h.tp_snaplen as usize;
        let mac = usize::from(h.tp_mac);
        if snap < h.tp_len as usize || mac + snap > room {
            return Rx::Error;
        }
        // SAFETY: the frame data lies inside the block (checked above).
        let data = unsafe { std::slice::from_raw_parts(frame.add(mac), snap) };
        let status = h.tp_status;
        let tag = (status & libc::TP_STATUS_VLAN_VALID != 0).then(|| {
            let tpid = if status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                h.hv1.tp_vlan_tpid
            } else {
                TPID_8021Q
            };
            (tpid, h.hv1.tp_vlan_tci as u16)
        });
        // A tag Meta cannot hold (802.1ad) goes back into the data.
        let reinsert = matches!(tag, Some((tpid, _)) if tpid != TPID_8021Q);
        if reinsert && snap < ETH_ALEN2 {
            return Rx::Error;
        }
        let len = snap + if reinsert { VLAN_HLEN } else { 0 };
        if len > self.pool.data_room() {
            return Rx::Error;
        }
        let Some(mut b) = self.pool.alloc() else {
            return Rx::Missed;
        };
        let Some(dst) = b.append(len) else {
            return Rx::Error;
        };
        match tag {
            Some((tpid, tci)) if reinsert => {
                dst[..ETH_ALEN2].copy_from_slice(&data[..ETH_ALEN2]);
                dst[ETH_ALEN2..ETH_ALEN2 + 2].copy_from_slice(&tpid.to_be_bytes());
                dst[ETH_ALEN2 + 2..ETH_ALEN2 + 4].copy_from_slice(&tci.to_be_bytes());
                dst[ETH_ALEN2 + VLAN_HLEN..].copy_from_slice(&data[ETH_ALEN2..]);
            }
            _ => dst.copy_from_slice(data),
        }
        if status & libc::TP_STATUS_CSUMNOTREADY != 0 {
            csum::complete(b.data_mut());
        }
        b.meta_mut().queue = self.queue;
        let mut wire = len;
        if let Some((_, tci)) = tag.filter(|_| !reinsert) {
            b.set_vlan(Some(tci));
            wire += VLAN_HLEN;
        }
        Rx::Packet(b, wire)
    }
}

impl<P: Pool> Port<P> for AfPacketPort<P> {
    fn rx_burst(&mut self, out: &mut Burst<P::Buf>) -> usize {
        self.polls -= 1;
        if self.polls == 0 {
            self.polls = STATS_EVERY;
            self.read_kernel_stats();
        }
        let (mut pkts, mut bytes, mut missed, mut errors) = (0u64, 0u64, 0u64, 0u64);
        while !out.is_full() {
            // SAFETY (for the pointer arithmetic below): block < blocks and
            // off < block_size, so every pointer stays inside the RX ring.
            let bd = unsafe { self.rx.base.add(self.rx.block * self.rx.block_size) };
            if self.rx.left == 0 {
                // SAFETY: the status word of a block descriptor in the ring.
                let st =
                    unsafe { status_word(bd.add(block_status_offset())) }.load(Ordering::Acquire);
                if st & libc::TP_STATUS_USER == 0 {
                    break;
                }
                // SAFETY: the block is ours (status USER, read with Acquire).
                let h1 = unsafe { &(*bd.cast::<libc::tpacket_block_desc>()).hdr.bh1 };
                let first = h1.offset_to_first_pkt as usize;
                if h1.num_pkts == 0 || first >= self.rx.block_size {
                    self.release_block();
                    continue;
                }
                self.rx.left = h1.num_pkts;
                self.rx.off = first;
            }
            let room = self.rx.block_size - self.rx.off;
            // SAFETY: off < block_size; the block is ours until released.
            let frame = unsafe { bd.add(self.rx.off) };
            // SAFETY: as above; `room` bytes of the block follow `frame`.
            match unsafe { self.take_frame(frame, room) } {
                Rx::Packet(b, n) => {
                    out.push(b);
                    pkts += 1;
                    bytes += n as u64;
                }
                Rx::Skip => {}
                Rx::Missed => missed += 1,
                Rx::Error => errors += 1,
            }
            self.rx.left -= 1;
            let next = if room >= libc::TPACKET3_HDRLEN {
                // SAFETY: the header lies inside the block (room checked).
                unsafe { (*frame.cast::<libc::tpacket3_hdr>()).tp_next_offset as usize }
            } else {
                0
            };
            if self.rx.left == 0 || next == 0 || next >= room {
                if self.rx.left != 0 {
                    // A corrupt chain: count the unread frames, skip the block.
                    errors += u64::from(self.rx.left);
                }
                self.release_block();
            } else {
                self.rx.off += next;
            }
        }
        if pkts > 0 {
            self.stats.rx_packets.add(pkts);
            self.stats.rx_bytes.add(bytes);
        }
        if missed > 0 {
            self.stats.rx_missed.add(missed);
        }
        if errors > 0 {
            self.stats.rx_errors.add(errors);
        }
        pkts as usize
    }

    fn tx_burst(&mut self, pkts: &mut Burst<P::Buf>) -> usize {
        if pkts.is_empty() {
            return 0;
        }
        let room = self.tx.frame_size - HDR_LEN;
        let (mut sent, mut bytes, mut dropped) = (0u64, 0u64, 0u64);
        for p in pkts.drain(..) {
            let tci = p.vlan();
            let tag = tci.is_some();
            let len = p.len() + if tag { VLAN_HLEN } else { 0 };
            if len > room || p.len() < ETH_HLEN {
                dropped += 1;
                continue;
            }
            let frame = self.tx.frame(self.tx.head);
            // SAFETY: frame start is 16-byte aligned inside the TX ring and
            // tp_status is its u32 at offset 20.
            let status =
                unsafe { status_word(frame.add(offset_of!(libc::tpacket3_hdr, tp_status))) };
            if status.load(Ordering::Acquire) != libc::TP_STATUS_AVAILABLE {
                dropped += 1;
                continue;
            }
            // SAFETY: the frame is AVAILABLE, so the kernel does not touch
            // it until we mark it; HDR_LEN + len <= frame_size.
            unsafe {
                let dst = std::slice::from_raw_parts_mut(frame.add(HDR_LEN), len);
                let src = p.data();
                if tag {
                    dst[..ETH_ALEN2].copy_from_slice(&src[..ETH_ALEN2]);
                    dst[ETH_ALEN2..ETH_ALEN2 + 2].copy_from_slice(&TPID_8021Q.to_be_bytes());
                    dst[ETH_ALEN2 + 2..ETH_ALEN2 + 4]
                        .copy_from_slice(&tci.unwrap_or(0).to_be_bytes());
                    dst[ETH_ALEN2 + VLAN_HLEN..].copy_from_slice(&src[ETH_ALEN2..]);
                } else {
                    dst.copy_from_slice(src);
                }
                let h = frame.cast::<libc::tpacket3_hdr>();
                (*h).tp_next_offset = 0;
                (*h).tp_len = len as u32;
                (*h).tp_snaplen = len as u32;
            }
            status.store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
            self.tx.head = (self.tx.head + 1) % self.tx.frames;
            sent += 1;
            bytes += len as u64;
        }
        if sent > 0 || self.tx.unkicked {
            self.kick();
        }
        if sent > 0 {
            self.stats.tx_packets.add(sent);
            self.stats.tx_bytes.add(bytes);
        }
        if dropped > 0 {
            self.stats.tx_dropped.add(dropped);
        }
        sent as usize
    }

    fn flush(&mut self) {
        if self.tx.unkicked {
            self.kick();
        }
        self.read_kernel_stats();
    }

    fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::NativePool;

    #[test]
    fn layout_constants() {
        assert_eq!(HDR_LEN, 48);
        assert_eq!(block_status_offset(), 8);
        assert_eq!(offset_of!(libc::tpacket3_hdr, tp_status), 20);
    }

    #[test]
    fn geometry_of_the_default() {
        let g = Geometry::new(&AfPacketConfig::new("x")).unwrap();
        assert_eq!(g.rx_len(), 4 << 20);
        assert_eq!(g.tx_block, 64 << 10);
        assert_eq!(g.tx_frames(), TX_FRAMES);
        assert_eq!(g.tx_len(), TX_FRAMES * 2048);
    }

    #[test]
    fn rejects_bad_geometry() {
        for cfg in [
            AfPacketConfig {
                queues: 0,
                ..AfPacketConfig::new("x")
            },
            AfPacketConfig {
                block_size: 1000,
                ..AfPacketConfig::new("x")
            },
            AfPacketConfig {
                frame_size: 2050,
                ..AfPacketConfig::new("x")
            },
            AfPacketConfig {
                block_count: 0,
                ..AfPacketConfig::new("x")
            },
        ] {
            let e = open(&cfg, NativePool::new(4, 2048).unwrap()).unwrap_err();
            assert!(matches!(e, AfPacketError::Config { .. }), "{e}");
        }
    }

    #[test]
    fn missing_interface_is_named() {
        let e = open(
            &AfPacketConfig::new("veth9-missing"),
            NativePool::new(4, 2048).unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "af_packet: no such interface `veth9-missing`"
        );
        let e = open(
            &AfPacketConfig::new("a-name-longer-than-ifnamsiz"),
            NativePool::new(4, 2048).unwrap(),
        )
        .unwrap_err();
        assert!(matches!(e, AfPacketError::NoSuchInterface(_)));
    }
}
