"""notifications: a worker that sends the messages other services leave for it.

It listens on no port. A message is a JSON object ({"to": ..., "subject": ...})
in a file of its spool folder: write it under another name (``.tmp``) and
rename it to ``<anything>.json``, so that it is never read half-written. Each
message is sent (here: logged as "sent ...") and moved to ``spool/sent/``; one
that cannot be read is logged as an error and moved to ``spool/failed/``.

The spool is ``shared/spool`` of the service's folder
(``/opt/pakashop/notifications/shared/spool``), the only path its hardened unit
may write; ``$NOTIFICATIONS_SPOOL`` moves it.

Under systemd (``Type=notify``) it tells systemd ``READY=1`` once its spool is
there, with ``STATUS=service=notifications version=<commit>``: the deploy's
gate reads both. Outside systemd it runs all the same. On SIGTERM it finishes
the message in hand and exits 0.
"""

import json
import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
from pakashop_service import RELEASE_ROOT, log, release_commit, sd_notify  # noqa: E402

NAME = "notifications"
# Seconds between two looks at the spool.
POLL_SECONDS = 0.5


def default_spool():
    """shared/spool beside releases/ when deployed, else spool/ beside this service's folder."""
    if RELEASE_ROOT.parent.name == "releases":
        return RELEASE_ROOT.parent.parent / "shared" / "spool"
    return RELEASE_ROOT / "spool"


def send(path, spool):
    """Send one message file, then move it out of the way; whether it was sent."""
    try:
        message = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(message, dict) or not message.get("to"):
            raise ValueError("a message is a JSON object with 'to'")
    except (OSError, ValueError) as exc:
        log(f"could not send {path.name}: {exc}", 3)
        path.replace(spool / "failed" / path.name)
        return False
    log(f"sent {message.get('subject', 'a notification')!r} to {message['to']}")
    path.replace(spool / "sent" / path.name)
    return True


def run(spool, stopping, once=False):
    """Send what lands in the spool until `stopping` is set (or one pass, `once`)."""
    for folder in (spool, spool / "sent", spool / "failed"):
        folder.mkdir(parents=True, exist_ok=True)
    commit = release_commit()
    log(f"{NAME} {commit} sending what lands in {spool}")
    sd_notify(f"READY=1\nSTATUS=service={NAME} version={commit}")
    while not stopping.is_set():
        for path in sorted(spool.glob("*.json")):
            if stopping.is_set():
                break
            send(path, spool)
        if once:
            break
        stopping.wait(POLL_SECONDS)


def main():
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    spool = Path(os.environ.get("NOTIFICATIONS_SPOOL") or default_spool())
    try:
        run(spool, stopping)
    except KeyboardInterrupt:
        pass
    sd_notify("STOPPING=1")
    log(f"{NAME} stopped")


if __name__ == "__main__":
    main()
