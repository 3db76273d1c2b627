package autoscaler

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ArgoApp is the Target of an Argo CD Application's replicas, set through Argo CD's REST
// API with a bearer token (an Argo CD account's API token) read from TokenFile at each
// call, so a rotated token is picked up.
//
// Where the replicas live depends on Source:
//
//   - "kustomize": spec.source.kustomize.replicas, a list of {name, count}. The entry
//     whose name is the Application's name is the one read and set; when none is, the
//     first entry. The list must have an entry: kustomize needs the workload's name,
//     which the daemon does not guess. Other entries are left as they are.
//   - "helm": the value at HelmValue, a dot-separated path of keys (such as
//     "replicaCount" or "app.replicas"), in spec.source.helm.valuesObject. Resize
//     creates it when absent, unless the Application keeps its inline values in the
//     helm.values string, which a valuesObject would override whole: that is an error.
//
// Resize patches spec.source with a JSON merge patch (PATCH /api/v1/applications/{name})
// and then syncs (POST /api/v1/applications/{name}/sync). When the spec already holds
// the size, it only syncs, and only if the last comparison is not Synced against that
// size, so a sync lost to an error is made up at the next call. An operation in progress
// is ErrBusy, before anything is patched when it can be seen. 5xx answers and failed
// sends are retried with Backoff; 401 and 403 are errors that name the token file.
type ArgoApp struct {
	cfg    ArgoCDConfig
	base   *url.URL
	client *http.Client
	// Backoff paces the retries of 5xx answers and failed sends.
	Backoff Backoff
}

// NewArgoApp returns the target for cfg's Application, calling Argo CD with client (nil
// for a client with a 30s timeout).
func NewArgoApp(cfg ArgoCDConfig, client *http.Client) (*ArgoApp, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("argocd: url %q must be the Argo CD server's http(s) URL", cfg.URL)
	}
	if cfg.Application == "" {
		return nil, errors.New("argocd: the application name is required")
	}
	switch cfg.Source {
	case "kustomize":
	case "helm":
		if cfg.HelmValue == "" || slices.Contains(strings.Split(cfg.HelmValue, "."), "") {
			return nil, fmt.Errorf("argocd: helm_value %q must be a dot-separated path of keys", cfg.HelmValue)
		}
	default:
		return nil, fmt.Errorf("argocd: source %q: want kustomize or helm", cfg.Source)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), strings.TrimSuffix(u.RawPath, "/")
	return &ArgoApp{cfg: cfg, base: u, client: client}, nil
}

// NewArgoAppFromConfig returns the target for cfg's Application on a client with a 30s
// timeout that trusts cfg.CAFile's CAs (an internal CA signing Argo CD's certificate)
// on top of the system's roots.
func NewArgoAppFromConfig(cfg ArgoCDConfig) (*ArgoApp, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("argocd: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("argocd: ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		client.Transport = tr
	}
	return NewArgoApp(cfg, client)
}

// Size returns the replicas in the Application's spec.
func (a *ArgoApp) Size(ctx context.Context) (int, error) {
	token, err := a.token()
	if err != nil {
		return 0, err
	}
	app, err := a.get(ctx, token)
	if err != nil {
		return 0, err
	}
	src, err := a.source(app)
	if err != nil {
		return 0, err
	}
	n, ok, err := a.replicasIn(src)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("argocd: application %s sets no replicas at %s", a.cfg.Application, a.where())
	}
	return n, nil
}

// Resize sets the Application's replicas to n, within min and max replicas, and syncs.
func (a *ArgoApp) Resize(ctx context.Context, n int) error {
	token, err := a.token()
	if err != nil {
		return err
	}
	app, err := a.get(ctx, token)
	if err != nil {
		return err
	}
	src, err := a.source(app)
	if err != nil {
		return err
	}
	n = clamp(n, a.cfg.MinReplicas, a.cfg.MaxReplicas)
	cur, have, err := a.replicasIn(src)
	if err != nil {
		return err
	}
	if have && cur == n && a.syncedAt(app, n) {
		return nil
	}
	if app.busy() {
		return fmt.Errorf("%w: argocd application %s has an operation in progress", ErrBusy, a.cfg.Application)
	}
	if !have || cur != n {
		patch, err := a.patchFor(src, n)
		if err != nil {
			return err
		}
		req := argoPatchRequest{Name: a.cfg.Application, PatchType: "merge", Patch: string(patch)}
		if err := a.call(ctx, token, http.MethodPatch, "", req, nil); err != nil {
			return err
		}
	}
	return a.call(ctx, token, http.MethodPost, "/sync", argoSyncRequest{Name: a.cfg.Application}, nil)
}

