//! TCP: `Packet::new_checked`, every getter, the options iterator,
//! checksum, MSS clamping, `Repr` round trip.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use pipeline::wire::tcp::{Packet, Repr, TcpOption};
use pipeline::wire::Error;

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(err) => return assert!(matches!(err, Error::Truncated | Error::Malformed)),
    };
    let header_len = usize::from(packet.header_len());
    assert!((20..=60).contains(&header_len) && header_len <= data.len());
    let _ = (
        packet.src_port(),
        packet.dst_port(),
        packet.seq_number(),
        packet.ack_number(),
    );
    let flags = packet.flags();
    assert_eq!(
        packet.syn(),
        flags.contains(pipeline::wire::tcp::Flags::SYN)
    );
    let _ = (
        packet.fin(),
        packet.rst(),
        packet.psh(),
        packet.ack(),
        packet.urg(),
    );
    let _ = (packet.ece(), packet.cwr(), flags.to_string());
    let _ = (packet.window_len(), packet.checksum(), packet.urgent_at());
    let _ = (packet.segment_len(), packet.verify_checksum(SRC, DST));
    assert_eq!(packet.options().len(), header_len - 20);
    assert_eq!(packet.payload().len(), data.len() - header_len);
    let mut mss = None;
    for option in packet.options_iter() {
        match option {
            Ok(TcpOption::MaxSegmentSize(value)) if mss.is_none() => mss = Some(value),
            Ok(_) => {}
            Err(err) => assert_eq!(err, Error::Malformed),
        }
    }
    assert_eq!(packet.max_seg_size(), mss);

    // Clamping keeps the checksum correct.
    let mut copy = data.to_vec();
    let mut fixed = Packet::new_unchecked(&mut copy[..]);
    fixed.fill_checksum(SRC, DST);
    assert!(fixed.verify_checksum(SRC, DST));
    let changed = fixed.clamp_max_seg_size(1000);
    assert_eq!(changed, mss.is_some_and(|mss| mss > 1000));
    if changed {
        assert_eq!(fixed.max_seg_size(), Some(1000));
    }
    assert!(fixed.verify_checksum(SRC, DST));

    let repr = Repr::parse(&packet).expect("a checked segment parses");
    let _ = repr.to_string();
    assert_eq!(repr.buffer_len(), data.len());
    let mut buf = vec![0u8; repr.buffer_len()];
    let mut out = Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut out);
    out.payload_mut().copy_from_slice(packet.payload());
    out.set_checksum(packet.checksum());
    // Byte for byte, but for the reserved bits emit clears.
    let mut expected = data.to_vec();
    expected[12] &= 0xf0;
    assert_eq!(buf, expected);
});
