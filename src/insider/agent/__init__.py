"""The email environment: inbox, tools, the three interaction modes, and the ActionLog."""

from insider.agent.actions import Action, ActionLog

__all__ = ["Action", "ActionLog"]
