"""Placeholder: filled in by the deliberation work (docs/deliberation.md)."""
