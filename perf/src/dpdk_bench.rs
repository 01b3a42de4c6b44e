//! DPDK scenarios (`[dpdk_pcap]`, needs `--features dpdk`): weir's two
//! ports are `net_pcap` vdevs replaying a generated capture each forever
//! (`infinite_rx=1`); net_pcap without a `tx_pcap` counts and frees what it
//! transmits. The vdevs deliver as fast as they are polled, so the offered
//! rate cannot be set and there is no NDR/PDR search: the figure is the
//! **maximum rate**, packets transmitted on both ports per second (=
//! forwarded), measured over `--trial-secs` (whole seconds) after
//! [`WARMUP_SECS`] of forwarding, `--runs` times.
//!
//! `--baseline testpmd` runs dpdk-testpmd `io` on the same vdevs, the same
//! captures and the same forwarding core (weir's worker; testpmd's main
//! lcore is weir's control core), alternating with weir run by run; its
//! rate is the ceiling of these vdevs, and the report's `ratios` give weir
//! / testpmd (basis `max_rate`). This is the method of `scripts/anchors`
//! (`perf/anchors.md`).
//!
//! weir runs in this process (its EAL starts once, with the same settings
//! for every run, and is shut down at the end); testpmd in its own, with a
//! file prefix of its own.

use crate::bench::Plan;
use crate::progress::Progress;
use crate::report::{MaxRateDevice, MaxRatePoint, MaxRateRun, Report, Settings, SCHEMA};
use crate::scenario::{Mode, Scenario};
use crate::sysinfo::SystemInfo;
use crate::trial::FrameSize;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Instant;

/// Seconds of forwarding before a DPDK run is measured (weir and testpmd).
pub const WARMUP_SECS: u64 = 2;

/// What a DPDK scenario run needs from the arguments.
pub struct DpdkArgs {
    /// Use hugepages (`--huge`).
    pub huge: bool,
    /// Pin weir's threads.
    pub pin: bool,
    /// Measure dpdk-testpmd too.
    pub testpmd: bool,
    /// Baselines asked for that do not apply, with the reason.
    pub skipped: Vec<String>,
    /// Show a progress bar.
    pub progress: bool,
}

/// The whole-second measuring window of `plan`.
fn window_secs(plan: &Plan) -> u64 {
    (plan.trial.as_secs_f64().ceil() as u64).max(1)
}

