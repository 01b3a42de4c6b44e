//! The config: a good file resolves with the right defaults; every kind of
//! mistake is reported with its exact line, column and field; several
//! mistakes are all reported at once.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ctrl::config::{
    gre_overhead, Config, ConfigError, Diagnostic, DpdkOptions, DpdkPortOptions, Driver, Env,
    FrameSize, IfAddr, IfRef, Keepalive, Repeat, RouteAction, RouteDistinguisher, Tunnel, TunnelDf,
    TunnelFragment, VrfImport,
};

const ENV: Env = Env { cpus: 4 };

fn check(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_with(text, Path::new("t.toml"), &ENV)
}

fn ok(text: &str) -> Config {
    check(text).unwrap_or_else(|e| panic!("rejected:\n{e}"))
}

fn errors(text: &str) -> ConfigError {
    match check(text) {
        Ok(c) => panic!("accepted:\n{c}"),
        Err(e) => e,
    }
}

/// Exactly one error, at `line:col`, on `field`, whose message contains
/// `needle`.
#[track_caller]
fn one_error(text: &str, line: usize, col: usize, field: &str, needle: &str) -> Diagnostic {
    let e = errors(text);
    assert_eq!(e.diagnostics.len(), 1, "expected one error, got:\n{e}");
    let d = e.diagnostics[0].clone();
    assert_eq!(
        (d.line, d.col, d.field.as_str()),
        (line, col, field),
        "wrong place:\n{e}"
    );
    assert!(d.message.contains(needle), "no {needle:?} in:\n{e}");
    d
}

/// A directory of its own for a test that needs files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-config-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(name)
}

// ---------------------------------------------------------------------------
// Good configs
// ---------------------------------------------------------------------------

const GOOD: &str = r#"
[workers]
cores = [1, 2]
control_core = 0
pool_size = 4096

[[vrf]]
name = "MAIN"
table = 1
rd = "65000:1"

[[interface]]
name = "gen0"
vrf = "MAIN"
addresses = ["10.1.0.1/24"]
gen = { dst = "10.2.0.2", dst_count = 16, rate = "10Mpps" }

[[interface]]
name = "gen1"
addresses = ["10.2.0.1/24", "10.3.0.1/24"]
mac = "02:00:00:00:00:aa"
mtu = 9000
mem = { link = "l1", ring = 4096 }

[[interface]]
name = "peer"
mem = { link = "l1" }

[[interface]]
name = "outside"
mem = { link = "lab" }

[[interface]]
name = "cap0"
pcap = { rx = "in.pcap", tx = "out.pcap" }

[[interface]]
name = "veth"
af_packet = { iface = "veth0" }

[[route]]
prefix = "10.9.0.0/16"
via = "10.2.0.2"

[[route]]
vrf = "MAIN"
prefix = "0.0.0.0/0"
action = "reject"
distance = 250

[[neighbor]]
interface = "gen1"
address = "10.2.0.2"
mac = "02:00:00:00:02:02"
"#;

#[test]
fn good_config_resolves_with_defaults() {
    let dir = scratch("good");
    std::fs::write(dir.join("in.pcap"), b"").unwrap();
    let path = dir.join("weir.toml");
    std::fs::write(&path, GOOD).unwrap();
    let c = Config::load_with(&path, &ENV).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(c.path, path);
    assert_eq!(c.workers.cores, [1, 2]);
    assert_eq!(c.workers.control_core, Some(0));
    assert_eq!(c.workers.pool_size, 4096);

    // VRFs: the default one first, at index 0.
    assert_eq!(c.vrfs.len(), 2);
    assert_eq!(
        (c.vrfs[0].name.as_str(), c.vrfs[0].table, c.vrfs[0].rd),
        ("default", 0, None)
    );
    assert_eq!(c.vrfs[1].name, "MAIN");
    assert_eq!(c.vrfs[1].table, 1);
    assert_eq!(
        c.vrfs[1].rd,
        Some(RouteDistinguisher::As2 {
            asn: 65000,
            number: 1
        })
    );
    assert_eq!(c.vrf_index("MAIN"), Some(1));
    assert_eq!(c.vrf_index("default"), Some(0));
    assert_eq!(c.vrf_index("nope"), None);

    // Interfaces: derived MACs from the index, default VRF and MTU.
    let g0 = &c.interfaces[0];
    assert_eq!(g0.vrf, 1);
    assert_eq!(g0.mac, [0x02, 0x77, 0x65, 0, 0, 1]);
    assert_eq!(g0.mtu, 1500);
    assert_eq!(
        g0.addresses,
        [IfAddr {
            addr: Ipv4Addr::new(10, 1, 0, 1),
            len: 24
        }]
    );
    let Driver::Gen(g) = &g0.driver else {
        panic!("{:?}", g0.driver)
    };
    assert_eq!(g.src, Ipv4Addr::new(10, 1, 0, 2), "first address + 1");
    assert_eq!(
        (g.src_count, g.dst, g.dst_count),
        (1, Ipv4Addr::new(10, 2, 0, 2), 16)
    );
    assert_eq!(
        (g.src_port, g.src_port_count, g.dst_port, g.dst_port_count),
        (1024, 1, 5001, 1)
    );
    assert_eq!(g.frame_size, FrameSize::Fixed(64));
    assert_eq!(g.rate_pps, Some(10_000_000));
    assert_eq!((g.vlan, g.count, g.arp_reply), (None, None, true));

    let g1 = &c.interfaces[1];
    assert_eq!((g1.vrf, g1.mac, g1.mtu), (0, [2, 0, 0, 0, 0, 0xaa], 9000));
    assert_eq!(c.interfaces[2].mac, [0x02, 0x77, 0x65, 0, 0, 3]);

    // mem: joined pairs, an external endpoint, one ring size per link.
    let mem = |i: usize| match &c.interfaces[i].driver {
        Driver::Mem(m) => m.clone(),
        d => panic!("{d:?}"),
    };
    assert_eq!((mem(1).peer, mem(1).ring), (Some(2), 4096));
    assert_eq!((mem(2).peer, mem(2).ring), (Some(1), 4096));
    assert_eq!(
        (mem(3).link.as_str(), mem(3).peer, mem(3).ring),
        ("lab", None, 1024)
    );

    // pcap: paths relative to the config's directory.
    let Driver::Pcap(p) = &c.interfaces[4].driver else {
        panic!()
    };
    assert_eq!(p.rx.as_deref(), Some(dir.join("in.pcap").as_path()));
    assert_eq!(p.tx.as_deref(), Some(dir.join("out.pcap").as_path()));
    assert_eq!((p.repeat, p.deterministic), (Repeat::Times(1), false));

    let Driver::AfPacket(a) = &c.interfaces[5].driver else {
        panic!()
    };
    assert_eq!(
        (a.iface.as_str(), a.queues, a.fanout_group, a.promisc),
        ("veth0", None, None, true)
    );
    assert_eq!(c.interface_index("veth"), Some(5));
    assert_eq!(c.interface_index("nope"), None);

    // Routes and neighbors.
    let r = &c.routes[0];
    assert_eq!(
        (r.vrf, r.prefix, r.len),
        (0, Ipv4Addr::new(10, 9, 0, 0), 16)
    );
    assert_eq!(
        (r.via, r.interface),
        (Some(Ipv4Addr::new(10, 2, 0, 2)), None)
    );
    assert_eq!((r.action, r.distance), (RouteAction::Forward, 1));
    let r = &c.routes[1];
    assert_eq!(
        (r.vrf, r.len, r.action, r.distance),
        (1, 0, RouteAction::Reject, 250)
    );
    let n = &c.neighbors[0];
    assert_eq!(
        (n.interface, n.address, n.mac),
        (1, Ipv4Addr::new(10, 2, 0, 2), [2, 0, 0, 0, 2, 2])
    );

    // Connected routes come from the addresses.
    let connected: Vec<_> = c
        .connected_routes()
        .iter()
        .map(|r| (r.vrf, r.prefix.to_string(), r.len, r.interface))
        .collect();
    assert_eq!(
        connected,
        [
            (1, "10.1.0.0".into(), 24, 0),
            (0, "10.2.0.0".into(), 24, 1),
            (0, "10.3.0.0".into(), 24, 1)
        ]
    );

    // Serializable (for JSON output).
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["interfaces"][0]["mac"], "02:77:65:00:00:01");
    assert_eq!(json["vrfs"][1]["rd"], "65000:1");
    assert_eq!(json["interfaces"][0]["driver"]["gen"]["dst"], "10.2.0.2");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn default_workers() {
    let text = "[[interface]]\nname = \"m\"\nmem = { link = \"l\" }\n";
    let c = ok(text);
    assert_eq!(
        (c.workers.cores.as_slice(), c.workers.control_core),
        (&[3][..], Some(0))
    );
    assert_eq!(c.workers.pool_size, 16384);
    let c = Config::from_str_with(text, Path::new("t.toml"), &Env { cpus: 1 }).unwrap();
    assert_eq!(
        (c.workers.cores.as_slice(), c.workers.control_core),
        (&[0][..], None)
    );
    // [workers] with cores but no control_core: the control thread floats.
    let c = ok("[workers]\ncores = [2]\n");
    assert_eq!(
        (c.workers.cores.as_slice(), c.workers.control_core),
        (&[2][..], None)
    );
    // An empty file is a valid (empty) router.
    let c = ok("");
    assert_eq!(c.vrfs.len(), 1);
    assert!(c.interfaces.is_empty());
}

