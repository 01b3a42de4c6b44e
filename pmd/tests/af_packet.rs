//! `af_packet` driver against real veth pairs in network namespaces.
//!
//! Every lab is two namespaces `afpt-<pid>-<n>a`/`...b` joined by a veth
//! pair (`afpt-<pid%10000>-<n>a` in the first, `...b` in the second). The
//! driver is opened on the `a` end from a thread that entered namespace
//! `a`; the test's own raw socket on the `b` end (opened the same way)
//! plays the host on the other side. Namespaces are deleted by a guard,
//! also when a test panics. These tests need root and `ip`; without them
//! each prints `SKIPPED: ...` and returns.

use pmd::drivers::af_packet::{self, AfPacketConfig, AfPacketError, AfPacketPort};
use pmd::{Buf, Burst, Mbuf, NativePool, Pool, Port};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];
const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
const MAGIC: &[u8; 4] = b"AFPT";
const ETHERTYPE_TEST: u16 = 0x88b5;
const WAIT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------- skipping

fn skipped(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !root || !ip {
        // Straight to the stderr stream, past the test harness's capture,
        // so a skip is visible in every run.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {test}: needs root for network namespaces"
        );
        return true;
    }
    false
}

// --------------------------------------------------------------------- lab

/// Two namespaces joined by a veth pair; deleted on drop.
struct Lab {
    ns_a: String,
    ns_b: String,
    if_a: String,
    if_b: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lab {
    fn new() -> Lab {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let lab = Lab {
            ns_a: format!("afpt-{pid}-{n}a"),
            ns_b: format!("afpt-{pid}-{n}b"),
            if_a: format!("afpt-{}-{n}a", pid % 10000),
            if_b: format!("afpt-{}-{n}b", pid % 10000),
        };
        // The guard exists before anything is created, so a failure
        // half-way still cleans up.
        ip(&["netns", "add", &lab.ns_a]);
        ip(&["netns", "add", &lab.ns_b]);
        for ns in [&lab.ns_a, &lab.ns_b] {
            // No IPv6 autoconfiguration chatter on the new links, so the
            // driver's counters see only the test's frames.
            in_netns(ns, || {
                for f in ["default", "all"] {
                    let _ =
                        std::fs::write(format!("/proc/sys/net/ipv6/conf/{f}/disable_ipv6"), "1");
                }
            });
        }
        ip(&[
            "link", "add", &lab.if_a, "netns", &lab.ns_a, "type", "veth", "peer", "name",
            &lab.if_b, "netns", &lab.ns_b,
        ]);
        ip(&["-n", &lab.ns_a, "link", "set", &lab.if_a, "up"]);
        ip(&["-n", &lab.ns_b, "link", "set", &lab.if_b, "up"]);
        lab
    }

    /// Open the driver on the `a` end.
    fn open(&self, queues: usize, pool: &NativePool) -> Vec<AfPacketPort<NativePool>> {
        self.open_cfg(
            &AfPacketConfig {
                queues,
                ..AfPacketConfig::new(self.if_a.clone())
            },
            pool,
        )
    }

    fn open_cfg(&self, cfg: &AfPacketConfig, pool: &NativePool) -> Vec<AfPacketPort<NativePool>> {
        in_netns(&self.ns_a, || af_packet::open(cfg, pool.clone())).expect("open af_packet")
    }

    /// A raw socket on the `b` end (the host across the wire).
    fn peer(&self) -> RawSock {
        RawSock::open(&self.ns_b, &self.if_b)
    }

    /// A raw socket on the `a` end, beside the driver.
    fn local(&self) -> RawSock {
        RawSock::open(&self.ns_a, &self.if_a)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Run `f` on a thread that has entered network namespace `ns`.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
            // SAFETY: setns on a valid namespace fd; it only affects this
            // (short-lived) thread.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns {ns}: {}", std::io::Error::last_os_error());
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

// -------------------------------------------------------------- raw socket

/// A frame captured by a plain packet socket, with its auxiliary data.
#[derive(Debug)]
struct Captured {
    data: Vec<u8>,
    pkttype: u8,
    status: u32,
    /// (TPID, TCI) the kernel stripped from the frame, if any.
    tag: Option<(u16, u16)>,
}

impl Captured {
    /// The frame as it was on the wire (a stripped tag put back).
    fn wire(&self) -> Vec<u8> {
        match self.tag {
            Some((tpid, tci)) => tagged(&self.data, tpid, tci),
            None => self.data.clone(),
        }
    }
}

/// A plain (non-ring) `AF_PACKET` socket used as the test's own host.
struct RawSock {
    fd: OwnedFd,
}

impl RawSock {
    fn open(ns: &str, ifname: &str) -> RawSock {
        let ifname = ifname.to_string();
        in_netns(ns, move || {
            let proto = (libc::ETH_P_ALL as u16).to_be();
            // SAFETY: plain system calls on a descriptor we own.
            unsafe {
                let raw = libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    i32::from(proto),
                );
                assert!(raw >= 0, "socket: {}", std::io::Error::last_os_error());
                let fd = OwnedFd::from_raw_fd(raw);
                let name = std::ffi::CString::new(ifname.clone()).unwrap();
                let ifindex = libc::if_nametoindex(name.as_ptr());
                assert_ne!(ifindex, 0, "{ifname} missing");
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                sll.sll_family = libc::AF_PACKET as u16;
                sll.sll_protocol = proto;
                sll.sll_ifindex = ifindex as i32;
                let r = libc::bind(
                    raw,
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                );
                assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
                let one: libc::c_int = 1;
                let r = libc::setsockopt(
                    raw,
                    libc::SOL_PACKET,
                    libc::PACKET_AUXDATA,
                    (&one as *const libc::c_int).cast(),
                    4,
                );
                assert_eq!(r, 0);
                // Room for every frame a test sends in one go.
                let size: libc::c_int = 16 << 20;
                libc::setsockopt(
                    raw,
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUFFORCE,
                    (&size as *const libc::c_int).cast(),
                    4,
                );
                // Drop anything that slipped in before bind.
                let mut buf = [0u8; 2048];
                while libc::recv(raw, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) >= 0 {
                }
                RawSock { fd }
            }
        })
    }

    fn send(&self, frame: &[u8]) {
        // SAFETY: `frame` is valid for reads of its length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert_eq!(
            n,
            frame.len() as isize,
            "send: {}",
            std::io::Error::last_os_error()
        );
    }

    fn recv(&self) -> Option<Captured> {
        let mut buf = vec![0u8; 65536];
        let mut cbuf = [0u64; 32];
        // SAFETY: msghdr points at live buffers of the sizes given; the
        // control messages are walked with the libc macros within cbuf.
        unsafe {
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&cbuf);
            let n = libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT);
            if n < 0 {
                return None;
            }
            buf.truncate(n as usize);
            let mut status = 0;
            let mut tag = None;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_PACKET && (*c).cmsg_type == libc::PACKET_AUXDATA {
                    let aux: libc::tpacket_auxdata =
                        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    status = aux.tp_status;
                    if aux.tp_status & libc::TP_STATUS_VLAN_VALID != 0 {
                        let tpid = if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                            aux.tp_vlan_tpid
                        } else {
                            0x8100
                        };
                        tag = Some((tpid, aux.tp_vlan_tci));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            Some(Captured {
                data: buf,
                pkttype: sll.sll_pkttype,
                status,
                tag,
            })
        }
    }

