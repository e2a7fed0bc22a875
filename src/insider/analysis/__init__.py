"""Analysis: logs to a results table, statistics, plots and reports."""
