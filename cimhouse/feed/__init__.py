"""The change feed: every committed change, numbered after commit, read by position.

:mod:`cimhouse.feed.stamp_changes` numbers committed rows of ``change_log`` and
``code_lineage``; :mod:`cimhouse.feed.read_changes` pages through them for a principal's scope.
The design (why positions are given after commit) is in docs/feed.md.
"""
