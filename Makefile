# Everyday commands. The README's two set-up commands need none of these.
.PHONY: run test integration race bench fuzz vet ci

run:            ## run the gateway on the embedded Redis
	go run ./cmd/gatewayd

test:           ## unit tests, nothing installed needed
	go test ./...

integration:    ## every suite against real servers (needs redis-server, dovecot, python3-zeep, chromium)
	GATEWAY_INTEGRATION=1 go test -race -count=1 ./...

bench:          ## benchmarks against a real redis-server
	GATEWAY_INTEGRATION=1 go test -run '^$$' -bench . -benchmem ./...

fuzz:           ## a short run of each fuzz target
	@for pkg in $$(go list ./...); do \
	  for f in $$(go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    go test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

vet:
	gofmt -l $$(git ls-files '*.go'); go vet ./...

ci:             ## what CI runs on a fresh machine
	bash .ci/run
