//! weir on DPDK between real Linux hosts in network namespaces.
//!
//! The lab of `tests/netns.rs` (`scripts/netns-lab up PREFIX`, see
//! `tests/common/mod.rs`): four hosts, two per VRF with the same subnets,
//! behind the router namespace holding weir's ends of the veths. weir runs
//! `examples/dpdk-netns.toml`: every interface a DPDK `net_af_packet` vdev
//! over one of those veths (hot-plugged when the port opens), the router on
//! a DPDK mempool. The test runs a copy of it with a `file_prefix` of its
//! own and `--no-pci` (the example already has `no_huge = true`), so it
//! needs neither hugepages nor PCI devices, and no other EAL on the machine
//! is disturbed.
//!
//! One lab and one weir process serve `routes_real_hosts`, in order: ping
//! between the hosts of each VRF and to the router, a 10 MiB TCP transfer
//! h1 -> h2 (SHA-256 compared), then weir is stopped with SIGTERM and its
//! `--summary-json` must show the traffic on the four `dpdk` ports; the
//! captures taken on every host's eth0 show VRF isolation (h1's pings to
//! 10.2.0.2 reach h2, never h4), agree with the ports' counters, and
//! tshark finds nothing malformed in what weir sent. Every check is
//! reported (`ok` / `FAIL` on stderr); the test fails at the end with the
//! list of failed checks, weir's output and where the captures are.
//!
//! # What the lab must look like for DPDK's `net_af_packet`
//!
//! `scripts/netns-lab` sets the veths up the way a user must for weir on
//! `net_af_packet` (checked here before weir starts):
//!
//! - **The hosts compute their checksums** (`ethtool -K eth0 tx off` on
//!   the far end of each veth). A veth carries locally generated TCP and
//!   UDP with only the pseudo-header sum filled in (`CHECKSUM_PARTIAL`,
//!   `TP_STATUS_CSUMNOTREADY` on a packet ring). weir's own `af_packet`
//!   driver completes such checksums (`tests/netns.rs` keeps h1's offload
//!   on to check that); DPDK 22.11's `net_af_packet` ignores the status
//!   and hands the frame over as it is, so weir forwards a TCP segment
//!   with a wrong checksum: the receiving host counts it in
//!   `TcpInCsumErrors` and drops it, and TCP never connects (ping works:
//!   ICMP checksums are always computed in software).
//! - **No segmentation or aggregation offloads**: TSO/GSO off on the
//!   hosts, GRO off on the router's veth ends. `net_af_packet` receives
//!   into 2048-byte ring frames and silently truncates anything longer (a
//!   64 KiB GRO super-frame), which weir then drops as `ip-malformed`.
//! - `net_af_packet`'s defaults are fine otherwise (`qdisc_bypass` on
//!   works on veth; one queue pair per port, as weir has one worker here).
//!   Its receive ring holds 512 frames (`framecnt=`); during the TCP
//!   transfer it sometimes overflows while weir's unpinned worker is off
//!   the CPU, and DPDK 22.11 counts those drops nowhere (no `imissed`), so
//!   weir's `rx_missed` stays 0. TCP retransmits; the test reports such
//!   losses and checks that the rx counters never exceed what was sent.
//!
//! Needs root (network namespaces), `ip`, and a build with `--features
//! dpdk`; without root the test says `SKIPPED: ...` on stderr and returns.
//! Checks needing a missing tool (tcpdump, tshark, ethtool, python3) say
//! `SKIPPED: ...` for themselves.
//!
//! Namespaces are named `weirt<pid>-*`, deleted when the test ends (also on
//! panic); every process the test starts is ended by its pid.

#![cfg(feature = "dpdk")]

mod common;

