"""Fixtures of the system tests: process stacks and the machine's services."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    RABBITMQ_HOST,
    RABBITMQ_PORT,
    RABBITMQ_URL,
    REDIS_HOST,
    REDIS_PORT,
    ProcessStack,
    postgres_role,
    require_port,
)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ProcessStack]:
    processes = ProcessStack(tmp_path)
    yield processes
    processes.close()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the module; dropped at the end."""
    import psycopg

    require_port(POSTGRES_HOST, POSTGRES_PORT, "PostgreSQL")
    role = postgres_role()
    admin_url = f"postgresql://{role}@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres"
    name = f"scriptdeck_sys_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{role}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="module")
def redis_urls() -> Iterator[Callable[[int], str]]:
    """``url(n)``: the Redis database ``n`` for this module; every one handed out is flushed."""
    import redis

    require_port(REDIS_HOST, REDIS_PORT, "Redis")
    used: set[int] = set()

    def url(number: int) -> str:
        used.add(number)
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}"

    yield url
    for number in sorted(used):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
        try:
            client.flushdb()
        finally:
            client.close()


@pytest.fixture(scope="module")
def rabbitmq_url() -> Iterator[str]:
    require_port(RABBITMQ_HOST, RABBITMQ_PORT, "RabbitMQ")
    yield RABBITMQ_URL
