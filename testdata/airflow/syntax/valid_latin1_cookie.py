# -*- coding: latin-1 -*-
"""Café parcels."""
OWNER = "data-eng"  # équipe
