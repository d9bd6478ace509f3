"""make bench: the sections named in BENCH_SECTIONS (default all) into
reports/bench.md and reports/bench.json; exits 1 when a run failed."""

import os
import sys
from pathlib import Path

import report
import scenarios
from timing import CHECKOUT

SECTIONS = {"deploy": scenarios.deploy_kinds, "settings": scenarios.settings, "scaling": scenarios.scaling}


def main():
    wanted = [s for s in os.environ.get("BENCH_SECTIONS", "deploy,settings,scaling").split(",") if s]
    out = Path(os.environ.get("BENCH_REPORTS", CHECKOUT / "reports"))
    results = {}
    for name in wanted:
        print(f"bench: {name}", flush=True)
        results[name] = SECTIONS[name]()
        results["profile"] = {kind: report.profile(tasks) for kind, tasks in scenarios.PROFILES.items()}
        report.write(out, results)
    print(f"bench: {out / 'bench.md'}")
    failed = report.failed_runs(results)
    if failed:
        print(f"bench: a run failed in {', '.join(failed)} (every run in bench.json)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
