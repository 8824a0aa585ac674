"""Files: images (read/write, bit depth, metadata that affects display), weights files and
atomic writes."""
