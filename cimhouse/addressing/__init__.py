"""Chinese address parsing and normalisation against the loaded regions.

Start with :func:`cimhouse.addressing.parse_address.parse_address`: it takes a free-text
address (and optional separate columns), resolves province ... community/village against a
:class:`~cimhouse.addressing.gazetteer.Gazetteer` built from the ``region`` table, splits
estate / building / unit / floor / room, and returns a :class:`ParsedAddress` with a
confidence and bilingual reasons. :mod:`~cimhouse.addressing.normalize` holds the text
normalisation (full-width, Chinese numerals, building-label spellings).

Example::

    gazetteer = Gazetteer.load(session)
    parsed = parse_address("嘉兴市南湖区建设街道百福弄社区梅花苑三栋2单元501室", gazetteer)
    parsed.community_code, parsed.building, parsed.unit, parsed.room
    # ('330402007024', '3', '2', '501')
    parsed.accepted                  # True: confidence >= ACCEPT_CONFIDENCE, no blocking reason
"""
