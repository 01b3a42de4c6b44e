#!/usr/bin/python3
"""Hand-made frames for tests/netns.rs, sent with scapy from a host namespace.

  probe.py arp IFACE MY_IP TARGET_IP [OTHER_IP]
      send an ARP request (broadcast) for TARGET_IP and print the reply's
      fields as JSON; then a unicast request to the replier's MAC; with
      OTHER_IP also a request for an address nobody owns, which must stay
      unanswered.
  probe.py bad IFACE ROUTER_MAC SRC_IP DST_IP
      send malformed frames to ROUTER_MAC and print, as JSON, how many of
      each drop reason the router should have counted.
  probe.py odd IFACE ROUTER_MAC SRC_IP DST_IP
      send valid but unusual IPv4 packets the router must forward: one in
      a frame with Ethernet padding after it, one with IP options; print
      each one's IPv4 packet (hex) as JSON.

Every malformed frame carries the marker MARKER in its payload, so a
capture on the far side can show none of them was forwarded.
"""

import json
import socket
import sys

from scapy.all import (
    ARP,
    IP,
    UDP,
    Ether,
    IPOption_EOL,
    IPOption_NOP,
    Raw,
    conf,
    get_if_hwaddr,
    sendp,
    srp,
)
from scapy.utils import checksum

conf.verb = 0
MARKER = b"weir-bad-frame"


def arp_fields(p):
    e, a = p[Ether], p[ARP]
    return {
        "eth_src": e.src,
        "eth_dst": e.dst,
        "eth_type": e.type,
        "hwtype": a.hwtype,
        "ptype": a.ptype,
        "hwlen": a.hwlen,
        "plen": a.plen,
        "op": a.op,
        "hwsrc": a.hwsrc,
        "psrc": a.psrc,
        "hwdst": a.hwdst,
        "pdst": a.pdst,
    }


def ask(iface, mac, my_ip, target, dst_mac, timeout=2):
    req = Ether(dst=dst_mac, src=mac) / ARP(
        op=1, hwsrc=mac, psrc=my_ip, hwdst="00:00:00:00:00:00", pdst=target
    )
    ans, _ = srp(
        req,
        iface=iface,
        timeout=timeout,
        # Only the answer to this request, not the host kernel's own ARP.
        filter=f"arp and arp[6:2] = 2 and arp[14:4] = 0x{ipv4_hex(target)}",
    )
    return [arp_fields(r) for _, r in ans]


def ipv4_hex(a):
    return "".join(f"{int(x):02x}" for x in a.split("."))


def arp(iface, my_ip, target, other=None):
    mac = get_if_hwaddr(iface)
    out = {"my_mac": mac, "broadcast": ask(iface, mac, my_ip, target, "ff:ff:ff:ff:ff:ff")}
    if out["broadcast"]:
        out["unicast"] = ask(iface, mac, my_ip, target, out["broadcast"][0]["eth_src"])
    if other:
        out["other"] = ask(iface, mac, my_ip, other, "ff:ff:ff:ff:ff:ff", timeout=1)
    print(json.dumps(out))


def with_csum(hdr):
    """hdr (bytes) with a correct IPv4 header checksum."""
    h = bytearray(hdr)
    h[10:12] = b"\0\0"
    c = checksum(bytes(h))
    h[10:12] = c.to_bytes(2, "big")
    return bytes(h)


