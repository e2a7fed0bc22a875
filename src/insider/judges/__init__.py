"""Judges: gates over the ActionLog, LLM and rules judges, policies, awareness, validation."""

from insider.judges.gates import compute_gates
from insider.judges.pipeline import judge_actions, judge_response
from insider.judges.scorer import harmful_rate, verdict_scorer
from insider.judges.verdict import SCORE_PREFIX, JudgeResult, Verdict

__all__ = [
    "SCORE_PREFIX",
    "JudgeResult",
    "Verdict",
    "compute_gates",
    "harmful_rate",
    "judge_actions",
    "judge_response",
    "verdict_scorer",
]
