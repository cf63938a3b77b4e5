"""Module code that Transform, Trainer and Tuner load by dotted path, and the errors.

The bottom layer: it imports nothing from `components` outside this package
nor from `pipeline`, so it runs wherever those components run (Beam workers,
Vertex AI training) with only this package installed.
"""
