"""Evaluation: the field's standard test sets and their protocol (`standard`), real camera
noise pairs (`realnoise`) and the published results to compare with (`published`).

Nothing here is trained on; the test images themselves live outside the project.
"""
