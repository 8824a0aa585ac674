"""Measuring and explaining: model comparison (`invdn compare`), memory/speed profiling and the
`invdn explain` experiments."""
