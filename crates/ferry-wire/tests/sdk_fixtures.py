"""Conformance of ferry-wire's collection, document and task types with the official SDK.

Run by hand with the SDK installed (`pip install mixpeek==1.3.783`):

    python crates/ferry-wire/tests/sdk_fixtures.py requests
        Builds request bodies with the SDK's own request models and writes them, exactly as the
        SDK would send them, to tests/fixtures/sdk/*.json. `cargo test -p ferry-wire` parses
        and validates every one of them (tests/sdk_conformance.rs).

    python crates/ferry-wire/tests/sdk_fixtures.py responses DIR
        Reads the response dumps `cargo test -p ferry-wire` writes to DIR
        (`$CARGO_TARGET_DIR/tmp/sdk-responses`), runs the SDK model's `from_dict` over each, and
        checks that every key Ferry writes is one the SDK model declares (models that take
        additional properties excepted, where the key is a user field).
"""

import datetime
import json
import pathlib
import sys
import typing

import mixpeek.models as M
from mixpeek.api_client import ApiClient

HERE = pathlib.Path(__file__).parent
FIXTURES = HERE / "fixtures" / "sdk"


def wire(model):
    """The JSON body the SDK sends for `model` (ApiClient.sanitize_for_serialization)."""
    return ApiClient().sanitize_for_serialization(model)


def filters():
    return M.LogicalOperatorInput.from_dict(
        {
            "AND": [
                {"field": "metadata.lang", "operator": "eq", "value": "en"},
                {"OR": [{"field": "year", "operator": "gte", "value": 2020},
                        {"field": "tags", "operator": "in", "value": ["a", "b"]}]},
            ],
            "NOT": [{"field": "status", "operator": "eq", "value": "draft"}],
            "case_sensitive": True,
            "metadata.kind": "article",
        }
    )


def extractor(**extra):
    return M.SharedCollectionFeaturesExtractorsModelsFeatureExtractorConfigInput(
        feature_extractor_name="text_extractor",
        version="v1",
        input_mappings=M.InputMappings({"text": "content"}),
        field_passthrough=[
            M.FieldPassthrough(source_path="title", required=True),
            M.FieldPassthrough(source_path="meta.author", target_path="author", default="anon"),
        ],
        **extra,
    )


def requests():
    bodies = {
        "create_collection_minimal": M.CreateCollectionRequest(
            collection_name="articles",
            source=M.SourceConfigInput(type="bucket", bucket_ids=["bkt_articles"]),
            feature_extractor=M.SharedCollectionFeaturesExtractorsModelsFeatureExtractorConfigInput(
                feature_extractor_name="text_extractor", version="v1"
            ),
        ),
        "create_collection_full": M.CreateCollectionRequest(
            collection_name="article_embeddings",
            description="News articles with text embeddings",
            source=M.SourceConfigInput(
                type="bucket",
                bucket_ids=["bkt_articles", "bkt_blogs"],
                source_filters=M.SourceFiltersInput(filters=filters()),
                field_map={"bkt_blogs": [M.FieldPassthrough(source_path="headline", target_path="title")]},
            ),
            input_schema=M.BucketSchemaInput(
                properties={
                    "content": M.BucketSchemaFieldInput(type="text", required=True),
                    "title": M.BucketSchemaFieldInput(type="string", description="Headline"),
                    "tags": M.BucketSchemaFieldInput(
                        type="array", items=M.BucketSchemaFieldInput(type="string")
                    ),
                }
            ),
            feature_extractor=extractor(
                params={"model": "hash-ngram"},
                parameters=M.Parameters(M.TextExtractorParams()),
                include_all_source_fields=False,
            ),
            features=["text"],
            enabled=True,
            metadata={"team": "search", "tier": 1},
            schedule=M.CollectionScheduleConfig(
                trigger_type="interval", schedule_config={"interval_seconds": 3600}
            ),
            taxonomy_applications=[
                M.TaxonomyApplicationConfigInput(
                    taxonomy_id="tax_topics",
                    execution_mode="materialize",
                    target_collection_id="col_enriched",
                    scroll_filters=filters(),
                    hierarchical_enrichment_style="best_match",
                )
            ],
            cluster_applications=[
                M.ClusterApplicationConfig(cluster_id="clu_topics", min_document_threshold=10)
            ],
            alert_applications=[
                M.AlertApplicationConfigInput(
                    alert_id="alt_1",
                    input_mappings=[
                        M.AlertInputMapping(
                            input_key="q",
                            source=M.InputMappingSource(source_type="document_field", path="title"),
                        )
                    ],
                )
            ],
            retriever_enrichments=[
                M.RetrieverEnrichmentConfigInput(
                    retriever_id="ret_1",
                    input_mappings=[
                        M.EnrichmentInputMapping(
                            input_key="q",
                            source=M.InputMappingSource(source_type="constant", value="x"),
                        )
                    ],
                    write_back_fields=[M.WriteBackFieldMapping(source_field="label", target_field="label")],
                )
            ],
            embedding_task="retrieval_document",
        ),
        "create_collection_from_collection": M.CreateCollectionRequest(
            collection_name="article_chunks",
            source=M.SourceConfigInput(type="collection", collection_id="col_articles"),
            feature_extractor=M.SharedCollectionFeaturesExtractorsModelsFeatureExtractorConfigInput(
                feature_extractor_name="text_extractor",
                version="v2",
                input_mappings=M.InputMappings(
                    [M.InputMapping(input_key="text", source_type="payload", path="content")]
                ),
            ),
        ),
        "patch_collection": {
            "collection_name": "renamed_articles",
            "description": "Renamed",
            "enabled": False,
            "metadata": {"team": "ranking"},
            "taxonomy_applications": [{"taxonomy_id": "tax_topics"}],
        },
        "list_collections": M.ListCollectionsRequest(
            limit=25,
            offset=0,
            filters={"AND": [{"field": "taxonomy_applications.taxonomy_id", "operator": "eq", "value": "tax_topics"}]},
            sort=M.SortOption(var_field="created_at", direction="desc"),
            sorts=[{"field": "collection_name", "direction": "asc"}],
            search="art",
            include_system=False,
            case_sensitive=False,
        ),
        "trigger_collection": M.TriggerCollectionRequest(
            include_buckets=["bkt_articles"],
            object_ids=["obj_1", "obj_2"],
            source_filters=filters(),
            dedup_strategy="replace",
            reembed=M.StoredTextReembedRequest(outputs=["transcription_embedding"], dry_run=True),
        ),
        "create_document": M.DocumentCreateRequest.from_dict(
            {
                "collection_id": "col_articles",
                "root_object_id": "obj_1",
                "root_bucket_id": "bkt_articles",
                "source_type": "bucket",
                "source_object_id": "obj_1",
                "lineage_path": "bkt_articles/col_articles",
                "lineage_chain": [
                    {
                        "collection_id": "col_articles",
                        "feature_extractor_id": "text_extractor_v1",
                        "timestamp": datetime.datetime(2025, 10, 31, 10, 0, 0),
                    }
                ],
                "content_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "document_schema_version": "v2",
                "metadata": {"lang": "en"},
                "features": [
                    {
                        "feature_extractor_id": "text_extractor_v1",
                        "payload": {"chunk": 0},
                        "vectors": {"embedding": [0.25, -0.5, 1]},
                    }
                ],
                "vectors": {"text_extractor_v1_embedding": [0.25, -0.5, 1]},
                "title": "AI in Healthcare",
                "year": 2025,
                "tags": ["ai", "health"],
            }
        ),
        "patch_document": {"metadata": {"status": "reviewed", "draft": None}, "title": "AI in Medicine"},
        "list_documents": M.ListDocumentsRequest(
            filters=filters(),
            sort=M.SortOption(var_field="created_at", direction="desc"),
            search="health",
            include_total=True,
            return_vectors=True,
            return_vector_names=M.ReturnVectorNames(["text_extractor_v1_embedding"]),
            select=["title", "metadata.lang"],
            expand=["source_document_id"],
            partition=M.ListPartition(index=1, count=4),
            limit=50,
        ),
        "list_documents_grouped": M.ListDocumentsRequest(group_by="root_object_id", cursor="off_50"),
        "list_tasks": M.ListTasksRequest(
            status="FAILED",
            task_type="api_collections_trigger",
            filters=filters(),
            sort=M.SortOption(var_field="created_at", direction="desc"),
            search="col_articles",
        ),
    }
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, body in bodies.items():
        path = FIXTURES / f"{name}.json"
        path.write_text(json.dumps(wire(body), indent=2, sort_keys=True) + "\n")
        print("wrote", path.relative_to(HERE.parent))


