"""Time travel: the state of estates, buildings, houses, facilities, relations and
households valid on a day D (``asOf``), rebuilt from their lifecycle dates and ``change_log``.

:mod:`cimhouse.timetravel.rewind_rows` holds the definitions (one place, used by the GraphQL
lists, ``statistics`` and OGC API ``datetime``); docs/feed.md ("Time travel") states them in
words with examples.
"""
