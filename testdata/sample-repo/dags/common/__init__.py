"""Shared settings and helpers for the parcelflow DAGs."""
