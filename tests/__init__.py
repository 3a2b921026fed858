"""The test suite, a package so that every shared helper is imported one way:
``from tests.helpers.<module> import ...`` (pytest puts the repository root on ``sys.path``)."""
