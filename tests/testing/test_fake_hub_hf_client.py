"""The official huggingface_hub client, pointed at the fake Hub, runs the access flows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from hf_access.testing import FakeHub, ManualClock

huggingface_hub = pytest.importorskip("huggingface_hub")
from huggingface_hub import HfApi  # noqa: E402
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError  # noqa: E402

REPO = "owner/gated-model"


@pytest.fixture
def served() -> Iterator[FakeHub]:
    with FakeHub(clock=ManualClock()) as hub:  # served from a thread: HfApi is synchronous
        hub.add_repo(REPO)
        hub.add_repo("owner/data", repo_type="dataset")
        yield hub


@pytest.fixture
def hf(served: FakeHub) -> HfApi:
    return HfApi(endpoint=served.url, token=served.token)


def _status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    response = error.value.response
    assert response is not None
    return int(response.status_code)


def test_list_pending_follows_pages(served: FakeHub, hf: HfApi) -> None:
    names = served.seed_pending(REPO, 2500, fields={"Company": "ACME"})
    requests = list(hf.list_pending_access_requests(REPO))
    assert [r.username for r in requests] == names  # 3 pages of at most 1,000
    first = requests[0]
    assert first.status == "pending"
    assert first.email == "user-000000@example.org"
    assert first.fullname == "user-000000"
    assert first.fields == {"Company": "ACME"}
    assert first.request_id == served.snapshot(REPO)["user-000000"].request_id
    # seeded one millisecond apart, the last at the clock's time
    assert first.timestamp == datetime(2026, 10, 6, 11, 29, 57, 501000, tzinfo=timezone.utc)
    assert served.counters.calls["list_pending"] == 3


def test_accept_reject_cancel_grant(served: FakeHub, hf: HfApi) -> None:
    served.seed_pending(REPO, 3)
    served.add_user("friend")
    hf.accept_access_request(REPO, "user-000000")
    hf.reject_access_request(REPO, "user-000001", rejection_reason="Not this time")
    hf.grant_access(REPO, "friend")
    accepted = {r.username: r for r in hf.list_accepted_access_requests(REPO)}
    assert set(accepted) == {"user-000000", "friend"}
    assert accepted["friend"].email is None
    assert [r.username for r in hf.list_rejected_access_requests(REPO)] == ["user-000001"]
    assert served.snapshot(REPO)["user-000001"].rejection_reason == "Not this time"
    hf.cancel_access_request(REPO, "user-000000")  # handle with status pending
    assert served.request_status(REPO, "user-000000") == "pending"
    hf.accept_access_request(REPO, "user-000001")  # rejected -> accepted
    assert served.request_status(REPO, "user-000001") == "accepted"
    pending = [r.username for r in hf.list_pending_access_requests(REPO)]
    assert pending == ["user-000000", "user-000002"]


def test_request_id_flows_on_a_repo_hiding_requesters(served: FakeHub, hf: HfApi) -> None:
    served.add_repo("owner/hidden", hide_requesters=True)
    served.seed_pending("owner/hidden", 1)
    [request] = hf.list_pending_access_requests("owner/hidden")
    assert request.username is None
    hf.accept_access_request("owner/hidden", request_id=request.request_id)
    assert served.request_status("owner/hidden", "user-000000") == "accepted"


def test_dataset_flows(served: FakeHub, hf: HfApi) -> None:
    served.seed_pending("owner/data", 1, repo_type="dataset")
    hf.accept_access_request("owner/data", "user-000000", repo_type="dataset")
    accepted = hf.list_accepted_access_requests("owner/data", repo_type="dataset")
    assert [r.username for r in accepted] == ["user-000000"]


def test_errors(served: FakeHub, hf: HfApi) -> None:
    served.seed_pending(REPO, 1)
    served.add_user("friend")
    hf.grant_access(REPO, "friend")
    with pytest.raises(HfHubHTTPError) as twice:
        hf.grant_access(REPO, "friend")
    assert _status(twice) == 400
    assert "already has access" in str(twice.value)
    with pytest.raises(HfHubHTTPError) as accept_accepted:
        hf.accept_access_request(REPO, "friend")
    assert _status(accept_accepted) == 404
    hf.reject_access_request(REPO, "friend", rejection_reason=None)
    with pytest.raises(HfHubHTTPError) as reject_rejected:
        hf.reject_access_request(REPO, "friend", rejection_reason=None)
    assert _status(reject_rejected) == 404
    with pytest.raises(HfHubHTTPError) as cancel_pending:
        hf.cancel_access_request(REPO, "user-000000")
    assert _status(cancel_pending) == 404
    assert "No access request found" in str(cancel_pending.value)
    with pytest.raises(HfHubHTTPError) as unknown_user:
        hf.grant_access(REPO, "ghost")
    assert _status(unknown_user) == 404
    with pytest.raises(RepositoryNotFoundError):
        hf.accept_access_request("owner/missing", "friend")


def test_read_token_is_refused(served: FakeHub) -> None:
    served.add_user("reader")
    served.add_token("hf_reader", user="reader", role="read")
    reader = HfApi(endpoint=served.url, token="hf_reader")
    with pytest.raises(HfHubHTTPError) as refused:
        reader.grant_access(REPO, "reader")
    assert _status(refused) == 403


def test_update_repo_settings_gated(served: FakeHub, hf: HfApi) -> None:
    hf.update_repo_settings(REPO, gated="auto")
    assert served.repo(REPO).gated == "auto"
    hf.update_repo_settings(REPO, gated=False)
    assert served.repo(REPO).gated is False


def test_anonymous_gating_read(served: FakeHub) -> None:
    # The one flow that failed before: reading a public repo's gating needs no token.
    anonymous = HfApi(endpoint=served.url, token=False)
    assert anonymous.model_info(REPO, expand=["gated"]).gated == "manual"
    served.add_repo("owner/auto-data", repo_type="dataset", gated="auto")
    assert anonymous.dataset_info("owner/auto-data", expand=["gated"]).gated == "auto"
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("owner/missing", expand=["gated"])


def test_fields_are_none_without_answers(served: FakeHub, hf: HfApi) -> None:
    served.seed_pending(REPO, 1)
    served.add_user("alice")
    served.ask_access(REPO, "alice", fields={"Company": "ACME"})
    fields = {r.username: r.fields for r in hf.list_pending_access_requests(REPO)}
    assert fields == {"user-000000": None, "alice": {"Company": "ACME"}}


def test_token_of_a_user_without_rights_is_refused(served: FakeHub) -> None:
    served.add_user("other")
    served.add_token("hf_other", user="other", role="write")  # rights on other/... only
    served.seed_pending(REPO, 1)
    other = HfApi(endpoint=served.url, token="hf_other")
    with pytest.raises(HfHubHTTPError) as refused:
        other.accept_access_request(REPO, "user-000000")
    assert _status(refused) == 403
    assert "required permissions" in str(refused.value)
    assert served.request_status(REPO, "user-000000") == "pending"


def test_update_repo_settings_visibility(served: FakeHub, hf: HfApi) -> None:
    hf.update_repo_settings(REPO, private=True)
    assert served.repo(REPO).settings["visibility"] == "private"
