//! `weir ctl` against a fake control endpoint: an in-process tonic server
//! answering fixed messages, on TCP and on a Unix socket. It checks the
//! client only (what it sends, prints and exits with); the real server is
//! tested in ctrl.

use ctrl::api::proto::config_change::Kind;
use ctrl::api::proto::weir_server::{Weir, WeirServer};
use ctrl::api::proto::*;
use prost::Message;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// The version the fake's running config has.
const RUNNING: u64 = 7;

/// What the fake was asked, for the tests to check.
#[derive(Default, Debug)]
struct Seen {
    auth: Vec<Option<String>>,
    routes: Option<RoutesRequest>,
    lookup: Option<LookupRequest>,
    check: Option<ConfigCandidate>,
    apply: Vec<u64>,
    watch_interval: Option<u32>,
    capture: Option<CaptureRequest>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Seen>>);

type Stream2<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl Fake {
    /// Records the token of a call.
    fn note<T>(&self, req: &Request<T>) {
        drop(self.saw(req));
    }

    /// Records the token of a call, and hands the record over for more.
    fn saw<T>(&self, req: &Request<T>) -> std::sync::MutexGuard<'_, Seen> {
        let mut s = self.0.lock().unwrap();
        let auth = req
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string());
        s.auth.push(auth);
        s
    }
}

fn port_counters(n: u64) -> PortCounters {
    PortCounters {
        rx_packets: n,
        rx_bytes: n * 64,
        tx_packets: n,
        tx_bytes: n * 64,
        rx_missed: 3,
        rx_errors: 0,
        tx_dropped: 1,
    }
}

fn route(vrf: &str, prefix: &str, via: &str, best: bool) -> Route {
    Route {
        vrf: vrf.into(),
        prefix: prefix.into(),
        source: "static".into(),
        distance: 1,
        best,
        via: via.into(),
        interface: "gen1".into(),
        next_hop_vrf: String::new(),
        action: "forward".into(),
    }
}

fn counters(i: u64) -> Counters {
    Counters {
        uptime_ns: 5_000_000_000 + i * 500_000_000,
        generation: 2,
        ports: vec![PortStat {
            name: "gen0".into(),
            counters: Some(port_counters(1_000_000 * i)),
        }],
        workers: vec![WorkerStat {
            id: 0,
            counters: Some(WorkerCounters {
                rx_packets: 1_000_000 * i,
                forwarded: 990_000 * i,
                dropped: 10_000 * i,
                ..Default::default()
            }),
            drops: HashMap::from([("no-route".to_string(), 10_000 * i)]),
        }],
        drops: HashMap::from([("no-route".to_string(), 10_000 * i)]),
        control: HashMap::from([("arp_requests".to_string(), 4)]),
    }
}

fn invalid_reply(path: &str) -> CheckReply {
    CheckReply {
        valid: false,
        errors: vec![ConfigError {
            file: path.into(),
            line: 3,
            column: 7,
            field: "interface[0] (gen0).vrf".into(),
            message: "unknown VRF \"FOO\" (defined: default)".into(),
        }],
        changes: vec![],
    }
}

fn change() -> ConfigChange {
    ConfigChange {
        kind: Kind::Added as i32,
        object: "interface".into(),
        name: "gen3".into(),
        detail: String::new(),
    }
}

#[tonic::async_trait]
impl Weir for Fake {
    async fn get_config(
        &self,
        req: Request<GetConfigRequest>,
    ) -> Result<Response<ConfigText>, Status> {
        self.note(&req);
        Ok(Response::new(ConfigText {
            text: "# running\n[workers]\ncores = [1]\n".into(),
            path: "/etc/weir/weir.toml".into(),
            version: RUNNING,
        }))
    }

    async fn check_config(
        &self,
        req: Request<ConfigCandidate>,
    ) -> Result<Response<CheckReply>, Status> {
        let c = req.get_ref().clone();
        self.saw(&req).check = Some(c.clone());
        if c.text.contains("bad") {
            return Ok(Response::new(invalid_reply(&c.path)));
        }
        Ok(Response::new(CheckReply {
            valid: true,
            errors: vec![],
            changes: vec![change()],
        }))
    }

