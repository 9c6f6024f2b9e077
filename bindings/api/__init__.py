"""The REST API of bindings (``/api/v1/bindings/``): the same form and services as the pages."""
