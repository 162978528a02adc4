"""Ingestion stage: read published tables and tidy files into validated tidy rows with a row ledger.

Also the registries (regions, activities, label variants), URL inputs, firm records and the
auxiliary tables the analysis receives as frames (known totals, supported clusters, input-output).
"""
