//! Listing migrations: the filters and paging of `POST /v1/namespaces/migrations/list` and the
//! page it answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::{MigrationStatus, MigrationType};
use super::responses::GetMigrationResponse;
use crate::validate::{Errors, Validate};

fn default_list_limit() -> i64 {
    20
}

/// Request to list migrations with filters (`POST /v1/namespaces/migrations/list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMigrationsRequest {
    /// Filter by status
    pub status: Option<MigrationStatus>,
    /// Filter by type
    pub migration_type: Option<MigrationType>,
    /// Filter by source namespace
    pub source_namespace_id: Option<String>,
    /// Maximum results
    #[serde(default = "default_list_limit")]
    #[schema(default = 20, minimum = 1, maximum = 1000)]
    pub limit: i64,
    /// Result offset for pagination
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub offset: i64,
}

impl Default for ListMigrationsRequest {
    fn default() -> Self {
        ListMigrationsRequest {
            status: None,
            migration_type: None,
            source_namespace_id: None,
            limit: default_list_limit(),
            offset: 0,
        }
    }
}

impl Validate for ListMigrationsRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("limit", Some(self.limit), Some(1), Some(1000));
        errors.int_range("offset", Some(self.offset), Some(0), None);
    }
}

/// Response for listing migrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListMigrationsResponse {
    /// List of migrations
    pub results: Vec<GetMigrationResponse>,
    /// Total count matching filters
    pub total: i64,
    /// Results limit
    pub limit: i64,
    /// Results offset
    pub offset: i64,
}
