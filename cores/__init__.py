"""canmore_sim.cores"""
