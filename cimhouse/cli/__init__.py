"""The ``cimhouse`` command line (typer + rich).

Each module ``cmd_<area>.py`` defines ``register(app)`` adding its commands; :mod:`main`
discovers them, so areas add commands without editing a shared file. Shared pieces (settings,
engine, the one progress-bar style, JSON output, error handling) live in :mod:`common`.
"""
