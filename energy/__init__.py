"""canmore_sim.energy"""
