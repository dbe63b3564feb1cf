"""Organisation scale (issue 11): two replicas on PostgreSQL + Redis, changes on one, load on the other.

    .venv/bin/python bench/org_scenario.py                          # 100k keys, 60 s phases
    .venv/bin/python bench/org_scenario.py --keys 10000 --users 2000 --groups 200 --policies 100 \\
        --models 50 --phase-s 10                                    # a quick run

Steps:

1. ``headwater sim`` as the upstream with a fixed delay (``--upstream-ms``, 100 ms: time to first
   token, no per-token delay), then the organisation (bench/org_generate.py) in a fresh database;
2. replica A, then replica B: ``headwater serve --workers 1`` each, on that database and Redis
   (HEADWATER_REDIS_URL, a prefix of their own): cold start to ready (/readyz) and RSS at ready;
3. quiet phase: wrk at ``-c32`` through B's gateway (a generated key, a generated model) for
   ``--phase-s``; B's longest event-loop stall (headwater_event_loop_lag_max_seconds, read and reset
   by each scrape) and RSS;
4. change phase: the same load on B while keys are created and revoked through A's admin API at
   ``--rate`` per second (half each; every revocation is of a key this run created): the API's
   latency, B's latency, B's longest stall, B's RSS after;
5. propagation, after B settles: ``--samples`` times, create a key on A and time until B accepts it
   (GET /v1/models/<model> polled with it), then revoke it on A and time until B refuses it.

Everything runs on this machine, unpinned: wrk, the simulator, PostgreSQL, Redis and both replicas
compete for its cores. Prints a table; writes JSON to bench/results/org-<time>.json. Stops every
process, drops the database and deletes the Redis keys however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from common import HOST, LUA, RESULTS, VENV_BIN, Failed, Processes, Started, free_port, rss_mib, wait_http
from org_generate import DEFAULT_SERVER, Sizes, drop_database, generate, names
from targets import REDIS_URL, clean_env, redis_keys, redis_reachable
from wrk import parse_wrk

LAG = "headwater_event_loop_lag_max_seconds"
IN_FLIGHT = 32  # admin calls at once, at most
CALL_TIMEOUT_S = 30.0
GRACE_S = 10.0  # after a phase, for the calls still in flight


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def lag_max(base: str) -> float:
    """B's longest stall since the previous scrape (the scrape resets it)."""
    for line in httpx.get(f"{base}/metrics", timeout=30).text.splitlines():
        if line.startswith(LAG + " "):
            return float(line.split()[1])
    raise Failed(f"{base}/metrics has no {LAG}")


