"""The integrations domain's public surface: what other domains may call.

Outgoing webhooks are driven by other domains' events (``integrations.reactions``); nothing
else needs to call in, so only the signing helpers a receiver-side tool or test may reuse and
the outbox's body format are offered.
"""

from studyhall.integrations.service.outbox import body, rfc3339
from studyhall.integrations.service.signing import new_secret, signature

__all__ = ["body", "new_secret", "rfc3339", "signature"]
