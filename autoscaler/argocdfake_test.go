package autoscaler

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// argoFake is an Argo CD API server holding one Application, for the endpoints the
// target uses:
//
//	GET   /api/v1/applications/{name}       -> the Application
//	PATCH /api/v1/applications/{name}       ApplicationPatchRequest -> the Application
//	POST  /api/v1/applications/{name}/sync  ApplicationSyncRequest  -> the Application
//
// Errors are Argo CD's gRPC-gateway bodies {"error", "code", "message"}: 401 (code 16)
// without the bearer token, 403 (code 7) for a token without the permission, 404
// (code 5) for another application. A sync starts an operation that runs for
// OperationGets GETs of the Application (counted, not timed, so tests never wait);
// meanwhile a sync answers "another operation is already in progress" (code 9, HTTP 400,
// or InProgressStatus). When the operation ends the Application is Synced, compared
// against its spec.source at that time. A PATCH that changes spec.source makes it
// OutOfSync, unless StaleStatus holds the old comparison, as before the controller
// refreshes.
type argoFake struct {
	t   *testing.T
	srv *httptest.Server

	mu               sync.Mutex
	token            string
	readOnlyToken    string
	name             string
	app              map[string]any
	OperationGets    int
	InProgressStatus int
	StaleStatus      bool
	opLeft           int
	inject           map[string][]argoFault // by "get", "patch", "sync"
	requests         []argoFakeRequest
	syncs            int   // syncs accepted
	deployed         []any // the spec.source of each finished sync
}

type argoFault struct {
	status     int
	inProgress bool // answer the in-progress error with status
}

type argoFakeRequest struct {
	op     string
	body   map[string]any
	status int
}

// newArgoFake serves application name with spec.source src (a JSON object), Synced.
func newArgoFake(t *testing.T, name, src string) *argoFake {
	f := &argoFake{t: t, token: "s3cret-token", readOnlyToken: "read-only", name: name, inject: map[string][]argoFault{}}
	var source any
	if err := json.Unmarshal([]byte(src), &source); err != nil {
		t.Fatal(err)
	}
	f.app = map[string]any{
		"metadata": map[string]any{
			"name": name, "namespace": "argocd", "resourceVersion": "1000",
			"uid": "8b0b5c3e-0000-4000-8000-000000000001",
		},
		"spec": map[string]any{
			"project":     "default",
			"source":      source,
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "school"},
		},
		"status": map[string]any{
			"sync": map[string]any{
				"status":     "Synced",
				"revision":   "4c2f0b1",
				"comparedTo": map[string]any{"source": argoDeepCopy(t, source), "destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "school"}},
			},
			"health": map[string]any{"status": "Healthy"},
			"operationState": map[string]any{
				"phase": "Succeeded", "message": "successfully synced (all tasks run)",
				"operation":  map[string]any{"sync": map[string]any{"revision": "4c2f0b1"}},
				"startedAt":  "2025-01-01T10:00:00Z",
				"finishedAt": "2025-01-01T10:00:05Z",
			},
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/applications/{name}", f.get)
	mux.HandleFunc("PATCH /api/v1/applications/{name}", f.patch)
	mux.HandleFunc("POST /api/v1/applications/{name}/sync", f.sync)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("argocd fake: unexpected %s %s", r.Method, r.URL.Path)
		f.fail(w, http.StatusNotImplemented, 12, "Method Not Allowed")
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func argoDeepCopy(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *argoFake) failNext(op string, faults ...argoFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inject[op] = append(f.inject[op], faults...)
}

// startOperation starts an operation from outside (a user's sync) for gets GETs.
func (f *argoFake) startOperation(gets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begin(map[string]any{"username": "admin"}, gets)
}

// spec returns a copy of the Application's spec.source.
func (f *argoFake) source() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return argoDeepCopy(f.t, f.app["spec"].(map[string]any)["source"])
}

func (f *argoFake) ops(op string) []argoFakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []argoFakeRequest
	for _, r := range f.requests {
		if op == "" || r.op == op {
			out = append(out, r)
		}
	}
	return out
}

func (f *argoFake) counts() (syncs int, deployed []any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs, append([]any(nil), f.deployed...)
}

// admit checks the token and the name, answers a failure, and says whether to go on.
func (f *argoFake) admit(w http.ResponseWriter, r *http.Request, op string, req *argoFakeRequest, write bool) bool {
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "Bearer "+f.token:
	case auth == "Bearer "+f.readOnlyToken && !write:
	case auth == "Bearer "+f.readOnlyToken:
		req.status = http.StatusForbidden
		msg := fmt.Sprintf("permission denied: applications, %s, default/%s, sub: autoscaler-ro, iat: 2025-01-01T00:00:00Z", map[string]string{"patch": "update", "sync": "sync"}[op], f.name)
		f.fail(w, req.status, 7, msg)
		return false
	default:
		req.status = http.StatusUnauthorized
		f.fail(w, req.status, 16, "no session information")
		return false
	}
	if r.PathValue("name") != f.name {
		req.status = http.StatusNotFound
		f.fail(w, req.status, 5, fmt.Sprintf("applications.argoproj.io %q not found", r.PathValue("name")))
		return false
	}
	if q := f.inject[op]; len(q) > 0 {
		fault := q[0]
		f.inject[op] = q[1:]
		req.status = fault.status
		if fault.inProgress {
			f.fail(w, fault.status, 9, "another operation is already in progress")
		} else {
			f.fail(w, fault.status, 13, "internal error")
		}
		return false
	}
	return true
}

