"""Training: the Lightning system, its loss, schedules, weight averaging, checkpoints, resume,
signals and the Hydra config that composes them (`invdn.training.run.train` runs it all)."""
