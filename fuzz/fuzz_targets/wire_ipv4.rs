//! IPv4: `Packet::new_checked`, every getter, checksum and TTL update,
//! `Repr` round trip (also after fixing the checksum up, so that fuzzed
//! headers get past the checksum check).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::wire::ipv4::{Packet, Repr};
use pipeline::wire::Error;

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(err) => return assert!(matches!(err, Error::Truncated | Error::Malformed)),
    };
    assert_eq!(packet.version(), 4);
    let header_len = usize::from(packet.header_len());
    let total_len = usize::from(packet.total_len());
    assert!((20..=60).contains(&header_len) && header_len <= total_len);
    assert!(total_len <= data.len());
    assert_eq!(packet.options().len(), header_len - 20);
    assert_eq!(packet.payload().len(), total_len - header_len);
    assert_eq!(packet.dscp_ecn(), packet.dscp() << 2 | packet.ecn());
    let _ = (
        packet.ident(),
        packet.dont_frag(),
        packet.more_frags(),
        packet.is_fragment(),
    );
    assert_eq!(packet.frag_offset() % 8, 0);
    let _ = (
        packet.ttl(),
        packet.protocol().to_string(),
        packet.checksum(),
    );
    let _ = (packet.src_addr(), packet.dst_addr());
    let valid = packet.verify_checksum();
    let parsed = Repr::parse(&packet);
    if !valid {
        assert_eq!(parsed, Err(Error::Checksum));
    }

    // With a correct checksum: the TTL update keeps it correct, and the
    // header parses unless it is a fragment.
    let mut copy = data.to_vec();
    let mut fixed = Packet::new_unchecked(&mut copy[..]);
    fixed.fill_checksum();
    assert!(fixed.verify_checksum());
    let ttl = fixed.ttl();
    fixed.decrement_ttl_and_update_checksum();
    assert_eq!(fixed.ttl(), ttl.wrapping_sub(1));
    assert!(fixed.verify_checksum());
    let fixed = Packet::new_checked(&copy[..]).expect("setters kept it well-formed");
    match Repr::parse(&fixed) {
        Ok(repr) => {
            let _ = repr.to_string();
            assert_eq!(repr.buffer_len(), total_len - header_len + 20);
            let mut buf = vec![0u8; repr.buffer_len()];
            let mut out = Packet::new_unchecked(&mut buf[..]);
            repr.emit(&mut out);
            out.payload_mut().copy_from_slice(fixed.payload());
            let out = Packet::new_checked(&buf[..]).expect("emitted header checks");
            assert_eq!(Repr::parse(&out), Ok(repr));
            // Byte for byte when nothing was dropped (options, reserved flag).
            if header_len == 20 && data[6] & 0x80 == 0 {
                assert_eq!(&buf[..], &copy[..total_len]);
            }
        }
        Err(err) => {
            assert_eq!(err, Error::Unsupported);
            assert!(fixed.is_fragment());
        }
    }
});
