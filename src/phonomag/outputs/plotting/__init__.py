"""Matplotlib figures and movies of computed results."""