#[test]
fn same_subnet_in_two_vrfs_is_accepted() {
    let c = ok(r#"
[[vrf]]
name = "A"
table = 1

[[vrf]]
name = "B"
table = 2

[[interface]]
name = "a0"
vrf = "A"
addresses = ["10.1.0.1/24"]
mem = { link = "x" }

[[interface]]
name = "b0"
vrf = "B"
addresses = ["10.1.0.1/24"]
mem = { link = "x" }
"#);
    assert_eq!((c.interfaces[0].vrf, c.interfaces[1].vrf), (1, 2));
}

#[test]
fn table_syntaxes_for_drivers() {
    // A driver as a sub-table, and as dotted keys.
    let c = ok(r#"
[[interface]]
name = "g"
addresses = ["10.1.0.1/24"]
[interface.gen]
dst = "10.2.0.2"
frame_size = "imix"
rate = 1000
vlan = 10
count = 5

[[interface]]
name = "p"
pcap.tx = "out.pcap"
pcap.repeat = "forever"
pcap.deterministic = true
"#);
    let Driver::Gen(g) = &c.interfaces[0].driver else {
        panic!()
    };
    assert_eq!(
        (g.frame_size, g.rate_pps, g.vlan, g.count),
        (FrameSize::Imix, Some(1000), Some(10), Some(5))
    );
    let Driver::Pcap(p) = &c.interfaces[1].driver else {
        panic!()
    };
    assert_eq!(
        (p.rx.clone(), p.tx.clone()),
        (None, Some(PathBuf::from("out.pcap")))
    );
    assert_eq!((p.repeat, p.deterministic), (Repeat::Forever, true));
}

#[test]
fn default_vrf_may_be_declared_for_its_rd() {
    let c = ok("[[vrf]]\nname = \"default\"\ntable = 0\nrd = \"192.0.2.1:7\"\n");
    assert_eq!(c.vrfs.len(), 1);
    assert_eq!(c.vrfs[0].rd.unwrap().to_string(), "192.0.2.1:7");
    let c = ok("[[vrf]]\nname = \"default\"\nrd = \"4200000000:7\"\n");
    assert_eq!(
        c.vrfs[0].rd,
        Some(RouteDistinguisher::As4 {
            asn: 4_200_000_000,
            number: 7
        })
    );
    one_error(
        "[[vrf]]\nname = \"default\"\n[[vrf]]\nname = \"default\"\n",
        4,
        8,
        "vrf[1] (default).name",
        "duplicate VRF name \"default\" (first defined at line 2)",
    );
}

#[test]
fn display_shows_everything_with_connected_routes() {
    let dir = scratch("display");
    std::fs::write(dir.join("in.pcap"), b"").unwrap();
    let c = Config::from_str_with(GOOD, &dir.join("weir.toml"), &ENV).unwrap();
    let text = c.to_string();
    for needle in [
        "workers",
        "  cores         1, 2",
        "  control core  0",
        "vrf default (table 0)",
        "vrf MAIN (table 1, rd 65000:1)",
        "  interface gen0",
        "    mac        02:77:65:00:00:01",
        "    driver     gen src=10.1.0.2 src_count=1 dst=10.2.0.2 dst_count=16",
        "rate=10000000pps",
        "    driver     mem link=l1 ring=4096 peer=peer",
        "    driver     mem link=lab ring=1024 peer=external",
        "    prefix       distance  source     next hop",
        "    10.1.0.0/24  0         connected  dev gen0",
        "    0.0.0.0/0    250       static     reject",
        "    10.2.0.0/24  0         connected  dev gen1",
        "    10.3.0.0/24  0         connected  dev gen1",
        "    10.9.0.0/16  1         static     via 10.2.0.2",
        "    10.2.0.2  02:00:00:00:02:02  gen1",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    // Stable: the same config prints the same text, with no trailing spaces.
    assert_eq!(text, c.clone().to_string());
    assert!(text.lines().all(|l| !l.ends_with(' ')), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// Format of errors
// ---------------------------------------------------------------------------

#[test]
fn error_format_is_file_line_col_field_message() {
    let e = errors("[[vrf]]\nname = \"MAIN\"\ntable = 1\n\n[[interface]]\nname = \"gen0\"\nvrf = \"FOO\"\nmem = { link = \"x\" }\n");
    assert_eq!(
        e.to_string(),
        "t.toml:7:7: interface[0] (gen0).vrf: unknown VRF \"FOO\" (defined: default, MAIN)\n\
         1 error; nothing was applied"
    );
}

#[test]
fn unreadable_file_names_the_file() {
    let e = Config::load_with(Path::new("/nonexistent/weir.toml"), &ENV).unwrap_err();
    assert_eq!(e.diagnostics.len(), 1);
    let d = &e.diagnostics[0];
    assert_eq!((d.line, d.col), (0, 0));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/weir.toml: cannot read config file:"),
        "{e}"
    );
}

#[test]
fn several_errors_are_all_reported() {
    let path = fixture("many-errors.toml");
    let e = Config::load_with(&path, &ENV).unwrap_err();
    let got: Vec<(usize, usize, &str)> = e
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.field.as_str()))
        .collect();
    let want = [
        (5, 13, "workers.cores[1]"),
        (5, 16, "workers.cores[2]"),
        (6, 16, "workers.control_core"),
        (7, 13, "workers.pool_size"),
        (12, 6, "vrf[0] (MAIN).rd"),
        (15, 8, "vrf[1] (MAIN).name"),
        (16, 9, "vrf[1] (MAIN).table"),
        (20, 9, "vrf[2] (default).table"),
        (24, 7, "interface[0] (gen0).mac"),
        (26, 7, "interface[0] (gen0).mtu"),
        (27, 39, "interface[0] (gen0).gen.dst_count"),
        (27, 55, "interface[0] (gen0).gen.frame_size"),
        (27, 68, "interface[0] (gen0).gen.vlan"),
        (27, 81, "interface[0] (gen0).gen.rate"),
        (31, 7, "interface[1] (gen1).vrf"),
        (32, 29, "interface[1] (gen1).addresses[1]"),
        (33, 1, "interface[1] (gen1).colour"),
        (35, 1, "interface[1] (gen1).mem"),
        (38, 8, "interface[2] (this-name-is-far-too-long).name"),
        (39, 15, "interface[2] (this-name-is-far-too-long).pcap.rx"),
        (42, 10, "route[0] (10.9.1.0/16).prefix"),
        (43, 7, "route[0] (10.9.1.0/16).via"),
        (48, 13, "route[1] (10.8.0.0/16).interface"),
        (50, 1, "route[2] (10.7.0.0/16)"),
        (56, 7, "route[3] (10.6.0.0/16).via"),
        (59, 13, "neighbor[0] (10.2.0.2).interface"),
        (65, 11, "neighbor[1] (10.5.0.2).address"),
        (66, 7, "neighbor[1] (10.5.0.2).mac"),
    ];
    assert_eq!(got, want, "\n{e}");
    assert!(e.diagnostics.iter().all(|d| d.file == path));
    assert!(
        e.to_string().ends_with("\n28 errors; nothing was applied"),
        "{e}"
    );
}

#[test]
fn type_errors_and_unknown_keys_are_all_reported() {
    let e = Config::load_with(&fixture("bad-types.toml"), &ENV).unwrap_err();
    let got: Vec<String> = e
        .diagnostics
        .iter()
        .map(|d| format!("{}:{} {}: {}", d.line, d.col, d.field, d.message))
        .collect();
    let want = [
        "2:1 vrfs: unknown key \"vrfs\"; did you mean \"vrf\"? (allowed: workers, dpdk, vrf, interface, tunnel, route, neighbor, policy, control)",
        "3:9 route: expected an array of tables ([[route]]), found a table",
        "6:9 workers.cores: expected an array of integers, found an integer",
        "7:1 workers.pool: unknown key \"pool\"; did you mean \"pool_size\"? (allowed: cores, control_core, pool_size)",
        "10:8 interface[0].name: expected a string, found an integer",
        "11:29 interface[0].addresses[1]: expected a string, found an integer",
        "12:7 interface[0].mtu: expected an integer, found a string",
        "13:39 interface[0].gen.arp_reply: expected true or false, found a string",
        "13:46 interface[0].gen.colour: unknown key \"colour\" (allowed: src, src_count, dst, dst_count, src_port, src_port_count, dst_port, dst_port_count, frame_size, rate, vlan, count, arp_reply)",
    ];
    assert_eq!(got, want, "\n{e}");
}

// ---------------------------------------------------------------------------
// One test per kind of mistake
// ---------------------------------------------------------------------------

#[test]
fn syntax_error() {
    let d = one_error(
        "[[interface]]\nname = \"gen0\nmtu = 1500\n",
        2,
        13,
        "",
        "TOML syntax error",
    );
    assert_eq!(d.field, "");
    one_error(
        "[[interface]]\nname = \"a\"\nname = \"b\"\n",
        3,
        1,
        "",
        "duplicate key",
    );
}

#[test]
fn type_error() {
    one_error(
        "[[interface]]\nname = \"gen0\"\nmtu = \"big\"\nmem = { link = \"x\" }\n",
        3,
        7,
        "interface[0] (gen0).mtu",
        "expected an integer, found a string",
    );
}

#[test]
fn unknown_keys() {
    one_error(
        "[[interface]]\nname = \"gen0\"\nmem = { link = \"x\", rings = 64 }\n",
        3,
        21,
        "interface[0] (gen0).mem.rings",
        "unknown key \"rings\"; did you mean \"ring\"? (allowed: link, ring)",
    );
    one_error(
        "[[route]]\nprefix = \"10.0.0.0/8\"\naction = \"reject\"\nmetric = 5\n",
        4,
        1,
        "route[0] (10.0.0.0/8).metric",
        "(allowed: vrf, prefix, via, interface, next_hop_vrf, action, distance)",
    );
    one_error(
        "[[neighbour]]\ninterface = \"x\"\n",
        1,
        3,
        "neighbour",
        "unknown key \"neighbour\"; did you mean \"neighbor\"?",
    );
}

#[test]
fn duplicate_vrf_name() {
    one_error(
        "[[vrf]]\nname = \"A\"\ntable = 1\n[[vrf]]\nname = \"A\"\ntable = 2\n",
        5,
        8,
        "vrf[1] (A).name",
        "duplicate VRF name \"A\" (first defined at line 2)",
    );
}

#[test]
fn duplicate_vrf_table() {
    one_error(
        "[[vrf]]\nname = \"A\"\ntable = 7\n[[vrf]]\nname = \"B\"\ntable = 7\n",
        6,
        9,
        "vrf[1] (B).table",
        "table 7 is already used by VRF \"A\" (line 3)",
    );
}

#[test]
fn vrf_table_range_and_missing() {
    one_error(
        "[[vrf]]\nname = \"A\"\ntable = 0\n",
        3,
        9,
        "vrf[0] (A).table",
        "table 0 is the default VRF's",
    );
    one_error(
        "[[vrf]]\nname = \"A\"\ntable = 70000\n",
        3,
        9,
        "vrf[0] (A).table",
        "70000 is out of range (1..=65535)",
    );
    one_error(
        "[[vrf]]\nname = \"A\"\n",
        1,
        1,
        "vrf[0] (A).table",
        "missing",
    );
}

#[test]
fn default_vrf_redefined_with_another_table() {
    one_error(
        "[[vrf]]\nname = \"default\"\ntable = 3\n",
        3,
        9,
        "vrf[0] (default).table",
        "the VRF named \"default\" is the built-in one with table 0, not 3",
    );
}

#[test]
fn bad_route_distinguisher() {
    for (rd, needle) in [
        ("65000", "expected ASN:N or IPv4:N"),
        ("4200000000:70000", "at most 65535"),
        ("192.0.2.1:70000", "at most 65535"),
        ("300.0.2.1:1", "\"300.0.2.1\" is not an IPv4 address"),
        ("x:1", "expected ASN:N or IPv4:N"),
    ] {
        one_error(
            &format!("[[vrf]]\nname = \"A\"\ntable = 1\nrd = \"{rd}\"\n"),
            4,
            6,
            "vrf[0] (A).rd",
            needle,
        );
    }
}

#[test]
fn duplicate_interface_name() {
    one_error(
        "[[interface]]\nname = \"gen0\"\nmem = { link = \"a\" }\n[[interface]]\nname = \"gen0\"\nmem = { link = \"b\" }\n",
        5,
        8,
        "interface[1] (gen0).name",
        "duplicate interface name \"gen0\" (first defined at line 2)",
    );
}

#[test]
fn bad_interface_name() {
    one_error(
        "[[interface]]\nname = \"gen 0\"\nmem = { link = \"a\" }\n",
        2,
        8,
        "interface[0] (gen 0).name",
        "contains ' '",
    );
    one_error(
        "[[interface]]\nname = \"abcdefghijklmnop\"\nmem = { link = \"a\" }\n",
        2,
        8,
        "interface[0] (abcdefghijklmnop).name",
        "16 characters long; the limit is 15",
    );
    one_error(
        "[[interface]]\nmem = { link = \"a\" }\n",
        1,
        1,
        "interface[0].name",
        "missing",
    );
}

#[test]
fn unknown_vrf_lists_the_defined_ones() {
    one_error(
        "[[vrf]]\nname = \"MAIN\"\ntable = 1\n[[vrf]]\nname = \"BGP\"\ntable = 2\n[[interface]]\nname = \"gen1\"\nvrf = \"FOO\"\nmem = { link = \"a\" }\n",
        9,
        7,
        "interface[0] (gen1).vrf",
        "unknown VRF \"FOO\" (defined: default, MAIN, BGP)",
    );
}

#[test]
fn bad_and_multicast_mac() {
    let iface = |mac: &str| {
        format!("[[interface]]\nname = \"g\"\nmac = \"{mac}\"\nmem = {{ link = \"a\" }}\n")
    };
    one_error(
        &iface("02:00:00:00:01"),
        3,
        7,
        "interface[0] (g).mac",
        "invalid MAC address \"02:00:00:00:01\"",
    );
    one_error(
        &iface("02:00:00:00:00:0g"),
        3,
        7,
        "interface[0] (g).mac",
        "invalid MAC address",
    );
    one_error(
        &iface("03:00:00:00:00:01"),
        3,
        7,
        "interface[0] (g).mac",
        "multicast MAC",
    );
    one_error(
        &iface("ff:ff:ff:ff:ff:ff"),
        3,
        7,
        "interface[0] (g).mac",
        "multicast MAC",
    );
    one_error(
        &iface("00:00:00:00:00:00"),
        3,
        7,
        "interface[0] (g).mac",
        "not a usable MAC",
    );
}

#[test]
fn duplicate_mac() {
    // Two configured MACs: reported at the second.
    one_error(
        "[[interface]]\nname = \"a\"\nmac = \"02:00:00:00:00:01\"\nmem = { link = \"x\" }\n[[interface]]\nname = \"b\"\nmac = \"02:00:00:00:00:01\"\nmem = { link = \"x\" }\n",
        7,
        7,
        "interface[1] (b).mac",
        "MAC 02:00:00:00:00:01 is also interface \"a\"'s",
    );
    // A configured MAC equal to another interface's derived one: reported
    // at the configured one, even when it comes first.
    one_error(
        "[[interface]]\nname = \"a\"\nmac = \"02:77:65:00:00:02\"\nmem = { link = \"x\" }\n[[interface]]\nname = \"b\"\nmem = { link = \"x\" }\n",
        3,
        7,
        "interface[0] (a).mac",
        "is also interface \"b\"'s (derived)",
    );
}

#[test]
fn bad_interface_address() {
    let iface = |a: &str| {
        format!("[[interface]]\nname = \"g\"\naddresses = [\"10.0.0.1/8\", \"{a}\"]\nmem = {{ link = \"a\" }}\n")
    };
    let f = "interface[0] (g).addresses[1]";
    one_error(&iface("10.1.0.1"), 3, 28, f, "expected ADDRESS/LENGTH");
    one_error(
        &iface("10.1.0.256/24"),
        3,
        28,
        f,
        "invalid IPv4 address \"10.1.0.256\"",
    );
    one_error(
        &iface("192.168.0.1/33"),
        3,
        28,
        f,
        "invalid prefix length \"33\"",
    );
    one_error(&iface("192.168.0.1/0"), 3, 28, f, "/1 to /32");
    one_error(
        &iface("192.168.0.0/24"),
        3,
        28,
        f,
        "is the network address of 192.168.0.0/24",
    );
    one_error(
        &iface("192.168.0.255/24"),
        3,
        28,
        f,
        "is the broadcast address",
    );
    one_error(&iface("224.0.0.1/24"), 3, 28, f, "multicast");
}

#[test]
fn overlapping_addresses_in_one_vrf() {
    one_error(
        r#"[[interface]]
name = "gen0"
addresses = ["10.1.0.1/24"]
mem = { link = "a" }

[[interface]]
name = "gen1"
addresses = ["192.168.1.1/24", "10.1.0.9/16"]
mem = { link = "a" }
"#,
        8,
        32,
        "interface[1] (gen1).addresses[1]",
        "10.1.0.9/16 overlaps 10.1.0.1/24 on gen0 in VRF \"default\"",
    );
    // On the same interface too.
    one_error(
        "[[interface]]\nname = \"g\"\naddresses = [\"10.1.0.1/24\", \"10.1.0.2/24\"]\nmem = { link = \"a\" }\n",
        3,
        29,
        "interface[0] (g).addresses[1]",
        "overlaps 10.1.0.1/24 on the same interface",
    );
}

#[test]
fn mtu_range() {
    for mtu in ["67", "9217"] {
        one_error(
            &format!("[[interface]]\nname = \"g\"\nmtu = {mtu}\nmem = {{ link = \"a\" }}\n"),
            3,
            7,
            "interface[0] (g).mtu",
            &format!("{mtu} is out of range (68..=9216)"),
        );
    }
}

#[test]
fn zero_or_several_drivers() {
    one_error(
        "\n[[interface]]\nname = \"g\"\n",
        2,
        1,
        "interface[0] (g)",
        "no driver: give exactly one of gen, mem, pcap, af_packet, dpdk",
    );
    one_error(
        "[[interface]]\nname = \"g\"\nmem = { link = \"a\" }\naf_packet = { iface = \"eth0\" }\n",
        4,
        1,
        "interface[0] (g).af_packet",
        "a second driver (\"af_packet\" after \"mem\"): an interface has exactly one of gen, \
            mem, pcap, af_packet, dpdk",
    );
    one_error(
        "[[interface]]\nname = \"g\"\ndpdk = { device = \"net_null0\" }\naf_packet = { iface = \"eth0\" }\n",
        4,
        1,
        "interface[0] (g).af_packet",
        "a second driver (\"af_packet\" after \"dpdk\")",
    );
    one_error(
        "[[interface]]\nname = \"g\"\ngen = 5\n",
        3,
        7,
        "interface[0] (g).gen",
        "expected a table, found an integer",
    );
}

const GEN_HEAD: &str = "[[interface]]\nname = \"g\"\naddresses = [\"10.1.0.1/24\"]\n";

fn gen(opts: &str) -> String {
    format!("{GEN_HEAD}gen = {{ dst = \"10.2.0.2\", {opts} }}\n")
}

#[test]
fn gen_ranges() {
    // Line 4 is `gen = { dst = "10.2.0.2", ` (26 characters) then the option.
    let f = |k: &str| format!("interface[0] (g).gen.{k}");
    one_error(
        &gen("src = \"255.255.255.250\", src_count = 7"),
        4,
        64,
        &f("src_count"),
        "7 addresses from 255.255.255.250 run past 255.255.255.255",
    );
    ok(&gen("src = \"255.255.255.250\", src_count = 6"));
    one_error(
        &gen("dst_count = 0"),
        4,
        39,
        &f("dst_count"),
        "0 is out of range",
    );
    one_error(
        &gen("src_port = 65000, src_port_count = 600"),
        4,
        62,
        &f("src_port_count"),
        "600 ports from 65000 run past 65535",
    );
    ok(&gen("src_port = 65000, src_port_count = 536"));
    one_error(
        &gen("dst_port = 70000"),
        4,
        38,
        &f("dst_port"),
        "70000 is out of range (0..=65535)",
    );
    one_error(
        &gen("frame_size = 63"),
        4,
        40,
        &f("frame_size"),
        "(64..=1518), or \"imix\"",
    );
    one_error(
        &gen("frame_size = 1519"),
        4,
        40,
        &f("frame_size"),
        "(64..=1518)",
    );
    one_error(
        &gen("frame_size = \"jumbo\""),
        4,
        40,
        &f("frame_size"),
        "\"jumbo\": expected a size",
    );
    one_error(
        &gen("vlan = 0"),
        4,
        34,
        &f("vlan"),
        "0 is out of range (1..=4094)",
    );
    one_error(
        &gen("vlan = 4095"),
        4,
        34,
        &f("vlan"),
        "4095 is out of range (1..=4094)",
    );
    one_error(
        &gen("rate = \"10Mbps\""),
        4,
        34,
        &f("rate"),
        "invalid rate \"10Mbps\"",
    );
    one_error(&gen("rate = 0"), 4, 34, &f("rate"), "at least 1 pps");
    one_error(&gen("count = 0"), 4, 35, &f("count"), "count is at least 1");
    let c = ok(&gen("rate = \"line\", frame_size = 1518"));
    let Driver::Gen(g) = &c.interfaces[0].driver else {
        panic!()
    };
    assert_eq!((g.rate_pps, g.frame_size), (None, FrameSize::Fixed(1518)));
}

#[test]
fn gen_required_and_defaulted_fields() {
    one_error(
        &format!("{GEN_HEAD}gen = {{ rate = 5 }}\n"),
        4,
        7,
        "interface[0] (g).gen.dst",
        "missing",
    );
    one_error(
        "[[interface]]\nname = \"g\"\ngen = { dst = \"10.2.0.2\" }\n",
        3,
        7,
        "interface[0] (g).gen.src",
        "no default: the interface has no address",
    );
    one_error(
        "[[interface]]\nname = \"g\"\naddresses = [\"10.1.0.254/24\"]\ngen = { dst = \"10.2.0.2\" }\n",
        4,
        7,
        "interface[0] (g).gen.src",
        "the address after 10.1.0.254 is not a host in 10.1.0.0/24",
    );
    one_error(
        &gen("src = \"10.1.0\""),
        4,
        33,
        "interface[0] (g).gen.src",
        "invalid IPv4 address",
    );
}

#[test]
fn mem_link_with_more_than_two_ends() {
    one_error(
        r#"[[interface]]
name = "a"
mem = { link = "l1" }
[[interface]]
name = "b"
mem = { link = "l1" }
[[interface]]
name = "c"
mem = { link = "l1" }
"#,
        9,
        16,
        "interface[2] (c).mem.link",
        "mem link \"l1\" already joins a and b; a link has two ends",
    );
}

#[test]
fn mem_ring_size() {
    one_error(
        "[[interface]]\nname = \"a\"\nmem = { link = \"l1\", ring = 1000 }\n",
        3,
        29,
        "interface[0] (a).mem.ring",
        "1000: a ring size is a power of two from 32 to 65536",
    );
    one_error(
        "[[interface]]\nname = \"a\"\nmem = { link = \"l1\", ring = 16 }\n",
        3,
        29,
        "interface[0] (a).mem.ring",
        "power of two from 32",
    );
    one_error(
        "[[interface]]\nname = \"a\"\nmem = { link = \"l\", ring = 64 }\n[[interface]]\nname = \"b\"\nmem = { link = \"l\", ring = 128 }\n",
        6,
        28,
        "interface[1] (b).mem.ring",
        "ring 128 differs from 64 at the other end of link \"l\" (a)",
    );
}

#[test]
fn pcap_rx_must_exist() {
    let dir = scratch("pcap");
    let path = dir.join("weir.toml");
    let text = "[[interface]]\nname = \"p\"\npcap = { rx = \"missing.pcap\", tx = \"out.pcap\" }\n";
    let e = Config::from_str_with(text, &path, &ENV).unwrap_err();
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    let d = &e.diagnostics[0];
    assert_eq!(
        (d.line, d.col, d.field.as_str()),
        (3, 15, "interface[0] (p).pcap.rx")
    );
    assert_eq!(
        d.message,
        format!("file not found: {}", dir.join("missing.pcap").display())
    );
    std::fs::write(dir.join("missing.pcap"), b"").unwrap();
    Config::from_str_with(text, &path, &ENV).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pcap_needs_rx_or_tx_and_a_good_repeat() {
    one_error(
        "[[interface]]\nname = \"p\"\npcap = { deterministic = true }\n",
        3,
        8,
        "interface[0] (p).pcap",
        "needs rx, tx or both",
    );
    one_error(
        "[[interface]]\nname = \"p\"\npcap = { tx = \"o.pcap\", repeat = 0 }\n",
        3,
        34,
        "interface[0] (p).pcap.repeat",
        "0: expected a number of times (at least 1) or \"forever\"",
    );
    one_error(
        "[[interface]]\nname = \"p\"\npcap = { tx = \"no/such/dir/o.pcap\" }\n",
        3,
        15,
        "interface[0] (p).pcap.tx",
        "directory not found: no/such/dir",
    );
}

#[test]
fn af_packet_options() {
    one_error(
        "[[interface]]\nname = \"x\"\naf_packet = { queues = 1 }\n",
        3,
        13,
        "interface[0] (x).af_packet.iface",
        "missing",
    );
    one_error(
        "[[interface]]\nname = \"x\"\naf_packet = { iface = \"a/b\" }\n",
        3,
        23,
        "interface[0] (x).af_packet.iface",
        "is not a Linux interface name",
    );
    // One worker by default (ENV has 4 CPUs, default is one worker).
    one_error(
        "[[interface]]\nname = \"x\"\naf_packet = { iface = \"veth0\", queues = 2 }\n",
        3,
        41,
        "interface[0] (x).af_packet.queues",
        "2 queues, but there is 1 worker",
    );
    let c = ok("[workers]\ncores = [1, 2]\n[[interface]]\nname = \"x\"\naf_packet = { iface = \"veth0\", queues = 2, fanout_group = 9, promisc = false }\n");
    let Driver::AfPacket(a) = &c.interfaces[0].driver else {
        panic!()
    };
    assert_eq!(
        (a.queues, a.fanout_group, a.promisc),
        (Some(2), Some(9), false)
    );
}

const TWO_VRFS: &str = r#"[[vrf]]
name = "MAIN"
table = 1

[[interface]]
name = "gen0"
addresses = ["10.1.0.1/24"]
mem = { link = "a" }

[[interface]]
name = "gen1"
vrf = "MAIN"
addresses = ["10.2.0.1/24"]
mem = { link = "a" }
"#;

/// Line 16 onwards of a test config: the route or neighbor under test.
fn with(extra: &str) -> String {
    format!("{TWO_VRFS}\n{extra}")
}

#[test]
fn route_bad_prefix_and_host_bits() {
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0\"\nvia = \"10.1.0.2\"\n"),
        17,
        10,
        "route[0] (10.9.0.0).prefix",
        "expected ADDRESS/LENGTH",
    );
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/40\"\nvia = \"10.1.0.2\"\n"),
        17,
        10,
        "route[0] (10.9.0.0/40).prefix",
        "invalid prefix length \"40\"",
    );
    one_error(
        &with("[[route]]\nprefix = \"10.9.1.0/16\"\nvia = \"10.1.0.2\"\n"),
        17,
        10,
        "route[0] (10.9.1.0/16).prefix",
        "host bits set in 10.9.1.0/16; did you mean 10.9.0.0/16?",
    );
    one_error(
        &with("[[route]]\nvia = \"10.1.0.2\"\n"),
        16,
        1,
        "route[0].prefix",
        "missing",
    );
}

