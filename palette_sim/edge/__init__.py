"""The Edge Host API each simulated edge host serves: `app` (the WSGI app), `server` (one TLS
server for every host address), `tls` (certificates), `shapes` and `extras` (the answers).
"""
