"""Chinese and English for every user-facing string: one function, :func:`_`.

Write the English text (it is the gettext ``msgid``) and wrap it in ``_``; placeholders are
``str.format`` fields filled from keyword arguments::

    from cimhouse.i18n import _

    console.print(_("wrote {path}", path=path))      # 已写入 var/r.csv  (LANG=zh_CN.UTF-8)
    raise NotFound(_("job {job_id} not found", job_id=17))

``_`` returns a :class:`Message`: a ``str`` rendered in the current language that also keeps
its template, so an error raised in one language can still be shown in the other
(``message.render("zh")``; the GraphQL API puts both into ``extensions``).

CLI help texts (command docstrings, ``help=`` of options and groups) need no wrapping: the CLI
translates its click tree when it builds a command (:mod:`cimhouse.cli.main`), with the
cleaned English text as ``msgid``.

The language: ``--lang zh|en`` (CLI, anywhere on the line), else ``CIMHOUSE_LANG``, else the
POSIX ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` (``zh*`` means Chinese), else English; the API
takes ``Accept-Language`` per request (:func:`language_scope`). Reports default to Chinese.

Catalog: ``cimhouse/locale/zh_CN/LC_MESSAGES/cimhouse.po`` (committed), compiled to ``.mo`` by
``make install`` (``python -m cimhouse.i18n compile``; compiled on first use if missing). After
adding strings: ``python -m cimhouse.i18n update`` adds the new ``msgid`` to the ``.po``; fill in
each ``msgstr``; ``tests/test_i18n.py`` fails while any message lacks its translation.

This module imports only the standard library (the CLI must start at once).
"""

from __future__ import annotations

import contextvars
import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LANGUAGES = ("zh", "en")
DOMAIN = "cimhouse"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
PO_FILE = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.po"
MO_FILE = PO_FILE.with_suffix(".mo")

_process_language: str | None = None
_requested_language: str | None = None
_request_language: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cimhouse_language", default=None)
_catalogs: dict[str, gettext.NullTranslations] = {}


def normalize_language(value: str | None) -> str | None:
    """``"zh_CN.UTF-8"`` -> ``"zh"``, ``"en-US"`` -> ``"en"``; anything else -> None.

    >>> normalize_language("zh_CN.UTF-8"), normalize_language("en"), normalize_language("C")
    ('zh', 'en', None)
    """
    if not value:
        return None
    head = value.strip().lower().replace("-", "_")
    if head.startswith("zh") or head in ("中文", "cn"):
        return "zh"
    if head.startswith("en"):
        return "en"
    return None


