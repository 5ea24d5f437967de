//! `/v1/namespaces/aliases…` (organization-scoped; Ferry's extension): create, get, list,
//! repoint and delete namespace aliases.
//!
//! An alias resolves wherever a namespace id or name is accepted; that resolution is the
//! store's (`Store::find_namespace`), so the `X-Namespace` extractor, namespace paths and
//! migrations take aliases without knowing of them. The rules (one name space with namespace
//! names, history of targets, no deleting an aliased namespace) live in
//! `ferry-store/src/aliases.rs`; these handlers resolve the target the body names and map
//! the answers.
//!
//! A namespace named `aliases` is shadowed in paths by these routes (as one named `list` is by
//! `POST /v1/namespaces/list`); it stays reachable by its id.

use axum::extract::State;
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use ferry_store::{Alias, AliasListQuery, StoreError};
use ferry_wire::alias::{
    AliasAction, AliasTarget, CreateAliasRequest, DeleteAliasResponse, ListAliasesRequest,
    ListAliasesResponse, NamespaceAlias, UpdateAliasRequest,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::{ErrorResponse, Errors, HttpValidationError, Validate};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authenticated, InOrganization, JsonBody};
use crate::listing::{self, ListRequest, ListRoute, NoQuery, QueryBody};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/namespaces/aliases",
            list_aliases_get().post(create_alias),
        )
        .route("/v1/namespaces/aliases/list", list_aliases())
        .route(
            "/v1/namespaces/aliases/{alias_name}",
            get(get_alias).patch(update_alias).delete(delete_alias),
        )
}

pub(crate) fn alias_model(alias: Alias) -> NamespaceAlias {
    let time = ferry_store::time::from_micros;
    NamespaceAlias {
        object: "namespace_alias".into(),
        alias_name: alias.alias_name,
        namespace_id: alias.namespace_id,
        namespace_name: alias.namespace_name,
        created_at: time(alias.created_at),
        updated_at: time(alias.updated_at),
        history: alias
            .history
            .into_iter()
            .map(|h| AliasTarget {
                namespace_id: h.namespace_id,
                namespace_name: h.namespace_name,
                started_at: time(h.started_at),
                started_by: h.started_by,
                ended_at: h.ended_at.map(time),
                ended_by: h.ended_by,
                migration_id: h.migration_id,
            })
            .collect(),
    }
}

/// A target namespace deleted between its lookup and the write is the 404 of the identifier
/// the body gave, as if the lookup had missed it.
fn target_gone(identifier: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound {
            resource: "namespace",
            ..
        } => ApiError::NotFound {
            resource: "namespace",
            id: identifier.to_owned(),
        },
        other => other.into(),
    }
}

/// Create Namespace Alias (Ferry's extension): a name that resolves to a namespace.
#[utoipa::path(post, path = "/v1/namespaces/aliases", tag = "Namespace Aliases (Ferry extension)",
    request_body = CreateAliasRequest,
    responses((status = 200, body = NamespaceAlias), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn create_alias(
    State(state): State<AppState>,
    Authenticated(org): Authenticated,
    JsonBody(req): JsonBody<CreateAliasRequest>,
) -> ApiResult<Json<NamespaceAlias>> {
    let target = state
        .store
        .get_namespace(&org.internal_id, &req.namespace)
        .await?;
    let alias = state
        .store
        .create_alias(&org.internal_id, &req.alias_name, target.key)
        .await
        .map_err(target_gone(&req.namespace))?;
    Ok(Json(alias_model(alias)))
}

/// Get Namespace Alias (Ferry's extension): its namespace and the history of its targets.
#[utoipa::path(get, path = "/v1/namespaces/aliases/{alias_name}", tag = "Namespace Aliases (Ferry extension)",
    params(("alias_name" = String, Path)),
    responses((status = 200, body = NamespaceAlias), (status = 404, body = ErrorResponse)))]
async fn get_alias(
    InOrganization(state, Authenticated(org), name): InOrganization<String>,
) -> ApiResult<Json<NamespaceAlias>> {
    let alias = state.store.get_alias(&org.internal_id, &name).await?;
    Ok(Json(alias_model(alias)))
}

