"""HTTP edge: :func:`cimhouse.api.app.create_app` builds the FastAPI application."""
