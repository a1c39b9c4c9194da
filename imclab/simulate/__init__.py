"""The synthetic Lumina brand world: a deterministic generator with known ground truth."""

from imclab.simulate.generate import DEFAULT_SEED, load_truth, simulate_world, true_response

__all__ = ["DEFAULT_SEED", "load_truth", "simulate_world", "true_response"]
