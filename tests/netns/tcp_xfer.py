#!/usr/bin/python3
"""One TCP transfer with bounded timeouts, for tests/netns.rs.

  tcp_xfer.py recv PORT TIMEOUT
      listen on PORT, print "listening", accept one connection, read it to
      the end and close; print {"bytes": N, "sha256": HEX}.
  tcp_xfer.py send HOST PORT NBYTES SEED TIMEOUT
      connect (retrying until TIMEOUT), send NBYTES pseudo-random bytes from
      SEED, half-close and wait for the receiver to close (so everything
      was read); print {"bytes": N, "sha256": HEX, "seconds": S}.

Exits non-zero with a message on stderr on any error or timeout.
"""

import hashlib
import json
import random
import socket
import sys
import time


def recv(port, timeout):
    deadline = time.monotonic() + timeout
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    print("listening", flush=True)
    srv.settimeout(timeout)
    conn, _ = srv.accept()
    h = hashlib.sha256()
    n = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"receive timed out after {n} bytes")
        conn.settimeout(left)
        b = conn.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    conn.close()
    print(json.dumps({"bytes": n, "sha256": h.hexdigest()}), flush=True)


def send(host, port, nbytes, seed, timeout):
    deadline = time.monotonic() + timeout
    data = random.Random(seed).randbytes(nbytes)
    while True:
        try:
            s = socket.create_connection(
                (host, port), timeout=max(0.1, deadline - time.monotonic())
            )
            break
        except (ConnectionRefusedError, socket.timeout, OSError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    start = time.monotonic()
    s.settimeout(max(0.1, deadline - time.monotonic()))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    # The receiver closes after reading everything.
    while s.recv(4096):
        pass
    s.close()
    secs = time.monotonic() - start
    out = {"bytes": nbytes, "sha256": hashlib.sha256(data).hexdigest(), "seconds": secs}
    print(json.dumps(out), flush=True)


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 3 and a[0] == "recv":
            recv(int(a[1]), float(a[2]))
        elif len(a) == 6 and a[0] == "send":
            send(a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Exception as e:  # noqa: BLE001 - report anything, fail
        print(f"tcp_xfer.py {a[0] if a else ''}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
