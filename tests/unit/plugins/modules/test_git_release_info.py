"""git_release_info against a real bare origin: what it resolves and compares,
its refusals, and that it moves nothing on origin, in check mode or not."""

import re

import pytest

# resolve


def test_resolve_takes_the_head_of_the_branch_by_default(origin, run_git_info):
    ahead = origin.commit("main", {"api/main.py": "print('api 2')\n"}, "Faster api")
    result = run_git_info(branch="main")
    assert not result.get("failed"), result["msg"]
    assert (result["commit"], result["branch"], result["subject"]) == (ahead, "main", "Faster api")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["committed_at"])
    assert result["changed"] is False


@pytest.mark.parametrize("name", ["tag", "short sha"])
def test_resolve_takes_a_tag_or_sha_on_the_branch(origin, run_git_info, name):
    first = origin.head("main")
    origin.git("tag", "v1", first)
    origin.git("push", "-q", origin.url, "v1")
    origin.commit("main", {"api/main.py": "print('api 2')\n"}, "Later work")
    result = run_git_info(branch="main", ref="v1" if name == "tag" else first[:9])
    assert result["commit"] == first, result["msg"]


def test_resolve_refuses_a_commit_that_is_not_on_the_branch(origin, run_git_info):
    stray = origin.commit("feature/x", {"api/main.py": "x\n"}, "Unmerged", start="origin/main")
    result = run_git_info(branch="production", ref=stray)
    assert result["failed"]
    assert result["msg"].startswith(f"{stray[:12]} is not on production: only commits")


@pytest.mark.parametrize("branch", ["main", "production"])
def test_resolve_refuses_a_feature_branch_for_staging_and_production(origin, run_git_info, branch):
    # Even when the feature branch's head is on the environment's branch.
    origin.git("push", "-q", origin.url, "main:refs/heads/feature/x")
    result = run_git_info(branch=branch, ref="feature/x")
    assert result["failed"]
    assert result["msg"].startswith(f"feature/x is a branch other than {branch}")


def test_resolve_takes_any_branch_that_matches_a_pattern(origin, run_git_info):
    head = origin.commit("feature/checkout", {"api/main.py": "x\n"}, "New checkout",
                         start="origin/main")
    by_name = run_git_info(branch="feature/*", ref="feature/checkout")
    assert (by_name["commit"], by_name["branch"]) == (head, "feature/checkout")
    by_sha = run_git_info(branch="feature/*", ref=head)
    assert (by_sha["commit"], by_sha["branch"]) == (head, "feature/checkout")


def test_resolve_with_a_pattern_refuses_a_branch_that_does_not_match(origin, run_git_info):
    result = run_git_info(branch="feature/*", ref="main")
    assert result["failed"]
    assert "main is a branch other than feature/*" in result["msg"]


def test_resolve_with_a_pattern_needs_a_ref(origin, run_git_info):
    result = run_git_info(branch="feature/*")
    assert result["failed"]
    assert "is a pattern, so it has no single head: give ref" in result["msg"]


def test_resolve_refuses_what_the_repository_does_not_have(origin, run_git_info):
    result = run_git_info(branch="main", ref="no-such-thing")
    assert result["failed"]
    assert result["msg"].startswith("no-such-thing is not a branch, tag or commit of")


def test_an_unreachable_remote_is_one_sentence_without_the_password(run_git_info, tmp_path):
    result = run_git_info(branch="main", repo="https://deploy:s3cret@127.0.0.1:9/b.git")
    assert result["failed"]
    assert result["msg"].startswith("cannot fetch https://deploy:***@127.0.0.1:9/b.git")
    assert "s3cret" not in str(result)


# compare


