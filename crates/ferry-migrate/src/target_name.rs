//! How the target namespace of a copy or re_extract is named: a requested id and name are
//! checked against the rules every namespace follows (`POST /v1/namespaces`), and without a
//! name one is generated, `<source>_<type>_<n>`, with the first `n` not yet taken.

use ferry_store::{Namespace, Store, StoreError, StoreResult};
use ferry_wire::migration::{MigrationConfig, ValidationIssue};
use ferry_wire::ErrorCode;
use ferry_wire::Loc;

fn key(k: &str) -> Loc {
    Loc::Key(k.to_owned())
}

/// Where a copy's requested target id or name breaks the namespace rules, one issue per
/// broken rule, located at the field (`invalid_target_namespace_id` / `_name`).
pub(crate) fn naming_issues(config: &MigrationConfig) -> Vec<ValidationIssue> {
    let mut rules = ferry_wire::Errors::new();
    ferry_wire::namespace::validate_namespace_id(
        &mut rules,
        "target_namespace_id",
        config.target_namespace_id.as_deref(),
    );
    ferry_wire::namespace::validate_namespace_name(
        &mut rules,
        "target_namespace_name",
        config.target_namespace_name.as_deref(),
    );
    rules
        .items
        .into_iter()
        .map(|broken| {
            let code = match broken.loc.first() {
                Some(Loc::Key(field)) if field == "target_namespace_id" => {
                    "invalid_target_namespace_id"
                }
                _ => "invalid_target_namespace_name",
            };
            ValidationIssue::error(code, broken.msg)
                .at(std::iter::once(key("config")).chain(broken.loc))
        })
        .collect()
}

/// The name a copy's target gets: the configured one, or `<source>_<type>_<n>` with the
/// first `n` no namespace of the organization has.
pub async fn resolve_target_name(
    store: &Store,
    org: &str,
    source: &Namespace,
    config: &MigrationConfig,
) -> StoreResult<String> {
    if let Some(name) = &config.target_namespace_name {
        return Ok(name.clone());
    }
    for n in 0..10_000 {
        let name = generated(source, config, n);
        match store.get_namespace(org, &name).await {
            Err(StoreError::NotFound { .. }) => return Ok(name),
            Err(e) => return Err(e),
            Ok(_) => continue,
        }
    }
    Err(StoreError::Conflict {
        code: ErrorCode::NamespaceNameTaken,
        message: "no free target namespace name".into(),
    })
}

/// `<source>_<type>_<n + 1>`.
fn generated(source: &Namespace, config: &MigrationConfig, existing: i64) -> String {
    let suffix = format!("_{}_{}", config.migration_type.as_str(), existing + 1);
    // Names are ASCII (`validate_namespace_name`), so cutting at a byte count is safe; the
    // source part shrinks so the whole stays within the longest name allowed.
    let room = ferry_wire::namespace::NAMESPACE_NAME_MAX.saturating_sub(suffix.len());
    let stem: String = source.fields.namespace_name.chars().take(room).collect();
    format!("{stem}{suffix}")
}
