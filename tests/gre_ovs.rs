//! weir's GRE tunnel against an independent GRE implementation: Open
//! vSwitch's user-space datapath (`datapath_type=netdev`), since the
//! kernels these tests run on may have no GRE module.
//!
//! ```text
//!  PREFIX-a                PREFIX-rt (weir)                 PREFIX-ovs (OVS netdev)                PREFIX-b
//!  10.1.0.2/24 ─ eth0 ── veth-lan  lan 10.1.0.1/24
//!                                  wan 198.51.100.1/24 ─ veth-wan ── wan0 ─ br-phy 198.51.100.2/24
//!                                  gre1 10.255.0.1/30, key 42  ═══════  br-int: gre0 (legacy_l3, key 42)
//!                                  10.9.0.0/24 -> gre1                         vb0 ──────────── eth0 10.9.0.2/24
//! ```
//!
//! L3 GRE (protocol type 0x0800, RFC 2784/2890 with a key) both ways. The
//! checks, in order, each reported `ok` / `FAIL` on stderr:
//!
//! 1. A pings B and B pings A; one TCP connection carries data both ways
//!    (`tests/netns/tcp_echo.py`).
//! 2. tshark, on the underlay veth inside the OVS namespace, finds the outer
//!    headers right: IPv4 198.51.100.1 <-> 198.51.100.2, protocol 47, GRE
//!    key 42, protocol type 0x0800, inner 10.1.0.2 <-> 10.9.0.2, nothing
//!    malformed, no bad checksum.
//! 3. 1500-byte pings with DF clear cross the 1472-byte tunnel (1500 - 24 -
//!    4 for the key) both ways.
//! 4. With DF set, A gets "fragmentation needed" from weir with MTU 1472.
//!
//! What OVS (3.1, user space) cannot do, and how the test lives with it:
//! - it does not reassemble outer IP fragments before it decapsulates: an
//!   outer-fragmented GRE packet (weir's default `fragment = "outer"`) is
//!   handed to br-phy's kernel interface, whose kernel has no GRE and answers
//!   "protocol unreachable". The tunnel here is `fragment = "inner"`: weir
//!   fragments the inner packet and encapsulates every fragment;
//! - it does not fragment what it encapsulates either (a frame over the
//!   underlay MTU fails with EMSGSIZE, no ICMP), so host B has the tunnel's
//!   MTU, 1472, on its interface, as a host behind an OVS tunnel must: B
//!   fragments its big packets itself and weir forwards the fragments.
//! - its AF_PACKET ports do not complete partial checksums, so host B sends
//!   with transmit checksum offload off (host A keeps it: weir completes
//!   the checksums before encapsulation).
//!
//! Needs root (namespaces), `ip`, `ethtool`, Open vSwitch (`ovsdb-tool`,
//! `ovsdb-server`, `ovs-vswitchd`, `ovs-vsctl`, `ovs-ofctl`) and
//! `/usr/bin/python3`; without root or OVS the test says `SKIPPED: ...` and
//! passes; `scripts/test` installs `openvswitch-switch` and `tshark`. Without
//! tcpdump or tshark check 2 is skipped.
//!
//! Namespaces are named `wg<pid>-{a,rt,ovs,b}`, deleted when the test ends
//! (also on panic); OVS's daemons run in the foreground with their
//! database, sockets and logs in a temp directory, as children of the test
//! (ended by pid, and dying with it through `PR_SET_PDEATHSIG`).

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WEIR_WAN_MAC: &str = "02:77:00:00:01:02";
const PHY_MAC: &str = "02:0b:00:00:00:fe";
const B_GW_MAC: &str = "02:0b:00:00:00:01";
const B_MAC: &str = "02:0b:00:00:00:02";
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

const CONFIG: &str = r#"# tests/gre_ovs.rs: weir's end of a GRE tunnel to Open vSwitch
[workers]
pool_size = 8192

[[interface]]
name = "lan"
mac = "02:77:00:00:01:01"
addresses = ["10.1.0.1/24"]
af_packet = { iface = "veth-lan" }

[[interface]]
name = "wan"
mac = "02:77:00:00:01:02"
addresses = ["198.51.100.1/24"]
af_packet = { iface = "veth-wan" }

