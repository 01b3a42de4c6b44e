#!/usr/bin/python3
"""One TCP connection carrying data both ways, for tests/gre_ovs.rs.

  tcp_echo.py serve PORT TIMEOUT
      listen on PORT, print "listening", accept one connection and send
      back everything it reads until the peer half-closes; print
      {"bytes": N}.
  tcp_echo.py talk HOST PORT NBYTES SEED TIMEOUT
      connect (retrying until TIMEOUT), send NBYTES pseudo-random bytes
      from SEED while reading the echo, half-close, read to the end;
      print {"sent": N, "echoed": M, "same": true|false}.

Exits non-zero with a message on stderr on any error or timeout.
"""

import json
import random
import selectors
import socket
import sys
import time


def serve(port, timeout):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    print("listening", flush=True)
    srv.settimeout(timeout)
    conn, _ = srv.accept()
    conn.settimeout(timeout)
    n = 0
    while True:
        b = conn.recv(1 << 16)
        if not b:
            break
        conn.sendall(b)
        n += len(b)
    conn.close()
    print(json.dumps({"bytes": n}), flush=True)


def talk(host, port, nbytes, seed, timeout):
    deadline = time.monotonic() + timeout
    data = random.Random(seed).randbytes(nbytes)
    while True:
        try:
            s = socket.create_connection((host, port), timeout=1)
            break
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    sent, back, closed = 0, bytearray(), False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"sent {sent}, echoed {len(back)}")
        for _, ev in sel.select(min(left, 0.5)):
            if ev & selectors.EVENT_READ:
                b = s.recv(1 << 16)
                if not b:
                    s.close()
                    out = {"sent": sent, "echoed": len(back), "same": bytes(back) == data}
                    print(json.dumps(out), flush=True)
                    return
                back += b
            if ev & selectors.EVENT_WRITE and not closed:
                if sent < nbytes:
                    sent += s.send(data[sent : sent + (1 << 16)])
                if sent == nbytes:
                    s.shutdown(socket.SHUT_WR)
                    closed = True
                    sel.modify(s, selectors.EVENT_READ)


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 3 and a[0] == "serve":
            serve(int(a[1]), float(a[2]))
        elif len(a) == 6 and a[0] == "talk":
            talk(a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Exception as e:  # noqa: BLE001 - report anything, fail
        print(f"tcp_echo.py {a[0] if a else ''}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
