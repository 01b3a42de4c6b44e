//! weir between real Linux hosts in network namespaces.
//!
//! `scripts/netns-lab up PREFIX` builds the lab of `examples/netns.toml`:
//! a router namespace holding weir's ends of four veth pairs (AF_PACKET
//! ports) and four host namespaces, two per VRF, with the same subnets in
//! both VRFs:
//!
//! ```text
//!   PREFIX-h1 10.1.0.2 ─ veth-h1 ┐            ┌ veth-h2 ─ PREFIX-h2 10.2.0.2   VRF MAIN
//!                                ├ weir in ───┤
//!   PREFIX-h3 10.1.0.2 ─ veth-h3 ┘ PREFIX-rt  └ veth-h4 ─ PREFIX-h4 10.2.0.2   VRF BGP
//! ```
//!
//! One lab and one weir process serve every check of `routes_real_hosts`,
//! in order: ping, TTL expiry, a 10 MiB TCP transfer, ARP, VRF isolation,
//! malformed frames; then weir is stopped (SIGTERM) and its
//! `--summary-json`, and captures taken on every host's eth0 during the
//! run, are checked against what was sent, and tshark dissects everything
//! weir put on the wire. Every check is reported (`ok` / `FAIL` on
//! stderr); the test fails at the end with the list of failed checks,
//! weir's output and the paths of the captures.
//!
//! Needs root (network namespaces) and `ip`; without them each test says
//! `SKIPPED: ...` on stderr and returns. Checks needing a missing tool
//! (tcpdump, tshark, python3-scapy, ethtool) say `SKIPPED: ...` for
//! themselves; `scripts/test` installs all of them.
//!
//! Namespaces are named `weirt<pid>-*`, deleted when the test ends (also
//! on panic); every process the test starts is ended by its pid, and dies
//! with the test thread (`PR_SET_PDEATHSIG`) if the test is killed.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WEIR: &str = env!("CARGO_BIN_EXE_weir");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The interpreter python3-scapy installs into (not a pyenv on PATH).
const PYTHON: &str = "/usr/bin/python3";

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGINT: i32 = 2;
const PR_SET_PDEATHSIG: i32 = 1;

extern "C" {
    fn geteuid() -> u32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn prctl(option: i32, ...) -> i32;
}

/// The namespace tests share names and the machine: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The hosts of the lab: name, VRF, address, gateway, router MAC, and the
/// byte each one's ping payloads are filled with (`ping -p`), so a capture
/// tells whose echo it holds.
struct Host {
    name: &'static str,
    vrf: &'static str,
    addr: &'static str,
    gw: &'static str,
    router_mac: [u8; 6],
    pattern: u8,
}

