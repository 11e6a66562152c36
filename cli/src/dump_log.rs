//! `strom dump-log <segment.log>`: walks a segment batch by batch without trusting it, and
//! reports where and why it stops making sense, down to the records inside each batch.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use strom::records::batch::{self, BatchHeader, HEADER_LEN};
use strom::records::reader;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A `.log` segment file.
    segment: PathBuf,
}

pub fn run(args: Args) -> strom::Result<ExitCode> {
    let file = File::open(&args.segment).map_err(|e| strom::Error::io(&args.segment, e))?;
    let len = file
        .metadata()
        .map_err(|e| strom::Error::io(&args.segment, e))?
        .len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut pos = 0u64;
    let mut batches = 0u64;
    let mut bad = 0u64;
    let mut body = Vec::new();
    let mut header = [0u8; HEADER_LEN];
    while pos < len {
        if len - pos < HEADER_LEN as u64 {
            println!(
                "position {pos}: {} trailing bytes, a torn batch header",
                len - pos
            );
            bad += 1;
            break;
        }
        reader
            .read_exact(&mut header)
            .map_err(|e| strom::Error::io(&args.segment, e))?;
        let h = match BatchHeader::parse(&header) {
            Ok(h) => h,
            Err(e) => {
                println!("position {pos}: unreadable batch header: {e}; stopping");
                bad += 1;
                break;
            }
        };
        let total = h.total_len() as u64;
        if pos + total > len {
            println!(
                "position {pos}: batch claims {total} bytes but only {} remain (torn write)",
                len - pos
            );
            bad += 1;
            break;
        }
        body.resize(h.total_len() - HEADER_LEN, 0);
        reader
            .read_exact(&mut body)
            .map_err(|e| strom::Error::io(&args.segment, e))?;
        let mut whole = Vec::with_capacity(h.total_len());
        whole.extend_from_slice(&header);
        whole.extend_from_slice(&body);
        let crc_ok = batch::crc_matches(&h, &whole);
        let crc = if crc_ok {
            "ok"
        } else {
            bad += 1;
            "MISMATCH"
        };
        // The records too, through the same bounded reader the broker uses: a lying count or
        // length is reported, never trusted.
        let records = if !crc_ok {
            "not read".to_string()
        } else {
            match reader::for_each_record(&h, &whole, |_, _| Ok(())) {
                Ok(n) if i64::try_from(n) == Ok(i64::from(h.record_count)) => "ok".to_string(),
                Ok(n) => {
                    bad += 1;
                    format!("BAD ({n} found)")
                }
                Err(e) => {
                    bad += 1;
                    format!("BAD ({e})")
                }
            }
        };
        println!(
            "offset {}..={} position {pos} size {total} records {} codec {} timestamps {}..{}{} producer {}/{} crc {crc} records {records}",
            h.base_offset,
            h.last_offset(),
            h.record_count,
            h.codec().map_or("unknown", |c| c.name()),
            h.base_timestamp,
            h.max_timestamp,
            if h.is_log_append_time() { " (log append time)" } else { "" },
            h.producer_id,
            h.producer_epoch,
        );
        batches += 1;
        pos += total;
    }
    println!("{batches} batches, {pos} of {len} bytes walked, {bad} problems");
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
