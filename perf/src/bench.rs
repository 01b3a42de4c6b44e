//! `weir bench`: the arguments and the run (devices × frame sizes × runs).

use crate::progress::Progress;
use crate::report::{
    DeviceReport, DirectionLatency, InlinePoint, LatencyRun, Point, Report, Run, RunDirection,
    Settings, Stat, SCHEMA,
};
use crate::scenario::{Mode, Scenario};
use crate::search::{self, Direction, SearchParams};
use crate::sysinfo::SystemInfo;
use crate::trial::{Device, Flows, FrameSize, Tester, TrialSpec};
use anyhow::{bail, Context, Result};
use ctrl::config::Config;
use ctrl::router::{Router, RunOptions};
use pmd::{Pool, Port};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The frame sizes of a full report (RFC 2544 §9.1, Ethernet), IMIX added
/// by [`FULL_WITH_IMIX`].
pub const RFC2544_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 1280, 1518];
/// Whether a run without `--sizes` or `--imix` includes IMIX.
pub const FULL_WITH_IMIX: bool = true;
/// Loads of the latency trials, percent of NDR.
pub const LATENCY_LOADS: [f64; 3] = [10.0, 50.0, 90.0];

/// A baseline measured in the same run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    /// The tester into its own sink through one `mem` link: no pipeline.
    Loopback,
    /// dpdk-testpmd `io` forwarding on the same vdevs as weir (DPDK
    /// scenarios; needs `--features dpdk` and dpdk-testpmd installed).
    Testpmd,
}

/// Arguments of `weir bench`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BenchArgs {
    /// Scenario file (perf/scenarios/*.toml); default: the built-in
    /// ipv4-2port.
    pub scenario: Option<PathBuf>,
    /// Frame sizes, comma-separated (64..1518, or imix); default: 64, 128,
    /// 256, 512, 1024, 1280, 1518 and imix.
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    pub sizes: Option<Vec<FrameSize>>,
    /// Test IMIX (7:4:1 of 64/570/1518 bytes); alone: only IMIX.
    #[arg(long)]
    pub imix: bool,
    /// Runs per point (default 5; --quick: 1).
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// Seconds of traffic per trial (default 2; --quick: 0.5).
    #[arg(long, value_name = "S")]
    pub trial_secs: Option<f64>,
    /// Baselines to measure in the same run (repeatable).
    #[arg(long = "baseline", value_enum, value_name = "NAME")]
    pub baselines: Vec<Baseline>,
    /// Write the report as JSON (schema: see the perf crate docs).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw throughput vs frame size and latency percentiles as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Short settings for a smoke test: 1 run, 0.5 s trials, 64 bytes,
    /// 5 % resolution (explicit options win).
    #[arg(long)]
    pub quick: bool,
    /// Upper bound of the rate search, packets per second (default: what
    /// the tester reaches at 100 % load).
    #[arg(long, value_name = "PPS")]
    pub max_rate: Option<f64>,
    /// Search resolution as a fraction of the maximum rate (default 0.01).
    #[arg(long, value_name = "FRACTION")]
    pub resolution: Option<f64>,
    /// Packets per mem ring direction between tester and device (default:
    /// the scenario's).
    #[arg(long, value_name = "N")]
    pub ring: Option<usize>,
    /// Number of generated routes (scenarios with [table]).
    #[arg(long, value_name = "N")]
    pub prefixes: Option<u32>,
    /// Core for the tester thread (default: weir's control core, else 0).
    #[arg(long, value_name = "CPU")]
    pub tester_core: Option<usize>,
    /// Pin nothing (tests on busy machines).
    #[arg(long)]
    pub no_pin: bool,
    /// Skip the inline gen maximum-rate measurement.
    #[arg(long)]
    pub no_inline: bool,
    /// Skip the latency trials.
    #[arg(long)]
    pub no_latency: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// DPDK scenarios: run weir's EAL and testpmd on the reserved
    /// hugepages (`--in-memory`) instead of `--no-huge`.
    #[arg(long)]
    pub huge: bool,
    /// Do not count, in NDR and PDR, frames weir's input refused while a
    /// worker was stalled: its core taken by the hypervisor or the kernel
    /// for over 50 µs (see the perf crate's `stalls`). Such loss is always
    /// reported; on an isolated core of a quiet machine there is none.
    #[arg(long)]
    pub excuse_stalls: bool,
}

