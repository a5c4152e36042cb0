"""canmore_sim.configs"""
