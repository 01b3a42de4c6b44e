//! Policy-based routing: ordered rules that send matching packets another
//! way than the FIB of their VRF would.
//!
//! Each input interface (port or tunnel) has its list of rules, and the
//! router's own packets (ICMP errors and replies, keepalives' answers
//! excepted) have one more; the first rule that matches decides:
//!
//! ```text
//!  packet ──► rules of its input interface, in order ──┬─ match: Lookup(nh)  → that adjacency
//!                                                      │         (a next hop, a tunnel, ...)
//!                                                      │  match: Vrf(v)      → route dst in VRF v
//!                                                      └─ none: the FIB of the interface's VRF
//! ```
//!
//! A rule matches on source and destination prefixes, the IP protocol,
//! TCP/UDP port ranges and the DSCP. Port conditions never match a
//! fragment other than the first (it carries no ports), nor a packet of
//! another protocol. Packets of an interface with rules take the slow
//! path.

use crate::fib::NextHop;

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyAction {
    /// Send by this adjacency (a resolved next hop, an attached subnet,
    /// a tunnel), as a route pointing at it would.
    Adjacency(NextHop),
    /// Route the destination in this VRF instead.
    Vrf(u16),
}

/// One policy rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyRule {
    /// Source prefix (host order) and length; length 0 matches any.
    pub src: (u32, u8),
    /// Destination prefix and length.
    pub dst: (u32, u8),
    /// IP protocol, if the rule names one.
    pub protocol: Option<u8>,
    /// TCP/UDP source port range, inclusive.
    pub src_ports: Option<(u16, u16)>,
    /// TCP/UDP destination port range, inclusive.
    pub dst_ports: Option<(u16, u16)>,
    /// DSCP (the top six bits of the TOS byte).
    pub dscp: Option<u8>,
    /// What to do.
    pub action: PolicyAction,
}

/// Whether `addr` is inside `prefix/len`.
#[inline]
fn within(addr: u32, (prefix, len): (u32, u8)) -> bool {
    len == 0 || (addr ^ prefix) >> (32 - u32::from(len)) == 0
}

impl PolicyRule {
    /// Whether the IPv4 packet `ip` (header and what follows; checked by
    /// the classifier) matches.
    pub fn matches(&self, ip: &[u8]) -> bool {
        let src = crate::ipv4::be32(ip, 12);
        let dst = crate::ipv4::be32(ip, 16);
        if !(within(src, self.src) && within(dst, self.dst)) {
            return false;
        }
        let proto = ip[9];
        if self.protocol.is_some_and(|p| p != proto) {
            return false;
        }
        if self.dscp.is_some_and(|d| d != ip[1] >> 2) {
            return false;
        }
        if self.src_ports.is_none() && self.dst_ports.is_none() {
            return true;
        }
        // Ports: TCP and UDP only, and only in a packet that has them.
        let hl = usize::from(ip[0] & 0x0f) * 4;
        let first = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0;
        let (Some(&[s0, s1, d0, d1]), true, true) = (
            ip.get(hl..hl + 4)
                .map(|p| <&[u8; 4]>::try_from(p).expect("4 bytes")),
            first,
            proto == 6 || proto == 17,
        ) else {
            return false;
        };
        let (sp, dp) = (u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]));
        let inside =
            |r: Option<(u16, u16)>, p: u16| r.is_none_or(|(lo, hi)| (lo..=hi).contains(&p));
        inside(self.src_ports, sp) && inside(self.dst_ports, dp)
    }
}

/// The rules of every interface, and of the router's own packets.
#[derive(Clone, Debug, Default)]
pub struct Policies {
    /// Per interface (index as in `Snapshot::ifaces`), in order; missing
    /// or empty: no rules.
    pub by_iface: Vec<Vec<PolicyRule>>,
    /// For packets the router originates.
    pub local: Vec<PolicyRule>,
}

