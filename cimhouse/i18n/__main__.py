"""``python -m cimhouse.i18n update|compile|check`` (see :mod:`cimhouse.i18n.catalogs`)."""

from __future__ import annotations

import sys

from cimhouse.i18n.catalogs import compile_catalog, missing_translations, update_catalog


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "check"
    if verb == "update":
        print(f"{update_catalog()} new messages")
        return 0
    if verb == "compile":
        print(compile_catalog())
        return 0
    if verb == "check":
        missing = missing_translations()
        for msgid in missing:
            print(f"untranslated: {msgid!r}")
        return 1 if missing else 0
    print("usage: python -m cimhouse.i18n update|compile|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
