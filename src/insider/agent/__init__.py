"""The email environment: inbox, tools, the three interaction modes, and the ActionLog."""

from insider.agent.actions import Action, ActionLog
from insider.agent.parse import ParsedResponse, parse_text_response
from insider.agent.solver import EmptyResponseError, agent_solver, sample_messages

__all__ = [
    "Action",
    "ActionLog",
    "EmptyResponseError",
    "ParsedResponse",
    "agent_solver",
    "parse_text_response",
    "sample_messages",
]
