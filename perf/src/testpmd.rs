//! The testpmd baseline: dpdk-testpmd forwarding in `io` mode on the same
//! `net_pcap` vdevs and captures as weir in a DPDK scenario, on the same
//! forwarding core (the method of `scripts/anchors`, `perf/anchors.md`).
//!
//! testpmd runs non-interactively with `--stats-period 1`: every second
//! it prints a "Port statistics" block whose per-port `Rx-pps`/`Tx-pps` it
//! computes over the period with its own clock. Samples before forwarding
//! starts (all zero) are skipped, the first `warmup` forwarding samples
//! too; the rate is the mean `Tx-pps` summed over the ports of the next
//! `samples` (= packets forwarded per second: net_pcap without a `tx_pcap`
//! counts and frees what it is given). testpmd is then stopped with SIGINT
//! and its `/var/run/dpdk/<prefix>` directory removed.

/// One testpmd statistics period: packets per second received and
/// transmitted, summed over the ports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Received, pps.
    pub rx_pps: f64,
    /// Transmitted (forwarded), pps.
    pub tx_pps: f64,
}

/// The forwarding samples in testpmd's `--stats-period` output: one per
/// complete "Port statistics" block holding `ports` ports, blocks whose
/// transmit rate is zero (before forwarding) left out.
pub fn parse_samples(text: &str, ports: usize) -> Vec<Sample> {
    let field = |block: &str, key: &str| -> Vec<f64> {
        block
            .lines()
            .filter_map(|l| {
                let i = l.find(key)?;
                l[i + key.len()..].split_whitespace().next()?.parse().ok()
            })
            .collect()
    };
    text.split("Port statistics ====")
        .skip(1)
        .filter_map(|block| {
            let rx = field(block, "Rx-pps:");
            let tx = field(block, "Tx-pps:");
            if rx.len() < ports || tx.len() < ports {
                return None; // being written
            }
            let s = Sample {
                rx_pps: rx[..ports].iter().sum(),
                tx_pps: tx[..ports].iter().sum(),
            };
            (s.tx_pps > 0.0).then_some(s)
        })
        .collect()
}

/// Mean rates of the `samples` samples after the first `warmup`; `None`
/// until there are that many.
pub fn window(all: &[Sample], warmup: usize, samples: usize) -> Option<Sample> {
    let w = all.get(warmup..warmup + samples)?;
    let n = w.len().max(1) as f64;
    Some(Sample {
        rx_pps: w.iter().map(|s| s.rx_pps).sum::<f64>() / n,
        tx_pps: w.iter().map(|s| s.tx_pps).sum::<f64>() / n,
    })
}

/// How to run testpmd.
#[derive(Clone, Debug)]
pub struct TestpmdRun {
    /// testpmd's main lcore (prints statistics only).
    pub main_core: usize,
    /// The forwarding lcore.
    pub fwd_core: usize,
    /// `--in-memory` on hugepages, else `--no-huge -m 1024`.
    pub huge: bool,
    /// `--vdev` arguments, port 0 first.
    pub vdevs: Vec<String>,
    /// `--file-prefix` (removed from /var/run/dpdk afterwards).
    pub file_prefix: String,
    /// Forwarding samples (seconds) skipped first.
    pub warmup: usize,
    /// Samples averaged.
    pub samples: usize,
}

impl TestpmdRun {
    /// The command line (without the program name).
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec!["-l".into(), format!("{},{}", self.main_core, self.fwd_core)];
        if self.huge {
            a.push("--in-memory".into());
        } else {
            a.extend(["--no-huge", "-m", "1024"].map(String::from));
        }
        a.extend(["--no-pci", "--file-prefix"].map(String::from));
        a.push(self.file_prefix.clone());
        for v in &self.vdevs {
            a.push("--vdev".into());
            a.push(v.clone());
        }
        a.extend(
            [
                "--",
                "--forward-mode=io",
                "--nb-cores=1",
                "--rxq=1",
                "--txq=1",
                "--no-flush-rx",
                "--stats-period",
                "1",
            ]
            .map(String::from),
        );
        a
    }
}