func (f *argoFake) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := argoFakeRequest{op: "get"}
	defer func() { f.requests = append(f.requests, req) }()
	if !f.admit(w, r, "get", &req, false) {
		return
	}
	if _, running := f.app["operation"]; running {
		if f.opLeft <= 0 {
			f.finish()
		} else {
			f.opLeft--
		}
	}
	req.status = http.StatusOK
	f.ok(w, f.app)
}

func (f *argoFake) patch(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := argoFakeRequest{op: "patch"}
	defer func() { f.requests = append(f.requests, req) }()
	decodeErr := json.NewDecoder(r.Body).Decode(&req.body) // kept even when refused
	if !f.admit(w, r, "patch", &req, true) {
		return
	}
	if err := decodeErr; err != nil {
		req.status = http.StatusBadRequest
		f.fail(w, req.status, 3, err.Error())
		return
	}
	if req.body["name"] != f.name {
		f.t.Errorf("argocd fake: patch request name %v, want %q", req.body["name"], f.name)
	}
	if req.body["patchType"] != "merge" {
		req.status = http.StatusBadRequest
		f.fail(w, req.status, 3, fmt.Sprintf("Patch type '%v' is not supported", req.body["patchType"]))
		return
	}
	ps, _ := req.body["patch"].(string)
	var p any
	if err := json.Unmarshal([]byte(ps), &p); err != nil {
		req.status = http.StatusBadRequest
		f.fail(w, req.status, 3, "invalid merge patch: "+err.Error())
		return
	}
	before := argoDeepCopy(f.t, f.app["spec"])
	f.app = jsonMergePatch(f.app, p).(map[string]any)
	if !reflect.DeepEqual(before, f.app["spec"]) && !f.StaleStatus {
		f.app["status"].(map[string]any)["sync"].(map[string]any)["status"] = "OutOfSync"
	}
	req.status = http.StatusOK
	f.ok(w, f.app)
}

func (f *argoFake) sync(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := argoFakeRequest{op: "sync"}
	defer func() { f.requests = append(f.requests, req) }()
	decodeErr := json.NewDecoder(r.Body).Decode(&req.body) // kept even when refused
	if !f.admit(w, r, "sync", &req, true) {
		return
	}
	if err := decodeErr; err != nil {
		req.status = http.StatusBadRequest
		f.fail(w, req.status, 3, err.Error())
		return
	}
	if req.body["name"] != f.name {
		f.t.Errorf("argocd fake: sync request name %v, want %q", req.body["name"], f.name)
	}
	if _, running := f.app["operation"]; running {
		req.status = http.StatusBadRequest
		if f.InProgressStatus != 0 {
			req.status = f.InProgressStatus
		}
		f.fail(w, req.status, 9, "another operation is already in progress")
		return
	}
	f.syncs++
	f.begin(map[string]any{"username": "autoscaler"}, f.OperationGets)
	if f.OperationGets == 0 {
		f.finish()
	}
	req.status = http.StatusOK
	f.ok(w, f.app)
}

func (f *argoFake) begin(by map[string]any, gets int) {
	op := map[string]any{"sync": map[string]any{"syncStrategy": map[string]any{"hook": map[string]any{}}}, "initiatedBy": by}
	f.app["operation"] = op
	f.app["status"].(map[string]any)["operationState"] = map[string]any{
		"operation": op, "phase": "Running", "message": "one or more tasks are running",
		"startedAt": "2025-01-01T11:00:00Z",
	}
	f.opLeft = gets
}

func (f *argoFake) finish() {
	delete(f.app, "operation")
	src := argoDeepCopy(f.t, f.app["spec"].(map[string]any)["source"])
	status := f.app["status"].(map[string]any)
	st := status["operationState"].(map[string]any)
	st["phase"], st["message"], st["finishedAt"] = "Succeeded", "successfully synced (all tasks run)", "2025-01-01T11:00:10Z"
	sync := status["sync"].(map[string]any)
	sync["status"] = "Synced"
	sync["comparedTo"].(map[string]any)["source"] = src
	f.deployed = append(f.deployed, src)
}

func (f *argoFake) ok(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("argocd fake: %v", err)
	}
}

// fail answers an error as Argo CD's gRPC gateway does.
func (f *argoFake) fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": code, "message": msg}); err != nil {
		f.t.Errorf("argocd fake: %v", err)
	}
}

// jsonMergePatch applies an RFC 7386 JSON merge patch.
func jsonMergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = jsonMergePatch(t[k], v)
	}
	return t
}

func TestJSONMergePatchOfTheFake(t *testing.T) {
	var target, patch any
	_ = json.Unmarshal([]byte(`{"a":{"b":1,"c":[1,2]},"d":"x"}`), &target)
	_ = json.Unmarshal([]byte(`{"a":{"c":[3],"e":{"f":2}},"d":null}`), &patch)
	got, _ := json.Marshal(jsonMergePatch(target, patch))
	if want := `{"a":{"b":1,"c":[3],"e":{"f":2}}}`; string(got) != want {
		t.Fatalf("merge patch gave %s, want %s", got, want)
	}
	if !strings.Contains(string(got), `"c":[3]`) {
		t.Fatal("a list is replaced whole")
	}
}
