"""Evaluation sets (Ferry's extension) through the official SDK's own client, unmodified.

The SDK declares another resource at `/v1/retrievers/{id}/evaluations` (Mixpeek's evaluation
runs), so its typed methods cannot carry Ferry's bodies; its raw client (`param_serialize`,
`call_api`) can, with its authentication and `X-Namespace` settings. Every response is checked
against the served `/openapi.json`, and the migration that carries the set along is driven and
read through the SDK's typed migration API, whose models must still accept the response.
"""

import json
import time
import urllib.request

import jsonschema_rs
from mixpeek.api.collection_documents_api import CollectionDocumentsApi
from mixpeek.api.namespace_migrations_api import NamespaceMigrationsApi
from mixpeek.models.create_migration_request import CreateMigrationRequest
from mixpeek.models.get_migration_response import GetMigrationResponse
from mixpeek.models.list_documents_request import ListDocumentsRequest
from mixpeek.models.start_migration_request import StartMigrationRequest

from test_clusters import seed_collection
from test_retrievers import create_retriever, search_stage

AUTH = ["NamespaceHeader", "BearerAuth"]


def openapi(ferry):
    with urllib.request.urlopen(f"{ferry.base_url}/openapi.json") as response:
        return json.load(response)


def check(doc, path, method, status, body):
    """`body` validates against what `/openapi.json` documents for this answer."""
    operation = doc["paths"][path][method]
    assert operation.get("x-ferry-extension") is True, (path, method)
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator(
        {**schema, "components": doc["components"]}
    )
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, (path, method, status, errors, body)


def call(client, method, path, body=None, path_params=None, namespace=None):
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if namespace:
        headers["X-Namespace"] = namespace
    params = client.param_serialize(
        method=method,
        resource_path=path,
        path_params=path_params or {},
        header_params=headers,
        body=body,
        # The client's own X-Namespace (its `NamespaceHeader` setting) would replace another.
        auth_settings=["BearerAuth"] if namespace else AUTH,
    )
    response = client.call_api(*params)
    response.read()
    return response.status, json.loads(response.data or b"null")


def test_evaluation_sets_through_the_sdk_client_follow_a_re_extract(ferry, scoped_client):
    doc = openapi(ferry)
    collection = "/v1/retrievers/{retriever_id}/evaluations"
    one = "/v1/retrievers/{retriever_id}/evaluations/{evaluation_id}"
    seed_collection(scoped_client)
    create_retriever(
        scoped_client,
        "sdk-search",
        ["texts"],
        [search_stage(10)],
        {"query": {"type": "text", "required": True}},
    )
    docs = CollectionDocumentsApi(scoped_client).list_documents(
        "texts", limit=100, list_documents_request=ListDocumentsRequest.from_dict({})
    ).results
    astronomy = [d for d in docs if d.to_dict().get("topic") == "astronomy"]
    assert astronomy, docs
    first = astronomy[0].to_dict()
    body = {
        "evaluation_name": "golden",
        "queries": [
            {
                "query_id": "stars",
                "inputs": {"query": "galaxy nebula"},
                "relevant": [
                    {"document_id": first["document_id"], "grade": 2},
                    {"object_id": astronomy[1].to_dict()["_internal"]["lineage"]["source_object_id"]},
                ],
            }
        ],
    }
    ids = {"retriever_id": "sdk-search"}
    status, created = call(scoped_client, "POST", collection, body, ids)
    assert status == 200, created
    check(doc, collection, "post", 200, created)
    assert created["judgment_count"] == 2

    status, listed = call(scoped_client, "GET", collection, None, ids)
    assert status == 200, listed
    check(doc, collection, "get", 200, listed)
    assert [s["evaluation_name"] for s in listed["results"]] == ["golden"]
    status, got = call(
        scoped_client, "GET", one, None, {**ids, "evaluation_id": created["evaluation_id"]}
    )
    assert status == 200 and got == created, got
    check(doc, one, "get", 200, got)

    bad = {**body, "queries": [{**body["queries"][0], "relevant": [{"object_id": "x", "grade": 0}]}]}
    status, refused = call(scoped_client, "POST", collection, bad, ids)
    assert status == 422, refused
    check(doc, collection, "post", 422, refused)
    assert refused["detail"][0]["loc"] == ["body", "queries", 0, "relevant", 0, "grade"]
    status, refused = call(scoped_client, "POST", collection, body, ids)
    assert status == 400 and refused["error"]["code"] == "evaluation_name_taken", refused
    check(doc, collection, "post", 400, refused)

    # A re_extract v1 → v2, through the SDK's typed migration API: the set is scored on both
    # sides and copied; the SDK's model still accepts the migration.
    migrations = NamespaceMigrationsApi(scoped_client)
    created_migration = migrations.create_migration_namespaces(
        CreateMigrationRequest.from_dict(
            {
                "config": {
                    "migration_type": "re_extract",
                    "source_namespace_id": "sdk-data",
                    "target_namespace_name": "sdk-data-v2",
                    "feature_extractors": [
                        {"feature_extractor_name": "text_extractor", "version": "v2"}
                    ],
                }
            }
        )
    )
    migrations.start_migration_namespaces(
        created_migration.migration_id, StartMigrationRequest(force=True)
    )
    for _ in range(600):
        migration = migrations.get_migration_namespaces(created_migration.migration_id)
        if migration.status.value in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert isinstance(migration, GetMigrationResponse)
    assert migration.status.value == "completed", migration.error_message
    report = migration.additional_data["benchmark"][0]
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/RetrieverBenchmark", "components": doc["components"]}
    )
    assert validator.is_valid(report), list(e.message for e in validator.iter_errors(report))
    figures = report["evaluation_sets"][0]
    assert figures["evaluation_name"] == "golden" and figures["queries"] == 1
    for side in ("source", "target"):
        assert 0 < figures[side]["recall_at_k"] <= 1, figures
    assert migration.additional_data["evaluation_sets_copied"] == 1

    status, copied = call(scoped_client, "GET", collection, None, ids, namespace="sdk-data-v2")
    assert status == 200, copied
    check(doc, collection, "get", 200, copied)
    (copy,) = copied["results"]
    assert copy["evaluation_name"] == "golden"
    assert copy["queries"][0]["relevant"][0]["document_id"] != first["document_id"]

    status, deleted = call(
        scoped_client, "DELETE", one, None, {**ids, "evaluation_id": "golden"}
    )
    assert status == 200 and deleted["deleted"] is True, deleted
    check(doc, one, "delete", 200, deleted)
