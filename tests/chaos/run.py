"""make chaos: run the cases (all, or those named in CHAOS_CASES), write
reports/chaos.md, exit 1 when any case falls short (2 when CHAOS_CASES names
a case there is not)."""

import os
import sys
import traceback
from pathlib import Path

import cases
import report
from lab_ops import CHECKOUT, Lab


def main():
    wanted = [c for c in os.environ.get("CHAOS_CASES", "").split(",") if c]
    unknown = sorted(set(wanted) - {c.__name__ for c in cases.CASES})
    if unknown:
        print(f"chaos: no case {', '.join(unknown)} (CHAOS_CASES); the cases: "
              f"{', '.join(c.__name__ for c in cases.CASES)}", file=sys.stderr)
        return 2
    chosen = [c for c in cases.CASES if not wanted or c.__name__ in wanted]
    lab = Lab()
    lab.sync_backend()
    # staging deployed and healthy, every service, before the first case
    rc = lab.deploy(services="gateway,api,notifications,moderation")[0]
    if rc != 0:
        print("chaos: staging could not be deployed first", file=sys.stderr)
        return 1
    results = []
    out = Path(os.environ.get("CHAOS_REPORT", CHECKOUT / "reports/chaos.md"))
    for case in chosen:
        print(f"chaos: {case.__name__}", flush=True)
        try:
            result = case(lab)
        except Exception as exc:  # pylint: disable=broad-except  # a crashed case is a failed case
            traceback.print_exc()
            result = cases.Result(case.__name__, "runs", f"FAILED: {exc!r}", False, 0, 0)
        print(f"  {'ok' if result.ok else 'FALLS SHORT'}: {result.happened}", flush=True)
        results.append(result)
        report.write(out, results, cases.RATE)
    print(f"chaos: report in {out}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
