"""The REST API of calls (``/api/v1/calls/``): CDRs, billed and explained."""
