"""moderation: flags product reviews that need a human look."""

import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
from pakashop_service import Service  # noqa: E402

service = Service("moderation")
BLOCKED = {"spam", "scam"}


@service.route("/moderate")
def moderate(request, body):
    text = parse_qs(urlparse(request.path).query).get("text", [""])[0]
    flagged = sorted(BLOCKED & set(text.lower().split()))
    return 200, {"flagged": bool(flagged), "words": flagged}


if __name__ == "__main__":
    service.serve()
