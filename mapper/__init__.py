"""canmore_sim.mapper"""
