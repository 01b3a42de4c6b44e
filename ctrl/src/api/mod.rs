//! The control endpoint: gRPC (`proto/weir.proto`), served next to the
//! control thread, and its Prometheus metrics.

pub mod auth;
pub mod metrics;

/// Messages and the service generated from `proto/weir.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("weir.v1");
}
