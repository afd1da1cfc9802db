# Test targets for dockerfile.yaml: an image without any USER.
# ruleid: pg.dockerfile.from-latest
FROM --platform=linux/amd64 node:latest
COPY . /app
# ruleid: pg.dockerfile.missing-user
CMD ["node", "/app/server.js"]