/// Settings resolved from the arguments.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) sizes: Vec<FrameSize>,
    pub(crate) runs: usize,
    pub(crate) trial: Duration,
    resolution: f64,
    latency: bool,
    excuse_stalls: bool,
}

fn plan(a: &BenchArgs) -> Result<Plan> {
    let mut sizes = match (&a.sizes, a.imix, a.quick) {
        (Some(s), imix, _) => {
            let mut s = s.clone();
            if imix && !s.contains(&FrameSize::Imix) {
                s.push(FrameSize::Imix);
            }
            s
        }
        (None, true, _) => vec![FrameSize::Imix],
        (None, false, true) => vec![FrameSize::Fixed(64)],
        (None, false, false) => {
            let mut s: Vec<_> = RFC2544_SIZES.iter().map(|&n| FrameSize::Fixed(n)).collect();
            if FULL_WITH_IMIX {
                s.push(FrameSize::Imix);
            }
            s
        }
    };
    sizes.dedup();
    let runs = a.runs.unwrap_or(if a.quick { 1 } else { 5 });
    let secs = a.trial_secs.unwrap_or(if a.quick { 0.5 } else { 2.0 });
    let resolution = a.resolution.unwrap_or(if a.quick { 0.05 } else { 0.01 });
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    if !(secs > 0.0 && secs <= 3600.0) {
        bail!("--trial-secs must be in (0, 3600]");
    }
    if !(resolution > 0.0 && resolution < 1.0) {
        bail!("--resolution must be in (0, 1)");
    }
    if a.max_rate.is_some_and(|r| r.is_nan() || r < 1.0) {
        bail!("--max-rate must be at least 1 pps");
    }
    Ok(Plan {
        sizes,
        runs,
        trial: Duration::from_secs_f64(secs),
        resolution,
        latency: !a.no_latency,
        excuse_stalls: a.excuse_stalls,
    })
}

/// Trials a run is expected to take (for the progress bar).
pub(crate) fn trials_per_run(p: &Plan) -> usize {
    let bisect = (1.0 / p.resolution).log2().ceil() as usize;
    1 + 2 * bisect + if p.latency { LATENCY_LOADS.len() } else { 0 }
}