use common::*;
use serde_json::Value;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// The config weir runs: `examples/dpdk-netns.toml` with an EAL file
/// prefix of this run's own and `--no-pci`.
fn write_config(dir: &Path, file_prefix: &str) -> String {
    let example = Path::new(ROOT).join("examples/dpdk-netns.toml");
    let text = fs::read_to_string(&example).expect("reading examples/dpdk-netns.toml");
    assert!(
        text.contains("\n[dpdk]\n") && text.contains("no_huge = true"),
        "examples/dpdk-netns.toml has no [dpdk] section with no_huge = true"
    );
    assert!(
        !text.contains("file_prefix") && !text.contains("args"),
        "examples/dpdk-netns.toml sets file_prefix or args itself; adapt the test"
    );
    let text = text.replacen(
        "\n[dpdk]\n",
        &format!(
            "\n[dpdk]\n# added by tests/dpdk_netns.rs:\n\
             file_prefix = \"{file_prefix}\"\nargs = [\"--no-pci\"]\n"
        ),
        1,
    );
    let path = dir.join("dpdk-netns.toml");
    fs::write(&path, text).expect("writing the config");
    path.to_string_lossy().into_owned()
}

/// The lab is set up as `net_af_packet` needs it (see the module doc):
/// every host computes its checksums, no segmentation offloads, no GRO on
/// the router's veth ends.
fn check_offloads(c: &mut Checks, lab: &Lab, tools: &Tools) {
    if !tools.ethtool {
        c.skip(
            "veth offloads",
            "needs ethtool (scripts/netns-lab switches checksum and segmentation \
             offloads off with it; without that TCP through net_af_packet fails)",
        );
        return;
    }
    let feature = |text: &str, name: &str| -> Option<bool> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .map(|v| v.starts_with("on"))
    };
    for h in &HOSTS {
        let out = run(
            &lab.dir,
            "ethtool",
            &mut lab.exec(h.name, &["ethtool", "-k", "eth0"]),
            Duration::from_secs(5),
        );
        let on: Vec<&str> = [
            "tx-checksumming",
            "tcp-segmentation-offload",
            "generic-segmentation-offload",
        ]
        .into_iter()
        .filter(|f| feature(&out.stdout, f) != Some(false))
        .collect();
        c.check(
            &format!(
                "{}: eth0 computes checksums and segments itself (tx, tso, gso off)",
                h.name
            ),
            out.ok() && on.is_empty(),
            || format!("still on or unknown: {on:?}: {}", out.show()),
        );
        let veth = format!("veth-{}", h.name);
        let out = run(
            &lab.dir,
            "ethtool",
            &mut lab.exec("rt", &["ethtool", "-k", &veth]),
            Duration::from_secs(5),
        );
        c.check(
            &format!("router: {veth} does not aggregate (gro off)"),
            out.ok() && feature(&out.stdout, "generic-receive-offload") == Some(false),
            || out.show(),
        );
    }
}

