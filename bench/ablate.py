"""What each part of Headwater's per-call work costs: ``make bench`` with parts switched off.

Runs ``bench/run.py --only reference,headwater`` once per variant (nothing off, then each part of
``--parts`` off alone, then all of them off), ``--repeat`` times, the variants interleaved, with
``bench/ablation`` on ``PYTHONPATH`` and ``BENCH_ABLATE`` naming the parts (see
bench/ablation/sitecustomize.py for what each part is). The reference proxy runs in every run, so
each variant is read as Headwater's CPU per request over the reference's in the same run; a part's
cost is how much that share drops when the part is off, in µs at the reference's mean CPU per request.
Prints a Markdown table and writes it to bench/results/ablation.md.

    .venv/bin/python bench/ablate.py [--parts journal,usage,deadlines] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("journal", "usage", "store", "metrics", "deadlines")
ROW = re.compile(r"^\| (non-stream|stream) \| (reference|headwater) \| ([\d,]+) \| \d+% \| ([\d,]+) \|")


def one_run(parts: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    """(mode, target) -> (req/s, CPU µs per request) of one bench run with ``parts`` off."""
    env = dict(os.environ, BENCH_ABLATE=",".join(parts))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE / "ablation"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--only", "reference,headwater"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = {}
    for line in done.stdout.splitlines() + done.stderr.splitlines():
        if found := ROW.match(line):
            mode, target, rate, cpu = found.groups()
            rows[(mode, target)] = (int(rate.replace(",", "")), int(cpu.replace(",", "")))
    if len(rows) != 4:
        raise SystemExit(
            f"bench run with {parts or 'nothing'} off failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant, interleaved (2)")
    args = parser.parse_args()
    parts = [part for part in args.parts.split(",") if part]
    if not parts or set(parts) - set(PARTS):
        parser.error(f"--parts: some of {', '.join(PARTS)}")
    variants: list[list[str]] = [[], *([part] for part in parts)]
    if len(parts) > 1:
        variants.append(parts)
    shares: dict[tuple[str, str], list[float]] = {}
    reference: dict[str, list[int]] = {"non-stream": [], "stream": []}
    for round_ in range(args.repeat):
        for variant in variants:
            name = "+".join(variant) or "nothing"
            rows = one_run(variant)
            for mode in ("non-stream", "stream"):
                ref_cpu, own_cpu = rows[(mode, "reference")][1], rows[(mode, "headwater")][1]
                reference[mode].append(ref_cpu)
                shares.setdefault((name, mode), []).append(own_cpu / ref_cpu)
                print(
                    f"round {round_ + 1}, {name} off, {mode}: {own_cpu} µs/req vs reference {ref_cpu}",
                    file=sys.stderr,
                )
    lines = [
        "| off | mode | Headwater CPU / reference CPU | % of reference"
        " | cost of the part (µs/req at the reference's mean) |",
        "|---|---|--:|--:|--:|",
    ]
    for mode in ("non-stream", "stream"):
        ref_mean = statistics.mean(reference[mode])
        base = statistics.mean(shares[("nothing", mode)])
        for variant in variants:
            name = "+".join(variant) or "nothing"
            share = statistics.mean(shares[(name, mode)])
            cost = "–" if not variant else f"{(base - share) * ref_mean:.0f}"
            spread = ", ".join(f"{value:.2f}" for value in shares[(name, mode)])
            lines.append(f"| {name} | {mode} | {share:.2f} ({spread}) | {100 / share:.0f}% | {cost} |")
    lines.append("")
    lines.append(
        f"Reference CPU µs/req, mean: non-stream {statistics.mean(reference['non-stream']):.0f}, "
        f"stream {statistics.mean(reference['stream']):.0f}; {args.repeat} run(s) per variant."
    )
    table = "\n".join(lines)
    print(table)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "ablation.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
