//! UDP: `Packet::new_checked`, every getter, checksum, `Repr` round trip.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use pipeline::wire::udp::{Packet, Repr};
use pipeline::wire::Error;

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(err) => return assert!(matches!(err, Error::Truncated | Error::Malformed)),
    };
    let len = usize::from(packet.len());
    assert!((8..=data.len()).contains(&len));
    let _ = (packet.src_port(), packet.dst_port(), packet.checksum());
    let _ = packet.verify_checksum(SRC, DST);
    assert_eq!(packet.payload().len(), len - 8);

    let repr = Repr::parse(&packet).expect("a checked datagram parses");
    let _ = repr.to_string();
    assert_eq!(repr.buffer_len(), len);
    let mut buf = vec![0u8; repr.buffer_len()];
    let mut out = Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut out);
    out.payload_mut().copy_from_slice(packet.payload());
    out.fill_checksum(SRC, DST);
    assert_ne!(out.checksum(), 0);
    assert!(out.verify_checksum(SRC, DST));
    out.set_checksum(packet.checksum());
    assert_eq!(&buf[..], &data[..len]);
});
