//! The `weir` binary as a user runs it: the README's first command on the
//! embedded default, `--summary-json`, signals, and `weir check`.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn weir() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("weir-cli-{}-{name}", std::process::id()))
}

#[test]
fn two_vrf_example_routes_with_summary_json() {
    let json = tmp("two-vrf.json");
    let out = weir()
        .args([
            "run",
            "examples/two-vrf.toml",
            "--duration",
            "2",
            "--no-pin",
        ])
        .arg("--summary-json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Mpps"), "a rate line per second: {stdout}");
    assert!(stdout.contains("summary after"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    assert!(v["elapsed_seconds"].as_f64().unwrap() >= 1.9);
    let ports = v["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 4);
    for p in ports {
        for k in ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"] {
            assert!(p[k].as_u64().unwrap() > 1000, "{k} of {}", p["name"]);
        }
        // The sinks saw the traffic of the other port of their VRF, with
        // loss only while ARP resolved at the start.
        let g = &p["gen"];
        let got = g["sink_packets"].as_u64().unwrap();
        assert!(got > 1000);
        assert!(g["sink_lost"].as_u64().unwrap() < got / 10, "{g}");
    }
    assert!(v["pipeline"]["forwarded"].as_u64().unwrap() > 10_000);
    assert_eq!(
        v["drops"]["no-route"].as_u64(),
        Some(0),
        "every flow has a route"
    );
    assert_eq!(v["drops"]["martian"].as_u64(), Some(0));
    assert!(v["control"]["arp_replies"].as_u64().is_some());
}

/// The seed's hairpin (examples/seed-hairpin.toml): hosts in MAIN and
/// BGP reach each other only through the local GRE pair, so every packet
/// a sink counts went through encapsulation, the underlay and
/// decapsulation, and arrived in order, with no GRE dropped.
#[test]
fn seed_hairpin_example_carries_traffic_between_the_vrfs() {
    let json = tmp("seed-hairpin.json");
    let out = weir()
        .args([
            "run",
            "examples/seed-hairpin.toml",
            "--duration",
            "2",
            "--no-pin",
        ])
        .arg("--summary-json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let ports = v["ports"].as_array().unwrap();
    for p in &ports[..2] {
        let g = &p["gen"];
        let got = g["sink_packets"].as_u64().unwrap();
        assert!(got > 10_000, "{}: {g}", p["name"]);
        assert!(g["sink_lost"].as_u64().unwrap() < got / 10, "{g}");
    }
    for reason in [
        "gre-malformed",
        "gre-no-tunnel",
        "tunnel-loop",
        "tunnel-down",
        "no-route",
    ] {
        assert_eq!(
            v["drops"][reason].as_u64(),
            Some(0),
            "{reason}: {}",
            v["drops"]
        );
    }
}

#[test]
fn sigint_and_sigterm_stop_cleanly_with_final_counters() {
    for sig in [libc_sig::SIGINT, libc_sig::SIGTERM] {
        let mut child = weir()
            .args(["run", "examples/two-vrf.toml", "--no-pin"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let rc = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(rc.success());
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "weir did not stop on signal {sig}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(status.success(), "signal {sig}: {status:?}\n{out}");
        assert!(
            out.contains("summary after"),
            "final counters printed: {out}"
        );
        assert!(out.contains("forwarded"), "{out}");
    }
}

/// Signal numbers for `kill`, without a libc dependency in the test.
mod libc_sig {
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;
}

#[test]
fn check_prints_the_resolved_config() {
    let out = weir()
        .args(["check", "examples/two-vrf.toml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    for want in [
        "MAIN",
        "BGP",
        "main-a",
        "10.1.0.0/24",
        "connected",
        "172.16.0.0/16",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
}

#[test]
fn bad_config_is_rejected_with_file_line_and_field() {
    let path = tmp("bad.toml");
    std::fs::write(
        &path,
        "[[vrf]]\nname = \"MAIN\"\ntable = 1\n\n[[interface]]\nname = \"g0\"\nvrf = \"NOPE\"\naddresses = [\"10.1.0.1/24\"]\ngen = { dst = \"10.2.0.2\" }\n\n[[route]]\nprefix = \"10.9.0.1/16\"\ninterface = \"g9\"\n",
    )
    .unwrap();
    for cmd in ["check", "run"] {
        let out = weir().arg(cmd).arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd} exits 2");
        let err = String::from_utf8_lossy(&out.stderr);
        let file = path.display().to_string();
        assert!(
            err.contains(&format!("{file}:7:7: interface[0] (g0).vrf")),
            "{err}"
        );
        assert!(err.contains("NOPE"), "{err}");
        assert!(err.contains(&format!("{file}:12:")), "bad prefix: {err}");
        assert!(err.contains("g9"), "missing interface: {err}");
        assert!(out.stdout.is_empty() || cmd == "check", "nothing ran");
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn missing_pcap_input_is_a_clear_error() {
    let path = tmp("missing-pcap.toml");
    std::fs::write(
        &path,
        "[[interface]]\nname = \"p0\"\naddresses = [\"10.1.0.1/24\"]\npcap = { rx = \"/nonexistent/in.pcap\" }\n",
    )
    .unwrap();
    let out = weir().arg("run").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/in.pcap"), "{err}");
    let _ = std::fs::remove_file(&path);
}
