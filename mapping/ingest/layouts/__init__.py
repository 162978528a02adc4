"""One module per published layout family, each behind :func:`mapping.ingest.read.read_input`.
"""