// argoApplication is the part of an Argo CD Application the target reads.
type argoApplication struct {
	Spec struct {
		Source  *argoSource       `json:"source"`
		Sources []json.RawMessage `json:"sources"`
	} `json:"spec"`
	// Operation is set while an operation is requested or running.
	Operation json.RawMessage `json:"operation"`
	Status    struct {
		Sync struct {
			Status     string `json:"status"` // Synced, OutOfSync, Unknown
			ComparedTo struct {
				Source *argoSource `json:"source"`
			} `json:"comparedTo"`
		} `json:"sync"`
		OperationState *struct {
			Phase string `json:"phase"` // Running, Terminating, Succeeded, Failed, Error
		} `json:"operationState"`
	} `json:"status"`
}

type argoSource struct {
	Kustomize *struct {
		Replicas []argoKustomizeReplica `json:"replicas"`
	} `json:"kustomize"`
	Helm *struct {
		Values       string         `json:"values"`
		ValuesObject map[string]any `json:"valuesObject"`
	} `json:"helm"`
}

// argoKustomizeReplica is one spec.source.kustomize.replicas entry; Argo CD's count is
// an int-or-string.
type argoKustomizeReplica struct {
	Name  string          `json:"name"`
	Count json.RawMessage `json:"count"`
}

// argoPatchRequest is Argo CD's ApplicationPatchRequest.
type argoPatchRequest struct {
	Name      string `json:"name"`
	Patch     string `json:"patch"`
	PatchType string `json:"patchType"`
}

// argoSyncRequest is Argo CD's ApplicationSyncRequest, with its defaults.
type argoSyncRequest struct {
	Name string `json:"name"`
}

func (app *argoApplication) busy() bool {
	if len(app.Operation) > 0 && string(app.Operation) != "null" {
		return true
	}
	if st := app.Status.OperationState; st != nil && (st.Phase == "Running" || st.Phase == "Terminating") {
		return true
	}
	return false
}

// syncedAt says whether the Application's last comparison found it Synced with n
// replicas. An Argo CD that reports no compared source is taken at its word.
func (a *ArgoApp) syncedAt(app *argoApplication, n int) bool {
	if app.Status.Sync.Status != "Synced" {
		return false
	}
	src := app.Status.Sync.ComparedTo.Source
	if src == nil {
		return true
	}
	got, ok, err := a.replicasIn(src)
	return err == nil && ok && got == n
}

func (a *ArgoApp) source(app *argoApplication) (*argoSource, error) {
	if app.Spec.Source == nil {
		if len(app.Spec.Sources) > 0 {
			return nil, fmt.Errorf("argocd: application %s has several sources (spec.sources); only spec.source is supported", a.cfg.Application)
		}
		return nil, fmt.Errorf("argocd: application %s has no spec.source", a.cfg.Application)
	}
	return app.Spec.Source, nil
}

func (a *ArgoApp) where() string {
	if a.cfg.Source == "helm" {
		return "spec.source.helm.valuesObject." + a.cfg.HelmValue
	}
	return "spec.source.kustomize.replicas"
}

// replicasIn reads the replicas from src; ok is false when src does not set them.
func (a *ArgoApp) replicasIn(src *argoSource) (n int, ok bool, err error) {
	if a.cfg.Source == "helm" {
		if src.Helm == nil {
			return 0, false, nil
		}
		var v any = src.Helm.ValuesObject
		for _, k := range strings.Split(a.cfg.HelmValue, ".") {
			m, isMap := v.(map[string]any)
			if !isMap {
				return 0, false, nil
			}
			if v, ok = m[k]; !ok {
				return 0, false, nil
			}
		}
		n, err = replicaCount(v)
		if err != nil {
			return 0, false, fmt.Errorf("argocd: application %s: %s: %w", a.cfg.Application, a.where(), err)
		}
		return n, true, nil
	}
	i := a.replicaEntry(src)
	if i < 0 {
		return 0, false, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(src.Kustomize.Replicas[i].Count))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return 0, false, fmt.Errorf("argocd: application %s: replicas count: %w", a.cfg.Application, err)
	}
	n, err = replicaCount(v)
	if err != nil {
		return 0, false, fmt.Errorf("argocd: application %s: replicas entry %q: %w", a.cfg.Application, src.Kustomize.Replicas[i].Name, err)
	}
	return n, true, nil
}

