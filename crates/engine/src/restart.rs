//! `POST …/jobs/{id}/restart`: the `criteria.resetScope` flags and what each one clears.
//!
//! Microsoft's reference (`microsoftgraph/microsoft-graph-docs-contrib`,
//! `api-reference/beta/resources/synchronization-synchronizationjobrestartcriteria.md`): a
//! comma-separated combination of `None, ConnectorDataStore, Escrows, Watermark,
//! QuarantineState, Full, ForceDeletes`, or empty. Empty is the admin center's "Restart
//! provisioning", "similar to" `QuarantineState, Watermark, Escrows`; `Full` is "all of the
//! options". Links between source and target objects live in the connector data store, so
//! only `ConnectorDataStore` and `Full` forget them.

use std::fmt;

use crate::model::FlagsError;

/// The flags of a `resetScope`, in the order Microsoft lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResetScope {
    /// Forget every link and the cached target state (the connector data store).
    pub connector_data_store: bool,
    /// Drop the queued failures: they are not retried, and no longer count towards quarantine.
    pub escrows: bool,
    /// Forget the watermark: the next cycle evaluates every object, not just changes.
    pub watermark: bool,
    /// Lift the quarantine.
    pub quarantine_state: bool,
    /// Carry out the deletes held back by accidental-deletion prevention.
    pub force_deletes: bool,
}

impl ResetScope {
    /// What an empty `resetScope` means: the admin center's "Restart provisioning".
    pub const RESTART_PROVISIONING: ResetScope = ResetScope {
        connector_data_store: false,
        escrows: true,
        watermark: true,
        quarantine_state: true,
        force_deletes: false,
    };

    /// `Full`: every option.
    pub const FULL: ResetScope = ResetScope {
        connector_data_store: true,
        escrows: true,
        watermark: true,
        quarantine_state: true,
        force_deletes: true,
    };

    /// Reads `criteria.resetScope`. Flag names are matched in any letter case (Graph reads
    /// enumeration flags that way) and spaces around commas are ignored; a missing or empty
    /// value is [`ResetScope::RESTART_PROVISIONING`]. `None` alone clears nothing: Microsoft
    /// says it starts a paused job, as `start` does.
    pub fn parse(reset_scope: Option<&str>) -> Result<ResetScope, FlagsError> {
        let text = reset_scope.unwrap_or("");
        if text.trim().is_empty() {
            return Ok(ResetScope::RESTART_PROVISIONING);
        }
        let mut scope = ResetScope::default();
        for flag in crate::model::flags_of(text) {
            match flag.to_ascii_lowercase().as_str() {
                "none" => {}
                "connectordatastore" => scope.connector_data_store = true,
                "escrows" => scope.escrows = true,
                "watermark" => scope.watermark = true,
                "quarantinestate" => scope.quarantine_state = true,
                "forcedeletes" => scope.force_deletes = true,
                "full" => scope = ResetScope::FULL,
                _ => {
                    return Err(FlagsError {
                        enumeration: "synchronizationJobRestartScope",
                        flag: flag.to_string(),
                        expected: "None, ConnectorDataStore, Escrows, Watermark, \
                                   QuarantineState, Full or ForceDeletes",
                    })
                }
            }
            if scope == ResetScope::FULL {
                // Nothing later can add to every option.
                break;
            }
        }
        Ok(scope)
    }

    /// Whether source↔target links are forgotten, so that objects are matched again.
    pub fn forgets_links(&self) -> bool {
        self.connector_data_store
    }
}

impl fmt::Display for ResetScope {
    /// The flags as Microsoft spells them; `Full` when every one is set, `None` when none is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == ResetScope::FULL {
            return f.write_str("Full");
        }
        let names: Vec<&str> = [
            (self.connector_data_store, "ConnectorDataStore"),
            (self.escrows, "Escrows"),
            (self.watermark, "Watermark"),
            (self.quarantine_state, "QuarantineState"),
            (self.force_deletes, "ForceDeletes"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        if names.is_empty() {
            f.write_str("None")
        } else {
            f.write_str(&names.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (resetScope, links forgotten, escrows cleared, watermark cleared, quarantine lifted,
    /// deletes forced, how it prints back)
    type Row = (
        Option<&'static str>,
        bool,
        bool,
        bool,
        bool,
        bool,
        &'static str,
    );

    #[test]
    fn each_flag_clears_what_microsofts_reference_says() {
        let rows: &[Row] = &[
            (
                None,
                false,
                true,
                true,
                true,
                false,
                "Escrows, Watermark, QuarantineState",
            ),
            (
                Some(""),
                false,
                true,
                true,
                true,
                false,
                "Escrows, Watermark, QuarantineState",
            ),
            (
                Some("  "),
                false,
                true,
                true,
                true,
                false,
                "Escrows, Watermark, QuarantineState",
            ),
            (Some("None"), false, false, false, false, false, "None"),
            (
                Some("Watermark"),
                false,
                false,
                true,
                false,
                false,
                "Watermark",
            ),
            (Some("Escrows"), false, true, false, false, false, "Escrows"),
            (
                Some("QuarantineState"),
                false,
                false,
                false,
                true,
                false,
                "QuarantineState",
            ),
            (
                Some("ForceDeletes"),
                false,
                false,
                false,
                false,
                true,
                "ForceDeletes",
            ),
            (
                Some("ConnectorDataStore"),
                true,
                false,
                false,
                false,
                false,
                "ConnectorDataStore",
            ),
            (Some("Full"), true, true, true, true, true, "Full"),
            (
                Some("Watermark, Escrows, QuarantineState"),
                false,
                true,
                true,
                true,
                false,
                "Escrows, Watermark, QuarantineState",
            ),
            (
                Some("watermark,forcedeletes"),
                false,
                false,
                true,
                false,
                true,
                "Watermark, ForceDeletes",
            ),
            (Some("Escrows, Full"), true, true, true, true, true, "Full"),
            (
                Some("ConnectorDataStore, Escrows, Watermark, QuarantineState, ForceDeletes"),
                true,
                true,
                true,
                true,
                true,
                "Full",
            ),
        ];
        for &(input, links, escrows, watermark, quarantine, deletes, printed) in rows {
            let scope = ResetScope::parse(input).unwrap();
            assert_eq!(
                (
                    scope.forgets_links(),
                    scope.escrows,
                    scope.watermark,
                    scope.quarantine_state,
                    scope.force_deletes
                ),
                (links, escrows, watermark, quarantine, deletes),
                "{input:?}"
            );
            assert_eq!(scope.to_string(), printed, "{input:?}");
        }
    }

    #[test]
    fn an_unknown_flag_is_named_in_the_error() {
        let error = ResetScope::parse(Some("Watermark, Links")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown synchronizationJobRestartScope flag \"Links\" (expected None, \
             ConnectorDataStore, Escrows, Watermark, QuarantineState, Full or ForceDeletes)"
        );
    }
}
