//! `weir bench` against a real preemption of weir's worker: frames lost
//! while the worker is off its CPU are the stalls' (`stalled_loss`), and
//! `--excuse-stalls` does not count them. A binary of its own: other
//! tests' processes on the worker's CPU would add stalls of their own.

mod bench_common;

use bench_common::{f, tmp, weir};
use serde_json::Value;

/// A real preemption of weir's worker: a SCHED_FIFO thread of this test
/// takes the worker's CPU for 3 ms every 150 ms (2 % of its time), while the tester offers
/// 200 kpps into 256-frame rings (1.3 ms of traffic). Every trial loses
/// frames; all of them are the stalls' (the worker off its CPU), and with
/// `--excuse-stalls` the search ends at the top rate.
#[test]
fn frames_lost_while_the_worker_is_preempted_are_stalled_loss() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: SCHED_FIFO needs root");
        return;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("skipped: one CPU, no core of weir's worker's own to take");
        return;
    }
    // weir's default: one worker on the highest-numbered CPU.
    let cpu = cpus - 1;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let hog = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            assert!(core_affinity::set_for_current(core_affinity::CoreId {
                id: cpu
            }));
            let p = libc::sched_param { sched_priority: 10 };
            // SAFETY: `p` is a valid sched_param; 0 is this thread.
            let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &p) };
            ready_tx
                .send(
                    (rc == 0)
                        .then_some(())
                        .ok_or_else(std::io::Error::last_os_error),
                )
                .unwrap();
            if rc != 0 {
                return;
            }
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = std::time::Instant::now();
                while t.elapsed() < std::time::Duration::from_millis(3) {
                    std::hint::spin_loop();
                }
                std::thread::sleep(std::time::Duration::from_millis(147));
            }
        })
    };
    if let Err(e) = ready.recv().unwrap() {
        hog.join().unwrap();
        eprintln!("skipped: no SCHED_FIFO here ({e})");
        return;
    }
    let json = tmp("preempted.json");
    let out = weir()
        .args(["bench", "--quick", "--no-inline", "--no-latency"])
        .args([
            "--sizes",
            "64",
            "--trial-secs",
            "0.5",
            "--max-rate",
            "200000",
        ])
        .args(["--ring", "256", "--resolution", "0.25", "--excuse-stalls"])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hog.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let p = &r["devices"][0]["points"][0];
    let run = &p["runs"][0];
    let trials: Vec<&Value> = std::iter::once(&run["full_load"])
        .chain(run["trials"].as_array().unwrap())
        .collect();
    let mut stalled = 0.0;
    for t in &trials {
        let lost = f(t, "/sent") - f(t, "/received");
        // 3 ms of 200 kpps is 600 frames; the ring holds 256.
        assert!(
            f(t, "/stalls") >= 1.0,
            "a 0.5 s trial sees a 3 ms stall: {t:#}"
        );
        assert!(f(t, "/longest_stall_us") >= 2_500.0, "{t:#}");
        assert!(f(t, "/stalled_share") < 0.05, "{t:#}");
        assert!(
            f(t, "/off_cpu_stalls") >= 1.0,
            "preempted is off the CPU: {t:#}"
        );
        assert_eq!(
            f(t, "/stalled_loss"),
            lost,
            "all the loss is the stalls': {t:#}"
        );
        stalled += lost;
    }
    assert!(stalled > 1000.0, "the stalls lost frames: {run:#}");
    // Excused, the top rate passes (the rate actually offered, which a
    // busy tester may fall a little short of).
    assert!(f(p, "/ndr_mpps/median") > 0.15, "{p:#}");
    assert!(stdout.contains("worker stalls"), "{stdout}");
    assert!(stdout.contains("--excuse-stalls"), "{stdout}");
}