/// Run a DPDK scenario.
pub(crate) fn run(
    scn: &Scenario,
    plan: &Plan,
    args: DpdkArgs,
    system: SystemInfo,
    started: Instant,
) -> Result<Report> {
    let spec = scn
        .dpdk_pcap
        .as_ref()
        .context("not a DPDK scenario (no [dpdk_pcap])")?;
    if !cfg!(feature = "dpdk") {
        bail!(
            "scenario {} runs weir on DPDK net_pcap vdevs: build weir with --features dpdk \
             (cargo build --release --features dpdk)",
            scn.name
        );
    }
    let pid = std::process::id();
    let prefix = format!("weir-bench-{pid}");
    let dir = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mode = |pcaps: [PathBuf; 2]| Mode::DpdkPcap {
        pcaps,
        file_prefix: prefix.clone(),
        huge: args.huge,
    };
    let pcaps_for = |size: FrameSize| {
        [0, 1].map(|i| dir.join(format!("{}-{}.pcap", spec.port[i].interface, size.label())))
    };
    // Addresses, MACs and cores (the captures do not exist yet: the
    // dpdk config wants them).
    let cfg0 = scn.config(&Mode::Mem {
        ring: scn.tester.ring,
    })?;
    let mac = |name: &str| {
        cfg0.interfaces
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.mac)
            .with_context(|| format!("no interface {name}"))
    };
    let fwd_core = *cfg0
        .workers
        .cores
        .first()
        .context("the scenario's [workers] names no core")?;
    let main_core = cfg0.workers.control_core.unwrap_or(0);
    let secs = window_secs(plan);
    let mut report = Report {
        schema: SCHEMA.into(),
        scenario: scn.name.clone(),
        scenario_description: scn.description.clone(),
        scenario_path: scn.path.display().to_string(),
        system,
        settings: Settings {
            runs: plan.runs,
            trial_secs: secs as f64,
            resolution: 0.0,
            pdr_loss: 0.0,
            ring: 0,
            sizes: plan.sizes.iter().map(FrameSize::label).collect(),
            max_rate_pps: None,
            latency_loads_pct: Vec::new(),
            worker_cores: cfg0.workers.cores.clone(),
            control_core: cfg0.workers.control_core.filter(|_| args.pin),
            tester_core: None,
            driver: format!(
                "dpdk net_pcap vdevs (infinite_rx, {} frames per capture), {}, max rate after {WARMUP_SECS} s warm-up",
                spec.frames,
                if args.huge { "hugepages" } else { "no hugepages" }
            ),
            bidirectional: false,
            excuse_stalls: false,
        },
        skipped: args.skipped,
        ..Report::default()
    };
    let mut testpmd = args.testpmd;
    if testpmd && main_core == fwd_core {
        report.skipped.push(format!(
            "baseline testpmd: its main lcore (weir's control core {main_core}) must differ from the forwarding core {fwd_core}"
        ));
        testpmd = false;
    }
    if testpmd && !crate::testpmd::installed("dpdk-testpmd") {
        report
            .skipped
            .push("baseline testpmd: dpdk-testpmd is not installed (apt-get install dpdk)".into());
        testpmd = false;
    }
    let devices = 1 + usize::from(testpmd);
    let mut progress = Progress::new(devices * plan.sizes.len() * plan.runs, args.progress);
    let mut weir_points = Vec::new();
    let mut testpmd_points = Vec::new();
    let mut n = 0;
    for &size in &plan.sizes {
        let pcaps = pcaps_for(size);
        for (path, p) in pcaps.iter().zip(&spec.port) {
            crate::pcapgen::write(path, p, mac(&p.interface)?, size, spec.frames)?;
        }
        let cfg = scn.config(&mode(pcaps.clone()))?;
        let vdevs: Vec<String> = (0..2)
            .map(|i| format!("net_pcap{i},rx_pcap={},infinite_rx=1", pcaps[i].display()))
            .collect();
        let (mut w, mut t) = (Vec::new(), Vec::new());
        for r in 0..plan.runs {
            progress.label(format!(
                "weir dpdk {} B run {}/{}",
                size.label(),
                r + 1,
                plan.runs
            ));
            w.push(imp::weir_once(&cfg, args.pin, secs)?);
            progress.tick();
            if testpmd {
                progress.label(format!(
                    "testpmd {} B run {}/{}",
                    size.label(),
                    r + 1,
                    plan.runs
                ));
                n += 1;
                let run = crate::testpmd::TestpmdRun {
                    main_core,
                    fwd_core,
                    huge: args.huge,
                    vdevs: vdevs.clone(),
                    file_prefix: format!("{prefix}-testpmd-{n}"),
                    warmup: WARMUP_SECS as usize,
                    samples: secs as usize,
                };
                match imp::testpmd_once(&run) {
                    Ok(s) => t.push(MaxRateRun {
                        tx_pps: s.tx_pps,
                        rx_pps: s.rx_pps,
                        secs: secs as f64,
                    }),
                    Err(e) => {
                        report.skipped.push(format!("baseline testpmd: {e:#}"));
                        testpmd = false;
                        t.clear();
                        testpmd_points.clear();
                    }
                }
                progress.tick();
            }
        }
        weir_points.push(MaxRatePoint::from_runs(size.label(), size.mean_bytes(), w));
        if testpmd {
            testpmd_points.push(MaxRatePoint::from_runs(size.label(), size.mean_bytes(), t));
        }
    }
    progress.finish();
    imp::cleanup(&prefix);
    let _ = std::fs::remove_dir_all(&dir);
    report.max_rate.push(MaxRateDevice {
        name: "weir".into(),
        description: format!(
            "weir routing {} on two net_pcap vdevs replaying generated captures, one worker on CPU {fwd_core}",
            scn.name
        ),
        points: weir_points,
    });
    if testpmd {
        report.max_rate.push(MaxRateDevice {
            name: "testpmd".into(),
            description: format!(
                "dpdk-testpmd io forwarding on the same vdevs and captures, forwarding core {fwd_core}"
            ),
            points: testpmd_points,
        });
    }
    report.compute_ratios();
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(not(feature = "dpdk"))]
mod imp {
    use super::*;
    pub fn weir_once(_: &ctrl::config::Config, _: bool, _: u64) -> Result<MaxRateRun> {
        bail!("built without --features dpdk")
    }
    pub fn testpmd_once(_: &crate::testpmd::TestpmdRun) -> Result<crate::testpmd::Sample> {
        bail!("built without --features dpdk")
    }
    pub fn cleanup(_: &str) {}
}

#[cfg(feature = "dpdk")]
mod imp {
    use super::*;
    use ctrl::config::Config;
    use ctrl::router::{Router, RunOptions};
    use std::time::Duration;

    fn counts(r: &Router) -> (u64, u64) {
        r.stats()
            .ports()
            .iter()
            .map(|p| p.counters())
            .fold((0, 0), |(rx, tx), c| (rx + c.rx_packets, tx + c.tx_packets))
    }

    /// weir once: start, wait for forwarding, warm up, measure, stop.
    pub fn weir_once(cfg: &Config, pin: bool, secs: u64) -> Result<MaxRateRun> {
        let mut router = Router::start(
            cfg.clone(),
            RunOptions {
                pin,
                ..RunOptions::default()
            },
        )
        .context("starting weir on the net_pcap vdevs")?;
        let t0 = Instant::now();
        while counts(&router).1 == 0 {
            if t0.elapsed() > Duration::from_secs(30) {
                bail!(
                    "weir transmitted nothing in 30 s (routes, neighbours, MACs of the scenario?)"
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_secs(WARMUP_SECS));
        let (ta, a) = (Instant::now(), counts(&router));
        std::thread::sleep(Duration::from_secs(secs));
        let (tb, b) = (Instant::now(), counts(&router));
        router.stop();
        drop(router);
        let dt = (tb - ta).as_secs_f64();
        Ok(MaxRateRun {
            tx_pps: (b.1 - a.1) as f64 / dt,
            rx_pps: (b.0 - a.0) as f64 / dt,
            secs: dt,
        })
    }

    pub fn testpmd_once(r: &crate::testpmd::TestpmdRun) -> Result<crate::testpmd::Sample> {
        crate::testpmd::run(r)
    }

    /// Shut weir's EAL down and remove what it may have left.
    pub fn cleanup(prefix: &str) {
        let _ = pmd::drivers::dpdk::eal_cleanup();
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
    }
}
