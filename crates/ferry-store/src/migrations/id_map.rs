//! The source → target id map of a migration, and how item ids are derived ([`ItemIds`]).

use sqlx::Row;

use super::MigrationKey;
use crate::{Store, StoreResult};

impl Store {
    pub async fn map_migration_id(
        &self,
        key: &MigrationKey,
        resource_type: &str,
        source_id: &str,
        target_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO migration_id_map (migration_id, resource_type, source_id, target_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (migration_id, resource_type, source_id) \
             DO NOTHING",
        )
        .bind(key.id())
        .bind(resource_type)
        .bind(source_id)
        .bind(target_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The id map: `(resource_type, source_id, target_id)`.
    pub async fn migration_id_map(
        &self,
        key: &MigrationKey,
    ) -> StoreResult<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT resource_type, source_id, target_id FROM migration_id_map \
             WHERE migration_id = $1 ORDER BY resource_type, source_id",
        )
        .bind(key.id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }
}

/// How a migration derives item (object and document) ids: kept (`tag` = `None`), or
/// `<prefix>_<tag><rest>` from a source id `<prefix>_<rest>`, where `tag` is fixed per
/// migration. Deterministic and unique (source ids are unique), and computable in SQL, so a
/// batch can be copied by the database without its rows passing through the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemIds {
    pub tag: Option<String>,
}

impl ItemIds {
    /// The target id of `source_id`.
    pub fn map(&self, source_id: &str) -> String {
        match (&self.tag, source_id.split_once('_')) {
            (None, _) => source_id.to_owned(),
            (Some(tag), Some((prefix, rest))) => format!("{prefix}_{tag}{rest}"),
            (Some(tag), None) => format!("{tag}{source_id}"),
        }
    }

    /// The same mapping as an SQL expression over `column`, with the tag bound at `tag_param`.
    pub(super) fn sql(&self, backend: crate::Backend, column: &str, tag_param: &str) -> String {
        if self.tag.is_none() {
            return column.to_owned();
        }
        let position = format!("{}({column}, '_')", backend.position_fn());
        format!(
            "CASE WHEN {column} IS NULL THEN NULL WHEN {position} = 0 THEN {tag_param} || {column} \
             ELSE substr({column}, 1, {position}) || {tag_param} || substr({column}, {position} + 1) END"
        )
    }
}