    /// Frames received (not sent) by this socket matching `pred`, until
    /// `want` of them arrived or time ran out.
    fn collect(&self, want: usize, pred: impl Fn(&Captured) -> bool) -> Vec<Captured> {
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        while got.len() < want && Instant::now() < deadline {
            match self.recv() {
                Some(c) if c.pkttype != libc::PACKET_OUTGOING && pred(&c) => got.push(c),
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        got
    }
}

// ------------------------------------------------------------------ frames

/// A test frame: `DST SRC 88b5 "AFPT" test seq pattern...`, `len` bytes.
fn marker_frame(test: u8, seq: u32, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&DST);
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&ETHERTYPE_TEST.to_be_bytes());
    f.extend_from_slice(MAGIC);
    f.push(test);
    f.extend_from_slice(&seq.to_be_bytes());
    while f.len() < len {
        f.push((f.len() as u8).wrapping_mul(7) ^ seq as u8);
    }
    f
}

/// `(test, seq)` of a marker frame, looking past any tags in the data.
fn marker(data: &[u8]) -> Option<(u8, u32)> {
    let mut off = 12;
    loop {
        let et = u16::from_be_bytes([*data.get(off)?, *data.get(off + 1)?]);
        match et {
            0x8100 | 0x88a8 => off += 4,
            ETHERTYPE_TEST => break,
            _ => return None,
        }
    }
    let p = data.get(off + 2..off + 11)?;
    (&p[..4] == MAGIC).then(|| (p[4], u32::from_be_bytes([p[5], p[6], p[7], p[8]])))
}

