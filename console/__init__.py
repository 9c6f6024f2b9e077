"""The kernel every app may import: applications and credentials, audit, the push inbox and its
registry, the logged platform gateway, numbers and the privacy rule, alerts, jobs, exports,
confirmation pages, the base console page, health. It imports no app above it (issue 18)."""
