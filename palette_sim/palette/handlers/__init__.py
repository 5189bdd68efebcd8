"""The Palette API handlers, by area: tenant (auth, users, projects, audits), clusters (and
profiles), edgehosts, events. Each takes a `Context` and returns a dict or a Response."""