/// One run at one frame size: 100 % load, NDR/PDR search, latency.
fn measure_run<P: Pool, T: Port<P>>(
    tester: &mut Tester<P, T>,
    size: FrameSize,
    plan: &Plan,
    max_rate: Option<f64>,
    progress: &mut Progress,
) -> Result<Run> {
    let spec = |rate: Option<f64>, latency: bool| TrialSpec {
        size,
        rate_pps: rate,
        duration: plan.trial,
        latency,
    };
    let full_load = tester.run(&spec(max_rate, false))?.result;
    progress.tick();
    let hi = max_rate.unwrap_or(full_load.offered_pps).floor();
    let params = SearchParams {
        hi_pps: hi.max(1.0),
        resolution: plan.resolution,
        pdr_loss: SearchParams::default().pdr_loss,
        excuse_stalls: plan.excuse_stalls,
    };
    let expected = trials_per_run(plan);
    let mut made = 1;
    let found = search::search(&params, |rate| {
        let r = tester.run(&spec(Some(rate), false)).map(|o| o.result);
        made += 1;
        if made > expected {
            progress.extend(1);
        }
        progress.tick();
        r
    })?;
    // The rate reported is the one actually offered in the passing trial
    // (a tester that fell short of the target does not inflate it).
    let actual = |target: f64| {
        found
            .trial_at(target)
            .map_or(target, |t| t.offered_pps.min(target))
    };
    let ndr_pps = if found.ndr_pps > 0.0 {
        actual(found.ndr_pps)
    } else {
        0.0
    };
    let pdr_pps = if found.pdr_pps > 0.0 {
        actual(found.pdr_pps)
    } else {
        0.0
    };
    // Two-way: each direction's share of the passing trials.
    let mut directions = Vec::new();
    if tester.is_two_way() {
        let at = |target: f64, d: Direction| {
            (target > 0.0)
                .then(|| found.trial_at(target).and_then(|t| t.direction(d)))
                .flatten()
        };
        for d in Direction::BOTH {
            let ndr = at(found.ndr_pps, d);
            let pdr = at(found.pdr_pps, d);
            directions.push(RunDirection {
                direction: d,
                ndr_pps: ndr.map_or(0.0, |x| x.offered_pps.min(found.ndr_pps / 2.0)),
                pdr_pps: pdr.map_or(0.0, |x| x.offered_pps.min(found.pdr_pps / 2.0)),
                pdr_loss: pdr.map_or(0.0, |x| x.loss_ratio()),
            });
        }
    }
    let mut latency = Vec::new();
    if plan.latency && ndr_pps > 0.0 {
        for load in LATENCY_LOADS {
            let o = tester.run(&spec(Some((ndr_pps * load / 100.0).max(1.0)), true))?;
            progress.tick();
            latency.push(LatencyRun {
                load_pct: load,
                trial: o.result,
                latency: o.latency.map(|h| h.summary()).unwrap_or_default(),
                directions: o
                    .direction_latency
                    .iter()
                    .map(|(d, h)| DirectionLatency {
                        direction: *d,
                        latency: h.summary(),
                    })
                    .collect(),
            });
        }
    }
    Ok(Run {
        ndr_pps,
        pdr_pps,
        full_load,
        trials: found.trials,
        latency,
        directions,
    })
}

/// Every frame size × run on one device.
pub(crate) fn measure_device<P: Pool, T: Port<P>>(
    name: &str,
    tester: &mut Tester<P, T>,
    plan: &Plan,
    max_rate: Option<f64>,
    progress: &mut Progress,
) -> Result<Vec<Point>> {
    // Warm up: caches, branch predictors, the pool's free lists.
    tester.run(&TrialSpec {
        size: FrameSize::Fixed(64),
        rate_pps: Some(10_000.0),
        duration: Duration::from_millis(50),
        latency: false,
    })?;
    let mut points = Vec::new();
    for &size in &plan.sizes {
        let mut runs = Vec::new();
        for r in 0..plan.runs {
            progress.label(format!(
                "{name} {} B run {}/{}",
                size.label(),
                r + 1,
                plan.runs
            ));
            runs.push(measure_run(tester, size, plan, max_rate, progress)?);
        }
        points.push(Point::from_runs(size.label(), size.mean_bytes(), runs));
    }
    Ok(points)
}

/// weir's inline `gen` ports at full speed: frames per second reaching the
/// egress sink, measured over `plan.trial` after a short warm-up.
fn inline_rate(scn: &Scenario, size: FrameSize, plan: &Plan, pin: bool) -> Result<f64> {
    let cfg = scn.config(&Mode::Inline {
        frame_size: match size {
            FrameSize::Fixed(s) => Some(s),
            FrameSize::Imix => None,
        },
    })?;
    let router = Router::start(
        cfg,
        RunOptions {
            pin,
            ..RunOptions::default()
        },
    )
    .context("starting weir with inline gen ports")?;
    // The egress's sink; two-way, the ingress's too.
    let mut names = vec![&scn.tester.egress];
    if scn.tester.bidirectional {
        names.push(&scn.tester.ingress);
    }
    let sinks = names
        .iter()
        .map(|&n| {
            router
                .stats()
                .ports()
                .iter()
                .find(|p| &p.name == n)
                .and_then(|p| p.gen.clone())
                .with_context(|| format!("port {n} has no gen statistics"))
        })
        .collect::<Result<Vec<_>>>()?;
    let count = || -> u64 { sinks.iter().map(|s| s.snapshot().sink_packets).sum() };
    std::thread::sleep(Duration::from_millis(200));
    let (t0, n0) = (Instant::now(), count());
    std::thread::sleep(plan.trial);
    let (t1, n1) = (Instant::now(), count());
    drop(router);
    Ok((n1 - n0) as f64 / (t1 - t0).as_secs_f64())
}

