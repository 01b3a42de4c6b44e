//! `weir ctl capture --filter`: any text is a filter or an error message,
//! never a panic; a filter it accepts the router accepts too (every
//! prefix parses, the protocol is a byte, the VLAN an ID).
#![no_main]

use ctrl::api::filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = filter::parse(text) {
        for p in [&f.src, &f.dst, &f.host] {
            if !p.is_empty() {
                let _: pipeline::capture::Prefix = p.parse().expect("accepted prefixes parse");
            }
        }
        assert!(f.protocol.is_none_or(|p| p <= 255));
        assert!(f.vlan.is_none_or(|v| v <= 4095));
    }
});