#[test]
fn routes_real_hosts() {
    const TEST: &str = "dpdk_netns::routes_real_hosts";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !lab_possible(TEST) {
        return;
    }
    let started = Instant::now();
    let tools = Tools::probe();
    let mut c = Checks::default();
    remove_stale_namespaces();
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("weir-dpdk-netns-{pid}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the test directory");
    // Dropped last: tears the lab down after every process is gone.
    let mut lab = Lab::up(&format!("weirt{pid}"), &dir);
    let file_prefix = format!("weir-dn-{pid}");
    let config = write_config(&dir, &file_prefix);
    lab.diag
        .push(("config".into(), dir.join("dpdk-netns.toml")));

    check_offloads(&mut c, &lab, &tools);
    let mut captures = start_captures(&mut c, &mut lab, &tools);
    let summary_path = dir.join("summary.json");
    let mut weir = start_weir(&mut lab, &config, &summary_path);

    // Both VRFs, both ways, and the router itself.
    let [h1, h2, h3, h4] = &HOSTS;
    for (name, from, to) in [
        ("ping h1 -> 10.2.0.2 (h2, via weir)", h1, "10.2.0.2"),
        ("ping h2 -> 10.1.0.2 (h1, via weir)", h2, "10.1.0.2"),
        ("ping h3 -> 10.2.0.2 (h4, VRF BGP)", h3, "10.2.0.2"),
        ("ping h4 -> 10.1.0.2 (h3, VRF BGP)", h4, "10.1.0.2"),
        ("ping h1 -> 10.1.0.1 (the router)", h1, "10.1.0.1"),
    ] {
        ping3(&mut c, &lab, name, from, to);
    }
    let echo_to_router = 3;
    let tcp_bytes = check_tcp(&mut c, &lab, &tools);

    let stop_us = stop(&mut c, &mut weir, &mut captures);
    let stderr = weir.stderr_text();
    c.check(
        "weir's stderr shows no panic or DPDK error",
        !stderr.contains("panicked") && !stderr.to_lowercase().contains("error"),
        || stderr.clone(),
    );
    let run_dir = Path::new("/var/run/dpdk").join(&file_prefix);
    c.check(
        "no DPDK runtime directory left behind",
        !run_dir.exists(),
        || format!("{} exists", run_dir.display()),
    );
    lab.diag.push(("summary".into(), summary_path.clone()));
    let summary: Value = fs::read_to_string(&summary_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    check_summary(&mut c, &summary, echo_to_router, tcp_bytes);
    check_captures(&mut c, &captures, &summary, stop_us);
    check_tshark(&mut c, &lab, &tools, &captures);

    eprintln!(
        "dpdk_netns: {} checks passed, {} failed, in {:.1} s",
        c.passed,
        c.failed.len(),
        started.elapsed().as_secs_f64()
    );
    drop(captures);
    drop(weir);
    if !c.failed.is_empty() {
        let mut msg = format!("{} dpdk_netns checks failed:\n", c.failed.len());
        for f in &c.failed {
            let _ = writeln!(msg, "  - {}", f.lines().next().unwrap_or(""));
        }
        // The lab's drop prints weir's output and where the captures are.
        panic!("{msg}");
    }
    drop(lab);
}

/// The summary: four `dpdk` ports with the traffic on them, nothing
/// dropped anywhere.
fn check_summary(c: &mut Checks, summary: &Value, echo_to_router: u64, tcp_bytes: Option<u64>) {
    c.check(
        "summary JSON written",
        summary.is_object() && summary["elapsed_seconds"].as_f64().is_some_and(|s| s > 0.0),
        || format!("{summary}"),
    );
    let names: Vec<&str> = summary["ports"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    c.check(
        "summary: ports h1, h2, h3, h4",
        names == ["h1", "h2", "h3", "h4"],
        || format!("{names:?}"),
    );
    for h in &HOSTS {
        let p = port(summary, h.name);
        c.check(
            &format!("summary port {}: driver dpdk, traffic both ways", h.name),
            p["driver"] == "dpdk" && num(&p["rx_packets"]) > 0 && num(&p["tx_packets"]) > 0,
            || format!("{p}"),
        );
        c.check(
            &format!("summary port {}: no rx errors, missed or tx drops", h.name),
            num(&p["rx_errors"]) == 0 && num(&p["rx_missed"]) == 0 && num(&p["tx_dropped"]) == 0,
            || format!("{p}"),
        );
    }
    if let Some(bytes) = tcp_bytes {
        let (h1, h2) = (port(summary, "h1"), port(summary, "h2"));
        c.check(
            "summary: the TCP transfer shows in h1 rx and h2 tx",
            num(&h1["rx_packets"]) > bytes / 1500
                && num(&h2["tx_packets"]) > bytes / 1500
                && num(&h1["rx_bytes"]) > bytes
                && num(&h2["tx_bytes"]) > bytes,
            || format!("h1 {h1} h2 {h2}"),
        );
    }
    let pl = &summary["pipeline"];
    c.check(
        "summary: pipeline.local counts the echo requests to the router",
        num(&pl["local"]) == echo_to_router,
        || format!("expected {echo_to_router}: {pl}"),
    );
    c.check(
        "summary: pipeline.forwarded counts the traffic between hosts",
        tcp_bytes.map_or(num(&pl["forwarded"]) >= 24, |b| {
            num(&pl["forwarded"]) > b / 1500
        }),
        || format!("{pl}"),
    );
    let drops = &summary["drops"];
    let nonzero: Vec<String> = drops
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_u64() != Some(0))
                .map(|(k, v)| format!("{k} {v}"))
                .collect()
        })
        .unwrap_or_else(|| vec!["no drops object".into()]);
    c.check("summary: nothing dropped", nonzero.is_empty(), || {
        format!("{nonzero:?}")
    });
}

