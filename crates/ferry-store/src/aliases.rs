//! Namespace aliases (Ferry's extension): names that resolve to a namespace of the same
//! organization, and the history of the namespaces each pointed to.
//!
//! Aliases and namespace names share one name space per organization: the `namespace_names`
//! table holds both under one primary key, kept by triggers (schema `0013`, which says why),
//! so a clash surfaces here as a unique violation and [`name_taken`] says which kind of
//! holder has the name. Resolution lives in `namespaces.rs` (`find_namespace`), so every
//! place that takes a namespace id or name takes an alias too. An alias's target is a
//! foreign key without cascade: a namespace an alias points to cannot be deleted.
//!
//! Every function takes the organization; a target is a [`NamespaceKey`] (made only by an
//! organization-scoped lookup), and the SQL checks it belongs to the organization as well.

use ferry_wire::alias::AliasAction;
use ferry_wire::ErrorCode;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::freeze::{set_freeze, UNTIL_LIFTED};
use crate::listing::{order_by, Listing, Rows};
use crate::named::UPDATE_ATTEMPTS;
use crate::namespaces::NamespaceKey;
use crate::row::parse_text;
use crate::time::now_micros;
use crate::{Store, StoreError, StoreResult};

/// An alias, where it points now, and its history (oldest first, the current entry last).
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub alias_name: String,
    /// The namespace it points to now.
    pub target: NamespaceKey,
    pub namespace_id: String,
    pub namespace_name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub history: Vec<AliasHistoryEntry>,
}

/// One namespace an alias pointed to.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasHistoryEntry {
    pub namespace_id: String,
    /// The namespace's current name; `None` once it is deleted.
    pub namespace_name: Option<String>,
    pub started_at: i64,
    pub started_by: AliasAction,
    /// `None` on the current entry.
    pub ended_at: Option<i64>,
    pub ended_by: Option<AliasAction>,
    /// The migration a cutover or rollback moved the alias for.
    pub migration_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AliasListQuery {
    /// Case-insensitive substring of the alias name.
    pub search: Option<String>,
    /// Only aliases pointing to this namespace now.
    pub target: Option<NamespaceKey>,
    pub limit: i64,
    pub offset: i64,
}

/// How long before a freeze's end a cutover stops trusting it: room for the clocks of other
/// processes, which decide on their own when the freeze is over.
const FREEZE_MARGIN_MICROS: i64 = 1_000_000;

/// An alias row joined to its current namespace, without its history.
const FROM: &str = "namespace_aliases a JOIN namespaces n ON n.ns_key = a.ns_key";
const COLUMNS: &str = "a.alias_key, a.alias_name, a.ns_key, n.namespace_id, n.namespace_name, \
     a.created_at, a.updated_at";

struct AliasRow {
    alias_key: i64,
    alias: Alias,
}

fn alias_from_row(row: &AnyRow) -> StoreResult<AliasRow> {
    Ok(AliasRow {
        alias_key: row.try_get(0)?,
        alias: Alias {
            alias_name: row.try_get(1)?,
            target: NamespaceKey(row.try_get(2)?),
            namespace_id: row.try_get(3)?,
            namespace_name: row.try_get(4)?,
            created_at: row.try_get(5)?,
            updated_at: row.try_get(6)?,
            history: Vec::new(),
        },
    })
}

const ALIASES: Rows<AliasRow> = Rows {
    table: FROM,
    columns: COLUMNS,
    from_row: alias_from_row,
};

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        resource: "alias",
        id: name.to_owned(),
    }
}

fn namespace_gone(target: NamespaceKey) -> StoreError {
    StoreError::NotFound {
        resource: "namespace",
        id: format!("#{}", target.0),
    }
}

