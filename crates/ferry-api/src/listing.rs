//! One way to serve a list endpoint: `POST …/list` with a body and `GET …` with query
//! parameters only, both answering one window of results ([`Page`]).
//!
//! A resource describes its list once, as a [`ListRoute`]: who may call it (`Scope`), the
//! query parameters both routes read beyond paging (`Query`), those only the `GET` route reads
//! (`GetQuery`, turned into a body by its [`QueryBody`]), its body (a
//! [`ListBody`], which says what paging it carries), its response, and
//! [`ListRoute::list`], which answers one [`ListRequest`]. [`post`], [`get`] and
//! [`get_with_body`] build the routes. Every list extracts in the same order — scope, paging
//! query, `Query`, `GetQuery` or body — so a request with several faults reports the same one
//! first on every list.
//!
//! The OpenAPI description of a list stays with its resource, on the function that returns the
//! route, so the document lists each operation where its behaviour is written:
//!
//! ```ignore
//! /// List Buckets
//! #[utoipa::path(post, path = "/v1/buckets/list", tag = "Buckets", params(PageQuery),
//!     request_body = ListBucketsRequest, responses(…))]
//! fn list_buckets() -> MethodRouter<AppState> {
//!     listing::post::<BucketList>()
//! }
//! // in router(): .route("/v1/buckets/list", list_buckets())
//! ```
//!
//! Moving another list onto it takes three steps: implement [`ListBody`] for its body (return
//! the body's `limit`/`offset` from `paging`); write a unit struct implementing [`ListRoute`]
//! (`Scope = Authenticated` for an organization-wide list, `(NamespaceScope, Path<String>)`
//! for a list under a parent); and call `request.page()?` in `list` where the window is
//! needed. Every list also reads [`PageQuery`]; its values are validated (bounds), and a body's
//! values win over them. The one exception is a list whose contract declares no query
//! parameters (the migrations list): it sets [`ListRoute::READS_QUERY`] to `false`, and its
//! query string is not read at all.

use std::future::Future;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::MethodRouter;
use axum::Json;
use ferry_store::{NamedListQuery, SortColumn};
use ferry_wire::filter::SortOption;
use ferry_wire::paging::PageQuery;
use ferry_wire::{Errors, Validate};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::paging::{sort_column, BodyPaging, Page};
use crate::AppState;

/// The body of a list request.
pub trait ListBody: DeserializeOwned + Validate + Default + Send + 'static {
    /// The paging values the body carries; they win over the query's. None by default.
    fn paging(&self) -> BodyPaging {
        BodyPaging::default()
    }
}

/// A list endpoint: what it reads and how it answers.
pub trait ListRoute: Send + Sync + 'static {
    /// Who may list, extracted first: [`crate::extract::NamespaceScope`],
    /// [`crate::extract::Authenticated`], or a tuple with the parent's `Path`.
    type Scope: FromRequestParts<AppState> + Send + 'static;
    /// Query parameters beyond paging that both routes read ([`NoQuery`] when none).
    type Query: DeserializeOwned + Validate + Default + Send + 'static;
    /// Query parameters only the `GET` route reads, in place of a body ([`NoQuery`] when none,
    /// [`SearchQuery`] for a body's `search`).
    type GetQuery: DeserializeOwned + Validate + Default + Send + QueryBody<Self::Body> + 'static;
    type Body: ListBody;
    type Response: Serialize + Send + 'static;

    /// Whether the routes read the query string (paging, `Query`, `GetQuery`). A list whose
    /// contract declares no query parameters sets it to `false`: its query string is ignored,
    /// and each of those values is its default.
    const READS_QUERY: bool = true;

    /// Answers one list request.
    fn list(
        state: AppState,
        scope: Self::Scope,
        request: ListRequest<Self>,
    ) -> impl Future<Output = ApiResult<Self::Response>> + Send;
}

/// What a list request asked for.
pub struct ListRequest<L: ListRoute + ?Sized> {
    pub paging: PageQuery,
    pub query: L::Query,
    pub body: L::Body,
}

