//! Prometheus metrics: the counters in the text exposition format
//! (version 0.0.4, [`render`]), and a small HTTP/1.1 server for
//! `GET /metrics` ([`serve`]), over TLS and behind the bearer token when
//! the `[control]` section asks for them.
//!
//! ```text
//! # HELP weir_port_rx_packets_total Packets received on a port.
//! # TYPE weir_port_rx_packets_total counter
//! weir_port_rx_packets_total{port="gen0"} 1234
//! ```
//!
//! The server answers one request per connection (`Connection: close`, as
//! Prometheus is happy with), reads at most [`MAX_REQUEST`] bytes of
//! request head within [`READ_TIMEOUT`], and serves at most
//! [`MAX_CONNECTIONS`] clients at once; a client beyond that is closed at
//! once.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::auth::EndpointSecurity;
use super::proto;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Longest request head (request line and headers) read, in bytes.
pub const MAX_REQUEST: usize = 8192;
/// Time a client has to finish the TLS handshake and send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to take the response.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Clients served at once.
pub const MAX_CONNECTIONS: usize = 64;

// ---------------------------------------------------------------------------
// The exposition format
// ---------------------------------------------------------------------------

/// Writes metric families: each with `# HELP` and `# TYPE`, then samples.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value escaped as the exposition format wants: `\` as `\\`, `"`
/// as `\"`, a line feed as `\n`.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str(r"\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str(r"\n"),
            c => s.push(c),
        }
    }
    s
}

/// A map's entries sorted by key (prost maps are unordered).
fn sorted(m: &std::collections::HashMap<String, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = m.iter().map(|(k, &n)| (k.as_str(), n)).collect();
    v.sort_unstable();
    v
}

/// The counters and VRF sizes in the Prometheus text format, version
/// 0.0.4. Every family has its `# HELP` and `# TYPE` lines, even when it
/// has no samples; maps come out sorted by key, so the same counters give
/// the same text.
pub fn render(c: &proto::Counters, vrfs: &[proto::Vrf]) -> String {
    let mut o = Out(String::with_capacity(4096));

    o.family(
        "weir_uptime_seconds",
        "gauge",
        "Seconds since the router started.",
    );
    o.sample(
        "weir_uptime_seconds",
        &[],
        format_args!(
            "{}.{:09}",
            c.uptime_ns / 1_000_000_000,
            c.uptime_ns % 1_000_000_000
        ),
    );
    o.family(
        "weir_snapshot_generation",
        "gauge",
        "Generation of the forwarding snapshot published last.",
    );
    o.sample("weir_snapshot_generation", &[], c.generation);

    type PortField = fn(&proto::PortCounters) -> u64;
    let port_metrics: [(&str, &str, PortField); 7] = [
        ("rx_packets", "Packets received on a port.", |p| {
            p.rx_packets
        }),
        ("rx_bytes", "Bytes received on a port.", |p| p.rx_bytes),
        ("tx_packets", "Packets sent on a port.", |p| p.tx_packets),
        ("tx_bytes", "Bytes sent on a port.", |p| p.tx_bytes),
        (
            "rx_missed",
            "Packets the port dropped for want of receive descriptors.",
            |p| p.rx_missed,
        ),
        ("rx_errors", "Receive errors on a port.", |p| p.rx_errors),
        (
            "tx_dropped",
            "Packets not sent on a port: the transmit ring was full.",
            |p| p.tx_dropped,
        ),
    ];
    let zero = proto::PortCounters::default();
    for (what, help, get) in port_metrics {
        let name = format!("weir_port_{what}_total");
        o.family(&name, "counter", help);
        for p in &c.ports {
            let pc = p.counters.as_ref().unwrap_or(&zero);
            o.sample(&name, &[("port", &p.name)], get(pc));
        }
    }

    type WorkerField = fn(&proto::WorkerCounters) -> u64;
    let worker_metrics: [(&str, &str, WorkerField); 10] = [
        ("rx_packets", "Packets a worker received.", |w| w.rx_packets),
        ("forwarded", "Packets a worker forwarded.", |w| w.forwarded),
        (
            "local",
            "Packets a worker delivered to the router itself.",
            |w| w.local,
        ),
        (
            "punted",
            "Packets a worker handed to the control plane.",
            |w| w.punted,
        ),
        (
            "injected",
            "Packets of the control plane a worker sent.",
            |w| w.injected,
        ),
        ("dropped", "Packets a worker dropped.", |w| w.dropped),
        ("bursts", "Receive bursts a worker processed.", |w| w.bursts),
        ("icmp_errors", "ICMP errors a worker generated.", |w| {
            w.icmp_errors
        }),
        (
            "stalls",
            "Gaps of over 50 µs between a worker's poll rounds (its core taken away).",
            |w| w.stalls,
        ),
        (
            "stalled_nanoseconds",
            "Nanoseconds a worker spent in stalls.",
            |w| w.stalled_ns,
        ),
    ];
    let zero = proto::WorkerCounters::default();
    for (what, help, get) in worker_metrics {
        let name = format!("weir_worker_{what}_total");
        o.family(&name, "counter", help);
        for w in &c.workers {
            let id = w.id.to_string();
            let wc = w.counters.as_ref().unwrap_or(&zero);
            o.sample(&name, &[("worker", &id)], get(wc));
        }
    }

    o.family(
        "weir_drops_total",
        "counter",
        "Packets dropped, by reason, summed over workers.",
    );
    for (reason, n) in sorted(&c.drops) {
        o.sample("weir_drops_total", &[("reason", reason)], n);
    }
    o.family(
        "weir_worker_drops_total",
        "counter",
        "Packets dropped by a worker, by reason.",
    );
    for w in &c.workers {
        let id = w.id.to_string();
        for (reason, n) in sorted(&w.drops) {
            o.sample(
                "weir_worker_drops_total",
                &[("worker", &id), ("reason", reason)],
                n,
            );
        }
    }
    o.family(
        "weir_control_events_total",
        "counter",
        "Control plane events (ARP, held packets, snapshots, keepalives).",
    );
    for (event, n) in sorted(&c.control) {
        o.sample("weir_control_events_total", &[("event", event)], n);
    }

    o.family("weir_rib_routes", "gauge", "Routes in a VRF's RIB.");
    for v in vrfs {
        o.sample("weir_rib_routes", &[("vrf", &v.name)], v.routes);
    }
    o.family(
        "weir_fib_prefixes",
        "gauge",
        "Prefixes installed in a VRF's FIB.",
    );
    for v in vrfs {
        o.sample("weir_fib_prefixes", &[("vrf", &v.name)], v.fib_prefixes);
    }
    o.0
}

