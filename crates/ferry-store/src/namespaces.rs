//! Namespaces: the tenant-scoped containers every other resource lives in.

use ferry_wire::namespace::NamespaceSortField;
use ferry_wire::ErrorCode;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::listing::{order_by, Listing, Rows};
use crate::named::UPDATE_ATTEMPTS;
use crate::row::parse_json;
use crate::time::now_micros;
use crate::{aliases, ids, Store, StoreError, StoreResult};

/// Live counts kept on the namespace row by the writes that change them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NamespaceStats {
    pub bucket_count: i64,
    pub collection_count: i64,
    pub object_count: i64,
    pub document_count: i64,
}

/// A namespace's surrogate key, which every namespace-scoped table is keyed by.
///
/// Only the store makes one, from an organization-scoped lookup, so holding a `NamespaceKey`
/// proves the caller's organization owns the namespace: functions taking it cannot be handed
/// another tenant's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NamespaceKey(pub(crate) i64);

impl NamespaceKey {
    /// The number behind the key, for naming things that live outside the store (a
    /// process's index directories). No key can be made from it.
    pub fn number(self) -> i64 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub key: NamespaceKey,
    pub namespace_id: String,
    pub namespace_type: String,
    pub mode: String,
    pub fields: NamespaceFields,
    pub stats: NamespaceStats,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a new namespace is made of; the store adds id (when absent), counts and times.
#[derive(Debug, Clone)]
pub struct NewNamespace {
    pub namespace_id: Option<String>,
    pub namespace_type: String,
    pub mode: String,
    pub fields: NamespaceFields,
}

/// The user-editable part of a namespace, handed to [`Store::update_namespace`]'s closure.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceFields {
    pub namespace_name: String,
    pub description: Option<String>,
    /// JSON array of `{feature_extractor_name, version, params}`.
    pub feature_extractors: Value,
    /// JSON array of payload index configurations.
    pub payload_indexes: Value,
    pub auto_create_indexes: bool,
    pub adaptive_indexing: bool,
}

/// The column a namespace list is ordered by: the wire's closed set of sort fields.
fn sort_column(field: NamespaceSortField) -> &'static str {
    match field {
        NamespaceSortField::CreatedAt => "created_at",
        NamespaceSortField::UpdatedAt => "updated_at",
        NamespaceSortField::NamespaceName => "namespace_name",
        NamespaceSortField::NamespaceId => "namespace_id",
    }
}

#[derive(Debug, Clone)]
pub struct NamespaceListQuery {
    pub namespace_id: Option<String>,
    pub namespace_name: Option<String>,
    /// Substring of id, name or description.
    pub search: Option<String>,
    pub case_sensitive: bool,
    /// `(key, descending)`; ties are always broken by `namespace_id`.
    pub sort: Option<(NamespaceSortField, bool)>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone)]
pub struct NamespaceListPage {
    pub items: Vec<Namespace>,
    /// Every namespace matching the query, across all pages.
    pub total: i64,
}

const COLUMNS: &str = "namespace_id, namespace_name, description, namespace_type, mode, \
     feature_extractors, payload_indexes, auto_create_indexes, adaptive_indexing, bucket_count, \
     collection_count, object_count, document_count, created_at, updated_at, ns_key";

fn namespace_from_row(row: &AnyRow) -> StoreResult<Namespace> {
    Ok(Namespace {
        key: NamespaceKey(row.try_get(15)?),
        namespace_id: row.try_get(0)?,
        namespace_type: row.try_get(3)?,
        mode: row.try_get(4)?,
        fields: NamespaceFields {
            namespace_name: row.try_get(1)?,
            description: row.try_get(2)?,
            feature_extractors: parse_json("feature_extractors", &row.try_get::<String, _>(5)?)?,
            payload_indexes: parse_json("payload_indexes", &row.try_get::<String, _>(6)?)?,
            auto_create_indexes: row.try_get::<i64, _>(7)? != 0,
            adaptive_indexing: row.try_get::<i64, _>(8)? != 0,
        },
        stats: NamespaceStats {
            bucket_count: row.try_get(9)?,
            collection_count: row.try_get(10)?,
            object_count: row.try_get(11)?,
            document_count: row.try_get(12)?,
        },
        created_at: row.try_get(13)?,
        updated_at: row.try_get(14)?,
    })
}

