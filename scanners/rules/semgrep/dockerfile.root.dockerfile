# Test targets for dockerfile.yaml: an image whose last USER is root.
FROM python:3.12-slim
RUN useradd --create-home app
# ok: pg.dockerfile.user-root
USER root
RUN apt-get update && apt-get install -y --no-install-recommends git
USER app
RUN pip install --user flask
# ruleid: pg.dockerfile.user-root
USER root
CMD ["python", "-m", "flask", "run"]
