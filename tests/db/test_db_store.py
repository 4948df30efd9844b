"""The store on SQLite and PostgreSQL: schema, durability, idempotency, tokens, queries."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from gpufleet.db import migrate
from gpufleet.db.records import Ended, JobSpec, Started
from gpufleet.db.schema import Base
from gpufleet.db.store import Store, database_url
from gpufleet.errors import ConfigError

SPEC = JobSpec(gpus=2, runtime=60.0, time_limit=60.0, command="true", env=(("A", "1"),))


def test_migrations_build_the_models_schema(db_url: str) -> None:
    store = Store(database_url(None, db_url))
    try:
        with store.engine.connect() as conn:
            ctx = MigrationContext.configure(conn)
            assert ctx.get_current_revision() == migrate.head()
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        store.close()


def test_jobs_survive_reopening_and_keep_their_fields(db_url: str) -> None:
    url = database_url(None, db_url)
    store = Store(url)
    rec, created = store.add_job("alice", SPEC, 10.0)
    store.close()
    again = Store(url)  # migrations are applied once; a second open only checks the revision
    try:
        got = again.job(rec.id)
        assert created and got == rec
        assert got is not None and got.to_job().gpus == 2 and got.spec.env == (("A", "1"),)
    finally:
        again.close()


def test_idempotency_keys_are_per_tenant(db_url: str) -> None:
    store = Store(database_url(None, db_url))
    try:
        a, new_a = store.add_job("alice", SPEC, 1.0, "k")
        a2, new_a2 = store.add_job("alice", SPEC, 2.0, "k")
        b, new_b = store.add_job("bob", SPEC, 3.0, "k")
        assert (new_a, new_a2, new_b) == (True, False, True)
        assert a2 == a and b.id != a.id
        assert len(store.jobs()) == 2
        assert [kind for _, kind, _ in store.events(a.id)] == ["submit"]
    finally:
        store.close()


def test_tokens_are_stored_hashed(db_url: str) -> None:
    store = Store(database_url(None, db_url))
    try:
        token = store.add_tenant("alice", admin=True)
        who = store.tenant_for_token(token)
        assert who is not None and who.name == "alice" and who.admin
        assert store.tenant_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert store.tenant_for_token("not-a-token") is None
        with store.engine.connect() as conn:
            row = conn.execute(text("SELECT key_id, salt, token_hash FROM tenants")).one()
        secret = token.split("_", 2)[2]
        assert secret not in "".join(row) and row.key_id in token
        with pytest.raises(ConfigError, match="exists already"):
            store.add_tenant("alice")
    finally:
        store.close()


def test_live_usage_and_transitions(db_url: str) -> None:
    store = Store(database_url(None, db_url))
    try:
        ids = [store.add_job("alice", SPEC, t, None)[0].id for t in (5.0, 1.0, 3.0)]
        assert [r.id for r in store.live().pending] == [ids[1], ids[2], ids[0]]
        alloc = {"cluster": "c", "domains": [[0, [0, 1]]], "nodes": [["c-0000", [0, 1]]]}
        store.record_starts([Started(ids[0], 10.0, "c", "s", alloc, "local")])
        store.record_launched([(ids[0], "123@456")])
        live = store.live()
        assert [r.id for r in live.running] == [ids[0]] and live.running[0].allocation == alloc
        assert live.running[0].executor_id == "123@456"
        assert store.usage(20.0)[0].gpu_seconds == 20.0  # 2 GPUs x 10 s, still running
        store.record_ends([Ended(ids[0], "completed", 40.0, 0), Ended(ids[1], "cancelled", 40.0)])
        # an ended job never changes again
        store.record_ends([Ended(ids[0], "failed", 50.0, 1)])
        assert store.job(ids[0]).state == "completed"  # type: ignore[union-attr]
        [u] = store.usage(100.0, "alice")
        assert (u.jobs, u.gpu_seconds) == (1, 60.0)
        assert [r.id for r in store.jobs(state="pending")] == [ids[2]]
        kinds = [k for _, k, _ in store.events(ids[0])]
        assert kinds == ["submit", "start", "completed"]
    finally:
        store.close()


def test_database_option(tmp_path: Path) -> None:
    assert database_url(tmp_path / "d", None) == f"sqlite:///{tmp_path / 'd' / 'gpufleet.db'}"
    assert database_url(None, "postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ConfigError, match="--database"):
        database_url(None, "mysql://x")
    with pytest.raises(ConfigError, match="database"):
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
