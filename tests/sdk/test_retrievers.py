"""Retrievers, their executions and interactions, and taxonomies, through the official SDK,
unmodified: every response must validate in the SDK's models."""

import pytest
from mixpeek.api.bucket_objects_api import BucketObjectsApi
from mixpeek.api.buckets_api import BucketsApi
from mixpeek.api.collection_documents_api import CollectionDocumentsApi
from mixpeek.api.collection_taxonomies_api import CollectionTaxonomiesApi
from mixpeek.api.collections_api import CollectionsApi
from mixpeek.api.feature_extractors_api import FeatureExtractorsApi
from mixpeek.api.retriever_interactions_api import RetrieverInteractionsApi
from mixpeek.api.retrievers_api import RetrieversApi
from mixpeek.api.taxonomies_api import TaxonomiesApi
from mixpeek.exceptions import ApiException
from mixpeek.models.apply_taxonomy_request import ApplyTaxonomyRequest
from mixpeek.models.bucket_create_request import BucketCreateRequest
from mixpeek.models.create_collection_request import CreateCollectionRequest
from mixpeek.models.create_objects_batch_request import CreateObjectsBatchRequest
from mixpeek.models.create_retriever_request import CreateRetrieverRequest
from mixpeek.models.create_taxonomy_request import CreateTaxonomyRequest
from mixpeek.models.execute_retriever_request import ExecuteRetrieverRequest
from mixpeek.models.execute_retriever_response import ExecuteRetrieverResponse
from mixpeek.models.execution_detail import ExecutionDetail
from mixpeek.models.interaction_response import InteractionResponse
from mixpeek.models.list_documents_request import ListDocumentsRequest
from mixpeek.models.list_executions_request import ListExecutionsRequest
from mixpeek.models.list_executions_response import ListExecutionsResponse
from mixpeek.models.list_interactions_request import ListInteractionsRequest
from mixpeek.models.list_interactions_response import ListInteractionsResponse
from mixpeek.models.list_retrievers_request import ListRetrieversRequest
from mixpeek.models.list_retrievers_response import ListRetrieversResponse
from mixpeek.models.list_taxonomies_request import ListTaxonomiesRequest
from mixpeek.models.list_taxonomies_response import ListTaxonomiesResponse
from mixpeek.models.patch_retriever_request import PatchRetrieverRequest
from mixpeek.models.patch_retriever_response import PatchRetrieverResponse
from mixpeek.models.patch_taxonomy_request import PatchTaxonomyRequest
from mixpeek.models.retriever_config import RetrieverConfig
from mixpeek.models.retriever_model_output import RetrieverModelOutput
from mixpeek.models.search_interaction import SearchInteraction
from mixpeek.models.taxonomy_response import TaxonomyResponse

from test_clusters import FEATURE, TOPICS, seed_collection, wait_for


def search_stage(top_k):
    return {
        "stage_name": "search",
        "stage_type": "filter",
        "config": {
            "stage_id": "feature_search",
            "parameters": {
                "searches": [
                    {
                        "feature_uri": FEATURE,
                        "query": {"input_mode": "text", "value": "{{INPUT.query}}"},
                        "top_k": top_k,
                    }
                ]
            },
        },
    }


def create_retriever(client, name, collections, stages, input_schema=None):
    body = {"retriever_name": name, "collection_identifiers": collections, "stages": stages}
    if input_schema:
        body["input_schema"] = input_schema
    return RetrieversApi(client).create_retriever(CreateRetrieverRequest.from_dict(body))


