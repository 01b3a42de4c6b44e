//! The `--filter` language of `weir ctl capture`: a small, tcpdump-like
//! conjunction of terms, mapped onto the proto's `CaptureFilter`.
//!
//! ```text
//! filter := term ("and" term)*
//! term   := ("src" | "dst") ["host" | "net"] PREFIX
//!         | ("host" | "net") PREFIX
//!         | "proto" (NUMBER | NAME)  |  NAME
//!         | "vlan" NUMBER
//! PREFIX := an IPv4 address, or address/length
//! NAME   := tcp | udp | icmp | gre
//! ```
//!
//! e.g. `src 10.0.0.0/8 and dst 10.1.2.3 and proto udp and vlan 10`. Each
//! field may be given once; `or`, `not` and parentheses are rejected, as
//! the router matches a conjunction only.

use super::proto::CaptureFilter;
use std::net::Ipv4Addr;

/// IP protocol names the filter knows, with their numbers.
const PROTOCOLS: [(&str, u32); 4] = [("icmp", 1), ("tcp", 6), ("udp", 17), ("gre", 47)];

/// Parses a filter expression; the error says what is wrong and where.
pub fn parse(expr: &str) -> Result<CaptureFilter, String> {
    let mut words = expr.split_whitespace().peekable();
    let mut f = CaptureFilter::default();
    if words.peek().is_none() {
        return Ok(f);
    }
    loop {
        let word = words.next().ok_or("the filter ends with `and`")?;
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "src" | "dst" => {
                let mut arg = value(&mut words, word)?;
                if arg == "host" || arg == "net" {
                    arg = value(&mut words, word)?;
                }
                let slot = if lower == "src" {
                    &mut f.src
                } else {
                    &mut f.dst
                };
                set_prefix(slot, &lower, arg)?;
            }
            "host" | "net" => set_prefix(&mut f.host, "host", value(&mut words, word)?)?,
            "proto" => {
                let arg = value(&mut words, word)?;
                set_once(&mut f.protocol, "proto", protocol(arg)?)?;
            }
            "vlan" => {
                let arg = value(&mut words, word)?;
                let id = arg
                    .parse::<u32>()
                    .ok()
                    .filter(|&v| v <= 4095)
                    .ok_or(format!("vlan `{arg}`: expected a VLAN ID, 0 to 4095"))?;
                set_once(&mut f.vlan, "vlan", id)?;
            }
            "or" | "not" | "!" | "||" => {
                return Err(format!(
                    "`{word}` is not supported: the router matches terms joined with `and` only"
                ))
            }
            _ if word.starts_with('(') || word.starts_with(')') => {
                return Err("parentheses are not supported: join terms with `and`".into())
            }
            _ => match PROTOCOLS.iter().find(|(n, _)| *n == lower) {
                Some(&(_, p)) => set_once(&mut f.protocol, "proto", p)?,
                None => {
                    return Err(format!(
                        "unknown term `{word}` (known: src, dst, host, net, proto, vlan, tcp, udp, icmp, gre)"
                    ))
                }
            },
        }
        match words.next() {
            None => return Ok(f),
            Some(w) if w.eq_ignore_ascii_case("and") || w == "&&" => {}
            Some(w) if w.eq_ignore_ascii_case("or") || w == "||" => {
                return Err(format!(
                    "`{w}` is not supported: the router matches terms joined with `and` only"
                ))
            }
            Some(w) => return Err(format!("expected `and` before `{w}`")),
        }
    }
}

/// The word after a keyword.
fn value<'a>(words: &mut impl Iterator<Item = &'a str>, keyword: &str) -> Result<&'a str, String> {
    match words.next() {
        Some(w) if !w.eq_ignore_ascii_case("and") => Ok(w),
        _ => Err(format!("`{keyword}` needs a value")),
    }
}

/// Stores a prefix after checking it, once.
fn set_prefix(slot: &mut String, name: &str, arg: &str) -> Result<(), String> {
    check_prefix(arg).map_err(|e| format!("{name} `{arg}`: {e}"))?;
    if !slot.is_empty() {
        return Err(twice(name));
    }
    *slot = arg.to_string();
    Ok(())
}

