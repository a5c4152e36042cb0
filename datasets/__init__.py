"""canmore_sim.datasets"""
