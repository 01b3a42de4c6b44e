//! The control endpoint: gRPC (`proto/weir.proto`), served next to the
//! control thread, and its Prometheus metrics.

pub mod server;
pub mod views;

/// Messages and the service generated from `proto/weir.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("weir.v1");
}

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;

/// Where to serve the endpoint (from the config's `[control]` section
/// and `weir run`'s flags).
#[derive(Clone, Debug, Default)]
pub struct EndpointOptions {
    /// gRPC over TCP.
    pub listen: Option<SocketAddr>,
    /// Whether `listen` was asked for explicitly: a busy explicit address
    /// is an error, a busy default one only a warning.
    pub listen_explicit: bool,
    /// gRPC over a Unix socket.
    pub unix: Option<PathBuf>,
}

/// A running endpoint: its thread and where it listens.
pub struct Endpoint {
    /// The TCP address gRPC is served on, if any.
    pub addr: Option<SocketAddr>,
    /// The Unix socket gRPC is served on, if any.
    pub unix: Option<PathBuf>,
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
async fn run_until_stopped<F, E>(serve: F, stop: &mut tokio::sync::watch::Receiver<bool>)
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

/// Bind the endpoint's sockets (errors name the address) and serve
/// `service` on a thread of its own until [`Endpoint::stop`].
pub fn start<P: pmd::Pool + Send + 'static>(
    service: server::Service<P>,
    opts: &EndpointOptions,
) -> Result<Option<Endpoint>> {
    let tcp = match opts.listen {
        None => None,
        Some(addr) => match std::net::TcpListener::bind(addr) {
            Ok(l) => Some(l),
            Err(e) if !opts.listen_explicit && e.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::warn!(
                    "control endpoint not started: {addr} is in use (another weir?); set control.listen or --listen"
                );
                None
            }
            Err(e) => {
                return Err(e).with_context(|| format!("control endpoint: binding {addr}"));
            }
        },
    };
    let unix = match &opts.unix {
        None => None,
        Some(path) => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                anyhow::bail!(
                    "control endpoint: {} is in use by a running process",
                    path.display()
                );
            }
            let _ = std::fs::remove_file(path);
            let l = std::os::unix::net::UnixListener::bind(path)
                .with_context(|| format!("control endpoint: binding {}", path.display()))?;
            Some(l)
        }
    };
    if tcp.is_none() && unix.is_none() {
        return Ok(None);
    }
    let addr = tcp.as_ref().and_then(|l| l.local_addr().ok());
    for l in tcp.iter() {
        l.set_nonblocking(true)?;
    }
    for l in unix.iter() {
        l.set_nonblocking(true)?;
    }
    let (shutdown, mut stopped) = tokio::sync::watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("weir-api".into())
        .spawn(move || {
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
            rt.block_on(async move {
                let svc = proto::weir_server::WeirServer::new(service);
                let mut tasks = tokio::task::JoinSet::new();
                if let Some(l) = tcp {
                    let svc = svc.clone();
                    let mut stop = stopped.clone();
                    match tokio::net::TcpListener::from_std(l) {
                        Ok(l) => {
                            tasks.spawn(async move {
                                let incoming = tokio_stream::wrappers::TcpListenerStream::new(l);
                                let serve = tonic::transport::Server::builder()
                                    .add_service(svc)
                                    .serve_with_incoming(incoming);
                                run_until_stopped(serve, &mut stop).await;
                            });
                        }
                        Err(e) => tracing::error!("control endpoint: {e}"),
                    }
                }
                if let Some(l) = unix {
                    let mut stop = stopped.clone();
                    match tokio::net::UnixListener::from_std(l) {
                        Ok(l) => {
                            tasks.spawn(async move {
                                let incoming = tokio_stream::wrappers::UnixListenerStream::new(l);
                                let serve = tonic::transport::Server::builder()
                                    .add_service(svc)
                                    .serve_with_incoming(incoming);
                                run_until_stopped(serve, &mut stop).await;
                            });
                        }
                        Err(e) => tracing::error!("control endpoint: {e}"),
                    }
                }
                let _ = stopped.wait_for(|s| *s).await;
                while tasks.join_next().await.is_some() {}
            });
        })
        .context("spawning the control endpoint's thread")?;
    Ok(Some(Endpoint {
        addr,
        unix: opts.unix.clone(),
        shutdown: Some(shutdown),
        thread: Some(thread),
    }))
}
