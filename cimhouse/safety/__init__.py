"""Home safety of the elderly living alone (issue 19): devices, readings, rules, alerts.

- :mod:`cimhouse.safety.rules`: metrics, thresholds, the alert upsert that folds duplicates.
- :mod:`cimhouse.safety.ingest_readings`: one batch of gateway readings in, set-based.
- :mod:`cimhouse.safety.check_inactivity`: the inactivity rule, run with an explicit clock.
- :mod:`cimhouse.safety.change_alert`: acknowledge / resolve.
- :mod:`cimhouse.safety.list_safety`: devices and alerts in a scope (GraphQL).

See docs/safety.md.
"""
