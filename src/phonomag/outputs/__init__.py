"""Figures, movies, tables and field files; they only read results."""
