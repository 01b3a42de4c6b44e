//! 802.1Q tags: `Tag::new_checked`, every getter and setter, `Repr`
//! round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::wire::vlan::{Repr, Tag, VID_MAX, VID_RESERVED};
use pipeline::wire::Error;

fuzz_target!(|data: &[u8]| {
    let tag = match Tag::new_checked(data) {
        Ok(tag) => tag,
        Err(Error::Truncated) => return assert!(data.len() < 4),
        Err(Error::Malformed) => {
            return assert_eq!(Tag::new_unchecked(data).vid(), VID_RESERVED);
        }
        Err(err) => panic!("unexpected {err:?}"),
    };
    let (tci, pcp, dei, vid) = (tag.tci(), tag.pcp(), tag.dei(), tag.vid());
    assert!(pcp <= 7 && vid <= VID_MAX);
    assert_eq!(tci, u16::from(pcp) << 13 | u16::from(dei) << 12 | vid);
    let _ = tag.ethertype();
    assert_eq!(tag.payload().len(), data.len() - 4);

    let repr = Repr::parse(&tag).expect("a checked tag parses");
    let _ = repr.to_string();
    let mut buf = [0u8; 4];
    repr.emit(&mut Tag::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..], &data[..4]);

    // The field setters rebuild the same TCI.
    let mut buf = [0u8; 4];
    let mut out = Tag::new_unchecked(&mut buf[..]);
    out.set_vid(vid);
    out.set_dei(dei);
    out.set_pcp(pcp);
    out.set_ethertype(tag.ethertype());
    assert_eq!(&buf[..], &data[..4]);
});
