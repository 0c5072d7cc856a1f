"""``python -m imitation_train.collect``: the same as ``imitation-train collect``."""

import sys

from imitation_train.collect import main

sys.exit(main())
