# Test targets for dockerfile.yaml (semgrep --test). Deliberately insecure; never built.
# ruleid: pg.dockerfile.from-latest
FROM golang:latest AS build
# ruleid: pg.dockerfile.secret-in-env
ARG NPM_TOKEN=npm_0123456789abcdef
# ok: pg.dockerfile.secret-in-env
ARG GITHUB_TOKEN
WORKDIR /src
# ruleid: pg.dockerfile.add-remote-url
ADD https://example.com/tool.tar.gz /tmp/
# ok: pg.dockerfile.add-remote-url
ADD ./vendor /src/vendor
# ruleid: pg.dockerfile.curl-pipe-shell
RUN curl -fsSL https://example.com/install.sh | sh
# ruleid: pg.dockerfile.curl-pipe-shell
RUN apt-get update && wget -qO- https://example.com/setup | sudo -E bash -
# ok: pg.dockerfile.curl-pipe-shell
RUN curl -fsSLo /tmp/install.sh https://example.com/install.sh && sha256sum -c /tmp/install.sh.sha256
# ruleid: pg.dockerfile.chmod-world-writable
RUN chmod 777 /src
# ruleid: pg.dockerfile.chmod-world-writable
RUN chmod -R o+w /srv/data
# ok: pg.dockerfile.chmod-world-writable
RUN chmod 1777 /tmp && chmod 755 /usr/local/bin/tool
RUN go build -o /app ./...

# ok: pg.dockerfile.from-latest
FROM gcr.io/distroless/static:nonroot
# ruleid: pg.dockerfile.secret-in-env
ENV DB_PASSWORD=hunter2
# ruleid: pg.dockerfile.secret-in-env
ENV API_KEY sk_live_0123456789
# ok: pg.dockerfile.secret-in-env
ENV PASSWORD_FILE_PATH_HINT= LOG_LEVEL=info
# ok: pg.dockerfile.secret-in-env
ENV NPM_TOKEN=$NPM_TOKEN
COPY --from=build /app /app
USER 65532
ENTRYPOINT ["/app"]