#[test]
fn route_unknown_vrf() {
    one_error(
        &with("[[route]]\nvrf = \"NOPE\"\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.2\"\n"),
        17,
        7,
        "route[0] (10.9.0.0/16).vrf",
        "unknown VRF \"NOPE\" (defined: default, MAIN)",
    );
}

#[test]
fn route_unknown_interface() {
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\ninterface = \"gen7\"\n"),
        18,
        13,
        "route[0] (10.9.0.0/16).interface",
        "unknown interface \"gen7\" (defined: gen0, gen1)",
    );
}

#[test]
fn route_interface_in_another_vrf() {
    one_error(
        &with("[[route]]\nvrf = \"MAIN\"\nprefix = \"10.9.0.0/16\"\ninterface = \"gen0\"\n"),
        19,
        13,
        "route[0] (10.9.0.0/16).interface",
        "interface \"gen0\" is in VRF \"default\", not in the route's VRF \"MAIN\"",
    );
}

#[test]
fn route_actions() {
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\n"),
        16,
        1,
        "route[0] (10.9.0.0/16)",
        "a forward route needs via, interface or both",
    );
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\naction = \"blackhole\"\nvia = \"10.1.0.2\"\n"),
        19,
        7,
        "route[0] (10.9.0.0/16).via",
        "a blackhole route drops its packets and takes no via",
    );
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\naction = \"reject\"\ninterface = \"gen0\"\n"),
        19,
        13,
        "route[0] (10.9.0.0/16).interface",
        "a reject route drops its packets and takes no interface",
    );
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\naction = \"drop\"\n"),
        18,
        10,
        "route[0] (10.9.0.0/16).action",
        "unknown action \"drop\" (expected forward, blackhole or reject)",
    );
    let c = ok(&with("[[route]]\nprefix = \"10.9.0.0/16\"\ninterface = \"gen0\"\n[[route]]\nvrf = \"MAIN\"\nprefix = \"10.9.0.0/16\"\naction = \"blackhole\"\n"));
    assert_eq!(c.routes[0].interface, Some(0));
    assert_eq!(
        (c.routes[1].vrf, c.routes[1].action),
        (1, RouteAction::Blackhole)
    );
}

#[test]
fn route_duplicate_prefix_and_distance() {
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.2\"\n[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.3\"\n"),
        20,
        10,
        "route[1] (10.9.0.0/16).prefix",
        "duplicate route: route[0] (10.9.0.0/16) (line 17) has the same prefix and distance 1 in VRF \"default\"",
    );
    // Another distance (a floating static) or another VRF is fine.
    ok(&with("[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.2\"\n[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.3\"\ndistance = 5\n[[route]]\nvrf = \"MAIN\"\nprefix = \"10.9.0.0/16\"\nvia = \"10.2.0.2\"\n"));
}

#[test]
fn route_via_own_address() {
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.1\"\n"),
        18,
        7,
        "route[0] (10.9.0.0/16).via",
        "10.1.0.1 is this router's own address (on gen0)",
    );
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0\"\n"),
        18,
        7,
        "route[0] (10.9.0.0/16).via",
        "invalid IPv4 address \"10.1.0\"",
    );
    // gen1's address is in MAIN: a next hop in the default VRF may have it.
    ok(&with(
        "[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.2.0.1\"\n",
    ));
}

#[test]
fn route_distance_range() {
    one_error(
        &with("[[route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.2\"\ndistance = 0\n"),
        19,
        12,
        "route[0] (10.9.0.0/16).distance",
        "0 is out of range (1..=255)",
    );
}

#[test]
fn neighbor_unknown_interface() {
    one_error(
        &with("[[neighbor]]\ninterface = \"gen9\"\naddress = \"10.1.0.2\"\nmac = \"02:00:00:00:00:99\"\n"),
        17,
        13,
        "neighbor[0] (10.1.0.2).interface",
        "unknown interface \"gen9\" (defined: gen0, gen1)",
    );
}

#[test]
fn neighbor_address_outside_the_subnets() {
    one_error(
        &with("[[neighbor]]\ninterface = \"gen0\"\naddress = \"10.2.0.2\"\nmac = \"02:00:00:00:00:99\"\n"),
        18,
        11,
        "neighbor[0] (10.2.0.2).address",
        "10.2.0.2 is outside gen0's subnets (10.1.0.1/24)",
    );
    one_error(
        &with("[[neighbor]]\ninterface = \"gen0\"\naddress = \"10.1.0.1\"\nmac = \"02:00:00:00:00:99\"\n"),
        18,
        11,
        "neighbor[0] (10.1.0.1).address",
        "10.1.0.1 is gen0's own address",
    );
    one_error(
        &with("[[neighbor]]\ninterface = \"gen0\"\naddress = \"10.1.0.255\"\nmac = \"02:00:00:00:00:99\"\n"),
        18,
        11,
        "neighbor[0] (10.1.0.255).address",
        "broadcast address of 10.1.0.0/24",
    );
}