def test_a_retriever_ranks_the_matching_document_first(scoped_client):
    seed_collection(scoped_client)
    retrievers = RetrieversApi(scoped_client)
    created = create_retriever(
        scoped_client,
        "sdk-search",
        ["texts"],
        [search_stage(5)],
        {"query": {"type": "text", "required": True}},
    )
    assert isinstance(created, RetrieverConfig)
    assert created.retriever_id.startswith("ret_")
    assert created.stages[0].parameters["searches"][0]["top_k"] == 5
    assert created.feature_dependencies[0].extractor == "text_extractor"

    query = " ".join(TOPICS["baking"])
    result = retrievers.execute_retriever(
        created.retriever_id, ExecuteRetrieverRequest(inputs={"query": query}, limit=5)
    )
    assert isinstance(result, ExecuteRetrieverResponse)
    assert result.status == "completed"
    assert result.documents[0]["text"] == query
    assert [d["topic"] for d in result.documents[:4]] == ["baking"] * 4
    assert result.stage_statistics.stages["search"].output_count == 5

    got = retrievers.get_retriever("sdk-search")
    assert isinstance(got, RetrieverModelOutput)
    assert got.collection_identifiers == created.collection_ids

    history = retrievers.list_executions_retrievers(
        created.retriever_id, list_executions_request=ListExecutionsRequest()
    )
    assert isinstance(history, ListExecutionsResponse)
    assert history.pagination.total == 1
    assert history.results[0].execution_id == result.execution_id
    detail = retrievers.get_execution_retrievers(created.retriever_id, result.execution_id)
    assert isinstance(detail, ExecutionDetail)
    assert [d["document_id"] for d in detail.documents] == [
        d["document_id"] for d in result.documents
    ]

    interactions = RetrieverInteractionsApi(scoped_client)
    recorded = interactions.create_interaction_retrievers(
        SearchInteraction.from_dict(
            {
                "feature_id": result.documents[0]["document_id"],
                "interaction_type": ["click"],
                "position": 0,
                "execution_id": result.execution_id,
            }
        )
    )
    assert isinstance(recorded, InteractionResponse)
    assert recorded.retriever_id == created.retriever_id
    listed = interactions.list_interactions_retrievers(
        list_interactions_request=ListInteractionsRequest(execution_id=result.execution_id)
    )
    assert isinstance(listed, ListInteractionsResponse)
    assert [i.interaction_id for i in listed.results] == [recorded.interaction_id]
    again = interactions.get_interaction_retrievers(recorded.interaction_id)
    assert again.feature_id == recorded.feature_id
    interactions.delete_interaction_retrievers(recorded.interaction_id)

    patched = retrievers.patch_retriever(
        created.retriever_id, PatchRetrieverRequest(description="patched")
    )
    assert isinstance(patched, PatchRetrieverResponse)
    assert patched.retriever.description == "patched"
    page = retrievers.list_retrievers(list_retrievers_request=ListRetrieversRequest(search="sdk"))
    assert isinstance(page, ListRetrieversResponse)
    assert [r.retriever_id for r in page.results] == [created.retriever_id]
    retrievers.delete_retriever(created.retriever_id)
    with pytest.raises(ApiException) as missing:
        retrievers.get_retriever(created.retriever_id)
    assert missing.value.status == 404


def test_a_taxonomy_enriches_every_document(scoped_client):
    seed_collection(scoped_client)
    BucketsApi(scoped_client).create_bucket(
        BucketCreateRequest.from_dict(
            {
                "bucket_name": "labels",
                "bucket_schema": {
                    "properties": {"label": {"type": "string"}, "content": {"type": "text"}}
                },
            }
        )
    )
    BucketObjectsApi(scoped_client).create_objects_batch_buckets(
        "labels",
        CreateObjectsBatchRequest.from_dict(
            {
                "objects": [
                    {
                        "label": topic,
                        "blobs": [{"property": "content", "type": "text", "data": " ".join(words)}],
                    }
                    for topic, words in TOPICS.items()
                ]
            }
        ),
    )
    collections = CollectionsApi(scoped_client)
    collections.create_collection(
        CreateCollectionRequest.from_dict(
            {
                "collection_name": "label-texts",
                "source": {"type": "bucket", "bucket_ids": ["labels"]},
                "feature_extractor": {
                    "feature_extractor_name": "text_extractor",
                    "version": "v1",
                    "input_mappings": {"text": "content"},
                    "field_passthrough": [{"source_path": "label"}],
                },
            }
        )
    )
    trigger = collections.trigger_collection("label-texts")
    assert wait_for(scoped_client, trigger.task_id).status.value == "COMPLETED"
    create_retriever(scoped_client, "labeler", ["label-texts"], [search_stage(3)])

    taxonomies = TaxonomiesApi(scoped_client)
    taxonomy = taxonomies.create_taxonomy_taxonomies(
        CreateTaxonomyRequest.from_dict(
            {
                "taxonomy_name": "sdk-topics",
                "config": {
                    "taxonomy_type": "flat",
                    "retriever_id": "labeler",
                    "input_mappings": [
                        {"input_key": "query", "source_type": "payload", "path": "text"}
                    ],
                    "source_collection": {
                        "collection_id": "label-texts",
                        "enrichment_fields": [{"field_path": "label", "target_field": "topic_label"}],
                    },
                },
            }
        )
    )
    assert isinstance(taxonomy, TaxonomyResponse)
    assert taxonomy.taxonomy_id.startswith("tax_")
    assert taxonomy.config.actual_instance.top_k == 1

    applied = CollectionTaxonomiesApi(scoped_client).apply_taxonomy_to_collection(
        "texts", ApplyTaxonomyRequest(taxonomy_id=taxonomy.taxonomy_id)
    )
    assert applied.estimated_documents == 12
    done = wait_for(scoped_client, applied.task_id)
    assert done.status.value == "COMPLETED", done.error

    page = CollectionDocumentsApi(scoped_client).list_documents(
        "texts", list_documents_request=ListDocumentsRequest(limit=100)
    )
    documents = [d.to_dict() for d in page.results]
    assert len(documents) == 12
    field = f"_taxonomy_{taxonomy.taxonomy_id}"
    for doc in documents:
        assert doc["topic_label"] == doc["topic"], doc
        assert doc[field]["matches"][0]["label"] == doc["topic"], doc

    renamed = taxonomies.patch_taxonomy_taxonomies(
        taxonomy.taxonomy_id, PatchTaxonomyRequest(description="by topic")
    )
    assert renamed.description == "by topic"
    v2 = taxonomies.create_taxonomy_version_taxonomies(taxonomy.taxonomy_id, {"description": "v2"})
    assert v2.version == 2
    versions = taxonomies.list_taxonomy_versions_taxonomies(taxonomy.taxonomy_id)
    assert isinstance(versions, ListTaxonomiesResponse)
    assert [v.version for v in versions.results] == [2, 1]
    listed = taxonomies.list_taxonomies(list_taxonomies_request=ListTaxonomiesRequest())
    assert listed.total_count == 1
    taxonomies.delete_taxonomy_taxonomies(taxonomy.taxonomy_id)
    with pytest.raises(ApiException) as missing:
        taxonomies.get_taxonomy_taxonomies(taxonomy.taxonomy_id)
    assert missing.value.status == 404


