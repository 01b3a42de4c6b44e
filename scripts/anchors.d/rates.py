#!/usr/bin/env python3
"""Rates from the logs of scripts/anchors' runs, and its final report.

  rates.py count testpmd|l3fwd LOG        forwarding samples so far
  rates.py rate testpmd|l3fwd LOG W S     Mpps over S samples after W
  rates.py rate weir LOG W S SUMMARY.json
  rates.py routecheck L3FWD_LOG N         N packets in on port 0, out on 1?
  rates.py report RESULTS [OUT.json] key=value...

A sample is one second of forwarding:
- testpmd (--stats-period 1): one "Port statistics" block, whose per-port
  Rx-pps/Tx-pps testpmd computes over the period with its own clock;
- l3fwd (patched, L3FWD_STATS_MS=1000): one "ANCHOR-STATS period" line with
  a CLOCK_MONOTONIC time and the ports' total rx/tx counters;
- weir: one per-second line "[ Ns] port rx X Mpps .. tx Y Mpps .. |".
Samples before forwarding starts (rate 0) are not counted; the first W
forwarding samples are the warm-up; the rate is over the next S. The
figure is packets transmitted on both ports (= forwarded) per second.
"""
import json
import re
import sys

NPORTS = 2


def testpmd_samples(path):
    text = open(path, errors="replace").read()
    out = []
    for block in text.split("Port statistics ====")[1:]:
        tx = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", block)]
        rx = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", block)]
        if len(tx) < NPORTS or len(rx) < NPORTS:
            continue  # being written
        if sum(tx) == 0:
            continue  # before forwarding (or testpmd's first show)
        out.append((sum(rx[:NPORTS]), sum(tx[:NPORTS])))
    return out


L3_RE = re.compile(r"^ANCHOR-STATS (?:start|period) t=(\d+\.\d+) rx=(\d+) tx=(\d+)", re.M)


def l3fwd_samples(path):
    """(t, rx, tx) cumulative samples from the last one before forwarding
    (the "start" line, printed before the loops are launched, is one)."""
    text = open(path, errors="replace").read()
    s = [(float(t), int(r), int(x)) for t, r, x in L3_RE.findall(text)]
    first = next((i for i, v in enumerate(s) if v[2] > 0), None)
    if first is None or first == 0:
        return []
    return s[first - 1:]


WEIR_RE = re.compile(r"^\[\s*(\d+)s\](.*)$", re.M)


def weir_samples(path):
    out = []
    for _sec, rest in WEIR_RE.findall(open(path, errors="replace").read()):
        rx = sum(float(x) for x in re.findall(r"\brx ([0-9.]+) Mpps", rest))
        tx = sum(float(x) for x in re.findall(r"\btx ([0-9.]+) Mpps", rest))
        if tx > 0:
            out.append((rx, tx))
    return out


def l3fwd_ports(path):
    return dict((int(p), (int(r), int(t))) for p, r, t in re.findall(
        r"^ANCHOR-PORT (\d+) rx=(\d+) tx=(\d+)", open(path, errors="replace").read(), re.M))


def routecheck(path, n):
    """l3fwd fed N packets on port 0 only: all must leave by port 1."""
    p = l3fwd_ports(path)
    if p.get(0, (0, 0))[0] == n and p.get(1, (0, 0))[1] == n and p[0][1] == 0:
        return f"ok: the {n} packets received on port 0 all left by port 1"
    return f"failed: port counters (rx, tx) {p}, expected port 0 rx {n} and port 1 tx {n}"


def count(kind, path):
    if kind == "testpmd":
        return len(testpmd_samples(path))
    s = l3fwd_samples(path)
    return max(len(s) - 1, 0)


def spread(per_second):
    """The slowest and fastest one-second rates (Mpps) of the window."""
    return f"min_mpps={min(per_second):.3f} max_mpps={max(per_second):.3f}"


def rate(kind, path, warm, secs, summary=None):
    """'ok mpps=.. rx_mpps=.. samples=N' or 'failed reason'."""
    if kind == "testpmd":
        s = testpmd_samples(path)[warm:warm + secs]
        if not s:
            return "failed no forwarding samples after the warm-up"
        rx = sum(v[0] for v in s) / len(s) / 1e6
        tx = sum(v[1] for v in s) / len(s) / 1e6
        return (f"ok mpps={tx:.3f} rx_mpps={rx:.3f} {spread([v[1] / 1e6 for v in s])} "
                f"samples={len(s)} method=testpmd-pps")
    if kind == "l3fwd":
        s = l3fwd_samples(path)
        if len(s) < warm + 2:
            return "failed no forwarding samples after the warm-up"
        a = s[warm]
        b = s[min(warm + secs, len(s) - 1)]
        dt = b[0] - a[0]
        tx = (b[2] - a[2]) / dt / 1e6
        rx = (b[1] - a[1]) / dt / 1e6
        w = s[warm:min(warm + secs, len(s) - 1) + 1]
        per = [(y[2] - x[2]) / (y[0] - x[0]) / 1e6 for x, y in zip(w, w[1:])]
        return (f"ok mpps={tx:.3f} rx_mpps={rx:.3f} {spread(per)} samples={round(dt)} "
                f"method=l3fwd-counters")
    if kind == "weir":
        s = weir_samples(path)[warm:warm + secs]
        if s:
            rx = sum(v[0] for v in s) / len(s)
            tx = sum(v[1] for v in s) / len(s)
            return (f"ok mpps={tx:.3f} rx_mpps={rx:.3f} {spread([v[1] for v in s])} "
                    f"samples={len(s)} method=weir-lines")
        try:
            j = json.load(open(summary))
            el = float(j["elapsed_seconds"])
            tx = sum(p["tx_packets"] for p in j["ports"]) / el / 1e6
            rx = sum(p["rx_packets"] for p in j["ports"]) / el / 1e6
        except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError) as e:
            return f"failed no per-second lines and no usable summary ({e})"
        return f"ok mpps={tx:.3f} rx_mpps={rx:.3f} samples={round(el)} method=weir-summary"
    raise SystemExit(f"unknown kind {kind}")


