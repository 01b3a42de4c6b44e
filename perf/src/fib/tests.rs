//! Tests of the prefix-file parser, the generators and the report.

use super::*;

#[test]
fn parses_prefixes_comments_and_next_hops() {
    let text = "# a table\n\n10.0.0.0/8\n192.168.1.77/24 5   # host bits ignored\n  0.0.0.0/0 7\n10.0.0.0/8 9\n";
    let t = parse_table(text, false).unwrap();
    let Table::V4(r) = t else { panic!("v4") };
    assert_eq!(r.len(), 3);
    assert_eq!(
        r[0],
        (0x0a00_0000, 8, 9),
        "duplicate keeps the last next hop"
    );
    assert_eq!(r[1], (0xc0a8_0100, 24, 5));
    assert_eq!(r[2], (0, 0, 7));
    let t = parse_table("2001:db8::1/32\n::/0 3\n", true).unwrap();
    let Table::V6(r) = t else { panic!("v6") };
    assert_eq!(r[0].0, 0x2001_0db8 << 96);
    assert_eq!(r[0].1, 32);
    assert!(r[0].2 < 64, "default next hop is one of 64");
    assert_eq!(r[1], (0, 0, 3));
}

#[test]
fn parse_errors_name_the_line() {
    let cases = [
        ("10.0.0.0/8\nbogus\n", false, 2, "prefix/len"),
        ("10.0.0.0/33\n", false, 1, "> 32"),
        ("10.0.0/8\n", false, 1, "IPv4 address"),
        ("10.0.0.0/x\n", false, 1, "length"),
        ("\n\n10.0.0.0/8 -1\n", false, 3, "next hop"),
        ("10.0.0.0/8 4294967295\n", false, 1, "next hop"),
        ("10.0.0.0/8 1 2\n", false, 1, "unexpected"),
        ("2001:db8::/32\n", false, 1, "--v6"),
        ("2001:db8::/129\n", true, 1, "> 128"),
        ("10.0.0.0/8\n", true, 1, "IPv6 address"),
    ];
    for (text, v6, line, what) in cases {
        let e = parse_table(text, v6).unwrap_err();
        assert_eq!(e.line, line, "{text:?}");
        assert!(e.message.contains(what), "{text:?}: {}", e.message);
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
}

#[test]
fn load_table_error_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("weir-fib-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.txt");
    std::fs::write(&path, "10.0.0.0/8\n1.2.3.4/40\n").unwrap();
    let opts = Options {
        table: Some(path.clone()),
        ..Options::default()
    };
    let e = load_table(&opts).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:2: ", path.display())), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn generated_v4_has_the_documented_shape() {
    let n = 100_000;
    let r = generate_v4(n, 3);
    assert_eq!(r.len(), n);
    let distinct: std::collections::HashSet<_> = r.iter().map(|x| (x.0, x.1)).collect();
    assert_eq!(distinct.len(), n, "distinct prefixes");
    let share = |f: &dyn Fn(u8) -> bool| r.iter().filter(|x| f(x.1)).count() as f64 / n as f64;
    let s24 = share(&|l| l == 24);
    assert!((0.57..0.63).contains(&s24), "/24 share {s24}");
    let s19_23 = share(&|l| (19..=23).contains(&l));
    assert!((0.32..0.38).contains(&s19_23), "/19../23 share {s19_23}");
    assert!(share(&|l| l < 16) < 0.01);
    assert!(share(&|l| l > 24) < 0.005);
    for &(p, l, nh) in &r {
        assert_eq!(p & !mask4(l), 0, "masked");
        assert!((1..224).contains(&(p >> 24)), "unicast {p:#x}");
        assert!(nh < 64);
    }
    // Clustered: far fewer split /18s than prefixes longer than /18.
    let long = r.iter().filter(|x| x.1 > 18).count();
    assert!(split_18s(&r) * 5 < long, "{} split /18s", split_18s(&r));
    assert_eq!(generate_v4(1000, 3), generate_v4(1000, 3), "deterministic");
    assert_ne!(generate_v4(1000, 3), generate_v4(1000, 4));
}

#[test]
fn generated_v6_has_the_documented_shape() {
    let n = 50_000;
    let r = generate_v6(n, 5);
    assert_eq!(r.len(), n);
    let share = |len: u8| r.iter().filter(|x| x.1 == len).count() as f64 / n as f64;
    assert!((0.45..0.51).contains(&share(48)), "/48 {}", share(48));
    assert!((0.11..0.15).contains(&share(32)), "/32 {}", share(32));
    assert!((0.07..0.11).contains(&share(44)), "/44 {}", share(44));
    for &(p, l, _) in &r {
        assert_eq!(p & !mask6(l), 0);
        assert!(V6_REGIONS
            .iter()
            .any(|&(rp, rl)| p & mask6(rl) == rp || l < rl));
    }
}

#[test]
fn options_parse() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let o = Options::parse(&args(
        "--prefixes 1_000 --v6 --json out.json --seed 9 --lookups 64",
    ))
    .unwrap();
    assert_eq!(o.prefixes, Some(1000));
    assert!(o.v6);
    assert_eq!(o.json, Some("out.json".into()));
    assert_eq!((o.seed, o.lookups), (9, 64));
    assert!(Options::parse(&args("--table a --prefixes 3")).is_err());
    assert!(Options::parse(&args("--prefixes")).is_err());
    assert!(Options::parse(&args("--frobnicate")).is_err());
    assert!(Options::parse(&args("--lookups 0")).is_err());
}

/// A tiny run of the whole benchmark, without DPDK: the JSON has the
/// documented shape and plausible values.
#[test]
fn report_json_shape() {
    for v6 in [false, true] {
        let opts = Options {
            prefixes: Some(3000),
            v6,
            lookups: 4096,
            no_dpdk: true,
            ..Options::default()
        };
        let report = run(&opts).unwrap();
        let text = render(&report);
        assert!(text.contains("lookups/s inside batch32"), "{text}");
        let j: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(j["schema"], "weir-bench-fib/1");
        assert_eq!(j["family"], if v6 { "ipv6" } else { "ipv4" });
        assert_eq!(j["source"], "generated");
        assert_eq!(j["prefixes"], 3000);
        assert_eq!(j["lookups_per_pass"], 4096);
        assert!(j["ratios"].is_null() && j["mismatches"].is_null());
        let e = &j["engines"][0];
        assert_eq!(e["name"], "weir");
        for k in [
            "build_seconds",
            "memory_bytes",
            "lookup_bytes",
            "bytes_per_prefix",
        ] {
            assert!(e[k].as_f64().unwrap() > 0.0, "{k}");
        }
        for k in [
            "random_single",
            "random_batch",
            "inside_single",
            "inside_batch",
        ] {
            assert!(e["lookups_per_sec"][k].as_f64().unwrap() > 0.0, "{k}");
        }
        if v6 {
            assert!(e["updates"].is_null());
        } else {
            assert!(e["insert_all_seconds"].as_f64().unwrap() > 0.0);
            let u = &e["updates"];
            for k in [
                "batch",
                "withdraw_per_sec",
                "add_per_sec",
                "single_withdraw_per_sec",
                "single_add_per_sec",
            ] {
                assert!(u[k].as_f64().unwrap() > 0.0, "{k}");
            }
        }
    }
}