def test_a_taxonomy_naming_a_missing_retriever_is_refused_by_id(scoped_client):
    seed_collection(scoped_client)
    with pytest.raises(ApiException) as refused:
        TaxonomiesApi(scoped_client).create_taxonomy_taxonomies(
            CreateTaxonomyRequest.from_dict(
                {
                    "taxonomy_name": "broken",
                    "config": {
                        "taxonomy_type": "flat",
                        "retriever_id": "ret_nowhere",
                        "input_mappings": [{"input_key": "query", "path": "text"}],
                        "source_collection": {"collection_id": "texts"},
                    },
                }
            )
        )
    assert refused.value.status == 400
    assert "ret_nowhere" in refused.value.body
    assert '"retriever_not_found"' in refused.value.body


KEYWORDS = "mixpeek://text_extractor@v1/keywords"


def test_a_hybrid_retriever_fuses_dense_and_keyword_search(scoped_client):
    """Ferry's keyword feature (BM25 over the text, a sparse index every text collection
    carries) and a hybrid retriever fusing it with dense search by rrf, all through the SDK's
    own models."""
    seed_collection(scoped_client)
    collection = CollectionsApi(scoped_client).get_collection("texts")
    sparse = [i for i in collection.vector_indexes if i.feature_uri == KEYWORDS]
    assert len(sparse) == 1 and sparse[0].index["type"] == "sparse"
    v1 = FeatureExtractorsApi(scoped_client).get_feature_extractor_by("text_extractor_v1")
    listed = {
        d.feature_uri: d.index.actual_instance.type.value for d in v1.required_vector_indexes
    }
    assert listed == {FEATURE: "dense", KEYWORDS: "sparse"}

    def search(feature_uri):
        return {
            "feature_uri": feature_uri,
            "query": {"input_mode": "text", "value": "{{INPUT.query}}"},
            "top_k": 6,
        }

    def stage(*searches):
        return {
            "stage_name": "search",
            "stage_type": "filter",
            "config": {
                "stage_id": "feature_search",
                "parameters": {"searches": list(searches), "fusion": "rrf"},
            },
        }

    keywords = create_retriever(scoped_client, "sdk-keywords", ["texts"], [stage(search(KEYWORDS))])
    hybrid = create_retriever(
        scoped_client, "sdk-hybrid", ["texts"], [stage(search(FEATURE), search(KEYWORDS))]
    )
    assert {d.extractor for d in hybrid.feature_dependencies} == {"text_extractor"}
    retrievers = RetrieversApi(scoped_client)

    # Keywords find exactly the documents holding the word, scored by BM25.
    found = retrievers.execute_retriever(
        keywords.retriever_id, ExecuteRetrieverRequest(inputs={"query": "Comet"})
    )
    assert isinstance(found, ExecuteRetrieverResponse)
    assert len(found.documents) == 4
    assert all("comet" in d["text"] and d["score"] > 0 for d in found.documents)

    # The hybrid ranks the topic's documents first, with rrf scores (at most 2/61).
    query = "telescope galaxy"
    fused = retrievers.execute_retriever(
        hybrid.retriever_id, ExecuteRetrieverRequest(inputs={"query": query})
    )
    assert isinstance(fused, ExecuteRetrieverResponse)
    assert [d["topic"] for d in fused.documents[:4]] == ["astronomy"] * 4
    assert all(0 < d["score"] <= 2 / 61 + 1e-12 for d in fused.documents)
    scores = [d["score"] for d in fused.documents]
    assert scores == sorted(scores, reverse=True)
