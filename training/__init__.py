"""deepnote's training package: datasets, models, training loops, evaluation and export."""
