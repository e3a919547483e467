//! Provisioning logs (`GET /auditLogs/provisioning`): the rows cycles wrote, and their
//! retention.

use time::OffsetDateTime;

use super::{SyncResult, Synchronization};
use crate::state::{LogQuery, LogRow};

/// How a log row's time is written, and so how bounds on it are given: RFC 3339 in UTC with
/// milliseconds, so that times sort as text.
pub fn log_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

impl Synchronization {
    /// Log rows, oldest first, as the query selects them.
    pub async fn provisioning_logs(&self, query: &LogQuery) -> SyncResult<Vec<LogRow>> {
        Ok(self.store().logs(query).await?)
    }

    /// Deletes rows older than `retention` before now; returns how many.
    pub async fn purge_provisioning_logs(&self, retention: time::Duration) -> SyncResult<u64> {
        let before = log_timestamp(self.clock().now() - retention);
        Ok(self.store().purge_logs_before(&before).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_sort_as_text() {
        let at = time::macros::datetime!(2026-12-03 18:00:05.042 +01:00);
        assert_eq!(log_timestamp(at), "2026-12-03T17:00:05.042Z");
        let later = at + time::Duration::milliseconds(958);
        assert!(log_timestamp(at) < log_timestamp(later));
        assert_eq!(log_timestamp(later), "2026-12-03T17:00:06.000Z");
    }
}
