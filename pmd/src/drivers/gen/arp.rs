//! ARP replies on behalf of the hosts emulated behind a generator port.
//!
//! The sink recognises ARP requests for an address in the generator's
//! source range and queues a reply; the next `rx_burst` hands the replies
//! to the router before any generated packet. This is the slow path: a
//! small fixed queue, no allocation.

use super::flows::IpRange;
use arrayvec::ArrayVec;
use std::net::Ipv4Addr;

/// Replies waiting for the next `rx_burst`; requests beyond this are
/// dropped (and counted).
pub const ARP_QUEUE: usize = 16;
/// Length of an ARP frame without FCS (Ethernet minimum, padded).
pub const ARP_FRAME_LEN: usize = 60;

/// The MAC address of host `index`: `base` plus `index`, as a 48-bit
/// number (wrapping).
pub fn host_mac(base: [u8; 6], index: u32) -> [u8; 6] {
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(&base);
    let v = u64::from_be_bytes(b).wrapping_add(u64::from(index));
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&v.to_be_bytes()[2..]);
    mac
}

/// A reply to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pending {
    host_ip: [u8; 4],
    host_mac: [u8; 6],
    peer_ip: [u8; 4],
    peer_mac: [u8; 6],
    /// The request's 802.1Q TCI, if it came tagged (in metadata).
    tci: Option<u16>,
}

/// What the responder made of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Not an ARP request for one of our hosts.
    Ignored,
    /// A reply is queued.
    Queued,
    /// A request for one of our hosts, but the queue is full.
    Dropped,
}

/// The responder of one generator queue.
#[derive(Debug)]
pub(super) struct Responder {
    hosts: IpRange,
    base_mac: [u8; 6],
    pending: ArrayVec<Pending, ARP_QUEUE>,
    next: usize,
}

impl Responder {
    pub(super) fn new(hosts: IpRange, base_mac: [u8; 6]) -> Self {
        Responder {
            hosts,
            base_mac,
            pending: ArrayVec::new(),
            next: 0,
        }
    }

    /// True if replies are waiting.
    #[inline(always)]
    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Look at a frame sent to the port; queue a reply if it is an ARP
    /// request (Ethernet/IPv4) for one of our hosts; `tci` is the 802.1Q
    /// tag it came with, which the reply carries too.
    pub(super) fn on_frame(&mut self, frame: &[u8], tci: Option<u16>) -> Outcome {
        let Some(req) = parse_request(frame) else {
            return Outcome::Ignored;
        };
        let Some(index) = self.hosts.offset(Ipv4Addr::from(req.target_ip)) else {
            return Outcome::Ignored;
        };
        let reply = Pending {
            host_ip: req.target_ip,
            host_mac: host_mac(self.base_mac, index),
            peer_ip: req.sender_ip,
            peer_mac: req.sender_mac,
            tci,
        };
        match self.pending.try_push(reply) {
            Ok(()) => Outcome::Queued,
            Err(_) => Outcome::Dropped,
        }
    }

    /// The next reply to send, if any, written into `out`; its TCI (to put
    /// in metadata) is returned.
    pub(super) fn pop_into(&mut self, out: &mut [u8; ARP_FRAME_LEN]) -> Option<Option<u16>> {
        let p = *self.pending.get(self.next)?;
        self.next += 1;
        if self.next == self.pending.len() {
            self.pending.clear();
            self.next = 0;
        }
        write_reply(&p, out);
        Some(p.tci)
    }
}

struct Request {
    sender_mac: [u8; 6],
    sender_ip: [u8; 4],
    target_ip: [u8; 4],
}

/// Parse an Ethernet frame as an ARP request for an IPv4 address (an
/// 802.1Q tag left in the data is skipped).
fn parse_request(frame: &[u8]) -> Option<Request> {
    let mut off = 14;
    let mut ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    if ethertype == 0x8100 {
        ethertype = u16::from_be_bytes(frame.get(16..18)?.try_into().ok()?);
        off = 18;
    }
    let a = frame.get(off..off + 28)?;
    if ethertype != 0x0806 || a[0..8] != [0, 1, 0x08, 0x00, 6, 4, 0, 1] {
        return None;
    }
    Some(Request {
        sender_mac: a[8..14].try_into().ok()?,
        sender_ip: a[14..18].try_into().ok()?,
        target_ip: a[24..28].try_into().ok()?,
    })
}

/// Write an ARP reply frame:
///
/// ```text
///  Ethernet: dst = requester's MAC, src = host MAC, type 0x0806
///  ARP:      htype 1, ptype 0x0800, hlen 6, plen 4, op 2 (reply),
///            sender = (host MAC, host IP), target = (requester MAC, IP)
///  zero padding to 60 bytes
/// ```
fn write_reply(p: &Pending, out: &mut [u8; ARP_FRAME_LEN]) {
    *out = [0; ARP_FRAME_LEN];
    out[0..6].copy_from_slice(&p.peer_mac);
    out[6..12].copy_from_slice(&p.host_mac);
    out[12..14].copy_from_slice(&[0x08, 0x06]);
    out[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    out[22..28].copy_from_slice(&p.host_mac);
    out[28..32].copy_from_slice(&p.host_ip);
    out[32..38].copy_from_slice(&p.peer_mac);
    out[38..42].copy_from_slice(&p.peer_ip);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 0xfe, 0x08, 0x06]);
        f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&[2, 0, 0, 0, 0, 0xfe, 10, 0, 0, 254]);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target);
        f.resize(60, 0);
        f
    }

    #[test]
    fn host_macs_add_the_index() {
        assert_eq!(host_mac([2, 0, 0, 0, 0, 0xff], 1), [2, 0, 0, 0, 1, 0]);
        assert_eq!(host_mac([0xff; 6], 1), [0; 6]);
    }

    #[test]
    fn answers_only_its_hosts_and_bounds_the_queue() {
        let hosts = IpRange::new(Ipv4Addr::new(10, 0, 0, 1), 4);
        let mut r = Responder::new(hosts, [2, 0, 0, 0, 1, 0]);
        assert_eq!(r.on_frame(&request([10, 0, 0, 5]), None), Outcome::Ignored);
        assert_eq!(r.on_frame(&request([10, 0, 0, 3]), None), Outcome::Queued);
        let mut out = [0u8; ARP_FRAME_LEN];
        assert_eq!(r.pop_into(&mut out), Some(None));
        assert_eq!(&out[0..6], &[2, 0, 0, 0, 0, 0xfe]);
        assert_eq!(&out[6..12], &[2, 0, 0, 0, 1, 2]);
        assert_eq!(&out[28..32], &[10, 0, 0, 3]);
        assert_eq!(&out[38..42], &[10, 0, 0, 254]);
        assert!(r.pop_into(&mut out).is_none());
        for _ in 0..ARP_QUEUE {
            assert_eq!(r.on_frame(&request([10, 0, 0, 1]), None), Outcome::Queued);
        }
        assert_eq!(r.on_frame(&request([10, 0, 0, 1]), None), Outcome::Dropped);
        let mut reply = request([10, 0, 0, 1]);
        reply[21] = 2;
        r.pending.clear();
        assert_eq!(
            r.on_frame(&reply, None),
            Outcome::Ignored,
            "a reply is not a request"
        );
        assert_eq!(r.on_frame(&reply[..40], None), Outcome::Ignored);
    }
}
