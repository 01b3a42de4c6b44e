//! `weir`: the command-line front end. Thin: parsing arguments, then
//! calling into `ctrl` (run, check), `perf` (bench) or [`ctl`] (the client
//! of a running router's control endpoint).

mod ctl;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ctrl::config::Config;
use ctrl::report::{self, Summary};
use ctrl::router::{Router, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// weir: a poll-mode router and virtual switch.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a router from a config file until interrupted (or --duration).
    Run {
        /// The TOML config (see examples/).
        config: PathBuf,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        /// Write the final counters as JSON to this file.
        #[arg(long, value_name = "FILE")]
        summary_json: Option<PathBuf>,
        /// Do not pin threads to the configured cores.
        #[arg(long)]
        no_pin: bool,
        /// Print no per-second lines, only the final summary.
        #[arg(long, short)]
        quiet: bool,
        /// Serve the gRPC control endpoint (`weir ctl`) on this address
        /// [default: the config's control.listen, else 127.0.0.1:50051].
        #[arg(long, value_name = "ADDR", conflicts_with = "no_listen")]
        listen: Option<std::net::SocketAddr>,
        /// Also serve the control endpoint on this Unix socket.
        #[arg(long, value_name = "PATH")]
        unix: Option<PathBuf>,
        /// Serve no control endpoint over TCP.
        #[arg(long)]
        no_listen: bool,
        /// Serve Prometheus metrics on this address [default: the config's
        /// control.metrics, else 127.0.0.1:9469].
        #[arg(long, value_name = "ADDR", conflicts_with = "no_metrics")]
        metrics: Option<std::net::SocketAddr>,
        /// Serve no metrics.
        #[arg(long)]
        no_metrics: bool,
        /// Log format: `human` (default) or `json` (one object per line).
        #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
        log_format: String,
        /// Log level or filter (as RUST_LOG: `info`, `debug`,
        /// `ctrl=debug`) [default: RUST_LOG, else info].
        #[arg(long, value_name = "FILTER")]
        log_level: Option<String>,
    },
    /// Validate a config and print it resolved; exits non-zero on error.
    Check {
        /// The TOML config.
        config: PathBuf,
    },
    /// Benchmark forwarding (RFC 2544 NDR/PDR, loss, latency), or the FIB
    /// with `weir bench fib ...`.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        #[command(flatten)]
        args: Box<perf::BenchArgs>,
        #[command(subcommand)]
        cmd: Option<BenchCmd>,
    },
    /// Talk to a running router's control endpoint: show state, apply
    /// config, capture packets, watch rates.
    Ctl(Box<ctl::CtlArgs>),
}

#[derive(Subcommand)]
enum BenchCmd {
    /// The FIB benchmark; every argument (`--help` too) is passed through.
    #[command(disable_help_flag = true)]
    Fib {
        /// Arguments of the FIB benchmark (see `weir bench fib --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Compare two `--json` reports of the same scenario (repeatability):
    /// every median both hold, side by side, and their difference.
    Compare {
        /// The first report.
        a: PathBuf,
        /// The second report.
        b: PathBuf,
        /// Mark differences larger than this, percent.
        #[arg(long, default_value_t = 5.0, value_name = "PCT")]
        tolerance: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Run {
            config,
            duration,
            summary_json,
            no_pin,
            quiet,
            listen,
            unix,
            no_listen,
            metrics,
            no_metrics,
            log_format,
            log_level,
        } => {
            ctrl::logging::init_logging(log_format == "json", log_level.as_deref());
            let flags = EndpointFlags {
                listen,
                unix,
                no_listen,
                metrics,
                no_metrics,
            };
            run(config, duration, summary_json, !no_pin, quiet, flags)
        }
        Cmd::Check { config } => check(config),
        Cmd::Bench {
            cmd: Some(BenchCmd::Fib { args }),
            ..
        } => perf::fib::cli_main(&args).map(|()| ExitCode::SUCCESS),
        Cmd::Bench {
            cmd: Some(BenchCmd::Compare { a, b, tolerance }),
            ..
        } => perf::bench::compare_cli(&a, &b, tolerance).map(|()| ExitCode::SUCCESS),
        Cmd::Bench { args, cmd: None } => perf::cli(&args).map(|()| ExitCode::SUCCESS),
        Cmd::Ctl(args) => ctl::main(*args),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("weir: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn check(path: PathBuf) -> Result<ExitCode> {
    match Config::load(&path) {
        Ok(cfg) => {
            print!("{cfg}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `weir run`'s flags about the control endpoint: they override the
/// config's `[control]` section.
struct EndpointFlags {
    listen: Option<std::net::SocketAddr>,
    unix: Option<PathBuf>,
    no_listen: bool,
    metrics: Option<std::net::SocketAddr>,
    no_metrics: bool,
}

impl EndpointFlags {
    fn apply(self, mut e: ctrl::config::ControlEndpoint) -> ctrl::config::ControlEndpoint {
        use ctrl::config::ListenAddr;
        if let Some(addr) = self.listen {
            e.listen = Some(ListenAddr {
                addr,
                explicit: true,
            });
        }
        if self.no_listen {
            e.listen = None;
        }
        if let Some(addr) = self.metrics {
            e.metrics = Some(ListenAddr {
                addr,
                explicit: true,
            });
        }
        if self.no_metrics {
            e.metrics = None;
        }
        if self.unix.is_some() {
            e.unix = self.unix;
        }
        e
    }
}

fn run(
    path: PathBuf,
    duration: Option<f64>,
    summary_json: Option<PathBuf>,
    pin: bool,
    quiet: bool,
    flags: EndpointFlags,
) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&path).ok();
    let cfg = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let opts = RunOptions {
        pin,
        endpoint: Some(flags.apply(cfg.endpoint.clone())),
        source: text,
        ..RunOptions::default()
    };
    let mut router = Router::start(cfg, opts)?;
    for w in &router.warnings {
        eprintln!("weir: warning: {w}");
    }
    eprintln!(
        "weir: running {} ({} ports, {} worker{}); Ctrl-C stops",
        path.display(),
        router.stats().ports().len(),
        router.stats().workers.len(),
        if router.stats().workers.len() == 1 {
            ""
        } else {
            "s"
        },
    );
    if let Some(e) = router.endpoint() {
        if let Some(a) = e.addr {
            eprintln!("weir: control endpoint on {a} (weir ctl --address {a})");
        }
        if let Some(u) = &e.unix {
            eprintln!("weir: control endpoint on unix:{}", u.display());
        }
        if let Some(m) = e.metrics {
            eprintln!("weir: metrics on http://{m}/metrics");
        }
    }
    let start = Instant::now();
    let deadline = duration.map(|d| start + Duration::from_secs_f64(d.max(0.0)));
    let mut prev = report::sample(router.stats());
    let mut next_line = start + Duration::from_secs(1);
    loop {
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let now = Instant::now();
        if now >= next_line {
            let cur = report::sample(router.stats());
            if !quiet {
                println!("{}", report::rate_line(router.stats(), &prev, &cur, start));
            }
            prev = cur;
            next_line += Duration::from_secs(1);
        }
        let wake = deadline.map_or(next_line, |d| d.min(next_line));
        std::thread::sleep(
            wake.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50)),
        );
    }
    let elapsed = start.elapsed();
    router.stop();
    let summary = Summary::collect(&router, elapsed);
    print!("{}", summary.table());
    if let Some(f) = summary_json {
        std::fs::write(&f, summary.to_json())
            .with_context(|| format!("writing {}", f.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
