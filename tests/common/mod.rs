//! What the tests with real Linux hosts in network namespaces share
//! (`tests/netns.rs`, `tests/dpdk_netns.rs`): the lab of
//! `scripts/netns-lab`, processes ended by pid, namespaces deleted on drop,
//! checks reported as they happen, captures read back, and the checks
//! both tests make (pings, the TCP transfer, tshark).
//!
//! The lab, as `scripts/netns-lab up PREFIX` builds it: a router namespace
//! holding weir's ends of four veth pairs and four host namespaces, two
//! per VRF, with the same subnets in both VRFs:
//!
//! ```text
//!   PREFIX-h1 10.1.0.2 ─ veth-h1 ┐            ┌ veth-h2 ─ PREFIX-h2 10.2.0.2   VRF MAIN
//!                                ├ weir in ───┤
//!   PREFIX-h3 10.1.0.2 ─ veth-h3 ┘ PREFIX-rt  └ veth-h4 ─ PREFIX-h4 10.2.0.2   VRF BGP
//! ```
//!
//! Namespaces are named `weirt<pid>-*` (the pid of the test binary, so
//! every run has its own), deleted when the test ends (also on panic);
//! every process a test starts is ended by its pid, and dies with the test
//! thread (`PR_SET_PDEATHSIG`) if the test is killed.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use serde_json::Value;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const WEIR: &str = env!("CARGO_BIN_EXE_weir");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The interpreter python3-scapy installs into (not a pyenv on PATH).
pub const PYTHON: &str = "/usr/bin/python3";

pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;
pub const PR_SET_PDEATHSIG: i32 = 1;

extern "C" {
    fn geteuid() -> u32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn prctl(option: i32, ...) -> i32;
}

/// The namespace tests share names and the machine: one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// The hosts of the lab: name, VRF, address, gateway, router MAC, and the
/// byte each one's ping payloads are filled with (`ping -p`), so a capture
/// tells whose echo it holds.
pub struct Host {
    pub name: &'static str,
    pub vrf: &'static str,
    pub addr: &'static str,
    pub gw: &'static str,
    pub router_mac: [u8; 6],
    pub pattern: u8,
}

pub const HOSTS: [Host; 4] = [
    Host {
        name: "h1",
        vrf: "MAIN",
        addr: "10.1.0.2",
        gw: "10.1.0.1",
        router_mac: [0x02, 0x77, 0, 0, 0, 0x01],
        pattern: 0xa1,
    },
    Host {
        name: "h2",
        vrf: "MAIN",
        addr: "10.2.0.2",
        gw: "10.2.0.1",
        router_mac: [0x02, 0x77, 0, 0, 0, 0x02],
        pattern: 0xa2,
    },
    Host {
        name: "h3",
        vrf: "BGP",
        addr: "10.1.0.2",
        gw: "10.1.0.1",
        router_mac: [0x02, 0x77, 0, 0, 0, 0x03],
        pattern: 0xb3,
    },
    Host {
        name: "h4",
        vrf: "BGP",
        addr: "10.2.0.2",
        gw: "10.2.0.1",
        router_mac: [0x02, 0x77, 0, 0, 0, 0x04],
        pattern: 0xb4,
    },
];

pub fn mac_str(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

// ---------------------------------------------------------------------------
// Prerequisites

pub fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Root and `ip`, or say why the test is skipped.
pub fn lab_possible(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        eprintln!("SKIPPED: {test}: needs root for network namespaces");
        return false;
    }
    if !have("ip", "-V") {
        eprintln!("SKIPPED: {test}: needs root for network namespaces and `ip` (iproute2), which is missing");
        return false;
    }
    true
}

/// Optional tools; a check needing a missing one is reported as skipped.
pub struct Tools {
    pub tcpdump: bool,
    pub tshark: bool,
    pub python: bool,
    pub scapy: bool,
    pub ethtool: bool,
}