impl<L: ListRoute + ?Sized> ListRequest<L> {
    /// The window asked for: the body's paging, else the query's (see [`Page::resolve`]).
    pub fn page(&self) -> ApiResult<Page> {
        Page::resolve(&self.paging, self.body.paging())
    }
}

impl<L: ListRoute + ?Sized> ListRequest<L>
where
    L::Body: NamedListBody,
{
    /// The window, and the store query, of a named resource's list ordered by one of
    /// `columns` (see [`sort_column`]).
    pub fn named(&self, columns: &[SortColumn]) -> ApiResult<(Page, NamedListQuery)> {
        let page = self.page()?;
        let body = &self.body;
        let (sorts, sort) = body.sorts();
        let query = NamedListQuery {
            search: body.search().map(str::to_owned),
            case_sensitive: body.case_sensitive(),
            sort: sort_column(sorts, sort, columns)?,
            limit: page.limit,
            offset: page.offset,
        };
        Ok((page, query))
    }
}

/// The list body of a named resource (collections, retrievers, taxonomies, clusters): a
/// search over id, name and description, and a sort by column.
pub trait NamedListBody {
    fn search(&self) -> Option<&str>;
    fn case_sensitive(&self) -> bool;
    /// The body's `sorts` and `sort` (see [`crate::paging::chosen_sort`]).
    fn sorts(&self) -> (Option<&Vec<SortOption>>, Option<&SortOption>);
}

/// Implements [`NamedListBody`] for bodies with `search`, `sorts` and `sort`, and
/// `case_sensitive` unless marked `case_insensitive` (their search always is).
macro_rules! named_list_bodies {
    ($($body:ty $(: $case_insensitive:ident)?),* $(,)?) => {$(
        impl NamedListBody for $body {
            fn search(&self) -> Option<&str> {
                self.search.as_deref()
            }
            fn case_sensitive(&self) -> bool {
                named_list_bodies!(@case self $(, $case_insensitive)?)
            }
            fn sorts(&self) -> (Option<&Vec<SortOption>>, Option<&SortOption>) {
                (self.sorts.as_ref(), self.sort.as_ref())
            }
        }
    )*};
    (@case $self:ident) => { $self.case_sensitive };
    (@case $self:ident, case_insensitive) => { false };
}

named_list_bodies!(
    ferry_wire::collection::ListCollectionsRequest,
    ferry_wire::retriever::ListRetrieversRequest,
    ferry_wire::taxonomy::ListTaxonomiesRequest,
    ferry_wire::cluster::ListClustersRequest: case_insensitive,
);

/// The list body a `GET` list's query parameters stand for.
pub trait QueryBody<B> {
    fn into_body(self) -> B;
}

/// A list body with a `search` field.
pub trait Searchable: Default {
    /// The body that searches for `search` and leaves everything else at its default.
    fn searching(search: Option<String>) -> Self;
}

/// Query parameters of a list that reads none beyond paging.
#[derive(Debug, Default, Deserialize)]
pub struct NoQuery {}

impl Validate for NoQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

impl<B: Default> QueryBody<B> for NoQuery {
    fn into_body(self) -> B {
        B::default()
    }
}

/// The query parameters of a `GET` list that searches: `search`, as the body's `search`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct SearchQuery {
    pub search: Option<String>,
}

impl Validate for SearchQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

impl<B: Searchable> QueryBody<B> for SearchQuery {
    fn into_body(self) -> B {
        B::searching(self.search)
    }
}

impl QueryBody<ferry_wire::collection::ListCollectionsRequest>
    for ferry_wire::collection::ListCollectionsQuery
{
    fn into_body(self) -> ferry_wire::collection::ListCollectionsRequest {
        Searchable::searching(self.search)
    }
}

/// Implements [`Searchable`] for bodies whose `search` field is what `GET`'s `search` sets.
macro_rules! searchable_bodies {
    ($($body:ty),* $(,)?) => {$(
        impl Searchable for $body {
            fn searching(search: Option<String>) -> Self {
                Self { search, ..Default::default() }
            }
        }
    )*};
}

searchable_bodies!(
    ferry_wire::collection::ListCollectionsRequest,
    ferry_wire::cluster::ListClustersRequest,
    ferry_wire::retriever::ListRetrieversRequest,
    ferry_wire::evaluation::ListEvaluationsRequest,
);

