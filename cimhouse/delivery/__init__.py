"""Signed outbound deliveries: HTTP POSTs of JSON bodies, at least once, through the job queue.

- :mod:`cimhouse.delivery.sign`: the HMAC-SHA256 signature (with a timestamp against replay),
  :func:`~cimhouse.delivery.sign.verify_signature` for receivers, the secrets' encryption.
- :mod:`cimhouse.delivery.enqueue_delivery`: record and queue a delivery (caller's transaction).
- :mod:`cimhouse.delivery.attempt_delivery`: one attempt (``cimhouse worker``), back-off with
  jitter, the dead-letter state, ``jobs retry``, recovery of attempts killed mid-flight.

Used by the change-feed webhooks (:mod:`cimhouse.feed.deliver_webhooks`) and by any other
channel that pushes to a URL. docs/feed.md ("Webhooks") shows how a receiver verifies.
"""
