//! The control endpoint: gRPC (`proto/weir.proto`), served next to the
//! control thread, and its Prometheus metrics.

pub mod auth;
pub mod filter;
pub mod metrics;
pub mod server;
pub mod views;

/// Messages and the service generated from `proto/weir.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("weir.v1");
}

use crate::config::{ControlEndpoint, ListenAddr};
use anyhow::{Context, Result};
use auth::EndpointSecurity;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running endpoint: its thread and where it listens.
pub struct Endpoint {
    /// The TCP address gRPC is served on, if any.
    pub addr: Option<SocketAddr>,
    /// The Unix socket gRPC is served on, if any.
    pub unix: Option<PathBuf>,
    /// The address Prometheus metrics are served on, if any.
    pub metrics: Option<SocketAddr>,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Endpoint {
    /// Stop serving and wait for the thread.
    pub fn stop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(p) = self.unix.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How long open calls (streams, a client that keeps its connection) may
/// go on after the endpoint was told to stop.
const GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Run a server until `stop` turns true, then give it [`GRACE`] to finish
/// and drop it (closing its connections).
async fn run_until_stopped<F, E>(serve: F, mut stop: tokio::sync::watch::Receiver<bool>)
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let stopped = async {
        let _ = stop.wait_for(|s| *s).await;
        tokio::time::sleep(GRACE).await;
    };
    tokio::select! {
        r = serve => {
            if let Err(e) = r {
                tracing::error!("control endpoint: {e}");
            }
        }
        () = stopped => {}
    }
}

/// Bind `l` (a busy default address is only a warning: `None`), after
/// checking that a non-loopback address is secured.
fn bind(
    what: &str,
    l: &ListenAddr,
    security: &EndpointSecurity,
) -> Result<Option<std::net::TcpListener>> {
    auth::require_loopback_or_secure(l.addr, security)
        .with_context(|| format!("control endpoint (control.{what} or --{what})"))?;
    match std::net::TcpListener::bind(l.addr) {
        Ok(s) => {
            s.set_nonblocking(true)?;
            Ok(Some(s))
        }
        Err(e) if !l.explicit && e.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(
                "control.{what}: {} is in use (another weir?); not serving it (set control.{what})",
                l.addr
            );
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("control.{what}: binding {}", l.addr)),
    }
}

/// What the metrics endpoint serves: the text, made when asked.
pub type MetricsSource = Arc<dyn Fn() -> String + Send + Sync>;

/// Bind the endpoint's sockets (errors name the address; nothing is left
/// bound on error) and serve `service` (and `metrics`) on a thread of its
/// own (pinned to `core`, the control thread's) until [`Endpoint::stop`].
/// `None` when `endpoint` serves nothing.
pub fn start<P: pmd::Pool + Send + 'static>(
    service: server::Service<P>,
    endpoint: &ControlEndpoint,
    metrics: MetricsSource,
    core: Option<usize>,
) -> Result<Option<Endpoint>> {
    let security = Arc::new(EndpointSecurity::from_config(endpoint)?);
    let tcp = match &endpoint.listen {
        Some(l) => bind("listen", l, &security)?,
        None => None,
    };
    let http = match &endpoint.metrics {
        Some(l) => bind("metrics", l, &security)?,
        None => None,
    };
    let unix = match &endpoint.unix {
        None => None,
        Some(path) => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                anyhow::bail!(
                    "control.unix: {} is in use by a running process",
                    path.display()
                );
            }
            let _ = std::fs::remove_file(path);
            let l = std::os::unix::net::UnixListener::bind(path)
                .with_context(|| format!("control.unix: binding {}", path.display()))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            l.set_nonblocking(true)?;
            Some(l)
        }
    };
    if tcp.is_none() && unix.is_none() && http.is_none() {
        return Ok(None);
    }
    let addr = tcp.as_ref().and_then(|l| l.local_addr().ok());
    let metrics_addr = http.as_ref().and_then(|l| l.local_addr().ok());
    let (shutdown, stopped) = tokio::sync::watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("weir-api".into())
        .spawn(move || {
            // With the control thread, off the workers' cores.
            if let Some(c) = core {
                core_affinity::set_for_current(core_affinity::CoreId { id: c });
            }
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("control endpoint: no runtime: {e}");
                    return;
                }
            };
            rt.block_on(serve_all(
                service, security, tcp, unix, http, metrics, stopped,
            ));
        })
        .context("spawning the control endpoint's thread")?;
    Ok(Some(Endpoint {
        addr,
        unix: endpoint.unix.clone(),
        metrics: metrics_addr,
        shutdown: Some(shutdown),
        thread: Some(thread),
    }))
}

/// Serve every listener until `stopped`.
async fn serve_all<P: pmd::Pool + Send + 'static>(
    service: server::Service<P>,
    security: Arc<EndpointSecurity>,
    tcp: Option<std::net::TcpListener>,
    unix: Option<std::os::unix::net::UnixListener>,
    http: Option<std::net::TcpListener>,
    metrics: MetricsSource,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    let svc = proto::weir_server::WeirServer::with_interceptor(service, security.interceptor());
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(l) = tcp
        .map(tokio::net::TcpListener::from_std)
        .transpose()
        .ok()
        .flatten()
    {
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = security.tls() {
            match builder.tls_config(tls.clone()) {
                Ok(b) => builder = b,
                Err(e) => {
                    tracing::error!("control endpoint: TLS: {e}");
                    return;
                }
            }
        }
        // Small request/response pairs: without TCP_NODELAY, Nagle and
        // delayed ACKs add 40 ms to a call that follows another.
        let incoming =
            tokio_stream::StreamExt::map(tokio_stream::wrappers::TcpListenerStream::new(l), |s| {
                if let Ok(s) = &s {
                    let _ = s.set_nodelay(true);
                }
                s
            });
        let serve = builder
            .add_service(svc.clone())
            .serve_with_incoming(incoming);
        tasks.spawn(run_until_stopped(serve, stopped.clone()));
    }
    if let Some(l) = unix
        .map(tokio::net::UnixListener::from_std)
        .transpose()
        .ok()
        .flatten()
    {
        // The socket's permissions guard it: no TLS, the token still counts.
        let serve = tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(l));
        tasks.spawn(run_until_stopped(serve, stopped.clone()));
    }
    if let Some(l) = http
        .map(tokio::net::TcpListener::from_std)
        .transpose()
        .ok()
        .flatten()
    {
        let serve = async move {
            metrics::serve(l, security, metrics).await;
            Ok::<(), String>(())
        };
        tasks.spawn(run_until_stopped(serve, stopped.clone()));
    }
    let mut stopped = stopped;
    let _ = stopped.wait_for(|s| *s).await;
    while tasks.join_next().await.is_some() {}
}
