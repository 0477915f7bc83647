"""``python -m training ...`` is ``deepnote-train ...`` (used under torchrun)."""

import sys

from training.cli import train_main

sys.exit(train_main())