def language_from_env(environ: dict[str, str] | None = None) -> str:
    """The language the environment asks for (``CIMHOUSE_LANG``, then POSIX), default ``en``."""
    env = os.environ if environ is None else environ
    for name in ("CIMHOUSE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            found = normalize_language(value.split(":")[0])
            if found:
                return found
            if name != "CIMHOUSE_LANG":
                return "en"  # POSIX: the first one set wins, even "C"
    return "en"


def language_from_accept(header: str | None, default: str = "en") -> str:
    """The best of :data:`LANGUAGES` for an HTTP ``Accept-Language`` header.

    >>> language_from_accept("zh-CN,zh;q=0.9,en;q=0.8"), language_from_accept("fr, en;q=0.5")
    ('zh', 'en')
    """
    best: tuple[float, str] | None = None
    for part in (header or "").split(","):
        tag, _sep, params = part.strip().partition(";")
        lang = normalize_language(tag)
        if lang is None:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if best is None or quality > best[0]:
            best = (quality, lang)
    return best[1] if best and best[0] > 0 else default


def set_language(language: str | None) -> str:
    """Set the process language (the CLI does it once); None: from the environment."""
    global _process_language, _requested_language
    _requested_language = normalize_language(language) or normalize_language(
        os.environ.get("CIMHOUSE_LANG"))
    _process_language = _requested_language or language_from_env()
    return _process_language


def requested_language() -> str | None:
    """The language asked for in so many words (``--lang``, ``CIMHOUSE_LANG``), else None:
    reports are Chinese unless English is asked for, whatever ``LANG`` says."""
    if _process_language is None:
        set_language(None)
    return _requested_language


def current_language() -> str:
    """The language of the current request (API) or else of the process (CLI)."""
    return _request_language.get() or _process_language or set_language(None)


@contextmanager
def language_scope(language: str) -> Iterator[str]:
    """Render messages in ``language`` inside the block (one API request, one report)."""
    lang = normalize_language(language) or "en"
    token = _request_language.set(lang)
    try:
        yield lang
    finally:
        _request_language.reset(token)


@contextmanager
def process_language_kept() -> Iterator[None]:
    """Put the process language back after the block: for a caller that runs several CLI
    commands in one process (a test runner, a notebook), where one command's ``--lang`` must
    not carry over to the next."""
    saved = (_process_language, _requested_language)
    try:
        yield
    finally:
        _restore_process_language(*saved)


def _restore_process_language(process: str | None, requested: str | None) -> None:
    global _process_language, _requested_language
    _process_language, _requested_language = process, requested


def catalog(language: str) -> gettext.NullTranslations:
    """The translations of ``language`` (English is the ``msgid`` itself)."""
    found = _catalogs.get(language)
    if found is None:
        if language == "zh":
            if not MO_FILE.exists() or MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
                from cimhouse.i18n.catalogs import compile_catalog

                compile_catalog()
            with MO_FILE.open("rb") as fh:
                found = gettext.GNUTranslations(fh)
        else:
            found = gettext.NullTranslations()
        _catalogs[language] = found
    return found


def translate(msgid: str, language: str | None = None) -> str:
    """The plain translation of ``msgid`` (no placeholders filled)."""
    if not msgid:
        return msgid
    return catalog(language or current_language()).gettext(msgid)


class Message(str):
    """A user-facing text: a ``str`` in the language current when it was made, which can be
    rendered again in another one (:meth:`render`)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, params: dict[str, Any], language: str) -> Message:
        self = super().__new__(cls, _fill(translate(template, language), params))
        self.template = template
        self.params = params
        return self

    def render(self, language: str) -> str:
        """The text in ``language``; a parameter that is a message itself (a reason inside a
        refusal) is rendered in that language too."""
        params = {name: value.render(language) if isinstance(value, Message) else value
                  for name, value in self.params.items()}
        return _fill(translate(self.template, language), params)


def _fill(text: str, params: dict[str, Any]) -> str:
    return text.format(**params) if params else text


def _(msgid: str, /, **params: Any) -> Message:
    """Translate ``msgid`` into the current language and fill its ``{placeholders}``.

    >>> with language_scope("zh"):
    ...     print(_("{count} rows rejected", count=3))
    已拒绝 3 行
    >>> print(_("{count} rows rejected", count=3).render("en"))
    3 rows rejected
    """
    return Message(msgid, params, current_language())


def render(text: str, language: str) -> str:
    """``text`` in ``language`` when it is a :class:`Message`, else as it is."""
    return text.render(language) if isinstance(text, Message) else text


def bilingual(text: str) -> str:
    """``"中文 / English"`` of a :class:`Message` (rejection reasons of import reports are
    both); any other text as it is.

    >>> bilingual(_("{file}: no rows", file="p.csv"))
    'p.csv: 没有数据行 / p.csv: no rows'
    """
    if not isinstance(text, Message):
        return text
    chinese, english = text.render("zh"), text.render("en")
    return english if chinese == english else f"{chinese} / {english}"


__all__ = ["LANGUAGES", "Message", "_", "bilingual", "catalog", "current_language",
           "language_from_accept", "language_from_env", "language_scope", "normalize_language",
           "process_language_kept", "render", "requested_language", "set_language", "translate"]
