//! The gRPC control endpoint against a running router on a real socket:
//! every call once, config transactions (bad candidates, conflicts), and
//! 100 config changes applied while traffic flows, without one packet
//! lost or misrouted.

use ctrl::api::proto::{self, weir_client::WeirClient};
use ctrl::config::{Config, ControlEndpoint, Env, ListenAddr};
use ctrl::router::{Router, RunOptions};
use prost::Message;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic::Code;

/// Two `gen` ports in VRF MAIN sending to each other's host (one host
/// each, with static ARP entries so nothing is lost to resolution), a
/// tunnel, and `extra` appended verbatim.
fn config(rate: u64, count: u64, extra: &str) -> String {
    let count = if count == 0 {
        String::new()
    } else {
        format!(", count = {count}")
    };
    format!(
        r#"
[workers]
cores = [0]
pool_size = 8192

[[vrf]]
name = "MAIN"
table = 1

[[interface]]
name = "a"
vrf = "MAIN"
addresses = ["10.1.0.1/24"]
gen = {{ src = "10.1.0.2", dst = "10.2.0.2", frame_size = 64, rate = "{rate}pps"{count} }}

[[interface]]
name = "b"
vrf = "MAIN"
addresses = ["10.2.0.1/24"]
gen = {{ src = "10.2.0.2", dst = "10.1.0.2", frame_size = 64, rate = "{rate}pps"{count} }}

[[neighbor]]
interface = "a"
address = "10.1.0.2"
mac = "02:67:65:00:00:00"

[[neighbor]]
interface = "b"
address = "10.2.0.2"
mac = "02:67:65:00:01:00"

[[tunnel]]
name = "gre1"
vrf = "MAIN"
underlay_vrf = "MAIN"
source = "b"
destination = "10.2.0.9"
key = 7
addresses = ["10.9.0.1/30"]

[[route]]
vrf = "MAIN"
prefix = "172.16.0.0/16"
via = "10.2.0.2"
{extra}"#
    )
}

/// One router at a time: each keeps a worker core busy, and the machines
/// that run these tests have few cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn start(text: &str) -> (Router, SocketAddr) {
    let cfg = Config::from_str_with(text, Path::new("api.toml"), &Env { cpus: 2 })
        .unwrap_or_else(|e| panic!("{e}"));
    let r = Router::start(
        cfg,
        RunOptions {
            pin: false,
            source: Some(text.to_string()),
            endpoint: Some(ControlEndpoint {
                listen: Some(ListenAddr {
                    addr: "127.0.0.1:0".parse().unwrap(),
                    explicit: true,
                }),
                metrics: None,
                ..ControlEndpoint::default()
            }),
            ..RunOptions::default()
        },
    )
    .unwrap();
    let addr = r.endpoint().and_then(|e| e.addr).expect("endpoint runs");
    (r, addr)
}

async fn client(addr: SocketAddr) -> WeirClient<Channel> {
    WeirClient::connect(format!("http://{addr}")).await.unwrap()
}

fn candidate(text: &str) -> proto::ConfigCandidate {
    proto::ConfigCandidate {
        text: text.into(),
        path: "candidate.toml".into(),
    }
}

