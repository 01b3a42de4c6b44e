//! The tester on DPDK ethdev ports (`[dpdk_tester]` scenarios, needs
//! `--features dpdk`): weir on real NICs cabled back to back with the
//! tester's, or on `net_ring` pairs.
//!
//! ```text
//!   tester to_dut ──cable or ring pair──► weir ingress
//!                                          │ weir (its own worker cores)
//!   tester from_dut ◄──cable or ring pair── weir egress
//! ```
//!
//! Everything runs in this process, on one EAL: started here with weir's
//! settings (lcores = weir's worker cores; `--no-huge` unless `--huge`;
//! `--no-pci` unless a device is a PCI address; a file prefix of this
//! process's own), so that the ring pairs and the tester's ports exist
//! before weir opens its own; weir's router then finds the EAL running
//! with the same settings. The tester is this thread, pinned as for `mem`
//! scenarios (weir's control core by default: on a 2-core machine it
//! shares that core) and holding an EAL lcore of its own (the EAL's main
//! lcore), with a mempool of its own (`[dpdk_tester] mbufs`). The
//! NDR/PDR/latency trials ([`crate::trial::Tester`]) run over these ports
//! unchanged; loss is still counted by sequence number at the tester.
//!
//! Ring pairs: a tester port and the weir port it is cabled to, both named
//! `net_ring_<x>`, are made with `pmd::drivers::dpdk::ring_pair` (one
//! queue per weir worker, `ring` packets per ring; the tester transmits
//! on the queues in turn and receives from all). They forward mbufs by
//! pointer, so the figures measure weir's pipeline and the ethdev API,
//! not a wire.
//!
//! `--baseline loopback` runs the tester into its own sink through a
//! ring pair of the same size (no weir): the ceiling of the tester.
//! Real NICs need hugepages (`--huge`, reserve them with
//! `scripts/hugepages`); the tester waits up to [`LINK_WAIT`] for the
//! links of its ports to come up.

use crate::bench::{BenchArgs, Plan};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::sysinfo::SystemInfo;
use anyhow::{bail, Result};
use std::time::{Duration, Instant};

/// How long the tester waits for its NIC ports' links.
pub const LINK_WAIT: Duration = Duration::from_secs(15);

/// Run a `[dpdk_tester]` scenario.
pub(crate) fn run(
    scn: &Scenario,
    a: &BenchArgs,
    plan: &Plan,
    ring: usize,
    system: SystemInfo,
    started: Instant,
) -> Result<Report> {
    if !cfg!(feature = "dpdk") {
        bail!(
            "scenario {} drives DPDK ports ([dpdk_tester]): build weir with --features dpdk \
             (cargo build --release --features dpdk)",
            scn.name
        );
    }
    imp::run(scn, a, plan, ring, system, started)
}

#[cfg(not(feature = "dpdk"))]
mod imp {
    use super::*;
    pub fn run(
        _: &Scenario,
        _: &BenchArgs,
        _: &Plan,
        _: usize,
        _: SystemInfo,
        _: Instant,
    ) -> Result<Report> {
        bail!("built without --features dpdk")
    }
}

#[cfg(feature = "dpdk")]
pub use imp::TesterPort;

#[cfg(feature = "dpdk")]
mod imp {
    use super::*;
    use crate::bench::{self, Baseline};
    use crate::progress::Progress;
    use crate::report::DeviceReport;
    use crate::scenario::{is_ring_pair, Mode};
    use crate::trial::Device;
    use anyhow::Context;
    use ctrl::router::{Router, RunOptions};
    use pmd::drivers::dpdk::{self, DpdkMbuf, DpdkPool, DpdkPort, DpdkPortConfig};
    use pmd::{Burst, Port, QueueStats};
    use std::sync::Arc;

    /// A tester port: one or more queues of a DPDK port. It transmits
    /// each burst on the next queue in turn and receives from the queues
    /// in turn, so a ring pair of several queues feeds every weir worker.
    pub struct TesterPort {
        queues: Vec<DpdkPort>,
        tx: usize,
        rx: usize,
    }

    impl TesterPort {
        /// Open `device` with `queues` queues on `pool`.
        pub fn open(
            device: &str,
            queues: usize,
            rx_desc: u16,
            tx_desc: u16,
            pool: &DpdkPool,
        ) -> Result<TesterPort> {
            let queues = dpdk::open(
                &DpdkPortConfig {
                    device: device.to_string(),
                    queues,
                    rx_desc,
                    tx_desc,
                    promisc: true,
                    mtu: None,
                },
                pool,
            )
            .with_context(|| format!("opening the tester's port {device}"))?;
            Ok(TesterPort {
                queues,
                tx: 0,
                rx: 0,
            })
        }

        /// The port's name.
        pub fn name(&self) -> &str {
            self.queues[0].name()
        }

