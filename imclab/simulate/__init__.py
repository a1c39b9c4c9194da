"""The synthetic Lumina brand world: a deterministic generator with known ground truth."""

from imclab.simulate.generate import DEFAULT_SEED, load_truth, simulate_world, true_response
from imclab.simulate.spend_plan import read_spend_plan

__all__ = ["DEFAULT_SEED", "load_truth", "read_spend_plan", "simulate_world", "true_response"]