/// Repoint Namespace Alias (Ferry's extension): move it to another namespace, closing the
/// current history entry and opening one.
#[utoipa::path(patch, path = "/v1/namespaces/aliases/{alias_name}", tag = "Namespace Aliases (Ferry extension)",
    params(("alias_name" = String, Path)), request_body = UpdateAliasRequest,
    responses((status = 200, body = NamespaceAlias), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn update_alias(
    InOrganization(state, Authenticated(org), name): InOrganization<String>,
    JsonBody(req): JsonBody<UpdateAliasRequest>,
) -> ApiResult<Json<NamespaceAlias>> {
    // The alias first: an unknown alias is its 404, whatever the body names.
    state.store.get_alias(&org.internal_id, &name).await?;
    let target = state
        .store
        .get_namespace(&org.internal_id, &req.namespace)
        .await?;
    let alias = state
        .store
        .move_alias(&org.internal_id, &name, target.key, AliasAction::Repoint)
        .await
        .map_err(target_gone(&req.namespace))?;
    Ok(Json(alias_model(alias)))
}

/// Delete Namespace Alias (Ferry's extension); its namespace is untouched.
#[utoipa::path(delete, path = "/v1/namespaces/aliases/{alias_name}", tag = "Namespace Aliases (Ferry extension)",
    params(("alias_name" = String, Path)),
    responses((status = 200, body = DeleteAliasResponse), (status = 404, body = ErrorResponse)))]
async fn delete_alias(
    InOrganization(state, Authenticated(org), name): InOrganization<String>,
) -> ApiResult<Json<DeleteAliasResponse>> {
    let alias = state.store.delete_alias(&org.internal_id, &name).await?;
    Ok(Json(DeleteAliasResponse {
        message: format!(
            "Alias '{}' deleted; namespace '{}' is untouched",
            alias.alias_name, alias.namespace_name
        ),
        alias_name: alias.alias_name,
        namespace_id: alias.namespace_id,
        deleted: true,
    }))
}

/// List Namespace Aliases (Ferry's extension), by name.
#[utoipa::path(post, path = "/v1/namespaces/aliases/list", tag = "Namespace Aliases (Ferry extension)",
    params(PageQuery), request_body = ListAliasesRequest,
    responses((status = 200, body = ListAliasesResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
fn list_aliases() -> MethodRouter<AppState> {
    listing::post::<AliasList>()
}

/// List Namespace Aliases (Ferry's extension), by name.
#[utoipa::path(get, path = "/v1/namespaces/aliases", tag = "Namespace Aliases (Ferry extension)", params(PageQuery, AliasQuery),
    responses((status = 200, body = ListAliasesResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
fn list_aliases_get() -> MethodRouter<AppState> {
    listing::get::<AliasList>()
}

/// Query parameters of `GET /v1/namespaces/aliases`, as the list body's fields.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
struct AliasQuery {
    /// Case-insensitive substring of the alias name.
    search: Option<String>,
    /// Only the aliases pointing to this namespace now (its id or name).
    namespace: Option<String>,
}

impl Validate for AliasQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

impl QueryBody<ListAliasesRequest> for AliasQuery {
    fn into_body(self) -> ListAliasesRequest {
        ListAliasesRequest {
            search: self.search,
            namespace: self.namespace,
            ..Default::default()
        }
    }
}

struct AliasList;

impl ListRoute for AliasList {
    type Scope = Authenticated;
    type Query = NoQuery;
    type GetQuery = AliasQuery;
    type Body = ListAliasesRequest;
    type Response = ListAliasesResponse;

    async fn list(
        state: AppState,
        Authenticated(org): Authenticated,
        request: ListRequest<Self>,
    ) -> ApiResult<ListAliasesResponse> {
        let page = request.page()?;
        // A namespace filter names a namespace as a body does: one that does not exist is
        // its 404, not an empty page.
        let target = match &request.body.namespace {
            Some(identifier) => Some(
                state
                    .store
                    .get_namespace(&org.internal_id, identifier)
                    .await?
                    .key,
            ),
            None => None,
        };
        let (aliases, total) = state
            .store
            .list_aliases(
                &org.internal_id,
                &AliasListQuery {
                    search: request.body.search.clone(),
                    target,
                    limit: page.limit,
                    offset: page.offset,
                },
            )
            .await?;
        let results: Vec<NamespaceAlias> = aliases.into_iter().map(alias_model).collect();
        Ok(ListAliasesResponse {
            pagination: page.pagination(results.len(), total),
            results,
        })
    }
}