    async fn apply_config(
        &self,
        req: Request<ApplyRequest>,
    ) -> Result<Response<ApplyReply>, Status> {
        let r = req.get_ref().clone();
        self.saw(&req).apply.push(r.base_version);
        let cand = r.candidate.unwrap_or_default();
        if cand.text.contains("bad") {
            let details = invalid_reply(&cand.path).encode_to_vec();
            return Err(Status::with_details(
                tonic::Code::InvalidArgument,
                "the config does not validate",
                details.into(),
            ));
        }
        if r.base_version != 0 && r.base_version != RUNNING {
            return Err(Status::aborted(format!("running version is {RUNNING}")));
        }
        Ok(Response::new(ApplyReply {
            version: RUNNING + 1,
            changes: vec![change()],
        }))
    }

    async fn show_interfaces(
        &self,
        req: Request<ShowRequest>,
    ) -> Result<Response<InterfaceList>, Status> {
        self.note(&req);
        let iface = |name: &str, vrf: &str, n| Interface {
            name: name.into(),
            kind: "port".into(),
            driver: "gen".into(),
            state: "up".into(),
            mac: "02:00:00:00:00:01".into(),
            mtu: 1500,
            vrf: vrf.into(),
            addresses: vec!["10.0.0.1/24".into()],
            counters: Some(port_counters(n)),
            queues: 1,
        };
        Ok(Response::new(InterfaceList {
            interfaces: vec![iface("gen0", "MAIN", 1_234_567), iface("gen1", "BGP", 7)],
        }))
    }

    async fn show_vrfs(&self, req: Request<ShowRequest>) -> Result<Response<VrfList>, Status> {
        self.note(&req);
        Ok(Response::new(VrfList {
            vrfs: vec![Vrf {
                name: "MAIN".into(),
                table: 10,
                rd: "65000:1".into(),
                interfaces: vec!["gen0".into(), "gre1".into()],
                routes: 12_345,
                fib_prefixes: 12_000,
                imports: vec![],
            }],
        }))
    }

    async fn show_routes(
        &self,
        req: Request<RoutesRequest>,
    ) -> Result<Response<RouteList>, Status> {
        let r = req.get_ref().clone();
        self.saw(&req).routes = Some(r.clone());
        if r.vrf == "NOPE" {
            return Err(Status::not_found("unknown VRF \"NOPE\""));
        }
        let mut leaked = route("MAIN", "192.168.0.0/16", "10.9.0.1", true);
        leaked.next_hop_vrf = "BGP".into();
        let routes = vec![
            route("MAIN", "10.0.0.0/8", "10.0.0.2", true),
            route("MAIN", "10.0.0.0/8", "10.0.0.3", false),
            leaked,
            route("BGP", "0.0.0.0/0", "172.16.0.1", true),
        ];
        Ok(Response::new(RouteList {
            routes: routes
                .into_iter()
                .filter(|x| r.vrf.is_empty() || x.vrf == r.vrf)
                .collect(),
        }))
    }

    async fn lookup_route(
        &self,
        req: Request<LookupRequest>,
    ) -> Result<Response<LookupReply>, Status> {
        let r = req.get_ref().clone();
        self.saw(&req).lookup = Some(r.clone());
        let found = r.address.starts_with("10.");
        Ok(Response::new(LookupReply {
            found,
            route: found.then(|| route(&r.vrf, "10.0.0.0/8", "10.0.0.2", true)),
            forwarding: if found {
                "forward via 10.0.0.2 on gen1 (02:00:00:00:00:02)".into()
            } else {
                String::new()
            },
        }))
    }

