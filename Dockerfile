# syntax=docker/dockerfile:1
# Build: a static gatewayd.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gatewayd ./cmd/gatewayd

# Run: distroless static, non-root, with the shipped config and mappings.
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/gatewayd /app/gatewayd
COPY configs/ /app/configs/
COPY mappings/ /app/mappings/
USER nonroot:nonroot
ENV GATEWAY_ADDR=:8080 GATEWAY_ATTACHMENTS_DIR=/tmp/attachments
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/app/gatewayd", "healthcheck"]
ENTRYPOINT ["/app/gatewayd"]
CMD ["serve"]
