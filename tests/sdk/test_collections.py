"""Collections, triggers, tasks, documents and the extractor registry through the SDK."""

import time

import pytest
from mixpeek.api.bucket_objects_api import BucketObjectsApi
from mixpeek.api.buckets_api import BucketsApi
from mixpeek.api.collection_documents_api import CollectionDocumentsApi
from mixpeek.api.collections_api import CollectionsApi
from mixpeek.api.feature_extractors_api import FeatureExtractorsApi
from mixpeek.api.tasks_api import TasksApi
from mixpeek.exceptions import ApiException
from mixpeek.models.bucket_create_request import BucketCreateRequest
from mixpeek.models.create_collection_request import CreateCollectionRequest
from mixpeek.models.create_objects_batch_request import CreateObjectsBatchRequest
from mixpeek.models.error_response import ErrorResponse
from mixpeek.models.list_documents_request import ListDocumentsRequest
from mixpeek.models.list_tasks_request import ListTasksRequest


def wait_for(tasks, task_id):
    for _ in range(400):
        task = tasks.get_task(task_id)
        if task.status.value in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"):
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


def test_registry_lists_real_extractors(scoped_client):
    api = FeatureExtractorsApi(scoped_client)
    extractors = api.list_feature_extractors()
    ids = {e.feature_extractor_id for e in extractors}
    assert {"text_extractor_v1", "text_extractor_v2", "image_extractor_v1"} <= ids
    v2 = api.get_feature_extractor_by("text_extractor_v2")
    assert v2.required_vector_indexes[0].feature_uri == "mixpeek://text_extractor@v2/text_embedding"
    # The spec's VectorIndex storage fields, as the SDK's own enum and type read them.
    dense = v2.required_vector_indexes[0].index.actual_instance
    assert dense.datatype.value == "float32"
    assert dense.on_disk is False


def test_a_collection_chooses_its_vector_storage(scoped_client):
    BucketsApi(scoped_client).create_bucket(
        BucketCreateRequest.from_dict({"bucket_name": "stored", "bucket_schema": {"properties": {"body": {"type": "text"}}}})
    )
    collections = CollectionsApi(scoped_client)
    collection = collections.create_collection(
        CreateCollectionRequest.from_dict(
            {
                "collection_name": "stored-vectors",
                "source": {"type": "bucket", "bucket_ids": ["stored"]},
                "feature_extractor": {
                    "feature_extractor_name": "text_extractor",
                    "version": "v1",
                    "input_mappings": {"text": "body"},
                    # The SDK's untyped `params`: "parameters that affect vector index
                    # configuration"; its typed `parameters` is a union of other extractors'.
                    "params": {"datatype": "uint8", "on_disk": True},
                },
            }
        )
    )
    index = collections.get_collection(collection.collection_id).vector_indexes[0].index
    assert index["datatype"] == "uint8"
    assert index["on_disk"] is True


def test_trigger_turns_objects_into_documents(scoped_client):
    BucketsApi(scoped_client).create_bucket(
        BucketCreateRequest.from_dict(
            {
                "bucket_name": "notes",
                "bucket_schema": {"properties": {"title": {"type": "string"}, "body": {"type": "text"}}},
            }
        )
    )
    BucketObjectsApi(scoped_client).create_objects_batch_buckets(
        "notes",
        CreateObjectsBatchRequest.from_dict(
            {"objects": [{"title": f"n{i}", "body": f"note {i} about ferries"} for i in range(25)]}
        ),
    )
    collections = CollectionsApi(scoped_client)
    collection = collections.create_collection(
        CreateCollectionRequest.from_dict(
            {
                "collection_name": "note-vectors",
                "source": {"type": "bucket", "bucket_ids": ["notes"]},
                "feature_extractor": {
                    "feature_extractor_name": "text_extractor",
                    "version": "v1",
                    "input_mappings": {"text": "body"},
                    "field_passthrough": [{"source_path": "title"}],
                },
            }
        )
    )
    assert collection.collection_id.startswith("col_")
    trigger = collections.trigger_collection(collection.collection_id)
    assert trigger.task_id
    tasks = TasksApi(scoped_client)
    task = wait_for(tasks, trigger.task_id)
    assert task.status.value == "COMPLETED"
    assert task.additional_data["processed"] == 25

    listed = tasks.list_tasks(list_tasks_request=ListTasksRequest.from_dict({"task_type": "api_collections_trigger"}))
    assert trigger.task_id in [t.task_id for t in listed.results]

    assert collections.get_collection("note-vectors").document_count == 25
    documents = CollectionDocumentsApi(scoped_client)
    page = documents.list_documents(
        collection.collection_id, limit=10, list_documents_request=ListDocumentsRequest.from_dict({"return_vectors": True})
    )
    assert len(page.results) == 10
    first = page.results[0]
    vector = first.additional_properties["text_extractor_v1_text_embedding"]
    assert len(vector) == 384
    fetched = documents.get_document(collection.collection_id, first.document_id)
    assert fetched.document_id == first.document_id
    assert fetched.additional_properties["title"].startswith("n")

    with pytest.raises(ApiException) as missing:
        collections.create_collection(
            CreateCollectionRequest.from_dict(
                {
                    "collection_name": "broken",
                    "source": {"type": "bucket", "bucket_ids": ["notes"]},
                    "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v7"},
                }
            )
        )
    assert ErrorResponse.from_json(missing.value.body).error.code == "feature_extractor_not_found"
