"""The PostgreSQL runner's pool keeps its bookkeeping under contention: never more connections
than its size, a connection given back goes to the first waiter, a freed slot too, and a waiter
that gives up leaves nothing behind. (Its connections here are stand-ins: what is tested is the
pool's own accounting; the suite runs the runner itself against PostgreSQL.)"""

import asyncio
from typing import Any

import pytest

from app.core.postgres import _Pool


class Connection:
    def __init__(self) -> None:
        self.closed = False

    def is_closed(self) -> bool:
        return self.closed

    def terminate(self) -> None:
        self.closed = True

    async def close(self) -> None:
        self.closed = True


class Opener:
    def __init__(self) -> None:
        self.opened: list[Connection] = []

    async def __call__(self) -> Any:
        await asyncio.sleep(0)
        self.opened.append(Connection())
        return self.opened[-1]

    @property
    def live(self) -> int:
        return sum(not c.closed for c in self.opened)


def test_a_closed_connections_slot_goes_to_a_waiter_and_the_size_holds() -> None:
    async def scenario() -> None:
        opener = Opener()
        pool = _Pool(opener, 1)
        first = await pool.take()
        waiting = asyncio.ensure_future(pool.take())
        await asyncio.sleep(0)
        pool.close_one(first)  # its slot goes to the waiter ...
        newcomer = asyncio.ensure_future(pool.take())  # ... not to a request arriving now
        await asyncio.sleep(0.01)
        assert waiting.done() and not newcomer.done()
        assert opener.live == 1
        pool.give_back(waiting.result())
        assert await newcomer is waiting.result()
        assert opener.live == 1

    asyncio.run(scenario())


def test_a_waiter_that_gives_up_leaves_the_pool_usable() -> None:
    async def scenario() -> None:
        opener = Opener()
        pool = _Pool(opener, 1)
        held = await pool.take()
        gives_up = asyncio.ensure_future(pool.take())
        await asyncio.sleep(0)
        gives_up.cancel()
        pool.give_back(held)  # pops the cancelled waiter first
        with pytest.raises(asyncio.CancelledError):
            await gives_up
        assert await pool.take() is held
        assert opener.live == 1

    asyncio.run(scenario())