        /// Wait up to `max` for the link; whether it is up.
        pub fn wait_link(&self, max: Duration) -> bool {
            let t0 = Instant::now();
            loop {
                if self.queues[0].link_status().up {
                    return true;
                }
                if t0.elapsed() > max {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        /// The device's own counters.
        pub fn device_stats(&self) -> dpdk::DeviceStats {
            self.queues[0].device_stats()
        }
    }

    impl Port<DpdkPool> for TesterPort {
        #[inline]
        fn rx_burst(&mut self, out: &mut Burst<DpdkMbuf>) -> usize {
            let n = self.queues.len();
            for i in 0..n {
                let q = (self.rx + i) % n;
                let got = self.queues[q].rx_burst(out);
                if got > 0 {
                    self.rx = (q + 1) % n;
                    return got;
                }
            }
            0
        }

        #[inline]
        fn tx_burst(&mut self, pkts: &mut Burst<DpdkMbuf>) -> usize {
            let q = self.tx;
            self.tx = (q + 1) % self.queues.len();
            self.queues[q].tx_burst(pkts)
        }

        fn flush(&mut self) {
            for q in &mut self.queues {
                q.flush();
            }
        }

        fn stats(&self) -> &Arc<QueueStats> {
            self.queues[0].stats()
        }
    }

    /// Frames the device missed (`imissed` + `rx_nombuf`) or could not
    /// send (`oerrors`) since `before`, for the report.
    fn port_drops(p: &TesterPort, before: &dpdk::DeviceStats) -> Option<String> {
        let now = p.device_stats();
        let missed =
            (now.imissed + now.rx_nombuf).saturating_sub(before.imissed + before.rx_nombuf);
        let oerr = now.oerrors.saturating_sub(before.oerrors);
        (missed + oerr > 0 && !is_ring_pair(p.name())).then(|| {
            format!(
                "tester port {}: the NIC itself dropped {missed} received and {oerr} sent frames \
                 over the run (counted as loss; more rx_desc or mbufs may help)",
                p.name()
            )
        })
    }

    pub fn run(
        scn: &Scenario,
        a: &BenchArgs,
        plan: &Plan,
        ring: usize,
        system: SystemInfo,
        started: Instant,
    ) -> Result<Report> {
        let spec = scn
            .dpdk_tester
            .as_ref()
            .context("not a [dpdk_tester] scenario")?;
        let cabling = scn.dpdk_cabling()?;
        if cabling.any_pci() && !a.huge {
            bail!(
                "{}: real NICs ({} -> {}, {} -> {}) need hugepages: reserve them \
                 (scripts/hugepages reserve 1024) and run with --huge",
                scn.path.display(),
                cabling.to_dut.0,
                cabling.to_dut.1,
                cabling.from_dut.0,
                cabling.from_dut.1
            );
        }
        let prefix = format!("weir-bench-{}", std::process::id());
        let cfg = scn.config(&Mode::DpdkTester {
            file_prefix: prefix.clone(),
            huge: a.huge,
        })?;
        let result = measure(scn, a, plan, ring, system, started, spec, &cabling, &cfg);
        // Everything of the EAL is dropped by now.
        if let Err(e) = dpdk::eal_cleanup() {
            eprintln!("weir bench: shutting DPDK's EAL down: {e}");
        }
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn measure(
        scn: &Scenario,
        a: &BenchArgs,
        plan: &Plan,
        ring: usize,
        system: SystemInfo,
        started: Instant,
        spec: &crate::scenario::DpdkTesterSpec,
        cabling: &crate::scenario::DpdkCabling,
        cfg: &ctrl::config::Config,
    ) -> Result<Report> {
        let pin = !a.no_pin;
        let flows = scn.flows(cfg)?;
        let tester_core = bench::tester_core(a, cfg);
        let pairs = cabling.ring_pairs();
        let mut driver = format!(
            "dpdk tester ports: {} -> weir {} ({}), weir {} -> {} ({}); {}",
            cabling.to_dut.0,
            cabling.to_dut.1,
            if is_ring_pair(&cabling.to_dut.0) {
                format!("ring pair of {ring}")
            } else {
                "cable".into()
            },
            cabling.from_dut.0,
            cabling.from_dut.1,
            if is_ring_pair(&cabling.from_dut.1) {
                format!("ring pair of {ring}")
            } else {
                "cable".into()
            },
            if a.huge { "hugepages" } else { "no hugepages" }
        );
        let mut report = bench::tester_report(
            scn,
            a,
            plan,
            system,
            cfg,
            if pairs.is_empty() { 0 } else { ring },
            tester_core,
        );
        // Pin first: the EAL keeps this thread's affinity, and DPDK takes
        // the thread's NUMA socket from it.
        let unpin = bench::pin_tester(tester_core, &mut report);
        dpdk::eal_init(&ctrl::dpdk::eal_config(cfg)).context("starting DPDK's EAL")?;
        let _lcore = dpdk::register_thread().context("registering the tester with the EAL")?;
        if let Some(id) = dpdk::lcore_id() {
            // An lcore id names a mempool cache, not a CPU: the tester runs
            // on settings.tester_core.
            driver.push_str(&format!("; the tester holds EAL lcore id {id}"));
        }
        report.settings.driver = driver;
        let workers = cfg.workers.cores.len().max(1);
        for (t, w) in &pairs {
            dpdk::ring_pair(t, w, workers, ring)
                .with_context(|| format!("making the ring pair {t} <-> {w}"))?;
        }
        let pool = DpdkPool::new("weir-tester", spec.mbufs, 2048, 256, -1)
            .context("creating the tester's mbuf pool ([dpdk_tester] mbufs)")?;
        let queues = |dev: &str| if is_ring_pair(dev) { workers } else { 1 };
        let open =
            |dev: &str| TesterPort::open(dev, queues(dev), spec.rx_desc, spec.tx_desc, &pool);
        let to_dut = open(&spec.to_dut)?;
        let from_dut = open(&spec.from_dut)?;
        let loopback = a.baselines.contains(&Baseline::Loopback);
        let mut progress = Progress::new(
            (1 + usize::from(loopback))
                * plan.sizes.len()
                * plan.runs
                * bench::trials_per_run(plan),
            !a.no_progress,
        );
        {
            let mut router = Router::start(
                cfg.clone(),
                RunOptions {
                    pin,
                    ..RunOptions::default()
                },
            )
            .context("starting weir on its DPDK ports")?;
            for w in &router.warnings {
                eprintln!("weir: warning: {w}");
            }
            for p in [&to_dut, &from_dut] {
                if !p.wait_link(LINK_WAIT) {
                    bail!(
                        "tester port {}: the link is still down after {} s (cabled to weir's port? \
                         both ends bound to vfio-pci?)",
                        p.name(),
                        LINK_WAIT.as_secs()
                    );
                }
            }
            let before = [to_dut.device_stats(), from_dut.device_stats()];
            let mut tester = bench::tester_for(
                Device {
                    to_dut,
                    from_dut,
                    pool: pool.clone(),
                },
                &flows,
            );
            // Counts loss on net_ring pairs; a NIC drops in its own ring
            // (imissed), which the tester's enqueue does not see.
            tester.watch_workers(router.stats().workers.clone());
            let points =
                bench::measure_device("weir", &mut tester, plan, a.max_rate, &mut progress)?;
            let dev = tester.device();
            for (p, b) in [(&dev.to_dut, &before[0]), (&dev.from_dut, &before[1])] {
                if let Some(note) = port_drops(p, b) {
                    report.skipped.push(note);
                }
            }
            drop(tester);
            router.stop();
            report.devices.push(DeviceReport {
                name: "weir".into(),
                description: format!(
                    "weir routing {} on DPDK ports, {} worker{}; tester on DPDK ports{}",
                    scn.name,
                    workers,
                    if workers == 1 { "" } else { "s" },
                    bench::two_way_note(scn)
                ),
                points,
            });
        }
        if loopback {
            let (la, lb) = ("net_ring_bench_lb_a", "net_ring_bench_lb_b");
            dpdk::ring_pair(la, lb, 1, ring).context("making the loopback ring pair")?;
            let dev = Device {
                to_dut: TesterPort::open(la, 1, spec.rx_desc, spec.tx_desc, &pool)?,
                from_dut: TesterPort::open(lb, 1, spec.rx_desc, spec.tx_desc, &pool)?,
                pool: pool.clone(),
            };
            let mut tester = bench::tester_for(dev, &flows);
            let points =
                bench::measure_device("loopback", &mut tester, plan, a.max_rate, &mut progress)?;
            report.devices.push(DeviceReport {
                name: "loopback".into(),
                description: format!(
                    "the tester into its own sink through a DPDK ring pair of {ring} packets, no \
                     pipeline{}",
                    bench::two_way_note(scn)
                ),
                points,
            });
        }
        if a.baselines.contains(&Baseline::Testpmd) {
            report.skipped.push(
                "baseline testpmd: only in [dpdk_pcap] scenarios (perf/scenarios/ipv4-dpdk-pcap.toml)"
                    .into(),
            );
        }
        drop(pool);
        unpin.restore();
        if !a.no_inline {
            report.inline = bench::inline_points(scn, plan, pin, &mut progress)?;
        }
        progress.finish();
        report.compute_ratios();
        report.elapsed_secs = started.elapsed().as_secs_f64();
        Ok(report)
    }
}
