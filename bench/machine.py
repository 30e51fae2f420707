"""What machine a benchmark ran on."""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext


def describe() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kb = int(info.readline().split()[1])
            memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "python": sys.version.split()[0],
        "system": f"{platform.system()} {platform.release()}",
    }


def _reference_workload(rows: int = 15_000) -> str:
    """Price, format and JSON round-trip invoice-like lines: the kind of work our code does."""
    cent, rate, total = Decimal("0.01"), Decimal("0.21"), Decimal(0)
    batch: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    with localcontext(Context(prec=28, rounding=ROUND_HALF_EVEN)):
        for i in range(rows):
            quantity = Decimal(i % 7 + 1) / 4
            net = (quantity * Decimal(f"{i % 900}.{i % 100:02d}")).quantize(cent)
            tax = (net * rate).quantize(cent)
            total += net + tax
            client = f"client-{i % 97:03d}"
            seen[client] = seen.get(client, 0) + 1
            batch.append(
                {
                    "id": f"INV-2026-{i:06d}",
                    "client": client,
                    "description": f"{quantity} h of work for {client.upper()} at {net / quantity}",
                    "net": str(net),
                    "tax": str(tax),
                }
            )
            if len(batch) == 50:
                lines = json.loads(json.dumps({"lines": batch}, sort_keys=True))["lines"]
                batch = sorted(lines, key=lambda line: (line["client"], line["id"]))[:5]
    return f"{total}:{len(seen)}:{len(batch)}"


def cpu_reference_ms(runs: int = 5) -> float:
    """Process CPU milliseconds a fixed pure-Python workload takes here, the best of ``runs``.

    Why: the benchmark figures are compared with the previous recorded run, which may have run
    on a faster or slower machine with the same description ("AMD EPYC, 2 cores" says nothing of
    its clock). The workload is deterministic and does what our code does (dicts, lists, string
    formatting, Decimal arithmetic, JSON), so the ratio of two runs' references says how much of
    a throughput change is the machine's. Lower is a faster machine.
    """
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        started = time.process_time()
        _reference_workload()
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)
