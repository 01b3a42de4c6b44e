#!/usr/bin/python3
"""Write the captures examples/dpdk-pcap.toml replays: 64 real 64-byte
IPv4/UDP frames per port (60 bytes + FCS), 64 flows each.

  a: hosts 10.1.0.2-17 behind p0 -> networks 172.16.0.0/16 behind p1
  b: hosts 10.2.0.2-17 behind p1 -> networks 192.168.0.0/16 behind p0

Run with Debian's python3 (scapy): /usr/bin/python3 examples/pcap/make.py
"""
import os
from scapy.all import Ether, IP, UDP, Raw, wrpcap


def frames(src_mac, dst_mac, src_net, dst_prefix):
    out = []
    for i in range(64):
        p = (Ether(src=src_mac, dst=dst_mac)
             / IP(src=f"{src_net}.{2 + i % 16}", dst=f"{dst_prefix}.{i}.2", ttl=64, flags="DF")
             / UDP(sport=1024 + i, dport=5001)
             / Raw(b"weir-dpdk-example!"))
        assert len(bytes(p)) == 60
        out.append(p)
    return out


here = os.path.dirname(os.path.abspath(__file__))
wrpcap(os.path.join(here, "ipv4-64-a.pcap"),
       frames("02:00:00:00:01:02", "02:77:00:00:00:01", "10.1.0", "172.16"))
wrpcap(os.path.join(here, "ipv4-64-b.pcap"),
       frames("02:00:00:00:02:02", "02:77:00:00:00:02", "10.2.0", "192.168"))