// replicaEntry is the index of the kustomize replicas entry the target owns, or -1.
func (a *ArgoApp) replicaEntry(src *argoSource) int {
	if src.Kustomize == nil || len(src.Kustomize.Replicas) == 0 {
		return -1
	}
	for i, r := range src.Kustomize.Replicas {
		if r.Name == a.cfg.Application {
			return i
		}
	}
	return 0
}

// replicaCount reads a count written as a JSON number or a numeric string.
func replicaCount(v any) (int, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		s = v
	default:
		return 0, fmt.Errorf("replicas %v is not a number", v)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("replicas %q is not a whole number", s)
	}
	return n, nil
}

// patchFor is the JSON merge patch that sets n replicas in the Application.
func (a *ArgoApp) patchFor(src *argoSource, n int) ([]byte, error) {
	var source map[string]any
	if a.cfg.Source == "helm" {
		if src.Helm != nil && src.Helm.ValuesObject == nil && strings.TrimSpace(src.Helm.Values) != "" {
			return nil, fmt.Errorf("argocd: application %s keeps its helm values in the helm.values string, which a valuesObject would replace: move them to spec.source.helm.valuesObject", a.cfg.Application)
		}
		keys := strings.Split(a.cfg.HelmValue, ".")
		var v any = n
		for i := len(keys) - 1; i >= 0; i-- {
			v = map[string]any{keys[i]: v}
		}
		source = map[string]any{"helm": map[string]any{"valuesObject": v}}
	} else {
		i := a.replicaEntry(src)
		if i < 0 {
			return nil, fmt.Errorf("argocd: application %s has no spec.source.kustomize.replicas entry: add one naming the workload", a.cfg.Application)
		}
		// A merge patch replaces a list whole: send every entry, ours changed.
		replicas := make([]argoKustomizeReplica, len(src.Kustomize.Replicas))
		copy(replicas, src.Kustomize.Replicas)
		replicas[i].Count = json.RawMessage(strconv.Itoa(n))
		source = map[string]any{"kustomize": map[string]any{"replicas": replicas}}
	}
	return json.Marshal(map[string]any{"spec": map[string]any{"source": source}})
}

func (a *ArgoApp) token() (string, error) {
	b, err := os.ReadFile(a.cfg.TokenFile)
	if err != nil {
		return "", fmt.Errorf("argocd: reading the token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("argocd: token file %s is empty", a.cfg.TokenFile)
	}
	return t, nil
}

func (a *ArgoApp) get(ctx context.Context, token string) (*argoApplication, error) {
	var app argoApplication
	if err := a.call(ctx, token, http.MethodGet, "", nil, &app); err != nil {
		return nil, err
	}
	return &app, nil
}

// argoError is an Argo CD error answer: its gRPC-gateway body {"error", "code",
// "message"} and the HTTP status.
type argoError struct {
	Method, Path string
	Status       int
	Code         int    `json:"code"`
	Message      string `json:"message"`
	Err          string `json:"error"`
}

func (e *argoError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Err
	}
	return fmt.Sprintf("argocd: %s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), msg)
}

func (e *argoError) inProgress() bool {
	const s = "another operation is already in progress"
	return strings.Contains(e.Message, s) || strings.Contains(e.Err, s)
}

// call sends one request about the Application (suffix after its path), retrying 5xx
// answers and failed sends, and decodes a success into out when out is not nil.
func (a *ArgoApp) call(ctx context.Context, token, method, suffix string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	path := a.base.EscapedPath() + "/api/v1/applications/" + url.PathEscape(a.cfg.Application) + suffix
	target := a.base.Scheme + "://" + a.base.Host + path
	return a.Backoff.retry(ctx, func(ctx context.Context) (bool, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return false, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := a.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return false, err
			}
			return true, fmt.Errorf("argocd: %s %s: %w", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			return true, fmt.Errorf("argocd: %s %s: reading the answer: %w", method, path, err)
		}
		if resp.StatusCode/100 == 2 {
			if out == nil {
				return false, nil
			}
			if err := json.Unmarshal(b, out); err != nil {
				return false, fmt.Errorf("argocd: %s %s: decoding the answer: %w", method, path, err)
			}
			return false, nil
		}
		e := &argoError{Method: method, Path: path, Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || (e.Message == "" && e.Err == "") {
			e.Message = strings.TrimSpace(string(b))
		}
		switch {
		case e.inProgress():
			return false, fmt.Errorf("%w: %w", ErrBusy, e)
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return false, fmt.Errorf("%w (check the Argo CD token in %s and its account's permissions on application %s)", e, a.cfg.TokenFile, a.cfg.Application)
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return true, e
		default:
			return false, e
		}
	})
}