    async fn show_neighbors(
        &self,
        req: Request<ShowRequest>,
    ) -> Result<Response<NeighborList>, Status> {
        self.note(&req);
        Ok(Response::new(NeighborList {
            neighbors: vec![
                Neighbor {
                    interface: "gen1".into(),
                    address: "10.0.0.2".into(),
                    mac: "02:00:00:00:00:02".into(),
                    state: "reachable".into(),
                    gateway: true,
                    held: 0,
                },
                Neighbor {
                    interface: "gen1".into(),
                    address: "10.0.0.9".into(),
                    mac: String::new(),
                    state: "incomplete".into(),
                    gateway: false,
                    held: 3,
                },
            ],
        }))
    }

    async fn show_tunnels(
        &self,
        req: Request<ShowRequest>,
    ) -> Result<Response<TunnelList>, Status> {
        self.note(&req);
        Ok(Response::new(TunnelList {
            tunnels: vec![Tunnel {
                name: "gre1".into(),
                vrf: "MAIN".into(),
                underlay_vrf: "BGP".into(),
                source: "192.0.2.1".into(),
                destination: "192.0.2.2".into(),
                key: Some(42),
                mtu: 1476,
                state: "up".into(),
                keepalive_interval: 10,
                keepalive_retries: 3,
                hairpin: true,
                addresses: vec!["172.31.0.1/30".into()],
            }],
        }))
    }

    async fn show_workers(
        &self,
        req: Request<ShowRequest>,
    ) -> Result<Response<WorkerList>, Status> {
        self.note(&req);
        Ok(Response::new(WorkerList {
            workers: vec![Worker {
                id: 0,
                core: Some(2),
                queues: vec!["gen0/0".into(), "gen1/0".into()],
                generation: 2,
                counters: counters(1).workers[0].counters,
            }],
        }))
    }

    async fn get_counters(&self, req: Request<ShowRequest>) -> Result<Response<Counters>, Status> {
        self.note(&req);
        Ok(Response::new(counters(2)))
    }

    type WatchCountersStream = Stream2<Counters>;

    async fn watch_counters(
        &self,
        req: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchCountersStream>, Status> {
        self.saw(&req).watch_interval = Some(req.get_ref().interval_ms);
        let samples: Vec<_> = (1..=5).map(|i| Ok(counters(i))).collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(samples))))
    }

    type CaptureStream = Stream2<CapturedPacket>;

    /// Three packets, then (without a count) nothing until the client
    /// goes away.
    async fn capture(
        &self,
        req: Request<CaptureRequest>,
    ) -> Result<Response<Self::CaptureStream>, Status> {
        let r = req.get_ref().clone();
        self.saw(&req).capture = Some(r.clone());
        if r.interface != "gen0" {
            return Err(Status::not_found(format!("no port {:?}", r.interface)));
        }
        let snaplen = r.snaplen as usize;
        let packets: Vec<_> = [60u32, 98, 1514]
            .into_iter()
            .enumerate()
            .map(|(i, len)| {
                let mut data: Vec<u8> = (0..len).map(|b| b as u8).collect();
                data.truncate(snaplen);
                Ok(CapturedPacket {
                    timestamp_ns: 1_700_000_000_000_000_000 + i as u64 * 1000,
                    direction: "rx".into(),
                    length: len,
                    data,
                    dropped: if i == 1 { 2 } else { 0 },
                })
            })
            .take(if r.count == 0 { 3 } else { r.count as usize })
            .collect();
        let s =
            tokio_stream::StreamExt::chain(tokio_stream::iter(packets), tokio_stream::pending());
        Ok(Response::new(Box::pin(s)))
    }
}

/// A fake endpoint on TCP and a Unix socket, served until dropped.
struct Server {
    rt: Option<tokio::runtime::Runtime>,
    tcp: String,
    unix: PathBuf,
    fake: Fake,
}

impl Server {
    fn start() -> Server {
        Server::start_with(None)
    }