/// `POST …/list`: paging query and body.
pub fn post<L: ListRoute>() -> MethodRouter<AppState> {
    axum::routing::post(with_body::<L>)
}

/// `GET …`: query parameters only.
pub fn get<L: ListRoute>() -> MethodRouter<AppState> {
    axum::routing::get(from_query::<L>)
}

/// A `GET` that reads a body as `POST …/list` does (an SDK that sends one on a GET).
pub fn get_with_body<L: ListRoute>() -> MethodRouter<AppState> {
    axum::routing::get(with_body::<L>)
}

/// Query parameters of type `T` of the list `L`: read and validated, or `T`'s default when `L`
/// reads no query string.
struct ListQuery<L, T>(T, PhantomData<L>);

impl<L, T> FromRequestParts<AppState> for ListQuery<L, T>
where
    L: ListRoute,
    T: DeserializeOwned + Validate + Default + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = if L::READS_QUERY {
            QueryParams::<T>::from_request_parts(parts, state).await?.0
        } else {
            T::default()
        };
        Ok(ListQuery(value, PhantomData))
    }
}

async fn with_body<L: ListRoute>(
    State(state): State<AppState>,
    scope: L::Scope,
    ListQuery(paging, _): ListQuery<L, PageQuery>,
    ListQuery(query, _): ListQuery<L, L::Query>,
    JsonBody(body): JsonBody<L::Body>,
) -> ApiResult<Json<L::Response>> {
    let request = ListRequest {
        paging,
        query,
        body,
    };
    L::list(state, scope, request).await.map(Json)
}

async fn from_query<L: ListRoute>(
    State(state): State<AppState>,
    scope: L::Scope,
    ListQuery(paging, _): ListQuery<L, PageQuery>,
    ListQuery(query, _): ListQuery<L, L::Query>,
    ListQuery(get_query, _): ListQuery<L, L::GetQuery>,
) -> ApiResult<Json<L::Response>> {
    let request = ListRequest {
        paging,
        query,
        body: get_query.into_body(),
    };
    L::list(state, scope, request).await.map(Json)
}

/// Implements [`ListBody`] for bodies that carry the four paging fields the SDK sends.
macro_rules! paged_bodies {
    ($($body:ty),* $(,)?) => {$(
        impl ListBody for $body {
            fn paging(&self) -> BodyPaging {
                BodyPaging {
                    limit: self.limit,
                    page_size: self.page_size,
                    offset: self.offset,
                    page: self.page,
                }
            }
        }
    )*};
}

paged_bodies!(
    ferry_wire::namespace::ListNamespacesRequest,
    ferry_wire::bucket::ListBucketsRequest,
    ferry_wire::collection::ListCollectionsRequest,
    ferry_wire::cluster::ListClustersRequest,
    ferry_wire::taxonomy::ListTaxonomiesRequest,
    ferry_wire::alias::ListAliasesRequest,
    ferry_wire::evaluation::ListEvaluationsRequest,
);

/// Bodies without paging: the query pages them.
macro_rules! unpaged_bodies {
    ($($body:ty),* $(,)?) => {$(
        impl ListBody for $body {}
    )*};
}

unpaged_bodies!(
    ferry_wire::object::ListObjectsRequest,
    ferry_wire::retriever::ListRetrieversRequest,
    ferry_wire::retriever::ListExecutionsRequest,
    ferry_wire::retriever::ListInteractionsRequest,
    ferry_wire::cluster::ListClusterExecutionsRequest,
    ferry_wire::task::ListTasksRequest,
);

impl ListBody for ferry_wire::document::ListDocumentsRequest {
    fn paging(&self) -> BodyPaging {
        BodyPaging {
            limit: self.limit,
            offset: self.offset,
            ..Default::default()
        }
    }
}

impl ListBody for ferry_wire::migration::ListMigrationsRequest {
    fn paging(&self) -> BodyPaging {
        BodyPaging {
            limit: Some(self.limit),
            offset: Some(self.offset),
            ..Default::default()
        }
    }
}
