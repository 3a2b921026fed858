"""``python -m cimhouse.i18n update|compile|check|fill F`` (see :mod:`cimhouse.i18n.catalogs`)."""

from __future__ import annotations

import json
import sys

from cimhouse.i18n.catalogs import (
    compile_catalog,
    fill_catalog,
    missing_translations,
    update_catalog,
)


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "check"
    if verb == "update":
        print(f"{update_catalog()} new messages")
        compile_catalog()
        return 0
    if verb == "compile":
        print(compile_catalog())
        return 0
    if verb == "fill" and len(argv) == 2:
        with open(argv[1], encoding="utf-8") as fh:
            print(f"{fill_catalog(json.load(fh))} messages set")
        compile_catalog()
        return 0
    if verb == "check":
        missing = missing_translations()
        for msgid in missing:
            print(f"untranslated: {msgid!r}")
        return 1 if missing else 0
    print("usage: python -m cimhouse.i18n update|compile|check|fill FILE.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