impl Tools {
    pub fn probe() -> Tools {
        let python = Path::new(PYTHON).exists();
        Tools {
            tcpdump: have("tcpdump", "--version"),
            tshark: have("tshark", "--version"),
            python,
            scapy: python
                && Command::new(PYTHON)
                    .args(["-c", "import scapy.all"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success()),
            ethtool: have("ethtool", "--version"),
        }
    }
}

// ---------------------------------------------------------------------------
// Processes

/// Make the child die with the test thread, so a killed test leaves
/// nothing running.
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe; nothing else runs in the child
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGKILL as u64);
            Ok(())
        })
    }
}

pub static SEQ: AtomicUsize = AtomicUsize::new(0);

/// What a finished command printed.
pub struct Out {
    pub what: String,
    /// None: killed after the timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn show(&self) -> String {
        let status = match self.status {
            Some(s) => format!("{s}"),
            None => "killed after its timeout".into(),
        };
        format!(
            "`{}`: {status}\n--- stdout\n{}--- stderr\n{}",
            self.what, self.stdout, self.stderr
        )
    }
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A process the test started; killed by pid when dropped.
pub struct Proc {
    pub what: String,
    pub child: Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Proc {
    /// Start `cmd` with its output going to files in `dir`.
    pub fn spawn(dir: &Path, name: &str, cmd: &mut Command) -> Proc {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let stdout = dir.join(format!("{n:02}-{name}.out"));
        let stderr = dir.join(format!("{n:02}-{name}.err"));
        let what = describe(cmd);
        let child = die_with_parent(cmd)
            .current_dir(ROOT)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("creating an output file"))
            .stderr(fs::File::create(&stderr).expect("creating an output file"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting `{what}`: {e}"));
        Proc {
            what,
            child,
            stdout,
            stderr,
        }
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn signal(&mut self, sig: i32) {
        if self.running() {
            // SAFETY: plain system call on our own, not yet reaped child.
            unsafe { kill(self.child.id() as i32, sig) };
        }
    }

    pub fn wait_for(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Send `sig` and wait up to `grace`; SIGKILL after that. None if it
    /// had to be killed.
    pub fn stop(&mut self, sig: i32, grace: Duration) -> Option<ExitStatus> {
        self.signal(sig);
        let s = self.wait_for(grace);
        if s.is_none() {
            self.signal(SIGKILL);
            let _ = self.child.wait();
        }
        s
    }

    pub fn stdout_text(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until `needle` shows up in stdout (or stderr); false on timeout
    /// or if the process ended first.
    pub fn wait_output(&mut self, needle: &str, stderr: bool, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            let text = if stderr {
                self.stderr_text()
            } else {
                self.stdout_text()
            };
            if text.contains(needle) {
                return true;
            }
            if !self.running() || Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn finish(mut self, timeout: Duration) -> Out {
        let status = self.wait_for(timeout);
        if status.is_none() {
            self.signal(SIGKILL);
            let _ = self.child.wait();
        }
        Out {
            what: self.what.clone(),
            status,
            stdout: self.stdout_text(),
            stderr: self.stderr_text(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.running() {
            self.signal(SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// Run `cmd` to the end, killing it after `timeout`.
pub fn run(dir: &Path, name: &str, cmd: &mut Command, timeout: Duration) -> Out {
    Proc::spawn(dir, name, cmd).finish(timeout)
}

// ---------------------------------------------------------------------------
// Namespaces

/// Delete namespaces `weirt<pid>-*` left by earlier runs of these tests
/// that were killed (their pid is gone).
pub fn remove_stale_namespaces() {
    let Ok(rd) = fs::read_dir("/run/netns") else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("weirt") else {
            continue;
        };
        let Some((pid, suffix)) = rest.split_once('-') else {
            continue;
        };
        let ours = ["rt", "h1", "h2", "h3", "h4", "solo"].contains(&suffix);
        if ours
            && !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// A command run inside namespace `ns`.
pub fn in_ns(ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).args(args);
    c
}

/// A namespace of our own, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn add(name: String) -> Netns {
        let s = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("running ip netns add");
        assert!(s.success(), "ip netns add {name} failed");
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// The lab of `scripts/netns-lab`, torn down on drop. When the test
/// panics it prints weir's output and where the captures are, and keeps
/// them; otherwise it removes its directory.
pub struct Lab {
    pub prefix: String,
    pub dir: PathBuf,
    pub diag: Vec<(String, PathBuf)>,
}

impl Lab {
    pub fn up(prefix: &str, dir: &Path) -> Lab {
        let lab = Lab {
            prefix: prefix.to_string(),
            dir: dir.to_path_buf(),
            diag: Vec::new(),
        };
        let out = run(
            dir,
            "netns-lab-up",
            Command::new(Path::new(ROOT).join("scripts/netns-lab")).args(["up", prefix]),
            Duration::from_secs(30),
        );
        assert!(out.ok(), "scripts/netns-lab up failed: {}", out.show());
        lab
    }

    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    pub fn exec(&self, host: &str, args: &[&str]) -> Command {
        in_ns(&self.ns(host), args)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(Path::new(ROOT).join("scripts/netns-lab"))
            .args(["down", &self.prefix])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for h in ["rt", "h1", "h2", "h3", "h4"] {
            if Path::new("/run/netns").join(self.ns(h)).exists() {
                let _ = Command::new("ip")
                    .args(["netns", "del", &self.ns(h)])
                    .status();
            }
        }
        if std::thread::panicking() {
            eprintln!("\n==== diagnostics (kept in {})", self.dir.display());
            for (what, path) in &self.diag {
                if path.extension().is_some_and(|e| e == "pcap") {
                    eprintln!("---- {what}: {}", path.display());
                } else {
                    let text = fs::read_to_string(path).unwrap_or_default();
                    eprintln!("---- {what} ({}):\n{text}", path.display());
                }
            }
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

// ---------------------------------------------------------------------------
// Results

/// Every check, reported as it happens; the test fails at the end if any
/// did.
#[derive(Default)]
pub struct Checks {
    pub failed: Vec<String>,
    pub passed: usize,
}

impl Checks {
    pub fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) -> bool {
        if ok {
            self.passed += 1;
            eprintln!("ok    {name}");
        } else {
            let d = detail();
            eprintln!("FAIL  {name}: {d}");
            self.failed.push(format!("{name}: {d}"));
        }
        ok
    }

    pub fn skip(&mut self, name: &str, why: &str) {
        eprintln!("SKIPPED: {name}: {why}");
    }
}

// ---------------------------------------------------------------------------
// Captures (classic pcap, as tcpdump -w writes them)

pub struct Frame {
    /// Microseconds since the epoch.
    pub ts_us: u64,
    /// Length on the wire.
    pub len: usize,
    pub data: Vec<u8>,
}

pub fn read_pcap(path: &Path) -> Result<Vec<Frame>, String> {
    let b = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if b.len() < 24 {
        return Err(format!("{}: no pcap header", path.display()));
    }
    let (le, nanos) = match b[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return Err(format!("{}: not a classic pcap file", path.display())),
    };
    let u32_at = |at: usize| {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    if u32_at(20) != 1 {
        return Err(format!("{}: link type is not Ethernet", path.display()));
    }
    let mut frames = Vec::new();
    let mut at = 24;
    // A record cut short by the capture's end is ignored.
    while at + 16 <= b.len() {
        let (sec, frac, incl, orig) = (
            u64::from(u32_at(at)),
            u64::from(u32_at(at + 4)),
            u32_at(at + 8) as usize,
            u32_at(at + 12) as usize,
        );
        if at + 16 + incl > b.len() {
            break;
        }
        frames.push(Frame {
            ts_us: sec * 1_000_000 + if nanos { frac / 1000 } else { frac },
            len: orig,
            data: b[at + 16..at + 16 + incl].to_vec(),
        });
        at += 16 + incl;
    }
    Ok(frames)
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The source MAC of a frame (empty if it is too short to have one).
pub fn src(f: &Frame) -> &[u8] {
    f.data.get(6..12).unwrap_or(&[])
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The IPv4 header and payload of an untagged IPv4 frame.
pub fn ipv4(f: &[u8]) -> Option<(&[u8], &[u8])> {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[14] >> 4 != 4 {
        return None;
    }
    let ip = &f[14..];
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if hl < 20 || total < hl || total > ip.len() {
        return None;
    }
    Some((&ip[..hl], &ip[hl..total]))
}

/// An ICMP echo request whose payload holds `pattern` eight times over.
pub fn is_echo_with(f: &[u8], pattern: u8) -> bool {
    matches!(ipv4(f), Some((h, p)) if h[9] == 1 && p.first() == Some(&8) && contains(p, &[pattern; 8]))
}

/// Any ICMP packet carrying `pattern` (an echo, a reply, or an error
/// quoting one).
pub fn icmp_with(f: &[u8], pattern: u8) -> bool {
    matches!(ipv4(f), Some((h, p)) if h[9] == 1 && contains(p, &[pattern; 8]))
}

pub fn csum_add(mut acc: u32, b: &[u8]) -> u32 {
    for c in b.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

pub fn csum_fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// A TCP segment whose checksum (with the pseudo-header) is not right:
/// what a host with checksum offload hands its NIC (or a veth).
pub fn tcp_checksum_partial(f: &[u8]) -> bool {
    let Some((h, seg)) = ipv4(f) else {
        return false;
    };
    if h[9] != 6 || h[6..8] != [0, 0] && h[6..8] != [0x40, 0] {
        return false;
    }
    let mut acc = csum_add(0, &h[12..20]);
    acc += 6 + seg.len() as u32;
    acc = csum_add(acc, seg);
    csum_fold(acc) != 0xffff
}

// ---------------------------------------------------------------------------
// Checks both tests make

/// A capture on one host's eth0.
pub struct Capture {
    pub host: &'static Host,
    pub tcpdump: Proc,
    pub file: PathBuf,
}

/// Captures on every host's eth0, from before weir starts until after it
/// stopped.
pub fn start_captures(c: &mut Checks, lab: &mut Lab, tools: &Tools) -> Vec<Capture> {
    if !tools.tcpdump {
        c.skip("netns captures", "needs tcpdump");
        return Vec::new();
    }
    let mut captures = Vec::new();
    for host in &HOSTS {
        let file = lab.dir.join(format!("{}.pcap", host.name));
        let f = file.to_string_lossy().into_owned();
        let args = [
            "tcpdump",
            "-i",
            "eth0",
            "-p",
            "-n",
            "-U",
            "--immediate-mode",
            "-s",
            "0",
            "-B",
            "16384",
            "-w",
            &f,
        ];
        let tcpdump = Proc::spawn(
            &lab.dir,
            &format!("tcpdump-{}", host.name),
            &mut lab.exec(host.name, &args),
        );
        lab.diag
            .push((format!("capture on {}", host.name), file.clone()));
        lab.diag.push((
            format!("tcpdump on {} stderr", host.name),
            tcpdump.stderr.clone(),
        ));
        captures.push(Capture {
            host,
            tcpdump,
            file,
        });
    }
    for cap in &mut captures {
        let ok = cap
            .tcpdump
            .wait_output("listening on", true, Duration::from_secs(10));
        assert!(
            ok,
            "tcpdump on {} did not start: {}",
            cap.host.name,
            cap.tcpdump.stderr_text()
        );
    }
    captures
}

/// weir running `config` (a path relative to the repository or absolute)
/// in the router namespace, writing its summary to `summary`. `--duration`
/// only bounds it should the test die; it is stopped with SIGTERM.
pub fn start_weir(lab: &mut Lab, config: &str, summary: &Path) -> Proc {
    let sp = summary.to_string_lossy().into_owned();
    let args = [
        WEIR,
        "run",
        config,
        "--no-pin",
        "-q",
        "--summary-json",
        &sp,
        "--duration",
        "120",
    ];
    let mut weir = Proc::spawn(&lab.dir, "weir", &mut lab.exec("rt", &args));
    lab.diag.push(("weir stdout".into(), weir.stdout.clone()));
    lab.diag.push(("weir stderr".into(), weir.stderr.clone()));
    assert!(
        weir.wait_output("weir: running", true, Duration::from_secs(20)),
        "weir did not start: {}",
        weir.stderr_text()
    );
    weir
}

/// A ping; true if it got every reply.
pub fn ping(c: &mut Checks, lab: &Lab, name: &str, from: &str, args: &[&str], to: &str) -> bool {
    let mut a = vec!["ping", "-n"];
    a.extend_from_slice(args);
    a.push(to);
    let out = run(
        &lab.dir,
        &format!("ping-{from}"),
        &mut lab.exec(from, &a),
        Duration::from_secs(10),
    );
    c.check(
        name,
        out.ok() && out.stdout.contains(" 0% packet loss"),
        || out.show(),
    )
}

/// Three pings from `from`, their payload filled with its pattern.
pub fn ping3(c: &mut Checks, lab: &Lab, name: &str, from: &Host, to: &str) -> bool {
    let pattern = format!("{:02x}", from.pattern);
    let args = ["-c", "3", "-i", "0.2", "-W", "1", "-p", &pattern];
    ping(c, lab, name, from.name, &args, to)
}

/// 10 MiB over TCP from h1 to h2, intact. Returns the bytes sent if the
/// transfer was attempted (None: skipped for want of python3).
pub fn check_tcp(c: &mut Checks, lab: &Lab, tools: &Tools) -> Option<u64> {
    check_tcp_to(c, lab, tools, "h2")
}

/// [`check_tcp`] to 10.2.0.2 on host `server` (h2, or h4 when routing
/// takes h1's packets there).
pub fn check_tcp_to(c: &mut Checks, lab: &Lab, tools: &Tools, server: &str) -> Option<u64> {
    let name = format!("tcp 10 MiB h1 -> {server} arrives intact (sha256)");
    let name = name.as_str();
    if !tools.python {
        c.skip(name, "needs /usr/bin/python3");
        return None;
    }
    let bytes: u64 = 10 << 20;
    let script = format!("{ROOT}/tests/netns/tcp_xfer.py");
    let mut server = Proc::spawn(
        &lab.dir,
        "tcp-recv",
        &mut lab.exec(server, &[PYTHON, &script, "recv", "5001", "20"]),
    );
    if !server.wait_output("listening", false, Duration::from_secs(10)) {
        c.check(name, false, || {
            format!("the receiver did not start: {}", server.stderr_text())
        });
        return Some(bytes);
    }
    let n = bytes.to_string();
    let args = [PYTHON, &script, "send", "10.2.0.2", "5001", &n, "7", "20"];
    let sender = run(
        &lab.dir,
        "tcp-send",
        &mut lab.exec("h1", &args),
        Duration::from_secs(30),
    );
    let receiver = server.finish(Duration::from_secs(10));
    let last_json = |o: &Out| -> Value {
        o.stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
            .unwrap_or(Value::Null)
    };
    let (s, r) = (last_json(&sender), last_json(&receiver));
    c.check(
        name,
        sender.ok()
            && receiver.ok()
            && s["bytes"].as_u64() == Some(bytes)
            && r["bytes"].as_u64() == Some(bytes)
            && s["sha256"].is_string()
            && s["sha256"] == r["sha256"],
        || format!("sender {}\nreceiver {}", sender.show(), receiver.show()),
    );
    if let Some(secs) = s["seconds"].as_f64() {
        eprintln!(
            "      ({:.1} MiB/s through weir)",
            bytes as f64 / secs / f64::from(1 << 20)
        );
    }
    Some(bytes)
}

/// Stop weir cleanly, then the captures. Returns when weir was told to
/// stop, in microseconds since the epoch (the captures' clock).
pub fn stop(c: &mut Checks, weir: &mut Proc, captures: &mut [Capture]) -> u64 {
    let stop_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64;
    let status = weir.stop(SIGTERM, Duration::from_secs(10));
    c.check(
        "weir stops on SIGTERM with status 0",
        status.is_some_and(|s| s.success()),
        || format!("{status:?} (None: killed): {}", weir.stderr_text()),
    );
    for cap in captures {
        let s = cap.tcpdump.stop(SIGTERM, Duration::from_secs(5));
        let err = cap.tcpdump.stderr_text();
        c.check(
            &format!("capture on {} complete", cap.host.name),
            s.is_some() && err.contains("\n0 packets dropped by kernel"),
            || format!("{s:?} (None: killed): {err}"),
        );
    }
    stop_us
}

/// A port of the summary by name (Null if missing).
pub fn port<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["ports"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .unwrap_or(&Value::Null)
}

/// A counter (u64::MAX if missing, so comparisons fail).
pub fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or(u64::MAX)
}

/// tshark dissects everything weir sent without complaint (ICMP
/// checksums are always checked; IP, TCP and UDP ones when asked).
pub fn check_tshark(c: &mut Checks, lab: &Lab, tools: &Tools, captures: &[Capture]) {
    if captures.is_empty() || !tools.tshark {
        c.skip("tshark dissection", "needs tcpdump and tshark");
        return;
    }
    for cap in captures {
        let h = cap.host;
        let rmac = mac_str(&h.router_mac);
        // A TCP checksum of 0xffff for a segment summing to zero is what
        // Linux writes when it computes a checksum in software
        // (skb_checksum_help: CSUM_MANGLED_0), as the hosts here do, and
        // what weir's af_packet port writes when it completes one; every
        // receiver accepts it (ones' complement -0), but tshark calls it
        // Bad and an Error. About one segment in 65536 has it.
        let bad = format!(
            "eth.src == {rmac} && !tcp.checksum.ffff && (_ws.malformed \
             || ip.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\" \
             || udp.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" \
             || _ws.expert.severity >= \"Error\")"
        );
        let f = cap.file.to_string_lossy().into_owned();
        let out = run(
            &lab.dir,
            "tshark",
            Command::new("tshark").args([
                "-n",
                "-r",
                &f,
                "-o",
                "ip.check_checksum:TRUE",
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "udp.check_checksum:TRUE",
                // The TCP transfer's random payload, not a protocol: left to
                // heuristic dissectors, it sometimes looks like a broken
                // Thrift message (an Error).
                "-d",
                "tcp.port==5001,data",
                "-Y",
                &bad,
            ]),
            Duration::from_secs(60),
        );
        c.check(
            &format!(
                "tshark: nothing malformed or with a bad checksum from {rmac} on {}",
                h.name
            ),
            out.ok() && out.stdout.trim().is_empty(),
            || out.show(),
        );
        let mine = format!("eth.src == {rmac}");
        let args = [
            "-n",
            "-r",
            &f,
            "-Y",
            &mine,
            "-T",
            "fields",
            "-e",
            "frame.number",
        ];
        let count = run(
            &lab.dir,
            "tshark",
            Command::new("tshark").args(args),
            Duration::from_secs(60),
        );
        let n = count
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        c.check(
            &format!("tshark: frames from {rmac} on {} > 0", h.name),
            count.ok() && n > 0,
            || count.show(),
        );
    }
}