/// The inline maximum rate at every frame size.
pub(crate) fn inline_points(
    scn: &Scenario,
    plan: &Plan,
    pin: bool,
    progress: &mut Progress,
) -> Result<Vec<InlinePoint>> {
    let mut points = Vec::new();
    for &size in &plan.sizes {
        progress.label(format!("weir inline gen {} B", size.label()));
        let mut rates = Vec::new();
        for _ in 0..plan.runs {
            rates.push(inline_rate(scn, size, plan, pin)? / 1e6);
        }
        points.push(InlinePoint {
            size: size.label(),
            mpps: Stat::of(rates),
        });
    }
    Ok(points)
}

/// A tester sending the scenario's flows (both ways if two-way).
pub(crate) fn tester_for<P: Pool, T: Port<P>>(
    dev: Device<P, T>,
    flows: &(Flows, Option<Flows>),
) -> Tester<P, T> {
    match &flows.1 {
        Some(r) => Tester::two_way(dev, flows.0.clone(), r.clone()),
        None => Tester::new(dev, flows.0.clone()),
    }
}

/// What a tester run (mem or DPDK ports) reports before measuring:
/// scenario, system and settings (the caller fills in `driver`).
pub(crate) fn tester_report(
    scn: &Scenario,
    a: &BenchArgs,
    plan: &Plan,
    system: SystemInfo,
    cfg: &Config,
    ring: usize,
    tester_core: Option<usize>,
) -> Report {
    let pin = !a.no_pin;
    Report {
        schema: SCHEMA.into(),
        scenario: scn.name.clone(),
        scenario_description: scn.description.clone(),
        scenario_path: scn.path.display().to_string(),
        system,
        settings: Settings {
            runs: plan.runs,
            trial_secs: plan.trial.as_secs_f64(),
            resolution: plan.resolution,
            pdr_loss: SearchParams::default().pdr_loss,
            ring,
            sizes: plan.sizes.iter().map(FrameSize::label).collect(),
            max_rate_pps: a.max_rate,
            latency_loads_pct: if plan.latency {
                LATENCY_LOADS.to_vec()
            } else {
                Vec::new()
            },
            worker_cores: cfg.workers.cores.clone(),
            control_core: cfg.workers.control_core.filter(|_| pin),
            tester_core,
            driver: String::new(),
            bidirectional: scn.tester.bidirectional,
            excuse_stalls: a.excuse_stalls,
        },
        ..Report::default()
    }
}

/// The tester's core: `--tester-core`, else weir's control core, else 0;
/// none with `--no-pin`.
pub(crate) fn tester_core(a: &BenchArgs, cfg: &Config) -> Option<usize> {
    if a.no_pin {
        None
    } else {
        a.tester_core.or(cfg.workers.control_core).or(Some(0))
    }
}

/// The calling thread's CPU affinity before [`pin_tester`] pinned it;
/// [`Unpin::restore`] puts it back.
pub(crate) struct Unpin(Option<libc::cpu_set_t>);

impl Unpin {
    /// Put the affinity back: what runs after the tester (the inline
    /// measurement) builds weir configs, whose checks count the CPUs this
    /// thread may run on, and picks default cores from them.
    pub(crate) fn restore(self) {
        if let Some(set) = self.0 {
            // SAFETY: sets the calling thread's affinity to a mask it had.
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
        }
    }
}

/// Pin the calling thread (the tester) to `core`, noting a failure.
pub(crate) fn pin_tester(core: Option<usize>, report: &mut Report) -> Unpin {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity(0) fills it for
    // the calling thread.
    let saved = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
            .then_some(set)
    };
    if let Some(c) = core {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: c }) {
            report
                .skipped
                .push(format!("pinning the tester to CPU {c} failed: unpinned"));
        }
    }
    Unpin(saved)
}

