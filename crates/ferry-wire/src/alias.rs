//! Namespace aliases (Ferry's extension), served at `/v1/namespaces/aliases…`: a name that
//! resolves to a namespace wherever a namespace id or name is accepted (`X-Namespace`, the
//! `{namespace_identifier}` of a path, a migration's namespaces).
//!
//! Aliases and namespace names share one name space per organization, so an alias is checked
//! as a namespace name is (`validate_namespace_name`: header-safe, `ns_` reserved for ids).
//! Every alias keeps the history of the namespaces it pointed to; each move (a repoint, and
//! later a migration's cutover) closes one entry and opens the next.
//!
//! These bodies are Ferry's own; `/openapi.json` marks them so (`docs/ARCHITECTURE.md`, "The
//! wire contract").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::namespace::validate_namespace_name;
use crate::paging::{validate_paging, PaginationResponse};
use crate::text_enum::text_enum;
use crate::validate::{Errors, Validate};

/// Names an alias may not have: `list` is the path segment of `POST
/// /v1/namespaces/aliases/list`, so an alias of that name could not be read by its path.
const RESERVED_ALIAS_NAMES: [&str; 1] = ["list"];

/// Checks an alias name: a namespace name's rules (see [`validate_namespace_name`]), as both
/// live in one name space and travel in the same places, and not a reserved path segment.
pub fn validate_alias_name(errors: &mut Errors, field: &str, name: &str) {
    let before = errors.items.len();
    validate_namespace_name(errors, field, Some(name));
    if errors.items.len() == before && RESERVED_ALIAS_NAMES.contains(&name) {
        errors.push(
            field,
            "value_error",
            format!("Value error, '{name}' is reserved and cannot name an alias"),
        );
    }
}

/// Checks the identifier of the namespace an alias is to point to: an id or a name.
fn validate_target(errors: &mut Errors, field: &str, target: &str) {
    errors.str_len(field, Some(target), 1, 128);
}

/// What moved an alias onto a namespace, or off it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AliasAction {
    /// The alias was created pointing there.
    Create,
    /// `PATCH /v1/namespaces/aliases/{alias_name}` moved it.
    Repoint,
    /// A cutover moved it from a migration's source to its target.
    Cutover,
    /// A rollback moved it back to where it pointed before.
    Rollback,
}

text_enum!(AliasAction, 4, {
    Create => "create",
    Repoint => "repoint",
    Cutover => "cutover",
    Rollback => "rollback",
});

impl AliasAction {
    /// Whether the namespace the alias moves off is retired (made read-only) by the move:
    /// a cutover's source and a rollback's target, kept as they were for going back.
    pub fn retires(self) -> bool {
        matches!(self, AliasAction::Cutover | AliasAction::Rollback)
    }
}

/// Body of `POST /v1/namespaces/aliases`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAliasRequest {
    /// The alias: 3–64 letters, digits, `_`, `-` or `.`, starting with a letter or digit, not
    /// starting with `ns_`; no namespace or other alias of the organization may have it.
    #[schema(
        min_length = 3,
        max_length = 64,
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    )]
    pub alias_name: String,
    /// The namespace it points to: an id (`ns_…`) or a name. Another alias is resolved now,
    /// to the namespace it points to; aliases never point at aliases.
    pub namespace: String,
}

impl Validate for CreateAliasRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_alias_name(errors, "alias_name", &self.alias_name);
        validate_target(errors, "namespace", &self.namespace);
    }
}

/// Body of `PATCH /v1/namespaces/aliases/{alias_name}`: move the alias.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAliasRequest {
    /// The namespace it is to point to: an id or a name (an alias is resolved now). The
    /// namespace it points to already leaves it unchanged, with no new history entry.
    pub namespace: String,
}

impl Validate for UpdateAliasRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_target(errors, "namespace", &self.namespace);
    }
}

/// One namespace an alias pointed to, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AliasTarget {
    pub namespace_id: String,
    /// The namespace's current name; `null` once it has been deleted.
    pub namespace_name: Option<String>,
    pub started_at: DateTime<Utc>,
    pub started_by: AliasAction,
    /// `null` while the alias still points there.
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<AliasAction>,
    /// The migration whose cutover (or its rollback) moved the alias here; absent for
    /// other moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_id: Option<String>,
}

/// An alias: where it points now, and everywhere it pointed (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NamespaceAlias {
    /// Always `namespace_alias`.
    pub object: String,
    pub alias_name: String,
    /// The namespace it points to now.
    pub namespace_id: String,
    pub namespace_name: String,
    pub created_at: DateTime<Utc>,
    /// When it last moved (its creation until then).
    pub updated_at: DateTime<Utc>,
    /// Every namespace it pointed to, oldest first; the last entry is the current one.
    pub history: Vec<AliasTarget>,
}

/// Body of `POST /v1/namespaces/aliases/list`: paging, a name search, and the target.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAliasesRequest {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
    /// Case-insensitive substring of the alias name.
    pub search: Option<String>,
    /// Only the aliases pointing to this namespace now (its id or name).
    pub namespace: Option<String>,
}

impl Validate for ListAliasesRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
        if let Some(target) = &self.namespace {
            validate_target(errors, "namespace", target);
        }
    }
}

/// A page of aliases, by name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListAliasesResponse {
    pub results: Vec<NamespaceAlias>,
    pub pagination: PaginationResponse,
}

/// Answer of `DELETE /v1/namespaces/aliases/{alias_name}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeleteAliasResponse {
    pub alias_name: String,
    /// The namespace it pointed to until now (which is not deleted).
    pub namespace_id: String,
    pub deleted: bool,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn errors_of(body: Value) -> Vec<(Vec<Value>, &'static str)> {
        let req: CreateAliasRequest = serde_json::from_value(body).unwrap();
        req.validation_errors()
            .into_iter()
            .map(|e| (e.loc_values(), e.kind))
            .collect()
    }

    #[test]
    fn alias_names_follow_namespace_names_and_avoid_path_segments() {
        assert!(errors_of(json!({"alias_name": "prod.v2-live", "namespace": "x"})).is_empty());
        let cases = [
            ("ab", "string_too_short"),
            ("-prod", "string_pattern_mismatch"),
            ("pro d", "string_pattern_mismatch"),
            ("ns_prod", "value_error"),
            ("list", "value_error"),
        ];
        for (name, kind) in cases {
            assert_eq!(
                errors_of(json!({"alias_name": name, "namespace": "x"})),
                vec![(vec![json!("alias_name")], kind)],
                "{name}"
            );
        }
        assert_eq!(
            errors_of(json!({"alias_name": "prod", "namespace": ""})),
            vec![(vec![json!("namespace")], "string_too_short")]
        );
    }

    #[test]
    fn actions_are_spelled_once() {
        crate::text_enum::check_round_trip(&AliasAction::ALL);
    }
}
