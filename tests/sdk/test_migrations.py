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

    for _ in range(600):
        migration = migrations.get_migration_namespaces(created.migration_id)
        assert isinstance(migration, GetMigrationResponse)
        if migration.status.value in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
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