def test_compare_counts_commits_behind_and_ahead_of_the_branch(origin, run_git_info):
    production = origin.head("production")
    origin.commit("main", {"api/main.py": "2\n"}, "Main 1")
    origin.commit("main", {"api/main.py": "3\n"}, "Main 2")
    hotfix = origin.commit("production", {"docs/hotfix.md": "fix\n"}, "Hotfix")
    before = {b: origin.head(b) for b in ("main", "production")}
    result = run_git_info(branch="main", commit=hotfix, check_mode=True)
    assert not result.get("failed"), result["msg"]
    assert (result["behind"], result["ahead"], result["changed"]) == (2, 1, False)
    assert result["msg"] == f"{hotfix[:12]} is 2 commit(s) behind and 1 ahead of main ({before['main'][:12]})"
    assert run_git_info(branch="main", commit=production)["behind"] == 2
    assert {b: origin.head(b) for b in ("main", "production")} == before


def test_compare_refuses_a_pattern_in_one_sentence(origin, run_git_info):
    result = run_git_info(branch="feature/*", commit=origin.head("main"))
    assert result["failed"]
    assert result["msg"] == ("branch feature/* is a pattern, so it has no single head to compare "
                             f"{origin.head('main')} with: give one branch")


def test_compare_returns_the_commits_facts(origin, run_git_info):
    hotfix = origin.commit("production", {"docs/hotfix.md": "fix\n"}, "Hotfix")
    result = run_git_info(branch="main", commit=hotfix[:9])
    assert (result["commit"], result["branch"], result["subject"]) == (hotfix, "main", "Hotfix")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["committed_at"])


# options and check mode


def test_ref_and_commit_are_refused_together(origin, run_git_info):
    result = run_git_info(branch="main", ref="main", commit="main")
    assert result["failed"]
    assert result["msg"] == "parameters are mutually exclusive: ref|commit"


def test_branch_is_required(origin, run_git_info):
    result = run_git_info(ref="main")
    assert result["failed"]
    assert "missing required arguments: branch" in result["msg"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_resolving_changes_nothing_on_origin_in_check_mode_or_not(origin, run_git_info, check_mode):
    before = origin.git("ls-remote", origin.url)
    result = run_git_info(branch="main", check_mode=check_mode)
    assert (result.get("failed"), result["changed"], result["commit"]) == (None, False, origin.head("main"))
    assert "behind" not in result
    assert origin.git("ls-remote", origin.url) == before


# sources: what each release is made of


def test_a_commit_that_leaves_a_service_alone_leaves_its_source_alone(origin, run_git_info):
    sources = {"api": ["api", "common"], "gateway": ["gateway", "common"]}
    origin.commit("main", {"common/lib.py": "x = 1\n"}, "Shared code")
    before = run_git_info(branch="main", sources=sources)["sources"]
    api_only = origin.commit("main", {"api/main.py": "print('api 2')\n"}, "Faster api")
    after = run_git_info(branch="main", sources=sources)["sources"]
    assert after["gateway"] == before["gateway"], "the gateway's folders did not change"
    assert after["api"]["commit"] == api_only and after["api"]["digest"] != before["api"]["digest"]
    assert re.fullmatch(r"\d{8}T\d{6}Z-" + api_only[:7], after["api"]["label"])
    shared = origin.commit("main", {"common/lib.py": "x = 2\n"}, "Shared code again")
    moved = run_git_info(branch="main", sources=sources)["sources"]
    assert moved["gateway"]["commit"] == moved["api"]["commit"] == shared


def test_the_same_content_has_the_same_digest_whatever_the_commit(origin, run_git_info):
    first = run_git_info(branch="main", sources={"api": ["api"]})["sources"]["api"]
    origin.commit("main", {"api/main.py": "print('api 2')\n"}, "Change")
    origin.commit("main", {"api/main.py": "print('api 1')\n"}, "Revert the change")
    again = run_git_info(branch="main", sources={"api": ["api"]})["sources"]["api"]
    assert again["digest"] == first["digest"] and again["commit"] != first["commit"]


def test_a_folder_the_commit_lacks_is_named(origin, run_git_info):
    found = run_git_info(branch="main", sources={"api": ["api", "common", "nowhere"]})["sources"]["api"]
    assert found["missing"] == ["common", "nowhere"]