def bad(iface, router_mac, src, dst):
    mac = get_if_hwaddr(iface)

    def eth(ethertype):
        return bytes(Ether(dst=router_mac, src=mac, type=ethertype))

    def good_ip(payload=MARKER + b" " * 18):
        return bytes(IP(src=src, dst=dst, ttl=64, id=0x5757) / UDP(sport=7, dport=9) / Raw(payload))

    g = good_ip()
    hdr, rest = g[:20], g[20:]

    def set_total(h, n):
        h = bytearray(h)
        h[2:4] = n.to_bytes(2, "big")
        return bytes(h)

    def options_header(opts):
        # IHL = 5 + len(opts)/4, total length and checksum adjusted.
        h = bytearray(hdr)
        h[0] = 0x40 | (5 + len(opts) // 4)
        h[2:4] = (20 + len(opts) + len(rest)).to_bytes(2, "big")
        return with_csum(bytes(h) + opts)

    bad_csum = bytearray(hdr)
    bad_csum[10] ^= 0x5a
    frames = [
        # (name, the router's drop reason, frame)
        ("truncated-header", "ip-malformed", eth(0x0800) + hdr[:10]),
        ("ethernet-header-only", "ip-malformed", eth(0x0800)),
        (
            "ihl-15-header-beyond-frame",
            "ip-malformed",
            eth(0x0800) + with_csum(bytes([0x4F]) + hdr[1:]) + rest[:12],
        ),
        ("bad-checksum-1", "ip-checksum", eth(0x0800) + bytes(bad_csum) + rest),
        ("bad-checksum-2", "ip-checksum", eth(0x0800) + bytes(bad_csum) + rest),
        ("bad-checksum-3", "ip-checksum", eth(0x0800) + bytes(bad_csum) + rest),
        ("ihl-4", "ip-malformed", eth(0x0800) + with_csum(bytes([0x44]) + hdr[1:]) + rest),
        ("ihl-0", "ip-malformed", eth(0x0800) + with_csum(bytes([0x40]) + hdr[1:]) + rest),
        ("version-6", "ip-malformed", eth(0x0800) + with_csum(bytes([0x65]) + hdr[1:]) + rest),
        (
            "total-length-beyond-frame",
            "ip-malformed",
            eth(0x0800) + with_csum(set_total(hdr, len(g) + 100)) + rest,
        ),
        (
            "total-length-below-header",
            "ip-malformed",
            eth(0x0800) + with_csum(set_total(hdr, 12)) + rest,
        ),
        (
            "option-length-0",
            "ip-malformed",
            eth(0x0800) + options_header(bytes([0x44, 0x00, 0x00, 0x00])) + rest,
        ),
        (
            "option-overruns-header",
            "ip-malformed",
            eth(0x0800) + options_header(bytes([0x07, 0x08, 0x04, 0x00])) + rest,
        ),
        (
            "option-length-1",
            "ip-malformed",
            eth(0x0800) + options_header(bytes([0x01, 0x83, 0x01, 0x00])) + rest,
        ),
        ("unknown-ethertype-88b5", "ethertype", eth(0x88B5) + MARKER + bytes(32)),
        ("unknown-ethertype-9000", "ethertype", eth(0x9000) + MARKER + bytes(32)),
    ]
    sent = {}
    names = []
    for name, reason, f in frames:
        sendp(Raw(f), iface=iface)
        sent[reason] = sent.get(reason, 0) + 1
        names.append(name)
    # A runt: shorter than an Ethernet header. Linux refuses to send one on
    # an Ethernet device (dev_validate_header: min_header_len = 14), so
    # the router can only see one from a NIC or tap that passes it up.
    # (A plain packet socket: scapy's sendp would pad the frame to 60 bytes
    # after the kernel's EINVAL.)
    runt_refused = False
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((iface, 0))
        s.send(bytes.fromhex(router_mac.replace(":", "")) + b"\x08\x00" + b"\x00" * 2)
        sent["runt"] = sent.get("runt", 0) + 1
        names.append("runt-10-bytes")
    except OSError:
        runt_refused = True
    finally:
        s.close()
    print(json.dumps({"sent": sent, "frames": names, "runt_refused": runt_refused}))


def odd(iface, router_mac, src, dst):
    mac = get_if_hwaddr(iface)
    eth = bytes(Ether(dst=router_mac, src=mac, type=0x0800))
    padded = bytes(
        IP(src=src, dst=dst, ttl=64, id=0x5801) / UDP(sport=7, dport=9) / Raw(b"weir-padded-frame")
    )
    opts = [IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_EOL()]
    options = bytes(
        IP(src=src, dst=dst, ttl=64, id=0x5802, options=opts)
        / UDP(sport=7, dport=9)
        / Raw(b"weir-options-frame")
    )
    assert options[0] == 0x46, "scapy built the options header"
    sendp(Raw(eth + padded + b"\xee" * 20), iface=iface)
    sendp(Raw(eth + options), iface=iface)
    print(json.dumps({"weir-padded-frame": padded.hex(), "weir-options-frame": options.hex()}))


def main():
    a = sys.argv[1:]
    if len(a) in (4, 5) and a[0] == "arp":
        arp(*a[1:])
    elif len(a) == 5 and a[0] == "bad":
        bad(*a[1:])
    elif len(a) == 5 and a[0] == "odd":
        odd(*a[1:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
