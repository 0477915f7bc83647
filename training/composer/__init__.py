"""The LSTM composer: chorale data, piano-roll dataset, network, task, evaluation and export."""