fn tagged(f: &[u8], tpid: u16, tci: u16) -> Vec<u8> {
    let mut t = f[..12].to_vec();
    t.extend_from_slice(&tpid.to_be_bytes());
    t.extend_from_slice(&tci.to_be_bytes());
    t.extend_from_slice(&f[12..]);
    t
}

/// An IPv4/UDP marker frame of flow `flow` (distinct addresses and ports).
fn udp_flow_frame(test: u8, flow: u16, seq: u32) -> Vec<u8> {
    let payload = marker_payload(test, seq);
    let total = 20 + 8 + payload.len();
    let mut f = Vec::new();
    f.extend_from_slice(&DST);
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ];
    ip.extend_from_slice(&[10, 1, (flow >> 8) as u8, flow as u8, 10, 2, 0, 1]);
    let c = !fold(ones(&ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&(10000 + flow).to_be_bytes());
    f.extend_from_slice(&7777u16.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&payload);
    f
}

fn marker_payload(test: u8, seq: u32) -> Vec<u8> {
    let mut p = MAGIC.to_vec();
    p.push(test);
    p.extend_from_slice(&seq.to_be_bytes());
    p.resize(40, 0x5a);
    p
}

/// `(test, seq)` of a UDP flow frame.
fn udp_marker(data: &[u8]) -> Option<(u8, u32)> {
    let p = data.get(42..51)?;
    (data[12..14] == [0x08, 0x00] && &p[..4] == MAGIC)
        .then(|| (p[4], u32::from_be_bytes([p[5], p[6], p[7], p[8]])))
}

