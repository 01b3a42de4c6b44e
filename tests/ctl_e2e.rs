//! `weir ctl` against a real `weir run`: the binary as an operator uses
//! it, both ends.
//!
//! - `capture_matches_what_was_sent` (root, `ip`, python3-scapy, tshark;
//!   else `SKIPPED: ...`): weir in the lab of `scripts/netns-lab` (see
//!   `tests/common/mod.rs`) on AF_PACKET ports; `weir ctl capture h1
//!   --direction rx --count 100` while scapy sends 100 distinct UDP packets
//!   from h1 through the router to h2 and writes them with `wrpcap`: the
//!   capture holds exactly those frames, byte for byte and in order, and
//!   tshark reads it as it reads scapy's. Then `--direction tx --filter
//!   "proto udp and dst 10.2.0.2"` on h2 while h1 sends 100 more UDP
//!   packets, each followed by an ICMP echo: the capture holds the 100 UDP
//!   packets as weir forwarded them (MACs rewritten, TTL 63, checksum
//!   right, the rest untouched) and none of the echoes.
//! - Security, with certificates made on the spot (rcgen, as
//!   `ctrl/tests/support/certs.rs`): an endpoint on 0.0.0.0 with client
//!   certificates turns away plain text, TLS without a client certificate,
//!   and certificates of another CA, with messages that name the address;
//!   the right certificate lists the interfaces. The same with a token:
//!   a missing or wrong `--token` is refused, the right one accepted.
//!   `listen = "0.0.0.0:PORT"` without TLS is rejected by `weir check` and
//!   `weir run`; `weir run --listen 0.0.0.0:PORT` over a config without TLS
//!   (or without client authentication) refuses to start.
//! - `config_apply_through_the_cli` (`examples/two-vrf.toml`): `weir ctl
//!   config get` is the file, a route appended, `config apply` (version
//!   2), `show routes` and `route lookup` find it, broken files (exit 2,
//!   nothing changes), a stale `--base-version` (exit 3, nothing
//!   changes); the same config over the Unix socket (`--unix`).
//! - `top_prints_rates`: `weir ctl top --count 2 --json` prints two
//!   samples, one JSON object a line; the second has rates above zero
//!   for every port and the worker (the first has none: nothing to take
//!   a rate against).
//!
//! Every `weir run` listens on a port of its own (`--listen 127.0.0.1:0`
//! or `0.0.0.0:0`; the address is read from its `weir: control endpoint
//! on ADDR` line) and serves no metrics, so these tests run beside each
//! other and beside a weir on the default ports. They take turns
//! (`SERIAL`): each `weir run` keeps a worker polling, and the machine may
//! have few cores. Every process is ended by its pid, also when a test
//! panics.

mod common;

#[path = "../ctrl/tests/support/certs.rs"]
mod certs;

use certs::Ca;
use common::*;
use serde_json::Value;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------
// Helpers

