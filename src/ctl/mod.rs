//! `weir ctl`: the client of a running router's gRPC control endpoint
//! (`ctrl/proto/weir.proto`).
//!
//! ```text
//! weir ctl show interfaces|vrfs|routes [--vrf NAME] [PREFIX]|neighbors|tunnels|workers|counters
//! weir ctl route lookup ADDR [--vrf NAME]
//! weir ctl config get | check FILE | apply FILE [--base-version N | --force]
//! weir ctl capture PORT -w FILE.pcap [--count N] [--snaplen N] [--direction rx|tx|both] [--filter EXPR]
//! weir ctl top [--interval MS] [--count N]
//! ```
//!
//! Every command takes `--address`, the TLS options, `--token` and
//! `--json`. Exit codes: 0 done, 1 error (endpoint unreachable, call
//! failed), 2 invalid config (or bad arguments), 3 apply conflict.

mod capture;
mod client;
mod config;
mod pcap;
mod table;
mod top;
mod view;

use anyhow::{Context, Result};
use client::{Client, ConnectOptions, Session};
use ctrl::api::proto::{LookupRequest, RoutesRequest, ShowRequest};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use view::View;

/// The arguments of `weir ctl`.
#[derive(Debug, clap::Args)]
pub struct CtlArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    cmd: CtlCmd,
}

/// Options every `weir ctl` command takes.
#[derive(Debug, clap::Args)]
pub struct Global {
    #[command(flatten)]
    conn: ConnectOptions,
    /// Print the reply as JSON (one object per sample for `top`).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum CtlCmd {
    /// Show the running state.
    Show {
        #[command(subcommand)]
        what: ShowCmd,
    },
    /// Ask the FIB.
    Route {
        #[command(subcommand)]
        cmd: RouteCmd,
    },
    /// Get, validate or apply the config.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Capture the packets of a port into a pcap file.
    Capture(capture::CaptureArgs),
    /// Live rates per port and worker, until Ctrl-C.
    Top(top::TopArgs),
}

#[derive(Debug, clap::Subcommand)]
enum ShowCmd {
    /// Ports and tunnels with their state and counters.
    Interfaces,
    /// VRFs with their route counts.
    Vrfs,
    /// Routes (`*`: in use for its prefix).
    Routes {
        /// Only this VRF's routes.
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
        /// Only routes inside this prefix, e.g. 10.0.0.0/8.
        prefix: Option<String>,
    },
    /// The ARP table.
    Neighbors,
    /// GRE tunnels.
    Tunnels,
    /// Worker threads, their cores and queues.
    Workers,
    /// Every counter: ports, workers, drop reasons, control plane.
    Counters,
}

#[derive(Debug, clap::Subcommand)]
enum RouteCmd {
    /// Longest-prefix match of an address, and what forwarding does with it.
    Lookup {
        /// The address.
        addr: String,
        /// The VRF to look in.
        #[arg(long, default_value = "default", value_name = "NAME")]
        vrf: String,
    },
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCmd {
    /// Print the running config's text (`--json`: text, path, version).
    Get,
    /// Validate a config file against the router, and list what applying
    /// it would change; exit code 2 when invalid.
    Check {
        /// The TOML config.
        file: PathBuf,
    },
    /// Apply a config file as one transaction; exit code 2 when invalid,
    /// 3 when the running config changed meanwhile.
    Apply {
        /// The TOML config.
        file: PathBuf,
        /// The version it is based on (default: the running version, asked
        /// for first).
        #[arg(long, value_name = "N", conflicts_with = "force")]
        base_version: Option<u64>,
        /// Apply whatever version runs.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `weir ctl` command.
pub fn main(args: CtlArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(dispatch(&args.global, args.cmd))
}

async fn dispatch(g: &Global, cmd: CtlCmd) -> Result<ExitCode> {
    match cmd {
        CtlCmd::Show { what } => show_cmd(g, what).await,
        CtlCmd::Route {
            cmd: RouteCmd::Lookup { addr, vrf },
        } => {
            let req = LookupRequest {
                vrf: vrf.clone(),
                address: addr.clone(),
            };
            let reply = call(g, "LookupRoute", |mut c| async move {
                c.lookup_route(req).await
            })
            .await?;
            let lookup = view::Lookup {
                address: addr,
                vrf,
                reply,
            };
            view::print(&lookup, g.json);
            Ok(ExitCode::SUCCESS)
        }
        CtlCmd::Config { cmd } => match cmd {
            ConfigCmd::Get => config::get(g).await,
            ConfigCmd::Check { file } => config::check(g, &file).await,
            ConfigCmd::Apply {
                file,
                base_version,
                force,
            } => {
                let base = match (base_version, force) {
                    (_, true) => config::Base::Force,
                    (Some(v), false) => config::Base::Version(v),
                    (None, false) => config::Base::Running,
                };
                config::apply(g, &file, base).await
            }
        },
        CtlCmd::Capture(args) => capture::run(g, &args).await,
        CtlCmd::Top(args) => top::run(g, &args).await,
    }
}

async fn show_cmd(g: &Global, what: ShowCmd) -> Result<ExitCode> {
    let r = ShowRequest {};
    match what {
        ShowCmd::Interfaces => {
            show(g, "ShowInterfaces", |mut c| async move {
                c.show_interfaces(r).await
            })
            .await
        }
        ShowCmd::Vrfs => show(g, "ShowVrfs", |mut c| async move { c.show_vrfs(r).await }).await,
        ShowCmd::Routes { vrf, prefix } => {
            let req = RoutesRequest {
                vrf: vrf.unwrap_or_default(),
                prefix: prefix.unwrap_or_default(),
            };
            show(
                g,
                "ShowRoutes",
                |mut c| async move { c.show_routes(req).await },
            )
            .await
        }
        ShowCmd::Neighbors => {
            show(g, "ShowNeighbors", |mut c| async move {
                c.show_neighbors(r).await
            })
            .await
        }
        ShowCmd::Tunnels => {
            show(
                g,
                "ShowTunnels",
                |mut c| async move { c.show_tunnels(r).await },
            )
            .await
        }
        ShowCmd::Workers => {
            show(
                g,
                "ShowWorkers",
                |mut c| async move { c.show_workers(r).await },
            )
            .await
        }
        ShowCmd::Counters => {
            show(
                g,
                "GetCounters",
                |mut c| async move { c.get_counters(r).await },
            )
            .await
        }
    }
}

/// Connects and makes one call (`rpc` names it in errors).
async fn call<Rep, Fut>(g: &Global, rpc: &str, f: impl FnOnce(Client) -> Fut) -> Result<Rep>
where
    Fut: Future<Output = Result<tonic::Response<Rep>, tonic::Status>>,
{
    Session::open(&g.conn).await?.call(rpc, f).await
}

/// Connects, makes one call, and prints the reply as a human table or
/// JSON.
async fn show<Rep, Fut>(g: &Global, rpc: &str, f: impl FnOnce(Client) -> Fut) -> Result<ExitCode>
where
    Rep: View,
    Fut: Future<Output = Result<tonic::Response<Rep>, tonic::Status>>,
{
    let reply = call(g, rpc, f).await?;
    view::print(&reply, g.json);
    Ok(ExitCode::SUCCESS)
}
