"""Using a model: denoising images (tiled, seeded), evaluation, comparison, export, noise
generation."""
