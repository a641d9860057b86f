"""Readers and writers of other codes' files (ABINIT) and of phonomag's NetCDF files."""