#[test]
fn neighbor_bad_mac_and_duplicates() {
    one_error(
        &with("[[neighbor]]\ninterface = \"gen0\"\naddress = \"10.1.0.2\"\nmac = \"01:00:00:00:00:99\"\n"),
        19,
        7,
        "neighbor[0] (10.1.0.2).mac",
        "multicast MAC",
    );
    one_error(
        &with("[[neighbor]]\ninterface = \"gen0\"\naddress = \"10.1.0.2\"\n"),
        16,
        1,
        "neighbor[0] (10.1.0.2).mac",
        "missing",
    );
    one_error(
        &with("[[neighbor]]\ninterface = \"gen0\"\naddress = \"10.1.0.2\"\nmac = \"02:00:00:00:00:99\"\n[[neighbor]]\ninterface = \"gen0\"\naddress = \"10.1.0.2\"\nmac = \"02:00:00:00:00:98\"\n"),
        22,
        11,
        "neighbor[1] (10.1.0.2).address",
        "duplicate neighbor: neighbor[0] (10.1.0.2) (line 18) already gives 10.1.0.2 on gen0",
    );
}

#[test]
fn workers_errors() {
    one_error("[workers]\ncores = []\n", 2, 9, "workers.cores", "empty");
    one_error(
        "[workers]\ncores = [1, 2, 1]\n",
        2,
        16,
        "workers.cores[2]",
        "core 1 is listed twice",
    );
    one_error(
        "[workers]\ncores = [1, 2]\ncontrol_core = 2\n",
        3,
        16,
        "workers.control_core",
        "core 2 is also a worker core",
    );
    one_error(
        "[workers]\ncores = [4]\n",
        2,
        10,
        "workers.cores[0]",
        "core 4 does not exist: this machine has 4 CPUs (0..=3)",
    );
    one_error(
        "[workers]\ncores = [1]\ncontrol_core = 7\n",
        3,
        16,
        "workers.control_core",
        "core 7 does not exist",
    );
    one_error(
        "[workers]\ncores = [-1]\n",
        2,
        10,
        "workers.cores[0]",
        "core -1 does not exist",
    );
    one_error(
        "[workers]\npool_size = 0\n",
        2,
        13,
        "workers.pool_size",
        "0 is out of range",
    );
    // Checked against the given machine, not this one.
    let text = "[workers]\ncores = [1, 2, 3]\n";
    Config::from_str_with(text, Path::new("t.toml"), &Env { cpus: 4 }).unwrap();
    let e = Config::from_str_with(text, Path::new("t.toml"), &Env { cpus: 2 }).unwrap_err();
    assert_eq!(e.diagnostics.len(), 2, "{e}");
    assert!(
        e.mentions("core 2 does not exist: this machine has 2 CPUs (0..=1)"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// DPDK: the [dpdk] section and the dpdk driver
// ---------------------------------------------------------------------------

const DPDK_GOOD: &str = r#"
[workers]
cores = [1, 2]
pool_size = 4096

[dpdk]
args = ["--log-level=lib.eal:debug", "--no-pci", "--huge-dir", "/mnt/huge 2m"]
no_huge = true
memory_mb = 512
file_prefix = "weir_t-1"
mbufs = 16384
mbuf_cache = 256

[[interface]]
name = "pcap0"
addresses = ["10.1.0.1/24"]
dpdk = { device = "net_pcap0,rx_pcap=in.pcap,infinite_rx=1", rx_desc = 64, tx_desc = 16384, promisc = false }

[[interface]]
name = "pcap1"
addresses = ["10.2.0.1/24"]
dpdk = { device = "net_pcap1,rx_pcap=caps/in.pcap,tx_pcap=caps/out.pcap,rx_iface=eth0" }

[[interface]]
name = "nic0"
dpdk = { device = "0000:03:00.0" }

[[interface]]
name = "nic1"
dpdk = { device = "AF:1F.7,rxq_cqe_comp_en=0" }

[[interface]]
name = "ring0"
dpdk.device = "net_ring0"

[[interface]]
name = "veth"
af_packet = { iface = "veth0" }
"#;

fn dpdk_of(c: &Config, i: usize) -> &DpdkPortOptions {
    match &c.interfaces[i].driver {
        Driver::Dpdk(d) => d,
        d => panic!("interface {i}: {d:?}"),
    }
}

#[test]
fn dpdk_good_config_resolves() {
    let dir = scratch("dpdk-good");
    std::fs::create_dir(dir.join("caps")).unwrap();
    std::fs::write(dir.join("in.pcap"), b"").unwrap();
    std::fs::write(dir.join("caps/in.pcap"), b"").unwrap();
    let path = dir.join("weir.toml");
    std::fs::write(&path, DPDK_GOOD).unwrap();
    let c = Config::load_with(&path, &ENV).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(
        c.dpdk,
        Some(DpdkOptions {
            args: vec![
                "--log-level=lib.eal:debug".into(),
                "--no-pci".into(),
                "--huge-dir".into(),
                "/mnt/huge 2m".into()
            ],
            no_huge: true,
            memory_mb: Some(512),
            file_prefix: Some("weir_t-1".into()),
            mbufs: Some(16384),
            mbuf_cache: Some(256),
        })
    );
    assert_eq!(c.dpdk_mbufs(), 16384, "[dpdk] mbufs wins over pool_size");
    assert!(c.uses_dpdk());

    // vdev paths: relative to the config's directory, made absolute; the
    // other arguments as they were.
    let p0 = dpdk_of(&c, 0);
    let rx = dir.join("in.pcap");
    assert!(rx.is_absolute());
    assert_eq!(
        p0,
        &DpdkPortOptions {
            device: format!("net_pcap0,rx_pcap={},infinite_rx=1", rx.display()),
            rx_desc: 64,
            tx_desc: 16384,
            promisc: false,
        }
    );
    assert_eq!(p0.device_name(), "net_pcap0");
    assert_eq!(
        p0.device_args(),
        format!("rx_pcap={},infinite_rx=1", rx.display())
    );
    assert!(!p0.is_pci());
    let p1 = dpdk_of(&c, 1);
    assert_eq!(
        p1.device,
        format!(
            "net_pcap1,rx_pcap={},tx_pcap={},rx_iface=eth0",
            dir.join("caps/in.pcap").display(),
            dir.join("caps/out.pcap").display()
        )
    );
    // Defaults: 1024 descriptors each way, promiscuous.
    assert_eq!((p1.rx_desc, p1.tx_desc, p1.promisc), (1024, 1024, true));

    // PCI addresses: in full, lower case; device arguments kept.
    let nic0 = dpdk_of(&c, 2);
    assert_eq!(
        (nic0.device.as_str(), nic0.device_name(), nic0.is_pci()),
        ("0000:03:00.0", "0000:03:00.0", true)
    );
    assert_eq!(nic0.device_args(), "");
    assert_eq!(dpdk_of(&c, 3).device, "0000:af:1f.7,rxq_cqe_comp_en=0");
    assert_eq!(dpdk_of(&c, 3).device_name(), "0000:af:1f.7");
    // Dotted keys work like an inline table.
    assert_eq!(dpdk_of(&c, 4).device, "net_ring0");
    // af_packet and dpdk side by side.
    assert_eq!(c.interfaces[5].driver.kind(), "af_packet");
    assert_eq!(c.interfaces[4].driver.kind(), "dpdk");

    // weir check output.
    let text = c.to_string();
    for needle in [
        "\ndpdk\n",
        "  eal args     --log-level=lib.eal:debug --no-pci --huge-dir \"/mnt/huge 2m\"\n",
        "  hugepages    no (--no-huge)\n",
        "  memory       512 MB\n",
        "  file prefix  weir_t-1\n",
        "  mbufs        16384 per pool\n",
        "  mbuf cache   256\n",
        &format!(
            "    driver     dpdk device=net_pcap0,rx_pcap={},infinite_rx=1 rx_desc=64 \
                tx_desc=16384 promisc=false\n",
            rx.display()
        ),
        "    driver     dpdk device=0000:03:00.0 rx_desc=1024 tx_desc=1024 promisc=true\n",
        "    driver     af_packet iface=veth0",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    assert!(text.lines().all(|l| !l.ends_with(' ')), "{text}");

    // JSON.
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["dpdk"]["file_prefix"], "weir_t-1");
    assert_eq!(
        json["interfaces"][2]["driver"]["dpdk"]["device"],
        "0000:03:00.0"
    );
    assert_eq!(json["interfaces"][2]["driver"]["dpdk"]["rx_desc"], 1024);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dpdk_paths_are_absolute_from_a_relative_config_path() {
    // As `weir check tests/configs/dpdk.toml` run from the crate's
    // directory (where cargo runs the tests) would load it.
    let rel = Path::new("tests/configs/dpdk.toml");
    assert!(rel.exists(), "tests do not run from the crate's directory");
    let c = Config::load_with(rel, &ENV).unwrap_or_else(|e| panic!("{e}"));
    let configs = std::env::current_dir().unwrap().join("tests/configs");
    let d = dpdk_of(&c, 0);
    assert_eq!(
        d.device,
        format!(
            "net_pcap0,rx_pcap={},infinite_rx=1",
            configs.join("dpdk-in.pcap").display()
        )
    );
    assert_eq!(
        dpdk_of(&c, 1).device,
        format!(
            "net_pcap1,rx_pcap={},tx_pcap={}",
            configs.join("dpdk-in.pcap").display(),
            configs.join("out.pcap").display()
        )
    );
    assert_eq!(
        (dpdk_of(&c, 1).rx_desc, dpdk_of(&c, 1).tx_desc),
        (512, 2048)
    );
    assert_eq!(dpdk_of(&c, 2).device, "0000:82:00.1");
    assert!(!dpdk_of(&c, 2).promisc);
    let opts = c.dpdk.as_ref().unwrap();
    assert_eq!(
        (opts.no_huge, opts.memory_mb, opts.file_prefix.as_deref()),
        (true, Some(512), Some("weir-test"))
    );
    // No mbufs in [dpdk]: the pools take the workers' pool size.
    assert_eq!((opts.mbufs, opts.mbuf_cache), (None, Some(128)));
    assert_eq!(c.dpdk_mbufs(), 8192);
    assert!(c
        .to_string()
        .contains("  mbufs        8192 per pool (pool size)\n"));
}

#[test]
fn dpdk_driver_without_a_dpdk_section() {
    let c = ok("[[interface]]\nname = \"d\"\ndpdk = { device = \"net_null0\" }\n");
    assert_eq!(c.dpdk, None);
    assert_eq!(c.dpdk_mbufs(), 16384);
    assert_eq!(
        dpdk_of(&c, 0),
        &DpdkPortOptions {
            device: "net_null0".into(),
            rx_desc: 1024,
            tx_desc: 1024,
            promisc: true,
        }
    );
    // weir check shows what the EAL will get: the defaults.
    let text = c.to_string();
    for needle in [
        "\ndpdk\n  eal args     none\n  hugepages    yes\n  memory       default\n",
        "  file prefix  default\n  mbufs        16384 per pool (pool size)\n  mbuf cache   default\n",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    assert_eq!(
        serde_json::to_value(&c).unwrap()["dpdk"],
        serde_json::Value::Null
    );
    // A [dpdk] section alone is fine too (and shown); no dpdk section and no
    // dpdk port shows nothing.
    let c = ok("[dpdk]\nno_huge = true\n");
    assert_eq!(
        c.dpdk,
        Some(DpdkOptions {
            no_huge: true,
            ..DpdkOptions::default()
        })
    );
    assert!(!c.uses_dpdk());
    assert!(c.to_string().contains("\ndpdk\n"));
    assert!(!ok("").to_string().contains("dpdk"));
}

/// An interface `d` whose line 3 is `dpdk = { OPTS }`: the first option
/// starts at column 10, a `device` string at column 19.
fn dpdk_if(opts: &str) -> String {
    format!("[[interface]]\nname = \"d\"\ndpdk = {{ {opts} }}\n")
}

#[test]
fn dpdk_bad_device_strings() {
    let f = "interface[0] (d).dpdk.device";
    for (device, needle) in [
        (
            "",
            "empty device: expected a PCI address (0000:03:00.0 or 03:00.0) or a DPDK vdev",
        ),
        (
            "eth0",
            "\"eth0\" is not a DPDK device: expected a PCI address",
        ),
        ("pcap0", "is not a DPDK device"),
        (
            "net_pcap",
            "invalid vdev name \"net_pcap\": expected net_<driver><n>",
        ),
        ("net_0", "invalid vdev name \"net_0\""),
        ("net_Pcap0", "invalid vdev name \"net_Pcap0\""),
        ("net_pcap0x", "invalid vdev name"),
        ("net_pcap-0", "invalid vdev name"),
        ("net_pcap0 ,iface=x", "contains ' '"),
        (
            "0000:03:00",
            "invalid PCI address \"0000:03:00\": expected DDDD:BB:DD.F or BB:DD.F",
        ),
        ("03:00", "invalid PCI address"),
        ("3:00.0", "invalid PCI address \"3:00.0\""),
        ("000:03:00.0", "invalid PCI address"),
        ("0000:03:20.0", "device at most 1f"),
        ("0000:03:00.8", "function at most 7"),
        ("0000:0g:00.0", "invalid PCI address"),
        ("0000:03:00.0.1", "invalid PCI address"),
        ("0:0:03:00.0", "invalid PCI address"),
        (
            "net_null0,size",
            "invalid device argument \"size\" in \"net_null0,size\": expected key=value",
        ),
        ("net_null0,size=", "invalid device argument \"size=\""),
        ("net_null0,=64", "invalid device argument \"=64\""),
        ("net_null0,si ze=64", "contains ' '"),
        ("net_null0,", "an empty argument (a stray ',')"),
        ("net_null0,size=64,,copy=1", "an empty argument"),
        ("net_null0,a=b=c", "a value cannot contain '='"),
        ("net_ring0,nodeaction=[a,b", "a '[' without its ']'"),
        ("net_ring0,nodeaction=a]", "a ']' without its '['"),
        ("0000:03:00.0,key", "invalid device argument \"key\""),
    ] {
        one_error(
            &dpdk_if(&format!("device = \"{device}\"")),
            3,
            19,
            f,
            needle,
        );
    }
    // DPDK's bracketed lists keep their commas.
    let c = ok(&dpdk_if(
        "device = \"net_ring0,nodeaction=[r1:0:CREATE,r2:0:CREATE]\"",
    ));
    assert_eq!(
        dpdk_of(&c, 0).device_args(),
        "nodeaction=[r1:0:CREATE,r2:0:CREATE]"
    );
    // Type errors, a missing device and unknown keys.
    one_error(
        &dpdk_if("device = 3"),
        3,
        19,
        f,
        "expected a string, found an integer",
    );
    one_error(&dpdk_if("rx_desc = 64"), 3, 8, f, "missing (required)");
    one_error(
        &dpdk_if("device = \"net_null0\", devargs = \"x\""),
        3,
        32,
        "interface[0] (d).dpdk.devargs",
        "unknown key \"devargs\" (allowed: device, rx_desc, tx_desc, promisc)",
    );
    one_error(
        &dpdk_if("device = \"net_null0\", promisc = 1"),
        3,
        42,
        "interface[0] (d).dpdk.promisc",
        "expected true or false, found an integer",
    );
    one_error(
        "[[interface]]\nname = \"d\"\ndpdk = \"net_null0\"\n",
        3,
        8,
        "interface[0] (d).dpdk",
        "expected a table, found a string",
    );
}

#[test]
fn dpdk_rx_pcap_must_exist() {
    let dir = scratch("dpdk-pcap");
    let path = dir.join("weir.toml");
    let load = |device: &str| {
        let text = dpdk_if(&format!("device = \"{device}\""));
        Config::from_str_with(&text, &path, &ENV)
    };
    let only = |e: ConfigError| {
        assert_eq!(e.diagnostics.len(), 1, "{e}");
        let d = e.diagnostics[0].clone();
        assert_eq!(
            (d.line, d.col, d.field.as_str()),
            (3, 19, "interface[0] (d).dpdk.device"),
            "{e}"
        );
        d.message
    };
    // The message names the absolute path it looked for.
    let msg = only(load("net_pcap0,rx_pcap=missing.pcap").unwrap_err());
    assert_eq!(
        msg,
        format!(
            "rx_pcap file not found: {}",
            dir.join("missing.pcap").display()
        )
    );
    let msg = only(load("net_pcap0,rx_pcap=.").unwrap_err());
    assert!(msg.contains("is a directory, not a capture file"), "{msg}");
    let msg = only(load("net_pcap0,tx_pcap=no/such/dir/o.pcap").unwrap_err());
    assert_eq!(
        msg,
        format!(
            "tx_pcap directory not found: {} (for {})",
            dir.join("no/such/dir").display(),
            dir.join("no/such/dir/o.pcap").display()
        )
    );
    // An absolute path is kept; a tx_pcap need not exist yet.
    std::fs::write(dir.join("missing.pcap"), b"").unwrap();
    let abs = dir.join("missing.pcap");
    let c = load(&format!(
        "net_pcap0,rx_pcap={},tx_pcap=o.pcap",
        abs.display()
    ))
    .unwrap();
    assert_eq!(
        dpdk_of(&c, 0).device,
        format!(
            "net_pcap0,rx_pcap={},tx_pcap={}",
            abs.display(),
            dir.join("o.pcap").display()
        )
    );
    // iface and rx_iface name Linux interfaces, not files.
    let c = load("net_pcap0,iface=eth0").unwrap();
    assert_eq!(dpdk_of(&c, 0).device, "net_pcap0,iface=eth0");
    // A directory whose name DPDK would split at.
    let odd = dir.join("a,b");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("in.pcap"), b"").unwrap();
    let e = Config::from_str_with(
        &dpdk_if("device = \"net_pcap0,rx_pcap=in.pcap\""),
        &odd.join("weir.toml"),
        &ENV,
    )
    .unwrap_err();
    assert!(
        only(e).contains("contains ',', which DPDK takes as an argument separator"),
        "wrong message"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dpdk_duplicate_device() {
    // The same vdev name, whatever the arguments.
    one_error(
        "[[interface]]\nname = \"a\"\ndpdk = { device = \"net_null0\" }\n[[interface]]\nname = \"b\"\ndpdk = { device = \"net_null0,size=128\" }\n",
        6,
        19,
        "interface[1] (b).dpdk.device",
        "device net_null0 is already used by interface \"a\" (line 3); a device is one port",
    );
    // The same PCI address, written short and in full, upper and lower case.
    one_error(
        "[[interface]]\nname = \"a\"\ndpdk = { device = \"0000:AF:00.1\" }\n[[interface]]\nname = \"b\"\nmem = { link = \"x\" }\n[[interface]]\nname = \"c\"\ndpdk = { device = \"af:00.1\" }\n",
        9,
        19,
        "interface[2] (c).dpdk.device",
        "device 0000:af:00.1 is already used by interface \"a\" (line 3)",
    );
    // A good name counts even where the arguments after it are wrong: two
    // mistakes, two messages.
    let e = errors("[[interface]]\nname = \"a\"\ndpdk = { device = \"net_pcap0,rx_pcap=nope.pcap\" }\n[[interface]]\nname = \"b\"\ndpdk = { device = \"net_pcap0\" }\n");
    let got: Vec<_> = e
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, 19, "interface[0] (a).dpdk.device"),
            (6, 19, "interface[1] (b).dpdk.device")
        ],
        "{e}"
    );
    assert!(
        e.diagnostics[0]
            .message
            .starts_with("rx_pcap file not found: "),
        "{e}"
    );
    assert!(
        e.mentions("device net_pcap0 is already used by interface \"a\" (line 3)"),
        "{e}"
    );
    // Different instances of one driver, or functions of one NIC, are fine.
    ok("[[interface]]\nname = \"a\"\ndpdk = { device = \"net_null0\" }\n[[interface]]\nname = \"b\"\ndpdk = { device = \"net_null1\" }\n[[interface]]\nname = \"c\"\ndpdk = { device = \"03:00.0\" }\n[[interface]]\nname = \"e\"\ndpdk = { device = \"03:00.1\" }\n");
}

#[test]
fn dpdk_descriptor_counts() {
    for (key, col) in [("rx_desc", 42), ("tx_desc", 42)] {
        for n in [0, 32, 1000, 32768, -64] {
            one_error(
                &dpdk_if(&format!("device = \"net_null0\", {key} = {n}")),
                3,
                col,
                &format!("interface[0] (d).dpdk.{key}"),
                &format!("{n}: a descriptor count is a power of two from 64 to 16384"),
            );
        }
    }
    let c = ok(&dpdk_if(
        "device = \"net_null0\", rx_desc = 16384, tx_desc = 64",
    ));
    assert_eq!(
        (dpdk_of(&c, 0).rx_desc, dpdk_of(&c, 0).tx_desc),
        (16384, 64)
    );
    one_error(
        &dpdk_if("device = \"net_null0\", tx_desc = \"1k\""),
        3,
        42,
        "interface[0] (d).dpdk.tx_desc",
        "expected an integer, found a string",
    );
}

#[test]
fn dpdk_section_errors() {
    let sect = |body: &str| format!("[dpdk]\n{body}\n");
    one_error(
        &sect("memory_mb = 63"),
        2,
        13,
        "dpdk.memory_mb",
        "63 is out of range (64..=65536)",
    );
    one_error(
        &sect("memory_mb = 65537"),
        2,
        13,
        "dpdk.memory_mb",
        "65537 is out of range (64..=65536)",
    );
    one_error(
        &sect("file_prefix = \"weir.1\""),
        2,
        15,
        "dpdk.file_prefix",
        "file prefix \"weir.1\" contains '.'; use letters, digits, '_' and '-'",
    );
    one_error(
        &sect("file_prefix = \"a/b\""),
        2,
        15,
        "dpdk.file_prefix",
        "contains '/'",
    );
    one_error(
        &sect("file_prefix = \"\""),
        2,
        15,
        "dpdk.file_prefix",
        "empty file prefix",
    );
    one_error(
        &sect(&format!("file_prefix = \"{}\"", "x".repeat(33))),
        2,
        15,
        "dpdk.file_prefix",
        "is 33 characters long; the limit is 32",
    );
    ok(&sect(&format!("file_prefix = \"{}\"", "x".repeat(32))));
    one_error(
        &sect("mbufs = 100"),
        2,
        9,
        "dpdk.mbufs",
        "100 is out of range (256..=16777216)",
    );
    one_error(
        &sect("mbuf_cache = 513"),
        2,
        14,
        "dpdk.mbuf_cache",
        "513 is out of range (0..=512)",
    );
    one_error(
        &sect("mbuf_cache = -1"),
        2,
        14,
        "dpdk.mbuf_cache",
        "-1 is out of range (0..=512)",
    );
    // DPDK refuses a cache whose flush threshold (1.5 x) exceeds the pool.
    one_error(
        &sect("mbufs = 256\nmbuf_cache = 172"),
        3,
        14,
        "dpdk.mbuf_cache",
        "a cache of 172 mbufs is too large for pools of 256 (dpdk.mbufs): DPDK needs \
            mbuf_cache × 1.5 ≤ mbufs",
    );
    // 171 × 1.5 = 256.5, which DPDK truncates to 256.
    ok(&sect("mbufs = 256\nmbuf_cache = 171"));
    one_error(
        &format!("[workers]\npool_size = 300\n{}", sect("mbuf_cache = 256")),
        4,
        14,
        "dpdk.mbuf_cache",
        "too large for pools of 300 (workers.pool_size)",
    );
    // One mistake, one message: a bad mbufs is not also a small pool.
    one_error(
        &sect("mbufs = 10\nmbuf_cache = 512"),
        2,
        9,
        "dpdk.mbufs",
        "out of range",
    );
    // Types and unknown keys.
    one_error(
        &sect("no_huge = \"yes\""),
        2,
        11,
        "dpdk.no_huge",
        "expected true or false, found a string",
    );
    one_error(
        &sect("args = \"--no-pci\""),
        2,
        8,
        "dpdk.args",
        "expected an array of strings, found a string",
    );
    one_error(
        &sect("args = [\"--no-pci\", 4]"),
        2,
        21,
        "dpdk.args[1]",
        "expected a string, found an integer",
    );
    one_error(
        &sect("nohuge = true"),
        2,
        1,
        "dpdk.nohuge",
        "unknown key \"nohuge\"; did you mean \"no_huge\"? (allowed: args, no_huge, \
            memory_mb, file_prefix, mbufs, mbuf_cache)",
    );
    one_error(
        "dpdk = 1\n",
        1,
        8,
        "dpdk",
        "expected a table, found an integer",
    );
}

#[test]
fn dpdk_eal_args() {
    let args = |list: &str| format!("[dpdk]\nargs = [\"--no-pci\", {list}]\n");
    // The second element starts at column 21.
    for (arg, needle) in [
        ("", "empty EAL argument"),
        (
            "--no-huge",
            "\"--no-huge\": [dpdk] has a field for this, set no_huge = true instead",
        ),
        (
            "-m",
            "\"-m\": [dpdk] has a field for this, set memory_mb instead",
        ),
        ("-m512", "set memory_mb instead"),
        ("--file-prefix=x", "set file_prefix instead"),
        ("--file-prefix", "set file_prefix instead"),
        (
            "-l",
            "weir gives the EAL its cores, derived from [workers] cores; leave it out",
        ),
        ("-l1-3", "derived from [workers] cores"),
        ("-c", "derived from [workers] cores"),
        ("--lcores=(0-3)@1", "derived from [workers] cores"),
    ] {
        one_error(&args(&format!("\"{arg}\"")), 2, 21, "dpdk.args[1]", needle);
    }
    one_error(
        "[dpdk]\nmemory_mb = 512\nargs = [\"--socket-mem=512,512\"]\n",
        3,
        9,
        "dpdk.args[0]",
        "the EAL refuses --socket-mem together with -m (memory_mb)",
    );
    one_error(
        "[dpdk]\nno_huge = true\nargs = [\"--socket-mem\", \"512\"]\n",
        3,
        9,
        "dpdk.args[0]",
        "the EAL refuses --socket-mem together with --no-huge",
    );
    // Other EAL options pass, values as separate elements included.
    let c = ok(&args(
        "\"--socket-mem\", \"1024,1024\", \"-n\", \"4\", \"--vdev=net_null9\"",
    ));
    assert_eq!(
        c.dpdk.unwrap().args,
        [
            "--no-pci",
            "--socket-mem",
            "1024,1024",
            "-n",
            "4",
            "--vdev=net_null9"
        ]
    );
}

// ---------------------------------------------------------------------------
// GRE tunnels and route leaking
// ---------------------------------------------------------------------------

/// The seed's switch: VRFs MAIN and BGP over the default underlay, joined
/// by the Tunnel75/Tunnel76 hairpin, a route through a tunnel, a leaked
/// route and an import.
const SEED: &str = r#"[[vrf]]
name = "MAIN"
table = 1
rd = "65000:1"
import = [{ vrf = "BGP", prefixes = ["10.20.0.0/16", "0.0.0.0/0"] }]

[[vrf]]
name = "BGP"
table = 2
rd = "65000:2"

[[interface]]
name = "Vlan2"
addresses = ["192.0.2.1/31"]
mem = { link = "vlan2" }

[[interface]]
name = "Vlan3"
addresses = ["192.0.2.2/31"]
mtu = 9000
mem = { link = "vlan3" }

[[interface]]
name = "lan"
vrf = "MAIN"
addresses = ["10.1.0.1/24"]
mem = { link = "lan" }

[[interface]]
name = "inet"
vrf = "BGP"
addresses = ["203.0.113.2/24"]
mem = { link = "inet" }

[[tunnel]]
name = "Tunnel75"
vrf = "MAIN"
underlay_vrf = "default"
source = "192.0.2.1"
destination = "192.0.2.2"
key = 75
addresses = ["10.75.0.1/30"]
keepalive = { interval = 5 }

[[tunnel]]
name = "Tunnel76"
vrf = "BGP"
source = "Vlan3"
destination = "192.0.2.1"
key = 75
sequence = true
checksum = true
ttl = 64
df = "set"
mtu = 1400
addresses = ["10.75.0.2/30"]

[[route]]
vrf = "MAIN"
prefix = "10.20.0.0/16"
interface = "Tunnel75"

[[route]]
vrf = "MAIN"
prefix = "0.0.0.0/0"
next_hop_vrf = "BGP"
via = "203.0.113.1"
interface = "inet"
distance = 200

[[route]]
vrf = "BGP"
prefix = "10.1.0.0/16"
via = "10.75.0.1"
interface = "Tunnel76"
"#;

#[test]
fn seed_topology_resolves() {
    let c = ok(SEED);
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();

    // VRFs: MAIN imports from BGP.
    assert_eq!(c.vrf_index("MAIN"), Some(1));
    assert_eq!(c.vrf_index("BGP"), Some(2));
    assert_eq!(
        c.vrfs[1].imports,
        [VrfImport {
            from: 2,
            prefixes: vec![(ip("10.20.0.0"), 16), (ip("0.0.0.0"), 0)],
        }]
    );
    assert!(c.vrfs[0].imports.is_empty() && c.vrfs[2].imports.is_empty());
    assert!(c.vrfs[1].imports[0].covers(ip("10.20.3.0"), 24));
    assert!(c.vrfs[1].imports[0].covers(ip("0.0.0.0"), 0));
    let only = VrfImport {
        from: 2,
        prefixes: vec![(ip("10.20.0.0"), 16)],
    };
    assert!(only.covers(ip("10.20.0.0"), 16));
    assert!(!only.covers(ip("10.0.0.0"), 8), "less specific");
    assert!(!only.covers(ip("10.21.0.0"), 16));

    // The hairpin: each tunnel's destination is the other's source.
    assert_eq!(
        c.tunnels[0],
        Tunnel {
            name: "Tunnel75".into(),
            vrf: 1,
            underlay_vrf: 0,
            source: ip("192.0.2.1"),
            source_on: IfRef::Interface(0),
            destination: ip("192.0.2.2"),
            key: Some(75),
            sequence: false,
            checksum: false,
            ttl: 255,
            df: TunnelDf::Copy,
            fragment: TunnelFragment::Outer,
            mtu: 1472,
            addresses: vec![IfAddr {
                addr: ip("10.75.0.1"),
                len: 30
            }],
            keepalive: Some(Keepalive {
                interval: 5,
                retries: 3
            }),
        }
    );
    assert_eq!(
        c.tunnels[1],
        Tunnel {
            name: "Tunnel76".into(),
            vrf: 2,
            underlay_vrf: 0,
            source: ip("192.0.2.2"),
            source_on: IfRef::Interface(1),
            destination: ip("192.0.2.1"),
            key: Some(75),
            sequence: true,
            checksum: true,
            ttl: 64,
            df: TunnelDf::Set,
            // The default with df = "set".
            fragment: TunnelFragment::Inner,
            mtu: 1400,
            addresses: vec![IfAddr {
                addr: ip("10.75.0.2"),
                len: 30
            }],
            keepalive: None,
        }
    );
    assert_eq!((c.tunnels[0].overhead(), c.tunnels[1].overhead()), (28, 36));
    assert_eq!(c.tunnel_index("Tunnel76"), Some(1));
    assert_eq!(c.interface_index("Tunnel76"), None);
    assert_eq!(c.if_name(IfRef::Tunnel(0)), "Tunnel75");
    assert_eq!(c.if_mtu(IfRef::Interface(1)), 9000);

    // A route through a tunnel, a leaked route and one back through the
    // other tunnel.
    let r = &c.routes[0];
    assert_eq!(
        (r.vrf, r.next_hop_vrf, r.via, r.interface, r.tunnel),
        (1, 1, None, None, Some(0))
    );
    let r = &c.routes[1];
    assert_eq!(
        (r.vrf, r.prefix, r.len, r.next_hop_vrf),
        (1, ip("0.0.0.0"), 0, 2)
    );
    assert_eq!(
        (r.via, r.interface, r.tunnel, r.distance),
        (Some(ip("203.0.113.1")), Some(3), None, 200)
    );
    let r = &c.routes[2];
    assert_eq!(
        (r.vrf, r.next_hop_vrf, r.via, r.interface, r.tunnel),
        (2, 2, Some(ip("10.75.0.1")), None, Some(1))
    );

    // Tunnel subnets are not connected routes of a port.
    assert!(c
        .connected_routes()
        .iter()
        .all(|r| r.prefix != ip("10.75.0.0")));

    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["tunnels"][0]["source_on"]["interface"], 0);
    assert_eq!(json["tunnels"][1]["df"], "set");
    assert_eq!(json["vrfs"][1]["imports"][0]["from"], 2);
}

/// A tunnel named T over `Vlan2` (MTU `mtu`) with these extra lines.
fn tunnel_with(mtu: u16, extra: &str) -> String {
    format!(
        "[[interface]]\nname = \"Vlan2\"\naddresses = [\"192.0.2.1/24\"]\nmtu = {mtu}\n\
         mem = {{ link = \"v\" }}\n\n[[tunnel]]\nname = \"T\"\nsource = \"192.0.2.1\"\n\
         destination = \"198.51.100.7\"\n{extra}"
    )
}

#[test]
fn default_tunnel_mtu_for_every_option() {
    for key in [false, true] {
        for sequence in [false, true] {
            for checksum in [false, true] {
                let mut extra = format!("sequence = {sequence}\nchecksum = {checksum}\n");
                if key {
                    extra.push_str("key = 4294967295\n");
                }
                let want = 24 + 4 * (key as u16 + sequence as u16 + checksum as u16);
                assert_eq!(gre_overhead(key, sequence, checksum), want);
                for under in [1500, 9000] {
                    let c = ok(&tunnel_with(under, &extra));
                    let t = &c.tunnels[0];
                    assert_eq!(
                        (t.overhead(), t.mtu),
                        (want, under - want),
                        "key {key} sequence {sequence} checksum {checksum} over {under}"
                    );
                }
            }
        }
    }
    // Without options: 1476, as the seed's `show interface` says.
    assert_eq!(ok(&tunnel_with(1500, "")).tunnels[0].mtu, 1476);
    // The largest MTU allowed is the default; a smaller one is kept.
    assert_eq!(ok(&tunnel_with(1500, "mtu = 1476\n")).tunnels[0].mtu, 1476);
    assert_eq!(ok(&tunnel_with(1500, "mtu = 68\n")).tunnels[0].mtu, 68);
}

#[test]
fn tunnel_defaults() {
    let c = ok(&tunnel_with(1500, ""));
    let t = &c.tunnels[0];
    assert_eq!((t.vrf, t.underlay_vrf), (0, 0));
    assert_eq!(
        (t.key, t.sequence, t.checksum, t.ttl),
        (None, false, false, 255)
    );
    assert_eq!((t.df, t.fragment), (TunnelDf::Copy, TunnelFragment::Outer));
    assert_eq!((t.addresses.len(), t.keepalive), (0, None));
    let c = ok(&tunnel_with(
        1500,
        "df = \"clear\"\nfragment = \"inner\"\nkeepalive = {}\n",
    ));
    let t = &c.tunnels[0];
    assert_eq!((t.df, t.fragment), (TunnelDf::Clear, TunnelFragment::Inner));
    assert_eq!(
        t.keepalive,
        Some(Keepalive {
            interval: 10,
            retries: 3
        })
    );
    // Sourced from another tunnel's address (U from T's), and from a
    // tunnel's name (W from U's first address): that tunnel's MTU bounds
    // this one's.
    let c = ok(&tunnel_with(
        1500,
        "addresses = [\"10.9.0.1/30\"]\n[[tunnel]]\nname = \"U\"\nsource = \"10.9.0.1\"\n\
         destination = \"10.9.0.2\"\naddresses = [\"10.10.0.1/30\"]\n[[tunnel]]\nname = \"W\"\n\
         source = \"U\"\ndestination = \"10.10.0.2\"\nkey = 1\n",
    ));
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let u = &c.tunnels[1];
    assert_eq!(
        (u.source, u.source_on, u.mtu),
        (ip("10.9.0.1"), IfRef::Tunnel(0), 1476 - 24)
    );
    let w = &c.tunnels[2];
    assert_eq!(
        (w.source, w.source_on, w.mtu),
        (ip("10.10.0.1"), IfRef::Tunnel(1), 1452 - 28)
    );
}

/// Line 24 onwards of a test config: the tunnel, route or neighbor under
/// test (line 23 is empty).
fn over(extra: &str) -> String {
    const BASE: &str = r#"[[vrf]]
name = "MAIN"
table = 1

[[vrf]]
name = "BGP"
table = 2

[[interface]]
name = "Vlan2"
addresses = ["192.0.2.1/31"]
mem = { link = "v2" }

[[interface]]
name = "Vlan3"
addresses = ["192.0.2.2/31"]
mem = { link = "v3" }

[[interface]]
name = "lan"
vrf = "MAIN"
mem = { link = "lan" }
"#;
    format!("{BASE}\n{extra}")
}

/// Tunnel75 in MAIN from Vlan2's address to Vlan3's (lines 24-28), then
/// `extra` from line 29.
fn t75(extra: &str) -> String {
    over(&format!(
        "[[tunnel]]\nname = \"Tunnel75\"\nvrf = \"MAIN\"\nsource = \"192.0.2.1\"\n\
         destination = \"192.0.2.2\"\n{extra}"
    ))
}

#[test]
fn tunnel_base_configs_are_good() {
    let c = ok(&t75("addresses = [\"10.75.0.1/30\"]\n"));
    assert_eq!(c.tunnels[0].source_on, IfRef::Interface(0));
}

#[test]
fn tunnel_unknown_vrfs() {
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nvrf = \"NOPE\"\nsource = \"192.0.2.1\"\ndestination = \"192.0.2.2\"\n"),
        26,
        7,
        "tunnel[0] (T).vrf",
        "unknown VRF \"NOPE\" (defined: default, MAIN, BGP)",
    );
    one_error(
        &t75("underlay_vrf = \"INET\"\n"),
        29,
        16,
        "tunnel[0] (Tunnel75).underlay_vrf",
        "unknown VRF \"INET\" (defined: default, MAIN, BGP)",
    );
}

