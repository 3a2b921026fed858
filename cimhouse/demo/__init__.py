"""Synthetic demo and test data over the real Jiaxing regions (3304).

Start with :func:`cimhouse.demo.generate_demo.generate_demo`: it writes estates with
boundaries, buildings with footprints, a housing register (one row per person-house
relation) and public-service facilities of every category into a directory. Every person is
fictitious, with a checksum-valid ID number from :func:`cimhouse.idnumber.make_id_number`.
``messy=True`` adds the dirt of real registers. :mod:`.places` lays out the map,
:mod:`.households` the people, :mod:`.messy` the dirt.

Example::

    summary = generate_demo(Path("var/demo"), houses=2000, seed=7)
    summary.register_rows, summary.files["register"]   # (5400, PosixPath('var/demo/register.csv'))
"""