/// The conflict of a write that wanted `name` while a namespace or an alias holds it (read
/// after the unique violation; `None` when the holder let go of it meanwhile).
pub(crate) async fn name_taken(
    store: &Store,
    org: &str,
    name: &str,
) -> StoreResult<Option<StoreError>> {
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM namespace_names WHERE internal_id = $1 AND name = $2")
            .bind(org)
            .bind(name)
            .fetch_optional(&store.pool)
            .await?;
    Ok(kind.map(|kind| {
        if kind == "alias" {
            StoreError::Conflict {
                code: ErrorCode::AliasNameTaken,
                message: format!(
                    "an alias named '{name}' already exists (aliases and namespaces share one \
                     name space)"
                ),
            }
        } else {
            StoreError::Conflict {
                code: ErrorCode::NamespaceNameTaken,
                message: format!(
                    "a namespace named '{name}' already exists (aliases and namespaces share \
                     one name space)"
                ),
            }
        }
    }))
}

/// Closes the alias's current history entry and opens one on `target`, in `tx`.
async fn append_history(
    tx: &mut Transaction<'static, Any>,
    alias_key: i64,
    target: NamespaceKey,
    action: AliasAction,
    now: i64,
    migration_id: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE namespace_alias_history SET ended_at = $1, ended_by = $2 \
         WHERE alias_key = $3 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(action.as_str())
    .bind(alias_key)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO namespace_alias_history (alias_key, seq, namespace_id, started_at, \
         started_by, migration_id) \
         SELECT $1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM namespace_alias_history \
                     WHERE alias_key = $1), namespace_id, $2, $3, $5 \
         FROM namespaces WHERE ns_key = $4",
    )
    .bind(alias_key)
    .bind(now)
    .bind(action.as_str())
    .bind(target.0)
    .bind(migration_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Points the alias row from `from` to `to`, in `tx`: a compare-and-set on its target, and
/// `to` must be a namespace of the organization. The alias's key, or `None` when it no longer
/// points at `from` (or is gone). The write comes first in its transaction, so SQLite takes
/// its write lock before any read (no stale snapshot to upgrade).
async fn move_row(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    name: &str,
    (from, to): (NamespaceKey, NamespaceKey),
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "UPDATE namespace_aliases SET ns_key = $1, updated_at = $2 \
         WHERE internal_id = $3 AND alias_name = $4 AND ns_key = $5 \
         AND EXISTS (SELECT 1 FROM namespaces WHERE ns_key = $1 AND internal_id = $3) \
         RETURNING alias_key",
    )
    .bind(to.0)
    .bind(now)
    .bind(org)
    .bind(name)
    .bind(from.0)
    .fetch_optional(&mut **tx)
    .await
}