#[test]
fn tunnel_source_not_local_to_the_underlay() {
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nsource = \"192.0.2.9\"\ndestination = \"192.0.2.2\"\n"),
        26,
        10,
        "tunnel[0] (T).source",
        "192.0.2.9 is not an address of this router in the underlay VRF \"default\" (its \
         addresses there: 192.0.2.1 on Vlan2, 192.0.2.2 on Vlan3)",
    );
    // An address of the router, but in another VRF: say where.
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nunderlay_vrf = \"BGP\"\nsource = \"192.0.2.1\"\ndestination = \"192.0.2.2\"\n"),
        27,
        10,
        "tunnel[0] (T).source",
        "192.0.2.1 is not an address of this router in the underlay VRF \"BGP\" (it has none \
         there); it is Vlan2's address in VRF \"default\"",
    );
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nsource = \"192.0.2\"\ndestination = \"192.0.2.2\"\n"),
        26,
        10,
        "tunnel[0] (T).source",
        "invalid IPv4 address \"192.0.2\"",
    );
    // The tunnel's own addresses are in its overlay VRF.
    one_error(
        &t75("addresses = [\"10.75.0.1/30\"]\n[[tunnel]]\nname = \"T\"\nsource = \"10.75.0.1\"\ndestination = \"192.0.2.2\"\n"),
        32,
        10,
        "tunnel[1] (T).source",
        "it is Tunnel75's address in VRF \"MAIN\"",
    );
}

