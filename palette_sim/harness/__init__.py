"""What makes the simulator a test double rather than Palette: rate limits (`ratelimit`), injected
faults (`faults`), served-request counters (`stats`) and the /__sim/ control API (`control`).
"""