fn ones(d: &[u8]) -> u32 {
    d.chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

fn fold(mut s: u32) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Whether the TCP/UDP checksum of an untagged IPv4 frame verifies.
fn l4_checksum_ok(f: &[u8]) -> bool {
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
    let seg = &f[14 + ihl..14 + total];
    let mut pseudo = f[26..34].to_vec();
    pseudo.extend_from_slice(&[0, f[23]]);
    pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
    fold(ones(&pseudo) + ones(seg)) == 0xffff
}

// ------------------------------------------------------------ driver glue

fn pool() -> NativePool {
    NativePool::new(1024, 2048).unwrap()
}

/// Poll `ports` until `want` packets matching `pred` arrived (or time ran
/// out); returns them with the index of the port that received each.
fn receive(
    ports: &mut [AfPacketPort<NativePool>],
    want: usize,
    pred: impl Fn(&Mbuf) -> bool,
) -> Vec<(usize, Mbuf)> {
    receive_within(ports, want, WAIT, pred)
}

/// [`receive`] with its own time limit.
fn receive_within(
    ports: &mut [AfPacketPort<NativePool>],
    want: usize,
    wait: Duration,
    pred: impl Fn(&Mbuf) -> bool,
) -> Vec<(usize, Mbuf)> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        let mut idle = true;
        for (i, p) in ports.iter_mut().enumerate() {
            let mut burst = Burst::new();
            if p.rx_burst(&mut burst) > 0 {
                idle = false;
            }
            got.extend(burst.into_iter().filter(|b| pred(b)).map(|b| (i, b)));
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    got
}

fn send(
    port: &mut AfPacketPort<NativePool>,
    pool: &NativePool,
    frames: &[Vec<u8>],
    vlan: Option<u16>,
) -> usize {
    let mut sent = 0;
    for chunk in frames.chunks(pmd::BURST) {
        let mut burst = Burst::new();
        for f in chunk {
            let mut b = pool.alloc().expect("buffer");
            b.append(f.len()).unwrap().copy_from_slice(f);
            if let Some(tci) = vlan {
                b.meta_mut().vlan = tci;
                b.meta_mut().flags |= pmd::buf::META_VLAN;
            }
            burst.push(b);
        }
        sent += port.tx_burst(&mut burst);
        assert!(burst.is_empty());
    }
    sent
}

// ------------------------------------------------------------------- tests

#[test]
fn rx_delivers_frames_byte_identical() {
    if skipped("rx_delivers_frames_byte_identical") {
        return;
    }
    let lab = Lab::new();
    let pool = pool();
    let mut ports = lab.open(1, &pool);
    let peer = lab.peer();
    let frames: Vec<Vec<u8>> = (0..100)
        .map(|i| marker_frame(1, i, 60 + (i as usize * 53) % 1455))
        .collect();
    for f in &frames {
        peer.send(f);
    }
    let got = receive(&mut ports, frames.len(), |b| marker(b.data()).is_some());
    assert_eq!(got.len(), frames.len(), "all frames arrive");
    for ((_, b), f) in got.iter().zip(&frames) {
        assert_eq!(b.data(), &f[..], "byte-identical and in order");
        assert_eq!(b.meta().queue, 0);
        assert_eq!(b.meta().flags, 0);
    }
    let st = ports[0].stats();
    assert_eq!(st.rx_packets.get(), frames.len() as u64);
    assert_eq!(
        st.rx_bytes.get(),
        frames.iter().map(|f| f.len() as u64).sum::<u64>()
    );
    assert_eq!(st.rx_missed.get(), 0);
    assert_eq!(st.rx_errors.get(), 0);
    drop(got);
    assert_eq!(pool.available(), 1024, "every buffer went home");
}

#[test]
fn tx_frames_arrive_byte_identical() {
    if skipped("tx_frames_arrive_byte_identical") {
        return;
    }
    let lab = Lab::new();
    let pool = pool();
    let mut ports = lab.open(1, &pool);
    let peer = lab.peer();
    let frames: Vec<Vec<u8>> = (0..100)
        .map(|i| marker_frame(2, i, 60 + (i as usize * 97) % 1455))
        .collect();
    assert_eq!(send(&mut ports[0], &pool, &frames, None), frames.len());
    let got = peer.collect(frames.len(), |c| marker(&c.data).is_some());
    assert_eq!(got.len(), frames.len(), "all frames arrive");
    for (c, f) in got.iter().zip(&frames) {
        assert_eq!(c.wire(), *f, "byte-identical and in order");
    }
    let link = Command::new("ip")
        .args(["-n", &lab.ns_a, "-o", "link", "show", "dev", &lab.if_a])
        .output()
        .unwrap();
    let link = String::from_utf8_lossy(&link.stdout).into_owned();
    let mac = ports[0].mac().map(|b| format!("{b:02x}")).join(":");
    assert!(
        link.contains(&format!("link/ether {mac} ")),
        "mac {mac} in {link}"
    );
    let st = ports[0].stats();
    assert_eq!(st.tx_packets.get(), frames.len() as u64);
    assert_eq!(
        st.tx_bytes.get(),
        frames.iter().map(|f| f.len() as u64).sum::<u64>()
    );
    assert_eq!(st.tx_dropped.get(), 0);
    assert_eq!(pool.available(), 1024, "tx freed every buffer");
}

#[test]
fn vlan_tag_is_stripped_into_meta_on_rx() {
    if skipped("vlan_tag_is_stripped_into_meta_on_rx") {
        return;
    }
    let lab = Lab::new();
    let pool = pool();
    let mut ports = lab.open(1, &pool);
    let peer = lab.peer();
    let plain = marker_frame(3, 1, 100);
    let tci = 0x6123; // PCP 3, VID 0x123
    peer.send(&tagged(&plain, 0x8100, tci));
    // 802.1ad: Meta cannot hold the TPID, so the driver hands the frame on
    // as it was on the wire.
    let qinq = tagged(&tagged(&marker_frame(3, 2, 100), 0x8100, 7), 0x88a8, 0x0042);
    peer.send(&qinq);
    let got = receive(&mut ports, 2, |b| marker(b.data()).is_some());
    assert_eq!(got.len(), 2);
    let b = &got[0].1;
    if b.meta().flags & pmd::buf::META_VLAN != 0 {
        eprintln!("observed: veth rx strips the 802.1Q tag into tp_vlan_tci");
        assert_eq!(b.meta().vlan, tci);
        assert_eq!(b.meta().vlan_id(), Some(0x123));
        assert_eq!(b.data(), &plain[..], "tag removed from the data");
    } else {
        eprintln!("observed: veth rx leaves the 802.1Q tag in the data");
        assert_eq!(b.data(), &tagged(&plain, 0x8100, tci)[..]);
    }
    let b = &got[1].1;
    assert_eq!(b.meta().flags & pmd::buf::META_VLAN, 0);
    assert_eq!(
        b.data(),
        &qinq[..],
        "802.1ad frame delivered as on the wire"
    );
    assert_eq!(
        ports[0].stats().rx_bytes.get(),
        (plain.len() + 4 + qinq.len()) as u64,
        "rx_bytes counts the wire length"
    );
}

#[test]
fn vlan_tag_is_inserted_on_tx() {
    if skipped("vlan_tag_is_inserted_on_tx") {
        return;
    }
    let lab = Lab::new();
    let pool = pool();
    let mut ports = lab.open(1, &pool);
    let peer = lab.peer();
    let plain = marker_frame(4, 1, 200);
    let tci = 0xa00f; // PCP 5, VID 15
    assert_eq!(
        send(
            &mut ports[0],
            &pool,
            std::slice::from_ref(&plain),
            Some(tci)
        ),
        1
    );
    let got = peer.collect(1, |c| marker(&c.data).is_some());
    assert_eq!(got.len(), 1);
    let c = &got[0];
    match c.tag {
        Some(t) => {
            eprintln!("observed: the receiving packet socket gets the tag in auxdata {t:04x?}");
            assert_eq!(c.data, plain, "data without the tag");
        }
        None => eprintln!("observed: the receiving packet socket gets the tag in the data"),
    }
    assert_eq!(c.wire(), tagged(&plain, 0x8100, tci), "tagged on the wire");
    assert_eq!(ports[0].stats().tx_bytes.get(), plain.len() as u64 + 4);
}

#[test]
fn fanout_spreads_flows_over_queues() {
    if skipped("fanout_spreads_flows_over_queues") {
        return;
    }
    let lab = Lab::new();
    let pool = pool();
    let mut ports = lab.open(2, &pool);
    assert_eq!(ports.len(), 2);
    let peer = lab.peer();
    let (flows, per_flow) = (64u16, 3u32);
    let mut n = 0;
    for seq in 0..per_flow {
        for flow in 0..flows {
            peer.send(&udp_flow_frame(5, flow, seq * 1000 + u32::from(flow)));
            n += 1;
        }
    }
    let got = receive(&mut ports, n, |b| udp_marker(b.data()).is_some());
    assert_eq!(got.len(), n, "the queues together receive everything");
    let mut queue_of_flow = std::collections::HashMap::new();
    let mut per_queue = [0usize; 2];
    for (q, b) in &got {
        assert_eq!(
            usize::from(b.meta().queue),
            *q,
            "meta.queue is the queue index"
        );
        per_queue[*q] += 1;
        let flow = udp_marker(b.data()).unwrap().1 % 1000;
        let first = *queue_of_flow.entry(flow).or_insert(*q);
        assert_eq!(first, *q, "a flow sticks to one queue");
    }
    assert!(
        per_queue.iter().all(|&c| c > 0),
        "both queues receive: {per_queue:?}"
    );
    let total: u64 = ports.iter().map(|p| p.stats().rx_packets.get()).sum();
    assert_eq!(total, n as u64);

    // An explicit group id another interface holds is a clear error.
    let group = |iface: &str| AfPacketConfig {
        fanout_group: Some(4242),
        ..AfPacketConfig::new(iface)
    };
    let _lo = lab.open_cfg(&group("lo"), &pool);
    let e = in_netns(&lab.ns_a, || {
        af_packet::open(&group(&lab.if_a), pool.clone())
    })
    .unwrap_err();
    assert!(matches!(e, AfPacketError::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("fanout group 4242 is in use"), "{e}");
}

#[test]
fn missing_interface_is_a_clear_error() {
    // Needs no privileges: the name is looked up before any socket opens.
    let name = "afpt-missing0";
    let e = af_packet::open(&AfPacketConfig::new(name), pool()).unwrap_err();
    assert!(
        matches!(&e, AfPacketError::NoSuchInterface(n) if n == name),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("af_packet: no such interface `{name}`")
    );
}

#[test]
fn own_transmissions_are_not_received() {
    if skipped("own_transmissions_are_not_received") {
        return;
    }
    let lab = Lab::new();
    let pool = pool();
    let mut ports = lab.open(2, &pool);
    let peer = lab.peer();
    let host = lab.local();
    // weir's own frames (qdisc bypass) and frames the host itself sends on
    // the interface (through the qdisc, seen by packet taps as outgoing).
    let ours: Vec<Vec<u8>> = (0..40).map(|i| marker_frame(6, i, 80)).collect();
    assert_eq!(send(&mut ports[1], &pool, &ours, None), ours.len());
    for i in 0..40 {
        host.send(&marker_frame(6, 1000 + i, 80));
    }
    let across = peer.collect(80, |c| marker(&c.data).is_some());
    assert_eq!(across.len(), 80, "both kinds left through the veth");
    // Many block-retire periods: anything looped back would be here.
    let back = receive_within(&mut ports, 1, Duration::from_millis(200), |b| {
        marker(b.data()).is_some()
    });
    assert!(
        back.is_empty(),
        "weir received outgoing frames: {}",
        back.len()
    );
    // The receive side is alive: frames from the peer do arrive.
    for i in 0..10 {
        peer.send(&marker_frame(6, 2000 + i, 80));
    }
    let got = receive(&mut ports, 10, |b| marker(b.data()).is_some());
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|(_, b)| marker(b.data()).unwrap().1 >= 2000));
}

