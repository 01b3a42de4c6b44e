//! The metrics endpoint's HTTP request handling: any request head gets a
//! status (200 only for `GET /metrics`, with the token when one is set),
//! never a panic.
#![no_main]

use ctrl::api::auth::EndpointSecurity;
use ctrl::api::metrics;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let open = EndpointSecurity::insecure();
    let closed = EndpointSecurity::insecure().with_token(Some("s3cret"));
    let source = || "weir_up 1\n".to_string();
    for sec in [&open, &closed] {
        let (status, _) = metrics::answer(data, sec, &source);
        assert!([200, 400, 401, 404, 405, 431].contains(&status), "{status}");
        if status == 200 {
            let text = String::from_utf8_lossy(data);
            assert!(text.split_whitespace().nth(1).is_some_and(|t| t.starts_with("/metrics")));
        }
    }
});
