//! `weir bench` end to end, with settings small enough for CI: the JSON's
//! shape, zero loss when nothing is lost, and loss when weir drops on
//! purpose. No assertion depends on how fast this machine is: the rates
//! are far below what any machine forwards, the rings hold 200 ms of
//! traffic, and the forced loss is a route, not a race.

mod bench_common;

use bench_common::{f, tmp, weir};
use serde_json::Value;

/// Run `weir bench` with tiny settings plus `extra`; the parsed JSON and
/// stdout.
fn bench(name: &str, extra: &[&str]) -> (Value, String) {
    let json = tmp(&format!("{name}.json"));
    let svg = tmp(&format!("{name}.svg"));
    let out = weir()
        .args([
            "bench",
            "--quick",
            "--no-pin",
            "--no-inline",
            "--trial-secs",
            "0.2",
        ])
        .args([
            "--max-rate",
            "20000",
            "--ring",
            "4096",
            "--resolution",
            "0.25",
        ])
        .args(extra)
        .arg("--json")
        .arg(&json)
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).unwrap();
    let plot = std::fs::read_to_string(&svg).unwrap();
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&svg);
    assert!(plot.starts_with("<svg") && plot.contains("Throughput vs frame size"));
    (serde_json::from_str(&text).unwrap(), stdout)
}

