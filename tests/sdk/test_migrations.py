"""Namespace migrations through the official SDK, unmodified: validate, create, start, poll
until completed, then list, cancel and delete; the target searches like the source."""

import time

import pytest
from mixpeek.api.collections_api import CollectionsApi
from mixpeek.api.namespace_migrations_api import NamespaceMigrationsApi
from mixpeek.api.retrievers_api import RetrieversApi
from mixpeek.api.tasks_api import TasksApi
from mixpeek.exceptions import ApiException
from mixpeek.models.cancel_migration_request import CancelMigrationRequest
from mixpeek.models.create_migration_request import CreateMigrationRequest
from mixpeek.models.create_migration_response import CreateMigrationResponse
from mixpeek.models.execute_retriever_request import ExecuteRetrieverRequest
from mixpeek.models.get_migration_response import GetMigrationResponse
from mixpeek.models.list_migrations_request import ListMigrationsRequest
from mixpeek.models.list_migrations_response import ListMigrationsResponse
from mixpeek.models.start_migration_request import StartMigrationRequest
from mixpeek.models.start_migration_response import StartMigrationResponse
from mixpeek.models.validate_migration_request import ValidateMigrationRequest
from mixpeek.models.validate_migration_response import ValidateMigrationResponse

from test_clusters import TOPICS, seed_collection
from test_retrievers import create_retriever, search_stage

import mixpeek


def target_client(ferry, namespace):
    config = mixpeek.Configuration(
        host=ferry.base_url,
        access_token="sk_sdk_conformance_key_000000000000000001",
        api_key={"NamespaceHeader": namespace},
    )
    return mixpeek.ApiClient(config)


def config(**extra):
    return {
        "migration_type": "copy",
        "source_namespace_id": "sdk-data",
        "target_namespace_name": "sdk-copy",
        "batch_options": {"batch_size": 5, "max_workers": 2},
        **extra,
    }


def wait_for_migration(migrations, migration_id):
    for _ in range(1200):
        migration = migrations.get_migration_namespaces(migration_id)
        if migration.status.value in ("completed", "failed", "cancelled"):
            return migration
        time.sleep(0.05)
    raise AssertionError(f"migration {migration_id} did not settle")



def clustered(client, collection):
    """A 3-cluster k-means cluster over `collection`, executed to completion."""
    from mixpeek.api.clusters_api import ClustersApi
    from mixpeek.models.create_cluster_request import CreateClusterRequest

    from test_clusters import FEATURE, wait_for

    clusters = ClustersApi(client)
    cluster = clusters.create_cluster(
        CreateClusterRequest.from_dict(
            {
                "collection_ids": [collection],
                "cluster_name": "topics",
                "vector_config": {
                    "feature_uris": [FEATURE],
                    "clustering_method": "kmeans",
                    "kmeans_parameters": {"n_clusters": 3, "random_state": 1},
                },
            }
        )
    )
    run = clusters.execute_clustering_clusters(cluster.cluster_id)
    assert wait_for(client, run.task_id).status.value == "COMPLETED"
    return cluster


