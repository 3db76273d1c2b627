package hybrid

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// argoToken is the bearer token the stand-in takes (a local drill's, not a secret).
const argoToken = "hybrid-drill-token"

// argoCD stands in for the Argo CD API server, for the calls the autoscaler makes:
//
//	GET   /api/v1/applications/{name}       -> the Application
//	PATCH /api/v1/applications/{name}       ApplicationPatchRequest (merge) -> the Application
//	POST  /api/v1/applications/{name}/sync  ApplicationSyncRequest -> the Application
//
// with Argo CD's gRPC-gateway error bodies {"error","code","message"}. A sync runs for
// syncTime (meanwhile the Application has an operation and another sync answers "another
// operation is already in progress"); when it ends the Application is Synced and its
// count is applied: the replicas become local processes. The autoscaler's own tests use
// a counted, single-Application fake (autoscaler/argocdfake_test.go); this one runs in
// real time, holds both Applications and drives processes, so the two share only the
// wire format.
type argoCD struct {
	syncTime time.Duration

	mu          sync.Mutex
	apps        map[string]*argoApp
	refuseUntil time.Time // the drill's fault: syncs refused until then
	refused     int
}

type argoApp struct {
	name     string
	replicas int // spec.source.kustomize.replicas[0].count
	deployed int // what the last finished sync applied
	opUntil  time.Time
	opCount  int
	apply    func(int)
}

func newArgoCD(syncTime time.Duration) *argoCD {
	return &argoCD{syncTime: syncTime, apps: map[string]*argoApp{}}
}

// add registers an Application at n replicas, deployed. apply runs outside a.mu, as in
// tick: it takes the topology's lock, which is held while a.deployed is asked.
func (a *argoCD) add(name string, n int, apply func(int)) {
	a.mu.Lock()
	a.apps[name] = &argoApp{name: name, replicas: n, deployed: n, apply: apply}
	a.mu.Unlock()
	apply(n)
}

// refuse makes every sync fail with 503 Unavailable for d.
func (a *argoCD) refuse(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refuseUntil = time.Now().Add(d)
}

// tick finishes the syncs whose time is up.
func (a *argoCD) tick(now time.Time) {
	a.mu.Lock()
	var done []*argoApp
	for _, app := range a.apps {
		if !app.opUntil.IsZero() && !now.Before(app.opUntil) {
			app.opUntil, app.deployed = time.Time{}, app.opCount
			done = append(done, app)
		}
	}
	a.mu.Unlock()
	for _, app := range done {
		app.apply(app.deployed)
	}
}

// deployed is what each Application runs now.
func (a *argoCD) deployed(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if app, ok := a.apps[name]; ok {
		return app.deployed
	}
	return 0
}

func source(n int) map[string]any {
	return map[string]any{
		"repoURL":        "https://github.com/schoolservice/school.git",
		"targetRevision": "main",
		"kustomize":      map[string]any{"replicas": []any{map[string]any{"name": "school", "count": n}}},
	}
}

func (app *argoApp) view(now time.Time) map[string]any {
	status := "Synced"
	if app.replicas != app.deployed {
		status = "OutOfSync"
	}
	out := map[string]any{
		"metadata": map[string]any{"name": app.name, "namespace": "argocd"},
		"spec": map[string]any{
			"project": "school", "source": source(app.replicas),
			"destination": map[string]any{"name": "in-cluster", "namespace": "school"},
		},
		"status": map[string]any{
			"sync":   map[string]any{"status": status, "comparedTo": map[string]any{"source": source(app.deployed)}},
			"health": map[string]any{"status": "Healthy"},
		},
	}
	if !app.opUntil.IsZero() && now.Before(app.opUntil) {
		out["operation"] = map[string]any{"sync": map[string]any{"revision": "main"}}
		out["status"].(map[string]any)["operationState"] = map[string]any{"phase": "Running"}
	} else {
		out["status"].(map[string]any)["operationState"] = map[string]any{"phase": "Succeeded"}
	}
	return out
}

func argoFail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": code, "message": msg})
}

func (a *argoCD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/applications/")
	if !ok {
		argoFail(w, http.StatusNotFound, 5, "Not Found")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+argoToken {
		argoFail(w, http.StatusUnauthorized, 16, "invalid session: token is not valid")
		return
	}
	name, op, _ := strings.Cut(rest, "/")
	a.mu.Lock()
	defer a.mu.Unlock()
	app, found := a.apps[name]
	if !found {
		argoFail(w, http.StatusNotFound, 5, fmt.Sprintf("applications.argoproj.io %q not found", name))
		return
	}
	now := time.Now()
	switch {
	case op == "" && r.Method == http.MethodGet:
	case op == "" && r.Method == http.MethodPatch:
		var req struct{ Name, Patch, PatchType string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.PatchType != "merge" {
			argoFail(w, http.StatusBadRequest, 3, "patch: want an ApplicationPatchRequest of patchType merge")
			return
		}
		n, err := patchedReplicas(req.Patch)
		if err != nil {
			argoFail(w, http.StatusBadRequest, 3, err.Error())
			return
		}
		app.replicas = n
	case op == "sync" && r.Method == http.MethodPost:
		if now.Before(a.refuseUntil) {
			a.refused++
			argoFail(w, http.StatusServiceUnavailable, 14, "the repo server is unavailable (drill)")
			return
		}
		if !app.opUntil.IsZero() {
			argoFail(w, http.StatusBadRequest, 9, "another operation is already in progress")
			return
		}
		app.opUntil, app.opCount = now.Add(a.syncTime), app.replicas
	default:
		argoFail(w, http.StatusNotImplemented, 12, "Method Not Allowed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(app.view(now))
}

// patchedReplicas reads the count from the merge patch the daemon sends,
// {"spec":{"source":{"kustomize":{"replicas":[{"name":…,"count":N}]}}}}.
func patchedReplicas(patch string) (int, error) {
	var p struct {
		Spec struct {
			Source struct {
				Kustomize struct {
					Replicas []struct {
						Count json.Number `json:"count"`
					} `json:"replicas"`
				} `json:"kustomize"`
			} `json:"source"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(patch), &p); err != nil || len(p.Spec.Source.Kustomize.Replicas) != 1 {
		return 0, fmt.Errorf("patch: want spec.source.kustomize.replicas with one entry: %q", patch)
	}
	n, err := p.Spec.Source.Kustomize.Replicas[0].Count.Int64()
	if err != nil || n < 0 {
		return 0, fmt.Errorf("patch: replicas count %q is not a whole number", p.Spec.Source.Kustomize.Replicas[0].Count)
	}
	return int(n), nil
}
