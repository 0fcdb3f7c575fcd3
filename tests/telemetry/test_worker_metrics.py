"""The worker process exports Temporal SDK's own metrics on its metrics port: `instrument_worker` makes the
runtime the worker's client is created on export them, and the port serves them beside ours. Run in a process
of its own, as the worker is: the runtime is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from temporalio.client import Client

from probatio.embedded import free_port


def test_the_worker_process_serves_temporals_own_metrics(temporal_client: Client) -> None:
    port = free_port()
    script = textwrap.dedent(f"""
        import asyncio, urllib.request
        from temporalio.client import Client
        from probatio import telemetry
        from probatio.settings import Settings

        async def main() -> None:
            telemetry.instrument_worker(Settings(state="LU", metrics_port={port}, metrics_host="127.0.0.1"))
            client = await Client.connect({temporal_client.service_client.config.target_host!r},
                                          namespace={temporal_client.namespace!r})
            await client.count_workflows()
            for _ in range(50):
                text = urllib.request.urlopen("http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                if "temporal_request" in text:
                    print("TEMPORAL METRICS SERVED")
                    return
                await asyncio.sleep(0.1)
            print(text[:2000])

        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert "TEMPORAL METRICS SERVED" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
