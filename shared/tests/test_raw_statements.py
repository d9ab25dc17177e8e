"""Statements written for SQLAlchemy, run on asyncpg itself, on real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from leadflow.db import asyncpg_connection, asyncpg_transaction, create_engine, for_asyncpg
from leadflow.settings import normalise_database_url
from sqlalchemy import Integer, String, bindparam, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(normalise_database_url(database_url))
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE notes (id int PRIMARY KEY, body text)")
    yield engine
    await engine.dispose()


async def test_a_core_statement_keeps_its_own_literals_and_takes_the_callers_values(
    engine: AsyncEngine,
) -> None:
    statement = select(
        func.json_build_object(
            "greeting", literal("olá"), "n", bindparam("n", type_=Integer)
        ).label("object"),
        func.coalesce(bindparam("maybe", type_=String), "fallback").label("text"),
    )
    compiled = for_asyncpg(statement)

    async with asyncpg_connection(engine) as connection:
        row = await connection.fetchrow(compiled.sql, *compiled.args({"n": 7, "maybe": None}))

    assert row is not None and row["object"] == {"greeting": "olá", "n": 7}
    assert row["text"] == "fallback"
    with pytest.raises(KeyError, match="'n'"):  # a value the caller must give
        compiled.args({"maybe": None})


async def test_a_name_used_twice_is_one_value_and_a_failed_block_writes_nothing(
    engine: AsyncEngine,
) -> None:
    insert = for_asyncpg(text("INSERT INTO notes VALUES (:id, :body || ' / ' || :body)"))
    count = "SELECT count(*) FROM notes"

    async with asyncpg_transaction(engine) as connection:
        await connection.execute(insert.sql, *insert.args({"id": 1, "body": "a"}))
    with pytest.raises(RuntimeError):
        async with asyncpg_transaction(engine) as connection:
            await connection.execute(insert.sql, *insert.args({"id": 2, "body": "b"}))
            raise RuntimeError("the caller gave up")

    async with asyncpg_connection(engine) as connection:
        assert await connection.fetchval(count) == 1
        assert await connection.fetchval("SELECT body FROM notes WHERE id = 1") == "a / a"


async def test_a_connection_left_inside_a_transaction_is_not_handed_out_again(
    engine: AsyncEngine,
) -> None:
    async with asyncpg_connection(engine) as connection:
        await connection.execute("BEGIN")
        await connection.execute("INSERT INTO notes VALUES (3, 'never committed')")
        abandoned = connection

    async with asyncpg_connection(engine) as connection:
        assert connection is not abandoned and not connection.is_in_transaction()
        assert await connection.fetchval("SELECT count(*) FROM notes") == 0