def test_copy_through_the_sdk(ferry, scoped_client):
    seed_collection(scoped_client)
    create_retriever(scoped_client, "search", ["texts"], [search_stage(12)])
    migrations = NamespaceMigrationsApi(scoped_client)

    validated = migrations.validate_migration_namespaces(
        ValidateMigrationRequest.from_dict({"config": config()})
    )
    assert isinstance(validated, ValidateMigrationResponse)
    assert validated.validation_result.valid
    assert len(validated.dependency_graph.execution_order) == 3

    created = migrations.create_migration_namespaces(
        CreateMigrationRequest.from_dict({"config": config()})
    )
    assert isinstance(created, CreateMigrationResponse)
    assert created.status.value == "draft"
    started = migrations.start_migration_namespaces(
        created.migration_id, StartMigrationRequest(force=False)
    )
    assert isinstance(started, StartMigrationResponse)
    assert started.status.value == "pending"

    migration = wait_for_migration(migrations, created.migration_id)
    assert isinstance(migration, GetMigrationResponse)
    assert migration.status.value == "completed", migration.error_message
    assert migration.progress.overall_progress_percent == 100
    assert [s.stage.value for s in migration.progress.stages] == [
        "namespace_setup",
        "batch_creation",
        "batch_processing",
        "cluster_execution",
        "taxonomy_enrichment",
        "benchmark_evaluation",
        "finalization",
    ]
    assert migration.progress.stages[2].items_completed == 24
    assert migration.config.batch_options.batch_size == 5
    task = TasksApi(scoped_client).get_task(started.task_id)
    assert task.status.value == "COMPLETED"

    query = " ".join(TOPICS["astronomy"])
    with target_client(ferry, "sdk-copy") as copy:
        copied = CollectionsApi(copy).get_collection("texts")
        assert copied.document_count == 12
        source_hits = RetrieversApi(scoped_client).execute_retriever(
            "search", ExecuteRetrieverRequest(inputs={"query": query}, limit=12)
        )
        target_hits = RetrieversApi(copy).execute_retriever(
            "search", ExecuteRetrieverRequest(inputs={"query": query}, limit=12)
        )
    # Same ranking; equal scores may order differently, as ties fall back to document ids.
    assert target_hits.documents[0]["text"] == query
    assert sorted((round(d["score"], 6), d["text"]) for d in target_hits.documents) == sorted(
        (round(d["score"], 6), d["text"]) for d in source_hits.documents
    )
    assert target_hits.documents[0]["collection_id"] == copied.collection_id

    listed = migrations.list_migrations_namespaces(ListMigrationsRequest(status="completed"))
    assert isinstance(listed, ListMigrationsResponse)
    assert [m.migration_id for m in listed.results] == [created.migration_id]
    assert listed.total == 1

    with pytest.raises(ApiException) as refused:
        migrations.cancel_migration_namespaces(created.migration_id, CancelMigrationRequest())
    assert refused.value.status == 400
    assert '"InvalidStateError"' in refused.value.body
    migrations.delete_migration_namespaces(created.migration_id)
    with pytest.raises(ApiException) as missing:
        migrations.get_migration_namespaces(created.migration_id)
    assert missing.value.status == 404


