//! Fuzzes the server's request decode path exactly as dispatch runs it: request header, the
//! version table, the allocation guard, then the message library's decoder. Any panic or
//! abort (an allocation sized by a hostile count) is a finding.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use strom::protocol::{decode_body, header, versions};

fuzz_target!(|data: &[u8]| {
    let Ok(request) = header::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    let (api_key, version) = (request.api_key, request.header.request_api_version);
    if versions::is_supported(api_key, version) {
        let _ = decode_body(api_key, version, request.body);
    }
});
