//! `bench consume`: reads `--records` records from the beginning of every partition of the
//! topic (assigned, no group). In-process the records are produced first, untimed, so the
//! bench has something to read.

use super::report::{progress, Report};
use super::target::Target;
use super::{client_name, Common};
use bytes::Bytes;
use std::time::{Duration, Instant};
use strom::client::ProducerRecord;

/// Give up when no record arrives for this long.
const IDLE_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(c: &Common) -> anyhow::Result<Report> {
    let target = Target::open(c).await?;
    target.ensure_topic(c).await?;
    if c.in_process {
        fill(&target, c).await?;
    }
    let all = target.partitions(&c.topic).await?;
    let mut consumer = target.consumer(c)?.build().await?;
    consumer.assign(&all)?;
    consumer.seek_to_beginning(&all).await?;
    let bar = progress(c.records, c.json);
    let (mut records, mut bytes) = (0u64, 0u64);
    let start = Instant::now();
    let mut last_record = Instant::now();
    while records < c.records {
        let batch = consumer.poll(Duration::from_millis(500)).await?;
        if batch.is_empty() {
            if last_record.elapsed() > IDLE_LIMIT {
                anyhow::bail!(
                    "only {records} of {} records arrived (none for {IDLE_LIMIT:?}); \
                     produce them first, e.g. with `strom bench produce`",
                    c.records
                );
            }
            continue;
        }
        last_record = Instant::now();
        records += batch.len() as u64;
        bytes += batch
            .iter()
            .map(|r| r.value.as_ref().map_or(0, Bytes::len) as u64)
            .sum::<u64>();
        bar.set_position(records);
    }
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    consumer.close().await?;
    target.finish().await?;
    Ok(Report {
        mode: "consume",
        client: client_name(c),
        records,
        bytes,
        elapsed,
        errors: 0,
        latency: None,
        json: c.json,
    })
}

/// Produces the records an in-process consume bench reads.
async fn fill(target: &Target, c: &Common) -> anyhow::Result<()> {
    // Not with --property: those are the consumer's settings.
    let producer = strom::client::Producer::builder()
        .endpoint(target.endpoint.clone())
        .set("acks", "1")
        .set("linger.ms", "5")
        .set("batch.size", "1048576")
        .build()
        .await?;
    let value = Bytes::from(vec![b'x'; c.record_size]);
    for _ in 0..c.records {
        producer
            .send(ProducerRecord::new(&c.topic).value(value.clone()))
            .await?;
    }
    producer.close().await?;
    Ok(())
}
