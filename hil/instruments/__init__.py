"""Bench instruments: a lab balance speaking MT-SICS, its emulator, and gravimetric recording."""
