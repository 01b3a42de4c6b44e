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
//! with the test thread (`PR_SET_PDEATHSIG`) if the test is killed. The
//! lab, processes and checks shared with `tests/dpdk_netns.rs` are in
//! `tests/common/mod.rs`.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The lab test

/// What the checks sent through weir, to compare with its counters and the
/// captures afterwards.
#[derive(Default)]
struct Sent {
    /// Echo requests to the router's own addresses.
    echo_to_router: u64,
    /// Echo requests with h1's pattern to h2.
    echo_h1_h2: usize,
    /// Pings with TTL 1 (each draws a time exceeded).
    ttl_expired: u64,
    /// Bytes of the TCP transfer, if it ran.
    tcp_bytes: Option<u64>,
    /// Malformed frames by the drop reason they should be counted under,
    /// if they were sent.
    bad: Option<BTreeMap<String, u64>>,
    /// Valid but unusual IPv4 packets h1 sent to h2: (payload marker,
    /// the IPv4 packet).
    odd: Vec<(String, Vec<u8>)>,
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
    let dir = std::env::temp_dir().join(format!("weir-netns-{pid}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the test directory");
    // Dropped last: tears the lab down after every process is gone.
    let mut lab = Lab::up(&format!("weirt{pid}"), &dir);

    keep_h1_checksum_offload(&mut c, &lab, &tools);
    let mut captures = start_captures(&mut c, &mut lab, &tools);
    let summary_path = dir.join("summary.json");
    let mut weir = start_weir(&mut lab, "examples/netns.toml", &summary_path);

    let mut sent = Sent::default();
    check_pings(&mut c, &lab, &mut sent); // 1, and 5 while it runs
    check_ttl(&mut c, &lab, &mut sent); // 3
    sent.tcp_bytes = check_tcp(&mut c, &lab, &tools); // 2
    check_arp(&mut c, &lab, &tools); // 4
    check_bad_frames(&mut c, &lab, &tools, &mut weir, &mut sent); // 7
    send_odd_frames(&mut c, &lab, &tools, &mut sent);

    let stop_us = stop(&mut c, &mut weir, &mut captures);
    lab.diag.push(("summary".into(), summary_path.clone()));
    let summary: Value = fs::read_to_string(&summary_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    check_summary(&mut c, &summary, &sent); // 8, and 7's counters
    check_captures(&mut c, &captures, &summary, &sent, stop_us); // 8, 5, 7
    check_tshark(&mut c, &lab, &tools, &captures); // 6

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
        // The lab's drop prints weir's output and where the captures are.
        panic!("{msg}");
    }
    drop(lab);
}

/// h1 keeps transmit checksum offload (but no segmentation): its TCP
/// segments reach the router with only the pseudo-header sum
/// (`TP_STATUS_CSUMNOTREADY`), which weir's af_packet port must complete
/// for h2, which checks, to accept them.
fn keep_h1_checksum_offload(c: &mut Checks, lab: &Lab, tools: &Tools) {
    if !tools.ethtool {
        c.skip(
            "netns offloads",
            "needs ethtool to switch veth segmentation offloads off; \
             GSO super-frames will be dropped",
        );
        return;
    }
    for f in ["tx on", "tso off", "gso off", "tx-udp-segmentation off"] {
        let mut a = vec!["ethtool", "-K", "eth0"];
        a.extend(f.split(' '));
        let _ = run(
            &lab.dir,
            "ethtool",
            &mut lab.exec("h1", &a),
            Duration::from_secs(5),
        );
    }
}

/// Check 1: ping both ways in MAIN, and the router itself. Check 5 (while
/// weir runs): the same subnets in BGP, h3 reaches h4, and the router.
fn check_pings(c: &mut Checks, lab: &Lab, sent: &mut Sent) {
    let [h1, h2, h3, h4] = &HOSTS;
    ping3(c, lab, "ping h1 -> 10.2.0.2 (h2, via weir)", h1, "10.2.0.2");
    ping3(c, lab, "ping h2 -> 10.1.0.2 (h1, via weir)", h2, "10.1.0.2");
    ping3(c, lab, "ping h1 -> 10.1.0.1 (the router)", h1, "10.1.0.1");
    ping3(c, lab, "ping h3 -> 10.2.0.2 (h4, VRF BGP)", h3, "10.2.0.2");
    ping3(c, lab, "ping h4 -> 10.1.0.2 (h3, VRF BGP)", h4, "10.1.0.2");
    let name = "ping h3 -> 10.1.0.1 (the router, VRF BGP)";
    ping3(c, lab, name, h3, "10.1.0.1");
    sent.echo_h1_h2 += 3;
    sent.echo_to_router += 6;
}

/// Check 3: TTL 1 expires at the router (in both VRFs); TTL 2 reaches h2.
fn check_ttl(c: &mut Checks, lab: &Lab, sent: &mut Sent) {
    for h in [&HOSTS[0], &HOSTS[2]] {
        let args = ["ping", "-n", "-c", "1", "-t", "1", "-W", "2", "10.2.0.2"];
        let out = run(
            &lab.dir,
            "ping-ttl1",
            &mut lab.exec(h.name, &args),
            Duration::from_secs(10),
        );
        sent.ttl_expired += 1;
        c.check(
            &format!(
                "ping -t 1 from {} gets Time to live exceeded from 10.1.0.1",
                h.name
            ),
            out.stdout.contains("From 10.1.0.1") && out.stdout.contains("Time to live exceeded"),
            || out.show(),
        );
    }
    let args = ["-c", "1", "-t", "2", "-W", "2"];
    let name = "ping -t 2 from h1 reaches 10.2.0.2";
    ping(c, lab, name, "h1", &args, "10.2.0.2");
}

/// Check 4: the hosts' ARP for their gateway was answered with the
/// router's MAC; an ARP request made by hand gets a correct reply.
fn check_arp(c: &mut Checks, lab: &Lab, tools: &Tools) {
    for h in &HOSTS {
        let ns = lab.ns(h.name);
        let out = run(
            &lab.dir,
            "neigh",
            Command::new("ip").args(["-n", &ns, "neigh", "show", h.gw, "dev", "eth0"]),
            Duration::from_secs(5),
        );
        let line = out.stdout.trim().to_string();
        let rmac = mac_str(&h.router_mac);
        let usable = ["REACHABLE", "STALE", "DELAY", "PROBE"];
        c.check(
            &format!("{} resolved its gateway {} to {rmac}", h.name, h.gw),
            out.ok()
                && line.contains(&format!("lladdr {rmac}"))
                && usable.iter().any(|s| line.ends_with(s)),
            || format!("`ip neigh show {}`: {line:?} {}", h.gw, out.stderr),
        );
    }
    if !tools.scapy {
        c.skip(
            "arp probe with scapy",
            "needs python3-scapy for /usr/bin/python3",
        );
        return;
    }
    let script = format!("{ROOT}/tests/netns/probe.py");
    for h in [&HOSTS[0], &HOSTS[2]] {
        let args = [PYTHON, &script, "arp", "eth0", h.addr, h.gw, "10.1.0.99"];
        let out = run(
            &lab.dir,
            "arp-probe",
            &mut lab.exec(h.name, &args),
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
        for how in ["broadcast", "unicast"] {
            c.check(
                &format!(
                    "arp who-has {} ({how}) from {}: one correct reply",
                    h.gw, h.name
                ),
                out.ok() && one_right(how),
                || out.show(),
            );
        }
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

/// Check 7: malformed frames from h1 are dropped (counted in the summary,
/// checked later), weir keeps running and forwarding.
fn check_bad_frames(c: &mut Checks, lab: &Lab, tools: &Tools, weir: &mut Proc, sent: &mut Sent) {
    if !tools.scapy {
        c.skip(
            "malformed frames",
            "needs python3-scapy for /usr/bin/python3",
        );
        return;
    }
    let h1 = &HOSTS[0];
    let script = format!("{ROOT}/tests/netns/probe.py");
    let rmac = mac_str(&h1.router_mac);
    let args = [PYTHON, &script, "bad", "eth0", &rmac, h1.addr, "10.2.0.2"];
    let out = run(
        &lab.dir,
        "bad-frames",
        &mut lab.exec("h1", &args),
        Duration::from_secs(30),
    );
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    let bad: BTreeMap<String, u64> = v["sent"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    if c.check(
        "malformed frames sent from h1",
        out.ok() && !bad.is_empty(),
        || out.show(),
    ) {
        sent.bad = Some(bad);
    }
    if v["runt_refused"] == true {
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
    let name = "ping h1 -> 10.2.0.2 after malformed frames";
    ping3(c, lab, name, h1, "10.2.0.2");
    sent.echo_h1_h2 += 3;
}

/// Valid but unusual packets weir must forward: Ethernet padding after the
/// IPv4 packet (to be trimmed), IP options (to be kept). Checked in h2's
/// capture.
fn send_odd_frames(c: &mut Checks, lab: &Lab, tools: &Tools, sent: &mut Sent) {
    if !tools.scapy {
        c.skip(
            "padded and options frames",
            "needs python3-scapy for /usr/bin/python3",
        );
        return;
    }
    let h1 = &HOSTS[0];
    let script = format!("{ROOT}/tests/netns/probe.py");
    let rmac = mac_str(&h1.router_mac);
    let args = [PYTHON, &script, "odd", "eth0", &rmac, h1.addr, "10.2.0.2"];
    let out = run(
        &lab.dir,
        "odd-frames",
        &mut lab.exec("h1", &args),
        Duration::from_secs(30),
    );
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    if let Some(m) = v.as_object() {
        for (k, hex) in m {
            sent.odd
                .push((k.clone(), unhex(hex.as_str().unwrap_or(""))));
        }
    }
    c.check(
        "padded and options frames sent from h1",
        out.ok() && sent.odd.len() == 2,
        || out.show(),
    );
}

/// Check 8: the summary has the documented fields, and its counts match
/// what was sent; check 7: every malformed frame counted under its reason.
fn check_summary(c: &mut Checks, summary: &Value, sent: &Sent) {
    check_summary_fields(c, summary);
    for h in &HOSTS {
        let p = port(summary, h.name);
        c.check(
            &format!("summary port {}: no rx errors, missed or tx drops", h.name),
            num(&p["rx_errors"]) == 0 && num(&p["rx_missed"]) == 0 && num(&p["tx_dropped"]) == 0,
            || format!("{p}"),
        );
    }
    if let Some(bytes) = sent.tcp_bytes {
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
    let (local, ttl) = (sent.echo_to_router, sent.ttl_expired);
    c.check(
        "summary: pipeline.local counts the echo requests to the router",
        num(&pl["local"]) == local,
        || format!("expected {local}: {pl}"),
    );
    c.check(
        "summary: pipeline.icmp_errors counts the TTL-exceeded errors",
        num(&pl["icmp_errors"]) == ttl && num(&pl["icmp_ratelimited"]) == 0,
        || format!("expected {ttl}: {pl}"),
    );
    let drops = &summary["drops"];
    c.check(
        "summary: drops.ttl-expired counts the TTL-1 pings",
        num(&drops["ttl-expired"]) == ttl,
        || format!("expected {ttl}: {drops}"),
    );
    if let Some(bad) = &sent.bad {
        for reason in ["ip-malformed", "ip-checksum", "ethertype", "runt"] {
            let want = bad.get(reason).copied().unwrap_or(0);
            c.check(
                &format!("summary: drops.{reason} = {want} malformed frames sent"),
                num(&drops[reason]) == want,
                || format!("drops: {drops}"),
            );
        }
    }
    for reason in ["not-for-us", "martian", "no-route", "vlan", "arp-invalid"] {
        c.check(
            &format!("summary: drops.{reason} = 0"),
            num(&drops[reason]) == 0,
            || format!("drops: {drops}"),
        );
    }
}

/// The captures: consistent with the summary's port counters (check 8),
/// VRF isolation (check 5), malformed frames not forwarded (check 7),
/// unusual ones forwarded right.
fn check_captures(
    c: &mut Checks,
    captures: &[Capture],
    summary: &Value,
    sent: &Sent,
    stop_us: u64,
) {
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
    for (cap, f) in captures.iter().zip(&frames) {
        let h = cap.host;
        let rmac = mac_str(&h.router_mac);
        let from_router: Vec<&Frame> = f.iter().filter(|x| src(x) == h.router_mac).collect();
        let from_host: Vec<&Frame> = f
            .iter()
            .filter(|x| x.data.len() >= 14 && src(x) != h.router_mac)
            .collect();
        let host_while_running: Vec<&&Frame> =
            from_host.iter().filter(|x| x.ts_us < stop_us).collect();
        let p = port(summary, h.name);
        let tx_bytes: u64 = from_router.iter().map(|x| x.len as u64).sum();
        c.check(
            &format!(
                "port {}: tx_packets/tx_bytes = frames/bytes from {rmac} in {}'s capture",
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
        let rx_bytes: u64 = host_while_running.iter().map(|x| x.len as u64).sum();
        let rx_total = num(&p["rx_packets"])
            .saturating_add(num(&p["rx_missed"]))
            .saturating_add(num(&p["rx_errors"]));
        c.check(
            &format!(
                "port {}: rx_packets/rx_bytes = frames/bytes {} sent while weir ran",
                h.name, h.name
            ),
            rx_total == host_while_running.len() as u64 && num(&p["rx_bytes"]) == rx_bytes,
            || {
                format!(
                    "summary {p}; capture: {} frames, {rx_bytes} bytes before SIGTERM, {} after",
                    host_while_running.len(),
                    from_host.len() - host_while_running.len()
                )
            },
        );
        c.check(
            &format!("{} received frames from the router", h.name),
            !from_router.is_empty(),
            || "none".into(),
        );
    }

    // Check 5, VRF isolation: no ICMP of a MAIN host in a BGP host's capture and
    // the other way round; each host's echo requests reached its peer.
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
    let [h1, h2, h3, h4] = &HOSTS;
    for (from, to, n) in [(h1, 1, sent.echo_h1_h2), (h2, 0, 3), (h3, 3, 3), (h4, 2, 3)] {
        let got = frames[to]
            .iter()
            .filter(|x| src(x) == HOSTS[to].router_mac && is_echo_with(&x.data, from.pattern))
            .count();
        c.check(
            &format!("{}'s echo requests reached {}", from.name, HOSTS[to].name),
            got >= n,
            || format!("{got} of at least {n}"),
        );
    }

    // Check 7: none of the malformed frames came out of the router.
    for (cap, f) in captures.iter().zip(&frames) {
        let h = cap.host;
        let fwd = f
            .iter()
            .filter(|x| src(x) == h.router_mac && contains(&x.data, b"weir-bad-frame"))
            .count();
        c.check(
            &format!("no malformed frame forwarded to {}", h.name),
            fwd == 0,
            || format!("{fwd} frames with the marker"),
        );
    }

    // The padded and the options packet arrive at h2 exactly as sent but
    // for TTL - 1 and the header checksum; no padding follows.
    for (marker, ip) in &sent.odd {
        let mut want = ip.clone();
        if want.len() >= 20 {
            want[8] = want[8].wrapping_sub(1);
            let hl = usize::from(want[0] & 0x0f) * 4;
            want[10..12].copy_from_slice(&[0, 0]);
            let sum = !csum_fold(csum_add(0, &want[..hl.min(want.len())]));
            want[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        let got: Vec<&Frame> = frames[1]
            .iter()
            .filter(|x| src(x) == h2.router_mac && contains(&x.data, marker.as_bytes()))
            .collect();
        c.check(
            &format!("{marker}: forwarded to h2 once, TTL - 1, nothing else changed"),
            got.len() == 1 && got[0].data.get(14..) == Some(&want[..]),
            || {
                let seen: Vec<String> = got.iter().map(|x| hex(&x.data)).collect();
                format!("want IPv4 {} got frames {seen:?}", hex(&want))
            },
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
// Check 9: a missing interface

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
