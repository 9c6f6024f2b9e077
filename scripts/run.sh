#!/usr/bin/env bash
# `make run`: install, prepare and start the whole console in the foreground (Ctrl-C stops it all).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

scripts/system-packages.sh
if [[ ! -x .venv/bin/python ]]; then
  echo "Creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
echo "Installing requirements.txt"
.venv/bin/pip install --quiet -r requirements.txt
mkdir -p var

if [[ ! -f .env ]]; then
  echo "Writing .env with fresh secrets (local demo settings: HTTP on 127.0.0.1)"
  .venv/bin/python - <<'PY'
import secrets
from pathlib import Path
from cryptography.fernet import Fernet
Path(".env").write_text(
    "# Written by `make run` for the local demo; see .env.example for every variable.\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FIELD_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n"
    "DEBUG=false\nHTTPS=false\nALLOWED_HOSTS=127.0.0.1,localhost\n"
    "# Demo only: demo data at first start and new calls every minute on the simulator, which\n"
    "# runs 60 times faster than the platform, so recordings live 7 days / 60.\n"
    "DEMO=true\nDEMO_TRAFFIC=true\n"
    f"RECORDING_RETENTION_SECONDS={7 * 24 * 3600 // 60}\n"
    f"RECORDING_PUSH_RETRY_WINDOW_SECONDS={301 * 60 // 60}\n"
    f"RECORDING_ALERT_BEFORE_SECONDS={24 * 3600 // 60}\n"
)
PY
fi

# Redis is the broker and the cache when it answers; otherwise kombu's filesystem transport
# under var/ and a file cache keep the whole console working on one machine.
redis_url=$(.venv/bin/python -c "
import environ, os
env = environ.Env(); env.read_env('.env')
print(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0'))")
if ! .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$redis_url" 2>/dev/null; then
  echo "Redis is not reachable at $redis_url: using the filesystem broker under var/celery and a file cache under var/cache instead."
  export CELERY_BROKER_URL="filesystem://"
  export CACHE_URL="filecache://$PWD/var/cache"
fi

.venv/bin/python manage.py bootstrap
exec .venv/bin/honcho --no-colour -f Procfile start
