"""Home safety of the elderly living alone (issue 19): devices, readings, rules, alerts.

- :mod:`cimhouse.safety.rules`: metrics, thresholds, the alert upsert that folds duplicates.
- :mod:`cimhouse.safety.ingest_readings`: the one batch writer (HTTP and MQTT): COPY, counts.
- :mod:`cimhouse.safety.ingest_log`: counts per county/day and refused readings of each batch.
- :mod:`cimhouse.safety.broker`: the embedded mosquitto (or a broker by URL).
- :mod:`cimhouse.safety.mqtt_ingest` / :mod:`cimhouse.safety.mqtt_publish`: the MQTT
  ingester (batches, ack after commit) and a QoS 1 publisher.
- :mod:`cimhouse.safety.maintain_readings`: monthly partitions ahead, retention.
- :mod:`cimhouse.safety.check_inactivity`: the inactivity rule, run with an explicit clock.
- :mod:`cimhouse.safety.change_alert`: acknowledge / resolve.
- :mod:`cimhouse.safety.list_safety`: devices and alerts in a scope (GraphQL).

See docs/safety.md.
"""
