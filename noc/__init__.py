"""canmore_sim.noc"""
