//! `bench produce`: records of `--record-size` bytes as fast as the producer takes them, or at
//! `--throughput`. Latency is send-to-acknowledgement, sampled like Kafka's ProducerPerformance
//! (at most ~500k samples), measured from each record's scheduled time at a fixed rate.

use super::report::{histogram, progress, Report};
use super::target::Target;
use super::{client_name, Common};
use bytes::Bytes;
use std::time::{Duration, Instant};
use strom::client::producer::{DeliveryFuture, RecordRef};
use strom::client::ProducerRecord;

/// Most latency samples kept (as Kafka's tool).
const MAX_SAMPLES: u64 = 500_000;

pub async fn run(c: &Common) -> anyhow::Result<Report> {
    let target = Target::open(c).await?;
    target.ensure_topic(c).await?;
    let producer = target.producer(c)?.build().await?;
    let value = Bytes::from(vec![b'x'; c.record_size]);
    let every = (c.records / MAX_SAMPLES).max(1);
    let bar = progress(c.records, c.json);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, DeliveryFuture)>(16 * 1024);
    let collector = tokio::spawn(async move {
        let mut latency = histogram()?;
        let mut errors = 0u64;
        while let Some((sent, delivery)) = rx.recv().await {
            match delivery.wait().await {
                Ok(_) => latency.saturating_record(micros(sent.elapsed())),
                Err(e) => {
                    errors += 1;
                    tracing::warn!("record failed: {}", strom::log_safe::escape(&e));
                }
            }
        }
        anyhow::Ok((latency, errors))
    });
    let start = Instant::now();
    let mut errors = 0u64;
    if c.batch > 0 && c.throughput.is_none() {
        errors = send_batches(&producer, c, &value, every, &tx, &bar).await?;
    }
    let one_by_one = if c.batch > 0 && c.throughput.is_none() {
        0
    } else {
        c.records
    };
    for i in 0..one_by_one {
        let scheduled = match c.throughput {
            Some(rate) if rate > 0 => {
                let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
                tokio::time::sleep_until(at.into()).await;
                at
            }
            // Reading the clock only for sampled records keeps it out of the hot loop.
            _ if i.is_multiple_of(every) => Instant::now(),
            _ => start,
        };
        let record = ProducerRecord::new(&c.topic).value(value.clone());
        match producer.send(record).await {
            Ok(delivery) if i.is_multiple_of(every) => {
                if tx.send((scheduled, delivery)).await.is_err() {
                    anyhow::bail!("the latency collector stopped");
                }
            }
            Ok(_) => {}
            Err(e) => {
                errors += 1;
                tracing::warn!("send failed: {}", strom::log_safe::escape(&e));
            }
        }
        if i.is_multiple_of(4096) {
            bar.set_position(i);
        }
    }
    producer.flush().await?;
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    drop(tx);
    let (latency, failed) = collector.await??;
    producer.close().await?;
    target.finish().await?;
    Ok(Report {
        mode: "produce",
        client: client_name(c),
        records: c.records,
        bytes: c.records * c.record_size as u64,
        elapsed,
        errors: errors + failed,
        latency: Some(latency),
        json: c.json,
    })
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// The `--batch` loop: `send_batch` with `--batch` records per call.
async fn send_batches(
    producer: &strom::client::Producer,
    c: &Common,
    value: &Bytes,
    every: u64,
    tx: &tokio::sync::mpsc::Sender<(Instant, DeliveryFuture)>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<u64> {
    let one = RecordRef {
        value: Some(value),
        ..RecordRef::default()
    };
    let chunk = vec![one; c.batch];
    let mut sent = 0u64;
    while sent < c.records {
        let n = usize::try_from((c.records - sent).min(c.batch as u64)).unwrap_or(c.batch);
        let sent_at = Instant::now();
        let deliveries = producer.send_batch(&c.topic, &chunk[..n]).await?;
        for (i, d) in deliveries.into_iter().enumerate() {
            if (sent + i as u64).is_multiple_of(every) && tx.send((sent_at, d)).await.is_err() {
                anyhow::bail!("the latency collector stopped");
            }
        }
        sent += n as u64;
        bar.set_position(sent);
    }
    Ok(0)
}
