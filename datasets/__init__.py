"""canmore_sim.datasets: input frames for the network."""

from canmore_sim.datasets.digits import load_digits_frames

__all__ = ["load_digits_frames"]