def start_replica(procs: Processes, name: str, env: dict[str, str]) -> tuple[Started, str, float]:
    port = free_port()
    argv = [str(VENV_BIN / "headwater"), "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
    began = time.perf_counter()
    entry = procs.start(name, argv, env)
    base = f"http://{HOST}:{port}"
    wait_http(f"{base}/readyz", entry, timeout=120)
    return entry, base, time.perf_counter() - began


def start_wrk(base: str, key: str, model: str, seconds: int, connections: int) -> subprocess.Popen[str]:
    body = orjson.dumps(
        {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}
    ).decode()
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
    ]
    env = {**os.environ, "BENCH_BODY": body, "BENCH_KEY": key}
    return subprocess.Popen(
        [*argv, f"{base}/v1/chat/completions"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_wrk(process: subprocess.Popen[str], seconds: int) -> dict[str, Any]:
    out, err = process.communicate(timeout=seconds + 60)
    if process.returncode != 0 or "Requests/sec" not in out:
        raise Failed(f"wrk failed (code {process.returncode}):\n{out}\n{err}")
    result = parse_wrk(out)
    return {"requests": result.requests, "rps": round(result.requests_per_s, 1), "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms, "errors": result.errors}  # fmt: skip


async def churn(base: str, token: str, owners: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """Create and revoke keys through ``base``'s admin API at ``rate`` per second for ``seconds``.

    At most :data:`IN_FLIGHT` calls at once: past that the API is the bottleneck (the rate achieved
    says so). A call that fails or takes over :data:`CALL_TIMEOUT_S` counts as a failure; calls still
    unanswered :data:`GRACE_S` after the phase are abandoned and counted as such."""
    headers = {"Authorization": f"Bearer {token}"}
    created: list[str] = []
    latency: dict[str, list[float]] = {"create": [], "revoke": []}
    failures = 0
    in_flight: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    client = httpx.AsyncClient(
        base_url=f"{base}/api/v1", headers=headers, timeout=CALL_TIMEOUT_S, limits=limits
    )
    async with client as api:

        async def one(number: int) -> None:
            nonlocal failures
            began = time.perf_counter()
            kind = "create" if number % 2 == 0 or not created else "revoke"
            try:
                if kind == "create":
                    owner = owners[number % len(owners)]
                    answer = await api.post("/keys", json={"name": f"churn-{number}", "owner": owner})
                    if answer.status_code == 201:
                        created.append(answer.json()["id"])
                else:
                    answer = await api.post(f"/keys/{created.pop(0)}/revoke")
            except httpx.HTTPError:
                failures += 1
                return
            if answer.status_code >= 300:
                failures += 1
            latency[kind].append(1000 * (time.perf_counter() - began))

        start = time.perf_counter()
        number = 0
        while (now := time.perf_counter() - start) < seconds:
            due = number / rate
            if due > now:
                await asyncio.sleep(due - now)
                continue
            if len(in_flight) < IN_FLIGHT:
                task = asyncio.create_task(one(number))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            number += 1
        elapsed = time.perf_counter() - start
        _, abandoned = await asyncio.wait(in_flight, timeout=GRACE_S) if in_flight else (set(), set())
        for task in abandoned:
            task.cancel()
        await asyncio.gather(*abandoned, return_exceptions=True)
    done = len(latency["create"]) + len(latency["revoke"])
    return {
        "offered": number,
        "changes": done,
        "rate_achieved": round(done / elapsed, 1),
        "failures": failures,
        "abandoned": len(abandoned),
        **{f"{kind}_{q}_ms": _round(pct(values, q)) for kind, values in latency.items() for q in (50, 95)},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def until(check: Any, timeout: float = 30.0) -> float:
    """Seconds until ``check()`` holds (polled as fast as it answers)."""
    began = time.perf_counter()
    while not check():
        if time.perf_counter() - began > timeout:
            raise Failed(f"not propagated within {timeout} s")
    return time.perf_counter() - began


def propagation(a: str, b: str, token: str, owner: str, model: str, samples: int) -> dict[str, Any]:
    new_ms: list[float] = []
    revoked_ms: list[float] = []
    api_ms: list[float] = []
    admin = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=f"{a}/api/v1", headers=admin, timeout=60) as api,
        httpx.Client(base_url=b, timeout=30) as gateway,
    ):

        def status(key: str) -> int:
            return gateway.get(f"/v1/models/{model}", headers={"Authorization": f"Bearer {key}"}).status_code

        for number in range(samples):
            began = time.perf_counter()
            made = api.post("/keys", json={"name": f"propagation-{number}", "owner": owner})
            made.raise_for_status()
            api_ms.append(1000 * (time.perf_counter() - began))
            key, key_id = made.json()["key"], made.json()["id"]
            new_ms.append(1000 * until(lambda key=key: status(key) == 200))
            api.post(f"/keys/{key_id}/revoke").raise_for_status()
            revoked_ms.append(1000 * until(lambda key=key: status(key) == 401))
            time.sleep(0.5)
    return {"create_api_ms": [round(v, 1) for v in api_ms], "new_key_ms": [round(v, 1) for v in new_ms],
            "revoked_ms": [round(v, 1) for v in revoked_ms]}  # fmt: skip


def run(args: argparse.Namespace, procs: Processes, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "pinned": False}, "options": vars(args)}
    sim_port = free_port()
    sim = procs.start("sim", [str(VENV_BIN / "headwater"), "sim", "--port", str(sim_port), "--ttft-ms",
                              str(args.upstream_ms), "--tokens-per-second", "0"])  # fmt: skip
    wait_http(f"http://{HOST}:{sim_port}/health", sim)
    sizes = Sizes(args.keys, args.users, args.groups, args.policies, args.models, sample=200)
    keys_file = work / "keys.jsonl"
    print(f"generating {sizes} ...", flush=True)
    org = asyncio.run(generate(sizes, f"http://{HOST}:{sim_port}/v1", keys_file, server=args.server))
    procs.cleanups.append(lambda: asyncio.run(drop_database(args.server, org.database_url)))
    results["generate"] = org.summary()
    print(f"generated in {org.summary()['total_s']} s: {org.seconds}", flush=True)
    sample = [orjson.loads(line) for line in keys_file.read_text().splitlines()]
    prefix = f"hworg:{secrets.token_hex(6)}:"
    procs.cleanups.append(lambda: print(f"deleted {redis_keys(prefix, delete=True)} Redis keys {prefix}*"))
    token = "hwadm_" + secrets.token_urlsafe(24)
    env = clean_env(
        HEADWATER_DATABASE_URL=org.database_url,
        HEADWATER_ADMIN_TOKEN=token,
        HEADWATER_REDIS_URL=REDIS_URL,
        HEADWATER_REDIS_PREFIX=prefix,
        HEADWATER_LOG_LEVEL="warning",
    )
    replica_a, a, a_ready = start_replica(procs, "replica-a", env)
    replica_b, b, b_ready = start_replica(procs, "replica-b", env)
    rss_b = lambda: rss_mib(replica_b.process.pid)  # noqa: E731
    results["start"] = {"ready_a_s": round(a_ready, 2), "ready_b_s": round(b_ready, 2),
                        "rss_a_mib": rss_mib(replica_a.process.pid), "rss_b_mib": rss_b()}  # fmt: skip
    print(f"ready: A {a_ready:.2f} s, B {b_ready:.2f} s", flush=True)
    key = sample[0]["key"]
    # the first model: open (one in ten, the tenth, is restricted), covered by the policies with "all"
    model = names("org-model-", args.models)[0]
    call = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        for _ in range(20):  # warm-up: B's pools, the plan cache, the limiter
            client.post(f"{b}/v1/chat/completions", json=call).raise_for_status()
    owners = sorted({entry["owner"] for entry in sample})
    for phase in ("quiet", "changes"):
        lag_max(b)  # reset: the phase's maximum only
        rss_before = rss_b()
        print(f"{phase}: {args.phase_s} s of wrk -c{args.connections} on B ...", flush=True)
        load = start_wrk(b, key, model, args.phase_s, args.connections)
        changes = None
        if phase == "changes":
            changes = asyncio.run(churn(a, token, owners, args.rate, args.phase_s))
        results[phase] = {
            "b": finish_wrk(load, args.phase_s),
            "lag_max_ms": round(1000 * lag_max(b), 1),
            "rss_b_before_mib": rss_before,
            "rss_b_after_mib": rss_b(),
            "api": changes,
        }
    time.sleep(3)  # B works off the changes still queued
    results["propagation"] = propagation(a, b, token, owners[0], model, args.samples)
    results["end"] = {"rss_a_mib": rss_mib(replica_a.process.pid), "rss_b_mib": rss_b()}
    return results


def table(r: dict[str, Any]) -> str:
    q, c, p = r["quiet"], r["changes"], r["propagation"]
    api = c["api"] or {}
    rows = [
        ("generate (SQL COPY)", f"{r['generate']['total_s']} s"),
        ("cold start to ready, A / B", f"{r['start']['ready_a_s']} s / {r['start']['ready_b_s']} s"),
        ("RSS at ready, A / B", f"{r['start']['rss_a_mib']:.0f} / {r['start']['rss_b_mib']:.0f} MiB"),
        ("B quiet: req/s, p50 / p99", f"{q['b']['rps']}, {q['b']['p50_ms']} / {q['b']['p99_ms']} ms"),
        ("B quiet: longest loop stall", f"{q['lag_max_ms']} ms"),
        ("B changes: req/s, p50 / p99", f"{c['b']['rps']}, {c['b']['p50_ms']} / {c['b']['p99_ms']} ms"),
        ("B changes: longest loop stall", f"{c['lag_max_ms']} ms"),
        ("B errors quiet / changes", f"{q['b']['errors']} / {c['b']['errors']}"),
        ("A changes offered / made (rate achieved)",
         f"{api.get('offered')} / {api.get('changes')} ({api.get('rate_achieved')}/s)"),
        ("A changes failed / abandoned", f"{api.get('failures')} / {api.get('abandoned')}"),
        ("A create p50 / p95", f"{api.get('create_50_ms')} / {api.get('create_95_ms')} ms"),
        ("A revoke p50 / p95", f"{api.get('revoke_50_ms')} / {api.get('revoke_95_ms')} ms"),
        ("B RSS: start / after quiet / after changes",
         f"{r['start']['rss_b_mib']:.0f} / {q['rss_b_after_mib']:.0f} / {c['rss_b_after_mib']:.0f} MiB"),
        ("new key works on B after (ms)", ", ".join(f"{v:g}" for v in p["new_key_ms"])),
        ("revoked key refused on B after (ms)", ", ".join(f"{v:g}" for v in p["revoked_ms"])),
        ("create on A, settled (ms)", ", ".join(f"{v:g}" for v in p["create_api_ms"])),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sizes = Sizes()
    for name in ("keys", "users", "groups", "policies", "models"):
        parser.add_argument(f"--{name}", type=int, default=getattr(sizes, name))
    parser.add_argument("--phase-s", type=int, default=60, help="seconds of load per phase")
    parser.add_argument("--rate", type=float, default=20.0, help="key changes per second on A")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--upstream-ms", type=float, default=100.0, help="the simulator's fixed delay")
    parser.add_argument("--samples", type=int, default=5, help="propagation samples")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL (any database of the cluster)")
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/org-<time>.json)")
    args = parser.parse_args()
    if (why := redis_reachable()) is not None:
        print(f"Redis at {REDIS_URL} is unreachable ({why}); set BENCH_REDIS_URL", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="hw-org-") as directory:
        procs = Processes(Path(directory))
        try:
            results = run(args, procs, Path(directory))
        except Failed as exc:
            print(f"failed: {exc}", file=sys.stderr)
            return 1
        finally:
            with contextlib.suppress(KeyboardInterrupt):
                procs.stop_all()
    print(table(results))
    out = args.out or RESULTS / f"org-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results["options"] = {k: str(v) for k, v in results["options"].items()}
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
