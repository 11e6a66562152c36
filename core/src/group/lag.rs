//! Consumer lag: the one definition, used by the broker's metrics, the admin client (and so
//! `strom groups describe` and every binding's admin).
//!
//! Lag is Kafka's: records between a group's committed offset (the next offset it will read)
//! and the partition's end offset, never negative (a commit ahead of the end, as after a
//! DeleteRecords or a reset past the end, counts as caught up).

/// Records a group still has to read in one partition.
pub fn lag(committed: i64, end_offset: i64) -> i64 {
    end_offset.saturating_sub(committed).max(0)
}

/// One partition of a group: what it committed, where the log ends, and the lag between.
/// Either side may be unknown (assigned but never committed; a deleted topic whose offsets
/// have not expired yet), and then so is the lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    pub committed: Option<i64>,
    pub end_offset: Option<i64>,
}

impl PartitionLag {
    pub fn lag(&self) -> Option<i64> {
        Some(lag(self.committed?, self.end_offset?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_end_minus_committed_and_never_negative() {
        assert_eq!(lag(3, 10), 7);
        assert_eq!(lag(10, 10), 0);
        assert_eq!(lag(12, 10), 0);
        assert_eq!(lag(i64::MIN, i64::MAX), i64::MAX);
    }

    #[test]
    fn unknown_sides_make_an_unknown_lag() {
        let p = |committed, end_offset| PartitionLag {
            topic: "t".into(),
            partition: 0,
            committed,
            end_offset,
        };
        assert_eq!(p(Some(4), Some(9)).lag(), Some(5));
        assert_eq!(p(None, Some(9)).lag(), None);
        assert_eq!(p(Some(4), None).lag(), None);
    }
}
