"""Ops Cockpit core: the store, the calculations and the one write path.

Plain Python only: this package never imports streamlit (a test checks it), so every number a
page shows can be recomputed from a script, a scheduler or a test.
"""
