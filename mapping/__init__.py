"""Regional cluster mapping: location quotients, co-location groups, candidate clusters, divergence.

The domain library: pure functions on pandas/geopandas frames. No workflow engine is imported here;
see ``flows/`` for the Prefect wiring.
"""

__version__ = "0.1.0"
