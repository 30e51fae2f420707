"""The pure core of engagebill: values, rules and lifecycles, with no I/O.

Nothing here imports anything outside the standard library; time, randomness and storage
are passed in by the services layer.
"""
