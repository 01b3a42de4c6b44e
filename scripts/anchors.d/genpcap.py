#!/usr/bin/env python3
"""Write a pcap of 64-byte Ethernet/IPv4/UDP frames for scripts/anchors.

64 bytes on the wire = 60 bytes captured (the FCS is not in the pcap):
14 Ethernet + 20 IPv4 (DF, TTL 64) + 8 UDP + 18 bytes of payload, with
correct IPv4 and UDP checksums.

  genpcap.py OUT.pcap --src-net 10.1.0.0 --dst-net 172.16.0.0
             [--src-first 2] [--src-hosts 16] [--flows 64] [--count 1024]
             [--src-mac ..] [--dst-mac ..]

Frame i (i = 0 .. count-1, f = i % flows) goes
  from SRC_NET + SRC_FIRST + (i % SRC_HOSTS), UDP port 1024 + f,
  to   DST_NET + f * 256 + 2 (one /24 per flow), UDP port 5001,
the addressing of examples/dpdk-pcap.toml (its header comment), so that
weir's example config routes these frames as they are.
Only the Python standard library is used.
"""
import argparse
import ipaddress
import struct


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(text: str) -> bytes:
    try:
        b = bytes(int(x, 16) for x in text.split(":"))
    except ValueError:
        b = b""
    if len(b) != 6:
        raise argparse.ArgumentTypeError(f"bad MAC {text}")
    return b


def frame(smac, dmac, src, dst, sport, dport, ident) -> bytes:
    payload = bytes(range(18))
    udp_len = 8 + len(payload)
    ip_len = 20 + udp_len
    saddr, daddr = src.packed, dst.packed
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, ident, 0x4000, 64, 17, 0,
                     saddr, daddr)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    pseudo = saddr + daddr + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    uc = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", uc) + udp[8:]
    f = dmac + smac + b"\x08\x00" + ip + udp
    assert len(f) == 60, len(f)
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--src-net", type=ipaddress.IPv4Address, required=True)
    ap.add_argument("--dst-net", type=ipaddress.IPv4Address, required=True)
    ap.add_argument("--src-first", type=int, default=2)
    ap.add_argument("--src-hosts", type=int, default=16)
    ap.add_argument("--flows", type=int, default=64)
    ap.add_argument("--count", type=int, default=1024)
    ap.add_argument("--src-mac", type=mac, default=mac("02:00:00:00:01:02"))
    ap.add_argument("--dst-mac", type=mac, default=mac("02:77:00:00:00:01"))
    a = ap.parse_args()
    if not (1 <= a.src_first and a.src_hosts >= 1 and a.src_first + a.src_hosts <= 255
            and 1 <= a.flows <= 256 and a.count >= 1):
        ap.error("need 1 <= --src-first, --src-first + --src-hosts <= 255, "
                 "1 <= --flows <= 256, --count >= 1")
    with open(a.out, "wb") as f:
        # classic pcap, microsecond timestamps, LINKTYPE_ETHERNET
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(a.count):
            fl = i % a.flows
            src = a.src_net + a.src_first + (i % a.src_hosts)
            dst = a.dst_net + fl * 256 + 2
            fr = frame(a.src_mac, a.dst_mac, src, dst, 1024 + fl, 5001, i & 0xFFFF)
            f.write(struct.pack("<IIII", 1, i, len(fr), len(fr)))
            f.write(fr)


if __name__ == "__main__":
    main()
