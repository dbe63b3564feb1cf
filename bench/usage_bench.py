"""``make bench-usage``: the usage ledger at scale on PostgreSQL (issue 12), in one command.

    .venv/bin/python bench/usage_bench.py [--events 10000000] [--keys 10000] [--runs 30] [--writer-s 30]

1. ``bench/usage_generate.py``: a fresh database with ``--events`` events over a year and their
   rollups;
2. ``bench/usage_queries.py`` on it: the 1-year summary by group, the 30-day time series of the
   busiest key and last month's report by cost center, through the admin API of a real Headwater
   (and through the storage module directly);
3. the database is dropped (unless ``--keep``);
4. ``bench/usage_writer.py``: the production writer's sustained rate, rollups included, on a database
   of its own.

Prints each step's JSON, then a summary table.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.org_generate import DEFAULT_SERVER, drop_database

from bench import usage_generate, usage_queries, usage_writer


def table(generated: dict[str, Any], queries: dict[str, Any], writer: dict[str, Any]) -> str:
    seconds = generated["seconds"]
    lines = [
        f"generate: {generated['sizes']['events']:,} events, {generated['sizes']['keys']:,} keys: "
        f"{generated['total_s']} s ({seconds['copy']} s COPY, {seconds['indexes']} s indexes), "
        f"{generated['events_per_s_copy']:,} events/s; rows {generated['rows']}",
        "| question | target p95 | HTTP p50 / p95 / max (ms) | direct p50 / p95 (ms) | met |",
        "|---|--:|--:|--:|:-:|",
    ]
    for name, target in usage_queries.TARGETS_MS.items():
        http, direct = queries["http_ms"][name], queries.get("direct_ms", {}).get(name)
        shown = f"{direct['p50']} / {direct['p95']}" if direct else "-"
        met = "yes" if queries["targets_met"][name] else "NO"
        lines.append(
            f"| {name} | {target:g} | {http['p50']} / {http['p95']} / {http['max']} | {shown} | {met} |"
        )
    lines.append(
        f"writer: {writer['events_per_s']:,} events/s sustained over {writer['seconds']} s "
        f"(batch {writer['batch_size']}; target 5,000)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--writer-s", type=float, default=30.0)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    args = parser.parse_args(argv)

    sizes = ["--events", str(args.events), "--keys", str(args.keys), "--server", args.server]
    gen_args = usage_generate.parse([*sizes, "--keep"])
    made = asyncio.run(
        usage_generate.generate(
            usage_generate.Sizes(*(getattr(gen_args, name) for name in usage_generate.SIZE_OPTIONS)),
            server=args.server,
            workers=gen_args.workers,
        )
    )
    generated = made.summary()
    print(orjson.dumps(generated).decode(), flush=True)
    try:
        queries = usage_queries.run(
            usage_queries.parse(["--database-url", made.database_url, "--runs", str(args.runs), "--direct"])
        )
        print(orjson.dumps(queries).decode(), flush=True)
    finally:
        if not args.keep:
            asyncio.run(drop_database(args.server, made.database_url))
    writer = asyncio.run(
        usage_writer.run(usage_writer.parse(["--seconds", str(args.writer_s), "--server", args.server]))
    )
    print(orjson.dumps(writer).decode(), flush=True)
    print(table(generated, queries, writer))
    return 0 if all(queries["targets_met"].values()) and writer["events_per_s"] >= 5000 else 1


if __name__ == "__main__":
    sys.exit(main())
