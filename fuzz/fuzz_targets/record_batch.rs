//! Fuzzes every reader of record batches with batches whose CRC and length are made right, so
//! mutations reach the records inside: the produce validator (`split_and_validate` then
//! `validate::check_batch`, as `PartitionLog::append` runs them), the stored-batch decoder
//! (cleaner, offsets by time, internal-topic replay), the cleaner's rewrite of a batch (whose
//! output must read back with exactly the kept records) and the client's fetch reader. A panic,
//! an abort or an allocation past libFuzzer's malloc limit is a finding.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use strom::log::{validate, LogConfig};
use strom::records::batch::{
    crc_matches, split_and_validate, BatchHeader, HEADER_LEN, LOG_OVERHEAD,
};
use strom::records::split_batches;
use strom::records::stored;

fuzz_target!(|data: &[u8]| {
    if data.len() < HEADER_LEN {
        return;
    }
    let mut batch = data.to_vec();
    batch[16] = 2; // magic v2, or nothing past the header is read
    let len = (batch.len() - LOG_OVERHEAD) as i32;
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());

    let mut config = LogConfig::default();
    config.compact_enabled = data[0] & 1 == 1;
    let rules = validate::Rules::of(&config, 1_700_000_000_000);
    if let Ok(located) = split_and_validate(&batch, 1 << 24) {
        for b in located {
            let end = b.position + b.header.total_len();
            let _ = validate::check_batch(&b.header, &batch[b.position..end], &rules);
        }
    }
    if let Ok(h) = BatchHeader::parse(&batch) {
        let _ = stored::decode_batch(&batch);
        // The cleaner's rewrite: whatever it builds from an accepted batch must be accepted
        // by every reader again, with exactly the records kept.
        let keep = |r: &strom::records::reader::RecordRef<'_>| r.offset_delta % 2 == 0;
        if let Ok(stored::Filtered::Rewritten {
            batch: out,
            removed,
        }) = stored::filter_batch(&h, &batch, keep)
        {
            let nh = BatchHeader::parse(&out).expect("a rewritten batch has a header");
            assert!(
                crc_matches(&nh, &out),
                "a rewritten batch has a right CRC and length"
            );
            let kept =
                stored::walk_stored(&nh, &out, |_| Ok(())).expect("rewritten records read back");
            assert_eq!(kept + removed, h.record_count as usize);
        }
    }
    for raw in split_batches(&Bytes::from(batch)).flatten() {
        let _ = raw.records();
    }
});
