//! Pipeline golden tests: a capture in, the expected captures out.
//!
//! A whole router (config, control thread, worker) runs on `pcap` ports:
//! `p0` replays `tests/golden/<case>.in.pcap` and both ports record what
//! they send. The recordings must equal `tests/golden/<case>.p0.pcap` and
//! `.p1.pcap` byte for byte (timestamps are deterministic). Set
//! `WEIR_BLESS=1` to (re)write the expected files after checking a change
//! with tshark.

use ctrl::config::Config;
use ctrl::router::{Router, RunOptions};
use pipeline::testing;
use pmd::drivers::pcap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const R0: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x01];
const R1: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x02];
const H0: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
const H1: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The input of the `forward` case: one frame per behaviour.
fn forward_input() -> Vec<Vec<u8>> {
    let h0 = a("10.1.0.2");
    let mut bad_csum = testing::udp(R0, H0, h0, a("10.2.0.2"), 64, 18);
    bad_csum[24] ^= 0x55;
    vec![
        // Routed to the static neighbor on p1.
        testing::udp(R0, H0, h0, a("10.2.0.2"), 64, 18),
        // TTL 1: ICMP time exceeded back out p0.
        testing::udp(R0, H0, h0, a("10.2.0.2"), 1, 18),
        // Echo to the router: echo reply out p0.
        testing::echo_request(R0, H0, h0, a("10.1.0.1"), 0x77, 1, b"golden"),
        // Bad header checksum: dropped.
        bad_csum,
        // No route: ICMP net unreachable out p0.
        testing::udp(R0, H0, h0, a("192.0.2.1"), 64, 18),
        // TCP with options: routed.
        testing::tcp_syn(R0, H0, h0, a("10.2.0.2")),
        // IPv4 options (record route, empty): routed.
        testing::with_ipv4_options(
            &testing::udp(R0, H0, h0, a("10.9.1.1"), 64, 0),
            &[7, 7, 4, 0, 0, 0, 0, 0],
        ),
        // Reject route: ICMP host unreachable out p0.
        testing::udp(R0, H0, h0, a("10.66.0.1"), 64, 18),
        // Blackhole: silently dropped.
        testing::udp(R0, H0, h0, a("10.67.0.1"), 64, 18),
        // Host on p1 nobody knows: ARP request out p1 (the packet is held).
        testing::udp(R0, H0, h0, a("10.2.0.99"), 64, 18),
        // ARP request for the router: ARP reply out p0.
        testing::arp_request(H0, h0, a("10.1.0.1")),
    ]
}

const FORWARD_CONFIG: &str = r#"
[workers]
cores = [0]
pool_size = 1024

[[interface]]
name = "p0"
mac = "02:77:00:00:00:01"
addresses = ["10.1.0.1/24"]
pcap = { rx = "in.pcap", tx = "p0.pcap", deterministic = true }

[[interface]]
name = "p1"
mac = "02:77:00:00:00:02"
addresses = ["10.2.0.1/24"]
pcap = { tx = "p1.pcap", deterministic = true }

[[neighbor]]
interface = "p0"
address = "10.1.0.2"
mac = "02:00:00:00:00:a0"

[[neighbor]]
interface = "p1"
address = "10.2.0.2"
mac = "02:00:00:00:00:a1"

[[route]]
prefix = "10.9.0.0/16"
via = "10.2.0.2"

[[route]]
prefix = "10.66.0.0/16"
action = "reject"

[[route]]
prefix = "10.67.0.0/16"
action = "blackhole"
"#;