/// A directory of the test's own, removed at the end unless it failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("weir-ctl-e2e-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("creating the test directory");
        Scratch(dir)
    }

    /// A file in it, as an argument.
    fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, text: &str) -> String {
        fs::write(self.0.join(name), text).expect("writing a test file");
        self.file(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("(test files kept in {})", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// One test at a time (see the module's documentation).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A TCP port nobody listens on now (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a free port")
        .port()
}

/// A command without the environment `weir ctl` reads its defaults from.
fn clean(mut cmd: Command) -> Command {
    cmd.env_remove("WEIR_ADDRESS").env_remove("WEIR_TOKEN");
    cmd
}

/// `weir ARGS...`, run to its end (killed after 30 s).
fn weir(dir: &Path, name: &str, args: &[&str]) -> Out {
    let mut cmd = clean(Command::new(WEIR));
    cmd.args(args);
    run(dir, name, &mut cmd, Duration::from_secs(30))
}

/// `weir ctl --address ADDR ARGS...`, run to its end.
fn ctl(dir: &Path, addr: &str, args: &[&str]) -> Out {
    let mut a = vec!["ctl", "--address", addr];
    a.extend_from_slice(args);
    weir(dir, "ctl", &a)
}

/// The exit code of a finished command (None: killed, or by a signal).
fn code(o: &Out) -> Option<i32> {
    o.status.and_then(|s| s.code())
}

/// A `weir run` and the address its control endpoint listens on.
struct Running {
    proc: Proc,
    addr: SocketAddr,
}

impl Running {
    /// Start `cmd` (a `weir run`, maybe inside a namespace) and wait for
    /// its `weir: control endpoint on ADDR` line.
    fn start(dir: &Path, cmd: Command) -> Running {
        let mut cmd = clean(cmd);
        let mut proc = Proc::spawn(dir, "weir-run", &mut cmd);
        const LINE: &str = "weir: control endpoint on ";
        let up = proc.wait_output(LINE, true, Duration::from_secs(20));
        let err = proc.stderr_text();
        assert!(up, "`{}` did not start its endpoint:\n{err}", proc.what);
        let addr = err
            .lines()
            .find_map(|l| l.strip_prefix(LINE))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in weir's endpoint line:\n{err}"));
        Running { proc, addr }
    }

    /// `weir run ARGS...` in the repository.
    fn weir(dir: &Path, args: &[&str]) -> Running {
        let mut cmd = Command::new(WEIR);
        cmd.args(["run", "--no-pin", "-q", "--duration", "60"])
            .args(args);
        Running::start(dir, cmd)
    }

    /// The address to give `weir ctl`: the endpoint's, with 127.0.0.1
    /// for a wildcard address.
    fn target(&self) -> String {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip([127, 0, 0, 1].into());
        }
        a.to_string()
    }

    /// Stop it with SIGTERM; it must exit with status 0.
    fn stop(mut self) {
        let s = self.proc.stop(SIGTERM, Duration::from_secs(10));
        assert!(
            s.is_some_and(|s| s.success()),
            "weir did not stop cleanly on SIGTERM ({s:?}, None: killed):\n{}",
            self.proc.stderr_text()
        );
    }
}

/// A config with one `mem` port (m0), and `control` as its `[control]`
/// section.
fn mem_config(control: &str) -> String {
    format!(
        "# tests/ctl_e2e.rs\n\
         [[interface]]\n\
         name = \"m0\"\n\
         addresses = [\"10.9.0.1/24\"]\n\
         mem = {{ link = \"l1\" }}\n\
         \n\
         [control]\n\
         {control}"
    )
}

/// A CA (ca.pem), a server certificate it signs for localhost and
/// 127.0.0.1 (server.pem/key), a client certificate (client.pem/key),
/// and a client certificate of another CA (stranger.pem/key, that CA in
/// stranger-ca.pem).
fn certificates(d: &Scratch) {
    let ca = Ca::new("weir e2e CA");
    d.write("ca.pem", &ca.pem());
    ca.server().write(&d.0, "server");
    ca.client("ops").write(&d.0, "client");
    let other = Ca::new("stranger CA");
    d.write("stranger-ca.pem", &other.pem());
    other.client("mallory").write(&d.0, "stranger");
}

/// A failed `weir ctl`: exit code 1, and an error naming `addr`.
fn assert_refused(o: &Out, addr: &str, what: &str) {
    assert_eq!(code(o), Some(1), "{what}: {}", o.show());
    assert!(
        o.stderr.contains(addr),
        "{what}: the error does not name {addr}: {}",
        o.show()
    );
    assert!(
        !o.stdout.contains("m0"),
        "{what}: printed interfaces: {}",
        o.show()
    );
}

/// A successful `weir ctl show interfaces`: lists m0.
fn assert_lists_m0(o: &Out, what: &str) {
    assert!(o.ok(), "{what}: {}", o.show());
    assert!(
        o.stdout.contains("m0"),
        "{what}: m0 not listed: {}",
        o.show()
    );
}

// ---------------------------------------------------------------------------
// Capture

/// The MAC of `host`'s eth0.
fn mac_of(lab: &Lab, host: &str) -> Vec<u8> {
    let out = run(
        &lab.dir,
        "mac",
        &mut lab.exec(host, &["cat", "/sys/class/net/eth0/address"]),
        Duration::from_secs(5),
    );
    assert!(out.ok(), "{}", out.show());
    let mac = unhex(&out.stdout.trim().replace(':', ""));
    assert_eq!(mac.len(), 6, "{}", out.show());
    mac
}

/// The fields tshark shows of every frame of a capture, one line each.
fn tshark_fields(dir: &Path, file: &str) -> Vec<String> {
    let out = run(
        dir,
        "tshark",
        Command::new("tshark").args([
            "-n",
            "-r",
            file,
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "frame.len",
            "-e",
            "eth.src",
            "-e",
            "eth.dst",
            "-e",
            "ip.id",
            "-e",
            "ip.ttl",
            "-e",
            "ip.checksum.status",
            "-e",
            "udp.srcport",
            "-e",
            "udp.dstport",
            "-e",
            "udp.checksum.status",
        ]),
        Duration::from_secs(60),
    );
    assert!(out.ok(), "tshark cannot read {file}: {}", out.show());
    out.stdout.lines().map(str::to_string).collect()
}

/// `weir ctl capture` (in the router's namespace) started and ready.
fn start_capture(lab: &mut Lab, addr: &str, args: &[&str]) -> Proc {
    let rt = lab.ns("rt");
    let mut a = vec![WEIR, "ctl", "--address", addr, "capture"];
    a.extend_from_slice(args);
    let mut p = Proc::spawn(&lab.dir, "ctl-capture", &mut clean(in_ns(&rt, &a)));
    lab.diag
        .push((format!("weir ctl capture {}", args[0]), p.stderr.clone()));
    // Printed once the router answered, i.e. after the tap started.
    let ready = format!("weir: capturing on {}", args[0]);
    let up = p.wait_output(&ready, true, Duration::from_secs(20));
    assert!(up, "`{}` did not start: {}", p.what, p.stderr_text());
    p
}

/// scapy on h1: 100 UDP packets (seed `seed`) to 10.2.0.2 through the
/// router, written to `sent` too.
fn send_udp(lab: &Lab, sent: &str, seed: u32, icmp: bool) {
    let script = format!("{ROOT}/tests/netns/udp_burst.py");
    let rmac = mac_str(&HOSTS[0].router_mac);
    let seed = seed.to_string();
    let mut args = vec![
        PYTHON, &script, "eth0", &rmac, "10.1.0.2", "10.2.0.2", "100", &seed, sent,
    ];
    if icmp {
        args.push("icmp");
    }
    let out = run(
        &lab.dir,
        "scapy",
        &mut lab.exec("h1", &args),
        Duration::from_secs(60),
    );
    let want = if icmp {
        "{\"udp\": 100, \"icmp\": 100}"
    } else {
        "{\"udp\": 100, \"icmp\": 0}"
    };
    assert!(
        out.ok() && out.stdout.contains(want),
        "scapy: {}",
        out.show()
    );
}

/// Wait for a `weir ctl capture --count 100` to end by itself, with
/// status 0, having written 100 packets and lost none.
fn finish_capture(cap: Proc) {
    let out = cap.finish(Duration::from_secs(15));
    assert!(
        out.ok(),
        "weir ctl capture did not end with status 0 after 100 packets: {}",
        out.show()
    );
    assert!(
        out.stderr
            .contains("weir: 100 packets captured, 0 dropped by the router"),
        "{}",
        out.show()
    );
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64
}

/// The frames of `got` were captured between `from_us` and now (give or
/// take a second: the router's clock is the TSC's, calibrated), in order,
/// each whole (captured length = length on the wire).
fn check_records(got: &[Frame], from_us: u64) {
    let (from_us, to_us) = (from_us - 1_000_000, now_us() + 1_000_000);
    let mut last = 0;
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.len, f.data.len(), "frame {i}: cut short");
        assert!(
            (from_us..=to_us).contains(&f.ts_us),
            "frame {i}: timestamp {} µs is outside the capture's run {from_us}..{to_us}",
            f.ts_us
        );
        assert!(f.ts_us >= last, "frame {i}: timestamp goes back");
        last = f.ts_us;
    }
}

