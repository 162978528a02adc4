"""Outputs stage: layers, styles, web and static maps, the report and the published run folder.
"""