# OVS's user-space datapath does not reassemble outer fragments: fragment
# the inner packet instead.
[[tunnel]]
name = "gre1"
source = "wan"
destination = "198.51.100.2"
key = 42
fragment = "inner"
addresses = ["10.255.0.1/30"]

[[route]]
prefix = "10.9.0.0/24"
interface = "gre1"
"#;

/// Delete namespaces `wg<pid>-*` of earlier runs that were killed.
fn remove_stale() {
    let Ok(rd) = fs::read_dir("/run/netns") else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((pid, suffix)) = name.strip_prefix("wg").and_then(|r| r.split_once('-')) else {
            continue;
        };
        if ["a", "rt", "ovs", "b"].contains(&suffix)
            && !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

/// Run a setup command; panics (the test fails) if it does not succeed.
fn must(lab: &Lab, what: &str, cmd: &mut Command) -> Out {
    let out = run(&lab.dir, what, cmd, Duration::from_secs(20));
    assert!(out.ok(), "setup step failed: {}", out.show());
    out
}

/// A command in namespace `ns` of the lab.
fn ns_cmd(lab: &Lab, ns: &str, args: &[&str]) -> Command {
    lab.exec(ns, args)
}

/// OVS's daemons and the environment its tools need.
struct Ovs {
    dir: PathBuf,
    // Dropped (killed) in this order: the switch before its database.
    vswitchd: Option<Proc>,
    ovsdb: Option<Proc>,
}

impl Ovs {
    fn cmd(&self, lab: &Lab, args: &[&str]) -> Command {
        let mut c = lab.exec("ovs", args);
        for k in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR"] {
            c.env(k, &self.dir);
        }
        c
    }

    fn db(&self) -> String {
        format!("--db=unix:{}", self.dir.join("db.sock").display())
    }

    fn vsctl(&self, lab: &Lab, args: &[&str]) -> Out {
        let db = self.db();
        let mut a = vec!["ovs-vsctl", &db, "--timeout=20"];
        a.extend_from_slice(args);
        must(lab, "ovs-vsctl", &mut self.cmd(lab, &a))
    }

    fn ofctl(&self, lab: &Lab, args: &[&str]) -> Out {
        let mut a = vec!["ovs-ofctl"];
        a.extend_from_slice(args);
        must(lab, "ovs-ofctl", &mut self.cmd(lab, &a))
    }

    fn appctl(&self, lab: &Lab, args: &[&str]) -> Out {
        let ctl = self
            .dir
            .join("ovs-vswitchd.ctl")
            .to_string_lossy()
            .into_owned();
        let mut a = vec!["ovs-appctl", "-t", &ctl];
        a.extend_from_slice(args);
        run(
            &lab.dir,
            "ovs-appctl",
            &mut self.cmd(lab, &a),
            Duration::from_secs(10),
        )
    }

    /// Start ovsdb-server and ovs-vswitchd in the lab's `ovs` namespace.
    /// Err: why they could not start (the test is then skipped).
    fn start(lab: &mut Lab) -> Result<Ovs, String> {
        let dir = lab.dir.join("ovs");
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut ovs = Ovs {
            dir: dir.clone(),
            vswitchd: None,
            ovsdb: None,
        };
        let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
        let (db, sock) = (p("conf.db"), p("db.sock"));
        let out = run(
            &lab.dir,
            "ovsdb-tool",
            Command::new("ovsdb-tool").args(["create", &db, SCHEMA]),
            Duration::from_secs(10),
        );
        if !out.ok() {
            return Err(format!("ovsdb-tool create failed: {}", out.show()));
        }
        let remote = format!("--remote=punix:{sock}");
        let args = [
            "ovsdb-server",
            &db,
            &remote,
            &format!("--pidfile={}", p("ovsdb-server.pid")),
            &format!("--unixctl={}", p("ovsdb-server.ctl")),
            &format!("--log-file={}", p("ovsdb-server.log")),
        ]
        .map(String::from);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Proc::spawn(&lab.dir, "ovsdb-server", &mut ovs.cmd(lab, &args));
        lab.diag
            .push(("ovsdb-server log".into(), dir.join("ovsdb-server.log")));
        ovs.ovsdb = Some(server);
        let end = Instant::now() + Duration::from_secs(10);
        while !Path::new(&sock).exists() {
            let s = ovs.ovsdb.as_mut().expect("just set");
            if !s.running() || Instant::now() > end {
                return Err(format!("ovsdb-server did not start: {}", s.stderr_text()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let dbarg = ovs.db();
        let out = run(
            &lab.dir,
            "ovs-vsctl-init",
            &mut ovs.cmd(lab, &["ovs-vsctl", &dbarg, "--no-wait", "init"]),
            Duration::from_secs(10),
        );
        if !out.ok() {
            return Err(format!("ovs-vsctl init failed: {}", out.show()));
        }
        let args = [
            "ovs-vswitchd".to_string(),
            format!("unix:{sock}"),
            format!("--pidfile={}", p("ovs-vswitchd.pid")),
            format!("--unixctl={}", p("ovs-vswitchd.ctl")),
            format!("--log-file={}", p("ovs-vswitchd.log")),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let vswitchd = Proc::spawn(&lab.dir, "ovs-vswitchd", &mut ovs.cmd(lab, &args));
        lab.diag
            .push(("ovs-vswitchd log".into(), dir.join("ovs-vswitchd.log")));
        ovs.vswitchd = Some(vswitchd);
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if ovs.appctl(lab, &["version"]).ok() {
                return Ok(ovs);
            }
            let v = ovs.vswitchd.as_mut().expect("just set");
            if !v.running() || Instant::now() > end {
                return Err(format!(
                    "ovs-vswitchd did not start: {}{}",
                    v.stderr_text(),
                    fs::read_to_string(dir.join("ovs-vswitchd.log")).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// br-phy holds the underlay (wan0, and 198.51.100.2 on its own tap
    /// device); br-int the L3 GRE port and host B, joined by two flows.
    fn configure(&self, lab: &Lab) {
        // A MAC of its own for br-phy: with wan0's (OVS's default), frames
        // for br-phy would also reach the namespace's kernel through wan0,
        // which would answer GRE with "protocol unreachable".
        self.vsctl(
            lab,
            &[
                "add-br",
                "br-phy",
                "--",
                "set",
                "bridge",
                "br-phy",
                "datapath_type=netdev",
                &format!("other-config:hwaddr={PHY_MAC}"),
                "--",
                "add-port",
                "br-phy",
                "wan0",
            ],
        );
        // The namespace's kernel must not answer ARP for br-phy's address
        // on wan0 (with wan0's MAC: weir would send its first packets there).
        must(
            lab,
            "sysctl",
            &mut ns_cmd(
                lab,
                "ovs",
                &[
                    "sh",
                    "-c",
                    "echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore",
                ],
            ),
        );
        must(
            lab,
            "ip",
            &mut ns_cmd(
                lab,
                "ovs",
                &["ip", "addr", "add", "198.51.100.2/24", "dev", "br-phy"],
            ),
        );
        must(
            lab,
            "ip",
            &mut ns_cmd(lab, "ovs", &["ip", "link", "set", "br-phy", "up"]),
        );
        self.vsctl(
            lab,
            &[
                "add-br",
                "br-int",
                "--",
                "set",
                "bridge",
                "br-int",
                "datapath_type=netdev",
                "fail-mode=secure",
                "--",
                "add-port",
                "br-int",
                "gre0",
                "--",
                "set",
                "interface",
                "gre0",
                "type=gre",
                "ofport_request=1",
                "options:remote_ip=198.51.100.1",
                "options:key=42",
                "options:packet_type=legacy_l3",
                "--",
                "add-port",
                "br-int",
                "vb0",
                "--",
                "set",
                "interface",
                "vb0",
                "ofport_request=2",
            ],
        );
        self.ofctl(lab, &["del-flows", "br-int"]);
        // From the tunnel (an L3 packet, given an Ethernet header by OVS)
        // to B; from B to A's subnet into the tunnel (the Ethernet header
        // goes).
        let to_b =
            format!("in_port=1,ip,actions=mod_dl_src:{B_GW_MAC},mod_dl_dst:{B_MAC},output:2");
        self.ofctl(lab, &["add-flow", "br-int", &to_b]);
        self.ofctl(
            lab,
            &[
                "add-flow",
                "br-int",
                "in_port=2,ip,nw_dst=10.1.0.0/24,actions=output:1",
            ],
        );
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        for p in [self.vswitchd.as_mut(), self.ovsdb.as_mut()]
            .into_iter()
            .flatten()
        {
            p.stop(SIGTERM, Duration::from_secs(5));
        }
    }
}

fn build_namespaces(lab: &Lab) {
    let ns = |h: &str| lab.ns(h);
    let ip = |args: &[&str]| {
        must(lab, "ip", Command::new("ip").args(args));
    };
    ip(&[
        "link",
        "add",
        "eth0",
        "netns",
        &ns("a"),
        "type",
        "veth",
        "peer",
        "name",
        "veth-lan",
        "netns",
        &ns("rt"),
    ]);
    ip(&[
        "link",
        "add",
        "veth-wan",
        "netns",
        &ns("rt"),
        "type",
        "veth",
        "peer",
        "name",
        "wan0",
        "netns",
        &ns("ovs"),
    ]);
    ip(&[
        "link",
        "add",
        "vb0",
        "netns",
        &ns("ovs"),
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &ns("b"),
    ]);
    for (h, dev) in [
        ("a", "lo"),
        ("a", "eth0"),
        ("rt", "lo"),
        ("rt", "veth-lan"),
        ("rt", "veth-wan"),
        ("ovs", "lo"),
        ("ovs", "wan0"),
        ("ovs", "vb0"),
        ("b", "lo"),
    ] {
        ip(&["-n", &ns(h), "link", "set", dev, "up"]);
    }
    ip(&["-n", &ns("a"), "addr", "add", "10.1.0.2/24", "dev", "eth0"]);
    ip(&["-n", &ns("a"), "route", "add", "default", "via", "10.1.0.1"]);
    // B behind the tunnel has the tunnel's MTU (OVS does not fragment), and
    // a static entry for its gateway (no ARP responder in br-int).
    ip(&[
        "-n",
        &ns("b"),
        "link",
        "set",
        "eth0",
        "address",
        B_MAC,
        "mtu",
        "1472",
        "up",
    ]);
    ip(&["-n", &ns("b"), "addr", "add", "10.9.0.2/24", "dev", "eth0"]);
    ip(&["-n", &ns("b"), "route", "add", "default", "via", "10.9.0.1"]);
    ip(&[
        "-n",
        &ns("b"),
        "neigh",
        "replace",
        "10.9.0.1",
        "lladdr",
        B_GW_MAC,
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    // No segmentation offloads anywhere (weir's af_packet port drops GSO
    // super-frames; OVS would send them whole); B also without transmit
    // checksum offload, which OVS's AF_PACKET ports do not complete.
    for (h, dev, feats) in [
        ("a", "eth0", "tso off gso off"),
        ("b", "eth0", "tx off tso off gso off"),
        ("ovs", "wan0", "tx off tso off gso off gro off"),
        ("ovs", "vb0", "tx off tso off gso off gro off"),
    ] {
        for f in feats.split(' ').collect::<Vec<_>>().chunks(2) {
            let _ = run(
                &lab.dir,
                "ethtool",
                &mut ns_cmd(lab, h, &["ethtool", "-K", dev, f[0], f[1]]),
                Duration::from_secs(5),
            );
        }
    }
}

/// One tshark field list per GRE frame of the capture (IP reassembly off,
/// so each frame shows its own headers).
fn gre_frames(lab: &Lab, file: &Path) -> Result<Vec<Vec<String>>, String> {
    let f = file.to_string_lossy().into_owned();
    let fields = [
        "eth.src",
        "ip.src",
        "ip.dst",
        "ip.proto",
        "gre.key",
        "gre.proto",
        "ip.flags.mf",
        "ip.frag_offset",
        "ip.len",
    ];
    let mut args = vec![
        "-n",
        "-r",
        &f,
        "-o",
        "ip.defragment:FALSE",
        "-Y",
        "ip.proto == 47",
        "-T",
        "fields",
        "-E",
        "separator=|",
    ];
    for x in &fields {
        args.extend(["-e", x]);
    }
    let out = run(
        &lab.dir,
        "tshark",
        Command::new("tshark").args(&args),
        Duration::from_secs(60),
    );
    if !out.ok() {
        return Err(out.show());
    }
    Ok(out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect())
}

#[test]
fn gre_interop_with_open_vswitch() {
    const TEST: &str = "gre_ovs::gre_interop_with_open_vswitch";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !lab_possible(TEST) {
        return;
    }
    let missing: Vec<&str> = [
        "ovsdb-tool",
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovs-ofctl",
        "ovs-appctl",
    ]
    .into_iter()
    .filter(|c| !which(c))
    .collect();
    if !missing.is_empty() || !Path::new(SCHEMA).exists() {
        eprintln!(
            "SKIPPED: {TEST}: needs Open vSwitch (apt-get install openvswitch-switch): missing {missing:?}{}",
            if Path::new(SCHEMA).exists() { "" } else { " and its schema" }
        );
        return;
    }
    if !Path::new(PYTHON).exists() || !which("ethtool") {
        eprintln!("SKIPPED: {TEST}: needs {PYTHON} and ethtool");
        return;
    }
    let started = Instant::now();
    let tools = Tools::probe();
    remove_stale();
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("weir-gre-ovs-{pid}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the test directory");
    // Dropped last: deletes the namespaces (the guards below do too) and,
    // on panic, prints the logs.
    let mut lab = Lab {
        prefix: format!("wg{pid}"),
        dir: dir.clone(),
        diag: Vec::new(),
    };
    let _namespaces: Vec<Netns> = ["a", "rt", "ovs", "b"]
        .iter()
        .map(|h| Netns::add(lab.ns(h)))
        .collect();
    build_namespaces(&lab);

    let ovs = match Ovs::start(&mut lab) {
        Ok(o) => o,
        Err(why) => {
            eprintln!("SKIPPED: {TEST}: Open vSwitch cannot run here: {why}");
            return;
        }
    };
    ovs.configure(&lab);

    let mut c = Checks::default();
    let pcap = dir.join("wan0.pcap");
    let mut tcpdump = if tools.tcpdump && tools.tshark {
        let f = pcap.to_string_lossy().into_owned();
        let args = [
            "tcpdump",
            "-i",
            "wan0",
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
        let mut t = Proc::spawn(&dir, "tcpdump-wan0", &mut lab.exec("ovs", &args));
        lab.diag.push(("capture on wan0".into(), pcap.clone()));
        assert!(
            t.wait_output("listening on", true, Duration::from_secs(10)),
            "tcpdump did not start: {}",
            t.stderr_text()
        );
        Some(t)
    } else {
        c.skip(
            "check 2 (tshark on the underlay)",
            "needs tcpdump and tshark",
        );
        None
    };

    let cfg = dir.join("weir.toml");
    fs::write(&cfg, CONFIG).expect("writing the config");
    let summary = dir.join("summary.json");
    let mut weir = start_weir(&mut lab, &cfg.to_string_lossy(), &summary);

    // Check 1: pings both ways, then TCP both ways on one connection.
    let quick = ["-c", "3", "-i", "0.2", "-W", "2"];
    // The first packet waits for two ARP resolutions (weir's and OVS's).
    let _ = run(
        &dir,
        "ping-warm",
        &mut lab.exec("a", &["ping", "-n", "-c", "1", "-W", "3", "10.9.0.2"]),
        Duration::from_secs(10),
    );
    ping(
        &mut c,
        &lab,
        "1. ping A 10.1.0.2 -> B 10.9.0.2 through weir's GRE to OVS",
        "a",
        &quick,
        "10.9.0.2",
    );
    ping(
        &mut c,
        &lab,
        "1. ping B 10.9.0.2 -> A 10.1.0.2 through OVS's GRE to weir",
        "b",
        &quick,
        "10.1.0.2",
    );
    let script = format!("{ROOT}/tests/netns/tcp_echo.py");
    let mut server = Proc::spawn(
        &dir,
        "tcp-echo-b",
        &mut lab.exec("b", &[PYTHON, &script, "serve", "5001", "20"]),
    );
    let name = "1. TCP A -> B: 1 MiB sent and echoed back intact on one connection";
    if server.wait_output("listening", false, Duration::from_secs(10)) {
        let args = [
            PYTHON, &script, "talk", "10.9.0.2", "5001", "1048576", "7", "20",
        ];
        let talk = run(
            &dir,
            "tcp-echo-a",
            &mut lab.exec("a", &args),
            Duration::from_secs(30),
        );
        let served = server.finish(Duration::from_secs(10));
        c.check(
            name,
            talk.ok()
                && served.ok()
                && talk
                    .stdout
                    .contains(r#""sent": 1048576, "echoed": 1048576, "same": true"#),
            || format!("client {}\nserver {}", talk.show(), served.show()),
        );
    } else {
        c.check(name, false, || {
            format!("the echo server did not start: {}", server.stderr_text())
        });
    }

    // Check 3: 1500-byte packets, DF clear. A's kernel may have learned the
    // tunnel's MTU from TCP above: forget it, so weir does the fragmenting.
    must(
        &lab,
        "ip",
        &mut lab.exec("a", &["ip", "route", "flush", "cache"]),
    );
    let big = [
        "-M", "dont", "-s", "1472", "-c", "3", "-i", "0.3", "-W", "2",
    ];
    ping(
        &mut c,
        &lab,
        "3. ping -M dont -s 1472 A -> B (weir fragments the inner packet)",
        "a",
        &big,
        "10.9.0.2",
    );
    ping(
        &mut c,
        &lab,
        "3. ping -M dont -s 1472 B -> A (B fragments at its MTU 1472)",
        "b",
        &big,
        "10.1.0.2",
    );

    // Check 4: DF set: weir answers "fragmentation needed", MTU 1472.
    must(
        &lab,
        "ip",
        &mut lab.exec("a", &["ip", "route", "flush", "cache"]),
    );
    let args = [
        "ping", "-n", "-M", "do", "-s", "1472", "-c", "3", "-i", "0.3", "-W", "1", "10.9.0.2",
    ];
    let out = run(
        &dir,
        "ping-df",
        &mut lab.exec("a", &args),
        Duration::from_secs(10),
    );
    c.check(
        "4. ping -M do -s 1472 A -> B: Frag needed and DF set (mtu = 1472) from 10.1.0.1",
        out.stdout
            .contains("From 10.1.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1472)"),
        || out.show(),
    );
    let route = run(
        &dir,
        "route-get",
        &mut lab.exec("a", &["ip", "route", "get", "10.9.0.2"]),
        Duration::from_secs(5),
    );
    c.check(
        "4. A learned the path MTU 1472 to B",
        route.stdout.contains("mtu 1472"),
        || route.show(),
    );
    let again = run(
        &dir,
        "ping-df2",
        &mut lab.exec("a", &args),
        Duration::from_secs(10),
    );
    c.check(
        "4. then ping -M do -s 1472 says: message too long, mtu=1472",
        again.stderr.contains("message too long, mtu=1472"),
        || again.show(),
    );
    // After all that, the tunnel still carries traffic both ways.
    ping(
        &mut c,
        &lab,
        "ping A -> B after the big ones",
        "a",
        &quick,
        "10.9.0.2",
    );

    let status = weir.stop(SIGTERM, Duration::from_secs(10));
    c.check(
        "weir stops on SIGTERM with status 0",
        status.is_some_and(|s| s.success()),
        || format!("{status:?}: {}", weir.stderr_text()),
    );

    // Check 2: the outer headers, as tshark reads them on the underlay.
    if let Some(t) = tcpdump.as_mut() {
        t.stop(SIGTERM, Duration::from_secs(5));
        check_wire(&mut c, &lab, &pcap);
    }

    let neigh = ovs.appctl(&lab, &["tnl/neigh/show"]);
    eprintln!(
        "      (OVS tunnel neighbors: {})",
        neigh
            .stdout
            .lines()
            .filter(|l| l.contains("198.51.100"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    eprintln!(
        "gre_ovs: {} checks passed, {} failed, in {:.1} s",
        c.passed,
        c.failed.len(),
        started.elapsed().as_secs_f64()
    );
    drop(tcpdump);
    drop(weir);
    drop(ovs);
    if !c.failed.is_empty() {
        let mut msg = format!("{} gre_ovs checks failed:\n", c.failed.len());
        for f in &c.failed {
            msg.push_str(&format!("  - {}\n", f.lines().next().unwrap_or("")));
        }
        panic!("{msg}");
    }
}

/// A GRE key as tshark prints it ("0x0000002a", or decimal).
fn gre_key(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Check 2 (and 3's fragments) on the capture of wan0.
fn check_wire(c: &mut Checks, lab: &Lab, pcap: &Path) {
    let frames = match gre_frames(lab, pcap) {
        Ok(f) => f,
        Err(e) => {
            c.check("2. tshark reads the capture of wan0", false, || e);
            return;
        }
    };
    let field = |f: &Vec<String>, i: usize| f.get(i).cloned().unwrap_or_default();
    // Fields: 0 eth.src, 1 ip.src, 2 ip.dst, 3 ip.proto, 4 gre.key,
    // 5 gre.proto, 6 ip.flags.mf, 7 ip.frag_offset, 8 ip.len; the IP ones
    // as "outer,inner".
    let outer = |s: String| s.split(',').next().unwrap_or("").to_string();
    let inner = |s: String| s.split(',').nth(1).unwrap_or("").to_string();
    let (mut to_ovs, mut to_weir, mut bad) = (0, 0, Vec::new());
    let (mut inner_frags_a, mut inner_frags_b) = (0, 0);
    for f in &frames {
        let (src, dst) = (outer(field(f, 1)), outer(field(f, 2)));
        let (isrc, idst) = (inner(field(f, 1)), inner(field(f, 2)));
        let dir_ok = match (src.as_str(), dst.as_str()) {
            ("198.51.100.1", "198.51.100.2") => {
                to_ovs += 1;
                field(f, 0) == WEIR_WAN_MAC && isrc == "10.1.0.2" && idst == "10.9.0.2"
            }
            ("198.51.100.2", "198.51.100.1") => {
                to_weir += 1;
                field(f, 0) == PHY_MAC && isrc == "10.9.0.2" && idst == "10.1.0.2"
            }
            _ => false,
        };
        let hdr_ok = outer(field(f, 3)) == "47"
            && !inner(field(f, 3)).is_empty()
            && gre_key(&field(f, 4)) == Some(42)
            && field(f, 5) == "0x0800"
            && outer(field(f, 6)) == "0"
            && outer(field(f, 7)) == "0";
        if !(dir_ok && hdr_ok) {
            bad.push(f.join("|"));
        }
        let ilen: usize = inner(field(f, 8)).parse().unwrap_or(0);
        if inner(field(f, 6)) == "1" && ilen <= 1472 {
            if src == "198.51.100.1" {
                inner_frags_a += 1;
            } else {
                inner_frags_b += 1;
            }
        }
    }
    c.check(
        "2. GRE both ways on wan0: weir -> OVS 198.51.100.1 -> 198.51.100.2, OVS -> weir the reverse",
        to_ovs >= 10 && to_weir >= 10,
        || format!("{to_ovs} frames to OVS, {to_weir} to weir"),
    );
    c.check(
        "2. every GRE frame: protocol 47, key 42, type 0x0800, outer not fragmented, inner 10.1.0.2 <-> 10.9.0.2",
        bad.is_empty(),
        || format!("{} wrong (eth.src|ip.src|ip.dst|ip.proto|gre.key|gre.proto|mf|offset|len):\n{}", bad.len(), bad.join("\n")),
    );
    c.check(
        "3. weir sent the 1500-byte DF-clear pings as inner fragments of at most 1472 bytes",
        inner_frags_a >= 3,
        || format!("{inner_frags_a} inner first fragments from A"),
    );
    c.check(
        "3. B's big pings came through OVS as inner fragments",
        inner_frags_b >= 3,
        || format!("{inner_frags_b} inner first fragments from B"),
    );
    // Nothing malformed and every checksum right, in both directions.
    let f = pcap.to_string_lossy().into_owned();
    let filter = "ip.proto == 47 && (_ws.malformed || ip.checksum.status == \"Bad\" \
                  || icmp.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\" \
                  || _ws.expert.severity >= \"Error\")";
    let args = [
        "-n",
        "-r",
        &f,
        "-o",
        "ip.defragment:FALSE",
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-d",
        "tcp.port==5001,data",
        "-Y",
        filter,
    ];
    let out = run(
        &lab.dir,
        "tshark-bad",
        Command::new("tshark").args(args),
        Duration::from_secs(60),
    );
    c.check(
        "2. tshark: no GRE frame malformed or with a bad checksum",
        out.ok() && out.stdout.trim().is_empty(),
        || out.show(),
    );
}
