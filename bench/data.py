"""Benchmark `mlpipex data` against DVC on the same files, side by side, and print a table.

    python bench/data.py            # 10k and 100k files of 1 KB, a 1 GB file, a 3-stage repro
    python bench/data.py --quick    # small sizes, to check the script itself

DVC is the one beside this Python (a dev dependency) or, failing that, installed into
bench/.venvs/dvc. Both tools run as command-line processes from fresh git repositories holding
the same files; no-op commands are the median of --repeat runs. It also prints each light
command's import time (`python -X importtime`, top-level modules summed, best and median of
--repeat).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DVC_VENV = HERE / ".venvs" / "dvc"
DVC_SPEC = "dvc==3.67.*"
MLPIPEX = str(Path(sys.executable).parent / "mlpipex")
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}

PIPELINE = """stages:
  prepare: {cmd: "mkdir -p prepared && cp data/* prepared/", deps: [data], outs: [prepared]}
  train: {cmd: "cat prepared/* > model.pkl", deps: [prepared], params: [train.lr],
          outs: [model.pkl]}
  evaluate: {cmd: "wc -c < model.pkl > metrics.json", deps: [model.pkl], metrics: [metrics.json]}
"""


def dvc_bin() -> str:
    beside = Path(sys.executable).parent / "dvc"
    if beside.exists():
        return str(beside)
    exe = DVC_VENV / "bin" / "dvc"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([str(DVC_VENV / "bin" / "pip"), "install", "-q", DVC_SPEC], check=True)
    return str(exe)


def median_run(cmd: list[str], cwd: Path, repeat: int) -> float:
    return statistics.median(run(cmd, cwd) for _ in range(repeat))


def run(cmd: list[str], cwd: Path) -> float:
    """Seconds one command takes; a failure stops the benchmark with its output."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return took


def repo(path: Path, tool: str, dvc: str) -> Path:
    path.mkdir(parents=True)
    run(["git", "init", "-q"], path)
    if tool == "dvc":
        run([dvc, "init", "-q"], path)
    return path


