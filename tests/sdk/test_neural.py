"""text_extractor v3, the in-process neural model, through the official SDK, unmodified: a
collection on it ranks paraphrases above unrelated texts, a model that is not installed is
named by a re_extract's validation, and a re_extract from text_extractor v1 to the model completes with its
benchmark in additional_data.

The model comes from FERRY_MODELS_DIR (scripts/test runs scripts/fetch-models and exports
it). Without it these tests are skipped, except under CI=true, where they fail.
"""

import os

import pytest
from mixpeek.api.bucket_objects_api import BucketObjectsApi
from mixpeek.api.buckets_api import BucketsApi
from mixpeek.api.collections_api import CollectionsApi
from mixpeek.api.namespace_migrations_api import NamespaceMigrationsApi
from mixpeek.api.retrievers_api import RetrieversApi
from mixpeek.models.bucket_create_request import BucketCreateRequest
from mixpeek.models.create_collection_request import CreateCollectionRequest
from mixpeek.models.create_migration_request import CreateMigrationRequest
from mixpeek.models.create_objects_batch_request import CreateObjectsBatchRequest
from mixpeek.models.execute_retriever_request import ExecuteRetrieverRequest
from mixpeek.models.start_migration_request import StartMigrationRequest
from mixpeek.models.validate_migration_request import ValidateMigrationRequest

from test_clusters import wait_for
from test_migrations import config, target_client, wait_for_migration
from test_retrievers import create_retriever

MODEL = "all-MiniLM-L6-v2"
NEURAL = "mixpeek://text_extractor@v3/text_embedding"
WORDS = "mixpeek://text_extractor@v1/text_embedding"


def _model_installed():
    models = os.environ.get("FERRY_MODELS_DIR")
    found = bool(models) and os.path.isfile(os.path.join(models, MODEL, "config.json"))
    if not found and os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but FERRY_MODELS_DIR holds no {MODEL}: run scripts/fetch-models")
    return found


pytestmark = pytest.mark.skipif(
    not _model_installed(), reason=f"FERRY_MODELS_DIR has no {MODEL} (run scripts/fetch-models)"
)

# Pairs of paraphrases that share almost no words, and texts on other subjects.
PARAPHRASES = [
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
    ("How do I reset my password?", "I forgot my login credentials and need new ones."),
    ("The stock market fell sharply today.", "Share prices dropped steeply this afternoon."),
    ("He is a very fast runner.", "That man sprints extremely quickly."),
]
UNRELATED = [
    "Photosynthesis converts sunlight into chemical energy in plants.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Medieval castles were built with thick stone walls.",
    "Jupiter is the largest planet in the solar system.",
]


def seed(client):
    BucketsApi(client).create_bucket(
        BucketCreateRequest.from_dict(
            {
                "bucket_name": "sentences",
                "bucket_schema": {
                    "properties": {"pair": {"type": "string"}, "content": {"type": "text"}}
                },
            }
        )
    )
    objects = []
    for i, (first, second) in enumerate(PARAPHRASES):
        for text in (first, second):
            objects.append(
                {"pair": f"p{i}", "blobs": [{"property": "content", "type": "text", "data": text}]}
            )
    for text in UNRELATED:
        objects.append(
            {"pair": "none", "blobs": [{"property": "content", "type": "text", "data": text}]}
        )
    BucketObjectsApi(client).create_objects_batch_buckets(
        "sentences", CreateObjectsBatchRequest.from_dict({"objects": objects})
    )


def collection(client, name, version, parameters=None):
    extractor = {
        "feature_extractor_name": "text_extractor",
        "version": version,
        "input_mappings": {"text": "content"},
        "field_passthrough": [{"source_path": "pair"}],
    }
    if parameters is not None:
        extractor["parameters"] = parameters
    collections = CollectionsApi(client)
    created = collections.create_collection(
        CreateCollectionRequest.from_dict(
            {
                "collection_name": name,
                "source": {"type": "bucket", "bucket_ids": ["sentences"]},
                "feature_extractor": extractor,
            }
        )
    )
    trigger = collections.trigger_collection(name)
    assert wait_for(client, trigger.task_id).status.value == "COMPLETED"
    return created


