"""Judges: gates over the ActionLog, LLM and rules judges, policies, awareness, validation."""