#[test]
fn nothing_lost_is_zero_loss_and_the_json_has_its_shape() {
    let (r, stdout) = bench("clean", &["--sizes", "64,imix", "--baseline", "loopback"]);
    assert_eq!(r["schema"], "weir-bench/1");
    assert_eq!(r["scenario"], "ipv4-2port");
    for k in ["cpu_model", "kernel", "weir_commit", "command"] {
        assert!(r["system"][k].is_string(), "system.{k}");
    }
    assert!(r["system"]["command"]
        .as_str()
        .unwrap()
        .contains("--max-rate 20000"));
    assert!(f(&r, "/system/cores") >= 1.0);
    assert_eq!(r["settings"]["sizes"], serde_json::json!(["64", "imix"]));
    assert_eq!(f(&r, "/settings/runs"), 1.0);
    let devices = r["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["name"], "weir");
    assert_eq!(devices[1]["name"], "loopback");
    for d in devices {
        let points = d["points"].as_array().unwrap();
        assert_eq!(points.len(), 2);
        for p in points {
            let run = &p["runs"][0];
            // Up to 20 kpps × 0.2 s (fewer if this machine is busy: the
            // offered rate says so), every frame back: no loss at 100 %
            // load, so the search ends at the top.
            let sent = f(run, "/full_load/sent");
            assert!(sent > 0.0, "{run:#}");
            assert_eq!(f(run, "/full_load/received"), sent, "{run:#}");
            assert_eq!(f(p, "/full_load_loss/max"), 0.0);
            assert!(f(p, "/ndr_mpps/median") > 0.0, "{p:#}");
            assert!(f(p, "/pdr_mpps/median") >= f(p, "/ndr_mpps/median"));
            assert!(
                f(p, "/ndr_mpps/max") <= 0.020_001,
                "NDR never above the cap"
            );
            for t in run["trials"].as_array().unwrap() {
                assert_eq!(t["sent"], t["received"], "{t:#}");
            }
            let lat = p["latency"].as_array().unwrap();
            assert_eq!(lat.len(), 3, "10, 50, 90 % of NDR");
            for l in lat {
                let s = ["p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"]
                    .map(|k| f(l, &format!("/{k}/median")));
                assert!(s[0] > 0.0 && s.windows(2).all(|w| w[0] <= w[1]), "{l:#}");
            }
        }
    }
    let ratios = r["ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 2);
    assert!(f(&ratios[0], "/ndr") > 0.0);
    assert!(stdout.contains("NDR Mpps") && stdout.contains("weir / baseline"));
}

#[test]
fn a_device_that_drops_shows_loss_counted_at_the_sink() {
    // Half the destinations (10.2.0.8-15 of 10.2.0.2-17) hit a blackhole
    // route: weir drops every other block of 8 frames on purpose.
    let scn = tmp("drop.toml");
    let text = std::fs::read_to_string("perf/scenarios/ipv4-2port.toml").unwrap()
        + "\n[[router.route]]\nprefix = \"10.2.0.8/29\"\naction = \"blackhole\"\n";
    std::fs::write(&scn, text).unwrap();
    let (r, stdout) = bench("drop", &[scn.to_str().unwrap()]);
    let _ = std::fs::remove_file(&scn);
    let p = &r["devices"][0]["points"][0];
    let loss = f(p, "/full_load_loss/median");
    assert!((0.45..=0.55).contains(&loss), "loss {loss}: {p:#}");
    assert_eq!(f(p, "/ndr_mpps/median"), 0.0, "no rate is loss-free");
    assert_eq!(f(p, "/pdr_mpps/median"), 0.0, "nor within 0.5 %");
    for t in p["runs"][0]["trials"].as_array().unwrap() {
        let (s, g) = (f(t, "/sent"), f(t, "/received"));
        // A short trial (a low target rate on a busy machine) sends a few
        // dozen frames, too few for the half to show exactly.
        if s >= 1000.0 {
            assert!(g < s * 0.6 && g > s * 0.4, "{t:#}");
        } else if s >= 16.0 {
            assert!(g < s, "{t:#}");
        }
    }
    assert!(
        p["latency"].as_array().unwrap().is_empty(),
        "no NDR, no latency trials"
    );
    // The table shows that loss (about half: the last block of a short
    // trial may be cut, so 49.9 % is as right as 50 %).
    let shown = format!("{:.3}%", loss * 100.0);
    assert!(stdout.contains(&shown), "the table shows {shown}: {stdout}");

    // Excusing stalls does not excuse a route's drops: weir took every
    // frame in, so none is stalled loss.
    std::fs::write(
        &scn,
        std::fs::read_to_string("perf/scenarios/ipv4-2port.toml").unwrap()
            + "\n[[router.route]]\nprefix = \"10.2.0.8/29\"\naction = \"blackhole\"\n",
    )
    .unwrap();
    let (r, _) = bench("drop-excused", &[scn.to_str().unwrap(), "--excuse-stalls"]);
    let _ = std::fs::remove_file(&scn);
    assert_eq!(r["settings"]["excuse_stalls"], true);
    let p = &r["devices"][0]["points"][0];
    assert_eq!(f(p, "/ndr_mpps/median"), 0.0, "{p:#}");
    assert_eq!(f(p, "/pdr_mpps/median"), 0.0, "{p:#}");
    for t in p["runs"][0]["trials"].as_array().unwrap() {
        let lost = f(t, "/sent") - f(t, "/received");
        assert!(f(t, "/stalled_loss") < lost / 2.0 || lost == 0.0, "{t:#}");
    }
}

/// Two-way checks on one point: each direction's stream counted on its
/// own, totals the sums.
fn check_two_way_point(p: &Value) -> (Value, Value) {
    let dirs = p["directions"].as_array().expect("two-way: directions");
    assert_eq!(dirs.len(), 2, "{p:#}");
    assert_eq!(dirs[0]["direction"], "forward");
    assert_eq!(dirs[1]["direction"], "reverse");
    let run = &p["runs"][0];
    let fl = &run["full_load"];
    let d = fl["directions"]
        .as_array()
        .expect("full load per direction");
    for k in ["sent", "received"] {
        assert_eq!(
            f(fl, &format!("/{k}")),
            f(&d[0], &format!("/{k}")) + f(&d[1], &format!("/{k}")),
            "{fl:#}"
        );
    }
    assert!(f(&d[0], "/sent") > 0.0 && f(&d[1], "/sent") > 0.0, "{fl:#}");
    (dirs[0].clone(), dirs[1].clone())
}

#[test]
fn two_way_traffic_is_lossless_both_ways_and_reports_each_direction() {
    let (r, stdout) = bench(
        "bidir",
        &["perf/scenarios/ipv4-2port-bidir.toml", "--sizes", "64"],
    );
    assert_eq!(r["scenario"], "ipv4-2port-bidir");
    assert_eq!(r["settings"]["bidirectional"], true);
    let p = &r["devices"][0]["points"][0];
    let (fwd, rev) = check_two_way_point(p);
    let run = &p["runs"][0];
    // 20 kpps in total, 10 kpps each way: nothing lost in either.
    for d in run["full_load"]["directions"].as_array().unwrap() {
        assert_eq!(d["sent"], d["received"], "{d:#}");
        assert!(
            f(d, "/offered_pps") <= 10_000.0 * 1.01,
            "half the rate each way: {d:#}"
        );
    }
    for t in run["trials"].as_array().unwrap() {
        assert_eq!(t["sent"], t["received"], "{t:#}");
        for d in t["directions"].as_array().unwrap() {
            assert_eq!(d["sent"], d["received"], "{t:#}");
        }
    }
    assert_eq!(f(p, "/full_load_loss/max"), 0.0);
    let ndr = f(p, "/ndr_mpps/median");
    assert!(ndr > 0.0 && ndr <= 0.020_001, "{p:#}");
    // Each direction's share of the NDR trial: at most half the target,
    // together at most the total (less if one direction fell behind on a
    // busy machine).
    let (nf, nr) = (f(&fwd, "/ndr_mpps/median"), f(&rev, "/ndr_mpps/median"));
    assert!(nf + nr <= ndr * 1.000_001, "{nf} + {nr} > {ndr}");
    for d in [&fwd, &rev] {
        assert_eq!(f(d, "/full_load_loss/max"), 0.0, "{d:#}");
        let share = f(d, "/ndr_mpps/median");
        assert!(share > 0.0 && share <= 0.010_001, "{d:#}");
        let lat = d["latency"].as_array().unwrap();
        assert_eq!(lat.len(), 3, "each direction timed at 10, 50, 90 %");
        assert!(f(&lat[0], "/p50_ns/median") > 0.0);
    }
    assert_eq!(run["directions"][1]["direction"], "reverse");
    assert_eq!(
        run["latency"][0]["directions"].as_array().unwrap().len(),
        2,
        "{run:#}"
    );
    assert!(
        stdout.contains("two-way") && stdout.contains("reverse"),
        "{stdout}"
    );
}

#[test]
fn two_way_loss_shows_in_the_direction_that_drops() {
    // Half the reverse destinations (10.1.0.8-15 of 10.1.0.2-17) hit a
    // blackhole route: weir drops half the reverse frames, no forward one.
    let scn = tmp("bidir-drop.toml");
    let text = std::fs::read_to_string("perf/scenarios/ipv4-2port-bidir.toml").unwrap()
        + "\n[[router.route]]\nprefix = \"10.1.0.8/29\"\naction = \"blackhole\"\n";
    std::fs::write(&scn, text).unwrap();
    let (r, stdout) = bench("bidir-drop", &[scn.to_str().unwrap(), "--no-latency"]);
    let _ = std::fs::remove_file(&scn);
    let p = &r["devices"][0]["points"][0];
    let (fwd, rev) = check_two_way_point(p);
    assert_eq!(f(&fwd, "/full_load_loss/max"), 0.0, "{fwd:#}");
    let lr = f(&rev, "/full_load_loss/median");
    assert!((0.45..=0.55).contains(&lr), "reverse loss {lr}: {rev:#}");
    let lt = f(p, "/full_load_loss/median");
    assert!((0.2..=0.3).contains(&lt), "total loss {lt}: {p:#}");
    assert_eq!(f(p, "/ndr_mpps/median"), 0.0, "no rate is loss-free");
    assert_eq!(f(p, "/pdr_mpps/median"), 0.0, "nor within 0.5 %");
    for t in p["runs"][0]["trials"].as_array().unwrap() {
        let d = t["directions"].as_array().unwrap();
        assert_eq!(
            d[0]["sent"], d[0]["received"],
            "forward loses nothing: {t:#}"
        );
        let (s, g) = (f(&d[1], "/sent"), f(&d[1], "/received"));
        if s >= 1000.0 {
            assert!(g < s * 0.6 && g > s * 0.4, "{t:#}");
        }
    }
    let shown = format!("{:.3}%", lr * 100.0);
    assert!(
        stdout.contains("reverse") && stdout.contains(&shown),
        "the table shows the reverse loss {shown}: {stdout}"
    );
}

/// The tester is pinned (to weir's control core) while it measures; the
/// inline measurement after it builds weir configs again, whose checks
/// count the CPUs the calling thread may use: the tester's pinning must
/// not leave a scenario naming another core refused as "core N does not
/// exist".
#[test]
fn the_inline_measurement_runs_with_the_scenarios_cores_after_a_pinned_tester() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("skipped: needs 2 CPUs");
        return;
    }
    let scn = tmp("cores.toml");
    let text = std::fs::read_to_string("perf/scenarios/ipv4-2port.toml").unwrap()
        + &format!(
            "\n[router.workers]\ncores = [{}]\ncontrol_core = 0\n",
            cpus - 1
        );
    std::fs::write(&scn, text).unwrap();
    let json = tmp("cores.json");
    let out = weir()
        .arg("bench")
        .arg(&scn)
        .args([
            "--quick",
            "--no-latency",
            "--no-progress",
            "--trial-secs",
            "0.2",
        ])
        .args(["--max-rate", "20000", "--resolution", "0.25", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&scn);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    assert_eq!(f(&r, "/settings/tester_core"), 0.0);
    assert!(f(&r, "/inline/0/mpps/median") > 0.0, "{:#}", r["inline"]);
}

#[test]
fn bad_arguments_fail_cleanly() {
    let out = weir().args(["bench", "--sizes", "63"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("63"));
    let out = weir()
        .args([
            "bench",
            "perf/scenarios/ipv4-2port.toml",
            "--prefixes",
            "10",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[table]"));
}

#[test]
fn a_generated_table_routes() {
    let (r, _) = bench(
        "table",
        &[
            "perf/scenarios/ipv4-table.toml",
            "--prefixes",
            "2000",
            "--no-latency",
        ],
    );
    assert_eq!(r["scenario"], "ipv4-table");
    let run = &r["devices"][0]["points"][0]["runs"][0];
    let sent = f(run, "/full_load/sent");
    assert!(sent > 0.0);
    assert_eq!(f(run, "/full_load/received"), sent, "{run:#}");
}

/// The DPDK scenario end to end: weir on two net_pcap vdevs (no
/// hugepages, EAL file prefixes of this process's own) and dpdk-testpmd
/// io on the same vdevs, one 1-second run each: both forward, the ratio is
/// in the report, and nothing is left in /var/run/dpdk.
#[cfg(feature = "dpdk")]
#[test]
fn the_dpdk_scenario_measures_weir_and_testpmd_on_the_same_vdevs() {
    let json = tmp("dpdk.json");
    let out = weir()
        .args([
            "bench",
            "perf/scenarios/ipv4-dpdk-pcap.toml",
            "--sizes",
            "64",
            "--runs",
            "1",
            "--trial-secs",
            "1",
            "--no-pin",
            "--no-progress",
            "--baseline",
            "testpmd",
            "--baseline",
            "loopback",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    assert_eq!(r["scenario"], "ipv4-dpdk-pcap");
    assert!(r["devices"].as_array().unwrap().is_empty(), "no NDR search");
    let skipped = r["skipped"].to_string();
    assert!(skipped.contains("loopback"), "{skipped}");
    let m = r["max_rate"].as_array().unwrap();
    let testpmd = m.iter().any(|d| d["name"] == "testpmd");
    if !testpmd {
        // Only when dpdk-testpmd is missing (scripts/test installs it).
        assert!(skipped.contains("not installed"), "{skipped}");
    }
    assert_eq!(m[0]["name"], "weir");
    for d in m {
        let p = &d["points"][0];
        assert_eq!(p["size"], "64");
        // Forwarding, both directions: transmitted = received (±1 %).
        let (tx, rx) = (f(p, "/mpps/median"), f(p, "/rx_mpps/median"));
        assert!(tx > 0.1, "{} forwards: {p:#}", d["name"]);
        assert!((tx - rx).abs() <= rx * 0.01 + 0.01, "{p:#}");
    }
    if testpmd {
        let ratio = &r["ratios"][0];
        assert_eq!(ratio["basis"], "max_rate");
        assert!(f(ratio, "/ndr") > 0.0);
        assert!(stdout.contains("max rate"));
    }
    let pid_dirs = std::fs::read_dir("/var/run/dpdk")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("weir-bench-"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert!(pid_dirs.is_empty(), "left behind: {pid_dirs:?}");
}

/// The tester on DPDK ports: the ring-pair scenario end to end (no
/// hugepages, the EAL's file prefix this weir process's own): two-way
/// traffic through net_ring pairs, zero loss both ways at a modest rate,
/// the loopback baseline through a ring pair of its own, the JSON's
/// shape, and nothing left in /var/run/dpdk.
#[cfg(feature = "dpdk")]
#[test]
fn the_dpdk_ring_scenario_runs_the_tester_on_dpdk_ports() {
    let (r, stdout) = bench(
        "dpdk-ring",
        &[
            "perf/scenarios/ipv4-dpdk-ring.toml",
            "--sizes",
            "64",
            "--baseline",
            "loopback",
            "--no-progress",
        ],
    );
    assert_eq!(r["schema"], "weir-bench/1");
    assert_eq!(r["scenario"], "ipv4-dpdk-ring");
    let s = &r["settings"];
    assert_eq!(s["bidirectional"], true);
    assert_eq!(f(s, "/ring"), 4096.0);
    let driver = s["driver"].as_str().unwrap();
    assert!(
        driver.starts_with("dpdk tester ports: net_ring_tester0 -> weir net_ring_weir0"),
        "{driver}"
    );
    assert!(driver.contains("EAL lcore"), "{driver}");
    let devices = r["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["name"], "weir");
    assert_eq!(devices[1]["name"], "loopback");
    for d in devices {
        let p = &d["points"][0];
        assert_eq!(p["size"], "64");
        let (fwd, rev) = check_two_way_point(p);
        let run = &p["runs"][0];
        assert_eq!(
            f(run, "/full_load/sent"),
            f(run, "/full_load/received"),
            "{}: {run:#}",
            d["name"]
        );
        for t in run["trials"].as_array().unwrap() {
            assert_eq!(t["sent"], t["received"], "{t:#}");
        }
        assert!(f(p, "/ndr_mpps/median") > 0.0, "{p:#}");
        assert!(f(p, "/ndr_mpps/max") <= 0.020_001);
        for x in [&fwd, &rev] {
            assert_eq!(f(x, "/full_load_loss/max"), 0.0, "{x:#}");
            assert!(f(x, "/ndr_mpps/median") > 0.0, "{x:#}");
        }
        assert_eq!(p["latency"].as_array().unwrap().len(), 3);
    }
    assert_eq!(r["ratios"][0]["basis"], "ndr_pdr");
    assert!(stdout.contains("NDR Mpps") && stdout.contains("reverse"));
    let left: Vec<String> = std::fs::read_dir("/var/run/dpdk")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("weir-bench-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Real NICs without hugepages are refused before DPDK starts, with the
/// way out.
#[cfg(feature = "dpdk")]
#[test]
fn the_dpdk_nic_scenario_asks_for_hugepages() {
    let out = weir()
        .args([
            "bench",
            "perf/scenarios/ipv4-dpdk-nic.toml",
            "--quick",
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("ipv4-dpdk-nic.toml") && e.contains("--huge") && e.contains("scripts/hugepages"),
        "{e}"
    );
}

#[cfg(not(feature = "dpdk"))]
#[test]
fn the_dpdk_tester_scenarios_need_the_dpdk_feature() {
    for scn in [
        "perf/scenarios/ipv4-dpdk-ring.toml",
        "perf/scenarios/ipv4-dpdk-nic.toml",
    ] {
        let out = weir()
            .args(["bench", scn, "--quick", "--no-progress"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains("--features dpdk"), "{scn}: {e}");
    }
}

#[cfg(not(feature = "dpdk"))]
#[test]
fn the_dpdk_scenario_needs_the_dpdk_feature() {
    let out = weir()
        .args(["bench", "perf/scenarios/ipv4-dpdk-pcap.toml", "--quick"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("--features dpdk"), "{e}");
}

/// `weir bench compare` of two reports: whether it succeeded, and stdout.
fn compare(a: &Value, b: &Value) -> (bool, String) {
    let (pa, pb) = (tmp("cmp-a.json"), tmp("cmp-b.json"));
    std::fs::write(&pa, a.to_string()).unwrap();
    std::fs::write(&pb, b.to_string()).unwrap();
    let out = weir()
        .args(["bench", "compare"])
        .arg(&pa)
        .arg(&pb)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&pa);
    let _ = std::fs::remove_file(&pb);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn compare_prints_the_two_medians_and_their_difference() {
    let (mut r, _) = bench("cmp", &["--sizes", "64", "--no-latency"]);
    let mut r2 = r.clone();
    let ndr = f(&r, "/devices/0/points/0/ndr_mpps/median");
    r2["devices"][0]["points"][0]["ndr_mpps"]["median"] = serde_json::json!(ndr * 1.1);
    let (ok, s) = compare(&r, &r2);
    assert!(ok, "{s}");
    assert!(s.contains("weir 64 NDR") && s.contains("+10.0%"), "{s}");
    assert!(s.contains("weir 64 PDR") && s.contains("+0.0%"), "{s}");
    assert!(s.contains("1 of 2 figures within ±5.0%"), "{s}");
    assert!(!s.contains("warning"), "{s}");

    // Reports measured at core placements far apart are flagged.
    let mut r3 = r2.clone();
    r["system"]["core_round_trip_ns"] = serde_json::json!([40.0, 45.0]);
    r3["system"]["core_round_trip_ns"] = serde_json::json!([410.0, 390.0]);
    let (ok, s) = compare(&r, &r3);
    assert!(ok, "{s}");
    assert!(s.contains("40..45 / 410..390"), "{s}");
    assert!(
        s.contains("warning: the round trip moved 40..410 ns"),
        "{s}"
    );
}
