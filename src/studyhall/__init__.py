"""Studyhall: an open-source backend for AI learning platforms."""

__version__ = "0.1.0"