/// ", two-way" for a bidirectional scenario.
pub(crate) fn two_way_note(scn: &Scenario) -> &'static str {
    if scn.tester.bidirectional {
        ", two-way (rates are totals of both directions)"
    } else {
        ""
    }
}

/// Run the benchmark the arguments describe.
pub fn run(a: &BenchArgs) -> Result<Report> {
    let started = Instant::now();
    let plan = plan(a)?;
    let system = SystemInfo::collect();
    let mut scn = match &a.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::default_scenario(),
    };
    if let Some(n) = a.prefixes {
        scn.set_prefixes(n)?;
    }
    if scn.dpdk_pcap.is_some() {
        let mut skipped = Vec::new();
        if a.baselines.contains(&Baseline::Loopback) {
            skipped.push(
                "baseline loopback: a tester baseline for mem scenarios; a DPDK scenario has no tester"
                    .to_string(),
            );
        }
        return crate::dpdk_bench::run(
            &scn,
            &plan,
            crate::dpdk_bench::DpdkArgs {
                huge: a.huge,
                pin: !a.no_pin,
                testpmd: a.baselines.contains(&Baseline::Testpmd),
                skipped,
                progress: !a.no_progress,
            },
            system,
            started,
        );
    }
    let ring = a.ring.unwrap_or(scn.tester.ring);
    if scn.dpdk_tester.is_some() {
        return crate::dpdk_tester::run(&scn, a, &plan, ring, system, started);
    }
    let cfg = scn.config(&Mode::Mem { ring })?;
    let pin = !a.no_pin;
    let tester_core = tester_core(a, &cfg);
    let flows = scn.flows(&cfg)?;
    let mut report = tester_report(&scn, a, &plan, system, &cfg, ring, tester_core);
    report.settings.driver = "mem".into();
    // Where the tester's frames cross to weir's worker, before and after.
    let cores = tester_core
        .zip(cfg.workers.cores.first().copied())
        .filter(|_| pin);
    let round_trip = || cores.and_then(|(t, w)| crate::sysinfo::core_round_trip_ns(t, w));
    let before = round_trip();
    let unpin = pin_tester(tester_core, &mut report);
    let loopback = a.baselines.contains(&Baseline::Loopback);
    let devices = 1 + usize::from(loopback);
    let mut progress = Progress::new(
        devices * plan.sizes.len() * plan.runs * trials_per_run(&plan),
        !a.no_progress,
    );

    // weir, the tester on its own thread (this one) through mem rings.
    {
        let mut router = Router::start(
            cfg.clone(),
            RunOptions {
                pin,
                ..RunOptions::default()
            },
        )
        .context("starting weir")?;
        for w in &router.warnings {
            eprintln!("weir: warning: {w}");
        }
        let mut take = |name: &str| {
            router
                .take_external(name)
                .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
                .with_context(|| format!("interface {name} has no external mem end"))
        };
        let to_dut = take(&scn.tester.ingress)?;
        let from_dut = take(&scn.tester.egress)?;
        let pool = router
            .pool()
            .context("weir runs without a native pool")?
            .clone();
        let mut tester = tester_for(
            Device {
                to_dut,
                from_dut,
                pool,
            },
            &flows,
        );
        tester.watch_workers(router.stats().workers.clone());
        let points = measure_device("weir", &mut tester, &plan, a.max_rate, &mut progress)?;
        drop(tester);
        router.stop();
        report.devices.push(DeviceReport {
            name: "weir".into(),
            description: format!(
                "weir routing {} through mem rings of {ring} packets; tester on its own thread{}",
                scn.name,
                two_way_note(&scn)
            ),
            points,
        });
    }
    if loopback {
        let dev = Device::loopback(ring, cfg.workers.pool_size)?;
        let mut tester = tester_for(dev, &flows);
        let points = measure_device("loopback", &mut tester, &plan, a.max_rate, &mut progress)?;
        report.devices.push(DeviceReport {
            name: "loopback".into(),
            description: format!(
                "the tester into its own sink through one mem link of {ring} packets, no pipeline{}",
                two_way_note(&scn)
            ),
            points,
        });
    }
    if a.baselines.contains(&Baseline::Testpmd) {
        report.skipped.push(
            "baseline testpmd: it runs on the same vdevs as weir, so only in DPDK scenarios \
             (perf/scenarios/ipv4-dpdk-pcap.toml, --features dpdk)"
                .into(),
        );
    }
    unpin.restore();
    if let (Some(first), Some(last)) = (before, round_trip()) {
        report.system.core_round_trip_ns = Some([first, last]);
    }
    if !a.no_inline {
        report.inline = inline_points(&scn, &plan, pin, &mut progress)?;
    }
    progress.finish();
    report.compute_ratios();
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// `weir bench`: run, print the table, write `--json` and `--plot`.
pub fn cli(a: &BenchArgs) -> Result<()> {
    let report = run(a)?;
    print!("{}", report.table());
    if let Some(f) = &a.json {
        std::fs::write(f, report.to_json()).with_context(|| format!("writing {}", f.display()))?;
    }
    if let Some(f) = &a.plot {
        std::fs::write(f, crate::plot::svg(&report))
            .with_context(|| format!("writing {}", f.display()))?;
    }
    Ok(())
}