#[test]
fn partial_checksums_are_completed() {
    if skipped("partial_checksums_are_completed") {
        return;
    }
    let lab = Lab::new();
    ip(&[
        "-n",
        &lab.ns_b,
        "addr",
        "add",
        "10.77.0.1/24",
        "dev",
        &lab.if_b,
    ]);
    ip(&[
        "-n",
        &lab.ns_b,
        "neigh",
        "add",
        "10.77.0.2",
        "lladdr",
        "02:00:00:00:00:aa",
        "dev",
        &lab.if_b,
        "nud",
        "permanent",
    ]);
    let pool = pool();
    let mut ports = lab.open(1, &pool);
    let witness = lab.local();
    let to_us = |b: &[u8]| b.len() > 34 && b[12..14] == [0x08, 0x00] && b[30..34] == [10, 77, 0, 2];
    // UDP and a TCP SYN (a BGP session's first packet) from the namespace's
    // own stack: veth offloads their checksums.
    in_netns(&lab.ns_b, || {
        let s = std::net::UdpSocket::bind("10.77.0.1:0").unwrap();
        s.send_to(b"a datagram of odd length", "10.77.0.2:9999")
            .unwrap();
    });
    let syn = std::thread::scope(|s| {
        s.spawn(|| {
            in_netns(&lab.ns_b, || {
                let _ = std::net::TcpStream::connect_timeout(
                    &"10.77.0.2:179".parse().unwrap(),
                    Duration::from_millis(300),
                );
            })
        });
        receive(&mut ports, 2, |b| to_us(b.data()))
    });
    assert_eq!(syn.len(), 2, "UDP datagram and TCP SYN arrive");
    for (_, b) in &syn {
        assert!(
            l4_checksum_ok(b.data()),
            "checksum completed (proto {})",
            b.data()[23]
        );
    }
    // A plain packet socket beside the driver shows what the kernel handed
    // over: checksums not yet filled in.
    let raw = witness.collect(2, |c| to_us(&c.data));
    assert_eq!(raw.len(), 2);
    let partial = raw
        .iter()
        .filter(|c| c.status & libc::TP_STATUS_CSUMNOTREADY != 0)
        .count();
    eprintln!("observed: {partial} of 2 frames arrived with TP_STATUS_CSUMNOTREADY");
    for c in raw
        .iter()
        .filter(|c| c.status & libc::TP_STATUS_CSUMNOTREADY != 0)
    {
        assert!(
            !l4_checksum_ok(&c.data),
            "a partial checksum does not verify as received"
        );
    }
}

