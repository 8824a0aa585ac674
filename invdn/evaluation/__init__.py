"""Evaluation: scoring denoisers, in one package.

- the scoring rule (`protocol`: PSNR/SSIM on integer images, the SIDD protocol) on top of the
  one PSNR/SSIM implementation, `invdn.metrics`;
- test data and its protocols: SIDD blocks and paired folders (`evaluate`, `invdn evaluate`),
  the built-in test set of bundled photos (`testset`), the field's standard sets (`standard`),
  real camera noise pairs (`realnoise`), the shipped demo (`demo`, `invdn demo`);
- the denoisers to compare with: classical baselines (`classical`), published rows
  (`published`), cost and quality side by side (`compare`, `invdn compare`);
- reports (`reports`: JSON, Markdown, figures, SIDD submissions).

Nothing here is trained on; the standard and real-noise images live outside the project.
"""