    /// With TLS on TCP when `tls` is given (the Unix socket stays plain).
    fn start_with(tls: Option<tonic::transport::ServerTlsConfig>) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fake = Fake::default();
        // One socket per server: tests run in parallel.
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let unix = tmp(&format!("{}.sock", SERVERS.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_file(&unix);
        let (tcp, uds) = rt.block_on(async {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let uds = tokio::net::UnixListener::bind(&unix).unwrap();
            (tcp, uds)
        });
        let addr = tcp.local_addr().unwrap().to_string();
        let mut tcp_server = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            tcp_server = tcp_server.tls_config(tls).unwrap();
        }
        let svc = || WeirServer::new(fake.clone());
        rt.spawn(
            tcp_server
                .add_service(svc())
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(tcp)),
        );
        rt.spawn(
            tonic::transport::Server::builder()
                .add_service(svc())
                .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(uds)),
        );
        Server {
            rt: Some(rt),
            tcp: addr,
            unix,
            fake,
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.fake.0.lock().unwrap()
    }

    /// `weir ctl ARGS --address <the TCP endpoint>`.
    fn ctl(&self, args: &[&str]) -> Output {
        ctl_at(&self.tcp, args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        let _ = std::fs::remove_file(&self.unix);
    }
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("weir-ctl-{}-{name}", std::process::id()))
}

fn weir() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
    c.env_remove("WEIR_ADDRESS").env_remove("WEIR_TOKEN");
    c
}

