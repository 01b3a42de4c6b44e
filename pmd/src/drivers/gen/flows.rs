//! Address and port ranges, and the [`Flows`] odometer cycling through them.

use std::net::Ipv4Addr;

/// A range of `count` consecutive IPv4 addresses from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    /// First address.
    pub start: Ipv4Addr,
    /// Number of addresses (at least 1).
    pub count: u32,
}

impl IpRange {
    /// `count` addresses from `start`.
    pub const fn new(start: Ipv4Addr, count: u32) -> Self {
        IpRange { start, count }
    }

    /// Just one address.
    pub const fn single(ip: Ipv4Addr) -> Self {
        IpRange::new(ip, 1)
    }

    /// The offset of `ip` in the range, if it lies in it.
    #[inline]
    pub fn offset(&self, ip: Ipv4Addr) -> Option<u32> {
        let off = u32::from(ip).wrapping_sub(u32::from(self.start));
        (off < self.count).then_some(off)
    }

    /// True if the range is non-empty and does not run past 255.255.255.255.
    pub fn is_valid(&self) -> bool {
        self.count >= 1 && u64::from(u32::from(self.start)) + u64::from(self.count) <= 1 << 32
    }
}

/// A range of `count` consecutive UDP ports from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Number of ports (at least 1; up to 65536).
    pub count: u32,
}

impl PortRange {
    /// `count` ports from `start`.
    pub const fn new(start: u16, count: u32) -> Self {
        PortRange { start, count }
    }

    /// Just one port.
    pub const fn single(port: u16) -> Self {
        PortRange::new(port, 1)
    }

    /// True if the range is non-empty and does not run past 65535.
    pub fn is_valid(&self) -> bool {
        self.count >= 1 && u32::from(self.start) + self.count <= 1 << 16
    }
}

/// One flow: the addresses and ports of a generated packet.
///
/// Addresses are host-order integers (`u32::from(Ipv4Addr)`), the cheapest
/// form for the generator's fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// IPv4 source address.
    pub src_ip: u32,
    /// IPv4 destination address.
    pub dst_ip: u32,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// Index of the source address in its range: the emulated host, whose
    /// MAC address is the configured source MAC plus this index.
    pub host: u32,
}

/// Digits of the odometer, fastest first.
const DST_IP: usize = 0;
const SRC_IP: usize = 1;
const DST_PORT: usize = 2;
const SRC_PORT: usize = 3;

/// An endless iterator over the cartesian product of source and destination
/// address and port ranges.
///
/// It counts like an odometer: the destination address varies fastest,
/// then the source address, the destination port and the source port
/// (slowest). Every combination appears once per cycle of
/// [`Flows::combinations`] flows. Advancing costs an increment and a
/// compare or two: no division.
#[derive(Clone, Debug)]
pub struct Flows {
    start: [u32; 4],
    count: [u32; 4],
    off: [u32; 4],
}

impl Flows {
    /// Cycle through all combinations of the given ranges (which must be
    /// valid: see [`IpRange::is_valid`], [`PortRange::is_valid`]).
    pub fn new(src_ip: IpRange, dst_ip: IpRange, src_port: PortRange, dst_port: PortRange) -> Self {
        let mut start = [0; 4];
        let mut count = [0; 4];
        start[DST_IP] = u32::from(dst_ip.start);
        count[DST_IP] = dst_ip.count;
        start[SRC_IP] = u32::from(src_ip.start);
        count[SRC_IP] = src_ip.count;
        start[DST_PORT] = u32::from(dst_port.start);
        count[DST_PORT] = dst_port.count;
        start[SRC_PORT] = u32::from(src_port.start);
        count[SRC_PORT] = src_port.count;
        Flows {
            start,
            count: count.map(|c| c.max(1)),
            off: [0; 4],
        }
    }

    /// Number of distinct flows in one cycle.
    pub fn combinations(&self) -> u64 {
        self.count
            .iter()
            .fold(1u64, |acc, &c| acc.saturating_mul(u64::from(c)))
    }