#[test]
fn tunnel_source_interface_by_name() {
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nunderlay_vrf = \"MAIN\"\nsource = \"Vlan2\"\ndestination = \"192.0.2.2\"\n"),
        27,
        10,
        "tunnel[0] (T).source",
        "interface \"Vlan2\" is in VRF \"default\", not in the tunnel's underlay VRF \"MAIN\"",
    );
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nunderlay_vrf = \"MAIN\"\nsource = \"lan\"\ndestination = \"192.0.2.2\"\n"),
        27,
        10,
        "tunnel[0] (T).source",
        "interface \"lan\" has no address to be the tunnel's source",
    );
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nsource = \"Vlan9\"\ndestination = \"192.0.2.2\"\n"),
        26,
        10,
        "tunnel[0] (T).source",
        "unknown interface \"Vlan9\" (defined: Vlan2, Vlan3, lan, T)",
    );
    // The first address is the source.
    let c = ok(&over(
        "[[tunnel]]\nname = \"T\"\nsource = \"Vlan3\"\ndestination = \"192.0.2.1\"\n",
    ));
    assert_eq!(c.tunnels[0].source, Ipv4Addr::new(192, 0, 2, 2));
}

#[test]
fn tunnel_bad_destination() {
    let t = |dst: &str| {
        over(&format!(
            "[[tunnel]]\nname = \"T\"\nsource = \"192.0.2.1\"\ndestination = \"{dst}\"\n"
        ))
    };
    one_error(
        &t("192.0.2.1"),
        27,
        15,
        "tunnel[0] (T).destination",
        "192.0.2.1 is the tunnel's source; the far end is another address",
    );
    one_error(
        &t("239.1.1.1"),
        27,
        15,
        "tunnel[0] (T).destination",
        "239.1.1.1 is a multicast address, not a host address",
    );
    one_error(
        &t("127.0.0.1"),
        27,
        15,
        "tunnel[0] (T).destination",
        "127.0.0.1 is a loopback address",
    );
    one_error(
        &t("255.255.255.255"),
        27,
        15,
        "tunnel[0] (T).destination",
        "in 240.0.0.0/4",
    );
    one_error(
        &t("example.net"),
        27,
        15,
        "tunnel[0] (T).destination",
        "invalid IPv4 address \"example.net\"",
    );
    one_error(
        &over("[[tunnel]]\nname = \"T\"\nsource = \"192.0.2.1\"\n"),
        24,
        1,
        "tunnel[0] (T).destination",
        "missing (required)",
    );
    one_error(
        &over("[[tunnel]]\nname = \"T\"\ndestination = \"192.0.2.2\"\n"),
        24,
        1,
        "tunnel[0] (T).source",
        "missing (required)",
    );
}