/// `weir bench compare A.json B.json`: the medians both reports hold and
/// their difference (the repeatability check).
pub fn compare_cli(a: &std::path::Path, b: &std::path::Path, tolerance_pct: f64) -> Result<()> {
    let load = |p: &std::path::Path| -> Result<Report> {
        let t = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_str(&t)
            .with_context(|| format!("{}: not a weir-bench report", p.display()))
    };
    let (ra, rb) = (load(a)?, load(b)?);
    if ra.scenario != rb.scenario {
        bail!("different scenarios: {} and {}", ra.scenario, rb.scenario);
    }
    let c = crate::report::compare(&ra, &rb);
    if c.is_empty() {
        bail!("the two reports share no figure");
    }
    println!(
        "{} vs {} ({}; load {} / {})",
        a.display(),
        b.display(),
        ra.scenario,
        ra.system.loadavg,
        rb.system.loadavg
    );
    let trip = |r: &Report| {
        r.system
            .core_round_trip_ns
            .map_or("-".to_string(), |[x, y]| format!("{x:.0}..{y:.0}"))
    };
    if ra.system.core_round_trip_ns.is_some() || rb.system.core_round_trip_ns.is_some() {
        println!(
            "  tester-worker round trip, ns (before..after): {} / {}",
            trip(&ra),
            trip(&rb)
        );
    }
    if let (Some(x), Some(y)) = (ra.system.core_round_trip_ns, rb.system.core_round_trip_ns) {
        let (lo, hi) = (
            x.iter().chain(&y).copied().fold(f64::INFINITY, f64::min),
            x.iter().chain(&y).copied().fold(0.0, f64::max),
        );
        if hi > 2.0 * lo {
            println!(
                "  warning: the round trip moved {lo:.0}..{hi:.0} ns: the host placed the cores \
                 differently, and rates through the mem rings follow it (perf/noise.md)"
            );
        }
    }
    print!(
        "{}",
        crate::report::comparison_table(&c, tolerance_pct / 100.0)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let p = plan(&BenchArgs::default()).unwrap();
        assert_eq!(p.sizes.len(), 8);
        assert_eq!(p.sizes[7], FrameSize::Imix);
        assert_eq!((p.runs, p.trial), (5, Duration::from_secs(2)));
        let p = plan(&BenchArgs {
            quick: true,
            runs: Some(3),
            ..BenchArgs::default()
        })
        .unwrap();
        assert_eq!(p.sizes, vec![FrameSize::Fixed(64)]);
        assert_eq!(p.runs, 3);
        let p = plan(&BenchArgs {
            imix: true,
            ..BenchArgs::default()
        })
        .unwrap();
        assert_eq!(p.sizes, vec![FrameSize::Imix]);
        assert!(plan(&BenchArgs {
            runs: Some(0),
            ..BenchArgs::default()
        })
        .is_err());
    }
}
