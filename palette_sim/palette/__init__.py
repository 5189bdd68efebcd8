"""The Palette REST API over a fleet.

`app` (the `SimApp` pipeline: rate limit, faults, auth, dispatch), `routes` (path -> handler),
`context` (one request as handlers see it), `handlers/` (one module per area), `shapes/` (the JSON
of each object), `search`, `paging`, `tokens`, `errors`, `omitempty` and `server` (the socket).
"""
