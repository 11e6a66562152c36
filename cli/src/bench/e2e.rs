//! `bench e2e`: a producer at `--throughput` (default 10000 records/s) and a consumer in the
//! same process; each value carries its scheduled send time, so the latency is from when the
//! record should have been sent to when `poll` returned it.

use super::produce::micros;
use super::report::{histogram, progress, Report};
use super::target::Target;
use super::{client_name, Common};
use bytes::{BufMut, Bytes, BytesMut};
use std::time::{Duration, Instant};
use strom::client::ProducerRecord;

const DEFAULT_RATE: u64 = 10_000;
/// Stop waiting for the last records after this long.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

pub async fn run(c: &Common) -> anyhow::Result<Report> {
    let target = Target::open(c).await?;
    target.ensure_topic(c).await?;
    let all = target.partitions(&c.topic).await?;
    let mut consumer = target.consumer(c)?.build().await?;
    consumer.assign(&all)?;
    consumer.seek_to_end(&all).await?;
    let producer = target.producer(c)?.build().await?;
    let rate = c.throughput.unwrap_or(DEFAULT_RATE).max(1);
    let size = c.record_size.max(8);
    let (total, topic) = (c.records, c.topic.clone());
    let start = Instant::now();
    let sending = tokio::spawn(async move {
        for i in 0..total {
            let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(at.into()).await;
            let mut value = BytesMut::with_capacity(size);
            value.put_u64(micros(at - start));
            value.resize(size, b'x');
            producer
                .send(ProducerRecord::new(&topic).value(value.freeze()))
                .await?;
        }
        producer.close().await?;
        anyhow::Ok(())
    });
    let bar = progress(c.records, c.json);
    let mut latency = histogram()?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut last_record = Instant::now();
    while records < c.records && last_record.elapsed() < DRAIN_LIMIT {
        for r in consumer.poll(Duration::from_millis(100)).await? {
            let sent = r
                .value
                .as_ref()
                .and_then(|v| v.get(..8))
                .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
            if let Some(sent) = sent {
                latency.saturating_record(micros(start.elapsed()).saturating_sub(sent).max(1));
            }
            records += 1;
            bytes += r.value.as_ref().map_or(0, Bytes::len) as u64;
            last_record = Instant::now();
        }
        bar.set_position(records);
    }
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    sending.await??;
    consumer.close().await?;
    target.finish().await?;
    Ok(Report {
        mode: "e2e",
        client: client_name(c),
        records,
        bytes,
        elapsed,
        errors: c.records.saturating_sub(records),
        latency: Some(latency),
        json: c.json,
    })
}