def test_a_two_tier_namespace_of_ten_thousand_documents_copies(ferry, scoped_client):
    """10,000 objects -> `words` (10,000 documents) -> `echo` (10,000 more, tier 2), a
    retriever, a taxonomy over a small reference collection applied to `echo`, and a cluster:
    the copy has the same counts and the target's retriever answers like the source's."""
    from mixpeek.api.bucket_objects_api import BucketObjectsApi
    from mixpeek.api.buckets_api import BucketsApi
    from mixpeek.api.collection_taxonomies_api import CollectionTaxonomiesApi
    from mixpeek.api.taxonomies_api import TaxonomiesApi
    from mixpeek.models.apply_taxonomy_request import ApplyTaxonomyRequest
    from mixpeek.models.bucket_create_request import BucketCreateRequest
    from mixpeek.models.create_collection_request import CreateCollectionRequest
    from mixpeek.models.create_objects_batch_request import CreateObjectsBatchRequest
    from mixpeek.models.create_taxonomy_request import CreateTaxonomyRequest

    from test_clusters import wait_for

    topics = list(TOPICS.items())
    BucketsApi(scoped_client).create_bucket(
        BucketCreateRequest.from_dict(
            {
                "bucket_name": "many",
                "bucket_schema": {
                    "properties": {"topic": {"type": "string"}, "content": {"type": "text"}}
                },
            }
        )
    )
    objects = BucketObjectsApi(scoped_client)
    for start in range(0, 10_000, 100):
        batch = []
        for i in range(start, start + 100):
            topic, words = topics[i % 3]
            text = " ".join(words[i % 6 :] + words[: i % 6]) + f" item{i}"
            batch.append(
                {"topic": topic, "blobs": [{"property": "content", "type": "text", "data": text}]}
            )
        objects.create_objects_batch_buckets(
            "many", CreateObjectsBatchRequest.from_dict({"objects": batch})
        )
    BucketsApi(scoped_client).create_bucket(
        BucketCreateRequest.from_dict(
            {
                "bucket_name": "tagset",
                "bucket_schema": {
                    "properties": {"topic": {"type": "string"}, "content": {"type": "text"}}
                },
            }
        )
    )
    objects.create_objects_batch_buckets(
        "tagset",
        CreateObjectsBatchRequest.from_dict(
            {
                "objects": [
                    {"topic": t, "blobs": [{"property": "content", "type": "text", "data": t}]}
                    for t in TOPICS
                ]
            }
        ),
    )
    collections = CollectionsApi(scoped_client)
    for name, source, mapping in [
        ("words", {"type": "bucket", "bucket_ids": ["many"]}, "content"),
        ("echo", {"type": "collection", "collection_id": "words"}, "text"),
        ("tags", {"type": "bucket", "bucket_ids": ["tagset"]}, "content"),
    ]:
        collections.create_collection(
            CreateCollectionRequest.from_dict(
                {
                    "collection_name": name,
                    "source": source,
                    "feature_extractor": {
                        "feature_extractor_name": "text_extractor",
                        "version": "v1",
                        "input_mappings": {"text": mapping},
                        "field_passthrough": [{"source_path": "topic"}],
                    },
                }
            )
        )
        trigger = collections.trigger_collection(name)
        assert wait_for(scoped_client, trigger.task_id).status.value == "COMPLETED"
    create_retriever(scoped_client, "search", ["words"], [search_stage(20)])
    create_retriever(scoped_client, "labels", ["tags"], [search_stage(1)])
    taxonomy = TaxonomiesApi(scoped_client).create_taxonomy_taxonomies(
        CreateTaxonomyRequest.from_dict(
            {
                "taxonomy_name": "self",
                "config": {
                    "taxonomy_type": "flat",
                    "retriever_id": "labels",
                    "input_mappings": [{"input_key": "query", "path": "topic"}],
                    "source_collection": {"collection_id": "tags"},
                },
            }
        )
    )
    applied = CollectionTaxonomiesApi(scoped_client).apply_taxonomy_to_collection(
        "echo", ApplyTaxonomyRequest(taxonomy_id=taxonomy.taxonomy_id)
    )
    assert wait_for(scoped_client, applied.task_id).status.value == "COMPLETED"
    clustered(scoped_client, "words")

    migrations = NamespaceMigrationsApi(scoped_client)
    created = migrations.create_migration_namespaces(
        CreateMigrationRequest.from_dict(
            {"config": config(batch_options={"batch_size": 1000, "max_workers": 4}),
             "start_immediately": True}
        )
    )
    graph = migrations.get_migration_namespaces(created.migration_id).dependency_graph
    tiers = {n.resource_id: n.tier for n in graph.nodes}
    assert sorted(tiers.values()) == [0, 0, 1, 1, 2, 2, 2, 2, 3]
    migration = wait_for_migration(migrations, created.migration_id)
    assert migration.status.value == "completed", migration.error_message
    assert migration.progress.stages[2].items_completed == 30_006

    query = " ".join(TOPICS["baking"])
    with target_client(ferry, "sdk-copy") as copy:
        for name in ("words", "echo"):
            assert CollectionsApi(copy).get_collection(name).document_count == 10_000
        hits = [
            RetrieversApi(client).execute_retriever(
                "search", ExecuteRetrieverRequest(inputs={"query": query}, limit=20)
            )
            for client in (scoped_client, copy)
        ]
    assert [round(d["score"], 6) for d in hits[0].documents] == [
        round(d["score"], 6) for d in hits[1].documents
    ]
    assert all(d["topic"] == "baking" for d in hits[1].documents)


def test_a_taken_target_name_is_invalid(scoped_client):
    seed_collection(scoped_client)
    migrations = NamespaceMigrationsApi(scoped_client)
    result = migrations.validate_migration_namespaces(
        ValidateMigrationRequest.from_dict({"config": config(target_namespace_name="sdk-data")})
    )
    assert not result.validation_result.valid
    assert result.validation_result.errors[0].error_code == "namespace_name_taken"
    with pytest.raises(ApiException) as refused:
        migrations.create_migration_namespaces(
            CreateMigrationRequest.from_dict({"config": config(target_namespace_name="sdk-data")})
        )
    assert refused.value.status == 400
    assert '"MigrationValidationError"' in refused.value.body


