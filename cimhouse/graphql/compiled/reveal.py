"""Full ID numbers and phones on the compiled path: audit first, then decrypt.

The compiled SQL leaves a marker ``"<nonce>:i|p:<person id>:<cipher hex>"`` where a
``pii_reader`` asked for a full number (see :mod:`cimhouse.graphql.compiled.people`).
:func:`reveal` writes one ``audit_log`` row per marker (action ``pii.read``, the person id
and the field, never the number) in the request's transaction and commits it; only after
the commit succeeded are the markers replaced by the decrypted values. If the audit cannot
be written the exception propagates and no number leaves the server.

Example::

    data = reveal('{"idNumber":"pii-ab12:i:42:9f0c..."}', env, session)
"""

from __future__ import annotations

import json
import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.graphql.compiled.compiler import Env
from cimhouse.pii import PiiVault

FIELDS = {"i": "id_number", "p": "phone"}
AUDIT = text("""
INSERT INTO audit_log (actor, action, object_kind, object_ref, detail)
SELECT :actor, 'pii.read', 'person', ref, jsonb_build_object('field', fld)
FROM unnest(CAST(:refs AS text[]), CAST(:fields AS text[])) AS a(ref, fld)
""")


def reveal(data: str, env: Env, session: Session) -> str:
    pattern = re.compile('"' + re.escape(env.nonce) + r':([ip]):(\d+):([0-9a-f]*)"')
    found = list(pattern.finditer(data))
    if found:
        session.execute(AUDIT, {"actor": env.principal.actor,
                                "refs": [m.group(2) for m in found],
                                "fields": [FIELDS[m.group(1)] for m in found]})
    session.commit()
    if not found:
        return data
    vault = PiiVault.from_settings(env.settings)

    def plain(match: re.Match[str]) -> str:
        return json.dumps(vault.decrypt(bytes.fromhex(match.group(3))), ensure_ascii=False)

    return pattern.sub(plain, data)
