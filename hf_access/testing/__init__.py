"""A faithful fake Hugging Face Hub for tests, demos and benchmarks.

:class:`FakeHub` serves the Hub's access-request API (FIDELITY.md) from memory on
``127.0.0.1``, with the Hub's error shapes, ``RateLimit`` headers, pagination and optional
faults. It depends on aiohttp, attrs and the standard library only.

>>> from hf_access.testing import FakeHub
>>> hub = FakeHub()
>>> _ = hub.add_repo("acme/model")
>>> hub.seed_pending("acme/model", 2)
['user-000000', 'user-000001']

The pytest plugin (:mod:`hf_access.testing.plugin`) provides the ``fake_hub`` and
``fake_hub_factory`` fixtures; ``hf-access fake-hub`` (or ``python -m hf_access.testing
serve``) runs it standalone. FIDELITY.md, at the top of the repository, says what the fake
does and where each behaviour comes from (recorded on the Hub, documented, or assumed).
"""

from ._clock import ManualClock
from ._faults import Faults
from ._hub import OWNER, OWNER_TOKEN, FakeHub
from ._limits import UNLIMITED_QUOTA
from ._records import Counters, FakeHubError, FakeRepo, FakeUser, RequestRecord

__all__ = [
    "OWNER",
    "OWNER_TOKEN",
    "UNLIMITED_QUOTA",
    "Counters",
    "FakeHub",
    "FakeHubError",
    "FakeRepo",
    "FakeUser",
    "Faults",
    "ManualClock",
    "RequestRecord",
]
