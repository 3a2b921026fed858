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
        sys.stdout.write(f"{update_catalog()} new messages" + "\n")
        compile_catalog()
        return 0
    if verb == "compile":
        sys.stdout.write(f"{compile_catalog()}\n")
        return 0
    if verb == "fill" and len(argv) == 2:
        with open(argv[1], encoding="utf-8") as fh:
            sys.stdout.write(f"{fill_catalog(json.load(fh))} messages set" + "\n")
        compile_catalog()
        return 0
    if verb == "check":
        missing = missing_translations()
        for msgid in missing:
            sys.stdout.write(f"untranslated: {msgid!r}" + "\n")
        return 1 if missing else 0
    sys.stderr.write("usage: python -m cimhouse.i18n update|compile|check|fill FILE.json" + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