// ---------------------------------------------------------------------------
// The HTTP server
// ---------------------------------------------------------------------------

/// Serve `GET /metrics` on `listener` until the task is dropped: the text
/// `source` returns, with TLS and the token of `security` if it has them.
/// Other paths get 404, other methods 405, a request without the token
/// 401, a malformed one 400, one over [`MAX_REQUEST`] 431. A failing
/// `accept` (out of file descriptors) is logged and retried.
pub async fn serve(
    listener: TcpListener,
    security: Arc<EndpointSecurity>,
    source: Arc<dyn Fn() -> String + Send + Sync>,
) {
    let acceptor = security.rustls_config().map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("metrics: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!("metrics: {peer} turned away: {MAX_CONNECTIONS} clients already");
            continue;
        };
        let (security, source, acceptor) = (security.clone(), source.clone(), acceptor.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let _ = stream.set_nodelay(true);
            let result = match acceptor {
                None => connection(stream, &security, &*source, None).await,
                Some(acceptor) => {
                    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
                    match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => connection(tls, &security, &*source, Some(deadline)).await,
                        Ok(Err(e)) => Err(format!("TLS handshake: {e}")),
                        Err(_) => Err("TLS handshake timed out".into()),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!("metrics: {peer}: {e}");
            }
        });
    }
}

/// One request on one connection; `deadline` for the request head when
/// the handshake already took part of [`READ_TIMEOUT`].
async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    security: &EndpointSecurity,
    source: &(dyn Fn() -> String + Send + Sync),
    deadline: Option<tokio::time::Instant>,
) -> Result<(), String> {
    let deadline = deadline.unwrap_or_else(|| tokio::time::Instant::now() + READ_TIMEOUT);
    let head = match tokio::time::timeout_at(deadline, read_head(&mut io)).await {
        Err(_) => return Err("no request in time".into()),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(head)) => head,
    };
    let response = match head {
        Some(head) => respond(&head, security, source),
        None => Response::error(431, "Request Header Fields Too Large"),
    };
    let bytes = response.into_bytes();
    match tokio::time::timeout(WRITE_TIMEOUT, async {
        io.write_all(&bytes).await?;
        io.flush().await?;
        io.shutdown().await
    })
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("write: {e}")),
        Err(_) => Err("response not taken in time".into()),
    }
}

