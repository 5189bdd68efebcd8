"""The fleet: every record the simulator serves, how it is generated and how it churns. No HTTP.

`records` (the dataclasses), `fleet` (the `Fleet` and its indexes), `logs` (audits and events as
columns), `catalog` (the vocabulary), `generate` (`generate_fleet`), `churn` and `clock`.
"""
