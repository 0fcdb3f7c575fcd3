"""A burst of sign-in attempts on one name cannot take the node's database connections: each attempt waits for
the name's lock, and only SIGN_IN_SLOTS of them wait holding a connection; the rest of the node (pages, API,
inbox) still gets one at once."""

from __future__ import annotations

import asyncio

from probatio.harness import fresh_database
from store import sign_in
from store.db import open_pool


async def test_a_burst_of_attempts_leaves_connections_for_everyone_else(pg_server: str) -> None:
    pool = open_pool(fresh_database(pg_server, "sign_in_slots"), min_size=4, max_size=4)
    await pool.open(wait=True)
    holding = 0
    most = 0

    async def attempt() -> None:
        nonlocal holding, most
        async with sign_in.one_at_a_time(pool, ["name:alice", "address:203.0.113.9"]):
            holding += 1
            most = max(most, holding)
            await asyncio.sleep(0.2)  # an Argon2 check, and the failure counted
            holding -= 1

    try:
        burst = [asyncio.create_task(attempt()) for _ in range(20)]
        await asyncio.sleep(0.1)
        # Meanwhile a page of the node needs a connection: there is one (a PoolTimeout otherwise).
        async with pool.connection(timeout=1.0) as conn:
            assert (await (await conn.execute("SELECT 1 AS one")).fetchone()) == {"one": 1}
        await asyncio.gather(*burst)
    finally:
        await pool.close()
    assert most == 1  # judged one after the other
