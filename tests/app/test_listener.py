"""Who is woken by which announcement of a change (``api/listener.py``)."""

from __future__ import annotations

import asyncio

import pytest

from scriptdeck.api.listener import SAFETY_POLL, Listener, Watch


async def waiting(watch: Watch, poll: float = 30.0) -> asyncio.Task[bool]:
    task = asyncio.create_task(watch.wait_end(poll))
    await asyncio.sleep(0)  # let it start waiting
    return task


def connected_listener() -> Listener:
    listener = Listener()
    listener.enabled = False  # no connection of its own: the test plays the notifications
    listener.connected = True
    return listener


def test_a_waiter_for_the_end_sleeps_through_a_start_and_output_and_wakes_at_the_end():
    async def scenario() -> None:
        listener = connected_listener()
        with listener.watch(7) as watch, listener.watch(8) as other:
            task = await waiting(watch)
            listener.wake("7")  # started
            listener.wake("7")  # a batch of output
            listener.wake("8 end")  # another run's end
            for _ in range(10):  # every turn the woken waiter needs to look and sleep again
                await asyncio.sleep(0)
            assert not task.done()
            listener.wake("7 end")
            assert await asyncio.wait_for(task, 5) is True
            assert watch.maybe_ended and other.maybe_ended
            watch.clear()
            assert not watch.maybe_ended

    asyncio.run(scenario())


def test_a_listener_that_lost_or_regained_its_connection_wakes_every_waiter():
    async def scenario() -> None:
        listener = connected_listener()
        with listener.watch(7) as watch:
            task = await waiting(watch)
            listener.wake_all()  # it may have missed the end
            assert await asyncio.wait_for(task, 5) is True
            assert watch.maybe_ended

    asyncio.run(scenario())


@pytest.mark.parametrize("connected", [True, False])
def test_with_no_announcement_the_waiter_reads_at_its_poll(connected):
    async def scenario() -> None:
        listener = connected_listener()
        listener.connected = connected
        with listener.watch(7) as watch:
            loop = asyncio.get_running_loop()
            began = loop.time()
            assert await watch.wait_end(0.05) is False
            # Connected, the poll is only a safety net.
            waited = loop.time() - began
            assert waited >= (SAFETY_POLL if connected else 0.05) - 0.01

    asyncio.run(scenario())


def test_a_payload_that_is_not_an_execution_wakes_no_one():
    async def scenario() -> None:
        listener = connected_listener()
        with listener.watch(7) as watch:
            listener.wake("seven end")
            listener.wake("")
            assert not watch.event.is_set() and not watch.maybe_ended

    asyncio.run(scenario())
