"""Maintain the gettext catalog with Babel: extract, update, compile, check.

``python -m cimhouse.i18n update``   add new messages of the code and the CLI to the ``.po``
``python -m cimhouse.i18n compile``  write the ``.mo`` the runtime reads (``make install`` does)
``python -m cimhouse.i18n check``    list messages without a Chinese translation (exit 1)
``python -m cimhouse.i18n fill F``   set translations from a JSON file ``{"msgid": "中文"}``

Messages come from two places: ``_("...")`` calls in ``cimhouse/`` (Babel's Python extractor)
and the help texts of the CLI's click tree (command docstrings, option and group help).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from cimhouse.i18n import MO_FILE, PO_FILE

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def code_messages() -> Iterator[tuple[str, str]]:
    """(msgid, "file:line") of every ``_("...")`` call in the package."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(PACKAGE_DIR), method_map=[("**.py", "python")], keywords={"_": None}):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            yield msgid, f"cimhouse/{filename}:{lineno}"


def cli_messages() -> Iterator[tuple[str, str]]:
    """(msgid, "cli:<command path>") of every help text of the CLI."""
    from cimhouse.cli.main import COMMANDS, full_command, help_texts

    for path, text in help_texts(full_command()):
        yield inspect.cleandoc(text), f"cli:{path}"
    for name, (_module, short) in COMMANDS.items():  # the root listing's one-liners
        yield short, f"cli:cimhouse --help {name}"


def all_messages() -> dict[str, list[str]]:
    """Every message the user can see, with where it comes from."""
    found: dict[str, list[str]] = {}
    for msgid, where in [*code_messages(), *cli_messages()]:
        found.setdefault(msgid, []).append(where)
    return found


def read_catalog(path: Path = PO_FILE) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="zh_CN", domain="cimhouse")


def missing_translations(messages: Iterable[str] | None = None) -> list[str]:
    """The messages without a non-empty, non-fuzzy Chinese translation."""
    po = read_catalog()
    wanted = all_messages() if messages is None else messages
    missing = []
    for msgid in wanted:
        entry = po.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(msgid)
    return missing


def update_catalog() -> int:
    """Add new messages to the ``.po`` (empty ``msgstr``), drop ones nothing uses; return
    how many are new."""
    po = read_catalog()
    messages = all_messages()
    new = 0
    for msgid, where in messages.items():
        locations = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1]) if w.rsplit(":", 1)[1]
                      .isdigit() else 0) for w in where]
        entry = po.get(msgid)
        if entry is None:
            po.add(msgid, "", locations=locations)
            new += 1
        else:
            entry.locations = locations
    for entry in list(po):
        if entry.id and entry.id not in messages:
            po.delete(entry.id)
    with PO_FILE.open("wb") as fh:
        write_po(fh, po, width=100, sort_output=False, omit_header=False)
    return new


def fill_catalog(translations: dict[str, str]) -> int:
    """Set the Chinese of the given messages (``{"msgid": "msgstr"}``); return how many."""
    po = read_catalog()
    done = 0
    for msgid, text in translations.items():
        entry = po.get(msgid)
        if entry is None:
            po.add(msgid, text)
        else:
            entry.string = text
            entry.flags.discard("fuzzy")
        done += 1
    with PO_FILE.open("wb") as fh:
        write_po(fh, po, width=100, sort_output=False, omit_header=False)
    return done


def compile_catalog() -> Path:
    """Write the ``.mo`` next to the ``.po`` (atomically: readers never see half a file)."""
    po = read_catalog()
    tmp = MO_FILE.with_suffix(".mo.tmp")
    with tmp.open("wb") as fh:
        write_mo(fh, po, use_fuzzy=False)
    tmp.replace(MO_FILE)
    return MO_FILE