/// Is `bin` on the PATH?
pub fn installed(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

#[cfg(feature = "dpdk")]
pub use imp::run;

#[cfg(feature = "dpdk")]
mod imp {
    use super::*;
    use anyhow::{bail, Context, Result};
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// Run testpmd once; its mean rates over the window.
    pub fn run(r: &TestpmdRun) -> Result<Sample> {
        if !installed("dpdk-testpmd") {
            bail!("dpdk-testpmd is not installed (apt-get install dpdk)");
        }
        let mut child = Command::new("dpdk-testpmd")
            .args(r.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting dpdk-testpmd")?;
        let text = Arc::new(Mutex::new(String::new()));
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|s| {
            let text = text.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(s).lines().map_while(|l| l.ok()) {
                    let mut t = text.lock().unwrap_or_else(|e| e.into_inner());
                    t.push_str(&line);
                    t.push('\n');
                }
            })
        })
        .collect();
        let need = r.warmup + r.samples;
        let deadline = Instant::now() + Duration::from_secs(need as u64 + 60);
        let outcome: Result<Sample> = loop {
            std::thread::sleep(Duration::from_millis(100));
            let t = text.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(s) = window(&parse_samples(&t, r.vdevs.len()), r.warmup, r.samples) {
                break Ok(s);
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let tail: Vec<&str> = t.lines().rev().take(8).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                break Err(anyhow::anyhow!(
                    "dpdk-testpmd {} before {need} forwarding samples; last lines:\n{}",
                    match exited {
                        Some(st) => format!("exited ({st})"),
                        None => "timed out".into(),
                    },
                    tail.join("\n")
                ));
            }
        };
        // SIGINT: testpmd stops forwarding, closes its ports and exits.
        // SAFETY: signals our own child, still unreaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let stop = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > stop {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for h in readers {
            let _ = h.join();
        }
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", r.file_prefix));
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from dpdk-testpmd 22.11 (`--stats-period 1`, two net_pcap
    /// vdevs): a block before forwarding (all zero), two forwarding
    /// periods, and a block cut off mid-way (as while it is written).
    const SAMPLE: &str = include_str!("../testdata/testpmd-stats.txt");

    #[test]
    fn testpmd_periods_parse() {
        let s = parse_samples(SAMPLE, 2);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(
            s[0],
            Sample {
                rx_pps: 19_194_382.0 + 19_194_404.0,
                tx_pps: 19_194_398.0 + 19_194_404.0
            }
        );
        assert_eq!(s[1].tx_pps, 19_231_917.0 + 19_231_935.0);
        let w = window(&s, 0, 2).unwrap();
        assert_eq!(w.tx_pps, (s[0].tx_pps + s[1].tx_pps) / 2.0);
        assert_eq!(window(&s, 1, 1).unwrap(), s[1]);
        assert!(window(&s, 1, 2).is_none(), "not enough samples yet");
        assert!(parse_samples("no statistics here", 2).is_empty());
        // A block with one port only is incomplete for two.
        assert_eq!(parse_samples(SAMPLE, 3).len(), 0);
    }

    #[test]
    fn the_command_line_is_the_anchors_one() {
        let r = TestpmdRun {
            main_core: 0,
            fwd_core: 1,
            huge: false,
            vdevs: vec!["net_pcap0,rx_pcap=a.pcap,infinite_rx=1".into()],
            file_prefix: "x".into(),
            warmup: 2,
            samples: 2,
        };
        let a = r.args().join(" ");
        assert!(a.starts_with("-l 0,1 --no-huge -m 1024 --no-pci --file-prefix x --vdev net_pcap0"));
        assert!(a.ends_with(
            "-- --forward-mode=io --nb-cores=1 --rxq=1 --txq=1 --no-flush-rx --stats-period 1"
        ));
        let h = TestpmdRun { huge: true, ..r }.args().join(" ");
        assert!(h.contains("--in-memory") && !h.contains("--no-huge"));
    }
}
