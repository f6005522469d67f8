"""vbot: a git-backed version bot for package dependency graphs."""

__version__ = "0.1.0"