#[test]
fn capture_matches_what_was_sent() {
    const TEST: &str = "ctl_e2e::capture_matches_what_was_sent";
    let _serial = serial();
    if !lab_possible(TEST) {
        return;
    }
    let tools = Tools::probe();
    if !tools.scapy || !tools.tshark {
        eprintln!("SKIPPED: {TEST}: needs python3-scapy (for {PYTHON}) and tshark");
        return;
    }
    remove_stale_namespaces();
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("weir-ctl-e2e-{pid}-capture"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the test directory");
    // Dropped last: tears the lab down after every process is gone, and
    // prints the diagnostics if the test failed.
    let mut lab = Lab::up(&format!("weirt{pid}"), &dir);

    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &lab.ns("rt")]).args([
        WEIR,
        "run",
        "examples/netns.toml",
        "--no-pin",
        "-q",
        "--listen",
        "127.0.0.1:0",
        "--no-metrics",
        "--duration",
        "60",
    ]);
    let weir = Running::start(&dir, cmd);
    lab.diag
        .push(("weir stderr".into(), weir.proc.stderr.clone()));
    let addr = weir.target();

    // Both sides resolved before the captures: no ARP of the router's
    // (or answers to it) among the frames.
    let ping = run(
        &dir,
        "ping",
        &mut lab.exec(
            "h1",
            &["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.2"],
        ),
        Duration::from_secs(15),
    );
    assert!(
        ping.stdout.contains("bytes from 10.2.0.2"),
        "h1 cannot reach h2 through weir: {}",
        ping.show()
    );

    // 1. What h1 sent, as the router received it.
    let rx = lab.dir.join("rx.pcap").to_string_lossy().into_owned();
    let sent_rx = lab.dir.join("sent-rx.pcap").to_string_lossy().into_owned();
    let from = now_us();
    let cap = start_capture(
        &mut lab,
        &addr,
        &["h1", "-w", &rx, "--count", "100", "--direction", "rx"],
    );
    send_udp(&lab, &sent_rx, 1, false);
    finish_capture(cap);
    let sent = read_pcap(Path::new(&sent_rx)).expect("scapy's pcap");
    let got = read_pcap(Path::new(&rx)).expect("weir ctl's pcap");
    assert_eq!(sent.len(), 100, "scapy wrote {} frames", sent.len());
    assert_eq!(got.len(), 100, "the capture holds {} frames", got.len());
    for (i, (s, g)) in sent.iter().zip(&got).enumerate() {
        assert!(
            s.data == g.data,
            "frame {i} differs:\nsent     {}\ncaptured {}",
            hex(&s.data),
            hex(&g.data)
        );
    }
    check_records(&got, from);
    let (ts, tg) = (tshark_fields(&dir, &sent_rx), tshark_fields(&dir, &rx));
    assert_eq!(tg.len(), 100, "tshark read {} frames: {tg:?}", tg.len());
    assert_eq!(ts, tg, "tshark reads the capture differently from scapy's");
    eprintln!("ok    rx capture on h1: the 100 frames scapy sent, byte for byte");

    // 2. What the router sent h2, filtered: UDP only (the echo requests
    // between the UDP packets go to h2 too).
    let tx = lab.dir.join("tx.pcap").to_string_lossy().into_owned();
    let sent_tx = lab.dir.join("sent-tx.pcap").to_string_lossy().into_owned();
    let from = now_us();
    let cap = start_capture(
        &mut lab,
        &addr,
        &[
            "h2",
            "-w",
            &tx,
            "--count",
            "100",
            "--direction",
            "tx",
            "--filter",
            "proto udp and dst 10.2.0.2",
        ],
    );
    send_udp(&lab, &sent_tx, 2, true);
    finish_capture(cap);
    let sent = read_pcap(Path::new(&sent_tx)).expect("scapy's pcap");
    let got = read_pcap(Path::new(&tx)).expect("weir ctl's pcap");
    assert_eq!(sent.len(), 100, "scapy wrote {} frames", sent.len());
    assert_eq!(got.len(), 100, "the capture holds {} frames", got.len());
    let h2_mac = mac_of(&lab, "h2");
    let router_mac = HOSTS[1].router_mac;
    for (i, (s, g)) in sent.iter().zip(&got).enumerate() {
        let (s, g) = (&s.data, &g.data);
        let diff = || format!("frame {i}:\nsent      {}\nforwarded {}", hex(s), hex(g));
        assert_eq!(g.len(), s.len(), "{}", diff());
        assert!(g[..6] == h2_mac[..] && g[6..12] == router_mac, "{}", diff());
        // The IPv4 header: TTL one less, checksum redone, nothing else.
        let (sh, gh) = (&s[14..34], &g[14..34]);
        assert_eq!(gh[8], sh[8] - 1, "TTL: {}", diff());
        assert!(
            gh[..8] == sh[..8] && gh[9] == sh[9] && gh[12..] == sh[12..],
            "{}",
            diff()
        );
        assert_eq!(csum_fold(csum_add(0, gh)), 0xffff, "checksum: {}", diff());
        assert!(g[34..] == s[34..], "UDP: {}", diff());
    }
    check_records(&got, from);
    let fields = tshark_fields(&dir, &tx);
    assert_eq!(fields.len(), 100, "tshark read {} frames", fields.len());
    for (i, l) in fields.iter().enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        // ip.ttl, ip.checksum.status (1: good), udp.checksum.status.
        assert!(
            f.len() == 9 && f[4] == "63" && f[5] == "1" && f[8] == "1",
            "tshark on forwarded frame {i}: {l}"
        );
    }
    eprintln!("ok    tx capture on h2 with a filter: the 100 UDP packets as forwarded, no echoes");

    weir.stop();
    drop(lab);
}

