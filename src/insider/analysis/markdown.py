"""Markdown that shows data as text: values from logs and results files (model names, condition
ids, paths) can hold HTML, `|` or link syntax, and a Markdown renderer must display, not run them."""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

#: characters Markdown gives a meaning inside a line: escapes, code, emphasis, table cells
_SPECIAL = re.compile(r"([\\`*|])")


def escape(value: Any) -> str:
    """One line of inert text: HTML escaped (`&`, `<`, `>`), Markdown's specials backslashed, no
    link or image (`](` is broken up), line breaks turned into spaces."""
    text = _SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False)).replace("](", "]\\(")
    return " ".join(text.split())


def code(value: Any) -> str:
    """An inline code span (inert in Markdown) of one line of text; backticks inside become quotes."""
    return "`" + " ".join(str(value).replace("`", "'").split()) + "`"


def table(df: pd.DataFrame) -> str:
    """A Markdown table of `df` with every text cell escaped (numbers stay numbers)."""
    if df.empty:
        return "_none_"
    text_columns = [i for i, column in enumerate(df.columns) if not pd.api.types.is_numeric_dtype(df[column])]
    shown = df.rename(columns=escape)
    for i in text_columns:
        shown.iloc[:, i] = shown.iloc[:, i].map(lambda v: v if v is None or v is pd.NA else escape(v))
    # text cells are shown as they are: a name like "1e5" must not become a number
    return shown.to_markdown(index=False, disable_numparse=text_columns)
