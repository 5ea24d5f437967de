//! [`ResourceFilter`]: which resources of the source namespace a migration selects, and the
//! `date_range` bounds on the objects and documents it copies.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::options::default_true;
use crate::time::parse_datetime;
use crate::validate::{Errors, Validate};

/// Filters for selective resource migration. Without filters every resource of the source
/// namespace is migrated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceFilter {
    /// Specific collection IDs to migrate
    pub collection_ids: Option<Vec<String>>,
    /// Specific taxonomy IDs to migrate
    pub taxonomy_ids: Option<Vec<String>>,
    /// Specific cluster IDs to migrate
    pub cluster_ids: Option<Vec<String>>,
    /// Specific retriever IDs to migrate
    pub retriever_ids: Option<Vec<String>>,
    /// Date range filter (after, before): objects and documents whose `created_at` lies in it.
    /// The spec types it as a map of strings; Ferry accepts the two keys it names, each an
    /// ISO 8601 datetime (an offset-less one is UTC) or a date (midnight UTC), and refuses
    /// other keys and unreadable values (see [`ResourceFilter::date_bounds`]).
    pub date_range: Option<BTreeMap<String, String>>,
    /// Automatically include required dependencies
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub auto_include_dependencies: bool,
}

impl Default for ResourceFilter {
    fn default() -> Self {
        ResourceFilter {
            collection_ids: None,
            taxonomy_ids: None,
            cluster_ids: None,
            retriever_ids: None,
            date_range: None,
            auto_include_dependencies: true,
        }
    }
}

/// The keys `ResourceFilter.date_range` accepts.
pub const DATE_RANGE_KEYS: [&str; 2] = ["after", "before"];

/// Reads a `date_range` bound: an ISO 8601 datetime, or a date taken as midnight UTC.
fn parse_date_bound(text: &str) -> Option<DateTime<Utc>> {
    parse_datetime(text).or_else(|| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|naive| naive.and_utc())
    })
}

impl ResourceFilter {
    /// The `after` and `before` bounds of `date_range`, parsed. A bound that is absent or does
    /// not parse (which [`Validate`] refuses) is `None`.
    pub fn date_bounds(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let Some(range) = &self.date_range else {
            return (None, None);
        };
        let bound = |key: &str| range.get(key).and_then(|t| parse_date_bound(t));
        (bound("after"), bound("before"))
    }

    /// True when no filter narrows the selection.
    pub fn selects_everything(&self) -> bool {
        self.collection_ids.is_none()
            && self.taxonomy_ids.is_none()
            && self.cluster_ids.is_none()
            && self.retriever_ids.is_none()
            && self.date_range.is_none()
    }
}

impl Validate for ResourceFilter {
    fn validate(&self, errors: &mut Errors) {
        let Some(range) = &self.date_range else {
            return;
        };
        errors.at("date_range", |errors| {
            for (key, text) in range {
                if !DATE_RANGE_KEYS.contains(&key.as_str()) {
                    errors.push(
                        key,
                        "extra_forbidden",
                        "Extra inputs are not permitted: date_range accepts 'after' and 'before'",
                    );
                } else if parse_date_bound(text).is_none() {
                    errors.push(
                        key,
                        "datetime_from_date_parsing",
                        "Input should be a valid datetime or date (ISO 8601, e.g. \
                         2025-01-31T00:00:00Z or 2025-01-31)",
                    );
                }
            }
        });
        if let (Some(after), Some(before)) = self.date_bounds() {
            if after > before {
                errors.at("date_range", |errors| {
                    errors.push_here(
                        "value_error",
                        "Value error, date_range.after must not be later than date_range.before",
                    )
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::test_support::*;
    use crate::migration::CreateMigrationRequest;
    use chrono::TimeZone;
    use serde_json::{json, Value};

    #[test]
    fn date_range_takes_after_and_before_as_datetimes() {
        let check = |range: Value| {
            let (req, errors) = parse::<CreateMigrationRequest>(json!({"config": {
                "migration_type": "copy", "source_namespace_id": "ns_x",
                "filters": {"date_range": range}}}))
            .unwrap();
            (req.config.filters.unwrap(), locs(&errors))
        };
        let (filter, errors) =
            check(json!({"after": "2025-01-01T00:00:00Z", "before": "2025-02-01"}));
        assert!(errors.is_empty());
        assert_eq!(
            filter.date_bounds(),
            (
                Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()),
                Some(Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap())
            )
        );
        let (filter, errors) = check(json!({"after": "2025-01-01T10:00:00"}));
        assert!(errors.is_empty());
        assert_eq!(
            filter.date_bounds(),
            (
                Some(Utc.with_ymd_and_hms(2025, 1, 1, 10, 0, 0).unwrap()),
                None
            )
        );
        let (_, errors) = check(json!({"after": "last tuesday", "until": "2025-01-01"}));
        assert_eq!(
            errors,
            vec![
                (
                    loc(&["config", "filters", "date_range", "after"]),
                    "datetime_from_date_parsing"
                ),
                (
                    loc(&["config", "filters", "date_range", "until"]),
                    "extra_forbidden"
                ),
            ]
        );
        let (_, errors) = check(json!({"after": "2025-02-01", "before": "2025-01-01"}));
        assert_eq!(
            errors,
            vec![(loc(&["config", "filters", "date_range"]), "value_error")]
        );
        // The spec types the values as strings.
        assert!(parse::<ResourceFilter>(json!({"date_range": {"after": 5}})).is_err());
    }
}
