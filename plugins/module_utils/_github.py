# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private helper: the GitHub REST calls of a release. git_release opens and
merges the pull request of a promotion; github_checks_info reads a commit's
check runs and statuses and the checks a branch's protection requires. The
verdict on a commit's checks is a pure function (checks_verdict), so that the
gate's decisions are tested without a server. The token goes only into the
Authorization header (module_utils/_api.py); no message here contains it."""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.pakashop.infra.plugins.module_utils._api import (
    RETRIES, TIMEOUT, ApiError, JsonApi)

API_VERSION = "2022-11-28"
PAGES = 10  # of 100 check runs each: more than any commit of ours has
# A completed check run with one of these conclusions lets a merge through.
PASSING = ("success", "neutral", "skipped")


class GitHubError(ApiError):
    pass


class GitHub(JsonApi):
    NAME = "GitHub's API"
    URL_OPTION = "github_api_url"
    USER_AGENT = "pakashop.infra"

    def __init__(self, api_url, repository, token, purpose="open pull requests",
                 timeout=TIMEOUT, retries=RETRIES):
        super().__init__(api_url, token, timeout=timeout, retries=retries)
        self.repository = repository
        self.purpose = purpose

    def headers(self):
        return {**super().headers(), "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION}

    def _call(self, method, path, body=None):
        try:
            return self.call(method, f"/repos/{self.repository}{path}", body)
        except ApiError as e:
            raise GitHubError(str(e), e.status, e.detail) from None

    def refusal(self, status, detail):
        if status == 401:
            return f"GitHub did not accept the token ({status} {detail}); give a valid github_token"
        if status in (403, 404):
            return (f"GitHub answered {status} ({detail}) for {self.repository}: check the "
                    f"name and that the token may {self.purpose} there")
        return f"GitHub refused the request on {self.repository}: {status} {detail}"

    # pull requests (git_release)

    def open_pull_request(self, head, base):
        """The open pull request from head to base, or None."""
        owner = self.repository.split("/")[0]
        found = self._call("GET", f"/pulls?state=open&head={quote(owner)}:{quote(head)}"
                                  f"&base={quote(base)}")
        return _summary(found[0]) if found else None

    def create_pull_request(self, head, base, title, body):
        return _summary(self._call("POST", "/pulls",
                                   {"title": title, "head": head, "base": base, "body": body}))

    def pull_request(self, number):
        return _summary(self._call("GET", f"/pulls/{int(number)}"))

    def merge_pull_request(self, number, sha, title):
        """Merge it if its head is still `sha`; the merge commit's sha."""
        try:
            answer = self._call("PUT", f"/pulls/{int(number)}/merge",
                                {"sha": sha, "merge_method": "merge", "commit_title": title})
        except GitHubError as e:
            if e.status in (405, 409, 422):
                raise GitHubError(f"GitHub did not merge pull request #{number} ({e.status} "
                                  f"{e.detail.rstrip('.')}); look at the pull request, then promote "
                                  f"again", e.status, e.detail) from None
            raise
        return answer["sha"]

    # checks (github_checks_info)

    def check_runs(self, ref):
        runs = []
        for page in range(1, PAGES + 1):
            answer = self._call("GET", f"/commits/{quote(ref)}/check-runs?per_page=100&page={page}")
            runs += answer.get("check_runs", [])
            if len(runs) >= answer.get("total_count", 0) or not answer.get("check_runs"):
                break
        return runs

    def statuses(self, ref):
        """The latest status of each context on ref (the combined status)."""
        return self._call("GET", f"/commits/{quote(ref)}/status?per_page=100").get("statuses", [])

    def required_checks(self, branch):
        """The contexts branch protection requires on branch, or None when it
        cannot be read (the branch is not protected, or the token may not read it)."""
        try:
            answer = self._call("GET", f"/branches/{quote(branch, safe='')}/protection/required_status_checks")
        except GitHubError as e:
            if e.status in (403, 404):
                return None
            raise
        names = [c.get("context") for c in answer.get("checks") or []] or answer.get("contexts") or []
        return sorted({n for n in names if n})


def _summary(pull):
    summary = {"number": pull["number"], "url": pull["html_url"]}
    for key in ("state", "merged", "merge_commit_sha"):
        if key in pull:
            summary[key] = pull[key]
    if isinstance(pull.get("head"), dict) and "sha" in pull["head"]:
        summary["head_sha"] = pull["head"]["sha"]
    return summary


# --- the verdict on a commit's checks --------------------------------------

def run_state(run):
    """success, pending or failure of one check run."""
    if run.get("status") != "completed":
        return "pending"
    return "success" if run.get("conclusion") in PASSING else "failure"


def status_state(status):
    """success, pending or failure of one commit status (error counts as failure)."""
    return {"success": "success", "pending": "pending"}.get(status.get("state"), "failure")


def checks(check_runs, statuses):
    """Every check of a commit, one per name: check runs (the newest of a name
    wins, as GitHub shows them) and commit statuses."""
    found = {}
    for run in sorted(check_runs, key=lambda r: (r.get("started_at") or "", r.get("id") or 0)):
        found[run.get("name")] = {
            "name": run.get("name"), "kind": "check_run", "state": run_state(run),
            "detail": run.get("conclusion") or run.get("status") or "queued",
            "url": run.get("html_url") or run.get("details_url")}
    for status in statuses:
        found.setdefault(status.get("context"), {
            "name": status.get("context"), "kind": "status", "state": status_state(status),
            "detail": status.get("state"), "url": status.get("target_url")})
    return [found[name] for name in sorted(found, key=str)]


def checks_verdict(check_runs, statuses, required=None):
    """Whether a commit's checks let it through.

    `required` is the list of contexts branch protection requires, or None
    when it could not be read; then every check counts. A required check that
    has not reported is pending; a commit with no check at all is pending too
    (its CI has not started), unless protection requires none.
    """
    found = checks(check_runs, statuses)
    by_name = {c["name"]: c for c in found}
    if required is not None:
        counted = [by_name.get(name) or {"name": name, "kind": "missing", "state": "pending",
                                         "detail": "not reported", "url": None}
                   for name in required]
    else:
        counted = found
    failing = [c for c in counted if c["state"] == "failure"]
    pending = [c for c in counted if c["state"] == "pending"]
    if failing:
        state = "failure"
    elif pending or (required is None and not found):
        state = "pending"
    else:
        state = "success"
    return {"state": state, "checks": found, "counted": [c["name"] for c in counted],
            "failing": [c["name"] for c in failing], "pending": [c["name"] for c in pending],
            "required": required}


def checks_sentence(verdict, ref, repository):
    """One sentence (without a full stop) on the verdict, naming what is missing and its state."""
    short = ref[:7]
    source = "required by branch protection" if verdict["required"] is not None else "every check"

    def named(names):
        by_name = {c["name"]: c for c in verdict["checks"]}
        return ", ".join(f"{n} {by_name[n]['detail'] if n in by_name else 'not reported'}" for n in names)

    if verdict["state"] == "success":
        counted = ", ".join(verdict["counted"]) or "none required"
        return f"the GitHub checks of {short} on {repository} are green ({source}: {counted})"
    if verdict["state"] == "failure":
        return f"the GitHub checks of {short} on {repository} failed ({named(verdict['failing'])})"
    if not verdict["counted"]:
        return f"no GitHub check has reported on {short} on {repository} yet"
    return f"the GitHub checks of {short} on {repository} are not done ({named(verdict['pending'])})"
