//! The seed's hairpin between real Linux hosts (examples/seed-hairpin-netns.toml
//! on the lab of `scripts/netns-lab`, see tests/netns.rs): h1 in MAIN and
//! h4 in BGP reach each other only through the local GRE pair
//! Tunnel75/Tunnel76. Pings both ways arrive with two routed hops (TTL
//! 62), a TTL-2 ping expires in BGP with an ICMP error from Tunnel76's
//! address that itself crosses the pair back, and a 10 MiB TCP transfer
//! arrives intact. Needs root; skipped (with a message) otherwise.

mod common;

use common::*;
use std::fmt::Write as _;
use std::fs;
use std::time::Duration;

#[test]
fn seed_hairpin_between_real_hosts() {
    const TEST: &str = "seed_netns::seed_hairpin_between_real_hosts";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !lab_possible(TEST) {
        return;
    }
    let tools = Tools::probe();
    let mut c = Checks::default();
    remove_stale_namespaces();
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("weir-seed-netns-{pid}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the test directory");
    let mut lab = Lab::up(&format!("weirs{pid}"), &dir);
    let summary = dir.join("summary.json");
    let mut weir = start_weir(&mut lab, "examples/seed-hairpin-netns.toml", &summary);

    let ttl = |from: &str, to: &str, want: &str| {
        let out = run(
            &lab.dir,
            "ping",
            &mut lab.exec(from, &["ping", "-n", "-c", "3", "-W", "2", to]),
            Duration::from_secs(15),
        );
        (
            out.ok() && out.stdout.contains(" 0% packet loss") && out.stdout.contains(want),
            out,
        )
    };
    let (ok, out) = ttl("h1", "10.2.0.2", "ttl=62");
    c.check(
        "ping h1 -> 10.2.0.2 (h4 in BGP, via the pair), ttl=62",
        ok,
        || out.show(),
    );
    let (ok, out) = ttl("h4", "10.1.0.2", "ttl=62");
    c.check(
        "ping h4 -> 10.1.0.2 (h1 in MAIN, via the pair), ttl=62",
        ok,
        || out.show(),
    );

    let out = run(
        &lab.dir,
        "ping-ttl2",
        &mut lab.exec(
            "h1",
            &["ping", "-n", "-c", "1", "-t", "2", "-W", "2", "10.2.0.2"],
        ),
        Duration::from_secs(10),
    );
    c.check(
        "ping -t 2 h1 -> 10.2.0.2 expires in BGP: time exceeded from 10.75.0.2",
        out.stdout.contains("From 10.75.0.2") && out.stdout.contains("Time to live exceeded"),
        || out.show(),
    );

    check_tcp_to(&mut c, &lab, &tools, "h4");

    weir.signal(15);
    let status = weir.wait_for(Duration::from_secs(10));
    c.check(
        "weir stops cleanly",
        status.is_some_and(|s| s.success()),
        || weir.stderr_text(),
    );
    let s: serde_json::Value = fs::read_to_string(&summary)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    for reason in [
        "gre-no-tunnel",
        "gre-malformed",
        "tunnel-loop",
        "tunnel-down",
    ] {
        c.check(
            &format!("no {reason} drops"),
            s["drops"][reason].as_u64() == Some(0),
            || format!("{}", s["drops"]),
        );
    }
    drop(weir);
    if !c.failed.is_empty() {
        let mut msg = format!("{} seed hairpin checks failed:\n", c.failed.len());
        for f in &c.failed {
            let _ = writeln!(msg, "  - {}", f.lines().next().unwrap_or(""));
        }
        panic!("{msg}");
    }
    drop(lab);
}
