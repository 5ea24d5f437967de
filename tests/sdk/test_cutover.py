"""Cutover of a namespace alias (Ferry's extension) with the official SDK, unmodified.

Every data call goes through the alias: the SDK's clients carry it as their `X-Namespace`.
A writer thread keeps creating and deleting objects through it while a migration runs and
the alias is cut over to the migration's target. A write refused by the cutover's short
freeze (503 `namespace_frozen`, with `Retry-After`) or by the retired source (409
`namespace_read_only`) is retried, as a client of such a system would. Afterwards every
acknowledged create is in the new namespace and every acknowledged delete is not; a rollback
restores the old target. The cutover and rollback themselves are Ferry's endpoints, called
with the SDK's raw client and checked against the served `/openapi.json`.
"""

import threading
import time

from mixpeek.api.bucket_objects_api import BucketObjectsApi
from mixpeek.api.namespace_migrations_api import NamespaceMigrationsApi
from mixpeek.api.namespaces_api import NamespacesApi
from mixpeek.exceptions import ApiException
from mixpeek.models.create_migration_request import CreateMigrationRequest
from mixpeek.models.create_namespace_request import CreateNamespaceRequest
from mixpeek.models.create_object_request import CreateObjectRequest
from mixpeek.models.error_response import ErrorResponse
from mixpeek.models.start_migration_request import StartMigrationRequest

from test_aliases import ALIASES, make_bucket, namespaced
from test_evaluations import call, check, openapi
from test_migrations import wait_for_migration

CUTOVER = "/v1/namespaces/aliases/{alias_name}/cutover"
ROLLBACK = "/v1/namespaces/aliases/{alias_name}/rollback"
RETRYABLE = {503: "namespace_frozen", 409: "namespace_read_only"}


class Writer(threading.Thread):
    """Creates objects through the alias until stopped, deleting every third one it made."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.api = BucketObjectsApi(client)
        self.stop = threading.Event()
        self.created, self.deleted, self.refused = [], [], 0
        self.error = None

    def retrying(self, call):
        while True:
            try:
                return call()
            except ApiException as e:
                code = ErrorResponse.from_json(e.body).error.code
                if RETRYABLE.get(e.status) != code:
                    raise
                if e.status == 503:
                    assert e.headers.get("Retry-After"), "a freeze answers with Retry-After"
                self.refused += 1
                time.sleep(0.02)

    def run(self):
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                request = CreateObjectRequest.from_dict({"title": f"written {n}"})
                created = self.retrying(
                    lambda: self.api.create_object_buckets("products", request)
                )
                self.created.append(created.object_id)
                if n % 3 == 0:
                    victim = self.created.pop(0)
                    self.retrying(lambda: self.api.delete_object_buckets("products", victim))
                    self.deleted.append(victim)
        except Exception as e:  # reported by the test, not lost in the thread
            self.error = e


def test_a_writer_through_the_alias_loses_nothing_across_cutover_and_rollback(
    ferry, api_client
):
    doc = openapi(ferry)
    namespaces = NamespacesApi(api_client)
    old = namespaces.create_namespace(CreateNamespaceRequest(namespace_name="shop-v1"))
    status, alias = call(api_client, "POST", ALIASES, {"alias_name": "shop", "namespace": "shop-v1"})
    assert status == 200, alias

    with namespaced(ferry, "shop") as via_alias:
        make_bucket(via_alias, "products")
        objects = BucketObjectsApi(via_alias)
        for i in range(30):
            objects.create_object_buckets(
                "products", CreateObjectRequest.from_dict({"title": f"seed {i}"})
            )
        writer = Writer(via_alias)
        writer.start()
        time.sleep(0.3)

        # The migration reads the source through the alias too; ids are kept, so the
        # writer's ids stay valid through the alias after the cutover.
        migrations = NamespaceMigrationsApi(via_alias)
        created = migrations.create_migration_namespaces(
            CreateMigrationRequest.from_dict(
                {
                    "config": {
                        "migration_type": "copy",
                        "source_namespace_id": "shop",
                        "target_namespace_name": "shop-v2",
                        "preserve_resource_ids": True,
                        "batch_options": {"batch_size": 5, "max_workers": 2},
                    }
                }
            )
        )
        migrations.start_migration_namespaces(
            created.migration_id, StartMigrationRequest(force=True)
        )
        done = wait_for_migration(migrations, created.migration_id)
        assert done.status.value == "completed", done.error_message
        time.sleep(0.3)

        params = {"alias_name": "shop"}
        status, cut = call(
            api_client, "POST", CUTOVER, {"migration_id": created.migration_id}, params
        )
        assert status == 200, cut
        check(doc, CUTOVER, "post", status, cut)
        time.sleep(0.3)
        writer.stop.set()
        writer.join(timeout=30)
        assert writer.error is None, writer.error
        assert len(writer.created) > 3 and writer.deleted, "the writer wrote throughout"

        assert cut["alias"]["namespace_name"] == "shop-v2"
        assert cut["catch_up"]["passes"] == 2
        assert cut["catch_up"]["objects_written"] > 0, cut
        assert cut["alias"]["history"][-1]["started_by"] == "cutover"
        assert cut["alias"]["history"][-1]["migration_id"] == created.migration_id

        # Every acknowledged create is in the new namespace (where the alias points now),
        # every acknowledged delete is not.
        new_objects = BucketObjectsApi(via_alias)
        for object_id in writer.created:
            assert new_objects.get_object_buckets("products", object_id).object_id == object_id
        for object_id in writer.deleted:
            try:
                new_objects.get_object_buckets("products", object_id)
                raise AssertionError(f"{object_id} was deleted, yet it is in the new namespace")
            except ApiException as e:
                assert e.status == 404

        # The old namespace is read-only; rollback makes it the alias's target again.
        with namespaced(ferry, "shop-v1") as via_old:
            try:
                BucketObjectsApi(via_old).create_object_buckets(
                    "products", CreateObjectRequest.from_dict({"title": "too late"})
                )
                raise AssertionError("the retired namespace took a write")
            except ApiException as e:
                assert e.status == 409
                assert ErrorResponse.from_json(e.body).error.code == "namespace_read_only"

            status, rolled = call(api_client, "POST", ROLLBACK, None, params)
            assert status == 200, rolled
            check(doc, ROLLBACK, "post", status, rolled)
            assert rolled["alias"]["namespace_id"] == old.namespace_id
            assert rolled["migration_id"] == created.migration_id
            back = objects.create_object_buckets(
                "products", CreateObjectRequest.from_dict({"title": "after the rollback"})
            )
            assert objects.get_object_buckets("products", back.object_id).object_id == back.object_id
