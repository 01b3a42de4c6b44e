//! The gRPC service (`weir.v1.Weir`), on its own thread with a tokio
//! runtime, talking to the control thread through [`Job`]s.
//!
//! ```text
//!  client ──gRPC──► tonic (weir-api thread) ──Job──► control thread ──► reply (oneshot)
//!                     │ counters: read the shared atomics directly
//!                     └ check: parse and validate on this thread
//! ```
//!
//! Reads that need the control state (config, RIB, neighbors, tunnels)
//! run as jobs between two of the control thread's poll rounds, so every
//! answer is one consistent view. Counters are read straight from the
//! per-worker and per-queue atomics.

use super::proto::{self, weir_server::Weir};
use super::views;
use crate::apply::ApplyError;
use crate::config::{Config, ConfigError, Env};
use crate::control::{Control, Job};
use crate::router::Stats;
use pipeline::capture::{CaptureFilter, CaptureSpec, Direction, Prefix};
use pipeline::state::Rcu;
use pipeline::CaptureTaps;
use pmd::Pool;
use prost::Message;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status};

/// How long a call waits for the control thread.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// What the service needs of a running router.
pub struct Service<P: Pool> {
    jobs: crossbeam_channel::Sender<Job<P>>,
    stats: Stats,
    rcu: Rcu,
    taps: Arc<CaptureTaps>,
    started: Instant,
    /// The config file the router started from (relative paths in
    /// candidates without a name resolve against it).
    path: PathBuf,
}

impl<P: Pool> Service<P> {
    /// A service for the router whose control thread takes `jobs`.
    pub fn new(
        jobs: crossbeam_channel::Sender<Job<P>>,
        stats: Stats,
        rcu: Rcu,
        taps: Arc<CaptureTaps>,
        started: Instant,
        path: PathBuf,
    ) -> Self {
        Service {
            jobs,
            stats,
            rcu,
            taps,
            started,
            path,
        }
    }

    /// Run `f` on the control thread and wait for its answer.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Control<P>) -> T + Send + 'static,
    ) -> Result<T, Status> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job<P> = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        self.jobs
            .send(job)
            .map_err(|_| Status::unavailable("the router is stopping"))?;
        match tokio::time::timeout(JOB_TIMEOUT, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(Status::unavailable("the router is stopping")),
            Err(_) => Err(Status::deadline_exceeded(
                "the control thread did not answer in time",
            )),
        }
    }

    /// Parse and validate a candidate; its path defaults to the running
    /// config's.
    fn parse(&self, c: &proto::ConfigCandidate) -> (PathBuf, Result<Config, ConfigError>) {
        let path = if c.path.is_empty() {
            self.path.clone()
        } else {
            PathBuf::from(&c.path)
        };
        let r = Config::from_str_with(&c.text, &path, &Env::detect());
        (path, r)
    }
}

/// A config's problems as messages.
fn errors(e: &ConfigError) -> Vec<proto::ConfigError> {
    e.diagnostics
        .iter()
        .map(|d| proto::ConfigError {
            file: d.file.display().to_string(),
            line: d.line as u32,
            column: d.col as u32,
            field: d.field.clone(),
            message: d.message.clone(),
        })
        .collect()
}

/// Config changes as messages.
fn changes(list: &[crate::config::Change]) -> Vec<proto::ConfigChange> {
    use crate::config::ChangeKind;
    use proto::config_change::Kind;
    list.iter()
        .map(|c| proto::ConfigChange {
            kind: match c.kind {
                ChangeKind::Added => Kind::Added,
                ChangeKind::Removed => Kind::Removed,
                ChangeKind::Modified => Kind::Modified,
            } as i32,
            object: c.object.into(),
            name: c.name.clone(),
            detail: c.detail.clone(),
        })
        .collect()
}

/// Parse `"10.0.0.0/8"` or a bare address (a /32).
fn parse_prefix(s: &str) -> Result<Prefix, Status> {
    s.parse()
        .map_err(|e: pipeline::capture::CaptureError| Status::invalid_argument(e.to_string()))
}

