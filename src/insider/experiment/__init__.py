"""Experiments: the config file, estimates and budgets, and running the grid on Inspect."""
