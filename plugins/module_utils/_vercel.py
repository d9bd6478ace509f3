# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private helper of vercel_deployment_info: Vercel's deployments API (list
with filters, get one) and what a deployment's state means for a release.
The token goes only into the Authorization header (module_utils/_api.py)."""

from __future__ import annotations

import datetime
from urllib.parse import quote, urlencode

from ansible_collections.pakashop.infra.plugins.module_utils._api import (
    RETRIES, TIMEOUT, ApiError, JsonApi)

STATES = ("QUEUED", "INITIALIZING", "BUILDING", "READY", "ERROR", "CANCELED")
FINAL = ("READY", "ERROR", "CANCELED")


class VercelError(ApiError):
    pass


class Vercel(JsonApi):
    NAME = "Vercel's API"
    URL_OPTION = "vercel_api_url"

    def __init__(self, api_url, token, team_id=None, timeout=TIMEOUT, retries=RETRIES):
        super().__init__(api_url, token, timeout=timeout, retries=retries)
        self.team_id = team_id

    def refusal(self, status, detail):
        if status in (401, 403):
            return (f"Vercel did not accept the token ({status} {detail}); give a valid vercel_token "
                    f"that may read the project's deployments")
        if status == 404:
            return f"Vercel answered 404 ({detail}): check the project id, team id and deployment id"
        return f"Vercel refused the request: {status} {detail}"

    def _get(self, path, query):
        query = {k: v for k, v in query.items() if v not in (None, "")}
        if self.team_id:
            query["teamId"] = self.team_id
        try:
            return self.call("GET", f"{path}?{urlencode(query)}" if query else path)
        except ApiError as e:
            raise VercelError(str(e), e.status, e.detail) from None

    def deployments(self, project_id, target=None, sha=None, branch=None, state=None, limit=20):
        """The newest deployments first (GET /v6/deployments)."""
        answer = self._get("/v6/deployments", {
            "projectId": project_id, "target": target, "sha": sha, "branch": branch,
            "state": ",".join(state) if state else None, "limit": limit})
        found = [deployment(d) for d in answer.get("deployments", [])]
        return sorted(found, key=lambda d: d["created_ms"], reverse=True)

    def deployment(self, deployment_id):
        """One deployment by id or URL (GET /v13/deployments/{idOrUrl})."""
        return deployment(self._get(f"/v13/deployments/{quote(deployment_id, safe='')}", {}))


def deployment(answer, now=None):
    """A deployment as the module returns it, from either API version."""
    meta = answer.get("meta") or {}
    created = answer.get("createdAt") or answer.get("created") or 0
    url = answer.get("url") or ""
    now = now if now is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()
    return {
        "id": answer.get("uid") or answer.get("id"),
        "url": url if not url or url.startswith("http") else f"https://{url}",
        "state": answer.get("readyState") or answer.get("state") or "QUEUED",
        "target": answer.get("target") or "preview",
        "commit": meta.get("githubCommitSha"),
        "branch": meta.get("githubCommitRef"),
        "created_ms": created,
        "created_at": datetime.datetime.fromtimestamp(created / 1000, datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "age_seconds": max(0, int(now - created / 1000)),
        "inspector_url": answer.get("inspectorUrl"),
    }


def deployment_sentence(found, sha, target):
    """One sentence (without a full stop) on the newest deployment of sha for target."""
    what = f"the Vercel deployment of {sha[:7]}" if sha else "the newest Vercel deployment"
    where = f" for {target}" if target else ""
    if not found:
        return f"there is no Vercel deployment of {sha[:7]}{where} yet" if sha else \
            f"there is no Vercel deployment{where} yet"
    state = found["state"]
    if state == "READY":
        return f"{what}{where} is READY at {found['url']}"
    return f"{what}{where} is {state} ({found['id']}{', ' + found['url'] if found['url'] else ''})"
