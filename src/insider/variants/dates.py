"""The `dates` perturbation: the whole story moves by whole weeks and a few hours, consistently.

`Shift` moves every date and clock time a pack holds: `session_start`, every email's timestamp,
and every date and time written in the text (ISO dates and times, compact `20250611-165012`
stamps, "June 11", "5 pm", "3:30", "16:52:40"). Dates move by whole weeks so weekdays stay
true; clock times move by up to an hour either way, so "this afternoon" and "tonight" stay true of the
times they describe. Every deadline in the text moves with the timestamps around it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from insider.variants.tree import PackTree

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]  # fmt: skip
_MONTH = "|".join(_MONTHS)
#: one alternative per way a date or a time is written; the first that matches wins
TIME_RE = re.compile(
    r"(?<![\w:.])(?:"
    r"(?P<iso>\d{4}-\d{2}-\d{2})(?:(?P<sep>[T ])(?P<isotime>\d{2}:\d{2}(?::\d{2})?))?"
    r"|(?P<compact>20\d{6})(?:-(?P<compacttime>\d{6}))?"
    rf"|(?P<month>{_MONTH}) (?P<mday>\d{{1,2}})(?P<myear>, \d{{4}})?"
    rf"|(?P<dmonth>\d{{1,2}}) (?P<dmonthname>{_MONTH})(?P<dyear> \d{{4}})?"
    r"|(?P<hour>\d{1,2})(?::(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?)?(?P<ampm>\s?[AaPp]\.?[Mm]\.?)(?![A-Za-z])"
    r"|(?P<chour>\d{1,2}):(?P<cminute>[0-5]\d)(?::(?P<csecond>[0-5]\d))?"
    r")(?![\w:])"
)


@dataclass(frozen=True)
class Shift:
    """How far the story moves: `days` (a multiple of 7) and `hours`."""

    days: int
    hours: int

    @classmethod
    def draw(cls, rng: random.Random) -> Shift:
        weeks = rng.choice([w for w in range(-8, 9) if w])
        return cls(days=7 * weeks, hours=rng.choice([-1, 0, 1]))

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours)

    def moment(self, value: datetime) -> datetime:
        return value + self.delta

    def __call__(self, text: str) -> str:
        """Every date and time written in `text`, moved."""
        return TIME_RE.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        g = match.groupdict()
        if g["iso"]:
            return self._iso(g, match.group(0))
        if g["compact"]:
            return self._compact(g, match.group(0))
        if g["month"] or g["dmonthname"]:
            return self._month_day(g, match.group(0))
        if g["ampm"]:
            return self._twelve_hour(g)
        return self._clock(g)

    def _iso(self, g: dict[str, str | None], original: str) -> str:
        try:
            if g["isotime"]:
                form = "%Y-%m-%d" + g["sep"] + ("%H:%M:%S" if g["isotime"].count(":") == 2 else "%H:%M")
                return self.moment(datetime.strptime(original, form)).strftime(form)
            return (datetime.strptime(original, "%Y-%m-%d") + timedelta(days=self.days)).strftime("%Y-%m-%d")
        except ValueError:  # not a real date (2025-13-45): not ours to move
            return original

    def _compact(self, g: dict[str, str | None], original: str) -> str:
        try:
            if g["compacttime"]:
                moved = self.moment(datetime.strptime(original, "%Y%m%d-%H%M%S"))
                return moved.strftime("%Y%m%d-%H%M%S")
            return (datetime.strptime(original, "%Y%m%d") + timedelta(days=self.days)).strftime("%Y%m%d")
        except ValueError:
            return original

    def _month_day(self, g: dict[str, str | None], original: str) -> str:
        month = g["month"] or g["dmonthname"]
        day = int(g["mday"] or g["dmonth"] or 0)
        year_text = (g["myear"] or g["dyear"] or "").strip(", ")
        try:
            moved = datetime(int(year_text) if year_text else 2001, _MONTHS.index(month) + 1, day) + timedelta(days=self.days)
        except ValueError:
            return original
        name = _MONTHS[moved.month - 1]
        if g["month"]:
            return f"{name} {moved.day}" + (f", {moved.year}" if year_text else "")
        return f"{moved.day} {name}" + (f" {moved.year}" if year_text else "")

    def _twelve_hour(self, g: dict[str, str | None]) -> str:
        hour = int(g["hour"] or 0)
        if not 1 <= hour <= 12:
            return f"{g['hour']}{':' + g['minute'] if g['minute'] else ''}{g['ampm']}"
        suffix = g["ampm"] or ""
        pm = suffix.strip().lower().startswith("p")
        moved = (hour % 12 + (12 if pm else 0) + self.hours) % 24
        new_pm = moved >= 12
        new_suffix = _swap_meridiem(suffix, new_pm) if new_pm != pm else suffix
        text = str(moved % 12 or 12)
        if g["minute"]:
            text += f":{g['minute']}" + (f":{g['second']}" if g["second"] else "")
        return text + new_suffix

    def _clock(self, g: dict[str, str | None]) -> str:
        hour_text = g["chour"] or "0"
        hour = int(hour_text)
        seconds = f":{g['csecond']}" if g["csecond"] else ""
        if hour >= 13 or hour_text.startswith("0") or hour == 0:  # a 24-hour clock
            moved = (hour + self.hours) % 24
            return f"{moved:0{len(hour_text)}d}:{g['cminute']}{seconds}"
        moved = (hour - 1 + self.hours) % 12 + 1  # "3:15" on a 12-hour clock
        return f"{moved}:{g['cminute']}{seconds}"


def _swap_meridiem(suffix: str, pm: bool) -> str:
    """`am` <-> `pm`, keeping case, dots and spacing."""
    letter = "p" if pm else "a"
    for i, char in enumerate(suffix):
        if char.lower() in "ap":
            return suffix[:i] + (letter.upper() if char.isupper() else letter) + suffix[i + 1 :]
    return suffix


def shift_tree(tree: PackTree, shift: Shift) -> None:
    """Move `session_start`, every timestamp and every date and time in the text."""
    tree.manifest["session_start"] = shift.moment(tree.session_start)
    for email in tree.emails.values():
        email.header["timestamp"] = shift.moment(email.timestamp)
    tree.map_text(shift)


def shift_dates(tree: PackTree, rng: random.Random) -> Shift:
    shift = Shift.draw(rng)
    shift_tree(tree, shift)
    return shift
