"""The pages cimhouse serves to people: GraphiQL (``serve --dev``) and the map (``/map``).

Their JavaScript and CSS come from the npm registry at install time (``make install`` runs
``python -m cimhouse.web.assets fetch``), each file checked against the SHA-384 pinned in
:data:`cimhouse.web.assets.ASSETS`, and are served by the app itself under ``/vendor/``: the
pages work without internet, and no CDN is asked at run time.
"""
