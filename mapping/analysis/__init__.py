"""Analysis stage: statistics on frames (location quotients, rules, bounds, relatedness, groups,
candidates, divergence, spatial and time evidence). Nothing here reads or writes a file.
"""
