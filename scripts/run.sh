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

# The demo's .env: written with fresh secrets when there is none; an older one gets the demo
# settings added since it was written (appended, never changing a value someone set; never a
# secret: a new encryption key would make the stored application secrets unreadable).
.venv/bin/python - <<'PY'
import re
import secrets
from pathlib import Path
from cryptography.fernet import Fernet
env = Path(".env")
settings = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DEBUG": "false",
    "HTTPS": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    # Demo only: demo data at first start and new calls every minute on the simulator, which
    # runs 60 times faster than the platform, so recordings live 7 days / 60.
    "DEMO": "true",
    "DEMO_TRAFFIC": "true",
    "RECORDING_RETENTION_SECONDS": str(7 * 24 * 3600 // 60),
    "RECORDING_PUSH_RETRY_WINDOW_SECONDS": str(301 * 60 // 60),
    "RECORDING_ALERT_BEFORE_SECONDS": str(24 * 3600 // 60),
}
if not env.exists():
    print("Writing .env with fresh secrets (local demo settings: HTTP on 127.0.0.1)")
    env.write_text(
        "# Written by `make run` for the local demo; see .env.example for every variable.\n"
        + "".join(f"{name}={value}\n" for name, value in settings.items())
    )
else:
    present = set(re.findall(r"^\s*([A-Z_][A-Z0-9_]*)\s*=", env.read_text(), re.MULTILINE))
    demo = ("DEMO", "DEMO_TRAFFIC", "RECORDING_RETENTION_SECONDS",
            "RECORDING_PUSH_RETRY_WINDOW_SECONDS", "RECORDING_ALERT_BEFORE_SECONDS")
    missing = {name: settings[name] for name in demo if name not in present}
    if missing:
        print(f"Adding to .env the demo settings it lacks: {', '.join(missing)}")
        with env.open("a") as file:
            file.write("# Added by `make run`: settings this .env did not have yet.\n")
            file.writelines(f"{name}={value}\n" for name, value in missing.items())
PY

# Redis is the broker and the cache when it answers; otherwise kombu's filesystem transport
# under var/ and a file cache keep the whole console working on one machine.
redis_url=$(.venv/bin/python -c "
import environ, os
env = environ.Env(); env.read_env('.env')
print(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0'))")
if ! .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$redis_url" 2>/dev/null; then
  echo "Redis is not reachable at $redis_url: using the filesystem broker under var/celery and a file cache under var/cache instead."
  # A host name, which the filesystem transport ignores, so that kombu does not warn of its absence.
  export CELERY_BROKER_URL="filesystem://localhost/"
  export CACHE_URL="filecache://$PWD/var/cache"
fi

.venv/bin/python manage.py bootstrap
status=0
.venv/bin/honcho --no-colour -f Procfile start || status=$?
# Ctrl-C: honcho stops every process and exits 130 or 143. That is how the demo ends, not an
# error for make to report ("make: *** Error 143").
if [[ $status -eq 130 || $status -eq 143 ]]; then
  echo "Stopped."
  exit 0
fi
exit $status
