# syntax=docker/dockerfile:1
#
# The Surge container image: one static binary on distroless, non-root, no
# shell. Build it with
#
#     docker build -t surge:dev .
#     docker build --build-arg VERSION=v1.2.3 -t REGISTRY/surge:v1.2.3 .
#
# The same image runs `surge server`, `surge agent` and `surge run`; servers
# refuse agents of another version, so run one image everywhere.
# deploy/deploy_test.go runs this file's `go build` line and checks the
# final stage (go test ./deploy/).

# GO_VERSION is go.mod's go directive (the test keeps them equal).
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: they are cached in their own layer until go.mod changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# TARGETOS and TARGETARCH are set by BuildKit (docker buildx --platform);
# the defaults are for builders that do not set them.
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
# CGO_ENABLED=0: the SQLite driver (modernc.org/sqlite) is pure Go, so the
# binary is static and needs no libc in the final image.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -buildvcs=false -ldflags="-s -w -X github.com/surgeload/surge/internal/cli.Version=${VERSION}" -o /out/surge ./cmd/surge

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), tzdata,
# and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/surge /usr/local/bin/surge
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
EXPOSE 8089
ENTRYPOINT ["/usr/local/bin/surge"]
CMD ["--help"]
