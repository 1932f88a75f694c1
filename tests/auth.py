"""Tokens for tests, signed with the keys the test processes and the stack share.

`as_needed` picks, per request, the role a person would use for it: the channel's submitter
role at intake, the mediator named in an action's body at mediation, an admin elsewhere; a
request that already carries a token, or an `api_key`, keeps it. An action whose body leaves
`mediator_id` out (the server takes the signed-in mediator) names nobody to pick: send it with
the mediator's own token (`mediator_token`), as a console does.
"""

import hashlib
import hmac
import json
from collections.abc import Generator
from datetime import timedelta
from functools import cache

import httpx

from services.auth import AuthSettings, Role, issue_token

TEST_AUTH_KEYS = (
    "test2:tiaojie-test-signing-key-two-0123456789,test1:tiaojie-test-signing-key-one-0123456789"
)
TEST_WECHAT_SECRET = "tiaojie-development-wechat-secret"
SETTINGS = AuthSettings(auth_keys=TEST_AUTH_KEYS)
SUBJECTS = {
    Role.OPERATOR: "operator-1",
    Role.GRID_WORKER: "grid-worker-1",
    Role.PETITION_AGENT: "agent-1",
    Role.ADMIN: "admin-1",
}
SUBMIT_ROLES = {
    "/v1/disputes": Role.OPERATOR,
    "/v1/channels/grid/reports": Role.GRID_WORKER,
    "/v1/channels/petitions": Role.PETITION_AGENT,
    "/open311/v2/requests.json": Role.OPERATOR,
}


@cache
def token(role: Role, unit_id: str = "hanyin", subject: str | None = None) -> str:
    """One token per caller, so per-token limits see one caller."""
    return issue_token(SETTINGS, subject=subject or SUBJECTS[role], role=role, unit_id=unit_id)


def fresh_token(
    role: Role, unit_id: str, subject: str, ttl: timedelta | None = None, keys: str | None = None
) -> str:
    settings = AuthSettings(auth_keys=keys or TEST_AUTH_KEYS)
    return issue_token(settings, subject=subject, role=role, unit_id=unit_id, ttl=ttl)


def headers(role: Role, unit_id: str = "hanyin", subject: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, unit_id, subject)}"}


def mediator_token(mediator_id: str) -> str:
    """Mediators are `med-<unit id>-<n>`; their token is for that unit."""
    unit_id = mediator_id.removeprefix("med-").rsplit("-", 1)[0]
    return token(Role.MEDIATOR, unit_id, mediator_id)


def wechat_signature(body: bytes, secret: str = TEST_WECHAT_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _token_for(request: httpx.Request) -> str:
    path = request.url.path
    if request.method == "POST" and path in SUBMIT_ROLES:
        return token(SUBMIT_ROLES[path])
    if request.method == "POST" and path.startswith("/v1/cases/"):
        try:
            mediator_id = json.loads(request.content).get("mediator_id")
        except (ValueError, AttributeError):
            mediator_id = None
        if isinstance(mediator_id, str) and mediator_id.startswith("med-"):
            return mediator_token(mediator_id)
    return token(Role.ADMIN)


class AsNeeded(httpx.Auth):
    requires_request_body = True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.path == "/v1/channels/wechat/messages":
            request.headers.setdefault("X-Tiaojie-Signature", wechat_signature(request.content))
        elif request.url.path.startswith("/open311/"):
            if "api_key" not in request.url.params and b"api_key=" not in request.content:
                request.url = request.url.copy_merge_params({"api_key": _token_for(request)})
        elif "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {_token_for(request)}"
        yield request


as_needed = AsNeeded()
