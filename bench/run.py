"""Run every benchmark in turn (`make bench`). Each prints its figures; the recorded results
live in bench/RESULTS.md and bench/results/*.md. Extra arguments go to every benchmark."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "emulator_bench.py",
    "index_refresh_bench.py",
    "sessions_query_bench.py",
    "revocation_bench.py",
    "report_bench.py",
    "metrics_bench.py",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        result = subprocess.run([sys.executable, str(HERE / name), *sys.argv[1:]], check=False)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
