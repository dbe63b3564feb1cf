"""``make bench``: nginx + wrk, direct vs a reference Python proxy vs Headwater, in one run.

Targets, each measured non-streaming and streaming:

* direct                  wrk straight at nginx, which serves static OpenAI-shaped responses;
* reference               bench/refproxy.py, a bare ASGI + aiohttp relay: the ceiling for a Python proxy;
* headwater               ``headwater serve`` (1 worker, SQLite), key auth and usage accounting, a key
                          without an owner, so no policy applies;
* headwater+policy        the same process, a key owned by a user that a policy with (never reached)
                          request and token limits targets: admission reserves and settles on the
                          memory limiter for every call;
* headwater+oidc          the same process, started with HEADWATER_OIDC_ISSUER pointing at a static
                          issuer that nginx serves (bench/oidc.py): an RS256 access token for the
                          policy's user instead of a key, so admission runs as for headwater+policy;
* headwater+policy+redis  a second ``headwater serve`` with the Redis limiter (HEADWATER_REDIS_URL),
                          the same policy and an owned key.
* messages→openai         the headwater process and an owner-less key of its own (no policy), POST
                          /v1/messages (Anthropic Messages API) for the models on nginx's OpenAI
                          answers: translated to chat completions and back (issue 14);
* chat→anthropic          the same, POST /v1/chat/completions for models whose deployment is
                          ``provider: anthropic`` on nginx's canned Messages API answers;
* responses→openai        the same, POST /v1/responses (stored: ``store`` left out) translated to
                          nginx's chat completions.

Per target and mode: a warm-up, throughput (``wrk -t1 -c32``) in rounds interleaved across the
targets, then latency (``wrk -t1 -c1 --latency``); the translated targets' rounds and latency runs are
half as long (common.SHORT), to keep the run short. After the stream latency runs, the stream's time
to first byte at one connection per target (ttfb.py: a blocking-socket client pinned to the load CPU
that reads each chunked response to its end). A full run (no ``--only``) then measures the workers
scaling (scaling.py: ``headwater serve --workers 2`` against 1 worker, both with the Redis settings).
The proxy under test runs on CPU 0, nginx and wrk on CPU 1; one proxy is under load at a time.
Prints a Markdown table and verdicts — issue 16's goals per target and mode (req/s share of the
reference, p50/p99 at one connection and stream TTFB added over the reference, 2 workers' speed-up
and RSS per worker), the earlier 50% goal for headwater+oidc and the translated paths — and writes
them to bench/results/latest.md. The parts: common.py (constants, processes), upstream.py (nginx),
oidc.py (the static issuer, the token), targets.py (the proxies, keys, policy), wrk.py (load and
rounds), report.py (table, verdicts), httpclient.py and ttfb.py (TTFB), scaling.py (workers),
soak.py and aborter.py (``--soak``), pyspy.py (``--profile``).

``--scaling`` runs only the workers scaling and writes bench/results/scaling.md. ``--soak
[--requests N] [--warmup W]`` instead runs one Headwater worker under N requests (1,000,000) of mixed
stream and non-stream load with aborted streams among them and samples its RSS, open file descriptors
and asyncio tasks (``headwater_asyncio_tasks`` on /metrics); it writes bench/results/soak.md.

``--profile`` instead runs Headwater under ``py-spy record`` while wrk drives non-streaming load
and writes the samples plus a summary of the hottest frames to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO

from common import (
    DEFAULT_DURATION_S,
    HEADWATER,
    HOST,
    MODES,
    OIDC,
    POLICY,
    POLICY_REDIS,
    RESULTS,
    ROOT,
    ROUNDS,
    TARGETS,
    TRANSLATED,
    Failed,
    Processes,
    children,
    rss_mib,
)
from oidc import Issuer, start_issuer
from pyspy import profile
from report import environment_lines, table, verdicts
from scaling import benchmark_scaling, scaling_section
from soak import soak
from targets import (
    REDIS_URL,
    Headwater,
    Target,
    check,
    redis_keys,
    redis_reachable,
    redis_version,
    start_headwater,
    start_reference,
    usage_events,
)
from ttfb import Ttfb, run_ttfb, ttfb_table, ttfb_verdicts
from upstream import start_nginx
from wrk import Row, measure


def benchmark(
    procs: Processes, targets: list[str], seconds: int, only: bool = False, with_scaling: bool = False
) -> int:
    rows: list[Row] = []
    ttfb: list[Ttfb] = []
    failures: list[str] = []
    notes: list[str] = []
    nginx, nginx_port = start_nginx(procs)
    upstream = f"http://{HOST}:{nginx_port}"
    workers = children(nginx.process.pid)
    print(f"nginx upstream on {upstream} (temp dir {procs.directory})", flush=True)

    live: dict[str, Target] = {}
    instances: list[Headwater] = []

    def failed(names: list[str], exc: Failed) -> None:
        print(f"\n!!! {', '.join(names)}: {exc}\n", file=sys.stderr, flush=True)
        failures.append(f"{', '.join(names)}: {str(exc).splitlines()[0]}")
        rows.extend(Row(mode, name, note="FAILED") for name in names for mode in MODES)

    def bring_up(names: list[str], start: Callable[[], dict[str, Target]]) -> None:
        """Start what serves ``names``, then check each target (incl. its rate-limit headers) apart."""
        try:
            found = start()
        except Failed as exc:
            failed(names, exc)
            return
        for name in names:
            try:
                if (verify := found[name].verify) is not None:
                    verify()
                for mode in MODES:
                    check(found[name], mode)
            except Failed as exc:
                failed([name], exc)
                continue
            live[name] = found[name]
            print(f"{name} ready on {found[name].base}", flush=True)

    def headwater(names: list[str], redis: bool, issuer: Issuer | None = None) -> dict[str, Target]:
        instance = start_headwater(procs, upstream, names, redis=redis, issuer=issuer)
        instances.append(instance)
        return instance.targets

    if "direct" in targets:
        pid = workers[0] if workers else nginx.process.pid
        bring_up(["direct"], lambda: {"direct": Target("direct", upstream, pid=pid)})
    if "reference" in targets:
        bring_up(["reference"], lambda: {"reference": start_reference(procs, upstream)[1]})
    oidc_issuer: Issuer | None = None
    if OIDC in targets:
        try:
            oidc_issuer = start_issuer(procs.directory, upstream)
            print(f"OIDC issuer {oidc_issuer.url} (served by nginx)", flush=True)
        except Failed as exc:
            failed([OIDC], exc)
    # One process for the three: the issuer setting changes nothing for API keys (hwk_…), which
    # never reach the token verifier.
    memory = [name for name in (HEADWATER, POLICY) if name in targets]
    memory += [OIDC] if oidc_issuer is not None else []
    memory += [name for name in TRANSLATED if name in targets]
    if memory:
        bring_up(memory, lambda: headwater(memory, redis=False, issuer=oidc_issuer))
    if POLICY_REDIS in targets:
        why = None if only else redis_reachable()
        if why is None:
            bring_up([POLICY_REDIS], lambda: headwater([POLICY_REDIS], redis=True))
        else:
            print(f"skipping {POLICY_REDIS}: no Redis at {REDIS_URL} ({why})", file=sys.stderr)
            notes.append(f"- {POLICY_REDIS} skipped: no Redis at {REDIS_URL} ({why}); set BENCH_REDIS_URL")
            rows.extend(Row(mode, POLICY_REDIS, note="skipped: no Redis") for mode in MODES)

    for mode in MODES:
        if live:
            rows += measure(live, mode, seconds, failures)
        if live and mode == "stream":
            ttfb = run_ttfb(live, seconds, failures)
        rows += [
            Row(mode, name, note="FAILED")
            for name in targets
            if not any(r.mode == mode and r.target == name for r in rows)
        ]
    for name, target in live.items():
        rss = rss_mib(target.pid) if target.pid else None
        for row in rows:
            if row.target == name:
                row.rss = rss
    if instances:
        time.sleep(1.5)  # one usage flush interval and then some
    for instance in instances:
        names = list(instance.targets)
        sent = sum(
            r.requests
            for row in rows
            if row.target in names
            for r in (row.throughput, row.latency)
            if r is not None
        )
        recorded = usage_events(instance.base, instance.token)
        served = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        notes.append(
            f"- Usage events recorded by the process serving {served}: "
            f"{'?' if recorded is None else f'{recorded:,}'} (measured requests {sent:,}, plus warm-ups "
            "and checks)"
        )
        if instance.redis_prefix:
            notes.append(
                f"- Redis {redis_version()} at {REDIS_URL}, not pinned: it runs wherever the OS puts it, "
                "so it competes with the proxy or with nginx and wrk for the 2 CPUs"
            )
            with contextlib.suppress(Exception):
                count = redis_keys(instance.redis_prefix)
                notes.append(f"- Redis keys under `{instance.redis_prefix}` at the end: {count} (deleted)")
    errors = sum(row.errors for row in rows if row.target.startswith(HEADWATER))
    errors += sum(r.errors for r in ttfb if r.target.startswith(HEADWATER))
    if errors:
        failures.append(f"Headwater answered {errors} requests with an error or not at all")
    scaled: tuple[str, list[str], list[str]] = ("", [], [])
    if with_scaling:
        for entry in [e for e in procs.started if e is not nginx]:  # only nginx stays up
            procs.stop(entry)
        scaled = scaling_section(procs, upstream, seconds, failures)
        notes += scaled[2]
    procs.stop_all()
    for row in rows:
        if len(row.rounds) > 1:
            rounds = ", ".join(f"{r:,.0f}" for r in row.rounds)
            notes.append(f"- Throughput rounds, {row.mode} {row.target}: {rounds} req/s")

    rows.sort(key=lambda r: (MODES.index(r.mode), TARGETS.index(r.target)))
    report = table(rows)
    if ttfb:
        report += "\n\n" + ttfb_table(ttfb)
    if scaled[0]:
        report += "\n\n" + scaled[0]
    summary = verdicts(rows) + ttfb_verdicts(ttfb) + scaled[1]
    print()
    print(report)
    print()
    for line in summary:
        print(line)
    for failure in failures:
        warning = f"!!! BENCHMARK FAILED: {failure} !!!"
        print("\n" + "!" * len(warning) + "\n" + warning + "\n" + "!" * len(warning), file=sys.stderr)

    RESULTS.mkdir(exist_ok=True)
    text = ["# Headwater benchmark: latest run", "", *environment_lines(seconds), *notes, "", report, ""]
    if summary:
        text += ["\n\n".join(summary), ""]
    text += [f"**FAILED:** {failure}\n" for failure in failures]
    (RESULTS / "latest.md").write_text("\n".join(text))
    print(f"\nwritten to {(RESULTS / 'latest.md').relative_to(ROOT)}")
    headwater_failed = any(f.lower().startswith(HEADWATER) for f in failures)
    return 1 if headwater_failed else 0


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="headwater-bench-"))
    try:
        yield directory
    finally:
        if keep:
            print(f"kept {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def target_list(text: str) -> list[str]:
    """Targets by name; the translated ones may be written with ``->`` or ``-`` for ``→``."""
    aliases = {
        alias: name for name in TRANSLATED for alias in (name.replace("→", "->"), name.replace("→", "-"))
    }
    names = [aliases.get(name.strip(), name.strip()) for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in TARGETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown target {', '.join(unknown)!r}; one of {', '.join(TARGETS)}"
        )
    return [name for name in TARGETS if name in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--duration",
        type=int,
        default=DEFAULT_DURATION_S,
        help=f"seconds of throughput load per target and mode ({DEFAULT_DURATION_S})",
    )
    parser.add_argument(
        "--only",
        type=target_list,
        metavar="TARGET[,TARGET...]",
        help=f"measure only these targets, comma-separated: {', '.join(TARGETS)}",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, configs)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile headwater (or --only reference / headwater+policy / headwater+oidc / "
        "headwater+policy+redis / a translated target) with py-spy instead; "
        "BENCH_PROFILE_MODE=stream for stream load",
    )
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second (100)")
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="only the workers scaling: headwater --workers 2 against 1 worker (bench/scaling.py); "
        "part of a full run (no --only) anyway",
    )
    parser.add_argument(
        "--soak",
        action="store_true",
        help="the soak instead (bench/soak.py): RSS, fds and asyncio tasks over --requests requests",
    )
    parser.add_argument("--requests", type=int, default=1_000_000, help="--soak: requests (1,000,000)")
    parser.add_argument("--warmup", type=int, default=20_000, help="--soak: warm-up requests (20,000)")
    args = parser.parse_args(argv)
    if args.duration < ROUNDS:
        parser.error(f"--duration must be at least {ROUNDS} seconds")
    if args.profile and args.only and (len(args.only) > 1 or args.only == ["direct"]):
        parser.error(
            "--profile profiles one proxy: headwater (default), reference, a headwater+ or translated target"
        )
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is not installed (Debian: apt-get install nginx-light wrk)", file=sys.stderr)
            return 2

    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    with workdir(args.keep) as directory:
        procs = Processes(directory)
        out: IO[str] = sys.stderr
        try:
            if args.profile:
                return profile(procs, args.duration, args.rate, args.only[0] if args.only else HEADWATER)
            if args.soak:
                return soak(procs, args.requests, args.warmup)
            if args.scaling and not args.only:
                return benchmark_scaling(procs, args.duration)
            only = args.only or list(TARGETS)
            return benchmark(
                procs,
                only,
                args.duration,
                only=POLICY_REDIS in (args.only or []),
                with_scaling=args.scaling or not args.only,
            )
        except Failed as exc:
            print(f"\n!!! benchmark failed: {exc}", file=out)
            return 1
        except KeyboardInterrupt:
            print("\ninterrupted; stopping everything", file=out)
            return 130
        finally:
            procs.stop_all()
            print(f"({time.monotonic() - started:.0f} s)", file=out)


if __name__ == "__main__":
    sys.exit(main())