def search(feature, top_k):
    return {
        "stage_name": "search",
        "stage_type": "filter",
        "config": {
            "stage_id": "feature_search",
            "parameters": {
                "searches": [
                    {
                        "feature_uri": feature,
                        "query": {"input_mode": "text", "value": "{{INPUT.query}}"},
                        "top_k": top_k,
                    }
                ]
            },
        },
    }


def test_a_neural_collection_ranks_paraphrases_above_unrelated_texts(scoped_client):
    seed(scoped_client)
    # No `parameters`: the SDK coerces a collection's parameters into one of its own
    # extractors' parameter models, so the default model is what it can ask for.
    created = collection(scoped_client, "meaning", "v3")
    assert created.vector_indexes[0].index["dimensions"] == 384
    create_retriever(scoped_client, "paraphrase", ["meaning"], [search(NEURAL, 12)])
    retrievers = RetrieversApi(scoped_client)
    for i, (first, second) in enumerate(PARAPHRASES):
        result = retrievers.execute_retriever(
            "paraphrase", ExecuteRetrieverRequest(inputs={"query": first}, limit=12)
        )
        ranked = [(d["text"], d["pair"]) for d in result.documents]
        # The text itself first, its paraphrase next, every unrelated text below both.
        assert ranked[0] == (first, f"p{i}"), ranked
        assert ranked[1] == (second, f"p{i}"), ranked
        unrelated = [n for n, (_, pair) in enumerate(ranked) if pair == "none"]
        assert min(unrelated) > 1, ranked


def test_a_model_that_is_not_installed_is_named_by_validation(scoped_client):
    seed(scoped_client)
    collection(scoped_client, "words", "v1")
    validated = NamespaceMigrationsApi(scoped_client).validate_migration_namespaces(
        ValidateMigrationRequest.from_dict(
            {
                "config": config(
                    migration_type="re_extract",
                    target_namespace_name="sdk-e5",
                    feature_extractors=[
                        {
                            "feature_extractor_name": "text_extractor",
                            "version": "v3",
                            "parameters": {"model": "e5-small-v2"},
                        }
                    ],
                )
            }
        )
    )
    assert not validated.validation_result.valid
    [error] = [e for e in validated.validation_result.errors if e.error_code == "model_not_installed"]
    assert "e5-small-v2" in error.message
    assert os.environ["FERRY_MODELS_DIR"] in error.message
    assert "scripts/fetch-models" in error.message


def test_re_extract_from_text_extractor_v1_to_the_neural_model(ferry, scoped_client):
    seed(scoped_client)
    collection(scoped_client, "words", "v1")
    create_retriever(scoped_client, "lookup", ["words"], [search(WORDS, 4)])
    # An execution in the source gives the benchmark a query to replay.
    RetrieversApi(scoped_client).execute_retriever(
        "lookup", ExecuteRetrieverRequest(inputs={"query": PARAPHRASES[0][0]}, limit=4)
    )

    re_extract = config(
        migration_type="re_extract",
        target_namespace_name="sdk-neural",
        feature_extractors=[
            {
                "feature_extractor_name": "text_extractor",
                "version": "v3",
                "parameters": {"model": MODEL},
            }
        ],
    )
    migrations = NamespaceMigrationsApi(scoped_client)
    created = migrations.create_migration_namespaces(
        CreateMigrationRequest.from_dict({"config": re_extract})
    )
    migrations.start_migration_namespaces(created.migration_id, StartMigrationRequest(force=True))
    migration = wait_for_migration(migrations, created.migration_id)
    assert migration.status.value == "completed", migration.error_message

    data = migration.additional_data
    [benchmark] = data["benchmark"]
    assert benchmark["queries"] >= 1
    assert 0 <= benchmark["overlap_at_k"] <= 1
    with target_client(ferry, "sdk-neural") as target:
        words = CollectionsApi(target).get_collection("words")
        assert words.feature_extractor.version == "v3"
        assert words.vector_indexes[0].index["dimensions"] == 384
        assert words.document_count == len(PARAPHRASES) * 2 + len(UNRELATED)
        # The retriever now searches the model's vectors: a paraphrase finds its pair.
        hits = RetrieversApi(target).execute_retriever(
            "lookup", ExecuteRetrieverRequest(inputs={"query": PARAPHRASES[0][1]}, limit=2)
        )
        assert [d["pair"] for d in hits.documents] == ["p0", "p0"]
