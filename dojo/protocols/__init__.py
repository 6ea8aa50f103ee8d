"""How a model is judged on a counterexample pair.

* :func:`separate` -- training-free: at random initialisation, are the two graphs' embeddings reliably further
  apart than each graph's embeddings under rigid motions and permutations? (fast; float64)
* :func:`train` -- the GWL paper's protocol: train a fresh model per seed to classify the two graphs; mean ± std
  accuracy over seeds.
"""

from dojo.protocols.separate import Separation, separate
from dojo.protocols.train import Training, train

__all__ = ["PROTOCOLS", "Separation", "Training", "separate", "train"]

#: The protocols by name, as the runner and the ``dojo table --protocol`` option know them.
PROTOCOLS = {"separate": separate, "train": train}
