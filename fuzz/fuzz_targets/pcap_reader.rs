//! pcap: `read_pcap` on arbitrary bytes must return records or an error,
//! never panic; what it reads must survive a write/read round trip. The
//! generator's stamp parser gets every frame too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmd::drivers::gen::Stamp;
use pmd::drivers::pcap::{encode_pcap, read_pcap, records};

fuzz_target!(|data: &[u8]| {
    let _ = Stamp::parse_frame(data);
    let Ok(recs) = read_pcap(data) else {
        // The iterator must agree that something is wrong.
        if let Ok(mut it) = records(data) {
            assert!(it.any(|r| r.is_err()));
        }
        return;
    };
    for r in &recs {
        let _ = Stamp::parse_frame(&r.data);
    }
    let frames: Vec<&[u8]> = recs.iter().map(|r| r.data.as_slice()).collect();
    let again = read_pcap(&encode_pcap(&frames)).expect("our own output reads back");
    assert_eq!(again.len(), recs.len());
    for (a, b) in again.iter().zip(&recs) {
        assert_eq!(a.data, b.data);
        assert_eq!(a.orig_len as usize, a.data.len());
    }
});
