"""Services over the session that screen and report access requests; they never print or exit.

:mod:`hf_access.screening.relay`: :class:`Relay` turns polling into signed Standard Webhooks.
"""

from .relay import DeliveryPolicy, EndpointDisabledError, Relay

__all__ = ["DeliveryPolicy", "EndpointDisabledError", "Relay"]
