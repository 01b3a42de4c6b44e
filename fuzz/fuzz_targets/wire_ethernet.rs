//! Ethernet II frames: `Frame::new_checked`, every getter, `Repr` round
//! trip, and `Address`'s Display/FromStr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::wire::ethernet::{Address, Frame, Repr};
use pipeline::wire::Error;

fuzz_target!(|data: &[u8]| {
    // Any text must parse or be rejected, never panic.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(addr) = text.parse::<Address>() {
            assert_eq!(addr.to_string().parse::<Address>(), Ok(addr));
        }
    }

    let frame = match Frame::new_checked(data) {
        Ok(frame) => frame,
        Err(err) => {
            assert_eq!(err, Error::Truncated);
            assert!(data.len() < Frame::<&[u8]>::HEADER_LEN);
            return;
        }
    };
    let dst = frame.dst_addr();
    let src = frame.src_addr();
    let ethertype = frame.ethertype();
    let _ = (
        dst.is_broadcast(),
        dst.is_multicast(),
        dst.is_unicast(),
        dst.is_local(),
    );
    let _ = (src.is_unspecified(), ethertype.is_vlan(), ethertype.name());
    assert_eq!(dst.to_string().parse::<Address>(), Ok(dst));
    assert_eq!(format!("{src}").len(), 17);
    let _ = format!("{ethertype} {ethertype:?}");
    assert_eq!(frame.payload().len(), data.len() - 14);

    let repr = Repr::parse(&frame).expect("a checked frame parses");
    let _ = repr.to_string();
    let mut buf = data.to_vec();
    buf[..14].fill(0);
    repr.emit(&mut Frame::new_unchecked(&mut buf[..]));
    assert_eq!(buf, data);
});