// ---------------------------------------------------------------------------
// Security

#[test]
fn client_certificates_on_an_open_address() {
    let _serial = serial();
    let d = Scratch::new("mtls");
    certificates(&d);
    let cfg = d.write(
        "weir.toml",
        &mem_config(
            "listen = \"0.0.0.0:0\"\n\
             metrics = \"none\"\n\
             tls = { cert = \"server.pem\", key = \"server.key\", client_ca = \"ca.pem\" }\n",
        ),
    );
    let weir = Running::weir(&d.0, &[&cfg]);
    assert!(
        weir.addr.ip().is_unspecified(),
        "listening on {}, not 0.0.0.0",
        weir.addr
    );
    assert!(
        !weir.proc.stderr_text().contains("metrics on"),
        "metrics = \"none\" serves metrics: {}",
        weir.proc.stderr_text()
    );
    let a = weir.target();
    let (ca, cert, key) = (d.file("ca.pem"), d.file("client.pem"), d.file("client.key"));
    let show = ["show", "interfaces"];

    let o = ctl(&d.0, &a, &show);
    assert_refused(&o, &a, "plain text to a TLS endpoint");
    let o = ctl(&d.0, &a, &["--tls-ca", &ca, "show", "interfaces"]);
    assert_refused(&o, &a, "TLS without a client certificate");
    assert!(o.stderr.contains("--tls-cert"), "no hint: {}", o.show());
    let (scert, skey) = (d.file("stranger.pem"), d.file("stranger.key"));
    let args = ["--tls-ca", &ca, "--tls-cert", &scert, "--tls-key", &skey];
    let o = ctl(&d.0, &a, &[&args[..], &show].concat());
    assert_refused(&o, &a, "a client certificate of another CA");
    // The server's certificate checked against another CA.
    let other = d.file("stranger-ca.pem");
    let args = ["--tls-ca", &other, "--tls-cert", &cert, "--tls-key", &key];
    let o = ctl(&d.0, &a, &[&args[..], &show].concat());
    assert_refused(&o, &a, "a server certificate of an unknown CA");

    let args = ["--tls-ca", &ca, "--tls-cert", &cert, "--tls-key", &key];
    let o = ctl(&d.0, &a, &[&args[..], &show].concat());
    assert_lists_m0(&o, "mutual TLS");
    let o = ctl(&d.0, &a, &[&args[..], &show, &["--json"]].concat());
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_default();
    assert_eq!(v["interfaces"][0]["name"], "m0", "{}", o.show());
    weir.stop();
}

