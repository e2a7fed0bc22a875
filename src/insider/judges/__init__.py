"""Judges: gates over the ActionLog, the rules judge, model judges and panels, policies, awareness, validation."""

from insider.judges.base import Case, Judge
from insider.judges.config import JudgeConfig
from insider.judges.factory import make_judge, named_graders, role_graders
from insider.judges.gates import compute_gates
from insider.judges.pipeline import build_case, judge_case, judge_response
from insider.judges.scorer import harmful_rate, verdict_scorer
from insider.judges.verdict import SCORE_PREFIX, JudgeResult, Verdict

__all__ = [
    "SCORE_PREFIX",
    "Case",
    "Judge",
    "JudgeConfig",
    "JudgeResult",
    "Verdict",
    "build_case",
    "compute_gates",
    "harmful_rate",
    "judge_case",
    "judge_response",
    "make_judge",
    "named_graders",
    "role_graders",
    "verdict_scorer",
]
