"""gunicorn's settings for the console (``gunicorn -c python:shell.gunicorn_config …``), used
by the Procfile (`make run`) and in production (docs/operations.md). Command-line options (bind
address, workers, threads) complete them.

The worker and the logger are the console's (``console/gunicorn.py``): requests get a thread
only once they have arrived (slow or idle clients cannot stall the server), and the access log
masks phone numbers.
"""

worker_class = "console.gunicorn.GuardedThreadWorker"
logger_class = "console.gunicorn.MaskingLogger"
threads = 4
# A worker whose event loop is silent this long is replaced (requests themselves are bounded by
# GUNICORN_HEADER_TIMEOUT and GUNICORN_IDLE_TIMEOUT, see console/gunicorn.py).
timeout = 60
graceful_timeout = 30
keepalive = 5
# Request line and headers: gunicorn's limits, stated (431/400 beyond them).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
