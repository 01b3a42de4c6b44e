//! The control endpoint's security and metrics, on real sockets: a tonic
//! server with TLS, client certificates and tokens as `[control]` sets
//! them up, and the metrics HTTP server.

#[path = "support/certs.rs"]
mod certs;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use certs::{scratch, Ca, Pem};
use ctrl::api::auth::{require_loopback_or_secure, EndpointSecurity};
use ctrl::api::metrics;
use ctrl::api::proto::weir_client::WeirClient;
use ctrl::api::proto::weir_server::{Weir, WeirServer};
use ctrl::api::proto::*;
use ctrl::config::{Config, Env};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::Stream;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server};
use tonic::{Code, Request, Response, Status};

// ---------------------------------------------------------------------------
// A stand-in service: GetConfig answers, the rest is unimplemented.
// ---------------------------------------------------------------------------

struct TestWeir;

type Streamed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn nope<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("test service"))
}

#[tonic::async_trait]
impl Weir for TestWeir {
    async fn get_config(
        &self,
        _: Request<GetConfigRequest>,
    ) -> Result<Response<ConfigText>, Status> {
        Ok(Response::new(ConfigText {
            text: "# fixed\n".into(),
            path: "weir.toml".into(),
            version: 1,
        }))
    }
    async fn check_config(
        &self,
        _: Request<ConfigCandidate>,
    ) -> Result<Response<CheckReply>, Status> {
        nope()
    }
    async fn apply_config(&self, _: Request<ApplyRequest>) -> Result<Response<ApplyReply>, Status> {
        nope()
    }
    async fn show_interfaces(
        &self,
        _: Request<ShowRequest>,
    ) -> Result<Response<InterfaceList>, Status> {
        nope()
    }
    async fn show_vrfs(&self, _: Request<ShowRequest>) -> Result<Response<VrfList>, Status> {
        nope()
    }
    async fn show_routes(&self, _: Request<RoutesRequest>) -> Result<Response<RouteList>, Status> {
        nope()
    }
    async fn lookup_route(
        &self,
        _: Request<LookupRequest>,
    ) -> Result<Response<LookupReply>, Status> {
        nope()
    }
    async fn show_neighbors(
        &self,
        _: Request<ShowRequest>,
    ) -> Result<Response<NeighborList>, Status> {
        nope()
    }
    async fn show_tunnels(&self, _: Request<ShowRequest>) -> Result<Response<TunnelList>, Status> {
        nope()
    }
    async fn show_workers(&self, _: Request<ShowRequest>) -> Result<Response<WorkerList>, Status> {
        nope()
    }
    async fn get_counters(&self, _: Request<ShowRequest>) -> Result<Response<Counters>, Status> {
        nope()
    }
    type WatchCountersStream = Streamed<Counters>;
    async fn watch_counters(
        &self,
        _: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchCountersStream>, Status> {
        nope()
    }
    type CaptureStream = Streamed<CapturedPacket>;
    async fn capture(
        &self,
        _: Request<CaptureRequest>,
    ) -> Result<Response<Self::CaptureStream>, Status> {
        nope()
    }
}

// ---------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------

/// A CA, a server certificate it signs and a client certificate it signs,
/// written to a fresh directory; and security from a `[control]` section
/// written there, which names them.
struct Setup {
    dir: std::path::PathBuf,
    ca: Ca,
    client: Pem,
    security: EndpointSecurity,
}

impl Setup {
    fn new(name: &str, control: &str) -> Setup {
        let dir = scratch(name);
        let ca = Ca::new("weir test CA");
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        ca.server().write(&dir, "server");
        std::fs::write(dir.join("token"), "right-token\n").unwrap();
        let config = Config::from_str_with(
            &format!("[control]\n{control}"),
            &dir.join("weir.toml"),
            &Env { cpus: 2 },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let security = EndpointSecurity::from_config(&config.endpoint).unwrap();
        Setup {
            dir,
            client: ca.client("ops"),
            ca,
            security,
        }
    }

    /// A TLS client config trusting the CA, with `identity` if given.
    fn client_tls(&self, identity: Option<&Pem>) -> ClientTlsConfig {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca.pem()))
            .domain_name("localhost");
        if let Some(id) = identity {
            tls = tls.identity(Identity::from_pem(&id.cert, &id.key));
        }
        tls
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const TLS_CA: &str = "listen = \"127.0.0.1:0\"\n\
    tls = { cert = \"server.pem\", key = \"server.key\", client_ca = \"ca.pem\" }\n";
const TLS_TOKEN: &str = "listen = \"127.0.0.1:0\"\n\
    tls = { cert = \"server.pem\", key = \"server.key\" }\ntoken_file = \"token\"\n";

/// Serve the stand-in service with `security` on 127.0.0.1, any port.
async fn grpc_server(security: &EndpointSecurity) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    require_loopback_or_secure(addr, security).unwrap();
    let mut builder = Server::builder();
    if let Some(tls) = security.tls() {
        builder = builder.tls_config(tls.clone()).unwrap();
    }
    let service = WeirServer::with_interceptor(TestWeir, security.interceptor());
    tokio::spawn(
        builder
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

/// Call GetConfig on `addr`, over TLS if given, with `token` if given.
async fn get_config(
    addr: SocketAddr,
    tls: Option<ClientTlsConfig>,
    token: Option<&str>,
) -> Result<ConfigText, Status> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).unwrap();
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| Status::unavailable(format!("connect: {e}")))?;
    let header: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>> =
        token.map(|t| format!("Bearer {t}").parse().unwrap());
    let mut client = WeirClient::with_interceptor(channel, move |mut req: Request<()>| {
        if let Some(h) = &header {
            req.metadata_mut().insert("authorization", h.clone());
        }
        Ok(req)
    });
    client
        .get_config(GetConfigRequest {})
        .await
        .map(Response::into_inner)
}