#[test]
fn drops_are_counted() {
    if skipped("drops_are_counted") {
        return;
    }
    let lab = Lab::new();
    // Pool exhausted: frames are dropped and counted in rx_missed.
    let small = NativePool::new(4, 2048).unwrap();
    let mut ports = lab.open(1, &small);
    let peer = lab.peer();
    let held: Vec<Mbuf> = (0..4).map(|_| small.alloc().unwrap()).collect();
    for i in 0..3 {
        peer.send(&marker_frame(7, i, 64));
    }
    let deadline = Instant::now() + WAIT;
    while ports[0].stats().rx_missed.get() < 3 && Instant::now() < deadline {
        let mut burst = Burst::new();
        assert_eq!(ports[0].rx_burst(&mut burst), 0);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(ports[0].stats().rx_missed.get(), 3);
    assert_eq!(ports[0].stats().rx_packets.get(), 0);
    drop(held);

    // Too long for a TX frame (2048 - 48 bytes): dropped, counted.
    let pool = pool();
    let long = marker_frame(7, 99, 2001);
    assert_eq!(send(&mut ports[0], &pool, &[long], None), 0);
    assert_eq!(ports[0].stats().tx_dropped.get(), 1);
    assert_eq!(pool.available(), 1024);
    drop(ports);

    // Ring overrun: two 4 KiB blocks fill up while nobody polls; flush
    // reads the kernel's drop count into rx_missed.
    let cfg = AfPacketConfig {
        block_size: 4096,
        block_count: 2,
        ..AfPacketConfig::new(lab.if_a.clone())
    };
    let mut ports = lab.open_cfg(&cfg, &pool);
    for i in 0..50 {
        peer.send(&marker_frame(7, 100 + i, 1000));
    }
    std::thread::sleep(Duration::from_millis(50));
    ports[0].flush();
    let missed = ports[0].stats().rx_missed.get();
    assert!(missed > 0, "kernel drops counted");
    let got = receive(&mut ports, 50 - missed as usize, |b| {
        marker(b.data()).is_some()
    });
    assert_eq!(
        got.len() as u64 + missed,
        50,
        "every frame is received or counted"
    );
}

#[test]
fn missing_privilege_is_a_clear_error() {
    // As root, drop CAP_NET_RAW from this one thread's effective set (a
    // thread's capabilities are its own); otherwise just try.
    std::thread::spawn(|| {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            #[repr(C)]
            struct Header {
                version: u32,
                pid: i32,
            }
            #[repr(C)]
            #[derive(Clone, Copy, Default)]
            struct Data {
                effective: u32,
                permitted: u32,
                inheritable: u32,
            }
            const CAP_NET_RAW: u32 = 13;
            let mut hdr = Header {
                version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
                pid: 0,
            };
            let mut data = [Data::default(); 2];
            // SAFETY: capget/capset with a v3 header and two data words,
            // on the calling thread only.
            unsafe {
                assert_eq!(
                    libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()),
                    0
                );
                data[0].effective &= !(1 << CAP_NET_RAW);
                assert_eq!(libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()), 0);
            }
        }
        let e = af_packet::open(&AfPacketConfig::new("lo"), pool()).unwrap_err();
        assert!(
            matches!(&e, AfPacketError::Permission(n) if n == "lo"),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("needs CAP_NET_RAW (run as root)"),
            "{e}"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn rings_wrap_around() {
    if skipped("rings_wrap_around") {
        return;
    }
    let lab = Lab::new();
    let pool = pool();
    // Four 4 KiB blocks hold eight to a dozen of these frames: 300 frames
    // go round the RX ring many times.
    let cfg = AfPacketConfig {
        block_size: 4096,
        block_count: 4,
        ..AfPacketConfig::new(lab.if_a.clone())
    };
    let mut ports = lab.open_cfg(&cfg, &pool);
    let peer = lab.peer();
    let frames: Vec<Vec<u8>> = (0..300)
        .map(|i| marker_frame(8, i, 100 + (i as usize * 37) % 1300))
        .collect();
    // Groups of six frames (at most three blocks' worth), each group
    // received before the next is sent: the ring wraps, never overflows.
    let mut got = Vec::new();
    for group in frames.chunks(6) {
        for f in group {
            peer.send(f);
        }
        let want = got.len() + group.len();
        got.extend(
            receive(&mut ports, group.len(), |b| marker(b.data()).is_some())
                .into_iter()
                .map(|(_, b)| b),
        );
        assert_eq!(got.len(), want, "group received");
    }
    ports[0].flush();
    let st = ports[0].stats();
    assert_eq!(st.rx_packets.get(), 300);
    assert_eq!(st.rx_missed.get(), 0);
    assert_eq!(st.rx_errors.get(), 0);
    let mut last = None;
    for b in &got {
        let seq = marker(b.data()).unwrap().1;
        assert!(last < Some(seq), "in order");
        assert_eq!(b.data(), &frames[seq as usize][..], "byte-identical");
        last = Some(seq);
    }
    drop(got);

    // 1000 frames in back-to-back bursts go round the 512-frame TX ring.
    let frames: Vec<Vec<u8>> = (0..1000)
        .map(|i| marker_frame(8, i, 60 + (i as usize * 41) % 1400))
        .collect();
    let sent = send(&mut ports[0], &pool, &frames, None);
    let st = ports[0].stats();
    assert_eq!(st.tx_packets.get() + st.tx_dropped.get(), 1000);
    assert!(sent > 500, "most frames are sent: {sent}");
    let across = peer.collect(sent, |c| marker(&c.data).is_some());
    assert_eq!(across.len(), sent, "every frame counted as sent arrives");
    let mut last = None;
    for c in &across {
        let seq = marker(&c.data).unwrap().1;
        assert!(last < Some(seq), "in order");
        assert_eq!(c.data, frames[seq as usize], "byte-identical");
        last = Some(seq);
    }
    assert_eq!(pool.available(), 1024);
}