def declared(cls):
    return getattr(cls, f"_{cls.__name__}__properties", None)


def check_value(value, annotation, path, problems):
    """Walks `value` along `annotation` (Optional, Annotated, List, Dict) to the SDK models."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        check_value(value, args[0], path, problems)
    elif origin is typing.Union:
        models = [a for a in args if a is not type(None)]
        if len(models) == 1:
            check_value(value, models[0], path, problems)
    elif origin is list and isinstance(value, list):
        for i, item in enumerate(value):
            check_value(item, args[0], f"{path}[{i}]", problems)
    elif origin is dict and isinstance(value, dict):
        for k, item in value.items():
            check_value(item, args[1], f"{path}.{k}", problems)
    elif isinstance(annotation, type) and declared(annotation) is not None:
        check_keys(value, annotation, path, problems)


def check_keys(value, cls, path, problems):
    """Every key in `value` is declared by `cls`, recursively, unless `cls` takes extras."""
    if not isinstance(value, dict):
        return
    props = declared(cls)
    open_model = "additional_properties" in cls.model_fields
    for key in value:
        if key not in props and not open_model:
            problems.append(f"{path}.{key}: not declared by {cls.__name__}")
    by_alias = {(f.alias or name): f for name, f in cls.model_fields.items()}
    for key, sub in value.items():
        field = by_alias.get(key)
        if field is not None:
            check_value(sub, field.annotation, f"{path}.{key}", problems)


def responses(directory):
    directory = pathlib.Path(directory)
    failures = 0
    files = sorted(directory.glob("*.json"))
    if not files:
        sys.exit(f"no dumps in {directory}; run cargo test -p ferry-wire first")
    for path in files:
        model_name = path.name.split(".")[0]
        data = json.loads(path.read_text())
        if model_name == "object":
            ok = isinstance(data, dict)
            print(("ok  " if ok else "FAIL"), path.name, "(plain object)")
            failures += not ok
            continue
        cls = getattr(M, model_name)
        problems = []
        try:
            instance = cls.from_dict(data)
            if instance is None:
                problems.append("from_dict returned None")
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            problems.append(f"from_dict: {type(e).__name__}: {e}")
        check_keys(data, cls, model_name, problems)
        print(("ok  " if not problems else "FAIL"), path.name)
        for p in problems:
            print("      ", p)
        failures += bool(problems)
    print(f"{len(files) - failures} of {len(files)} response dumps validate")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["requests"]:
        requests()
    elif sys.argv[1:2] == ["responses"] and len(sys.argv) == 3:
        responses(sys.argv[2])
    else:
        sys.exit(__doc__)