const NAMESPACES: Rows<Namespace> = Rows {
    table: "namespaces",
    columns: COLUMNS,
    from_row: namespace_from_row,
};

/// The condition that a namespace row of organization `$1` is the one `$2` names: its id, its
/// name, or an alias of the organization pointing to it. (An uncorrelated scalar subquery, so
/// PostgreSQL evaluates it once and looks the key up by index.)
const IDENTIFIED_BY_2: &str = "(namespace_id = $2 OR namespace_name = $2 OR ns_key = \
     (SELECT ns_key FROM namespace_aliases WHERE internal_id = $1 AND alias_name = $2))";

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        code: ErrorCode::NamespaceNameTaken,
        message: format!("a namespace named '{name}' already exists"),
    }
}

fn not_found(identifier: &str) -> StoreError {
    StoreError::NotFound {
        resource: "namespace",
        id: identifier.to_owned(),
    }
}

impl Store {
    pub async fn create_namespace(&self, org: &str, new: NewNamespace) -> StoreResult<Namespace> {
        let now = now_micros();
        let namespace_id = new.namespace_id.unwrap_or_else(|| ids::new_id("ns"));
        let result = sqlx::query(&format!(
            "INSERT INTO namespaces (internal_id, namespace_id, namespace_name, description, \
             namespace_type, mode, feature_extractors, payload_indexes, auto_create_indexes, \
             adaptive_indexing, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
        ))
        .bind(org)
        .bind(&namespace_id)
        .bind(&new.fields.namespace_name)
        .bind(&new.fields.description)
        .bind(&new.namespace_type)
        .bind(&new.mode)
        .bind(new.fields.feature_extractors.to_string())
        .bind(new.fields.payload_indexes.to_string())
        .bind(i64::from(new.fields.auto_create_indexes))
        .bind(i64::from(new.fields.adaptive_indexing))
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => namespace_from_row(&row),
            Err(e) if is_unique_violation(&e) => {
                // The name (a namespace's or an alias's) or an explicitly requested id is
                // taken; say which.
                match aliases::name_taken(self, org, &new.fields.namespace_name).await? {
                    Some(taken) => Err(taken),
                    None => Err(StoreError::Conflict {
                        code: ErrorCode::NamespaceIdTaken,
                        message: format!("a namespace with id '{namespace_id}' already exists"),
                    }),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The namespace whose id or name is `identifier`, or which the organization's alias
    /// `identifier` points to, if the organization has one.
    ///
    /// Ids start with `ns_`, which no name may, and a name is a namespace's or an alias's,
    /// never both (`namespace_names`), so at most one namespace matches.
    pub async fn find_namespace(
        &self,
        org: &str,
        identifier: &str,
    ) -> StoreResult<Option<Namespace>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM namespaces WHERE internal_id = $1 AND {IDENTIFIED_BY_2}"
        ))
        .bind(org)
        .bind(identifier)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(namespace_from_row).transpose()
    }

    /// Like [`Store::find_namespace`], with absence as [`StoreError::NotFound`].
    pub async fn get_namespace(&self, org: &str, identifier: &str) -> StoreResult<Namespace> {
        self.find_namespace(org, identifier)
            .await?
            .ok_or_else(|| not_found(identifier))
    }