impl Policies {
    /// Whether packets arriving on `iface` have rules to go through.
    #[inline]
    pub fn has(&self, iface: u16) -> bool {
        self.by_iface
            .get(usize::from(iface))
            .is_some_and(|r| !r.is_empty())
    }

    /// The action of the first rule of `iface` that `ip` matches.
    pub fn decide(&self, iface: u16, ip: &[u8]) -> Option<PolicyAction> {
        first_match(self.by_iface.get(usize::from(iface))?, ip)
    }

    /// The action of the first rule for the router's own packets that
    /// `ip` matches.
    pub fn decide_local(&self, ip: &[u8]) -> Option<PolicyAction> {
        first_match(&self.local, ip)
    }
}

fn first_match(rules: &[PolicyRule], ip: &[u8]) -> Option<PolicyAction> {
    rules.iter().find(|r| r.matches(ip)).map(|r| r.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use std::net::Ipv4Addr;

    fn rule() -> PolicyRule {
        PolicyRule {
            src: (0, 0),
            dst: (0, 0),
            protocol: None,
            src_ports: None,
            dst_ports: None,
            dscp: None,
            action: PolicyAction::Vrf(2),
        }
    }

    fn udp(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        testing::udp(
            [2; 6],
            [4; 6],
            Ipv4Addr::from(src),
            Ipv4Addr::from(dst),
            64,
            10,
        )[14..]
            .to_vec()
    }

    #[test]
    fn every_condition_narrows_the_match() {
        let p = udp([10, 1, 0, 2], [192, 0, 2, 7]); // UDP 1024 -> 5001
        assert!(rule().matches(&p));
        let r = |f: fn(&mut PolicyRule)| {
            let mut r = rule();
            f(&mut r);
            r.matches(&p)
        };
        assert!(r(|r| r.src = (0x0a01_0000, 16)));
        assert!(!r(|r| r.src = (0x0a02_0000, 16)));
        assert!(r(|r| r.dst = (0xc000_0207, 32)));
        assert!(!r(|r| r.dst = (0xc000_0208, 32)));
        assert!(r(|r| r.protocol = Some(17)));
        assert!(!r(|r| r.protocol = Some(6)));
        assert!(r(|r| r.dst_ports = Some((5000, 5001))));
        assert!(!r(|r| r.dst_ports = Some((80, 80))));
        assert!(r(|r| r.src_ports = Some((1024, 65535))));
        assert!(r(|r| r.dscp = Some(0)));
        assert!(!r(|r| r.dscp = Some(46)));
        // Ports never match ICMP, nor a non-first fragment.
        let icmp = testing::echo_request(
            [2; 6],
            [4; 6],
            Ipv4Addr::new(10, 1, 0, 2),
            Ipv4Addr::new(192, 0, 2, 7),
            1,
            1,
            &[0; 8],
        );
        let mut ports = rule();
        ports.dst_ports = Some((0, 65535));
        assert!(!ports.matches(&icmp[14..]));
        let mut frag = p.clone();
        frag[6..8].copy_from_slice(&0x0010u16.to_be_bytes());
        assert!(!ports.matches(&frag));
        assert!(ports.matches(&p));
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let p = udp([10, 1, 0, 2], [192, 0, 2, 7]);
        let mut a = rule();
        a.protocol = Some(6);
        a.action = PolicyAction::Adjacency(9);
        let mut b = rule();
        b.dst = (0xc000_0200, 24);
        b.action = PolicyAction::Adjacency(10);
        let c = rule();
        let pol = Policies {
            by_iface: vec![vec![], vec![a, b, c]],
            local: vec![c],
        };
        assert!(!pol.has(0) && pol.has(1) && !pol.has(7));
        assert_eq!(pol.decide(1, &p), Some(PolicyAction::Adjacency(10)));
        assert_eq!(pol.decide(0, &p), None);
        assert_eq!(pol.decide_local(&p), Some(PolicyAction::Vrf(2)));
    }
}
