//! ARP: `Packet::new_checked`, every getter, `Repr` round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::wire::arp::{Operation, Packet, Repr};
use pipeline::wire::Error;

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(err) => return assert_eq!(err, Error::Truncated),
    };
    let hlen = usize::from(packet.hardware_len());
    let plen = usize::from(packet.protocol_len());
    assert_eq!(packet.packet_len(), 8 + 2 * (hlen + plen));
    let _ = (packet.hardware_type(), packet.protocol_type());
    let op = packet.operation();
    assert_eq!(Operation::from(u16::from(op)), op);
    assert_eq!(packet.source_hardware_addr().len(), hlen);
    assert_eq!(packet.source_protocol_addr().len(), plen);
    assert_eq!(packet.target_hardware_addr().len(), hlen);
    assert_eq!(packet.target_protocol_addr().len(), plen);

    match Repr::parse(&packet) {
        Ok(repr) => {
            let _ = repr.to_string();
            assert_eq!(repr.buffer_len(), 28);
            let mut buf = [0u8; 28];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            assert_eq!(&buf[..], &data[..28]);
        }
        Err(err) => {
            assert_eq!(err, Error::Unsupported);
            assert!(hlen != 6 || plen != 4 || data[..4] != [0, 1, 8, 0]);
        }
    }
});