impl Store {
    /// Creates alias `name` of the organization, pointing to `target`. A name a namespace or
    /// an alias has is `namespace_name_taken` / `alias_name_taken`; a target deleted
    /// meanwhile is `NotFound`.
    pub async fn create_alias(
        &self,
        org: &str,
        name: &str,
        target: NamespaceKey,
    ) -> StoreResult<Alias> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        // Inserted from the namespace row itself, so a key of another organization (or of a
        // namespace just deleted) inserts nothing.
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO namespace_aliases (internal_id, alias_name, ns_key, created_at, \
             updated_at) \
             SELECT $1, $2, ns_key, $3, $3 FROM namespaces WHERE ns_key = $4 AND internal_id = $1 \
             RETURNING alias_key",
        )
        .bind(org)
        .bind(name)
        .bind(now)
        .bind(target.0)
        .fetch_optional(&mut *tx)
        .await;
        let alias_key = match inserted {
            Ok(Some(key)) => key,
            // No such namespace of the organization, or (the foreign key) one deleted while
            // the alias was being inserted.
            Ok(None) => return Err(namespace_gone(target)),
            Err(e) if is_foreign_key_violation(&e) => return Err(namespace_gone(target)),
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                return Err(name_taken(self, org, name).await?.unwrap_or_else(|| {
                    StoreError::Conflict {
                        code: ErrorCode::ConcurrentUpdate,
                        message: format!("the name '{name}' was changing; try again"),
                    }
                }));
            }
            Err(e) => return Err(e.into()),
        };
        append_history(&mut tx, alias_key, target, AliasAction::Create, now, None).await?;
        tx.commit().await?;
        self.get_alias(org, name).await
    }

    /// The organization's alias `name`, with its history.
    pub async fn get_alias(&self, org: &str, name: &str) -> StoreResult<Alias> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE a.internal_id = $1 AND a.alias_name = $2"
        ))
        .bind(org)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| not_found(name))?;
        let mut found = self.with_history(org, vec![alias_from_row(&row)?]).await?;
        Ok(found.remove(0))
    }

    /// One page of the organization's aliases by name, and the count of all matches.
    pub async fn list_aliases(
        &self,
        org: &str,
        query: &AliasListQuery,
    ) -> StoreResult<(Vec<Alias>, i64)> {
        let mut listing = Listing::default().eq_text("a.internal_id", Some(org));
        if let Some(target) = query.target {
            listing = listing.eq_int("a.ns_key", target.0);
        }
        let listing = listing.search(
            self.backend,
            &["a.alias_name"],
            query.search.as_deref(),
            false,
        );
        let (rows, total) = listing
            .window(
                &self.pool,
                &ALIASES,
                &order_by("a.alias_name", "a.alias_key", false),
                (query.limit, query.offset),
            )
            .await?;
        Ok((self.with_history(org, rows).await?, total))
    }

    /// Points alias `name` to `target`, closing its current history entry with `action` and
    /// opening one on `target`, which is writable again if a cutover had retired it. An alias
    /// already pointing there is left as it is.
    ///
    /// The move is a compare-and-set on the target read before it, retried when another move
    /// wins meanwhile, so two moves never interleave their history entries.
    pub async fn move_alias(
        &self,
        org: &str,
        name: &str,
        target: NamespaceKey,
        action: AliasAction,
    ) -> StoreResult<Alias> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_alias(org, name).await?;
            if current.target == target {
                return Ok(current);
            }
            let now = now_micros().max(current.updated_at + 1);
            let mut tx = self.pool.begin().await?;
            let moved = move_row(&mut tx, org, name, (current.target, target), now)
                .await
                .map_err(|e| {
                    if is_foreign_key_violation(&e) {
                        namespace_gone(target)
                    } else {
                        e.into()
                    }
                })?;
            let Some(alias_key) = moved else {
                drop(tx);
                // Either another move won (retry on the new target), or the alias or the
                // target is gone (the next read or this check says so).
                if self.namespace_key_exists(org, target).await? {
                    continue;
                }
                return Err(namespace_gone(target));
            };
            append_history(&mut tx, alias_key, target, action, now, None).await?;
            // A namespace an alias points to is never kept read-only by an earlier cutover.
            set_freeze(&mut tx, target, Some(UNTIL_LIFTED), None).await?;
            tx.commit().await?;
            return self.get_alias(org, name).await;
        }
        Err(StoreError::Conflict {
            code: ErrorCode::ConcurrentUpdate,
            message: format!("alias '{name}' kept moving while it was being moved; try again"),
        })
    }

    /// Deletes alias `name` (never its namespace) and returns what it was.
    ///
    /// The namespaces a cutover or rollback of this alias retired (read-only since it moved
    /// off them) are writable again: without the alias, nothing can roll back to them.
    pub async fn delete_alias(&self, org: &str, name: &str) -> StoreResult<Alias> {
        let alias = self.get_alias(org, name).await?;
        let mut retired = Vec::new();
        for entry in &alias.history {
            if entry.ended_by.is_some_and(AliasAction::retires) {
                if let Some(ns) = self.find_namespace(org, &entry.namespace_id).await? {
                    retired.push(ns.key);
                }
            }
        }
        let mut tx = self.pool.begin().await?;
        let deleted =
            sqlx::query("DELETE FROM namespace_aliases WHERE internal_id = $1 AND alias_name = $2")
                .bind(org)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        if deleted.rows_affected() == 0 {
            return Err(not_found(name));
        }
        for ns in retired {
            set_freeze(&mut tx, ns, Some(UNTIL_LIFTED), None).await?;
        }
        tx.commit().await?;
        Ok(alias)
    }

    /// Moves alias `name` from `from` to `to` for a cutover or rollback (`action`) of
    /// migration `migration_id`, in one transaction: the move, only while the alias still
    /// points at `from` (else `alias_moved`); its history entry; `from` retired (its
    /// buckets and collections refuse writes until a rollback, see [`crate::freeze`]); and
    /// `to` reinstated if an earlier move retired it. With `frozen_until` (a cutover's
    /// freeze of `from`), the move commits only while that freeze still holds, with a margin
    /// for clocks of other processes: after it, a write may have slipped in uncaught.
    pub async fn switch_alias(
        &self,
        org: &str,
        name: &str,
        (from, to): (NamespaceKey, NamespaceKey),
        action: AliasAction,
        migration_id: Option<&str>,
        frozen_until: Option<i64>,
    ) -> StoreResult<Alias> {
        let current = self.get_alias(org, name).await?;
        let now = now_micros().max(current.updated_at + 1);
        let mut tx = self.pool.begin().await?;
        let moved = move_row(&mut tx, org, name, (from, to), now).await?;
        let Some(alias_key) = moved else {
            return Err(StoreError::Conflict {
                code: ErrorCode::AliasMoved,
                message: format!(
                    "alias '{name}' no longer points to the namespace the {} started from",
                    action.as_str()
                ),
            });
        };
        append_history(&mut tx, alias_key, to, action, now, migration_id).await?;
        set_freeze(&mut tx, to, Some(UNTIL_LIFTED), None).await?;
        set_freeze(&mut tx, from, None, Some(UNTIL_LIFTED)).await?;
        if frozen_until.is_some_and(|until| now_micros() + FREEZE_MARGIN_MICROS >= until) {
            return Err(StoreError::Conflict {
                code: ErrorCode::CutoverNotReady,
                message: "the write freeze ran out before the catch-up finished; nothing was \
                          moved: retry with a longer freeze_timeout_seconds"
                    .into(),
            });
        }
        tx.commit().await?;
        self.get_alias(org, name).await
    }

    /// The names of the aliases pointing to namespace `ns`, sorted.
    pub async fn aliases_of(&self, ns: NamespaceKey) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT alias_name FROM namespace_aliases WHERE ns_key = $1 ORDER BY alias_name",
        )
        .bind(ns.0)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn namespace_key_exists(&self, org: &str, ns: NamespaceKey) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT ns_key FROM namespaces WHERE ns_key = $1 AND internal_id = $2",
        )
        .bind(ns.0)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// `rows` with their histories, read in one query. A history entry's namespace name is
    /// looked up within the organization, by id, so a deleted namespace reads as `None`.
    async fn with_history(&self, org: &str, rows: Vec<AliasRow>) -> StoreResult<Vec<Alias>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = (0..rows.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT h.alias_key, h.namespace_id, n.namespace_name, h.started_at, h.started_by, \
             h.ended_at, h.ended_by, h.migration_id \
             FROM namespace_alias_history h \
             LEFT JOIN namespaces n ON n.internal_id = $1 AND n.namespace_id = h.namespace_id \
             WHERE h.alias_key IN ({}) ORDER BY h.alias_key, h.seq",
            keys.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(org);
        for row in &rows {
            query = query.bind(row.alias_key);
        }
        let history = query.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for AliasRow {
            alias_key,
            mut alias,
        } in rows
        {
            for h in history
                .iter()
                .filter(|h| h.try_get::<i64, _>(0).ok() == Some(alias_key))
            {
                let ended_by: Option<String> = h.try_get(6)?;
                alias.history.push(AliasHistoryEntry {
                    namespace_id: h.try_get(1)?,
                    namespace_name: h.try_get(2)?,
                    started_at: h.try_get(3)?,
                    started_by: parse_text(h, 4, "started_by")?,
                    ended_at: h.try_get(5)?,
                    ended_by: ended_by
                        .map(|text| {
                            text.parse()
                                .map_err(|_| StoreError::Corrupt(format!("ended_by {text:?}")))
                        })
                        .transpose()?,
                    migration_id: h.try_get(7)?,
                });
            }
            out.push(alias);
        }
        Ok(out)
    }
}