#[test]
fn tunnel_mtu_range_and_underlay() {
    one_error(
        &t75("mtu = 67\n"),
        29,
        7,
        "tunnel[0] (Tunnel75).mtu",
        "67 is out of range (68..=9216)",
    );
    one_error(
        &t75("mtu = 1500\n"),
        29,
        7,
        "tunnel[0] (Tunnel75).mtu",
        "1500 is larger than 1476: Vlan2's MTU 1500 minus the tunnel's overhead of 24 bytes \
         (20 IPv4 + 4 GRE)",
    );
    one_error(
        &t75("key = 1\nsequence = true\nchecksum = true\nmtu = 1465\n"),
        32,
        7,
        "tunnel[0] (Tunnel75).mtu",
        "1465 is larger than 1464: Vlan2's MTU 1500 minus the tunnel's overhead of 36 bytes \
         (20 IPv4 + 4 GRE + 4 key + 4 sequence + 4 checksum)",
    );
    // A default under 68: the source's interface is too small.
    one_error(
        &tunnel_with(90, "key = 7\n"),
        9,
        10,
        "tunnel[0] (T).source",
        "the tunnel's MTU would be 62: Vlan2's MTU 90 minus the tunnel's overhead of 28 bytes \
         (20 IPv4 + 4 GRE + 4 key), below the minimum of 68",
    );
    // Over another tunnel: that tunnel's MTU is the limit.
    one_error(
        &t75("mtu = 1400\naddresses = [\"10.75.0.1/30\"]\n[[tunnel]]\nname = \"T\"\nunderlay_vrf = \"MAIN\"\nsource = \"Tunnel75\"\ndestination = \"10.75.0.2\"\nmtu = 1390\n"),
        36,
        7,
        "tunnel[1] (T).mtu",
        "1390 is larger than 1376: tunnel Tunnel75's MTU 1400 minus the tunnel's overhead of 24",
    );
}

#[test]
fn tunnels_sourced_from_each_other() {
    let e = errors(&over(
        "[[tunnel]]\nname = \"A\"\nsource = \"10.0.1.1\"\ndestination = \"192.0.2.2\"\n\
         addresses = [\"10.0.0.1/30\"]\n\
         [[tunnel]]\nname = \"B\"\nsource = \"10.0.0.1\"\ndestination = \"192.0.2.2\"\n\
         addresses = [\"10.0.1.1/30\"]\n",
    ));
    let got: Vec<String> = e
        .diagnostics
        .iter()
        .map(|d| format!("{}:{} {}: {}", d.line, d.col, d.field, d.message))
        .collect();
    assert_eq!(
        got,
        [
            "26:10 tunnel[0] (A).source: 10.0.1.1 is an address of tunnel B, whose source \
             leads back to this tunnel: tunnels cannot take their sources from each other in \
             a cycle (A → B → A)",
            "31:10 tunnel[1] (B).source: 10.0.0.1 is an address of tunnel A, whose source \
             leads back to this tunnel: tunnels cannot take their sources from each other in \
             a cycle (B → A → B)",
        ],
        "\n{e}"
    );
    one_error(
        &over("[[tunnel]]\nname = \"A\"\nsource = \"A\"\ndestination = \"192.0.2.2\"\naddresses = [\"10.0.0.1/30\"]\n"),
        26,
        10,
        "tunnel[0] (A).source",
        "10.0.0.1 is this tunnel's own address: a tunnel cannot carry itself",
    );
}

#[test]
fn tunnels_with_the_same_endpoints_and_key() {
    let second = "[[tunnel]]\nname = \"Tunnel77\"\nvrf = \"BGP\"\nsource = \"Vlan2\"\n\
                  destination = \"192.0.2.2\"\n";
    one_error(
        &t75(second),
        33,
        15,
        "tunnel[1] (Tunnel77).destination",
        "tunnel[0] (Tunnel75) (line 28) has the same underlay VRF \"default\", source \
         192.0.2.1, destination 192.0.2.2 and no key: received packets could not be told \
         apart (give one of them another key)",
    );
    one_error(
        &t75(&format!("key = 9\n{second}key = 9\n")),
        34,
        15,
        "tunnel[1] (Tunnel77).destination",
        "and key 9: received packets",
    );
    // Another key, or none against one, tells them apart; so does the
    // reverse direction (the hairpin).
    ok(&t75(&format!("key = 9\n{second}key = 10\n")));
    ok(&t75(&format!("key = 9\n{second}")));
    ok(&t75(
        "[[tunnel]]\nname = \"Tunnel76\"\nvrf = \"BGP\"\nsource = \"192.0.2.2\"\n\
         destination = \"192.0.2.1\"\n",
    ));
}

#[test]
fn tunnel_names() {
    one_error(
        &t75("[[tunnel]]\nname = \"Vlan3\"\nsource = \"192.0.2.1\"\ndestination = \"198.51.100.1\"\n"),
        30,
        8,
        "tunnel[1] (Vlan3).name",
        "\"Vlan3\" is already the name of an interface (line 15); interfaces and tunnels \
         share names",
    );
    one_error(
        &t75("[[tunnel]]\nname = \"Tunnel75\"\nsource = \"192.0.2.1\"\ndestination = \"198.51.100.1\"\n"),
        30,
        8,
        "tunnel[1] (Tunnel75).name",
        "duplicate tunnel name \"Tunnel75\" (first defined at line 25)",
    );
    one_error(
        &over("[[tunnel]]\nname = \"Tunnel 75\"\nsource = \"192.0.2.1\"\ndestination = \"192.0.2.2\"\n"),
        25,
        8,
        "tunnel[0] (Tunnel 75).name",
        "tunnel name \"Tunnel 75\" contains ' '",
    );
    one_error(
        &over("[[tunnel]]\nname = \"GigabitTunnel750\"\nsource = \"192.0.2.1\"\ndestination = \"192.0.2.2\"\n"),
        25,
        8,
        "tunnel[0] (GigabitTunnel750).name",
        "is 16 characters long; the limit is 15",
    );
}

#[test]
fn tunnel_options() {
    one_error(
        &t75("key = -1\n"),
        29,
        7,
        "tunnel[0] (Tunnel75).key",
        "-1 is out of range (0..=4294967295)",
    );
    one_error(
        &t75("key = 4294967296\n"),
        29,
        7,
        "tunnel[0] (Tunnel75).key",
        "4294967296 is out of range (0..=4294967295)",
    );
    one_error(
        &t75("ttl = 0\n"),
        29,
        7,
        "tunnel[0] (Tunnel75).ttl",
        "0 is out of range (1..=255)",
    );
    one_error(
        &t75("df = \"copied\"\n"),
        29,
        6,
        "tunnel[0] (Tunnel75).df",
        "unknown df \"copied\" (expected copy, set or clear)",
    );
    one_error(
        &t75("fragment = \"both\"\n"),
        29,
        12,
        "tunnel[0] (Tunnel75).fragment",
        "unknown fragment \"both\" (expected outer or inner)",
    );
    one_error(
        &t75("df = \"set\"\nfragment = \"outer\"\n"),
        30,
        12,
        "tunnel[0] (Tunnel75).fragment",
        "\"outer\" fragments the outer packet, but df = \"set\" forbids it",
    );
    one_error(
        &t75("keepalive = { interval = 0, retries = 3 }\n"),
        29,
        26,
        "tunnel[0] (Tunnel75).keepalive.interval",
        "0 is out of range (1..=32767)",
    );
    one_error(
        &t75("keepalive = { interval = 10, retries = 256 }\n"),
        29,
        40,
        "tunnel[0] (Tunnel75).keepalive.retries",
        "256 is out of range (1..=255)",
    );
    one_error(
        &t75("keepalive = { period = 10 }\n"),
        29,
        15,
        "tunnel[0] (Tunnel75).keepalive.period",
        "unknown key \"period\" (allowed: interval, retries)",
    );
    one_error(
        &t75("keepalive = true\n"),
        29,
        13,
        "tunnel[0] (Tunnel75).keepalive",
        "expected a table, found a boolean",
    );
    one_error(
        &t75("sequence = 1\n"),
        29,
        12,
        "tunnel[0] (Tunnel75).sequence",
        "expected true or false, found an integer",
    );
    one_error(
        &t75("destnation = \"192.0.2.2\"\n"),
        29,
        1,
        "tunnel[0] (Tunnel75).destnation",
        "unknown key \"destnation\"; did you mean \"destination\"? (allowed: name, vrf, \
         underlay_vrf, source, destination, key, sequence, checksum, ttl, df, fragment, mtu, \
         addresses, keepalive)",
    );
}

#[test]
fn tunnel_addresses() {
    one_error(
        &t75("addresses = [\"10.75.0.0/30\"]\n"),
        29,
        14,
        "tunnel[0] (Tunnel75).addresses[0]",
        "10.75.0.0 is the network address of 10.75.0.0/30",
    );
    // Subnets must not overlap an interface's or another tunnel's in the
    // same VRF; in another VRF they may.
    one_error(
        &over("[[interface]]\nname = \"lan2\"\nvrf = \"MAIN\"\naddresses = [\"10.75.0.5/24\"]\nmem = { link = \"lan2\" }\n\n[[tunnel]]\nname = \"Tunnel75\"\nvrf = \"MAIN\"\nsource = \"192.0.2.1\"\ndestination = \"192.0.2.2\"\naddresses = [\"10.75.0.1/30\"]\n"),
        35,
        14,
        "tunnel[0] (Tunnel75).addresses[0]",
        "10.75.0.1/30 overlaps 10.75.0.5/24 on lan2 in VRF \"MAIN\"",
    );
    one_error(
        &t75("addresses = [\"10.75.0.1/30\"]\n[[tunnel]]\nname = \"T\"\nvrf = \"MAIN\"\nsource = \"192.0.2.1\"\ndestination = \"198.51.100.1\"\naddresses = [\"10.75.0.2/30\"]\n"),
        35,
        14,
        "tunnel[1] (T).addresses[0]",
        "10.75.0.2/30 overlaps 10.75.0.1/30 on tunnel Tunnel75 in VRF \"MAIN\"",
    );
    ok(&t75("addresses = [\"10.75.0.1/30\"]\n[[tunnel]]\nname = \"Tunnel76\"\nvrf = \"BGP\"\nsource = \"192.0.2.2\"\ndestination = \"192.0.2.1\"\naddresses = [\"10.75.0.2/30\"]\n"));
}

#[test]
fn routes_through_tunnels() {
    let tun = "addresses = [\"10.75.0.1/30\"]\n\n";
    // Line 31 onwards: the route.
    let c = ok(&t75(&format!(
        "{tun}[[route]]\nvrf = \"MAIN\"\nprefix = \"10.20.0.0/16\"\nvia = \"10.75.0.2\"\ninterface = \"Tunnel75\"\n"
    )));
    assert_eq!((c.routes[0].interface, c.routes[0].tunnel), (None, Some(0)));
    one_error(
        &t75(&format!(
            "{tun}[[route]]\nprefix = \"10.20.0.0/16\"\ninterface = \"Tunnel75\"\n"
        )),
        33,
        13,
        "route[0] (10.20.0.0/16).interface",
        "tunnel \"Tunnel75\" is in VRF \"MAIN\", not in the route's VRF \"default\"",
    );
    one_error(
        &t75(&format!(
            "{tun}[[route]]\nvrf = \"MAIN\"\nprefix = \"10.20.0.0/16\"\ninterface = \"Tunnel76\"\n"
        )),
        34,
        13,
        "route[0] (10.20.0.0/16).interface",
        "unknown interface \"Tunnel76\" (defined: Vlan2, Vlan3, lan, Tunnel75)",
    );
    one_error(
        &t75(&format!(
            "{tun}[[route]]\nvrf = \"MAIN\"\nprefix = \"10.20.0.0/16\"\nvia = \"10.75.0.1\"\n"
        )),
        34,
        7,
        "route[0] (10.20.0.0/16).via",
        "10.75.0.1 is this router's own address (on Tunnel75); a next hop is another host",
    );
}

#[test]
fn neighbor_on_a_tunnel() {
    one_error(
        &t75("addresses = [\"10.75.0.1/30\"]\n[[neighbor]]\ninterface = \"Tunnel75\"\naddress = \"10.75.0.2\"\nmac = \"02:00:00:00:00:99\"\n"),
        31,
        13,
        "neighbor[0] (10.75.0.2).interface",
        "\"Tunnel75\" is a GRE tunnel: point-to-point, without ARP, so it takes no neighbors",
    );
}

