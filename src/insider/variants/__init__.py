"""Variants of a scenario pack (rewordings of one design) and how realistic each reads."""
