"""Fixtures of the system tests: process stacks and the machine's services."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
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
    RedisBroker,
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
def redis_broker() -> Iterator[RedisBroker]:
    require_port(REDIS_HOST, REDIS_PORT, "Redis")
    broker = RedisBroker()
    yield broker
    broker.clean()


@pytest.fixture(scope="module")
def rabbitmq_url() -> Iterator[str]:
    require_port(RABBITMQ_HOST, RABBITMQ_PORT, "RabbitMQ")
    yield RABBITMQ_URL