#[test]
fn leaked_routes() {
    // Line 24 onwards: the route. lan (MAIN) gets an address first.
    let base = |route: &str| {
        over(&format!(
            "[[interface]]\nname = \"core\"\nvrf = \"BGP\"\naddresses = [\"10.5.0.1/24\"]\nmem = {{ link = \"core\" }}\n\n{route}"
        ))
    };
    let c = ok(&base(
        "[[route]]\nvrf = \"MAIN\"\nprefix = \"0.0.0.0/0\"\nnext_hop_vrf = \"BGP\"\nvia = \"10.5.0.2\"\ninterface = \"core\"\n",
    ));
    let r = &c.routes[0];
    assert_eq!(
        (r.vrf, r.next_hop_vrf, r.interface, r.tunnel),
        (1, 2, Some(3), None)
    );
    one_error(
        &base("[[route]]\nvrf = \"MAIN\"\nprefix = \"0.0.0.0/0\"\nnext_hop_vrf = \"INET\"\nvia = \"10.5.0.2\"\n"),
        33,
        16,
        "route[0] (0.0.0.0/0).next_hop_vrf",
        "unknown VRF \"INET\" (defined: default, MAIN, BGP)",
    );
    // The interface is checked against next_hop_vrf, not the route's VRF.
    one_error(
        &base("[[route]]\nvrf = \"BGP\"\nprefix = \"0.0.0.0/0\"\nnext_hop_vrf = \"MAIN\"\ninterface = \"core\"\n"),
        34,
        13,
        "route[0] (0.0.0.0/0).interface",
        "interface \"core\" is in VRF \"BGP\", not in the next_hop_vrf \"MAIN\"",
    );
    // So is via: 10.5.0.1 is the router's own in BGP.
    one_error(
        &base("[[route]]\nvrf = \"MAIN\"\nprefix = \"0.0.0.0/0\"\nnext_hop_vrf = \"BGP\"\nvia = \"10.5.0.1\"\n"),
        34,
        7,
        "route[0] (0.0.0.0/0).via",
        "10.5.0.1 is this router's own address (on core in VRF \"BGP\")",
    );
    ok(&base(
        "[[route]]\nvrf = \"BGP\"\nprefix = \"0.0.0.0/0\"\nvia = \"10.5.0.1\"\nnext_hop_vrf = \"MAIN\"\n",
    ));
    one_error(
        &base("[[route]]\nvrf = \"MAIN\"\nprefix = \"0.0.0.0/0\"\naction = \"blackhole\"\nnext_hop_vrf = \"BGP\"\n"),
        34,
        16,
        "route[0] (0.0.0.0/0).next_hop_vrf",
        "a blackhole route drops its packets and takes no next_hop_vrf",
    );
}

/// VRF MAIN (lines 1-4: `import` on line 4) and VRF BGP (lines 6-8).
fn imports(import: &str) -> String {
    format!(
        "[[vrf]]\nname = \"MAIN\"\ntable = 1\nimport = {import}\n\n[[vrf]]\nname = \"BGP\"\ntable = 2\n"
    )
}

#[test]
fn vrf_imports() {
    let c = ok(&imports(
        "[{ vrf = \"BGP\", prefixes = [\"10.20.0.0/16\"] }, { vrf = \"default\", prefixes = [\"0.0.0.0/0\"] }]",
    ));
    assert_eq!(
        c.vrfs[1].imports,
        [
            VrfImport {
                from: 2,
                prefixes: vec![(Ipv4Addr::new(10, 20, 0, 0), 16)]
            },
            VrfImport {
                from: 0,
                prefixes: vec![(Ipv4Addr::UNSPECIFIED, 0)]
            }
        ]
    );
    // The array-of-tables form, and imports into the declared default VRF.
    let c = ok("[[vrf]]\nname = \"default\"\n[[vrf.import]]\nvrf = \"BGP\"\nprefixes = [\"10.0.0.0/8\"]\n\n[[vrf]]\nname = \"BGP\"\ntable = 2\n");
    assert_eq!(c.vrfs[0].imports[0].from, 1);

    one_error(
        &imports("[{ vrf = \"INET\", prefixes = [\"0.0.0.0/0\"] }]"),
        4,
        19,
        "vrf[0] (MAIN).import[0] (INET).vrf",
        "unknown VRF \"INET\" (defined: default, MAIN, BGP)",
    );
    one_error(
        &imports("[{ vrf = \"MAIN\", prefixes = [\"0.0.0.0/0\"] }]"),
        4,
        19,
        "vrf[0] (MAIN).import[0] (MAIN).vrf",
        "VRF \"MAIN\" cannot import from itself",
    );
    one_error(
        &imports("[{ vrf = \"BGP\", prefixes = [\"10.20.0.0/8\"] }]"),
        4,
        38,
        "vrf[0] (MAIN).import[0] (BGP).prefixes[0]",
        "host bits set in 10.20.0.0/8; did you mean 10.0.0.0/8?",
    );
    one_error(
        &imports("[{ vrf = \"BGP\", prefixes = [\"10.0.0.0/8\"] }, { vrf = \"BGP\", prefixes = [\"0.0.0.0/0\"] }]"),
        4,
        63,
        "vrf[0] (MAIN).import[1] (BGP).vrf",
        "VRF \"BGP\" is already imported (line 4); list all its prefixes there",
    );
    one_error(
        &imports("[{ vrf = \"BGP\", prefixes = [] }]"),
        4,
        37,
        "vrf[0] (MAIN).import[0] (BGP).prefixes",
        "empty: list the prefixes to import (\"0.0.0.0/0\" for every route)",
    );
    one_error(
        &imports("[{ vrf = \"BGP\", prefixes = [\"10.0.0.0/8\", \"10.0.0.0/8\"] }]"),
        4,
        52,
        "vrf[0] (MAIN).import[0] (BGP).prefixes[1]",
        "10.0.0.0/8 is listed twice",
    );
    one_error(
        &imports("[{ prefixes = [\"10.0.0.0/8\"] }]"),
        4,
        11,
        "vrf[0] (MAIN).import[0].vrf",
        "missing (required)",
    );
    one_error(
        &imports("[\"BGP\"]"),
        4,
        11,
        "vrf[0] (MAIN).import[0]",
        "expected a table, found a string",
    );
    // A misspelt key: unknown, and the required one is missing.
    let e = errors(&imports("[{ vrf = \"BGP\", prefix = [\"10.0.0.0/8\"] }]"));
    let got: Vec<String> = e
        .diagnostics
        .iter()
        .map(|d| format!("{}:{} {}: {}", d.line, d.col, d.field, d.message))
        .collect();
    assert_eq!(
        got,
        [
            "4:11 vrf[0] (MAIN).import[0] (BGP).prefixes: missing (required)",
            "4:26 vrf[0] (MAIN).import[0] (BGP).prefix: unknown key \"prefix\"; did you mean \
             \"prefixes\"? (allowed: vrf, prefixes)",
        ],
        "\n{e}"
    );
}

/// `weir check` of the seed config, in full.
const SEED_DISPLAY: &str = r#"config t.toml
workers
  cores         3
  control core  0
  pool size     16384 buffers

vrf default (table 0)
  interface Vlan2
    mac        02:77:65:00:00:01
    mtu        1500
    addresses  192.0.2.1/31
    driver     mem link=vlan2 ring=1024 peer=external
  interface Vlan3
    mac        02:77:65:00:00:02
    mtu        9000
    addresses  192.0.2.2/31
    driver     mem link=vlan3 ring=1024 peer=external
  routes
    prefix        distance  source     next hop
    192.0.2.0/31  0         connected  dev Vlan2
    192.0.2.2/31  0         connected  dev Vlan3

vrf MAIN (table 1, rd 65000:1)
  imports
    from  prefixes
    BGP   10.20.0.0/16, 0.0.0.0/0
  interface lan
    mac        02:77:65:00:00:03
    mtu        1500
    addresses  10.1.0.1/24
    driver     mem link=lan ring=1024 peer=external
  tunnel Tunnel75
    underlay vrf  default
    source        192.0.2.1 (Vlan2)
    destination   192.0.2.2 (this router: Vlan3)
    key           75
    sequence      no
    checksum      no
    ttl           255
    df            copy
    fragment      outer
    overhead      28 bytes (20 IPv4 + 4 GRE + 4 key)
    mtu           1472 (Vlan2's 1500 - 28)
    addresses     10.75.0.1/30
    keepalive     every 5 s, down after 3 missed
  routes
    prefix        distance  source     next hop
    0.0.0.0/0     200       static     via 203.0.113.1 dev inet vrf BGP
    10.1.0.0/24   0         connected  dev lan
    10.20.0.0/16  1         static     dev Tunnel75
    10.75.0.0/30  0         connected  dev Tunnel75

vrf BGP (table 2, rd 65000:2)
  interface inet
    mac        02:77:65:00:00:04
    mtu        1500
    addresses  203.0.113.2/24
    driver     mem link=inet ring=1024 peer=external
  tunnel Tunnel76
    underlay vrf  default
    source        192.0.2.2 (Vlan3)
    destination   192.0.2.1 (this router: Vlan2)
    key           75
    sequence      yes
    checksum      yes
    ttl           64
    df            set
    fragment      inner
    overhead      36 bytes (20 IPv4 + 4 GRE + 4 key + 4 sequence + 4 checksum)
    mtu           1400 (at most 8964)
    addresses     10.75.0.2/30
    keepalive     off
  routes
    prefix          distance  source     next hop
    10.1.0.0/16     1         static     via 10.75.0.1 dev Tunnel76
    10.75.0.0/30    0         connected  dev Tunnel76
    203.0.113.0/24  0         connected  dev inet

control
  grpc       127.0.0.1:50051 (default)
  unix       none
  metrics    http://127.0.0.1:9469/metrics (default)
  tls        off
  client ca  none
  token      none
"#;

#[test]
fn display_shows_tunnels_imports_and_leaked_routes() {
    let c = ok(SEED);
    let text = c.to_string();
    assert_eq!(text, SEED_DISPLAY, "got:\n{text}");
    assert_eq!(text, c.clone().to_string());
    assert!(text.lines().all(|l| !l.ends_with(' ')), "{text}");
}

#[test]
fn tunnel_and_leaking_errors_are_all_reported() {
    let e = Config::load_with(&fixture("tunnel-errors.toml"), &ENV).unwrap_err();
    let got: Vec<(usize, usize, &str)> = e
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.field.as_str()))
        .collect();
    let want = [
        (5, 19, "vrf[0] (MAIN).import[0] (MAIN).vrf"),
        (5, 39, "vrf[0] (MAIN).import[0] (MAIN).prefixes[0]"),
        (14, 7, "tunnel[0] (Tunnel75).vrf"),
        (15, 10, "tunnel[0] (Tunnel75).source"),
        (16, 15, "tunnel[0] (Tunnel75).destination"),
        (17, 7, "tunnel[0] (Tunnel75).key"),
        (18, 6, "tunnel[0] (Tunnel75).df"),
        (19, 7, "tunnel[0] (Tunnel75).mtu"),
        (20, 26, "tunnel[0] (Tunnel75).keepalive.interval"),
        (23, 8, "tunnel[1] (Vlan2).name"),
        (26, 12, "tunnel[1] (Vlan2).fragment"),
        (32, 13, "route[0] (10.20.0.0/16).interface"),
        (33, 16, "route[0] (10.20.0.0/16).next_hop_vrf"),
        (36, 13, "neighbor[0] (10.0.0.2).interface"),
    ];
    assert_eq!(got, want, "\n{e}");
    assert!(
        e.to_string().ends_with("\n14 errors; nothing was applied"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// Policy routing
// ---------------------------------------------------------------------------

/// The seed topology with policies: by interface, by VRF, for the router's
/// own packets; next hop, another VRF, a tunnel.
#[test]
fn policies_resolve_in_order() {
    let text = format!(
        "{SEED}
[[policy]]
interface = \"lan\"
protocol = \"udp\"
dst_port = \"5000-5010\"
set_vrf = \"BGP\"

[[policy]]
vrf = \"MAIN\"
src = \"10.1.0.0/24\"
dscp = 46
tunnel = \"Tunnel75\"

[[policy]]
local = true
dst = \"198.51.100.0/24\"
next_hop = \"203.0.113.1\"
next_hop_vrf = \"BGP\"
"
    );
    let c = ok(&text);
    use ctrl::config::{IfRef, Policy, PolicyScope, PolicyTarget};
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let any = (Ipv4Addr::UNSPECIFIED, 0);
    assert_eq!(
        c.policies,
        vec![
            Policy {
                scope: PolicyScope::Interface(IfRef::Interface(2)),
                src: any,
                dst: any,
                protocol: Some(17),
                src_ports: None,
                dst_ports: Some((5000, 5010)),
                dscp: None,
                target: PolicyTarget::Vrf(2),
            },
            Policy {
                scope: PolicyScope::Vrf(1),
                src: (ip("10.1.0.0"), 24),
                dst: any,
                protocol: None,
                src_ports: None,
                dst_ports: None,
                dscp: Some(46),
                target: PolicyTarget::Tunnel(0),
            },
            Policy {
                scope: PolicyScope::Local,
                src: any,
                dst: (ip("198.51.100.0"), 24),
                protocol: None,
                src_ports: None,
                dst_ports: None,
                dscp: None,
                target: PolicyTarget::NextHop {
                    vrf: 2,
                    via: ip("203.0.113.1"),
                },
            },
        ]
    );
    let shown = c.to_string();
    assert!(
        shown.contains("policies (in order; the first match decides)"),
        "{shown}"
    );
    assert!(shown.contains("udp any -> any dport 5000-5010"), "{shown}");
    assert!(shown.contains("into Tunnel75"), "{shown}");
}

#[test]
fn policy_mistakes_are_all_reported() {
    let text = format!(
        "{SEED}
[[policy]]
interface = \"lan\"
vrf = \"MAIN\"
set_vrf = \"BGP\"

[[policy]]
interface = \"lan\"

[[policy]]
interface = \"lan\"
dst_port = 80
tunnel = \"Tunnel99\"

[[policy]]
local = true
protocol = \"sctp\"
next_hop = \"10.9.9.9\"

[[policy]]
interface = \"lan\"
protocol = \"tcp\"
src_port = \"90-80\"
dscp = 64
src = \"10.1.0.1/24\"
next_hop = \"10.1.0.7\"
"
    );
    let e = errors(&text);
    let want = [
        ("policy[0] (lan)", "exactly one of: interface"),
        ("policy[1] (lan)", "exactly one action"),
        ("policy[2] (lan).dst_port", "ports need protocol"),
        ("policy[2] (lan).tunnel", "unknown tunnel \"Tunnel99\""),
        ("policy[3].protocol", "unknown protocol \"sctp\""),
        (
            "policy[3].next_hop",
            "10.9.9.9 is on no connected subnet of VRF \"default\"",
        ),
        ("policy[4] (lan).src", "host bits set"),
        ("policy[4] (lan).src_port", "is empty (low end first)"),
        ("policy[4] (lan).dscp", "64"),
    ];
    for (field, needle) in want {
        assert!(
            e.diagnostics
                .iter()
                .any(|d| d.field == field && d.message.contains(needle)),
            "no {field}: {needle} in\n{e}"
        );
    }
    assert_eq!(e.diagnostics.len(), want.len(), "{e}");
}
