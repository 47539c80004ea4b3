# -*- coding: utf-8 -*-
"""A module docstring may come before __future__ imports, and comments anywhere."""

# Postponed evaluation of annotations.
from __future__ import annotations
from __future__ import (division, print_function)

import os


def where() -> os.PathLike:
    return os.getcwd()
