"""A fake GitLab for tests: access requests of projects and groups over real HTTP.

:class:`FakeGitLab` serves GitLab's access-request API (``/api/v4``) from memory on
``127.0.0.1`` with GitLab's error bodies, offset pagination headers and ``RateLimit-*``
throttling. It depends on aiohttp, attrs and the standard library only.

>>> gl = FakeGitLab()
>>> _ = gl.add_project("acme/app")
>>> gl.seed_requests("acme/app", 2)
['user-000000', 'user-000001']
>>> gl.state("acme/app").requests
('user-000000', 'user-000001')
"""

from ._server import ROOT, ROOT_TOKEN, FakeGitLab
from ._state import FakeGitLabError, FakeTarget, FakeTargetState, FakeUser

__all__ = [
    "ROOT",
    "ROOT_TOKEN",
    "FakeGitLab",
    "FakeGitLabError",
    "FakeTarget",
    "FakeTargetState",
    "FakeUser",
]
