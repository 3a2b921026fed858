"""``cimhouse import devices``: home-safety devices from CSV (see import_devices)."""
