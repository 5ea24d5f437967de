"""The fuzz leg: schemathesis drives every operation of the served `/openapi.json`.

It runs against a real `ferry serve` on each store, over a namespace seeded with one of every
resource, so generated requests reach the handlers' and the stores' real work instead of stopping
at a 404. The run fails on any 5xx and on any response the served document does not describe
(status code, content type, body schema). It is seeded (`FERRY_FUZZ_SEED`, default 20261129) so a
failure reproduces, and bounded by `FERRY_FUZZ_EXAMPLES` cases per operation.

Two passes: every operation but DELETE over the seeded ids, then DELETE, so deletions do not
empty the namespace the first pass explores.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from conftest import API_KEY

SEED = os.environ.get("FERRY_FUZZ_SEED", "20261129")
EXAMPLES = os.environ.get("FERRY_FUZZ_EXAMPLES", "25")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
NAMESPACE = "fuzzns"


class Seeder:
    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {API_KEY}", "X-Namespace": NAMESPACE}
        )

    def post(self, path, body):
        response = self.session.post(self.base_url + path, json=body, timeout=60)
        assert response.status_code in (200, 201, 202), (path, response.text)
        return response.json()

    def get(self, path):
        response = self.session.get(self.base_url + path, timeout=60)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def wait_for_task(self, task_id):
        for _ in range(600):
            task = self.get(f"/v1/tasks/{task_id}")
            if task["status"] in ("COMPLETED", "FAILED", "CANCELED"):
                assert task["status"] == "COMPLETED", task
                return
            time.sleep(0.1)
        raise AssertionError(f"task {task_id} did not finish")


def seed(base_url):
    """One of every resource; returns the path parameter values that name them."""
    s = Seeder(base_url)
    namespace = s.post("/v1/namespaces", {"namespace_name": NAMESPACE})
    bucket = s.post(
        "/v1/buckets",
        {
            "bucket_name": "docs",
            "bucket_schema": {
                "properties": {"topic": {"type": "string"}, "content": {"type": "text"}}
            },
        },
    )
    texts = [
        ("rivers", "The river carried silt from the mountains down to the delta."),
        ("rivers", "Floods along the river banks renewed the farmland every spring."),
        ("stars", "A telescope gathers starlight to reveal distant galaxies."),
        ("stars", "The night sky showed the planets moving against the fixed stars."),
        ("bread", "The baker kneaded the dough and let it rise before baking."),
        ("bread", "Sourdough bread ferments slowly with wild yeast and bacteria."),
    ]
    objects = s.post(
        f"/v1/buckets/{bucket['bucket_id']}/objects/batch",
        {
            "objects": [
                {"topic": topic, "blobs": [{"property": "content", "type": "text", "data": text}]}
                for topic, text in texts
            ]
        },
    )
    object_id = objects["results"][0]["object_id"] if "results" in objects else None
    if object_id is None:
        listed = s.post(f"/v1/buckets/{bucket['bucket_id']}/objects/list", {})
        object_id = listed["results"][0]["object_id"]
    collection = s.post(
        "/v1/collections",
        {
            "collection_name": "texts",
            "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
            "feature_extractor": {
                "feature_extractor_name": "text_extractor",
                "version": "v1",
                "input_mappings": {"text": "content"},
                "field_passthrough": [{"source_path": "topic"}],
            },
        },
    )
    trigger = s.post(f"/v1/collections/{collection['collection_id']}/trigger", {})
    s.wait_for_task(trigger["task_id"])
    documents = s.post(f"/v1/collections/{collection['collection_id']}/documents/list", {})
    feature = "mixpeek://text_extractor@v1/text_embedding"
    retriever = s.post(
        "/v1/retrievers",
        {
            "retriever_name": "search",
            "collection_identifiers": [collection["collection_id"]],
            "stages": [
                {
                    "stage_name": "search",
                    "config": {
                        "stage_id": "feature_search",
                        "parameters": {
                            "searches": [
                                {
                                    "feature_uri": feature,
                                    "query": {"input_mode": "text", "value": "{{INPUT.query}}"},
                                    "top_k": 5,
                                }
                            ]
                        },
                    },
                }
            ],
        },
    )
    executed = s.post(
        f"/v1/retrievers/{retriever['retriever_id']}/execute", {"inputs": {"query": "river"}}
    )
    interaction = s.post(
        "/v1/retrievers/interactions",
        {
            "execution_id": executed["execution_id"],
            "feature_id": documents["results"][0]["document_id"],
            "interaction_type": ["click"],
            "position": 0,
        },
    )
    taxonomy = s.post(
        "/v1/taxonomies",
        {
            "taxonomy_name": "topics",
            "config": {
                "taxonomy_type": "flat",
                "retriever_id": retriever["retriever_id"],
                "input_mappings": [{"input_key": "query", "source_type": "payload", "path": "text"}],
                "source_collection": {
                    "collection_id": collection["collection_id"],
                    "enrichment_fields": [{"field_path": "topic", "target_field": "topic_label"}],
                },
            },
        },
    )
    cluster = s.post(
        "/v1/clusters",
        {
            "collection_ids": [collection["collection_id"]],
            "cluster_name": "topics",
            "vector_config": {
                "feature_uris": [feature],
                "clustering_method": "kmeans",
                "kmeans_parameters": {"n_clusters": 2, "random_state": 7},
            },
        },
    )
    run = s.post(f"/v1/clusters/{cluster['cluster_id']}/execute", {})
    s.wait_for_task(run["task_id"])
    executions = s.post(f"/v1/clusters/{cluster['cluster_id']}/executions/list", {})
    migration = s.post(
        "/v1/namespaces/migrations/",
        {"config": {"source_namespace_id": namespace["namespace_id"], "migration_type": "copy"}},
    )
    alias = s.post("/v1/namespaces/aliases", {"alias_name": "fuzzalias", "namespace": NAMESPACE})
    return {
        "namespace_identifier": namespace["namespace_id"],
        "alias_name": alias["alias_name"],
        "bucket_identifier": bucket["bucket_id"],
        "object_identifier": object_id,
        "collection_identifier": collection["collection_id"],
        "document_id": documents["results"][0]["document_id"],
        "task_id": trigger["task_id"],
        "retriever_id": retriever["retriever_id"],
        "execution_id": executed["execution_id"],
        "interaction_id": interaction["interaction_id"],
        "taxonomy_identifier": taxonomy["taxonomy_id"],
        "cluster_identifier": cluster["cluster_id"],
        "cluster_id": cluster["cluster_id"],
        "run_id": executions["results"][0]["run_id"],
        "migration_id": migration["migration_id"],
        "feature_extractor_id": "text_extractor_v1",
    }


def schemathesis(base_url, workdir, *selection):
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(workdir / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{base_url}/openapi.json",
        "-H",
        f"Authorization: Bearer {API_KEY}",
        "-H",
        f"X-Namespace: {NAMESPACE}",
        "--checks",
        CHECKS,
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        "--generation-database",
        "none",
        # One worker: Hypothesis describing strategies from several threads at once trips
        # CPython's AST checks (a schemathesis "Runtime Error", not a server one).
        "--workers",
        "1",
        *selection,
    ]
    # In `workdir`, where schemathesis leaves its own state (`.schemathesis/`).
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=workdir)
    # The whole report on failure (pytest shows captured output then), else its summary.
    print(run.stdout if run.returncode else run.stdout[run.stdout.rfind("SUMMARY") :])
    print(run.stderr)
    return run


def test_fuzzing_the_served_schema_finds_no_server_error_or_mismatch(ferry, tmp_path):
    ids = seed(ferry.base_url)
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(
        "[parameters]\n" + "".join(f'"path.{name}" = "{value}"\n' for name, value in ids.items())
    )
    for selection in (["--exclude-method", "DELETE"], ["--include-method", "DELETE"]):
        run = schemathesis(ferry.base_url, tmp_path, *selection)
        assert run.returncode == 0, "schemathesis failed: its report is printed above"
        assert " passed" in run.stdout and "failures" not in run.stdout.splitlines()[-1]