#[test]
fn token_on_an_open_address() {
    let _serial = serial();
    let d = Scratch::new("token");
    certificates(&d);
    d.write("token", "e2e-s3cret-token\n");
    let cfg = d.write(
        "weir.toml",
        &mem_config(
            "listen = \"0.0.0.0:0\"\n\
             metrics = \"none\"\n\
             tls = { cert = \"server.pem\", key = \"server.key\" }\n\
             token_file = \"token\"\n",
        ),
    );
    let weir = Running::weir(&d.0, &[&cfg]);
    let a = weir.target();
    let ca = d.file("ca.pem");
    let show = ["show", "interfaces"];

    let o = ctl(&d.0, &a, &["--tls-ca", &ca, "show", "interfaces"]);
    assert_eq!(code(&o), Some(1), "no token: {}", o.show());
    assert!(
        o.stderr.contains("not authenticated") && o.stderr.contains("needs a token"),
        "no token: {}",
        o.show()
    );
    let o = ctl(
        &d.0,
        &a,
        &[
            "--tls-ca",
            &ca,
            "--token",
            "e2e-s3cret",
            "show",
            "interfaces",
        ],
    );
    assert_eq!(code(&o), Some(1), "wrong token: {}", o.show());
    assert!(
        o.stderr.contains("not authenticated: wrong token"),
        "wrong token: {}",
        o.show()
    );
    assert!(!o.stdout.contains("m0"), "wrong token: {}", o.show());
    // The right token, but in clear to a TLS endpoint.
    let o = ctl(
        &d.0,
        &a,
        &["--token", "e2e-s3cret-token", "show", "interfaces"],
    );
    assert_refused(&o, &a, "the token without TLS");

    let args = ["--tls-ca", &ca, "--token", "e2e-s3cret-token"];
    let o = ctl(&d.0, &a, &[&args[..], &show].concat());
    assert_lists_m0(&o, "the right token");
    // As the environment gives it.
    let mut cmd = clean(Command::new(WEIR));
    cmd.args([
        "ctl",
        "--address",
        &a,
        "--tls-ca",
        &ca,
        "show",
        "interfaces",
    ])
    .env("WEIR_TOKEN", "e2e-s3cret-token");
    let o = run(&d.0, "ctl-env", &mut cmd, Duration::from_secs(30));
    assert_lists_m0(&o, "the right token in WEIR_TOKEN");
    weir.stop();
}

