"""Stored triage models: the newest active one is what a worker's watcher loads, deactivating
it rolls back to the previous one, and bytes that cannot be loaded leave the current model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY

from opsassist.store.pool import create_pool
from opsassist.store.triage_models import list_models, save_model, set_model_active
from opsassist.streams.agents.tickets import ModelWatcher
from opsassist.streams.triage import TrainingExample, Triager, load_config, train_model
from tests.unit.triage.examples import EXAMPLES

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


async def store(pool: asyncpg.Pool, examples: list[TrainingExample]) -> str:
    model = train_model(examples)
    await save_model(
        pool, version=model.version, model=model.to_bytes(), trained_on={"file": "test"},
        metrics={"c": model.meta["c"]}, created_by="test",
    )  # fmt: skip
    return model.version


def failed_loads() -> float:
    sample = REGISTRY.get_sample_value("opsassist_triage_model_loads_total", {"outcome": "failed"})
    return sample or 0.0


async def test_the_watcher_follows_the_newest_active_model_and_rolls_back(
    pool: asyncpg.Pool,
) -> None:
    triager = Triager(load_config())
    watcher = ModelWatcher(pool, triager)
    assert await watcher.refresh() is False and triager.model is None  # nothing stored

    first = await store(pool, list(EXAMPLES))
    second = await store(pool, [e for e in EXAMPLES if e.label != "question"])
    assert first != second
    assert await watcher.refresh() is True
    assert triager.model is not None and triager.model.version == second
    assert await watcher.refresh() is False  # unchanged: the bytes are not read again

    assert await set_model_active(pool, second, False)
    assert await watcher.refresh() is True
    assert triager.model is not None and triager.model.version == first
    assert not await set_model_active(pool, "no-such-version", False)
    listed = await list_models(pool)
    assert [(m.version, m.active, m.model) for m in listed] == [
        (second, False, b""),
        (first, True, b""),
    ]

    before = failed_loads()
    await save_model(
        pool, version="broken", model=b"not a model", trained_on={}, metrics={},
        created_by="test",
    )  # fmt: skip
    assert await watcher.refresh() is False
    assert triager.model is not None and triager.model.version == first  # kept
    assert failed_loads() == before + 1
    assert await watcher.refresh() is False  # not retried until a newer one is stored
    assert failed_loads() == before + 1

    await set_model_active(pool, "broken", False)
    await set_model_active(pool, first, False)
    assert await watcher.refresh() is True and triager.model is None  # none active: rules only
