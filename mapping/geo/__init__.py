"""Geography: region boundaries, neighbours, RFC 7946 geometry and map projections.
"""
