//! The testpmd baseline: dpdk-testpmd forwarding in `io` mode between two
//! `net_null` vdevs (a generator on receive and a sink on transmit, like
//! weir's inline `gen` ports), one forwarding core. Its rate is the
//! DPDK I/O ceiling on this machine; the report compares it with weir's
//! inline maximum rate. Needs weir built with `--features dpdk` and
//! `dpdk-testpmd` on the PATH; otherwise the baseline is reported as
//! skipped.

use crate::report::DeviceReport;
use crate::trial::FrameSize;
use std::time::Duration;

/// Measure testpmd at each size, `runs` times, `trial` long each.
#[cfg(not(feature = "dpdk"))]
pub fn measure(
    _sizes: &[FrameSize],
    _runs: usize,
    _trial: Duration,
) -> anyhow::Result<DeviceReport> {
    anyhow::bail!("this weir was built without --features dpdk")
}

/// Measure testpmd at each size, `runs` times, `trial` long each.
#[cfg(feature = "dpdk")]
pub fn measure(sizes: &[FrameSize], runs: usize, trial: Duration) -> anyhow::Result<DeviceReport> {
    imp::measure(sizes, runs, trial)
}

#[cfg(feature = "dpdk")]
mod imp {
    use super::*;
    use crate::report::{Point, Run, Stat};
    use crate::search::TrialResult;
    use anyhow::{bail, Context, Result};
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Packets forwarded per second by one testpmd run at one fixed size.
    fn once(size: usize, trial: Duration, cores: &str) -> Result<f64> {
        let prefix = format!("weir-bench-{}", std::process::id());
        let len = size - 4;
        let mut child = Command::new("dpdk-testpmd")
            .args([
                "-l",
                cores,
                "--no-huge",
                "-m",
                "512",
                "--no-pci",
                "--file-prefix",
                &prefix,
            ])
            .arg(format!("--vdev=net_null0,size={len}"))
            .arg(format!("--vdev=net_null1,size={len}"))
            .args([
                "--",
                "-i",
                "--forward-mode=io",
                "--nb-cores=1",
                "--auto-start",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting dpdk-testpmd")?;
        let mut stdin = child.stdin.take().context("testpmd stdin")?;
        std::thread::sleep(Duration::from_secs(2)); // EAL start-up
        let _ = writeln!(stdin, "clear port stats all");
        std::thread::sleep(trial);
        let _ = writeln!(stdin, "show port stats all");
        let _ = writeln!(stdin, "stop");
        let _ = writeln!(stdin, "quit");
        drop(stdin);
        let out = child
            .wait_with_output()
            .context("waiting for dpdk-testpmd")?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "Tx-pps:     12345678          Tx-bps: ..." per port; port 1 transmits.
        let tx: Vec<f64> = text
            .lines()
            .filter_map(|l| {
                let i = l.find("Tx-pps:")?;
                l[i + 7..].split_whitespace().next()?.parse().ok()
            })
            .collect();
        let pps: f64 = tx.iter().copied().fold(0.0, f64::max);
        if pps <= 0.0 {
            bail!("could not read a rate from dpdk-testpmd's output");
        }
        Ok(pps)
    }

    pub(super) fn measure(
        sizes: &[FrameSize],
        runs: usize,
        trial: Duration,
    ) -> Result<DeviceReport> {
        which("dpdk-testpmd")?;
        // Online CPUs, not this thread's affinity (the harness pins itself).
        let n = std::fs::read_to_string("/proc/cpuinfo")
            .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
            .unwrap_or(1);
        if n < 2 {
            bail!("testpmd needs 2 CPUs (a main and a forwarding core)");
        }
        let cores = format!("0,{}", n - 1);
        let mut points = Vec::new();
        for &size in sizes {
            let FrameSize::Fixed(s) = size else { continue };
            let mut rs = Vec::new();
            for _ in 0..runs {
                let pps = once(s, trial, &cores)?;
                rs.push(Run {
                    ndr_pps: pps,
                    pdr_pps: pps,
                    full_load: TrialResult {
                        target_pps: 0.0,
                        offered_pps: pps,
                        sent: 0,
                        received: 0,
                    },
                    ..Run::default()
                });
            }
            let mut p = Point::from_runs(size.label(), size.mean_bytes(), rs);
            p.full_load_loss = Stat::default();
            points.push(p);
        }
        Ok(DeviceReport {
            name: "testpmd".into(),
            description: "dpdk-testpmd io forwarding, net_null0 -> net_null1, one core (rate = forwarded pps; no loss search)".into(),
            points,
        })
    }

    fn which(bin: &str) -> Result<()> {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
            .unwrap_or(false);
        if !found {
            bail!("{bin} is not installed (apt-get install dpdk)");
        }
        Ok(())
    }
}