const HOSTS: [Host; 4] = [
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

fn mac_str(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

// ---------------------------------------------------------------------------
// Prerequisites

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Root and `ip`, or say why the test is skipped.
fn lab_possible(test: &str) -> bool {
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
struct Tools {
    tcpdump: bool,
    tshark: bool,
    python: bool,
    scapy: bool,
    ethtool: bool,
}

impl Tools {
    fn probe() -> Tools {
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
fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe; nothing else runs in the child
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGKILL as u64);
            Ok(())
        })
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// What a finished command printed.
struct Out {
    what: String,
    /// None: killed after the timeout.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    fn show(&self) -> String {
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

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A process the test started; killed by pid when dropped.
struct Proc {
    what: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Proc {
    /// Start `cmd` with its output going to files in `dir`.
    fn spawn(dir: &Path, name: &str, cmd: &mut Command) -> Proc {
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

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn signal(&mut self, sig: i32) {
        if self.running() {
            // SAFETY: plain system call on our own, not yet reaped child.
            unsafe { kill(self.child.id() as i32, sig) };
        }
    }

    fn wait_for(&mut self, timeout: Duration) -> Option<ExitStatus> {
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
    fn stop(&mut self, sig: i32, grace: Duration) -> Option<ExitStatus> {
        self.signal(sig);
        let s = self.wait_for(grace);
        if s.is_none() {
            self.signal(SIGKILL);
            let _ = self.child.wait();
        }
        s
    }

    fn stdout_text(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until `needle` shows up in stdout (or stderr); false on timeout
    /// or if the process ended first.
    fn wait_output(&mut self, needle: &str, stderr: bool, timeout: Duration) -> bool {
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

    fn finish(mut self, timeout: Duration) -> Out {
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
fn run(dir: &Path, name: &str, cmd: &mut Command, timeout: Duration) -> Out {
    Proc::spawn(dir, name, cmd).finish(timeout)
}

// ---------------------------------------------------------------------------
// Namespaces

/// Delete namespaces `weirt<pid>-*` left by earlier runs of these tests
/// that were killed (their pid is gone).
fn remove_stale_namespaces() {
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
fn in_ns(ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).args(args);
    c
}

/// A namespace of our own, deleted on drop.
struct Netns(String);

impl Netns {
    fn add(name: String) -> Netns {
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
struct Lab {
    prefix: String,
    dir: PathBuf,
    diag: Vec<(String, PathBuf)>,
}

impl Lab {
    fn up(prefix: &str, dir: &Path) -> Lab {
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

    fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    fn exec(&self, host: &str, args: &[&str]) -> Command {
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
struct Checks {
    failed: Vec<String>,
    passed: usize,
}

impl Checks {
    fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) -> bool {
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

    fn skip(&mut self, name: &str, why: &str) {
        eprintln!("SKIPPED: {name}: {why}");
    }
}

// ---------------------------------------------------------------------------
// Captures (classic pcap, as tcpdump -w writes them)

struct Frame {
    /// Microseconds since the epoch.
    ts_us: u64,
    /// Length on the wire.
    len: usize,
    data: Vec<u8>,
}

fn read_pcap(path: &Path) -> Result<Vec<Frame>, String> {
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

/// The source MAC of a frame (empty if it is too short to have one).
fn src(f: &Frame) -> &[u8] {
    f.data.get(6..12).unwrap_or(&[])
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The IPv4 header and payload of an untagged IPv4 frame.
fn ipv4(f: &[u8]) -> Option<(&[u8], &[u8])> {
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
fn is_echo_with(f: &[u8], pattern: u8) -> bool {
    matches!(ipv4(f), Some((h, p)) if h[9] == 1 && p.first() == Some(&8) && contains(p, &[pattern; 8]))
}

/// Any ICMP packet carrying `pattern` (an echo, a reply, or an error
/// quoting one).
fn icmp_with(f: &[u8], pattern: u8) -> bool {
    matches!(ipv4(f), Some((h, p)) if h[9] == 1 && contains(p, &[pattern; 8]))
}

fn csum_add(mut acc: u32, b: &[u8]) -> u32 {
    for c in b.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

fn csum_fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// A TCP segment whose checksum (with the pseudo-header) is not right:
/// what a host with checksum offload hands its NIC (or a veth).
fn tcp_checksum_partial(f: &[u8]) -> bool {
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
// The lab test

/// A ping; true if it got every reply.
fn ping(c: &mut Checks, lab: &Lab, name: &str, from: &str, args: &[&str], to: &str) -> bool {
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

fn ping_args(h: &Host) -> Vec<String> {
    ["-c", "3", "-i", "0.2", "-W", "1", "-p"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("{:02x}", h.pattern)])
        .collect()
}

fn run_ping(c: &mut Checks, lab: &Lab, name: &str, from: &Host, to: &str) -> bool {
    let args = ping_args(from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ping(c, lab, name, from.name, &args, to)
}

#[test]
fn routes_real_hosts() {
    const TEST: &str = "netns::routes_real_hosts";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !lab_possible(TEST) {
        return;
    }
    let started = Instant::now();
    let tools = Tools::probe();
    let mut c = Checks::default();
    remove_stale_namespaces();
    let pid = std::process::id();
    let prefix = format!("weirt{pid}");
    let dir = std::env::temp_dir().join(format!("weir-netns-{pid}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the test directory");
    let mut lab = Lab::up(&prefix, &dir);

    if tools.ethtool {
        // h1 keeps transmit checksum offload (but no segmentation): its TCP
        // segments reach the router with only the pseudo-header sum
        // (TP_STATUS_CSUMNOTREADY), which weir's af_packet port must
        // complete before h2, which checks, accepts them.
        for f in ["tx on", "tso off", "gso off", "tx-udp-segmentation off"] {
            let mut a = vec!["ethtool", "-K", "eth0"];
            a.extend(f.split(' '));
            let _ = run(
                &dir,
                "ethtool",
                &mut lab.exec("h1", &a),
                Duration::from_secs(5),
            );
        }
    } else {
        c.skip(
            "netns offloads",
            "needs ethtool to switch veth segmentation offloads off; GSO super-frames will be dropped",
        );
    }

    // Captures on every host's eth0, from before weir starts until after
    // it stopped.
    let mut captures: Vec<(usize, Proc, PathBuf)> = Vec::new();
    if tools.tcpdump {
        for (i, h) in HOSTS.iter().enumerate() {
            let file = dir.join(format!("{}.pcap", h.name));
            let f = file.to_string_lossy().into_owned();
            let p = Proc::spawn(
                &dir,
                &format!("tcpdump-{}", h.name),
                &mut lab.exec(
                    h.name,
                    &[
                        "tcpdump",
                        "-i",
                        "eth0",
                        "-p",
                        "-n",
                        "-U",
                        "--immediate-mode",
                        "-s",
                        "0",
                        "-w",
                        &f,
                    ],
                ),
            );
            lab.diag
                .push((format!("capture on {}", h.name), file.clone()));
            lab.diag
                .push((format!("tcpdump on {} stderr", h.name), p.stderr.clone()));
            captures.push((i, p, file));
        }
        for (i, p, _) in &mut captures {
            let ok = p.wait_output("listening on", true, Duration::from_secs(10));
            assert!(
                ok,
                "tcpdump on {} did not start: {}",
                HOSTS[*i].name,
                p.stderr_text()
            );
        }
    } else {
        c.skip("netns captures", "needs tcpdump");
    }

    // weir, in the router namespace. --duration only bounds it should the
    // test die; it is stopped with SIGTERM.
    let summary_path = dir.join("summary.json");
    let sp = summary_path.to_string_lossy().into_owned();
    let mut weir = Proc::spawn(
        &dir,
        "weir",
        &mut lab.exec(
            "rt",
            &[
                WEIR,
                "run",
                "examples/netns.toml",
                "--no-pin",
                "-q",
                "--summary-json",
                &sp,
                "--duration",
                "120",
            ],
        ),
    );
    lab.diag.push(("weir stdout".into(), weir.stdout.clone()));
    lab.diag.push(("weir stderr".into(), weir.stderr.clone()));
    assert!(
        weir.wait_output("weir: running", true, Duration::from_secs(20)),
        "weir did not start: {}",
        weir.stderr_text()
    );

    // 1. Ping both ways in MAIN, and the router itself.
    let [h1, h2, h3, h4] = &HOSTS;
    run_ping(
        &mut c,
        &lab,
        "ping h1 -> 10.2.0.2 (h2, via weir)",
        h1,
        "10.2.0.2",
    );
    run_ping(
        &mut c,
        &lab,
        "ping h2 -> 10.1.0.2 (h1, via weir)",
        h2,
        "10.1.0.2",
    );
    run_ping(
        &mut c,
        &lab,
        "ping h1 -> 10.1.0.1 (the router)",
        h1,
        "10.1.0.1",
    );

    // 5 (live part). The same subnets in BGP: h3 reaches h4, and the router.
    run_ping(
        &mut c,
        &lab,
        "ping h3 -> 10.2.0.2 (h4, VRF BGP)",
        h3,
        "10.2.0.2",
    );
    run_ping(
        &mut c,
        &lab,
        "ping h4 -> 10.1.0.2 (h3, VRF BGP)",
        h4,
        "10.1.0.2",
    );
    run_ping(
        &mut c,
        &lab,
        "ping h3 -> 10.1.0.1 (the router, VRF BGP)",
        h3,
        "10.1.0.1",
    );
    let echo_to_router = 6; // two pings of 3 to the router's own address

    // 3. TTL 1 expires at the router; TTL 2 reaches h2.
    let mut ttl_errors = 0;
    for h in [h1, h3] {
        let out = run(
            &dir,
            "ping-ttl1",
            &mut lab.exec(
                h.name,
                &["ping", "-n", "-c", "1", "-t", "1", "-W", "2", "10.2.0.2"],
            ),
            Duration::from_secs(10),
        );
        ttl_errors += 1;
        c.check(
            &format!(
                "ping -t 1 from {} gets Time to live exceeded from 10.1.0.1",
                h.name
            ),
            out.stdout.contains("From 10.1.0.1") && out.stdout.contains("Time to live exceeded"),
            || out.show(),
        );
    }
    ping(
        &mut c,
        &lab,
        "ping -t 2 from h1 reaches 10.2.0.2",
        "h1",
        &["-c", "1", "-t", "2", "-W", "2"],
        "10.2.0.2",
    );

    // 2. 10 MiB over TCP from h1 to h2, intact.
    let tcp_bytes: u64 = 10 << 20;
    if !tools.python {
        c.skip("tcp 10 MiB h1 -> h2", "needs /usr/bin/python3");
    } else {
        let script = format!("{ROOT}/tests/netns/tcp_xfer.py");
        let mut server = Proc::spawn(
            &dir,
            "tcp-recv",
            &mut lab.exec("h2", &[PYTHON, &script, "recv", "5001", "20"]),
        );
        if !server.wait_output("listening", false, Duration::from_secs(10)) {
            c.check("tcp receiver starts in h2", false, || server.stderr_text());
        } else {
            let n = tcp_bytes.to_string();
            let sent = run(
                &dir,
                "tcp-send",
                &mut lab.exec(
                    "h1",
                    &[PYTHON, &script, "send", "10.2.0.2", "5001", &n, "7", "20"],
                ),
                Duration::from_secs(30),
            );
            let got = server.finish(Duration::from_secs(10));
            let parse = |o: &Out| -> Option<Value> {
                o.stdout
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .last()
            };
            let (s, r) = (parse(&sent), parse(&got));
            let same = match (&s, &r) {
                (Some(s), Some(r)) => {
                    s["bytes"] == r["bytes"]
                        && s["bytes"].as_u64() == Some(tcp_bytes)
                        && s["sha256"] == r["sha256"]
                        && s["sha256"].is_string()
                }
                _ => false,
            };
            c.check(
                "tcp 10 MiB h1 -> h2 arrives intact (sha256)",
                sent.ok() && got.ok() && same,
                || format!("sender {}\nreceiver {}", sent.show(), got.show()),
            );
            if let Some(secs) = s.as_ref().and_then(|s| s["seconds"].as_f64()) {
                eprintln!(
                    "      ({:.1} MiB/s through weir)",
                    tcp_bytes as f64 / secs / f64::from(1 << 20)
                );
            }
        }
    }

    // 4. The hosts' ARP for their gateway was answered with the router's MAC.
    for h in &HOSTS {
        let out = run(
            &dir,
            "neigh",
            Command::new("ip").args(["-n", &lab.ns(h.name), "neigh", "show", h.gw, "dev", "eth0"]),
            Duration::from_secs(5),
        );
        let line = out.stdout.trim().to_string();
        let want = format!("lladdr {}", mac_str(&h.router_mac));
        c.check(
            &format!(
                "{} resolved its gateway {} to {}",
                h.name,
                h.gw,
                mac_str(&h.router_mac)
            ),
            out.ok()
                && line.contains(&want)
                && ["REACHABLE", "STALE", "DELAY", "PROBE"]
                    .iter()
                    .any(|s| line.ends_with(s)),
            || format!("`ip neigh show {}`: {line:?} {}", h.gw, out.stderr),
        );
    }
    if !tools.scapy {
        c.skip(
            "arp probe with scapy",
            "needs python3-scapy for /usr/bin/python3",
        );
    } else {
        let script = format!("{ROOT}/tests/netns/probe.py");
        for h in [h1, h3] {
            let out = run(
                &dir,
                "arp-probe",
                &mut lab.exec(
                    h.name,
                    &[PYTHON, &script, "arp", "eth0", h.addr, h.gw, "10.1.0.99"],
                ),
                Duration::from_secs(30),
            );
            let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
            let me = v["my_mac"].as_str().unwrap_or("?").to_string();
            let rmac = mac_str(&h.router_mac);
            let right = |r: &Value| {
                r["eth_src"] == rmac.as_str()
                    && r["eth_dst"] == me.as_str()
                    && r["eth_type"] == 0x0806
                    && r["hwtype"] == 1
                    && r["ptype"] == 0x0800
                    && r["hwlen"] == 6
                    && r["plen"] == 4
                    && r["op"] == 2
                    && r["hwsrc"] == rmac.as_str()
                    && r["psrc"] == h.gw
                    && r["hwdst"] == me.as_str()
                    && r["pdst"] == h.addr
            };
            let one_right = |k: &str| {
                v[k].as_array()
                    .is_some_and(|a| a.len() == 1 && right(&a[0]))
            };
            c.check(
                &format!(
                    "arp who-has {} (broadcast) from {}: one correct reply",
                    h.gw, h.name
                ),
                out.ok() && one_right("broadcast"),
                || out.show(),
            );
            c.check(
                &format!(
                    "arp who-has {} (unicast) from {}: one correct reply",
                    h.gw, h.name
                ),
                out.ok() && one_right("unicast"),
                || out.show(),
            );
            c.check(
                &format!(
                    "arp who-has 10.1.0.99 (not the router's) from {}: no reply",
                    h.name
                ),
                out.ok() && v["other"].as_array().is_some_and(|a| a.is_empty()),
                || out.show(),
            );
        }
    }

    // 7. Malformed frames from h1: dropped and counted, weir unharmed.
    let mut bad_sent: BTreeMap<String, u64> = BTreeMap::new();
    if !tools.scapy {
        c.skip(
            "malformed frames",
            "needs python3-scapy for /usr/bin/python3",
        );
    } else {
        let script = format!("{ROOT}/tests/netns/probe.py");
        let rmac = mac_str(&h1.router_mac);
        let out = run(
            &dir,
            "bad-frames",
            &mut lab.exec(
                "h1",
                &[PYTHON, &script, "bad", "eth0", &rmac, h1.addr, "10.2.0.2"],
            ),
            Duration::from_secs(30),
        );
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        if let Some(m) = v["sent"].as_object() {
            for (k, n) in m {
                bad_sent.insert(k.clone(), n.as_u64().unwrap_or(0));
            }
        }
        let runt_refused = v["runt_refused"] == true;
        c.check(
            "malformed frames sent from h1",
            out.ok() && !bad_sent.is_empty(),
            || out.show(),
        );
        if runt_refused {
            eprintln!(
                "      (the kernel refuses frames shorter than an Ethernet header on a veth: \
                 the `runt` counter cannot be reached from here)"
            );
        }
        c.check(
            "weir still running after malformed frames",
            weir.running(),
            || weir.stderr_text(),
        );
        run_ping(
            &mut c,
            &lab,
            "ping h1 -> 10.2.0.2 after malformed frames",
            h1,
            "10.2.0.2",
        );
    }
    // h1's patterned echo requests to h2: before and after the bad frames.
    let echo_requests_h1_h2 = if tools.scapy { 6 } else { 3 };

    // Stop weir cleanly, then the captures.
    let stop_time_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64;
    let status = weir.stop(SIGTERM, Duration::from_secs(10));
    c.check(
        "weir stops on SIGTERM with status 0",
        status.is_some_and(|s| s.success()),
        || format!("{status:?}: {}", weir.stderr_text()),
    );
    for (i, p, _) in &mut captures {
        let s = p.stop(SIGINT, Duration::from_secs(5));
        let err = p.stderr_text();
        c.check(
            &format!("capture on {} complete", HOSTS[*i].name),
            s.is_some() && err.contains(" 0 packets dropped by kernel"),
            || err.clone(),
        );
    }

    // 8. The summary: documented fields, consistent counts.
    let summary: Value = fs::read_to_string(&summary_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    lab.diag.push(("summary".into(), summary_path.clone()));
    check_summary_fields(&mut c, &summary);
    let port = |name: &str| -> Value {
        summary["ports"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    let num = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    for h in &HOSTS {
        let p = port(h.name);
        c.check(
            &format!("summary port {}: no rx errors, missed or tx drops", h.name),
            num(&p["rx_errors"]) == 0 && num(&p["rx_missed"]) == 0 && num(&p["tx_dropped"]) == 0,
            || format!("{p}"),
        );
    }
    let min_segments = tcp_bytes / 1500;
    if tools.python {
        c.check(
            "summary: the TCP transfer shows in h1 rx and h2 tx",
            num(&port("h1")["rx_packets"]) > min_segments
                && num(&port("h2")["tx_packets"]) > min_segments
                && num(&port("h1")["rx_bytes"]) > tcp_bytes
                && num(&port("h2")["tx_bytes"]) > tcp_bytes,
            || format!("h1 {} h2 {}", port("h1"), port("h2")),
        );
    }
    let pl = &summary["pipeline"];
    c.check(
        "summary: pipeline.local counts the echo requests to the router",
        num(&pl["local"]) == echo_to_router,
        || format!("expected {echo_to_router}: {pl}"),
    );
    c.check(
        "summary: pipeline.icmp_errors counts the TTL-exceeded errors",
        num(&pl["icmp_errors"]) == ttl_errors && num(&pl["icmp_ratelimited"]) == 0,
        || format!("expected {ttl_errors}: {pl}"),
    );
    let drops = &summary["drops"];
    c.check(
        "summary: drops.ttl-expired counts the TTL-1 pings",
        num(&drops["ttl-expired"]) == ttl_errors,
        || format!("expected {ttl_errors}: {drops}"),
    );
    // 7 (counters). Every malformed frame counted under its reason.
    if tools.scapy {
        let mut expect = bad_sent.clone();
        expect.entry("runt".into()).or_insert(0);
        for reason in ["ip-malformed", "ip-checksum", "ethertype", "runt"] {
            let want = expect.get(reason).copied().unwrap_or(0);
            c.check(
                &format!("summary: drops.{reason} = {want} malformed frames sent"),
                num(&drops[reason]) == want,
                || format!("drops: {drops}"),
            );
        }
        for reason in ["not-for-us", "martian", "no-route", "vlan", "arp-invalid"] {
            c.check(
                &format!("summary: drops.{reason} = 0"),
                num(&drops[reason]) == 0,
                || format!("drops: {drops}"),
            );
        }
    }

    // Captures: consistency with the summary (8), VRF isolation (5), and
    // the malformed frames not forwarded (7).
    if tools.tcpdump {
        let mut frames: Vec<Vec<Frame>> = Vec::new();
        for (i, _, file) in &captures {
            match read_pcap(file) {
                Ok(f) => frames.push(f),
                Err(e) => {
                    c.check(&format!("read capture of {}", HOSTS[*i].name), false, || e);
                    frames.push(Vec::new());
                }
            }
        }
        for (i, h) in HOSTS.iter().enumerate() {
            let f = &frames[i];
            let from_router: Vec<&Frame> = f.iter().filter(|x| src(x) == h.router_mac).collect();
            let from_host: Vec<&Frame> = f
                .iter()
                .filter(|x| x.data.len() >= 14 && src(x) != h.router_mac)
                .collect();
            let host_before_stop: Vec<&&Frame> = from_host
                .iter()
                .filter(|x| x.ts_us < stop_time_us)
                .collect();
            let p = port(h.name);
            let tx_bytes: u64 = from_router.iter().map(|x| x.len as u64).sum();
            c.check(
                &format!(
                    "port {}: tx_packets/tx_bytes = frames/bytes from {} in {}'s capture",
                    h.name,
                    mac_str(&h.router_mac),
                    h.name
                ),
                num(&p["tx_packets"]) == from_router.len() as u64
                    && num(&p["tx_bytes"]) == tx_bytes,
                || {
                    format!(
                        "summary {p}; capture: {} frames, {tx_bytes} bytes",
                        from_router.len()
                    )
                },
            );
            let rx_bytes: u64 = host_before_stop.iter().map(|x| x.len as u64).sum();
            let rx_total = num(&p["rx_packets"])
                .saturating_add(num(&p["rx_missed"]))
                .saturating_add(num(&p["rx_errors"]));
            c.check(
                &format!(
                    "port {}: rx_packets/rx_bytes = frames/bytes {} sent while weir ran",
                    h.name, h.name
                ),
                rx_total == host_before_stop.len() as u64 && num(&p["rx_bytes"]) == rx_bytes,
                || {
                    format!(
                        "summary {p}; capture: {} frames, {rx_bytes} bytes before SIGTERM, {} after",
                        host_before_stop.len(),
                        from_host.len() - host_before_stop.len()
                    )
                },
            );
            c.check(
                &format!("{} received frames from the router", h.name),
                !from_router.is_empty(),
                || "none".into(),
            );
        }
        // 5. VRF isolation: echoes from MAIN hosts never reach BGP hosts
        // and the other way round; each reached its peer.
        for (i, h) in HOSTS.iter().enumerate() {
            for other in HOSTS.iter().filter(|o| o.vrf != h.vrf) {
                let leaked = frames[i]
                    .iter()
                    .filter(|x| icmp_with(&x.data, other.pattern))
                    .count();
                c.check(
                    &format!(
                        "VRF isolation: no ICMP of {} ({}) in {}'s capture ({})",
                        other.name, other.vrf, h.name, h.vrf
                    ),
                    leaked == 0,
                    || format!("{leaked} frames"),
                );
            }
        }
        let reached = |to: usize, from: &Host| {
            frames[to]
                .iter()
                .filter(|x| src(x) == HOSTS[to].router_mac)
                .filter(|x| is_echo_with(&x.data, from.pattern))
                .count()
        };
        for (from, to, n) in [
            (h1, 1, echo_requests_h1_h2),
            (h2, 0, 3),
            (h3, 3, 3),
            (h4, 2, 3),
        ] {
            let got = reached(to, from);
            c.check(
                &format!("{}'s echo requests reached {}", from.name, HOSTS[to].name),
                got >= n as usize,
                || format!("{got} of at least {n}"),
            );
        }
        for (i, h) in HOSTS.iter().enumerate() {
            let fwd = frames[i]
                .iter()
                .filter(|x| src(x) == h.router_mac && contains(&x.data, b"weir-bad-frame"))
                .count();
            c.check(
                &format!("no malformed frame forwarded to {}", h.name),
                fwd == 0,
                || format!("{fwd} frames with the marker"),
            );
        }
        let partial = frames[0]
            .iter()
            .filter(|x| src(x) != h1.router_mac && tcp_checksum_partial(&x.data))
            .count();
        eprintln!(
            "      ({partial} TCP segments from h1 carried a partial checksum for weir to complete)"
        );
    }

    // 6. tshark dissects everything weir sent, without complaint.
    if !tools.tcpdump || !tools.tshark {
        c.skip("tshark dissection", "needs tcpdump and tshark");
    } else {
        for (i, _, file) in &captures {
            let h = &HOSTS[*i];
            let rmac = mac_str(&h.router_mac);
            let bad = format!(
                "eth.src == {rmac} && (_ws.malformed || ip.checksum.status == \"Bad\" \
                 || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" \
                 || icmp.checksum.status == \"Bad\" || _ws.expert.severity >= \"Error\")"
            );
            let f = file.to_string_lossy().into_owned();
            let out = run(
                &dir,
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
            let count = run(
                &dir,
                "tshark",
                Command::new("tshark").args([
                    "-n",
                    "-r",
                    &f,
                    "-Y",
                    &format!("eth.src == {rmac}"),
                    "-T",
                    "fields",
                    "-e",
                    "frame.number",
                ]),
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

    eprintln!(
        "netns: {} checks passed, {} failed, in {:.1} s",
        c.passed,
        c.failed.len(),
        started.elapsed().as_secs_f64()
    );
    drop(captures);
    drop(weir);
    if !c.failed.is_empty() {
        let mut msg = format!("{} netns checks failed:\n", c.failed.len());
        for f in &c.failed {
            let _ = writeln!(msg, "  - {}", f.lines().next().unwrap_or(""));
        }
        panic!("{msg}");
    }
    drop(lab);
}

/// The summary JSON has the fields the README documents.
fn check_summary_fields(c: &mut Checks, s: &Value) {
    let mut missing = Vec::new();
    if !s["elapsed_seconds"].as_f64().is_some_and(|x| x > 0.0) {
        missing.push("elapsed_seconds".to_string());
    }
    for k in ["rx_mpps", "tx_mpps"] {
        if !s[k].is_number() {
            missing.push(k.to_string());
        }
    }
    match s["ports"].as_array() {
        Some(ports) => {
            let names: Vec<&str> = ports.iter().filter_map(|p| p["name"].as_str()).collect();
            if names != ["h1", "h2", "h3", "h4"] {
                missing.push(format!("ports[].name {names:?}"));
            }
            for p in ports {
                if p["driver"] != "af_packet" {
                    missing.push(format!("ports[{}].driver", p["name"]));
                }
                for k in [
                    "rx_packets",
                    "rx_bytes",
                    "tx_packets",
                    "tx_bytes",
                    "rx_missed",
                    "rx_errors",
                    "tx_dropped",
                ] {
                    if !p[k].is_u64() {
                        missing.push(format!("ports[{}].{k}", p["name"]));
                    }
                }
            }
        }
        None => missing.push("ports".into()),
    }
    for k in [
        "forwarded",
        "local",
        "punted",
        "injected",
        "icmp_errors",
        "icmp_ratelimited",
    ] {
        if !s["pipeline"][k].is_u64() {
            missing.push(format!("pipeline.{k}"));
        }
    }
    for k in [
        "runt",
        "not-for-us",
        "vlan",
        "ethertype",
        "ip-malformed",
        "ip-checksum",
        "martian",
        "ttl-expired",
        "no-route",
        "neighbor-incomplete",
    ] {
        if !s["drops"][k].is_u64() {
            missing.push(format!("drops.{k}"));
        }
    }
    if !s["control"].is_object() {
        missing.push("control".into());
    }
    c.check(
        "summary JSON has the documented fields",
        missing.is_empty(),
        || format!("missing or wrong: {missing:?}; summary: {s}"),
    );
}

// ---------------------------------------------------------------------------
// 9. A missing interface

#[test]
fn missing_interface_is_a_clear_error() {
    const TEST: &str = "netns::missing_interface_is_a_clear_error";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !lab_possible(TEST) {
        return;
    }
    remove_stale_namespaces();
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("weir-netns-solo-{pid}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the test directory");
    // An empty namespace of our own: the interface surely is not there.
    let ns = Netns::add(format!("weirt{pid}-solo"));
    let cfg = dir.join("missing.toml");
    fs::write(
        &cfg,
        "# weir's netns test: an interface that does not exist\n\
         [[interface]]\n\
         name = \"ghost\"\n\
         addresses = [\"10.9.0.1/24\"]\n\
         af_packet = { iface = \"wt-missing0\" }\n",
    )
    .expect("writing the config");
    let c = cfg.to_string_lossy().into_owned();
    let start = Instant::now();
    let out = run(
        &dir,
        "weir-missing",
        &mut in_ns(
            &ns.0,
            &[WEIR, "run", &c, "--no-pin", "-q", "--duration", "30"],
        ),
        Duration::from_secs(10),
    );
    let took = start.elapsed();
    let pids = Command::new("ip")
        .args(["netns", "pids", &ns.0])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    drop(ns);
    let _ = fs::remove_dir_all(&dir);
    assert!(
        out.status.is_some(),
        "weir kept running with a missing interface (killed after 10 s): {}",
        out.show()
    );
    assert!(
        !out.ok(),
        "weir exited with success despite the missing interface: {}",
        out.show()
    );
    assert!(
        out.stderr.contains("wt-missing0"),
        "weir's error does not name the missing interface: {}",
        out.show()
    );
    assert!(
        took < Duration::from_secs(5),
        "weir took {took:?} to give up on a missing interface"
    );
    assert!(pids.is_empty(), "processes left in the namespace: {pids}");
    eprintln!(
        "ok    missing interface: exit {:?} in {:.2} s: {}",
        out.status.and_then(|s| s.code()),
        took.as_secs_f64(),
        out.stderr.trim()
    );
}
