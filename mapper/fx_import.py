"""Deprecated: moved to :mod:`canmore_sim.models.fx_import` (this name goes after 0.2)."""

from canmore_sim.mapper._moved import alias

alias(__name__)
