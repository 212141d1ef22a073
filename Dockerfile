# The OMS image: one image for every Procfile process (web, worker, dispatcher, beat, flower,
# fix, exchange); docker-compose.yml picks the command. Configuration comes from the
# environment, as everywhere (.env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 oms
WORKDIR /app

# Runtime dependencies first, pinned by constraints.txt: this layer is rebuilt only when
# pyproject.toml or constraints.txt change, not on every code edit.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt -c constraints.txt \
    && rm /tmp/requirements.txt

# Sources are listed one by one so nothing local (.venv, var/ with its generated secrets,
# .env) can end up in the image: every app of INSTALLED_APPS, the project package and the
# mock exchange (tests/test_docker.py checks the list against settings and the Procfile).
COPY manage.py Procfile README.md ./
COPY omsproject ./omsproject
COPY orders ./orders
COPY executions ./executions
COPY dispatch ./dispatch
COPY venues ./venues
COPY sessions ./sessions
COPY marketdata ./marketdata
COPY metrics ./metrics
COPY risk ./risk
COPY routing ./routing
COPY exchange ./exchange
# Editable, so settings' BASE_DIR (and var/) stays /app rather than site-packages.
# var/exchange exists in the image, owned by oms, so the exchange's state volume mounted
# there starts out writable by it.
RUN pip install --no-deps -e . \
    && mkdir -p var/exchange \
    && chown -R oms:oms var

USER oms
# web, the live stream, flower; the mock exchange's HTTP and FIX ports.
EXPOSE 8000 8001 5555 9001 9878
# As the Procfile's web: 3 workers x 2 threads carried the most orders/s on 2 cores.
CMD ["gunicorn", "omsproject.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--worker-class", "gthread", "--threads", "2", "--access-logfile", "-"]
