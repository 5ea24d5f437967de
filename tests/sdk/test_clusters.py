"""Clusters through the official SDK, unmodified: create, execute as a task, read the
execution history, list, patch, delete, and a bad reference refused naming the id."""

import time

import pytest
from mixpeek.api.bucket_objects_api import BucketObjectsApi
from mixpeek.api.buckets_api import BucketsApi
from mixpeek.api.cluster_executions_api import ClusterExecutionsApi
from mixpeek.api.clusters_api import ClustersApi
from mixpeek.api.collections_api import CollectionsApi
from mixpeek.api.tasks_api import TasksApi
from mixpeek.exceptions import ApiException
from mixpeek.models.bucket_create_request import BucketCreateRequest
from mixpeek.models.cluster_execution_result import ClusterExecutionResult
from mixpeek.models.cluster_metadata import ClusterMetadata
from mixpeek.models.cluster_model import ClusterModel
from mixpeek.models.create_cluster_request import CreateClusterRequest
from mixpeek.models.create_collection_request import CreateCollectionRequest
from mixpeek.models.create_objects_batch_request import CreateObjectsBatchRequest
from mixpeek.models.list_cluster_executions_request import ListClusterExecutionsRequest
from mixpeek.models.list_cluster_executions_response import ListClusterExecutionsResponse
from mixpeek.models.list_clusters_request import ListClustersRequest
from mixpeek.models.list_clusters_response import ListClustersResponse
from mixpeek.models.patch_cluster_request import PatchClusterRequest
from mixpeek.models.task_response import TaskResponse

FEATURE = "mixpeek://text_extractor@v1/text_embedding"
TOPICS = {
    "football": ["goalkeeper", "penalty", "striker", "stadium", "referee", "midfield"],
    "baking": ["flour", "yeast", "dough", "oven", "knead", "butter"],
    "astronomy": ["telescope", "galaxy", "nebula", "comet", "orbit", "quasar"],
}


def wait_for(client, task_id):
    for _ in range(600):
        task = TasksApi(client).get_task(task_id)
        if task.status.value in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"):
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


def seed_collection(client):
    BucketsApi(client).create_bucket(
        BucketCreateRequest.from_dict(
            {
                "bucket_name": "texts-bucket",
                "bucket_schema": {
                    "properties": {"topic": {"type": "string"}, "content": {"type": "text"}}
                },
            }
        )
    )
    objects = []
    for topic, words in TOPICS.items():
        for i in range(4):
            text = " ".join(words[i:] + words[:i])
            objects.append(
                {
                    "topic": topic,
                    "blobs": [{"property": "content", "type": "text", "data": text}],
                }
            )
    BucketObjectsApi(client).create_objects_batch_buckets(
        "texts-bucket", CreateObjectsBatchRequest.from_dict({"objects": objects})
    )
    collections = CollectionsApi(client)
    collection = collections.create_collection(
        CreateCollectionRequest.from_dict(
            {
                "collection_name": "texts",
                "source": {"type": "bucket", "bucket_ids": ["texts-bucket"]},
                "feature_extractor": {
                    "feature_extractor_name": "text_extractor",
                    "version": "v1",
                    "input_mappings": {"text": "content"},
                    "field_passthrough": [{"source_path": "topic"}],
                },
            }
        )
    )
    trigger = collections.trigger_collection("texts")
    assert wait_for(client, trigger.task_id).status.value == "COMPLETED"
    return collection.collection_id


def test_clusters_through_the_sdk(scoped_client):
    collection_id = seed_collection(scoped_client)
    clusters = ClustersApi(scoped_client)

    created = clusters.create_cluster(
        CreateClusterRequest.from_dict(
            {
                "collection_ids": [collection_id],
                "cluster_name": "sdk-topics",
                "vector_config": {
                    "feature_uris": [FEATURE],
                    "clustering_method": "kmeans",
                    "kmeans_parameters": {"n_clusters": 3, "random_state": 3},
                },
            }
        )
    )
    assert isinstance(created, ClusterMetadata)
    assert created.cluster_id.startswith("clust_")
    assert created.cluster_name == "sdk-topics"
    assert created.input_collections == [collection_id]
    assert created.feature_uris == [FEATURE]
    assert created.algorithm == "kmeans"

    task = clusters.execute_clustering_clusters(created.cluster_id)
    assert isinstance(task, TaskResponse)
    assert task.task_type.value == "engine_cluster_build"
    done = wait_for(scoped_client, task.task_id)
    assert done.status.value == "COMPLETED", done.error

    executions = ClusterExecutionsApi(scoped_client)
    latest = executions.get_cluster_execution(created.cluster_id, include_vectors=True)
    assert isinstance(latest, ClusterExecutionResult)
    assert latest.status == "completed"
    assert latest.num_clusters == 3
    assert latest.num_points == 12
    assert sorted(c.cluster_id for c in latest.centroids) == ["cl_0", "cl_1", "cl_2"]
    assert all(c.num_members == 4 for c in latest.centroids)
    assert all(len(c.centroid_vector) == 384 for c in latest.centroids)

    history = executions.list_cluster_executions(
        created.cluster_id, include_total=True, list_cluster_executions_request=ListClusterExecutionsRequest()
    )
    assert isinstance(history, ListClusterExecutionsResponse)
    assert history.total_count == 1
    assert history.results[0].run_id == latest.run_id

    got = clusters.get_cluster(created.cluster_id)
    assert got.status.value == "COMPLETED"
    assert got.num_documents_clustered == 12
    assert got.last_run_id == latest.run_id

    listed = clusters.list_clusters(list_clusters_request=ListClustersRequest(search="sdk"))
    assert isinstance(listed, ListClustersResponse)
    assert [c.cluster_id for c in listed.results] == [created.cluster_id]

    patched = clusters.patch_cluster(
        created.cluster_id, PatchClusterRequest(cluster_name="sdk-topics-2", sample_size=1000)
    )
    assert isinstance(patched, ClusterModel)
    assert patched.cluster_name == "sdk-topics-2"
    assert patched.vector_config.sample_size == 1000
    assert patched.parquet_path.endswith("assignments.parquet")

    clusters.delete_cluster(created.cluster_id)
    with pytest.raises(ApiException) as missing:
        clusters.get_cluster(created.cluster_id)
    assert missing.value.status == 404


def test_a_missing_collection_is_refused_by_id(scoped_client):
    with pytest.raises(ApiException) as refused:
        ClustersApi(scoped_client).create_cluster(
            CreateClusterRequest.from_dict(
                {
                    "collection_ids": ["col_nowhere"],
                    "vector_config": {"feature_uris": [FEATURE], "clustering_method": "kmeans"},
                }
            )
        )
    assert refused.value.status == 400
    assert "col_nowhere" in refused.value.body
    assert '"collection_not_found"' in refused.value.body
