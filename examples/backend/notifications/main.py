"""notifications: accepts messages to deliver to customers."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
from pakashop_service import Service, log  # noqa: E402

service = Service("notifications")


@service.route("/notify")
def notify(request, body):
    message = json.loads(body or b"{}")
    log(f"queued notification to {message.get('to', '?')}")
    return 202, {"queued": True}


if __name__ == "__main__":
    service.serve()
