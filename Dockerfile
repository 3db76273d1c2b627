# syntax=docker/dockerfile:1
# One image, both programs: /school (serve, migrate, seed) and /autoscaler. Static
# binaries on distroless (no shell, no package manager), run as a non-root user.
#   docker build -t ghcr.io/schoolservice/school:$(git rev-parse HEAD) .

# The front-end assets the app embeds, at the versions package-lock.json pins (axe-core,
# a devDependency the browser tests inject, stays out).
FROM node:22-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --silent \
 && mkdir -p vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js node_modules/@picocss/pico/css/pico.min.css vendor/

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=assets /src/vendor/ web/static/vendor/
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w" -o /out/school ./cmd/school \
 && go build -trimpath -ldflags="-s -w" -o /out/autoscaler ./cmd/autoscaler

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/school /school
COPY --from=build /out/autoscaler /autoscaler
# distroless's nonroot user; the Kubernetes manifests run as the same uid.
USER 65532:65532
# school serve: 8080 the pages, 9100 /healthz, /readyz and /metrics (-ops-addr);
# autoscaler: 9102 its /metrics and /healthz.
EXPOSE 8080 9100 9102
ENTRYPOINT ["/school"]
CMD ["serve"]
