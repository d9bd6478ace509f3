# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private helper of pakashop.infra.git_release: the two GitHub REST calls a
promotion by pull request needs (find an open one, open one). The token goes
only into the Authorization header; no message here contains it."""

from __future__ import annotations

import json
from urllib.error import HTTPError, URLError
from urllib.parse import quote

from ansible.module_utils.urls import open_url

API_VERSION = "2022-11-28"
TIMEOUT = 30


class GitHubError(Exception):
    pass


class GitHub:
    def __init__(self, api_url, repository, token):
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self._token = token

    def _call(self, method, path, body=None):
        headers = {"Accept": "application/vnd.github+json",
                   "Authorization": f"Bearer {self._token}",
                   "X-GitHub-Api-Version": API_VERSION,
                   "User-Agent": "pakashop.infra.git_release"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = f"{self.api_url}/repos/{self.repository}{path}"
        try:
            with open_url(url, data=data, headers=headers, method=method, timeout=TIMEOUT,
                          follow_redirects="none") as answer:
                return json.loads(answer.read() or b"null")
        except HTTPError as e:
            raise GitHubError(self._refusal(e)) from None
        except URLError as e:
            raise GitHubError(f"cannot reach GitHub's API at {self.api_url} ({e.reason}); "
                              f"check github_api_url and the network") from None

    def _refusal(self, error):
        try:
            detail = json.loads(error.read()).get("message", "")
        except ValueError:
            detail = ""
        if error.code == 401:
            return (f"GitHub did not accept the token ({error.code} {detail}); give a valid "
                    f"github_token")
        if error.code in (403, 404):
            return (f"GitHub answered {error.code} ({detail}) for {self.repository}: check the "
                    f"name and that the token may open pull requests there")
        return f"GitHub refused the request on {self.repository}: {error.code} {detail}"

    def open_pull_request(self, head, base):
        """The open pull request from head to base, or None."""
        owner = self.repository.split("/")[0]
        found = self._call("GET", f"/pulls?state=open&head={quote(owner)}:{quote(head)}"
                                  f"&base={quote(base)}")
        return _summary(found[0]) if found else None

    def create_pull_request(self, head, base, title, body):
        return _summary(self._call("POST", "/pulls",
                                   {"title": title, "head": head, "base": base, "body": body}))


def _summary(pull):
    return {"number": pull["number"], "url": pull["html_url"]}