/// Read up to the blank line ending the request head; `None` when the
/// head is longer than [`MAX_REQUEST`].
async fn read_head<S: AsyncRead + Unpin>(io: &mut S) -> Result<Option<Vec<u8>>, String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = io
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before the end of the request".into());
        }
        // Look for the end from just before the new bytes.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_end(&buf[from..]) {
            buf.truncate(from + end);
            return Ok(Some(buf));
        }
        if buf.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
}

/// Where the head ends: after `\r\n\r\n` (or a bare `\n\n`).
fn find_end(b: &[u8]) -> Option<usize> {
    (0..b.len()).find_map(|i| {
        if b[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if b[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

struct Response {
    status: u16,
    reason: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
    head_only: bool,
}

impl Response {
    fn error(status: u16, reason: &'static str) -> Response {
        Response {
            status,
            reason,
            headers: Vec::new(),
            body: format!("{status} {reason}\n"),
            head_only: false,
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut s = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        let content_type = if self.status == 200 {
            CONTENT_TYPE
        } else {
            "text/plain; charset=utf-8"
        };
        let _ = write!(
            s,
            "Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.body.len()
        );
        for (k, v) in &self.headers {
            let _ = write!(s, "{k}: {v}\r\n");
        }
        s.push_str("\r\n");
        if !self.head_only {
            s.push_str(&self.body);
        }
        s.into_bytes()
    }
}

/// What the metrics server answers to request head `head` (status code
/// and body), with `security` and the metrics text `source`: the whole
/// request handling without the socket (its fuzz target drives this).
pub fn answer(
    head: &[u8],
    security: &EndpointSecurity,
    source: &(dyn Fn() -> String + Send + Sync),
) -> (u16, String) {
    let r = respond(head, security, source);
    (r.status, r.body)
}

fn respond(
    head: &[u8],
    security: &EndpointSecurity,
    source: &(dyn Fn() -> String + Send + Sync),
) -> Response {
    let Ok(head) = std::str::from_utf8(head) else {
        return Response::error(400, "Bad Request");
    };
    let mut lines = head.lines();
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Response::error(400, "Bad Request");
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Response::error(400, "Bad Request");
    }
    let mut authorization = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            if line.is_empty() {
                continue;
            }
            return Response::error(400, "Bad Request");
        };
        if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.trim().as_bytes());
        }
    }
    if !security.check_bearer(authorization) {
        let mut r = Response::error(401, "Unauthorized");
        r.headers
            .push(("WWW-Authenticate", "Bearer realm=\"weir\"".into()));
        return r;
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path != "/metrics" {
        return Response::error(404, "Not Found");
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let mut r = Response::error(405, "Method Not Allowed");
            r.headers.push(("Allow", "GET, HEAD".into()));
            return r;
        }
    };
    Response {
        status: 200,
        reason: "OK",
        headers: Vec::new(),
        body: source(),
        head_only,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> proto::Counters {
        let port = |name: &str, n: u64| proto::PortStat {
            name: name.into(),
            counters: Some(proto::PortCounters {
                rx_packets: n,
                rx_bytes: n * 64,
                tx_packets: n + 1,
                tx_bytes: (n + 1) * 64,
                rx_missed: 2,
                rx_errors: 0,
                tx_dropped: 3,
            }),
        };
        proto::Counters {
            uptime_ns: 12_500_000_001,
            generation: 7,
            ports: vec![port("gen0", 100), port("we\"ird\\\n", 5)],
            workers: vec![proto::WorkerStat {
                id: 0,
                counters: Some(proto::WorkerCounters {
                    rx_packets: 105,
                    forwarded: 90,
                    local: 1,
                    punted: 4,
                    injected: 2,
                    dropped: 10,
                    bursts: 9,
                    icmp_errors: 0,
                    stalls: 3,
                    stalled_ns: 1_500_000,
                    longest_stall_ns: 1_000_000,
                    stalled_off_cpu_ns: 1_400_000,
                }),
                drops: [("ttl".to_owned(), 3), ("no-route".to_owned(), 7)].into(),
            }],
            drops: [("no-route".to_owned(), 7), ("ttl".to_owned(), 3)].into(),
            control: [("arp_rx".to_owned(), 11), ("snapshots".to_owned(), 2)].into(),
        }
    }

    fn vrfs() -> Vec<proto::Vrf> {
        vec![proto::Vrf {
            name: "MAIN".into(),
            routes: 4,
            fib_prefixes: 3,
            ..Default::default()
        }]
    }

    #[test]
    fn renders_families_and_samples() {
        let text = render(&counters(), &vrfs());
        for line in [
            "# HELP weir_port_rx_packets_total Packets received on a port.",
            "# TYPE weir_port_rx_packets_total counter",
            "weir_port_rx_packets_total{port=\"gen0\"} 100",
            "weir_port_rx_bytes_total{port=\"gen0\"} 6400",
            "weir_port_tx_packets_total{port=\"gen0\"} 101",
            "weir_port_rx_missed_total{port=\"gen0\"} 2",
            "weir_port_tx_dropped_total{port=\"gen0\"} 3",
            "weir_worker_rx_packets_total{worker=\"0\"} 105",
            "weir_worker_forwarded_total{worker=\"0\"} 90",
            "weir_worker_punted_total{worker=\"0\"} 4",
            "weir_worker_dropped_total{worker=\"0\"} 10",
            "weir_worker_stalls_total{worker=\"0\"} 3",
            "weir_worker_stalled_nanoseconds_total{worker=\"0\"} 1500000",
            "weir_drops_total{reason=\"no-route\"} 7",
            "weir_worker_drops_total{worker=\"0\",reason=\"no-route\"} 7",
            "weir_control_events_total{event=\"arp_rx\"} 11",
            "# TYPE weir_fib_prefixes gauge",
            "weir_fib_prefixes{vrf=\"MAIN\"} 3",
            "weir_rib_routes{vrf=\"MAIN\"} 4",
            "weir_snapshot_generation 7",
            "weir_uptime_seconds 12.500000001",
            // Escaped: backslash, quote, line feed.
            r#"weir_port_rx_packets_total{port="we\"ird\\\n"} 5"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        // Sorted maps: no-route before ttl.
        let a = text.find("reason=\"no-route\"} 7").unwrap();
        let b = text.find("weir_drops_total{reason=\"ttl\"} 3").unwrap();
        assert!(a < b);
        // Same input, same text.
        assert_eq!(text, render(&counters(), &vrfs()));
    }

    /// Every line is a comment or `name{labels} value`, every sample's
    /// family was declared with HELP and TYPE before it, once.
    #[test]
    fn output_parses() {
        let text = render(&counters(), &vrfs());
        assert!(text.ends_with('\n'));
        let mut declared = std::collections::HashMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(matches!(kind, "counter" | "gauge"), "{line}");
                assert!(declared.insert(name.to_owned(), kind).is_none(), "{line}");
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
            assert!(declared.contains_key(name), "undeclared: {line}");
            if declared[name] == "counter" {
                assert!(name.ends_with("_total"), "{line}");
            }
            if let Some(labels) = series.strip_prefix(name) {
                if !labels.is_empty() {
                    assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
                }
            }
        }
    }

    #[test]
    fn empty_counters_still_declare_families() {
        let text = render(&proto::Counters::default(), &[]);
        assert!(text.contains("# TYPE weir_drops_total counter\n"));
        assert!(text.contains("weir_uptime_seconds 0.000000000\n"));
        assert!(!text.contains("{"), "{text}");
    }

    #[test]
    fn request_heads() {
        let open = EndpointSecurity::insecure();
        let src = || "m 1\n".to_owned();
        let status =
            |head: &str, sec: &EndpointSecurity| respond(head.as_bytes(), sec, &src).status;
        assert_eq!(
            status("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &open),
            200
        );
        assert_eq!(status("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &open), 200);
        assert_eq!(status("GET / HTTP/1.1\r\n\r\n", &open), 404);
        assert_eq!(status("POST /metrics HTTP/1.1\r\n\r\n", &open), 405);
        assert_eq!(status("GET /metrics\r\n\r\n", &open), 400);
        assert_eq!(status("GET metrics HTTP/1.1\r\n\r\n", &open), 400);
        assert_eq!(
            status("GET /metrics HTTP/1.1\r\nbroken\r\n\r\n", &open),
            400
        );
        assert_eq!(status("\r\n\r\n", &open), 400);
        let sec = EndpointSecurity::insecure().with_token(Some("tk"));
        assert_eq!(status("GET /metrics HTTP/1.1\r\n\r\n", &sec), 401);
        assert_eq!(
            status(
                "GET /metrics HTTP/1.1\r\nAuthorization: Bearer no\r\n\r\n",
                &sec
            ),
            401
        );
        assert_eq!(
            status(
                "GET /metrics HTTP/1.1\r\nauthorization:   Bearer tk \r\n\r\n",
                &sec
            ),
            200
        );
        let head = respond(b"HEAD /metrics HTTP/1.1\r\n\r\n", &open, &src).into_bytes();
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.contains("Content-Length: 4\r\n") && head.ends_with("\r\n\r\n"),
            "{head}"
        );
    }

    #[test]
    fn head_end() {
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