/// Run a router on `config` in a fresh directory holding `input` as
/// in.pcap until its counters settle; return the recorded p0 and p1 frames.
fn run_case(name: &str, config: &str, input: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = std::env::temp_dir().join(format!("weir-golden-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let frames: Vec<&[u8]> = input.iter().map(|f| f.as_slice()).collect();
    pcap::write_pcap(dir.join("in.pcap"), &frames).unwrap();
    let cfg_path = dir.join("router.toml");
    std::fs::write(&cfg_path, config).unwrap();
    let cfg = Config::load(&cfg_path).unwrap_or_else(|e| panic!("{e}"));
    let mut router = Router::start(
        cfg,
        RunOptions {
            pin: false,
            ..RunOptions::default()
        },
    )
    .unwrap();
    // Wait until nothing has moved for 300 ms (the ARP retransmit timer is
    // 1 s, so the recording holds exactly the first request).
    let start = Instant::now();
    let mut last = (0, 0);
    let mut still_since = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
        let s = router.stats();
        let tx: u64 = s.ports().iter().map(|p| p.counters().tx_packets).sum();
        let now = (tx, s.pipeline().forwarded);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if tx > 0 && still_since.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    router.stop();
    drop(router);
    let read = |f: &str| -> Vec<Vec<u8>> {
        pcap::read_pcap_file(dir.join(f))
            .unwrap()
            .into_iter()
            .map(|r| r.data)
            .collect()
    };
    let out = (read("p0.pcap"), read("p1.pcap"));
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn check_against_golden(case: &str, port: &str, got: &[Vec<u8>]) {
    let path = golden_dir().join(format!("{case}.{port}.pcap"));
    if std::env::var_os("WEIR_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        let frames: Vec<&[u8]> = got.iter().map(|f| f.as_slice()).collect();
        pcap::write_pcap(&path, &frames).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let want: Vec<Vec<u8>> = pcap::read_pcap_file(&path)
        .unwrap_or_else(|e| panic!("{e} (run with WEIR_BLESS=1 to create it)"))
        .into_iter()
        .map(|r| r.data)
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "{case}.{port}: {} frames, expected {}",
        got.len(),
        want.len()
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{case}.{port}: frame {i} differs");
    }
}

#[test]
fn forward_golden() {
    let input = forward_input();
    let (p0, p1) = run_case("forward", FORWARD_CONFIG, &input);
    check_against_golden("forward", "p0", &p0);
    check_against_golden("forward", "p1", &p1);

    // Independently of the golden files, the essentials:
    // p1 gets the routed UDP, TCP and options packets, and one ARP request.
    assert_eq!(p1.len(), 4, "p1: {p1:02x?}");
    for f in &p1[..3] {
        assert_eq!(&f[..12], &[H1, R1].concat());
        assert!(testing::ipv4_checksum_ok(&f[14..]));
        assert_eq!(f[22], 63, "TTL decremented");
    }
    let arp = &p1[3];
    assert_eq!(&arp[..6], &[0xff; 6]);
    assert_eq!(&arp[12..14], &[0x08, 0x06]);
    assert_eq!(&arp[38..42], &a("10.2.0.99").octets());
    // p0 gets: time exceeded, echo reply, net unreachable, host
    // unreachable (worker, in input order), then the ARP reply (control).
    let kinds: Vec<(u8, u8)> = p0[..4].iter().map(|f| (f[34], f[35])).collect();
    assert_eq!(
        kinds,
        vec![(11, 0), (0, 0), (3, 0), (3, 1)],
        "p0: {p0:02x?}"
    );
    assert_eq!(p0.len(), 5);
    assert_eq!(&p0[4][12..14], &[0x08, 0x06]);
    assert_eq!(&p0[4][20..22], &[0, 2], "ARP reply");
    assert_eq!(&p0[4][22..28], &R0, "with the router's MAC");
}

/// tshark, an independent dissector, finds nothing malformed and no bad
/// checksum in what the router sent.
#[test]
fn tshark_accepts_golden_output() {
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: tshark_accepts_golden_output: tshark is not installed");
        return;
    }
    for port in ["p0", "p1"] {
        let path = golden_dir().join(format!("forward.{port}.pcap"));
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&path)
            .args([
                "-o",
                "ip.check_checksum:TRUE",
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "udp.check_checksum:TRUE",
                "-Y",
                "_ws.malformed || _ws.expert.severity >= \"warning\" || ip.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\"",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.trim().is_empty(),
            "tshark flags frames in {port}:\n{text}"
        );
        let all = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!String::from_utf8_lossy(&all.stdout).trim().is_empty());
    }
}