    /// Applies `change` to the namespace's editable fields and saves the result.
    ///
    /// The write is conditional on `updated_at` being unchanged since the read, retried on a
    /// concurrent change, so two PATCHes never lose each other's edits and neither backend
    /// has to hold a lock across the read.
    pub async fn update_namespace(
        &self,
        org: &str,
        identifier: &str,
        mut change: impl FnMut(&mut NamespaceFields),
    ) -> StoreResult<Namespace> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_namespace(org, identifier).await?;
            let mut edited = current.fields.clone();
            change(&mut edited);
            // Strictly later than the last write, even within one clock tick, so the
            // optimistic check below always sees a change.
            let now = now_micros().max(current.updated_at + 1);
            let result = sqlx::query(&format!(
                "UPDATE namespaces SET namespace_name = $1, description = $2, \
                 feature_extractors = $3, payload_indexes = $4, auto_create_indexes = $5, \
                 adaptive_indexing = $6, updated_at = $7 \
                 WHERE ns_key = $8 AND updated_at = $9 \
                 RETURNING {COLUMNS}"
            ))
            .bind(&edited.namespace_name)
            .bind(&edited.description)
            .bind(edited.feature_extractors.to_string())
            .bind(edited.payload_indexes.to_string())
            .bind(i64::from(edited.auto_create_indexes))
            .bind(i64::from(edited.adaptive_indexing))
            .bind(now)
            .bind(current.key.0)
            .bind(current.updated_at)
            .fetch_optional(&self.pool)
            .await;
            match result {
                Ok(Some(row)) => return namespace_from_row(&row),
                Ok(None) => continue,
                Err(e) if is_unique_violation(&e) => {
                    let name = &edited.namespace_name;
                    return Err(aliases::name_taken(self, org, name)
                        .await?
                        .unwrap_or_else(|| name_taken(name)));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(crate::named::kept_changing("namespace"))
    }

    /// Deletes the namespace and returns what it was.
    ///
    /// A namespace an alias points to is refused (`namespace_aliased`, naming the aliases)
    /// rather than leaving the alias pointing nowhere or dropping it unseen: an alias is how
    /// clients reach a namespace, so it is moved or deleted first, deliberately. The alias's
    /// foreign key makes the refusal race-free against an alias created meanwhile.
    pub async fn delete_namespace(&self, org: &str, identifier: &str) -> StoreResult<Namespace> {
        let row = sqlx::query(&format!(
            "DELETE FROM namespaces WHERE internal_id = $1 AND {IDENTIFIED_BY_2} \
             RETURNING {COLUMNS}"
        ))
        .bind(org)
        .bind(identifier)
        .fetch_optional(&self.pool)
        .await;
        match row {
            Ok(Some(row)) => namespace_from_row(&row),
            Ok(None) => Err(not_found(identifier)),
            Err(e) if is_foreign_key_violation(&e) => {
                let namespace = self.get_namespace(org, identifier).await?;
                let names = self.aliases_of(namespace.key).await?;
                Err(StoreError::Conflict {
                    code: ErrorCode::NamespaceAliased,
                    message: format!(
                        "namespace '{}' is the target of alias(es) {}: repoint or delete them \
                         first",
                        namespace.fields.namespace_name,
                        names
                            .iter()
                            .map(|n| format!("'{n}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One page of the organization's namespaces and the count of all matches.
    pub async fn list_namespaces(
        &self,
        org: &str,
        query: &NamespaceListQuery,
    ) -> StoreResult<NamespaceListPage> {
        let listing = Listing::default()
            .eq_text("internal_id", Some(org))
            .eq_text("namespace_id", query.namespace_id.as_deref())
            .eq_text("namespace_name", query.namespace_name.as_deref())
            .search(
                self.backend,
                &["namespace_id", "namespace_name", "description"],
                query.search.as_deref(),
                query.case_sensitive,
            );
        let (field, descending) = query.sort.unwrap_or((NamespaceSortField::CreatedAt, true));
        let order = order_by(sort_column(field), "namespace_id", descending);
        let (items, total) = listing
            .window(&self.pool, &NAMESPACES, &order, (query.limit, query.offset))
            .await?;
        Ok(NamespaceListPage { items, total })
    }
}
