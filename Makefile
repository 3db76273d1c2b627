# School Service. `make demo` runs the app with a demo dataset; `make test` runs every test.
SHELL := /bin/bash
export PATH := $(CURDIR)/.bin:$(PATH)
export GOBIN := $(CURDIR)/.bin

TEMPL_VERSION := v0.3.1100
SQLC_VERSION := v1.31.1
STATICCHECK_VERSION := v0.8.2

STACK := deploy/local/stack
# The stack writes its settings into its folder; SCHOOL_STACK_DIR moves that folder.
STACK_ENV := $(or $(SCHOOL_STACK_DIR),.local)/stack.env
SEED_FLAGS ?= -students 200 -sections 120
PORT ?= 8080

.PHONY: demo test check generate tools assets build stack-up stack-down

demo: assets build stack-up
	set -a && source $(STACK_ENV) && set +a && \
	./school migrate && ./school seed -replace $(SEED_FLAGS) && \
	echo "School Service: http://localhost:$(PORT)  (Ctrl-C stops the app; make stack-down stops MariaDB and slapd)" && \
	./school serve -addr :$(PORT) -log-format text

# The whole verbose output goes to TEST_LOG; the console gets each package's result and
# the lines tests mark "figures:" (what a test tried and measured), or the whole log when
# something failed.
TEST_LOG := $(or $(SCHOOL_STACK_DIR),.local)/test.log

# fonts-nanum: without a Korean font chromium draws Korean as boxes, and the browser tests
# would measure the Korean pages' layout with those. python3-aiosmtpd: the real SMTP
# server the notification e-mail tests start.
# The hybrid drill (internal/hybrid) runs on its own after the other packages: it is a
# whole registration morning (nginx, Prometheus, the autoscaler, app instances) on the two
# cores, and beside another package's tests it starved into 503s that were the machine's.
test: assets stack-up
	$(STACK) deps chromium=chromium prometheus=prometheus promtool=prometheus nginx=nginx mariadb-backup=mariadb-backup amtool=prometheus-alertmanager haproxy=haproxy keepalived=keepalived \
		prometheus-nginx-exporter=prometheus-nginx-exporter prometheus-node-exporter=prometheus-node-exporter \
		/usr/share/fonts/truetype/nanum/NanumGothic.ttf=fonts-nanum \
		/usr/lib/python3/dist-packages/aiosmtpd/__main__.py=python3-aiosmtpd
	set -a && source $(STACK_ENV) && set +a && \
	{ go test -race -count=1 -p 2 -parallel 4 -timeout 20m -v $$(go list ./... | grep -v '/internal/hybrid$$') > $(TEST_LOG) 2>&1 && \
	  go test -race -count=1 -timeout 10m -v ./internal/hybrid/ >> $(TEST_LOG) 2>&1; status=$$?; } ; \
	if [ $$status -ne 0 ]; then cat $(TEST_LOG); echo "make test: FAILED (log: $(TEST_LOG))"; exit $$status; fi; \
	grep -E '^(ok|\?) |figures:' $(TEST_LOG) | sed -E 's/^ +//'

# check: freshness of generated code and the linters; CI runs it after the tests.
check: tools assets
	templ generate >/dev/null
	sqlc diff
	git diff --exit-code -- '*_templ.go' db
	test -z "$$(git status --porcelain -- '*_templ.go' db)" || { git status --porcelain -- '*_templ.go' db; echo "generated files not committed"; exit 1; }
	test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'); exit 1; }
	go vet ./...
	staticcheck ./...

generate: tools
	templ generate
	sqlc generate

build: assets
	go build -o school ./cmd/school

# Pinned code generators and linters, into .bin/ (the build cache makes a rerun quick).
tools:
	go install github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION)
	go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Front-end assets come from npm at the versions package-lock.json pins.
# axe-core stays in node_modules: the browser tests inject it, the app never serves it.
assets: web/static/vendor/htmx.min.js web/static/vendor/pico.min.css node_modules/axe-core/axe.min.js

web/static/vendor/htmx.min.js web/static/vendor/pico.min.css node_modules/axe-core/axe.min.js &: package.json package-lock.json
	command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq npm; } || { echo "npm missing: apt-get install -y npm"; exit 1; }
	npm ci --no-audit --no-fund --silent
	mkdir -p web/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/@picocss/pico/css/pico.min.css web/static/vendor/

stack-up:
	$(STACK) up

stack-down:
	$(STACK) down