def small_files(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        sub = folder / f"{i // 1000:03}"
        if i % 1000 == 0:
            sub.mkdir()
        (sub / f"{i:06}.bin").write_bytes(os.urandom(1024))


def big_file(path: Path, size: int) -> None:
    chunk = 64 * 1024 * 1024
    with open(path, "wb") as f:
        for start in range(0, size, chunk):
            f.write(os.urandom(min(chunk, size - start)))


def bench_files(work: Path, count: int, dvc: str, repeat: int) -> list[tuple[str, float, float]]:
    source = work / f"files-{count}"
    small_files(source, count)
    times: dict[str, tuple[float, float]] = {}
    for tool, cmd in (("mlpipex", [MLPIPEX, "data"]), ("dvc", [dvc])):
        r = repo(work / f"{tool}-{count}", tool, dvc)
        shutil.copytree(source, r / "data")
        times[tool] = (run([*cmd, "add", "data"], r), median_run([*cmd, "status"], r, repeat))
        shutil.rmtree(r)  # now: 100k files and their cache copies are slow to delete
    shutil.rmtree(source)
    k = f"{count // 1000}k"
    return [
        (f"add {k} files of 1 KB", times["mlpipex"][0], times["dvc"][0]),
        (f"no-op status, {k} files", times["mlpipex"][1], times["dvc"][1]),
    ]


def bench_big(work: Path, size: int, dvc: str) -> list[tuple[str, float, float]]:
    gb = f"{size / 2**30:g} GB" if size >= 2**30 else f"{size // 2**20} MB"
    times = {}
    for tool, cmd in (("mlpipex", [MLPIPEX, "data"]), ("dvc", [dvc])):
        r = repo(work / f"{tool}-big", tool, dvc)
        big_file(r / "big.bin", size)
        if tool == "mlpipex":
            times["cp"] = run(["cp", "big.bin", "big.copy"], r)
            (r / "big.copy").unlink()
        times[tool] = run([*cmd, "add", "big.bin"], r)
        shutil.rmtree(r)
    return [
        (f"add one {gb} file", times["mlpipex"], times["dvc"]),
        (f"plain cp of the {gb} file (mlpipex column)", times["cp"], float("nan")),
    ]


def bench_repro(work: Path, dvc: str, repeat: int) -> list[tuple[str, float, float]]:
    times = {}
    for tool, cmd, name in (("mlpipex", [MLPIPEX], "mlpipex.yaml"), ("dvc", [dvc], "dvc.yaml")):
        r = repo(work / f"{tool}-repro", tool, dvc)
        (r / name).write_text(PIPELINE)
        (r / "params.yaml").write_text("train:\n  lr: 0.1\n")
        (r / "data").mkdir()
        for i in range(10):
            (r / "data" / f"{i}.csv").write_text(f"{i},{i * i}\n")
        run([*cmd, "repro"], r)
        times[tool] = median_run([*cmd, "repro"], r, repeat)
    return [("no-op repro, 3 stages", times["mlpipex"], times["dvc"])]


def import_ms(args: list[str], cwd: Path) -> float:
    """Milliseconds of imports (top-level modules of `-X importtime`, summed) for one command."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlpipex.cli", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in proc.stderr.splitlines():
        parts = line.partition("import time:")[2].split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and parts[2][:2] != "  ":
            total += int(parts[1])  # top-level modules only: their time includes their imports
    return total / 1000


def bench_imports(work: Path, repeat: int) -> list[tuple[str, float, float]]:
    """Import time of the light commands, in a repository with pointers, a pipeline and a
    one-version registry (SQLite)."""
    r = repo(work / "imports", "mlpipex", "")
    (r / "data").mkdir()
    (r / "data" / "a.csv").write_text("x\n1\n")
    (r / "mlpipex.yaml").write_text(PIPELINE)
    (r / "params.yaml").write_text("train:\n  lr: 0.1\n")
    run([MLPIPEX, "data", "add", "data"], r)
    run([MLPIPEX, "repro"], r)
    reg = ["--commit", "c" * 40, "--dataset", "train=data/a.csv", "--metric", "auc=0.9"]
    run([MLPIPEX, "register", "m", "params.yaml", *reg], r)
    run([MLPIPEX, "alias", "set", "m", "champion", "1"], r)
    commands = [["--version"], ["show", "m@champion"], ["data", "status"], ["repro"]]
    out = []
    for c in commands:
        ms = [import_ms(c, r) for _ in range(repeat)]
        out.append((" ".join(c), min(ms), statistics.median(ms)))
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k/5k files and a 64 MB file")
    parser.add_argument("--dir", default=None, help="where to work (default: a temporary folder)")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each no-op command")
    args = parser.parse_args()
    dvc = dvc_bin()
    version = subprocess.run([dvc, "--version"], capture_output=True, text=True).stdout.strip()
    counts, size = ((1_000, 5_000), 64 * 2**20) if args.quick else ((10_000, 100_000), 2**30)
    work = Path(tempfile.mkdtemp(prefix="mlpipex-bench-", dir=args.dir))
    rows: list[tuple[str, float, float]] = []
    steps: list[Callable[[], list[tuple[str, float, float]]]] = [
        *(lambda c=c: bench_files(work, c, dvc, args.repeat) for c in counts),
        lambda: bench_big(work, size, dvc),
        lambda: bench_repro(work, dvc, args.repeat),
    ]
    try:
        imports = bench_imports(work, args.repeat)
        for step in steps:
            new = step()
            rows += new
            for name, ours, theirs in new:  # as they come: a long run is readable when cut short
                print(f"... {name}: mlpipex {ours:.2f} s, dvc {theirs:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {machine()}")
    day = datetime.date.today().isoformat()
    print(f"date: {day}, DVC {version}; add: one run, no-op: median of {args.repeat}\n")
    print("| operation | mlpipex s | dvc s | dvc / mlpipex |")
    print("| --- | ---: | ---: | ---: |")
    for name, ours, theirs in rows:
        ratio = "" if theirs != theirs else f"{theirs / ours:.1f}x"
        theirs_s = "" if theirs != theirs else f"{theirs:.2f}"
        print(f"| {name} | {ours:.2f} | {theirs_s} | {ratio} |")
    print(f"\n| command | import ms, best of {args.repeat} | median | target |")
    print("| --- | ---: | ---: | --- |")
    for name, best, median in imports:
        print(f"| mlpipex {name} | {best:.0f} | {median:.0f} | < 100 |")


if __name__ == "__main__":
    main()
