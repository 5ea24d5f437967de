"""Namespace aliases (Ferry's extension) through the official SDK, unmodified.

The SDK knows nothing of aliases, so they are created and moved with its raw client
(`param_serialize`, `call_api`), each answer checked against the served `/openapi.json`.
The point is what follows: the SDK's typed data calls, with an alias as their `X-Namespace`
(the client's `NamespaceHeader` setting), land in the namespace the alias points to, and
follow it when it moves.
"""

import mixpeek
import pytest
from mixpeek.api.bucket_objects_api import BucketObjectsApi
from mixpeek.api.buckets_api import BucketsApi
from mixpeek.api.namespaces_api import NamespacesApi
from mixpeek.exceptions import ApiException
from mixpeek.models.bucket_create_request import BucketCreateRequest
from mixpeek.models.create_namespace_request import CreateNamespaceRequest
from mixpeek.models.create_object_request import CreateObjectRequest
from mixpeek.models.error_response import ErrorResponse
from mixpeek.models.list_buckets_request import ListBucketsRequest

from conftest import API_KEY
from test_evaluations import call, check, openapi

ALIASES = "/v1/namespaces/aliases"
ONE = "/v1/namespaces/aliases/{alias_name}"


def namespaced(ferry, namespace):
    """An SDK client whose requests carry `X-Namespace: <namespace>`."""
    config = mixpeek.Configuration(
        host=ferry.base_url, access_token=API_KEY, api_key={"NamespaceHeader": namespace}
    )
    return mixpeek.ApiClient(config)


def make_bucket(client, name):
    return BucketsApi(client).create_bucket(
        BucketCreateRequest.from_dict(
            {"bucket_name": name, "bucket_schema": {"properties": {"title": {"type": "string"}}}}
        )
    )


def bucket_names(client):
    listed = BucketsApi(client).list_buckets(list_buckets_request=ListBucketsRequest())
    return sorted(b.bucket_name for b in listed.results)


def test_data_calls_through_an_alias_follow_it(ferry, api_client):
    doc = openapi(ferry)
    namespaces = NamespacesApi(api_client)
    v1 = namespaces.create_namespace(CreateNamespaceRequest(namespace_name="store-v1"))
    v2 = namespaces.create_namespace(CreateNamespaceRequest(namespace_name="store-v2"))

    status, alias = call(
        api_client, "POST", ALIASES, {"alias_name": "store", "namespace": "store-v1"}
    )
    assert status == 200, alias
    check(doc, ALIASES, "post", status, alias)
    assert alias["namespace_id"] == v1.namespace_id

    via_alias, via_v1, via_v2 = (namespaced(ferry, n) for n in ("store", "store-v1", "store-v2"))
    with via_alias, via_v1, via_v2:
        # Written through the alias, read back through the real name.
        make_bucket(via_alias, "products")
        created = BucketObjectsApi(via_alias).create_object_buckets(
            "products", CreateObjectRequest.from_dict({"title": "kettle"})
        )
        fetched = BucketObjectsApi(via_v1).get_object_buckets("products", created.object_id)
        assert fetched.additional_properties["title"] == "kettle"
        assert bucket_names(via_v1) == ["products"]
        # A namespace path takes the alias too.
        assert namespaces.get_namespace("store").namespace_id == v1.namespace_id

        status, moved = call(
            api_client, "PATCH", ONE, {"namespace": "store-v2"}, path_params={"alias_name": "store"}
        )
        assert status == 200, moved
        check(doc, ONE, "patch", status, moved)
        assert [h["namespace_id"] for h in moved["history"]] == [
            v1.namespace_id,
            v2.namespace_id,
        ]
        assert moved["history"][0]["ended_by"] == "repoint"

        # The same client, unchanged, now reaches store-v2.
        assert bucket_names(via_alias) == []
        with pytest.raises(ApiException) as gone:
            BucketObjectsApi(via_alias).get_object_buckets("products", created.object_id)
        assert gone.value.status == 404
        make_bucket(via_alias, "fresh")
        assert bucket_names(via_v2) == ["fresh"]
        assert bucket_names(via_v1) == ["products"]

    status, got = call(api_client, "GET", ONE, path_params={"alias_name": "store"})
    assert status == 200
    check(doc, ONE, "get", status, got)
    assert got == moved
    status, listed = call(api_client, "GET", ALIASES)
    assert status == 200
    check(doc, ALIASES, "get", status, listed)
    assert [a["alias_name"] for a in listed["results"]] == ["store"]

    # One name space: the SDK's own namespace creation is refused an alias's name.
    with pytest.raises(ApiException) as taken:
        namespaces.create_namespace(CreateNamespaceRequest(namespace_name="store"))
    assert taken.value.status == 400
    assert ErrorResponse.from_json(taken.value.body).error.code == "alias_name_taken"
    # And a namespace an alias points to is not deleted under it.
    with pytest.raises(ApiException) as refused:
        namespaces.delete_namespace("store-v2")
    assert ErrorResponse.from_json(refused.value.body).error.code == "namespace_aliased"

    status, deleted = call(api_client, "DELETE", ONE, path_params={"alias_name": "store"})
    assert status == 200
    check(doc, ONE, "delete", status, deleted)
    status, missing = call(api_client, "GET", ONE, path_params={"alias_name": "store"})
    assert status == 404 and missing["error"]["code"] == "alias_not_found"
    namespaces.delete_namespace("store-v2")
