"""The official SDK (mixpeek==1.3.783), unmodified, drives Ferry's namespace endpoints.

Every response is deserialized by the SDK's own models; raw bodies are also checked to carry
no key the SDK's model does not declare, so Ferry sends nothing a client cannot read.
"""

import json

import mixpeek
import pytest
import urllib3
from mixpeek.api.health_api import HealthApi
from mixpeek.api.namespaces_api import NamespacesApi
from mixpeek.exceptions import ApiException
from mixpeek.models.base_feature_extractor_model_input import BaseFeatureExtractorModelInput
from mixpeek.models.create_namespace_request import CreateNamespaceRequest
from mixpeek.models.error_response import ErrorResponse
from mixpeek.models.http_validation_error import HTTPValidationError
from mixpeek.models.list_namespaces_request import ListNamespacesRequest
from mixpeek.models.list_namespaces_response import ListNamespacesResponse
from mixpeek.models.namespace_model import NamespaceModel
from mixpeek.models.patch_namespace_request import PatchNamespaceRequest
from mixpeek.models.payload_index_config_input import PayloadIndexConfigInput
from mixpeek.models.update_namespace_request import UpdateNamespaceRequest

from conftest import API_KEY


def declared(model):
    return set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}


def assert_only_declared_keys(raw, model):
    extra = set(raw) - declared(model)
    assert not extra, f"{model.__name__} does not declare {sorted(extra)}"


def error_of(exc: ApiException) -> ErrorResponse:
    body = ErrorResponse.from_json(exc.body)
    assert body.success is False and body.status == exc.status
    return body


def raw(ferry, method, path, body=None, key=API_KEY):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    response = urllib3.request(method, ferry.base_url + path, body=data, headers=headers)
    return response.status, response.json() if response.data else None


def test_namespace_lifecycle_through_the_sdk(api_client, ferry):
    api = NamespacesApi(api_client)
    created = api.create_namespace(
        CreateNamespaceRequest(
            namespace_name="sdk-catalog",
            description="made by the SDK",
            feature_extractors=[
                BaseFeatureExtractorModelInput(feature_extractor_name="text_extractor", version="v1")
            ],
            payload_indexes=[PayloadIndexConfigInput(field_name="sku", type="keyword")],
        )
    )
    assert isinstance(created, NamespaceModel)
    assert created.namespace_id.startswith("ns_")
    assert created.namespace_name == "sdk-catalog"
    assert created.feature_extractors[0].feature_extractor_id == "text_extractor_v1"
    assert created.payload_indexes[0].field_name == "sku"
    assert created.document_count == 0 and created.namespace_ready is True

    by_id = api.get_namespace(created.namespace_id)
    by_name = api.get_namespace("sdk-catalog")
    assert by_id == by_name == created

    patched = api.patch_namespace(
        created.namespace_id,
        PatchNamespaceRequest(namespace_name="sdk-catalog-2", description="patched"),
    )
    assert patched.namespace_name == "sdk-catalog-2"
    assert patched.description == "patched"
    assert patched.updated_at > created.updated_at

    updated = api.update_namespace(
        "sdk-catalog-2",
        UpdateNamespaceRequest(
            payload_indexes=[PayloadIndexConfigInput(field_name="price", type="float")]
        ),
    )
    assert [p.field_name for p in updated.payload_indexes] == ["price"]

    api.create_namespace(CreateNamespaceRequest(namespace_name="sdk-second"))
    listed = api.list_namespaces(
        include_total=True,
        list_namespaces_request=ListNamespacesRequest(
            limit=1, sort={"field": "namespace_name", "direction": "asc"}
        ),
    )
    assert isinstance(listed, ListNamespacesResponse)
    assert listed.total_count == 2 and listed.pagination.total == 2
    assert [n.namespace_name for n in listed.results] == ["sdk-catalog-2"]
    assert listed.pagination.next_cursor
    following = api.list_namespaces(
        cursor=listed.pagination.next_cursor,
        limit=1,
        list_namespaces_request=ListNamespacesRequest(
            sort={"field": "namespace_name", "direction": "asc"}
        ),
    )
    assert [n.namespace_name for n in following.results] == ["sdk-second"]
    via_get = api.list_namespaces_get(limit=10)
    assert via_get.total_count == 2
    assert {n.namespace_name for n in via_get.results} == {"sdk-catalog-2", "sdk-second"}

    deleted = api.delete_namespace(created.namespace_id)
    assert deleted["namespace_id"] == created.namespace_id
    with pytest.raises(ApiException) as missing:
        api.get_namespace(created.namespace_id)
    assert missing.value.status == 404
    assert error_of(missing.value).error.type == "NotFoundError"

    # Raw bodies carry only keys the SDK's models declare.
    status, body = raw(ferry, "GET", "/v1/namespaces/sdk-second")
    assert status == 200
    assert_only_declared_keys(body, NamespaceModel)
    status, body = raw(ferry, "POST", "/v1/namespaces/list", {})
    assert status == 200
    assert_only_declared_keys(body, ListNamespacesResponse)


def test_errors_validate_as_the_sdk_reads_them(api_client, ferry):
    api = NamespacesApi(api_client)
    api.create_namespace(CreateNamespaceRequest(namespace_name="taken"))
    with pytest.raises(ApiException) as taken:
        api.create_namespace(CreateNamespaceRequest(namespace_name="taken"))
    assert taken.value.status == 400
    assert error_of(taken.value).error.code == "namespace_name_taken"

    bad_key = mixpeek.ApiClient(mixpeek.Configuration(host=ferry.base_url, access_token="sk_wrong"))
    with pytest.raises(ApiException) as unauthorized:
        NamespacesApi(bad_key).get_namespace("taken")
    assert unauthorized.value.status == 401
    assert error_of(unauthorized.value).error.type == "AuthenticationError"

    # A 422 validates both as the spec's HTTPValidationError and as the SDK's ErrorResponse.
    status, body = raw(ferry, "POST", "/v1/namespaces", {"namespace_name": "fine", "bogus": 1})
    assert status == 422
    assert [(d["loc"], d["type"]) for d in body["detail"]] == [(["body", "bogus"], "extra_forbidden")]
    detail = HTTPValidationError.from_dict(body).detail
    assert [(d.error_code, d.severity) for d in detail] == [("extra_forbidden", "error")]
    assert body["error"]["details"]["validation_errors"] == body["detail"]
    as_sdk_error = ErrorResponse.from_dict(body)
    assert as_sdk_error.status == 422 and as_sdk_error.error.type == "ValidationError"

    status, body = raw(ferry, "POST", "/v1/namespaces/list", {"limit": 5000})
    assert status == 422
    assert [d["loc"] for d in body["detail"]] == [["body", "limit"]]
    assert HTTPValidationError.from_dict(body).detail[0].error_code == "less_than_equal"


def test_health_through_the_sdk(api_client):
    health = HealthApi(api_client).healthcheck_health()
    assert health["status"] == "OK"