/// The index of VRF `name` ("" is the default VRF).
fn vrf_index(cfg: &Config, name: &str) -> Result<usize, Status> {
    let name = if name.is_empty() { "default" } else { name };
    cfg.vrf_index(name).ok_or_else(|| {
        let names: Vec<&str> = cfg.vrfs.iter().map(|v| v.name.as_str()).collect();
        Status::not_found(format!("no VRF {name:?} (there are: {})", names.join(", ")))
    })
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl<P: Pool + Send + 'static> Weir for Service<P> {
    async fn get_config(
        &self,
        _: Request<proto::GetConfigRequest>,
    ) -> Result<Response<proto::ConfigText>, Status> {
        let r = self
            .call(|c| proto::ConfigText {
                text: c.source.text.clone(),
                path: c.cfg.path.display().to_string(),
                version: c.source.version,
            })
            .await?;
        Ok(Response::new(r))
    }

    async fn check_config(
        &self,
        req: Request<proto::ConfigCandidate>,
    ) -> Result<Response<proto::CheckReply>, Status> {
        let (_, parsed) = self.parse(req.get_ref());
        let reply = match parsed {
            Err(e) => proto::CheckReply {
                valid: false,
                errors: errors(&e),
                changes: Vec::new(),
            },
            Ok(cfg) => {
                let list = self.call(move |c| c.cfg.diff(&cfg)).await?;
                proto::CheckReply {
                    valid: true,
                    errors: Vec::new(),
                    changes: changes(&list),
                }
            }
        };
        Ok(Response::new(reply))
    }

    async fn apply_config(
        &self,
        req: Request<proto::ApplyRequest>,
    ) -> Result<Response<proto::ApplyReply>, Status> {
        let req = req.into_inner();
        let candidate = req.candidate.unwrap_or_default();
        let (_, parsed) = self.parse(&candidate);
        let cfg = match parsed {
            Ok(c) => c,
            Err(e) => {
                let details = proto::CheckReply {
                    valid: false,
                    errors: errors(&e),
                    changes: Vec::new(),
                };
                return Err(Status::with_details(
                    Code::InvalidArgument,
                    e.to_string(),
                    details.encode_to_vec().into(),
                ));
            }
        };
        let text = candidate.text;
        let base = req.base_version;
        let r = self
            .call(move |c| c.apply(Arc::new(cfg), text, base))
            .await?;
        match r {
            Ok(applied) => {
                for w in &applied.warnings {
                    tracing::warn!("{w}");
                }
                tracing::info!(
                    version = applied.version,
                    changes = applied.changes.len(),
                    "config applied"
                );
                Ok(Response::new(proto::ApplyReply {
                    version: applied.version,
                    changes: changes(&applied.changes),
                }))
            }
            Err(e @ ApplyError::Conflict { .. }) => Err(Status::aborted(e.to_string())),
            Err(e @ ApplyError::Refused(_)) => Err(Status::failed_precondition(e.to_string())),
        }
    }

    async fn show_interfaces(
        &self,
        _: Request<proto::ShowRequest>,
    ) -> Result<Response<proto::InterfaceList>, Status> {
        let stats = self.stats.clone();
        Ok(Response::new(
            self.call(move |c| views::interfaces(c, &stats)).await?,
        ))
    }

    async fn show_vrfs(
        &self,
        _: Request<proto::ShowRequest>,
    ) -> Result<Response<proto::VrfList>, Status> {
        Ok(Response::new(self.call(|c| views::vrfs(c)).await?))
    }

    async fn show_routes(
        &self,
        req: Request<proto::RoutesRequest>,
    ) -> Result<Response<proto::RouteList>, Status> {
        let req = req.into_inner();
        let within = match req.prefix.as_str() {
            "" => None,
            p => Some(parse_prefix(p)?),
        };
        let r = self
            .call(move |c| {
                let vrf = match req.vrf.as_str() {
                    "" => None,
                    name => Some(vrf_index(&c.cfg, name)?),
                };
                Ok(views::routes(c, vrf, within))
            })
            .await?;
        r.map(Response::new)
    }

    async fn lookup_route(
        &self,
        req: Request<proto::LookupRequest>,
    ) -> Result<Response<proto::LookupReply>, Status> {
        let req = req.into_inner();
        let addr: Ipv4Addr = req.address.trim().parse().map_err(|_| {
            Status::invalid_argument(format!("{:?} is not an IPv4 address", req.address))
        })?;
        let r = self
            .call(move |c| Ok(views::lookup(c, vrf_index(&c.cfg, &req.vrf)?, addr)))
            .await?;
        r.map(Response::new)
    }

    async fn show_neighbors(
        &self,
        _: Request<proto::ShowRequest>,
    ) -> Result<Response<proto::NeighborList>, Status> {
        Ok(Response::new(self.call(|c| views::neighbors(c)).await?))
    }

    async fn show_tunnels(
        &self,
        _: Request<proto::ShowRequest>,
    ) -> Result<Response<proto::TunnelList>, Status> {
        Ok(Response::new(self.call(|c| views::tunnels(c)).await?))
    }

    async fn show_workers(
        &self,
        _: Request<proto::ShowRequest>,
    ) -> Result<Response<proto::WorkerList>, Status> {
        let stats = self.stats.clone();
        Ok(Response::new(
            self.call(move |c| views::workers(&c.cfg, &stats)).await?,
        ))
    }

    async fn get_counters(
        &self,
        _: Request<proto::ShowRequest>,
    ) -> Result<Response<proto::Counters>, Status> {
        let g = self.rcu.load().generation;
        Ok(Response::new(views::counters(&self.stats, self.started, g)))
    }

    type WatchCountersStream = Stream_<proto::Counters>;

    async fn watch_counters(
        &self,
        req: Request<proto::WatchRequest>,
    ) -> Result<Response<Self::WatchCountersStream>, Status> {
        let ms = match req.get_ref().interval_ms {
            0 => 100,
            n => n.max(10),
        };
        let stats = self.stats.clone();
        let rcu = self.rcu.clone();
        let started = self.started;
        let mut tick = tokio::time::interval(Duration::from_millis(ms.into()));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let s = async_stream(move |tx| async move {
            loop {
                tick.tick().await;
                let g = rcu.load().generation;
                if tx
                    .send(Ok(views::counters(&stats, started, g)))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        Ok(Response::new(s))
    }

    type CaptureStream = Stream_<proto::CapturedPacket>;

    async fn capture(
        &self,
        req: Request<proto::CaptureRequest>,
    ) -> Result<Response<Self::CaptureStream>, Status> {
        let req = req.into_inner();
        let ports = self.stats.ports();
        let port = ports
            .iter()
            .position(|p| p.name == req.interface)
            .ok_or_else(|| {
                let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
                Status::not_found(format!(
                    "no port {:?} (ports: {})",
                    req.interface,
                    names.join(", ")
                ))
            })?;
        let mut spec = CaptureSpec::new(port as u16, direction(req.direction)?);
        spec.count = (req.count > 0).then_some(req.count);
        spec.snaplen = req.snaplen;
        spec.filter = filter(req.filter.unwrap_or_default())?;
        let handle = self.taps.start(spec).map_err(|e| match e {
            pipeline::capture::CaptureError::Busy { port } => Status::resource_exhausted(format!(
                "a capture is already running on {}; one at a time",
                ports
                    .get(usize::from(port))
                    .map_or("?", |p| p.name.as_str())
            )),
            e => Status::invalid_argument(e.to_string()),
        })?;
        tracing::info!(port = %req.interface, "capture started");
        let limit = req.count;
        let s = async_stream(move |tx| async move {
            let mut sent = 0u64;
            let mut reported_drops = 0u64;
            let mut idle = tokio::time::interval(Duration::from_millis(2));
            'outer: loop {
                while let Some(r) = handle.try_recv() {
                    let dropped = handle.stats().dropped;
                    let pkt = proto::CapturedPacket {
                        timestamp_ns: r.timestamp_ns,
                        direction: if r.direction == Direction::Tx {
                            "tx"
                        } else {
                            "rx"
                        }
                        .into(),
                        length: r.orig_len,
                        data: r.data().to_vec(),
                        dropped: dropped - reported_drops,
                    };
                    reported_drops = dropped;
                    handle.recycle(r);
                    if tx.send(Ok(pkt)).await.is_err() {
                        break 'outer;
                    }
                    sent += 1;
                    if limit > 0 && sent >= limit {
                        break 'outer;
                    }
                }
                if handle.interrupted() {
                    let _ = tx
                        .send(Err(Status::aborted(
                            "capture ended: a config change renumbered the ports; start it again",
                        )))
                        .await;
                    break;
                }
                if handle.is_finished() || tx.is_closed() {
                    break;
                }
                idle.tick().await;
            }
            tracing::info!(packets = sent, "capture ended");
            drop(handle);
        });
        Ok(Response::new(s))
    }
}

fn direction(d: i32) -> Result<Direction, Status> {
    use proto::capture_request::Direction as D;
    match D::try_from(d) {
        Ok(D::Both) => Ok(Direction::Both),
        Ok(D::Rx) => Ok(Direction::Rx),
        Ok(D::Tx) => Ok(Direction::Tx),
        Err(_) => Err(Status::invalid_argument(format!("unknown direction {d}"))),
    }
}

fn filter(f: proto::CaptureFilter) -> Result<CaptureFilter, Status> {
    let prefix = |s: &str| -> Result<Option<Prefix>, Status> {
        if s.is_empty() {
            return Ok(None);
        }
        parse_prefix(s).map(Some)
    };
    let proto_ = match f.protocol {
        None => None,
        Some(p) => Some(u8::try_from(p).map_err(|_| {
            Status::invalid_argument(format!("protocol {p} is not an IP protocol number"))
        })?),
    };
    let vlan = match f.vlan {
        None => None,
        Some(v) if v < 4095 => Some(v as u16),
        Some(v) => {
            return Err(Status::invalid_argument(format!(
                "vlan {v} is not a VLAN ID"
            )))
        }
    };
    Ok(CaptureFilter {
        src: prefix(&f.src)?,
        dst: prefix(&f.dst)?,
        host: prefix(&f.host)?,
        proto: proto_,
        vlan,
    })
}

/// A stream fed by a task: `f` gets the sending half of a small channel.
fn async_stream<T: Send + 'static, F, Fut>(f: F) -> Stream_<T>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(f(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
