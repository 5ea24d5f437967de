"""Fixtures for the SDK leg: a real `ferry serve` process per test, over a fresh store.

Each test runs against SQLite, and against PostgreSQL when FERRY_TEST_DATABASE_URL is set
(a database is created for the test and dropped after it).
"""

import os
import queue
import secrets
import subprocess
import tempfile
import threading
from urllib.parse import urlsplit, urlunsplit

import mixpeek
import pytest

API_KEY = "sk_sdk_conformance_key_000000000000000001"
FERRY_BIN = os.environ.get("FERRY_BIN", "target/debug/ferry")
PG_URL = os.environ.get("FERRY_TEST_DATABASE_URL") or None

if os.environ.get("CI") == "true" and PG_URL is None:
    raise RuntimeError("CI=true but FERRY_TEST_DATABASE_URL is unset")


def _stores():
    yield "sqlite"
    if PG_URL:
        yield "postgres"


@pytest.fixture
def pg_database():
    """A fresh PostgreSQL database URL, dropped after the test."""
    import psycopg

    name = f"ferry_sdk_{secrets.token_hex(8)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(PG_URL)
    yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class FerryProcess:
    """`ferry serve` on a random port; `base_url` is read from what it prints."""

    def __init__(self, data_dir, database_url):
        env = dict(os.environ, FERRY_API_KEY=API_KEY, FERRY_DATA_DIR=data_dir)
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        self.proc = subprocess.Popen(
            [FERRY_BIN, "serve", "--bind", "127.0.0.1:0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True
        ).start()
        while True:
            line = lines.get(timeout=60)
            if line.startswith("ferry listening on "):
                self.base_url = line.split()[3]
                break

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=30) == 0, "ferry exits 0 on SIGTERM"


@pytest.fixture(params=list(_stores()))
def ferry(request):
    with tempfile.TemporaryDirectory() as data_dir:
        database_url = (
            request.getfixturevalue("pg_database") if request.param == "postgres" else None
        )
        process = FerryProcess(data_dir, database_url)
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture
def api_client(ferry):
    config = mixpeek.Configuration(host=ferry.base_url, access_token=API_KEY)
    with mixpeek.ApiClient(config) as client:
        yield client


@pytest.fixture
def scoped_client(ferry, api_client):
    """An SDK client whose requests carry `X-Namespace: sdk-data` (the namespace is created)."""
    from mixpeek.api.namespaces_api import NamespacesApi
    from mixpeek.models.create_namespace_request import CreateNamespaceRequest

    NamespacesApi(api_client).create_namespace(CreateNamespaceRequest(namespace_name="sdk-data"))
    config = mixpeek.Configuration(
        host=ferry.base_url, access_token=API_KEY, api_key={"NamespaceHeader": "sdk-data"}
    )
    with mixpeek.ApiClient(config) as client:
        yield client