// ---------------------------------------------------------------------------
// gRPC
// ---------------------------------------------------------------------------

#[tokio::test]
async fn grpc_client_certificates() {
    let s = Setup::new("grpc-ca", TLS_CA);
    assert!(s.security.requires_client_certs() && !s.security.requires_token());
    let addr = grpc_server(&s.security).await;

    // A certificate signed by the CA: in.
    let reply = get_config(addr, Some(s.client_tls(Some(&s.client))), None)
        .await
        .unwrap();
    assert_eq!(reply.text, "# fixed\n");

    // Plain text: refused.
    let e = get_config(addr, None, None).await.unwrap_err();
    assert_ne!(e.code(), Code::Ok);

    // TLS without a client certificate: refused.
    let e = get_config(addr, Some(s.client_tls(None)), None)
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("CertificateRequired"), "{e:?}");

    // A certificate from another CA: refused.
    let stranger = Ca::new("stranger").client("mallory");
    let e = get_config(addr, Some(s.client_tls(Some(&stranger))), None)
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("alert"), "{e:?}");

    // Still serving.
    get_config(addr, Some(s.client_tls(Some(&s.client))), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn grpc_token() {
    let s = Setup::new("grpc-token", TLS_TOKEN);
    assert!(!s.security.requires_client_certs() && s.security.requires_token());
    let addr = grpc_server(&s.security).await;
    let tls = || Some(s.client_tls(None));

    let e = get_config(addr, tls(), None).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    let e = get_config(addr, tls(), Some("wrong-token"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    assert_eq!(e.message(), "wrong token");
    let reply = get_config(addr, tls(), Some("right-token")).await.unwrap();
    assert_eq!(reply.version, 1);

    // Plain text is refused here too.
    let e = get_config(addr, None, Some("right-token"))
        .await
        .unwrap_err();
    assert_ne!(e.code(), Code::Ok);
}

#[tokio::test]
async fn grpc_token_on_loopback_without_tls() {
    let s = Setup::new("grpc-plain-token", "token = \"loop-token\"\n");
    assert!(s.security.tls().is_none());
    let addr = grpc_server(&s.security).await;
    let e = get_config(addr, None, Some("loop")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    get_config(addr, None, Some("loop-token")).await.unwrap();
}

#[test]
fn non_loopback_listener_needs_security() {
    let open = EndpointSecurity::insecure();
    let any: SocketAddr = "0.0.0.0:50051".parse().unwrap();
    assert!(require_loopback_or_secure(any, &open).is_err());
    let s = Setup::new("second-line", TLS_CA);
    require_loopback_or_secure(any, &s.security).unwrap();
    let s = Setup::new("second-line-token", TLS_TOKEN);
    require_loopback_or_secure(any, &s.security).unwrap();
    // TLS without client authentication is not enough.
    let s = Setup::new(
        "second-line-tls-only",
        "tls = { cert = \"server.pem\", key = \"server.key\" }\n",
    );
    let e = require_loopback_or_secure(any, &s.security).unwrap_err();
    assert!(e.to_string().contains("client authentication"), "{e}");
}

// ---------------------------------------------------------------------------
// Metrics over HTTP
// ---------------------------------------------------------------------------

fn sample_text() -> String {
    let c = Counters {
        uptime_ns: 3_000_000_000,
        generation: 2,
        ports: vec![PortStat {
            name: "gen0".into(),
            counters: Some(PortCounters {
                rx_packets: 42,
                ..Default::default()
            }),
        }],
        ..Default::default()
    };
    metrics::render(&c, &[])
}

async fn metrics_server(security: EndpointSecurity) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(metrics::serve(
        listener,
        Arc::new(security),
        Arc::new(sample_text),
    ));
    addr
}

/// Send `request` as is and read the whole answer (what came before an
/// error, if the server broke the connection).
async fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut out = Vec::new();
    if s.write_all(request).await.is_ok() {
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "no answer in time");
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n").as_bytes(),
    )
    .await
}

fn status(response: &str) -> &str {
    response.lines().next().unwrap_or_default()
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[tokio::test]
async fn metrics_over_plain_http() {
    let addr = metrics_server(EndpointSecurity::insecure()).await;
    let r = get(addr, "/metrics", None).await;
    assert_eq!(status(&r), "HTTP/1.1 200 OK", "{r}");
    assert!(
        r.contains("\r\nContent-Type: text/plain; version=0.0.4"),
        "{r}"
    );
    assert!(r.contains(&format!("\r\nContent-Length: {}\r\n", sample_text().len())));
    assert_eq!(body(&r), sample_text());
    assert!(body(&r).contains("\nweir_port_rx_packets_total{port=\"gen0\"} 42\n"));

    let r = get(addr, "/", None).await;
    assert_eq!(status(&r), "HTTP/1.1 404 Not Found", "{r}");
    let r = get(addr, "/metricsx", None).await;
    assert_eq!(status(&r), "HTTP/1.1 404 Not Found", "{r}");
    let r = http(addr, b"DELETE /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(status(&r), "HTTP/1.1 405 Method Not Allowed", "{r}");
    let r = http(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(status(&r), "HTTP/1.1 200 OK", "{r}");
    assert_eq!(body(&r), "");
}

#[tokio::test]
async fn metrics_token() {
    let addr = metrics_server(EndpointSecurity::insecure().with_token(Some("m-token"))).await;
    let r = get(addr, "/metrics", None).await;
    assert_eq!(status(&r), "HTTP/1.1 401 Unauthorized", "{r}");
    assert!(r.contains("\r\nWWW-Authenticate: Bearer"), "{r}");
    let r = get(addr, "/metrics", Some("m-tok")).await;
    assert_eq!(status(&r), "HTTP/1.1 401 Unauthorized", "{r}");
    let r = get(addr, "/metrics", Some("m-token")).await;
    assert_eq!(status(&r), "HTTP/1.1 200 OK", "{r}");
    assert_eq!(body(&r), sample_text());
    let r = get(addr, "/other", Some("m-token")).await;
    assert_eq!(status(&r), "HTTP/1.1 404 Not Found", "{r}");
}

#[tokio::test]
async fn metrics_survive_bad_clients() {
    let addr = metrics_server(EndpointSecurity::insecure()).await;
    // Garbage.
    let r = http(addr, b"\x16\x03\x01 hello\r\n\r\n").await;
    assert_eq!(status(&r), "HTTP/1.1 400 Bad Request", "{r}");
    // A head that never ends.
    let long = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    let r = http(addr, long.as_bytes()).await;
    assert_eq!(
        status(&r),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{r}"
    );
    // Clients that say nothing, or go away half-way, hold nobody up.
    let _silent = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /met").await.unwrap();
    drop(half);
    let r = get(addr, "/metrics", None).await;
    assert_eq!(status(&r), "HTTP/1.1 200 OK", "{r}");
}

/// A rustls client config trusting `ca`, with a client certificate if
/// given.
fn rustls_client(ca: &Ca, identity: Option<&Pem>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match identity {
        None => builder.with_no_client_auth(),
        Some(id) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(id.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(id.key.as_bytes()).unwrap(),
            )
            .unwrap(),
    })
}

/// GET /metrics over TLS; the error if the connection fails.
async fn https_get(addr: SocketAddr, config: Arc<ClientConfig>) -> Result<String, String> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").unwrap();
    let io = async {
        let mut tls = connector.connect(name, tcp).await?;
        tls.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    match tokio::time::timeout(Duration::from_secs(5), io).await {
        Ok(Ok(out)) => Ok(String::from_utf8(out).unwrap()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

#[tokio::test]
async fn metrics_over_tls_with_client_certificates() {
    let s = Setup::new("metrics-tls", TLS_CA);
    let addr = metrics_server(s.security.clone()).await;
    let r = https_get(addr, rustls_client(&s.ca, Some(&s.client)))
        .await
        .unwrap();
    assert_eq!(status(&r), "HTTP/1.1 200 OK", "{r}");
    assert_eq!(body(&r), sample_text());

    // No client certificate, or plain HTTP: no metrics.
    let e = https_get(addr, rustls_client(&s.ca, None)).await;
    assert!(e.is_err(), "{e:?}");
    let r = get(addr, "/metrics", None).await;
    assert!(!r.contains("weir_"), "{r}");
}
