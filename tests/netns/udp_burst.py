#!/usr/bin/python3
"""Distinct UDP packets for tests/ctl_e2e.rs, sent with scapy from a host
namespace, and written to a pcap exactly as they were sent.

  udp_burst.py IFACE ROUTER_MAC SRC_IP DST_IP COUNT SEED OUT.pcap [icmp]
      write COUNT UDP frames to OUT.pcap, then send them to ROUTER_MAC,
      one every 2 ms. Each has its own IP id, ports, length and payload
      (all derived from SEED); every frame is at least 60 bytes long, so
      nothing pads it. With `icmp`, an ICMP echo request to DST_IP follows
      each UDP frame (not written to OUT.pcap: a capture filtered on UDP
      must leave them out). Prints {"udp": N, "icmp": M} as JSON.
"""

import json
import sys

from scapy.all import ICMP, IP, UDP, Ether, Raw, conf, get_if_hwaddr, sendp, wrpcap

conf.verb = 0


def main():
    iface, router_mac, src, dst, count, seed, out = sys.argv[1:8]
    count, seed = int(count), int(seed)
    icmp = sys.argv[8:9] == ["icmp"]
    mac = get_if_hwaddr(iface)
    udp, frames = [], []
    for i in range(count):
        tail = bytes((seed * 31 + i * 7 + k) & 0xFF for k in range(i % 37))
        payload = b"weir-ctl-e2e seed %d packet %03d " % (seed, i) + tail
        p = (
            Ether(src=mac, dst=router_mac)
            / IP(src=src, dst=dst, id=(seed * 1000 + i) & 0xFFFF, ttl=64)
            / UDP(sport=10000 + seed * 200 + i, dport=20000 + (i * 13) % 1000)
            / Raw(payload)
        )
        p = Ether(bytes(p))
        assert len(p) >= 60
        udp.append(p)
        frames.append(p)
        if icmp:
            e = (
                Ether(src=mac, dst=router_mac)
                / IP(src=src, dst=dst, id=(seed * 1000 + 500 + i) & 0xFFFF)
                / ICMP(type=8, id=seed, seq=i)
                / Raw(b"weir-ctl-e2e echo %03d" % i)
            )
            frames.append(Ether(bytes(e)))
    wrpcap(out, udp)
    sendp(frames, iface=iface, inter=0.002)
    print(json.dumps({"udp": len(udp), "icmp": len(frames) - len(udp)}))


if __name__ == "__main__":
    main()
