"""The suite's secret key (a constant: test data is synthetic) and the vault built from it."""

from __future__ import annotations

import base64

from cimhouse.pii import PiiVault

KEY_BYTES = b"k" * 32
TEST_KEY = base64.b64encode(KEY_BYTES).decode()
VAULT = PiiVault(KEY_BYTES)
