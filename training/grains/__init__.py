"""The grain VAE: dataset, network, losses, task, PCA baseline, evaluation and export."""
