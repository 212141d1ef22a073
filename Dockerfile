# The OMS image: one image for every process (web, worker, beat, flower); docker-compose.yml
# picks the command. Configuration comes from the environment, as everywhere (.env.example).
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
# .env) can end up in the image.
COPY manage.py Procfile README.md ./
COPY omsproject ./omsproject
COPY orders ./orders
COPY sessions ./sessions
COPY venues ./venues
COPY dispatch ./dispatch
COPY executions ./executions
COPY marketdata ./marketdata
COPY metrics ./metrics
COPY exchange ./exchange
# Editable, so settings' BASE_DIR (and var/) stays /app rather than site-packages.
RUN pip install --no-deps -e . \
    && mkdir -p var \
    && chown oms:oms var

USER oms
EXPOSE 8000 8001 5555
CMD ["gunicorn", "omsproject.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", \
     "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-"]