/// The captures: VRF isolation (each host's pings reach its peer in its
/// VRF, none of them shows up in the other VRF), and every port's counters
/// equal what its host's capture saw.
fn check_captures(c: &mut Checks, captures: &[Capture], summary: &Value, stop_us: u64) {
    if captures.is_empty() {
        return;
    }
    let mut frames: Vec<Vec<Frame>> = Vec::new();
    for cap in captures {
        match read_pcap(&cap.file) {
            Ok(f) => frames.push(f),
            Err(e) => {
                let name = format!("read the capture of {}", cap.host.name);
                c.check(&name, false, || e);
                frames.push(Vec::new());
            }
        }
    }
    // h1 -> 10.2.0.2 reaches h2, not h4 (and so on for every host).
    for (from, to) in [(0, 1), (1, 0), (2, 3), (3, 2)] {
        let (f, t) = (&HOSTS[from], &HOSTS[to]);
        let got = frames[to]
            .iter()
            .filter(|x| src(x) == t.router_mac && is_echo_with(&x.data, f.pattern))
            .count();
        c.check(
            &format!(
                "{}'s echo requests to {} reached {}",
                f.name, t.addr, t.name
            ),
            got >= 3,
            || format!("{got} of 3"),
        );
    }
    for (cap, f) in captures.iter().zip(&frames) {
        let h = cap.host;
        for other in HOSTS.iter().filter(|o| o.vrf != h.vrf) {
            let leaked = f
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
    for (cap, f) in captures.iter().zip(&frames) {
        let h = cap.host;
        let p = port(summary, h.name);
        let from_router: Vec<&Frame> = f.iter().filter(|x| src(x) == h.router_mac).collect();
        let tx_bytes: u64 = from_router.iter().map(|x| x.len as u64).sum();
        c.check(
            &format!(
                "port {}: tx_packets/tx_bytes = frames/bytes from the router in {}'s capture",
                h.name, h.name
            ),
            num(&p["tx_packets"]) == from_router.len() as u64 && num(&p["tx_bytes"]) == tx_bytes,
            || {
                format!(
                    "summary {p}; capture: {} frames, {tx_bytes} bytes",
                    from_router.len()
                )
            },
        );
        // What weir received is what the host sent, but for what DPDK's
        // net_af_packet lost: its receive ring (512 frames by default,
        // `framecnt=`) overflows when the worker is off the CPU during the
        // TCP transfer, and DPDK 22.11 reports no `imissed` for it (it never
        // reads the socket's PACKET_STATISTICS), so weir's rx_missed cannot
        // show those drops. TCP retransmits them.
        let from_host: Vec<&Frame> = f
            .iter()
            .filter(|x| x.data.len() >= 14 && src(x) != h.router_mac && x.ts_us < stop_us)
            .collect();
        let sent_bytes: u64 = from_host.iter().map(|x| x.len as u64).sum();
        let (rx, rx_bytes) = (num(&p["rx_packets"]), num(&p["rx_bytes"]));
        c.check(
            &format!(
                "port {}: rx_packets/rx_bytes = frames/bytes {} sent while weir ran, \
                 less what net_af_packet's ring dropped",
                h.name, h.name
            ),
            rx > 0
                && rx <= from_host.len() as u64
                && rx_bytes <= sent_bytes
                && (rx == from_host.len() as u64) == (rx_bytes == sent_bytes),
            || {
                format!(
                    "summary {p}; capture: {} frames, {sent_bytes} bytes",
                    from_host.len()
                )
            },
        );
        let lost = (from_host.len() as u64).saturating_sub(rx);
        if lost > 0 {
            eprintln!(
                "      ({lost} of the {} frames {} sent were dropped by net_af_packet's \
                 receive ring, uncounted: weir's rx_missed is {})",
                from_host.len(),
                h.name,
                num(&p["rx_missed"])
            );
        }
    }
}