fn set_once(slot: &mut Option<u32>, name: &str, v: u32) -> Result<(), String> {
    if slot.replace(v).is_some() {
        return Err(twice(name));
    }
    Ok(())
}

fn twice(name: &str) -> String {
    format!("`{name}` is given twice (each field matches one value)")
}

/// An IPv4 address, or address/length with no host bits set.
fn check_prefix(s: &str) -> Result<(), String> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| "expected an IPv4 address or prefix".to_string())?;
    let Some(len) = len else { return Ok(()) };
    let len: u32 = len
        .parse()
        .ok()
        .filter(|&l| l <= 32)
        .ok_or("the prefix length must be 0 to 32")?;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    if u32::from(addr) & !mask != 0 {
        return Err(format!(
            "host bits set (did you mean {}/{len}?)",
            Ipv4Addr::from(u32::from(addr) & mask)
        ));
    }
    Ok(())
}

/// `udp` or `17`.
fn protocol(s: &str) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(&(_, p)) = PROTOCOLS.iter().find(|(n, _)| *n == lower) {
        return Ok(p);
    }
    s.parse::<u32>().ok().filter(|&p| p <= 255).ok_or(format!(
        "proto `{s}`: expected tcp, udp, icmp, gre or a number 0 to 255"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_maps_every_field() {
        let f = parse("src 10.0.0.0/8 and dst 10.1.2.3 and proto udp and vlan 10").unwrap();
        assert_eq!(
            f,
            CaptureFilter {
                src: "10.0.0.0/8".into(),
                dst: "10.1.2.3".into(),
                host: String::new(),
                protocol: Some(17),
                vlan: Some(10),
            }
        );
    }

    #[test]
    fn empty_is_match_all() {
        assert_eq!(parse("").unwrap(), CaptureFilter::default());
        assert_eq!(parse("   ").unwrap(), CaptureFilter::default());
    }

    #[test]
    fn protocols_by_name_and_number() {
        for (e, p) in [
            ("proto 17", 17),
            ("proto tcp", 6),
            ("proto UDP", 17),
            ("proto icmp", 1),
            ("proto gre", 47),
            ("gre", 47),
            ("tcp", 6),
            ("proto 0", 0),
            ("proto 255", 255),
        ] {
            assert_eq!(parse(e).unwrap().protocol, Some(p), "{e}");
        }
    }

    #[test]
    fn host_and_tcpdump_spellings() {
        let f = parse("host 192.168.1.1 and src net 10.0.0.0/8 and dst host 10.0.0.1").unwrap();
        assert_eq!(f.host, "192.168.1.1");
        assert_eq!(f.src, "10.0.0.0/8");
        assert_eq!(f.dst, "10.0.0.1");
        assert_eq!(parse("net 0.0.0.0/0").unwrap().host, "0.0.0.0/0");
        assert_eq!(parse("tcp && vlan 4095").unwrap().vlan, Some(4095));
    }

    #[test]
    fn rejects_with_a_reason() {
        for (e, why) in [
            ("src", "`src` needs a value"),
            ("src and dst 1.2.3.4", "`src` needs a value"),
            ("src 10.0.0.0/33", "0 to 32"),
            ("src 10.0.0.1/8", "host bits set (did you mean 10.0.0.0/8?)"),
            ("dst fe80::1", "IPv4"),
            ("host example.com", "IPv4"),
            ("proto 256", "expected tcp, udp"),
            ("proto sctp", "expected tcp, udp"),
            ("vlan 4096", "0 to 4095"),
            ("vlan x", "0 to 4095"),
            ("src 1.2.3.4 or dst 1.2.3.4", "`or` is not supported"),
            ("not tcp", "`not` is not supported"),
            ("(tcp)", "parentheses"),
            ("port 53", "unknown term `port`"),
            ("tcp udp", "expected `and` before `udp`"),
            ("tcp and", "ends with `and`"),
            ("tcp and proto 6", "`proto` is given twice"),
            ("src 1.2.3.4 and src 1.2.3.5", "`src` is given twice"),
        ] {
            let err = parse(e).unwrap_err();
            assert!(err.contains(why), "{e}: {err}");
        }
    }
}
