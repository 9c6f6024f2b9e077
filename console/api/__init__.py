"""The kernel's part of the REST API (``/api/v1/``): API-key authentication, scopes, rate
limits, problem details, cursor pagination and masked numbers. Each app's ``api`` package builds
its endpoints on these (docs/api.md)."""
