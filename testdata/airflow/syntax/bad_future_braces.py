"""Braces, please."""
from __future__ import braces
