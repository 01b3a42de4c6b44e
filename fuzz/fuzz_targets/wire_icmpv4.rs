//! ICMPv4: `Packet::new_checked`, every getter, checksum, `Repr` round
//! trip (also after fixing the checksum up).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::wire::icmpv4::{error_data, DstUnreachable, Message, Packet, Repr, TimeExceeded};
use pipeline::wire::Error;

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(err) => return assert_eq!((err, data.len() < 8), (Error::Truncated, true)),
    };
    let msg_type = packet.msg_type();
    assert_eq!(Message::from(u8::from(msg_type)), msg_type);
    let code = packet.msg_code();
    assert_eq!(u8::from(DstUnreachable::from(code)), code);
    assert_eq!(u8::from(TimeExceeded::from(code)), code);
    let _ = (
        msg_type.to_string(),
        packet.checksum(),
        packet.rest_of_header(),
    );
    let _ = (
        packet.echo_ident(),
        packet.echo_seq_no(),
        packet.next_hop_mtu(),
    );
    assert_eq!(packet.payload().len(), data.len() - 8);
    assert!(error_data(data).len() <= 548);
    if !packet.verify_checksum() {
        assert_eq!(Repr::parse(&packet), Err(Error::Checksum));
    }

    let mut copy = data.to_vec();
    Packet::new_unchecked(&mut copy[..]).fill_checksum();
    let fixed = Packet::new_checked(&copy[..]).unwrap();
    assert!(fixed.verify_checksum());
    match Repr::parse(&fixed) {
        Ok(repr) => {
            let _ = repr.to_string();
            assert_eq!(repr.buffer_len(), data.len());
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            let out = Packet::new_checked(&buf[..]).unwrap();
            assert!(out.verify_checksum());
            assert_eq!(Repr::parse(&out), Ok(repr));
            assert_eq!(&buf[8..], &data[8..]);
        }
        Err(err) => {
            assert_eq!(err, Error::Unsupported);
            assert!(!matches!(
                msg_type,
                Message::EchoRequest
                    | Message::EchoReply
                    | Message::DstUnreachable
                    | Message::TimeExceeded
            ));
        }
    }
});
