# ParcelCare's one image: the API (default command), the worker (`python worker.py`), the
# migration job (`python -m store.migrate`) and the codec server all run from it.
# docker-compose.yml builds it; docs/production.md describes the stack.
FROM python:3.11.15-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

# A fixed, unprivileged uid/gid: the processes never run as root.
RUN groupadd --system --gid 10001 parcelcare \
 && useradd --system --uid 10001 --gid parcelcare --create-home --home-dir /home/parcelcare \
        --shell /usr/sbin/nologin parcelcare

WORKDIR /app

# The pinned tree that was tested, in its own layer so that source edits don't reinstall it.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# The source stays owned by root: the app user can read it, not change it.
COPY . .

USER parcelcare:parcelcare

EXPOSE 8000
CMD ["uvicorn", "--factory", "api.app:create_app", "--host", "0.0.0.0", "--port", "8000"]
