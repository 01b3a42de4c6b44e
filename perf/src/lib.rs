//! weir's benchmarks: RFC 2544-style forwarding trials (`weir bench`) and
//! the FIB benchmark (`weir bench fib`).
//!
//! # `weir bench`
//!
//! A *scenario* ([`scenario`], `perf/scenarios/*.toml`) names a weir
//! config and the traffic. weir starts with the scenario's ingress and
//! egress interfaces as external `mem` links; the *tester* ([`trial`]) runs
//! on its own thread (pinned to weir's control core by default: on a
//! 2-core machine the worker keeps the other core to itself), generates
//! stamped frames into the ingress ring and sinks the egress ring. Rings
//! are finite, so loss is real when the pipeline falls behind, and it is
//! counted by sequence number at the sink.
//!
//! Per frame size and per run (`--runs`, default 5):
//!
//! 1. a trial at 100 % load (the tester as fast as it goes, or
//!    `--max-rate`): its offered rate bounds the search, its loss is the
//!    frame loss rate at full load (RFC 2544 §26.3);
//! 2. the NDR/PDR binary search ([`search`], RFC 2544 §26.1): trials of
//!    `--trial-secs` (default 2 s) each at a target rate, until the
//!    bounds are `--resolution` (1 %) of the maximum apart; NDR allows no
//!    loss, PDR 0.5 %;
//!    every trial also records the workers' stalls (no poll round for over
//!    50 µs: the core was taken away) and the frames lost to them
//!    ([`stalls`]); `--excuse-stalls` does not count those (on an isolated
//!    core of a quiet machine there are none);
//! 3. latency trials at 10, 50 and 90 % of that run's NDR: every received
//!    frame's TSC stamp against the TSC when the tester took it, in an
//!    HdrHistogram ([`latency`]).
//!
//! Baselines in the same run (`--baseline`): `loopback` runs the same
//! tester into its own sink through one `mem` link (no pipeline: the
//! ceiling of what the tester can measure). Also measured: weir with
//! *inline* `gen` ports (one core generating, routing and sinking), the
//! maximum rate.
//!
//! *Two-way traffic* (`bidirectional = true` in `[tester]`): the tester
//! also sends the mirrored flows into the egress and sinks them from the
//! ingress, at the same rate, on a stream of their own. The search's rate
//! is the total of both directions (each offers half); a trial passes NDR
//! with zero loss in total (so in each direction), PDR with at most 0.5 %
//! of the total lost. The report gives the totals and each direction.
//!
//! *A tester on DPDK ports* (`[dpdk_tester]`, [`dpdk_tester`], `--features
//! dpdk`): the same trials through DPDK ethdev ports, the tester's cabled
//! to weir's (real NICs), or `net_ring` pairs made by the harness.
//!
//! *DPDK scenarios* (`[dpdk_pcap]`, [`dpdk_bench`], `--features dpdk`):
//! weir's ports are two `net_pcap` vdevs replaying generated captures
//! ([`pcapgen`]) forever; the offered rate cannot be set, so each run
//! measures the maximum rate (report section `max_rate`, no NDR search).
//! `--baseline testpmd` runs dpdk-testpmd `io` on the same vdevs,
//! captures and core ([`testpmd`]); the ratio weir / testpmd has basis
//! `max_rate`.
//!
//! # JSON report (`--json FILE`), schema `weir-bench/1`
//!
//! ```text
//! {
//!   "schema": "weir-bench/1",
//!   "scenario", "scenario_description", "scenario_path": strings,
//!   "system": { "cpu_model", "cores", "kernel",
//!               "hugepages": { "total", "free", "size_kb" },
//!               "weir_commit" (may end in "-dirty"; "" if unknown),
//!               "weir_version", "command" (shell-quoted argv),
//!               "started_unix", "loadavg" ("1min 5min 15min"),
//!               "core_round_trip_ns": [before, after] (mem scenarios,
//!                 pinned: tester core <-> worker core; absent otherwise) },
//!   "settings": { "runs", "trial_secs", "resolution", "pdr_loss", "ring",
//!                 "sizes": ["64", ..., "imix"], "max_rate_pps" (or null),
//!                 "latency_loads_pct": [10, 50, 90], "worker_cores": [..],
//!                 "control_core", "tester_core" (null: unpinned),
//!                 "driver": "mem" | "dpdk net_pcap vdevs ..."
//!                           | "dpdk tester ports: ...",
//!                 "bidirectional": true (two-way only; absent: one way),
//!                 "excuse_stalls": bool (NDR/PDR do not count
//!                                        Trial.stalled_loss) },
//!                 // [dpdk_tester]: ring = the ring pairs' size, 0 on NICs
//!                 // DPDK scenarios: ring, resolution, pdr_loss 0;
//!                 // trial_secs = the measured whole seconds
//!   "devices": [            // "weir" first, then baselines
//!     { "name", "description",
//!       "points": [          // one per size, in settings.sizes order
//!         { "size": "64", "frame_bytes": 64.0,
//!           "ndr_mpps", "pdr_mpps", "ndr_gbps", "full_load_mpps",
//!           "full_load_loss" (ratio 0..1): Stat,
//!           "latency": [ Latency ],
//!           "directions": [         // two-way only: forward, then reverse
//!             { "direction": "forward" | "reverse",
//!               "ndr_mpps", "pdr_mpps" (this direction's rate in the
//!               NDR / PDR trials), "pdr_loss" (its loss ratio in the PDR
//!               trials), "full_load_mpps", "full_load_loss": Stat,
//!               "latency": [ Latency ] } ],
//!           "runs": [ { "ndr_pps", "pdr_pps", "full_load": Trial,
//!                       "trials": [Trial],     // the search, in order
//!                       "latency": [ { "load_pct", "trial": Trial,
//!                                      "latency": Summary,
//!                                      "directions": [ { "direction",  // two-way
//!                                        "latency": Summary } ] } ],
//!                       "directions": [ { "direction", "ndr_pps",   // two-way
//!                                         "pdr_pps", "pdr_loss" } ] } ] } ] } ],
//!   "inline": [ { "size", "mpps": Stat } ],   // weir's inline gen max rate
//!                                             // (two-way: both sinks)
//!   "max_rate": [           // DPDK scenarios ("devices" is then empty):
//!     { "name": "weir" | "testpmd", "description",   // weir first
//!       "points": [ { "size", "frame_bytes", "mpps": Stat (transmitted =
//!                     forwarded), "rx_mpps": Stat,
//!                     "runs": [ { "tx_pps", "rx_pps", "secs" } ] } ] } ],
//!   "ratios": [ { "baseline", "basis": "ndr_pdr" | "inline_max" | "max_rate",
//!                 "size", "ndr", "pdr" } ], // medians weir / baseline; null if 0;
//!                                           // inline_max, max_rate: the rate
//!                                           // ratio in "ndr", "pdr" null
//!   "skipped": [ "baseline testpmd: ..." ],
//!   "elapsed_secs": 123.4
//! }
//! Stat    = { "min", "median", "max" }      // over the runs
//! Trial   = { "target_pps" (0: as fast as possible), "offered_pps",
//!             "sent", "received",           // lost = sent - received
//!             "stalled_loss",               // of lost: refused while a worker
//!                                           // was stalled (see `stalls`)
//!             "stalls", "off_cpu_stalls",   // the workers' stalls in the trial
//!             "longest_stall_us",
//!             "stalled_share",              // most of the trial one worker
//!                                           // spent stalled (0..1)
//!             "directions": [               // two-way only (totals above)
//!               { "direction", "offered_pps", "sent", "received" } ] }
//! Latency = { "load_pct", "p50_ns", "p90_ns", "p99_ns", "p999_ns",
//!             "max_ns": Stat }
//! Summary = { "count", "min_ns", "mean_ns", "p50_ns", "p90_ns",
//!             "p99_ns", "p999_ns", "max_ns" }
//! ```
//!
//! One-way reports have no `bidirectional` and no `directions` fields:
//! their JSON is what it was before two-way traffic existed. In two-way
//! reports `ndr_mpps`, `pdr_mpps`, `full_load_*`, latency and every
//! Trial's `sent`/`received` are totals of both directions.
//!
//! Rates count frames; Gb/s count frame bytes with FCS, without preamble
//! and gap. NDR and PDR are the rate actually offered in the passing
//! trial (never more than its target).

#![warn(missing_docs)]

pub mod bench;
pub mod dpdk_bench;
pub mod dpdk_tester;
pub mod fib;
pub mod latency;
pub mod pcapgen;
pub mod plot;
pub mod progress;
pub mod report;
pub mod scenario;
pub mod search;
pub mod stalls;
pub mod sysinfo;
pub mod testpmd;
pub mod trial;

pub use bench::{cli, BenchArgs};
