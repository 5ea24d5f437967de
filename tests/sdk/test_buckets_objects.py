"""Buckets and objects through the official SDK, unmodified."""

import base64
import json

import pytest
import urllib3
from mixpeek.api.bucket_objects_api import BucketObjectsApi
from mixpeek.api.buckets_api import BucketsApi
from mixpeek.exceptions import ApiException
from mixpeek.models.bucket_create_request import BucketCreateRequest
from mixpeek.models.bucket_response import BucketResponse
from mixpeek.models.bucket_patch_request import BucketPatchRequest
from mixpeek.models.bucket_update_request import BucketUpdateRequest
from mixpeek.models.create_blob_request import CreateBlobRequest
from mixpeek.models.create_object_request import CreateObjectRequest
from mixpeek.models.create_objects_batch_request import CreateObjectsBatchRequest
from mixpeek.models.error_response import ErrorResponse
from mixpeek.models.list_buckets_request import ListBucketsRequest
from mixpeek.models.list_objects_request import ListObjectsRequest
from mixpeek.models.object_response import ObjectResponse
from mixpeek.models.patch_object_request import PatchObjectRequest

from conftest import API_KEY

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def make_bucket(client):
    return BucketsApi(client).create_bucket(
        BucketCreateRequest.from_dict(
            {
                "bucket_name": "sdk-bucket",
                "description": "made by the SDK",
                "bucket_schema": {
                    "properties": {
                        "title": {"type": "string", "required": True},
                        "content": {"type": "text"},
                        "thumbnail": {"type": "image"},
                    }
                },
            }
        )
    )


def test_buckets_through_the_sdk(scoped_client):
    api = BucketsApi(scoped_client)
    bucket = make_bucket(scoped_client)
    assert isinstance(bucket, BucketResponse)
    assert bucket.bucket_id.startswith("bkt_")
    assert bucket.object_count == 0 and bucket.total_size_bytes == 0
    assert api.get_bucket("sdk-bucket") == api.get_bucket(bucket.bucket_id)
    patched = api.patch_bucket(bucket.bucket_id, BucketPatchRequest(description="changed"))
    assert patched.description == "changed"
    updated = api.update_bucket(bucket.bucket_id, BucketUpdateRequest(storage_class="coldline"))
    assert updated.storage_class == "coldline" and updated.description == "changed"
    listed = api.list_buckets(include_total=True, list_buckets_request=ListBucketsRequest(limit=5))
    assert listed.total_count == 1 and listed.pagination.total == 1
    assert listed.results[0].bucket_name == "sdk-bucket"
    with pytest.raises(ApiException) as taken:
        make_bucket(scoped_client)
    assert ErrorResponse.from_json(taken.value.body).error.code == "bucket_name_taken"
    api.delete_bucket(bucket.bucket_id)
    with pytest.raises(ApiException) as gone:
        api.get_bucket(bucket.bucket_id)
    assert gone.value.status == 404


def test_objects_through_the_sdk(scoped_client, ferry):
    make_bucket(scoped_client)
    api = BucketObjectsApi(scoped_client)
    request = CreateObjectRequest.from_dict(
        {
            "title": "hello",
            "blobs": [
                {"property": "content", "type": "text", "data": "Ferry says hello."},
                {
                    "property": "thumbnail",
                    "type": "image",
                    "data": {"base64": base64.b64encode(PNG).decode(), "mime_type": "image/png"},
                },
            ],
        }
    )
    created = api.create_object_buckets("sdk-bucket", request)
    assert isinstance(created, ObjectResponse)
    assert created.object_id.startswith("obj_")
    assert created.additional_properties["title"] == "hello"
    assert [b.var_property for b in created.blobs] == ["content", "thumbnail"]
    assert created.blobs[1].details.size_bytes == len(PNG)

    fetched = api.get_object_buckets("sdk-bucket", created.object_id)
    assert fetched.object_id == created.object_id and fetched.blobs == created.blobs

    patched = api.patch_object_buckets(
        "sdk-bucket", created.object_id, PatchObjectRequest.from_dict({"title": "hello again"})
    )
    assert patched.additional_properties["title"] == "hello again"

    batch = api.create_objects_batch_buckets(
        "sdk-bucket",
        CreateObjectsBatchRequest.from_dict(
            {"objects": [{"title": f"item {i}"} for i in range(5)] + [{"nope": 1}]}
        ),
    )
    assert batch.succeeded_count == 5 and batch.failed_count == 1
    assert batch.failed[0].object_index == 5

    listed = api.list_objects_buckets(
        "sdk-bucket",
        limit=4,
        include_total=True,
        list_objects_request=ListObjectsRequest.from_dict(
            {"sort": {"field": "created_at", "direction": "asc"}}
        ),
    )
    assert listed.pagination.total == 6
    assert len(listed.results) == 4
    assert listed.results[0].object_id == created.object_id

    bucket = BucketsApi(scoped_client).get_bucket("sdk-bucket")
    assert bucket.object_count == 6
    assert bucket.total_size_bytes == len(PNG) + len("Ferry says hello.")

    api.delete_object_buckets("sdk-bucket", created.object_id)
    assert BucketsApi(scoped_client).get_bucket("sdk-bucket").object_count == 5

    # A schema violation is a 422 that reads as the SDK's ErrorResponse and names the field.
    response = urllib3.request(
        "POST",
        f"{ferry.base_url}/v1/buckets/sdk-bucket/objects",
        body=json.dumps({"title": 7}),
        headers={
            "Authorization": f"Bearer {API_KEY}",
            "X-Namespace": "sdk-data",
            "Content-Type": "application/json",
        },
    )
    assert response.status == 422
    body = response.json()
    assert ErrorResponse.from_dict(body).status == 422
    assert body["detail"][0]["loc"] == ["body", "title"]
