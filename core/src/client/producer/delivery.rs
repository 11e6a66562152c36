//! Delivery results: one [`BatchOutcome`] per batch, shared by a [`DeliveryFuture`] per
//! record (a record's offset is the batch's base offset plus its index), so sending a record
//! costs a reference count, not an allocation.

use crate::client::error::{ClientError, ClientResult};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: Arc<str>,
    pub partition: i32,
    /// -1 with `acks=0`, as Kafka.
    pub offset: i64,
    /// The record's timestamp, or the broker's when the topic uses LogAppendTime.
    pub timestamp: i64,
}

/// The broker's answer for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: i64,
    /// -1 unless the topic stamps LogAppendTime.
    pub log_append_time: i64,
}

/// The shared result of one batch.
#[derive(Debug)]
pub struct BatchOutcome {
    pub topic: Arc<str>,
    pub partition: i32,
    result: OnceLock<ClientResult<Appended>>,
    done: Notify,
}

impl BatchOutcome {
    pub fn new(topic: Arc<str>, partition: i32) -> Arc<Self> {
        Arc::new(BatchOutcome {
            topic,
            partition,
            result: OnceLock::new(),
            done: Notify::new(),
        })
    }

    /// Records the result (first one wins) and wakes every waiter.
    pub fn complete(&self, result: ClientResult<Appended>) {
        let _ = self.result.set(result);
        self.done.notify_waiters();
    }

    pub fn is_done(&self) -> bool {
        self.result.get().is_some()
    }

    /// Waits for the result.
    pub async fn wait(&self) -> &ClientResult<Appended> {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.result.get() {
                return result;
            }
            notified.await;
        }
    }
}

/// The delivery result of one record.
#[derive(Debug, Clone)]
pub struct DeliveryFuture {
    pub(crate) outcome: Arc<BatchOutcome>,
    pub(crate) index: i32,
    pub(crate) timestamp: i64,
}

impl DeliveryFuture {
    /// Waits until the broker acknowledged (or the producer gave up on) the record.
    pub async fn wait(self) -> ClientResult<RecordMetadata> {
        let result = self.outcome.wait().await;
        self.metadata(result)
    }

    /// The result if it is known already.
    pub fn try_result(&self) -> Option<ClientResult<RecordMetadata>> {
        self.outcome.result.get().map(|r| self.metadata(r))
    }

    fn metadata(&self, result: &ClientResult<Appended>) -> ClientResult<RecordMetadata> {
        let appended = result.as_ref().map_err(ClientError::clone)?;
        Ok(RecordMetadata {
            topic: Arc::clone(&self.outcome.topic),
            partition: self.outcome.partition,
            offset: if appended.base_offset < 0 {
                -1
            } else {
                appended.base_offset + i64::from(self.index)
            },
            timestamp: if appended.log_append_time >= 0 {
                appended.log_append_time
            } else {
                self.timestamp
            },
        })
    }
}

impl std::future::IntoFuture for DeliveryFuture {
    type Output = ClientResult<RecordMetadata>;
    type IntoFuture = crate::client::transport::BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}
