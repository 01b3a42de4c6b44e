#!/usr/bin/env python3
"""Derive the config of scripts/anchors' weir run from examples/dpdk-pcap.toml.

  weircfg.py IN.toml OUT.toml PCAP0 PCAP1 FILE_PREFIX nohuge|huge

- every `rx_pcap=PATH` in a vdev string: the first distinct PATH becomes
  PCAP0, the second PCAP1 (so both ports replay the anchors' pcaps);
- in the [dpdk] table, `file_prefix` is set to FILE_PREFIX, `no_huge` to
  true (nohuge) or false (huge), and `--no-pci` is added to `args` (testpmd
  and l3fwd run with it too); the table is added when missing.
Everything else (ports, addresses, routes, neighbours, workers) is the
example's own. Only the Python standard library is used.
"""
import json
import re
import sys
import tomllib


def value(v):
    """A TOML value of the simple kinds a [dpdk] table holds."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise SystemExit(f"weircfg: cannot write {v!r} back in [dpdk]")


def replace_table(lines, table, values):
    """Replace the [table] section (header to the next header) by `values`,
    or append it."""
    body = [f"[{table}]"] + [f"{k} = {value(v)}" for k, v in values.items()]
    start = next((i for i, l in enumerate(lines) if l.strip() == f"[{table}]"), None)
    if start is None:
        return lines + [""] + body
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].lstrip().startswith("[")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep the blank line before the next table
    return lines[:start] + body + lines[end:]


def main(argv):
    if len(argv) != 6 or argv[5] not in ("nohuge", "huge"):
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, p0, p1, prefix, mode = argv
    text = open(src).read()
    seen = []

    def sub(m):
        path = m.group(1)
        if path not in seen:
            seen.append(path)
        i = seen.index(path)
        if i > 1:
            raise SystemExit(f"weircfg: {src} replays more than two pcaps")
        return "rx_pcap=" + (p0, p1)[i]

    text = re.sub(r"rx_pcap=([^,\"'\s]+)", sub, text)
    if not seen:
        print(f"weircfg: no rx_pcap= in {src}", file=sys.stderr)
        return 1
    dpdk = dict(tomllib.loads(text).get("dpdk", {}))
    dpdk["file_prefix"] = prefix
    dpdk["no_huge"] = mode == "nohuge"
    args = list(dpdk.get("args", []))
    if "--no-pci" not in args:
        args.append("--no-pci")
    dpdk["args"] = args
    out = "\n".join(replace_table(text.splitlines(), "dpdk", dpdk)) + "\n"
    if tomllib.loads(out).get("dpdk") != dpdk:
        raise SystemExit("weircfg: rewriting [dpdk] went wrong")
    with open(dst, "w") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
