//! GRE: `Packet::new_checked`, every getter, checksum, `Repr` round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::wire::gre::{Packet, Repr};
use pipeline::wire::Error;

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(err) => {
            return assert!(matches!(
                err,
                Error::Truncated | Error::Malformed | Error::Unsupported
            ))
        }
    };
    let hl = packet.header_len();
    assert!((4..=16).contains(&hl) && hl <= data.len());
    let _ = (packet.flags(), packet.protocol(), packet.checksum());
    let _ = (packet.key(), packet.sequence(), packet.verify_checksum());
    assert_eq!(packet.payload().len(), data.len() - hl);

    let repr = Repr::parse(&packet).expect("a checked packet parses");
    let _ = repr.to_string();
    assert_eq!(repr.header_len(), hl);
    let mut buf = vec![0u8; data.len()];
    let mut out = Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut out);
    out.payload_mut().copy_from_slice(packet.payload());
    out.fill_checksum();
    assert!(out.verify_checksum());
    // Emitted headers carry no reserved bits: the same as the input once
    // those (bits 6-12, Reserved1) and the checksum are cleared there too.
    let mut want = data.to_vec();
    want[..2].copy_from_slice(&repr.flags().to_be_bytes());
    if repr.checksum {
        want[4..8].copy_from_slice(&buf[4..8]);
    }
    assert_eq!(buf, want);
});