NAMES = {"testpmd-io": "testpmd io", "l3fwd-lpm": "l3fwd LPM", "weir": "weir"}


def report(results_path, out, kv):
    runs = []
    for line in open(results_path):
        parts = line.split()
        if len(parts) < 3:
            continue
        what, mode, status = parts[0], parts[1], parts[2]
        r = {"what": what, "hugepages": mode == "huge", "status": status}
        rest = parts[3:]
        if status == "ok":
            for p in rest:
                k, _, v = p.partition("=")
                try:
                    r[k] = float(v) if k.endswith("mpps") else int(v)
                except ValueError:
                    r[k] = v
        else:
            r["reason"] = " ".join(rest)
        runs.append(r)

    def get(what, huge):
        for r in runs:
            if r["what"] == what and r["hugepages"] == huge and r["status"] == "ok":
                return r["mpps"]
        return None

    ratios = {}
    for huge in (False, True):
        w, l3, tp = get("weir", huge), get("l3fwd-lpm", huge), get("testpmd-io", huge)
        d = {}
        if w and l3:
            d["weir/l3fwd"] = round(w / l3, 3)
        if w and tp:
            d["weir/testpmd"] = round(w / tp, 3)
        if l3 and tp:
            d["l3fwd/testpmd"] = round(l3 / tp, 3)
        if d:
            ratios["hugepages" if huge else "no_hugepages"] = d

    meta = dict(x.split("=", 1) for x in kv)
    print()
    print(f"anchors: 64-byte IPv4/UDP, 2x net_pcap (infinite_rx), one forwarding core "
          f"(CPU {meta.get('fwd_core')}), {meta.get('seconds')} s after {meta.get('warmup')} s warm-up")
    print(f"{'what':<12} {'hugepages':<10} {'Mpps':>8}  {'vs l3fwd':>8}  {'vs testpmd':>10}"
          f"  {'1-s min..max':>14}")
    for r in runs:
        hp = "yes" if r["hugepages"] else "no"
        if r["status"] == "ok":
            l3, tp = get("l3fwd-lpm", r["hugepages"]), get("testpmd-io", r["hugepages"])
            vl = f"{r['mpps'] / l3:.2f}x" if l3 else "-"
            vt = f"{r['mpps'] / tp:.2f}x" if tp else "-"
            mm = f"{r['min_mpps']:.1f}..{r['max_mpps']:.1f}" if "min_mpps" in r else ""
            print(f"{NAMES.get(r['what'], r['what']):<12} {hp:<10} {r['mpps']:>8.2f}  {vl:>8}  {vt:>10}"
                  f"  {mm:>14}")
        else:
            print(f"{NAMES.get(r['what'], r['what']):<12} {hp:<10} {r['status']:>8}  {r.get('reason', '')}")
    print(f"load average {meta.get('load_start')} at the start, {meta.get('load_end')} at the end;"
          f" {meta.get('elapsed')} s in all")
    failed = [r for r in runs if r["status"] == "failed"]
    doc = {
        "what": "scripts/anchors: reference forwarding rates for weir's DPDK driver",
        "frame_bytes": 64,
        "vdevs": "2x net_pcap, rx_pcap with infinite_rx=1, no tx stream (TX drops)",
        "seconds": int(meta.get("seconds", 0)),
        "warmup_seconds": int(meta.get("warmup", 0)),
        "forwarding_core": int(meta.get("fwd_core", 0)),
        "hugepages_2mb": int(meta.get("hugepages", 0)),
        "dpdk": meta.get("dpdk"),
        "cpus": int(meta.get("cpus", 0)),
        "cpu_model": meta.get("cpu_model"),
        "load_start": meta.get("load_start"),
        "load_end": meta.get("load_end"),
        "elapsed_seconds": int(meta.get("elapsed", 0)),
        "runs": runs,
        "ratios": ratios,
    }
    if out:
        with open(out, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"wrote {out}")
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "count":
        print(count(argv[1], argv[2]))
        return 0
    if len(argv) >= 5 and argv[0] == "rate":
        print(rate(argv[1], argv[2], int(argv[3]), int(argv[4]),
                   argv[5] if len(argv) > 5 else None))
        return 0
    if len(argv) == 3 and argv[0] == "routecheck":
        msg = routecheck(argv[1], int(argv[2]))
        print(msg)
        return 0 if msg.startswith("ok") else 1
    if len(argv) >= 2 and argv[0] == "report":
        out = argv[2] if len(argv) > 2 and "=" not in argv[2] else ""
        kv = [a for a in argv[2:] if "=" in a]
        return report(argv[1], out, kv)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
