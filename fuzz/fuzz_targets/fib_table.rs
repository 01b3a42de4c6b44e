//! The prefix-file parser of `weir bench fib`: any text is either a table
//! (masked prefixes, valid lengths and next hops, no duplicates) or an
//! error naming a line of the text, never a panic. A parsed table builds
//! and the FIB answers every prefix's first address; an IPv6 one answers
//! the first and last address of every prefix and their neighbors as a
//! linear scan does, singly and batched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf::fib::{parse_table, Table};
use pipeline::fib::{mask6, Fib4, Fib6, MAX_NEXT_HOP, NO_ROUTE};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let v6 = data.first().is_some_and(|b| b & 1 == 1);
    match parse_table(text, v6) {
        Ok(Table::V4(routes)) => {
            let mut seen = std::collections::HashSet::new();
            for &(p, l, nh) in &routes {
                assert!(l <= 32 && nh <= MAX_NEXT_HOP);
                assert_eq!(p & !(u32::MAX.checked_shl(32 - u32::from(l)).unwrap_or(0)), 0);
                assert!(seen.insert((p, l)), "duplicate {p:#x}/{l}");
            }
            let fib = Fib4::from_routes(routes.iter().copied());
            assert_eq!(fib.len(), routes.len());
            for &(p, l, nh) in &routes {
                assert_eq!(fib.get(p, l), Some(nh));
            }
        }
        Ok(Table::V6(routes)) => {
            for &(_, l, nh) in &routes {
                assert!(l <= 128 && nh <= MAX_NEXT_HOP);
            }
            let fib = Fib6::from_routes(routes.iter().copied());
            assert_eq!(fib.len(), routes.len());
            // Longest match by a linear scan (the parser keeps prefixes
            // unique).
            let reference = |a: u128| {
                routes
                    .iter()
                    .filter(|&&(p, l, _)| a & mask6(l) == p)
                    .max_by_key(|r| r.1)
                    .map_or(NO_ROUTE, |r| r.2)
            };
            let addrs: Vec<u128> = routes
                .iter()
                .take(64)
                .flat_map(|&(p, l, _)| {
                    let last = p | !mask6(l);
                    [p, p.wrapping_sub(1), last, last.wrapping_add(1)]
                })
                .collect();
            let mut out = vec![0; addrs.len()];
            fib.lookup_batch(&addrs, &mut out);
            for (&a, &o) in addrs.iter().zip(&out) {
                let want = reference(a);
                assert_eq!(fib.lookup(a), want, "lookup({a:#x})");
                assert_eq!(o, want, "lookup_batch({a:#x})");
            }
        }
        Err(e) => {
            let lines = text.lines().count();
            assert!(e.line >= 1 && e.line <= lines, "line {} of {}", e.line, lines);
            let _ = e.to_string();
        }
    }
});