def test_re_extract_to_text_extractor_v2_through_the_sdk(ferry, scoped_client):
    """text_extractor v1 -> v2: the target's vectors have v2's dimension, counts match, the
    downstream collection and the cluster were rebuilt, and the retriever was benchmarked."""
    from mixpeek.api.clusters_api import ClustersApi
    from mixpeek.models.create_collection_request import CreateCollectionRequest

    from test_clusters import wait_for

    seed_collection(scoped_client)
    collections = CollectionsApi(scoped_client)
    collections.create_collection(
        CreateCollectionRequest.from_dict(
            {
                "collection_name": "echo",
                "source": {"type": "collection", "collection_ids": ["texts"]},
                "feature_extractor": {
                    "feature_extractor_name": "text_extractor",
                    "version": "v1",
                    "input_mappings": {"text": "text"},
                },
            }
        )
    )
    trigger = collections.trigger_collection("echo")
    assert wait_for(scoped_client, trigger.task_id).status.value == "COMPLETED"
    create_retriever(scoped_client, "search", ["texts"], [search_stage(12)])
    RetrieversApi(scoped_client).execute_retriever(
        "search",
        ExecuteRetrieverRequest(inputs={"query": " ".join(TOPICS["baking"])}, limit=12),
    )
    clustered(scoped_client, "texts")

    re_extract = config(
        migration_type="re_extract",
        target_namespace_name="sdk-v2",
        feature_extractors=[{"feature_extractor_name": "text_extractor", "version": "v2"}],
    )
    migrations = NamespaceMigrationsApi(scoped_client)
    validated = migrations.validate_migration_namespaces(
        ValidateMigrationRequest.from_dict({"config": re_extract})
    )
    assert validated.validation_result.valid
    assert [w.error_code for w in validated.validation_result.warnings] == ["RE_EXTRACT_COST"]
    created = migrations.create_migration_namespaces(
        CreateMigrationRequest.from_dict({"config": re_extract})
    )
    with pytest.raises(ApiException) as refused:
        migrations.start_migration_namespaces(
            created.migration_id, StartMigrationRequest(force=False)
        )
    assert refused.value.status == 400
    migrations.start_migration_namespaces(created.migration_id, StartMigrationRequest(force=True))
    migration = wait_for_migration(migrations, created.migration_id)
    assert migration.status.value == "completed", migration.error_message

    data = migration.additional_data
    with target_client(ferry, "sdk-v2") as v2:
        texts = CollectionsApi(v2).get_collection("texts")
        assert texts.vector_indexes[0].index["dimensions"] == 768
        assert texts.document_count == 12
        echo = CollectionsApi(v2).get_collection("echo")
        assert echo.vector_indexes[0].index["dimensions"] == 768
        assert echo.document_count == 12
        rebuilt = {c["source_collection_id"]: c for c in data["re_extracted"]["collections"]}
        assert len(rebuilt) == 2
        target_cluster = ClustersApi(v2).get_cluster(
            data["clusters_recomputed"][0]["cluster_id"]
        )
        assert target_cluster.num_documents_clustered == 12
        assert target_cluster.feature_uris == ["mixpeek://text_extractor@v2/text_embedding"]
        hits = RetrieversApi(v2).execute_retriever(
            "search",
            ExecuteRetrieverRequest(inputs={"query": " ".join(TOPICS["baking"])}, limit=4),
        )
        assert all(d["topic"] == "baking" for d in hits.documents)
    [benchmark] = data["benchmark"]
    assert benchmark["queries"] >= 1
    assert 0 <= benchmark["overlap_at_k"] <= 1


def test_extend_after_a_copy_brings_exactly_the_new_objects(ferry, scoped_client):
    from mixpeek.api.bucket_objects_api import BucketObjectsApi
    from mixpeek.models.create_objects_batch_request import CreateObjectsBatchRequest

    from test_clusters import wait_for

    seed_collection(scoped_client)
    migrations = NamespaceMigrationsApi(scoped_client)
    copy = migrations.create_migration_namespaces(
        CreateMigrationRequest.from_dict({"config": config(), "start_immediately": True})
    )
    assert wait_for_migration(migrations, copy.migration_id).status.value == "completed"
    for start in range(0, 200, 100):
        BucketObjectsApi(scoped_client).create_objects_batch_buckets(
            "texts-bucket",
            CreateObjectsBatchRequest.from_dict(
                {
                    "objects": [
                        {
                            "topic": "new",
                            "blobs": [
                                {"property": "content", "type": "text", "data": f"new {i}"}
                            ],
                        }
                        for i in range(start, start + 100)
                    ]
                }
            ),
        )
    trigger = CollectionsApi(scoped_client).trigger_collection("texts")
    assert wait_for(scoped_client, trigger.task_id).status.value == "COMPLETED"

    extend = migrations.create_migration_namespaces(
        CreateMigrationRequest.from_dict(
            {"config": config(migration_type="extend"), "start_immediately": True}
        )
    )
    migration = wait_for_migration(migrations, extend.migration_id)
    assert migration.status.value == "completed", migration.error_message
    items = migration.additional_data["items"]
    assert items["written"] == 400  # 200 objects and their 200 documents
    assert items["skipped"] == 24  # what the copy brought over already
    with target_client(ferry, "sdk-copy") as target:
        assert CollectionsApi(target).get_collection("texts").document_count == 212
