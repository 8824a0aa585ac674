"""Measuring what a training step costs: peak memory above the resting state and step time."""
