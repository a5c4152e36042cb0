"""Sweeps: the sweep file, its points (run, verified, resumed) and its outputs."""