#[tokio::test]
async fn every_call_answers_from_the_running_router() {
    let _serial = SERIAL.lock().await;
    let text = config(1000, 0, "");
    let (_r, addr) = start(&text);
    let mut c = client(addr).await;

    let running = c
        .get_config(proto::GetConfigRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(running.text, text);
    assert_eq!(running.version, 1);

    let itfs = c
        .show_interfaces(proto::ShowRequest {})
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = itfs
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.kind.as_str()))
        .collect();
    assert_eq!(names, [("a", "port"), ("b", "port"), ("gre1", "tunnel")]);
    assert_eq!(itfs.interfaces[0].vrf, "MAIN");
    assert_eq!(itfs.interfaces[0].addresses, ["10.1.0.1/24"]);
    assert_eq!(itfs.interfaces[0].mtu, 1500);
    assert_eq!(itfs.interfaces[2].mtu, 1500 - 28);

    let vrfs = c
        .show_vrfs(proto::ShowRequest {})
        .await
        .unwrap()
        .into_inner();
    let main = vrfs.vrfs.iter().find(|v| v.name == "MAIN").unwrap();
    assert_eq!(main.interfaces, ["a", "b", "gre1"]);
    assert!(main.fib_prefixes >= 4, "{main:?}");

    let routes = c
        .show_routes(proto::RoutesRequest {
            vrf: "MAIN".into(),
            prefix: "172.16.0.0/12".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(routes.routes.len(), 1, "{routes:?}");
    let r = &routes.routes[0];
    assert_eq!(
        (
            r.prefix.as_str(),
            r.source.as_str(),
            r.via.as_str(),
            r.interface.as_str()
        ),
        ("172.16.0.0/16", "static", "10.2.0.2", "b")
    );
    let err = c
        .show_routes(proto::RoutesRequest {
            vrf: "NOPE".into(),
            prefix: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("MAIN"), "{}", err.message());

    let l = c
        .lookup_route(proto::LookupRequest {
            vrf: "MAIN".into(),
            address: "172.16.3.4".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(l.found);
    assert_eq!(l.route.unwrap().prefix, "172.16.0.0/16");
    assert_eq!(
        l.forwarding,
        "forward via 10.2.0.2 on b (02:67:65:00:01:00)"
    );
    let miss = c
        .lookup_route(proto::LookupRequest {
            vrf: "MAIN".into(),
            address: "8.8.8.8".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!miss.found);

    let n = c
        .show_neighbors(proto::ShowRequest {})
        .await
        .unwrap()
        .into_inner();
    let statics: Vec<_> = n
        .neighbors
        .iter()
        .map(|n| (n.interface.as_str(), n.address.as_str(), n.state.as_str()))
        .collect();
    assert!(
        statics.contains(&("b", "10.2.0.2", "static")),
        "{statics:?}"
    );

    let t = c
        .show_tunnels(proto::ShowRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.tunnels.len(), 1);
    assert_eq!(t.tunnels[0].key, Some(7));
    assert_eq!(t.tunnels[0].state, "up");

    let w = c
        .show_workers(proto::ShowRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(w.workers.len(), 1);
    assert_eq!(w.workers[0].queues, ["a/0", "b/0"]);
    // Stalls (if the machine took the worker's core away) add up.
    let wc = w.workers[0].counters.unwrap();
    assert!(wc.stalled_ns >= wc.longest_stall_ns, "{wc:?}");
    assert!(wc.stalled_off_cpu_ns <= wc.stalled_ns, "{wc:?}");
    assert_eq!(wc.stalls == 0, wc.stalled_ns == 0, "{wc:?}");

    // Counters move while the generators run.
    let first = c
        .get_counters(proto::ShowRequest {})
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut watch = c
        .watch_counters(proto::WatchRequest { interval_ms: 50 })
        .await
        .unwrap()
        .into_inner();
    let mut samples = Vec::new();
    for _ in 0..3 {
        samples.push(watch.message().await.unwrap().unwrap());
    }
    let rx = |c: &proto::Counters| c.ports[0].counters.unwrap().rx_packets;
    assert!(rx(&samples[0]) > rx(&first), "{first:?} {samples:?}");
    assert!(samples[2].uptime_ns > samples[0].uptime_ns);
    assert!(samples[2].workers[0].counters.unwrap().forwarded > 0);
}

#[tokio::test]
async fn a_bad_candidate_is_rejected_whole_and_the_running_config_is_untouched() {
    let _serial = SERIAL.lock().await;
    let text = config(1000, 0, "");
    let (_r, addr) = start(&text);
    let mut c = client(addr).await;
    let bad = text.replace(
        "vrf = \"MAIN\"\naddresses = [\"10.2.0.1/24\"]",
        "vrf = \"NOPE\"\naddresses = [\"10.2.0.1/24\"]",
    ) + "\n[[route]]\nprefix = \"10.99.0.0/16\"\nvia = \"192.0.2.1\"\n";

    let check = c.check_config(candidate(&bad)).await.unwrap().into_inner();
    assert!(!check.valid);
    let fields: Vec<_> = check.errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"interface[1] (b).vrf"), "{check:?}");
    assert!(check
        .errors
        .iter()
        .all(|e| e.file == "candidate.toml" && e.line > 0));

    let err = c
        .apply_config(proto::ApplyRequest {
            candidate: Some(candidate(&bad)),
            base_version: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = proto::CheckReply::decode(err.details()).unwrap();
    assert_eq!(details.errors, check.errors);
    assert!(
        err.message().contains("nothing was applied"),
        "{}",
        err.message()
    );

    let after = c
        .get_config(proto::GetConfigRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.text.as_bytes(), text.as_bytes());
    assert_eq!(after.version, 1);

    // A valid candidate lists what it would change, and applies it.
    let good = config(
        1000,
        0,
        "\n[[route]]\nvrf = \"MAIN\"\nprefix = \"10.99.0.0/16\"\nvia = \"10.2.0.2\"\n",
    );
    let check = c.check_config(candidate(&good)).await.unwrap().into_inner();
    assert!(check.valid, "{check:?}");
    assert_eq!(check.changes.len(), 1);
    assert_eq!(check.changes[0].name, "MAIN 10.99.0.0/16 distance 1");
    // Changing the workers needs a restart: refused, nothing changed.
    let restart = good.replace("cores = [0]", "cores = [0, 1]");
    let err = c
        .apply_config(proto::ApplyRequest {
            candidate: Some(candidate(&restart)),
            base_version: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("restart"), "{}", err.message());
    assert_eq!(
        c.get_config(proto::GetConfigRequest {})
            .await
            .unwrap()
            .into_inner()
            .version,
        1
    );
}

#[tokio::test]
async fn two_clients_applying_on_the_same_version_one_wins_one_conflicts() {
    let _serial = SERIAL.lock().await;
    let text = config(1000, 0, "");
    let (_r, addr) = start(&text);
    let (mut c1, mut c2) = (client(addr).await, client(addr).await);
    let v1 = c1
        .get_config(proto::GetConfigRequest {})
        .await
        .unwrap()
        .into_inner()
        .version;
    let v2 = c2
        .get_config(proto::GetConfigRequest {})
        .await
        .unwrap()
        .into_inner()
        .version;
    assert_eq!(v1, v2);
    let mine = config(
        1000,
        0,
        "\n[[route]]\nvrf = \"MAIN\"\nprefix = \"10.50.0.0/16\"\nvia = \"10.2.0.2\"\n",
    );
    let theirs = config(
        1000,
        0,
        "\n[[route]]\nvrf = \"MAIN\"\nprefix = \"10.60.0.0/16\"\nvia = \"10.2.0.2\"\n",
    );
    let won = c1
        .apply_config(proto::ApplyRequest {
            candidate: Some(candidate(&mine)),
            base_version: v1,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(won.version, v1 + 1);
    let lost = c2
        .apply_config(proto::ApplyRequest {
            candidate: Some(candidate(&theirs)),
            base_version: v2,
        })
        .await
        .unwrap_err();
    assert_eq!(lost.code(), Code::Aborted);
    assert!(
        lost.message().contains(&format!("version {}", v1 + 1)),
        "{}",
        lost.message()
    );
    let now = c2
        .get_config(proto::GetConfigRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.text, mine);
    // Applying the config that runs changes nothing, not even the version.
    let same = c2
        .apply_config(proto::ApplyRequest {
            candidate: Some(candidate(&mine)),
            base_version: now.version,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((same.version, same.changes.len()), (now.version, 0));
    let routes = c2
        .show_routes(proto::RoutesRequest {
            vrf: "MAIN".into(),
            prefix: "10.0.0.0/8".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let prefixes: Vec<_> = routes.routes.iter().map(|r| r.prefix.as_str()).collect();
    assert!(prefixes.contains(&"10.50.0.0/16") && !prefixes.contains(&"10.60.0.0/16"));
}

/// The `i`th of the changes: unrelated routes come and go, and every
/// tenth change adds or removes a whole interface.
fn change(i: u32, rate: u64, count: u64) -> String {
    let mut extra = String::new();
    for k in 0..(i % 7) {
        extra += &format!(
            "\n[[route]]\nvrf = \"MAIN\"\nprefix = \"198.51.{}.0/24\"\nvia = \"10.2.0.2\"\n",
            (i + k) % 200
        );
    }
    if (i / 10) % 2 == 1 {
        extra += "\n[[interface]]\nname = \"extra\"\nvrf = \"MAIN\"\naddresses = [\"10.77.0.1/24\"]\nmem = { link = \"outside\" }\n";
    }
    config(rate, count, &extra)
}

#[tokio::test]
async fn hundred_changes_under_traffic_lose_and_misroute_nothing() {
    let _serial = SERIAL.lock().await;
    let (rate, count) = (20_000, 160_000);
    let text = config(rate, count, "");
    let (r, addr) = start(&text);
    let mut c = client(addr).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut version = 1;
    let mut renumbered = 0;
    let applying = Instant::now();
    for i in 1..=100u32 {
        let reply = c
            .apply_config(proto::ApplyRequest {
                candidate: Some(candidate(&change(i, rate, count))),
                base_version: version,
            })
            .await
            .unwrap_or_else(|e| panic!("change {i}: {e:?}"))
            .into_inner();
        assert_eq!(reply.version, version + 1);
        version = reply.version;
        renumbered += reply
            .changes
            .iter()
            .filter(|c| c.object == "interface")
            .count();
    }
    assert_eq!(renumbered, 10, "interfaces added and removed");
    eprintln!("100 changes applied in {:?}", applying.elapsed());
    let gen = |name: &str| {
        r.stats()
            .ports()
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.gen.clone())
            .unwrap()
            .snapshot()
    };
    assert!(
        gen("a").generated < count,
        "the changes must happen while traffic flows; this machine was too slow"
    );
    // Let the generators finish and the last packets arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    while (gen("a").generated < count || gen("b").generated < count) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (a, b) = (gen("a"), gen("b"));
    assert_eq!((a.generated, b.generated), (count, count));
    assert_eq!(a.lost_to(&[&b]), 0, "a → b lost packets");
    assert_eq!(b.lost_to(&[&a]), 0, "b → a lost packets");
    for s in [&a, &b] {
        assert_eq!(s.sink_packets, count, "{s:?}");
        assert_eq!(
            (
                s.sink_lost,
                s.sink_reordered,
                s.sink_duplicate,
                s.sink_other
            ),
            (0, 0, 0, 0)
        );
    }
    let drops = r.stats().pipeline().drops.iter().sum::<u64>();
    assert_eq!(drops, 0);
    assert!(r.stats().control.snapshots.get() >= 101);
}

#[tokio::test]
async fn capture_streams_a_ports_packets_and_ends_when_a_change_renumbers_it() {
    let _serial = SERIAL.lock().await;
    let text = config(2000, 0, "");
    let (_r, addr) = start(&text);
    let mut c = client(addr).await;
    let mut s = c
        .capture(proto::CaptureRequest {
            interface: "b".into(),
            direction: proto::capture_request::Direction::Tx as i32,
            count: 20,
            snaplen: 0,
            filter: Some(proto::CaptureFilter {
                dst: "10.2.0.0/24".into(),
                protocol: Some(17),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    while let Some(p) = s.message().await.unwrap() {
        got.push(p);
    }
    assert_eq!(got.len(), 20);
    for p in &got {
        assert_eq!(p.direction, "tx");
        assert_eq!(p.length as usize, p.data.len());
        // Sent to b's host, with b's MAC as the source, TTL decremented.
        assert_eq!(&p.data[..6], &[0x02, 0x67, 0x65, 0, 1, 0]);
        assert_eq!(&p.data[30..34], &[10, 2, 0, 2]);
        assert_eq!(p.data[22], 63);
    }
    let err = c
        .capture(proto::CaptureRequest {
            interface: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // A capture on b while a change puts an interface before it.
    let mut s = c
        .capture(proto::CaptureRequest {
            interface: "b".into(),
            direction: proto::capture_request::Direction::Rx as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(s.message().await.unwrap().is_some());
    let front = "[[interface]]\nname = \"zero\"\nmem = { link = \"z\" }\n".to_string() + &text;
    c.apply_config(proto::ApplyRequest {
        candidate: Some(candidate(&front)),
        base_version: 1,
    })
    .await
    .unwrap();
    let end = loop {
        match s.message().await {
            Ok(Some(p)) => assert_eq!(&p.data[30..34], &[10, 1, 0, 2], "only b's packets"),
            Ok(None) => panic!("the stream must say why it ended"),
            Err(e) => break e,
        }
    };
    assert_eq!(end.code(), Code::Aborted);
    assert!(end.message().contains("renumbered"), "{}", end.message());
    let w = c
        .show_workers(proto::ShowRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(w.workers[0].queues, ["zero/0", "a/0", "b/0"]);
}