    /// Jump to the `index`-th flow of the cycle (modulo its length).
    pub fn seek(&mut self, index: u64) {
        let mut rest = index % self.combinations();
        for (off, &c) in self.off.iter_mut().zip(&self.count) {
            *off = (rest % u64::from(c)) as u32;
            rest /= u64::from(c);
        }
    }

    /// The current flow, without advancing.
    #[inline(always)]
    pub fn current(&self) -> Flow {
        Flow {
            src_ip: self.start[SRC_IP].wrapping_add(self.off[SRC_IP]),
            dst_ip: self.start[DST_IP].wrapping_add(self.off[DST_IP]),
            src_port: self.start[SRC_PORT].wrapping_add(self.off[SRC_PORT]) as u16,
            dst_port: self.start[DST_PORT].wrapping_add(self.off[DST_PORT]) as u16,
            host: self.off[SRC_IP],
        }
    }

    /// Step to the next flow.
    #[inline(always)]
    pub fn advance(&mut self) {
        self.off[DST_IP] += 1;
        if self.off[DST_IP] == self.count[DST_IP] {
            self.carry();
        }
    }

    #[cold]
    fn carry(&mut self) {
        self.off[DST_IP] = 0;
        for d in SRC_IP..=SRC_PORT {
            self.off[d] += 1;
            if self.off[d] < self.count[d] {
                return;
            }
            self.off[d] = 0;
        }
    }
}

impl Iterator for Flows {
    type Item = Flow;

    #[inline(always)]
    fn next(&mut self) -> Option<Flow> {
        let f = self.current();
        self.advance();
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn cycles_through_every_combination_dst_fastest() {
        let mut f = Flows::new(
            IpRange::new(Ipv4Addr::new(10, 0, 0, 1), 2),
            IpRange::new(Ipv4Addr::new(10, 1, 0, 1), 3),
            PortRange::new(1000, 2),
            PortRange::new(2000, 2),
        );
        assert_eq!(f.combinations(), 24);
        let first: Vec<Flow> = f.by_ref().take(24).collect();
        assert_eq!(first.iter().collect::<HashSet<_>>().len(), 24);
        assert_eq!(first[0].dst_ip, u32::from(Ipv4Addr::new(10, 1, 0, 1)));
        assert_eq!(first[1].dst_ip, u32::from(Ipv4Addr::new(10, 1, 0, 2)));
        assert_eq!(first[3].dst_ip, first[0].dst_ip);
        assert_eq!(first[3].src_ip, first[0].src_ip + 1);
        assert_eq!(first[3].host, 1);
        assert_eq!(first[6].dst_port, 2001);
        assert_eq!(first[12].src_port, 1001);
        let again: Vec<Flow> = f.by_ref().take(24).collect();
        assert_eq!(first, again, "cycles");
        let mut g = f.clone();
        g.seek(24 + 13);
        assert_eq!(g.current(), first[13]);
    }

    #[test]
    fn range_validity() {
        assert!(IpRange::new(Ipv4Addr::new(255, 255, 255, 255), 1).is_valid());
        assert!(!IpRange::new(Ipv4Addr::new(255, 255, 255, 255), 2).is_valid());
        assert!(!IpRange::new(Ipv4Addr::new(1, 2, 3, 4), 0).is_valid());
        assert!(PortRange::new(0, 65536).is_valid());
        assert!(!PortRange::new(1, 65536).is_valid());
        let r = IpRange::new(Ipv4Addr::new(10, 0, 0, 10), 5);
        assert_eq!(r.offset(Ipv4Addr::new(10, 0, 0, 14)), Some(4));
        assert_eq!(r.offset(Ipv4Addr::new(10, 0, 0, 15)), None);
        assert_eq!(r.offset(Ipv4Addr::new(10, 0, 0, 9)), None);
    }
}