#[test]
fn open_listen_without_tls_is_rejected() {
    let _serial = serial();
    let d = Scratch::new("open-config");
    let port = free_port();
    let open = format!("0.0.0.0:{port}");
    let cfg = d.write(
        "weir.toml",
        &mem_config(&format!("listen = \"{open}\"\nmetrics = \"none\"\n")),
    );
    let check = ["check", cfg.as_str()];
    let run = ["run", cfg.as_str(), "--no-pin", "-q", "--duration", "20"];
    for args in [&check[..], &run[..]] {
        let cmd = args[0];
        let o = weir(&d.0, cmd, args);
        assert_eq!(code(&o), Some(2), "weir {cmd}: {}", o.show());
        assert!(
            o.stderr.contains("control.listen")
                && o.stderr
                    .contains(&format!("{open} is not a loopback address"))
                && o.stderr.contains("control.tls"),
            "weir {cmd}: {}",
            o.show()
        );
        assert!(!o.stderr.contains("weir: running"), "{}", o.show());
    }
}

#[test]
fn open_listen_flag_is_refused_at_run_time() {
    let _serial = serial();
    let d = Scratch::new("open-flag");
    let port = free_port();
    let open = format!("0.0.0.0:{port}");
    let run_args = |cfg: &str| {
        let v = [
            "run",
            cfg,
            "--no-pin",
            "-q",
            "--duration",
            "20",
            "--no-metrics",
            "--listen",
        ];
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    // No TLS at all.
    let cfg = d.write("plain.toml", &mem_config("metrics = \"none\"\n"));
    let mut args = run_args(&cfg);
    args.push(open.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = weir(&d.0, "run-plain", &args);
    assert!(
        o.status.is_some() && !o.ok(),
        "weir run --listen {open} without TLS: {}",
        o.show()
    );
    assert!(
        o.stderr.contains(&format!("refusing to listen on {open}")) && o.stderr.contains("no TLS"),
        "{}",
        o.show()
    );
    // TLS, but anyone may connect (no client CA, no token): valid on
    // loopback, refused on 0.0.0.0.
    certificates(&d);
    let cfg = d.write(
        "tls.toml",
        &mem_config(
            "listen = \"127.0.0.1:0\"\n\
             metrics = \"none\"\n\
             tls = { cert = \"server.pem\", key = \"server.key\" }\n",
        ),
    );
    let o = weir(&d.0, "check", &["check", &cfg]);
    assert!(o.ok(), "weir check {cfg}: {}", o.show());
    let mut args = run_args(&cfg);
    args.push(open.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = weir(&d.0, "run-tls", &args);
    assert!(
        o.status.is_some() && !o.ok(),
        "weir run --listen {open} with TLS but no client authentication: {}",
        o.show()
    );
    assert!(
        o.stderr.contains(&format!("refusing to listen on {open}"))
            && o.stderr.contains("client authentication"),
        "{}",
        o.show()
    );
}

// ---------------------------------------------------------------------------
// Config and top, on the embedded default

const EXAMPLE: &str = "examples/two-vrf.toml";

/// The example, serving on a free port and on `weir.sock` in `d`.
fn two_vrf(d: &Scratch) -> Running {
    let sock = d.file("weir.sock");
    let args = [
        EXAMPLE,
        "--listen",
        "127.0.0.1:0",
        "--unix",
        &sock,
        "--no-metrics",
    ];
    Running::weir(&d.0, &args)
}

/// `weir ctl config get --json`: (text, version).
fn running_config(d: &Scratch, a: &str) -> (String, u64) {
    let o = ctl(&d.0, a, &["config", "get", "--json"]);
    assert!(o.ok(), "{}", o.show());
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_default();
    let text = v["text"].as_str().unwrap_or_else(|| panic!("{}", o.show()));
    (text.to_string(), v["version"].as_u64().unwrap_or(0))
}

const ROUTE: &str =
    "\n[[route]]\nvrf = \"BGP\"\nprefix = \"10.99.0.0/16\"\nvia = \"192.168.2.2\"\n";

#[test]
fn config_apply_through_the_cli() {
    let _serial = serial();
    let d = Scratch::new("config");
    let weir = two_vrf(&d);
    let a = weir.target();

    // What runs is the file, byte for byte.
    let example = fs::read_to_string(Path::new(ROOT).join(EXAMPLE)).expect("the example");
    let o = ctl(&d.0, &a, &["config", "get"]);
    assert!(o.ok(), "{}", o.show());
    assert!(
        o.stdout == example,
        "config get is not {EXAMPLE}: {}",
        o.show()
    );
    assert_eq!(running_config(&d, &a).1, 1, "the first version");

    // A static route more.
    let v2 = format!("{}{ROUTE}", o.stdout);
    let f = d.write("v2.toml", &v2);
    let o = ctl(&d.0, &a, &["config", "apply", &f]);
    assert!(o.ok(), "{}", o.show());
    assert!(
        o.stdout.contains("route") && o.stdout.contains("10.99.0.0/16"),
        "the change is not shown: {}",
        o.show()
    );
    assert!(
        o.stdout.contains("applied: version 2 (1 change)"),
        "{}",
        o.show()
    );
    let o = ctl(
        &d.0,
        &a,
        &["show", "routes", "--vrf", "BGP", "10.99.0.0/16", "--json"],
    );
    assert!(o.ok(), "{}", o.show());
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_default();
    let routes = v["routes"].as_array().cloned().unwrap_or_default();
    assert!(
        routes.len() == 1
            && routes[0]["prefix"] == "10.99.0.0/16"
            && routes[0]["vrf"] == "BGP"
            && routes[0]["via"] == "192.168.2.2"
            && routes[0]["source"] == "static"
            && routes[0]["best"] == true,
        "{}",
        o.show()
    );
    let o = ctl(
        &d.0,
        &a,
        &["route", "lookup", "10.99.1.2", "--vrf", "BGP", "--json"],
    );
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_default();
    assert!(
        o.ok() && v["found"] == true && v["route"]["prefix"] == "10.99.0.0/16",
        "{}",
        o.show()
    );

    // Broken files: exit 2, the problem named, nothing applied.
    let unknown_vrf = format!(
        "{v2}\n[[route]]\nvrf = \"NOPE\"\nprefix = \"10.98.0.0/16\"\nvia = \"192.168.2.2\"\n"
    );
    let bad_line = v2.lines().count() + 3;
    let broken = [
        ("unknown-vrf.toml", unknown_vrf, format!(":{bad_line}:")),
        (
            "syntax.toml",
            format!("{v2}\n[[route]\n"),
            "syntax.toml:".into(),
        ),
    ];
    for (name, text, expect) in &broken {
        let f = d.write(name, text);
        let o = ctl(&d.0, &a, &["config", "apply", &f]);
        assert_eq!(code(&o), Some(2), "{name}: {}", o.show());
        assert!(
            o.stderr.contains(expect.as_str()) && o.stderr.contains("nothing was applied"),
            "{name}: the error does not say {expect:?} and that nothing was applied: {}",
            o.show()
        );
        assert!(o.stdout.is_empty(), "{name}: {}", o.show());
        let (text, version) = running_config(&d, &a);
        assert!(
            version == 2 && text == v2,
            "{name} changed the running config: version {version}:\n{text}"
        );
    }

    // Based on version 1, which no longer runs: a conflict, exit 3.
    let f = d.write(
        "stale.toml",
        &format!(
            "{v2}\n[[route]]\nvrf = \"BGP\"\nprefix = \"10.97.0.0/16\"\nvia = \"192.168.2.2\"\n"
        ),
    );
    let o = ctl(&d.0, &a, &["config", "apply", &f, "--base-version", "1"]);
    assert_eq!(code(&o), Some(3), "{}", o.show());
    assert!(
        o.stderr.contains("conflict") && o.stderr.contains("version 2"),
        "{}",
        o.show()
    );
    let o2 = ctl(&d.0, &a, &["config", "get"]);
    assert!(
        o2.ok() && o2.stdout == v2,
        "after the conflict: {}",
        o2.show()
    );
    let o = ctl(
        &d.0,
        &a,
        &["show", "routes", "--vrf", "BGP", "10.97.0.0/16", "--json"],
    );
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_default();
    assert_eq!(v["routes"], serde_json::json!([]), "{}", o.show());
    // The same endpoint on its Unix socket.
    let unix = format!("unix:{}", d.file("weir.sock"));
    assert_eq!(running_config(&d, &unix), (v2, 2), "over {unix}");
    weir.stop();
}

#[test]
fn top_prints_rates() {
    let _serial = serial();
    let d = Scratch::new("top");
    let weir = two_vrf(&d);
    let a = weir.target();
    let o = ctl(
        &d.0,
        &a,
        &["top", "--count", "2", "--interval", "500", "--json"],
    );
    assert!(o.ok(), "{}", o.show());
    let lines: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert_eq!(lines.len(), 2, "{}", o.show());
    // The first sample has nothing to take a rate against.
    assert!(lines[0]["interval_s"].is_null(), "{}", o.show());
    let last = &lines[1];
    let dt = last["interval_s"].as_f64().unwrap_or(0.0);
    assert!((0.2..5.0).contains(&dt), "interval {dt} s: {}", o.show());
    let ports = last["ports"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = ports.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(
        names,
        ["main-a", "main-b", "bgp-a", "bgp-b"],
        "{}",
        o.show()
    );
    for p in &ports {
        for k in ["rx_pps", "rx_bps", "tx_pps", "tx_bps"] {
            assert!(
                p[k].as_f64().is_some_and(|r| r > 0.0),
                "{} {k} = {}: {}",
                p["name"],
                p[k],
                o.show()
            );
        }
    }
    let w = &last["workers"][0];
    assert!(
        w["rx_pps"].as_f64().is_some_and(|r| r > 0.0)
            && w["forwarded_pps"].as_f64().is_some_and(|r| r > 0.0),
        "worker rates: {}",
        o.show()
    );
    weir.stop();
}