fn ctl_at(address: &str, args: &[&str]) -> Output {
    weir()
        .arg("ctl")
        .args(args)
        .args(["--address", address])
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a zero exit and returns stdout.
fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

fn json(o: Output) -> serde_json::Value {
    let out = ok(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A unique file with this content, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let p = tmp(name);
        std::fs::write(&p, text).unwrap();
        TempFile(p)
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn show_tables_are_aligned_with_thousands_separators() {
    let s = Server::start();
    let out = ok(s.ctl(&["show", "interfaces"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("NAME  KIND  DRIVER  STATE  MAC"),
        "{out}"
    );
    assert!(lines[1].contains("1,234,567"), "{out}");
    // Columns line up: every row has RX-PACKETS ending where its header does.
    let end = lines[0].find("RX-PACKETS").unwrap() + "RX-PACKETS".len();
    assert_eq!(&lines[1][end - 9..end], "1,234,567", "{out}");
    assert_eq!(&lines[2][end - 1..end], "7", "{out}");

    let out = ok(s.ctl(&["show", "vrfs"]));
    assert!(
        out.contains("MAIN     10  65000:1  12,345  12,000  gen0,gre1   -"),
        "{out}"
    );
    let out = ok(s.ctl(&["show", "routes"]));
    assert!(out.contains("*  MAIN  10.0.0.0/8      10.0.0.2"), "{out}");
    assert!(out.contains("   MAIN  10.0.0.0/8      10.0.0.3"), "{out}");
    assert!(out.contains("10.9.0.1 (vrf BGP)"), "{out}");
    let out = ok(s.ctl(&["show", "neighbors"]));
    assert!(
        out.contains("gen1       10.0.0.9  -                  incomplete  no"),
        "{out}"
    );
    let out = ok(s.ctl(&["show", "tunnels"]));
    assert!(out.contains("gre1  up     MAIN  BGP"), "{out}");
    assert!(out.contains("10s x3"), "{out}");
    let out = ok(s.ctl(&["show", "workers"]));
    assert!(out.contains("gen0/0,gen1/0"), "{out}");
    let out = ok(s.ctl(&["show", "counters"]));
    assert!(
        out.contains("uptime 00:00:06, snapshot generation 2"),
        "{out}"
    );
    assert!(out.contains("no-route"), "{out}");
    assert!(out.contains("arp_requests"), "{out}");
    assert!(out.contains("2,000,000"), "{out}");
}

#[test]
fn every_show_has_json_with_the_fields() {
    let s = Server::start();
    let v = json(s.ctl(&["show", "interfaces", "--json"]));
    assert_eq!(v["interfaces"][0]["name"], "gen0");
    assert_eq!(v["interfaces"][0]["counters"]["rx_packets"], 1_234_567);
    assert_eq!(v["interfaces"][1]["addresses"][0], "10.0.0.1/24");
    let v = json(s.ctl(&["--json", "show", "vrfs"]));
    assert_eq!(v["vrfs"][0]["rd"], "65000:1");
    assert_eq!(v["vrfs"][0]["routes"], 12_345);
    let v = json(s.ctl(&["show", "routes", "--json"]));
    assert_eq!(v["routes"].as_array().unwrap().len(), 4);
    assert_eq!(v["routes"][2]["next_hop_vrf"], "BGP");
    assert_eq!(v["routes"][1]["best"], false);
    let v = json(s.ctl(&["show", "neighbors", "--json"]));
    assert_eq!(v["neighbors"][1]["held"], 3);
    let v = json(s.ctl(&["show", "tunnels", "--json"]));
    assert_eq!(v["tunnels"][0]["key"], 42);
    assert_eq!(v["tunnels"][0]["hairpin"], true);
    let v = json(s.ctl(&["show", "workers", "--json"]));
    assert_eq!(v["workers"][0]["core"], 2);
    assert_eq!(v["workers"][0]["counters"]["forwarded"], 990_000);
    let v = json(s.ctl(&["show", "counters", "--json"]));
    assert_eq!(v["ports"][0]["counters"]["tx_bytes"], 128_000_000);
    assert_eq!(v["drops"]["no-route"], 20_000);
    assert_eq!(v["workers"][0]["drops"]["no-route"], 20_000);
    assert_eq!(v["control"]["arp_requests"], 4);
}

#[test]
fn routes_of_one_vrf_inside_a_prefix_and_lookups() {
    let s = Server::start();
    let out = ok(s.ctl(&["show", "routes", "--vrf", "BGP", "0.0.0.0/0"]));
    assert!(!out.contains("MAIN"), "{out}");
    let r = s.seen().routes.clone().unwrap();
    assert_eq!((r.vrf.as_str(), r.prefix.as_str()), ("BGP", "0.0.0.0/0"));

    let out = ok(s.ctl(&["route", "lookup", "10.1.2.3", "--vrf", "MAIN"]));
    assert_eq!(
        out,
        "10.1.2.3 in VRF MAIN: 10.0.0.0/8 via 10.0.0.2 dev gen1 (static, distance 1, forward)\n\
         forwarding: forward via 10.0.0.2 on gen1 (02:00:00:00:00:02)\n"
    );
    let out = ok(s.ctl(&["route", "lookup", "192.0.2.1"]));
    assert_eq!(out, "192.0.2.1 in VRF default: no route\n");
    assert_eq!(s.seen().lookup.clone().unwrap().vrf, "default");
    let v = json(s.ctl(&["route", "lookup", "10.0.0.1", "--json"]));
    assert_eq!(v["found"], true);
    assert_eq!(v["route"]["prefix"], "10.0.0.0/8");
    assert_eq!(v["address"], "10.0.0.1");
}

#[test]
fn an_error_status_is_one_line_and_exit_1() {
    let s = Server::start();
    let o = s.ctl(&["show", "routes", "--vrf", "NOPE"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "weir: ShowRoutes: unknown VRF \"NOPE\" (NotFound)\n"
    );
}

#[test]
fn unix_socket_as_unix_uri_or_bare_path() {
    let s = Server::start();
    let path = s.unix.to_str().unwrap().to_string();
    for address in [format!("unix:{path}"), path.clone()] {
        let v = json(ctl_at(&address, &["show", "vrfs", "--json"]));
        assert_eq!(v["vrfs"][0]["name"], "MAIN", "{address}");
    }
}

#[test]
fn the_token_goes_with_every_call() {
    let s = Server::start();
    ok(s.ctl(&["show", "vrfs", "--token", "s3cret"]));
    ok(weir()
        .args(["ctl", "config", "apply", "--address", &s.tcp])
        .arg(TempFile::new("tok.toml", "[workers]\n").arg())
        .env("WEIR_TOKEN", "from-env")
        .output()
        .unwrap());
    ok(s.ctl(&["show", "vrfs"]));
    let auth = s.seen().auth.clone();
    let bearer = |t: &str| Some(format!("Bearer {t}"));
    assert_eq!(
        auth,
        [
            bearer("s3cret"),
            bearer("from-env"),
            bearer("from-env"),
            None
        ],
        "apply asks for the running version first, with the token too"
    );
}

#[test]
fn weir_address_sets_the_endpoint() {
    let s = Server::start();
    let o = weir()
        .args(["ctl", "show", "vrfs"])
        .env("WEIR_ADDRESS", &s.tcp)
        .output()
        .unwrap();
    assert!(ok(o).contains("MAIN"));
}

#[test]
fn config_get_prints_the_text_exactly() {
    let s = Server::start();
    assert_eq!(
        ok(s.ctl(&["config", "get"])),
        "# running\n[workers]\ncores = [1]\n"
    );
    let v = json(s.ctl(&["config", "get", "--json"]));
    assert_eq!(v["version"], RUNNING);
    assert_eq!(v["path"], "/etc/weir/weir.toml");
    assert_eq!(v["text"], "# running\n[workers]\ncores = [1]\n");
}

#[test]
fn config_check_valid_lists_changes_and_invalid_exits_2() {
    let s = Server::start();
    let good = TempFile::new("good.toml", "[workers]\ncores = [2]\n");
    let out = ok(s.ctl(&["config", "check", good.arg()]));
    assert!(out.contains("valid; applying it would change:"), "{out}");
    assert!(out.contains("+  interface  gen3"), "{out}");
    let sent = s.seen().check.clone().unwrap();
    assert_eq!(sent.text, "[workers]\ncores = [2]\n");
    assert!(Path::new(&sent.path).is_absolute());

    let bad = TempFile::new("bad.toml", "bad\n");
    let o = s.ctl(&["config", "check", bad.arg()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "{}:3:7: interface[0] (gen0).vrf: unknown VRF \"FOO\" (defined: default)\n\
             1 error; nothing was applied\n",
            bad.arg()
        )
    );
    let o = s.ctl(&["config", "check", bad.arg(), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["field"], "interface[0] (gen0).vrf");
    assert_eq!(v["errors"][0]["line"], 3);
}

#[test]
fn config_apply_uses_the_running_version_and_reports_conflicts() {
    let s = Server::start();
    let f = TempFile::new("apply.toml", "[workers]\n");
    let out = ok(s.ctl(&["config", "apply", f.arg()]));
    assert!(out.contains("+  interface  gen3"), "{out}");
    assert!(out.ends_with("applied: version 8 (1 change)\n"), "{out}");

    let o = s.ctl(&["config", "apply", f.arg(), "--base-version", "5"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("conflict: the running config changed (version 7;"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("get it again"));

    let v = json(s.ctl(&["config", "apply", f.arg(), "--force", "--json"]));
    assert_eq!(v["applied"], true);
    assert_eq!(v["version"], 8);
    assert_eq!(v["changes"][0]["kind"], "added");
    assert_eq!(s.seen().apply, [RUNNING, 5, 0]);
    let o = s.ctl(&["config", "apply", f.arg(), "--force", "--base-version", "3"]);
    assert_eq!(o.status.code(), Some(2), "clap rejects the pair");
}

#[test]
fn config_apply_invalid_prints_the_errors_from_the_status_details() {
    let s = Server::start();
    let bad = TempFile::new("bad-apply.toml", "bad\n");
    let o = s.ctl(&["config", "apply", bad.arg()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "{}:3:7: interface[0] (gen0).vrf: unknown VRF",
            bad.arg()
        )),
        "{err}"
    );
    assert!(err.ends_with("1 error; nothing was applied\n"), "{err}");
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// (incl_len, orig_len) of each record of a pcap file we wrote.
fn records(b: &[u8]) -> Vec<(u32, u32)> {
    let mut out = vec![];
    let mut at = 24;
    while at < b.len() {
        let (incl, orig) = (u32_at(b, at + 8), u32_at(b, at + 12));
        out.push((incl, orig));
        at += 16 + incl as usize;
    }
    assert_eq!(at, b.len());
    out
}

#[test]
fn capture_writes_a_pcap_that_tshark_reads() {
    let s = Server::start();
    let file = tmp("cap.pcap");
    let o = s.ctl(&[
        "capture",
        "gen0",
        "-w",
        file.to_str().unwrap(),
        "--count",
        "2",
        "--snaplen",
        "128",
        "--direction",
        "rx",
        "--filter",
        "src 10.0.0.0/8 and dst 10.1.2.3 and proto udp and vlan 10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2 packets captured, 2 dropped by the router"),
        "{}",
        stderr(&o)
    );
    let req = s.seen().capture.clone().unwrap();
    assert_eq!(req.interface, "gen0");
    assert_eq!(req.count, 2);
    assert_eq!(req.snaplen, 128);
    assert_eq!(req.direction, capture_request::Direction::Rx as i32);
    assert_eq!(
        req.filter.unwrap(),
        CaptureFilter {
            src: "10.0.0.0/8".into(),
            dst: "10.1.2.3".into(),
            host: String::new(),
            protocol: Some(17),
            vlan: Some(10),
        }
    );
    let b = std::fs::read(&file).unwrap();
    assert_eq!(u32_at(&b, 0), 0xa1b2_3c4d);
    assert_eq!(u32_at(&b, 16), 128, "snaplen");
    assert_eq!(u32_at(&b, 20), 1, "Ethernet");
    assert_eq!(records(&b), [(60, 60), (98, 98)]);

    match Command::new("tshark")
        .args([
            "-r",
            file.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.len",
        ])
        .output()
    {
        Ok(t) => {
            assert!(t.status.success(), "{}", stderr(&t));
            assert_eq!(stdout(&t), "60\n98\n");
        }
        Err(e) => eprintln!("note: tshark not run ({e}); the pcap was checked by hand only"),
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn capture_to_stdout_cuts_to_the_snaplen() {
    let s = Server::start();
    let o = s.ctl(&[
        "capture",
        "gen0",
        "-w",
        "-",
        "--count",
        "3",
        "--snaplen",
        "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(u32_at(&o.stdout, 0), 0xa1b2_3c4d);
    assert_eq!(records(&o.stdout), [(60, 60), (98, 98), (100, 1514)]);
    let req = s.seen().capture.clone().unwrap();
    assert_eq!(req.direction, capture_request::Direction::Both as i32);
    assert_eq!(req.filter, None);
}

#[test]
fn capture_flushes_the_file_on_ctrl_c() {
    let s = Server::start();
    let file = tmp("sigint.pcap");
    let mut child = weir()
        .args(["ctl", "capture", "gen0", "--address", &s.tcp, "-w"])
        .arg(&file)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("capturing on gen0"), "{line}");
    // The fake sends 3 packets at once, then nothing: they sit in the
    // writer's buffer until the interrupt.
    std::thread::sleep(Duration::from_millis(1000));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(status.success(), "{status:?}: {rest}");
    assert!(rest.contains("3 packets captured, 2 dropped"), "{rest}");
    let b = std::fs::read(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(records(&b).len(), 3);
}

#[test]
fn capture_rejects_a_bad_filter_before_connecting() {
    let o = ctl_at(
        "127.0.0.1:1",
        &["capture", "gen0", "-w", "/dev/null", "--filter", "port 53"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown term `port`"), "{}", stderr(&o));
}

#[test]
fn top_json_is_one_sample_per_line_with_rates() {
    let s = Server::start();
    let out = ok(s.ctl(&["top", "--json", "--count", "3", "--interval", "500"]));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(s.seen().watch_interval, Some(500));
    assert!(lines[0]["ports"][0]["rx_pps"].is_null());
    // 1M packets more every 0.5 s of uptime.
    assert_eq!(lines[1]["ports"][0]["rx_pps"], 2_000_000.0);
    assert_eq!(lines[1]["ports"][0]["rx_bps"], 1_024_000_000.0);
    assert_eq!(lines[2]["workers"][0]["dropped_pps"], 20_000.0);
    assert_eq!(lines[2]["interval_s"], 0.5);
}

#[test]
fn top_prints_tables_until_the_count() {
    let s = Server::start();
    let out = ok(s.ctl(&["top", "--count", "2"]));
    assert_eq!(out.matches("PORT").count(), 2, "{out}");
    assert!(out.contains("2.00M"), "{out}");
    assert!(
        !out.contains('\x1b'),
        "no screen control when not a terminal"
    );
}

#[test]
fn connection_failure_names_the_address() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let o = ctl_at(&address, &["show", "interfaces"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "weir: cannot reach the control endpoint at {address}: connection refused \
             (is weir running? --address sets another)\n"
        )
    );
    let sock = tmp("nobody.sock");
    let o = ctl_at(sock.to_str().unwrap(), &["show", "vrfs"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!(
            "cannot reach the control endpoint at {}: no such socket",
            sock.display()
        )),
        "{}",
        stderr(&o)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate,
/// made with the openssl command (none when it is missing).
fn make_certs(dir: &Path) -> Option<()> {
    let script = r#"
set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key; key server.key; key client.key
openssl req -x509 -key ca.key -out ca.pem -days 2 -subj /CN=weir-test-ca
openssl req -new -key server.key -out server.csr -subj /CN=weir-test-server
openssl req -new -key client.key -out client.csr -subj /CN=weir-test-client
printf 'subjectAltName=IP:127.0.0.1\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext 2>/dev/null
"#;
    match Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .status()
    {
        Ok(s) if s.success() => Some(()),
        other => {
            eprintln!("note: TLS test skipped: openssl could not make certificates ({other:?})");
            None
        }
    }
}

#[test]
fn mutual_tls_with_a_ca_file_and_a_client_certificate() {
    let dir = tmp("tls");
    std::fs::create_dir_all(&dir).unwrap();
    if make_certs(&dir).is_none() {
        return;
    }
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let tls = tonic::transport::ServerTlsConfig::new()
        .identity(tonic::transport::Identity::from_pem(
            read("server.pem"),
            read("server.key"),
        ))
        .client_ca_root(tonic::transport::Certificate::from_pem(read("ca.pem")));
    let s = Server::start_with(Some(tls));
    let path = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let (ca, cert, key) = (path("ca.pem"), path("client.pem"), path("client.key"));
    let out = ok(s.ctl(&[
        "show",
        "vrfs",
        "--tls-ca",
        &ca,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--token",
        "t",
    ]));
    assert!(out.contains("MAIN"), "{out}");
    assert_eq!(s.seen().auth, [Some("Bearer t".to_string())]);
    let o = ctl_at(
        &format!("https://{}", s.tcp),
        &[
            "show",
            "vrfs",
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // Without the client certificate the server refuses the handshake;
    // without --tls-ca the client speaks plain HTTP/2 to a TLS port.
    for (args, hint) in [
        (
            &["show", "vrfs", "--tls-ca", &ca][..],
            "--tls-cert and --tls-key",
        ),
        (&["show", "vrfs"], "does it use TLS?"),
    ] {
        let o = s.ctl(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!(
                "weir: ShowVrfs: the connection to the control endpoint at {} failed: ",
                s.tcp
            )),
            "{err}"
        );
        assert!(err.contains(hint), "{err}");
    }
    let o = ctl_at(&format!("https://{}", s.tcp), &["show", "vrfs"]);
    assert!(stderr(&o).contains("needs --tls-ca"), "{}", stderr(&o));
    let o = s.ctl(&["show", "vrfs", "--tls-ca", &ca, "--tls-cert", &cert]);
    assert_eq!(o.status.code(), Some(2), "--tls-cert needs --tls-key");
    let _ = std::fs::remove_dir_all(&dir);
}
