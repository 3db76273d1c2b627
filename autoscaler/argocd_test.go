package autoscaler

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const kustomizeSource = `{
	"repoURL": "https://git.example.invalid/school/deploy.git",
	"path": "overlays/onprem",
	"targetRevision": "main",
	"kustomize": {"replicas": [{"name": "worker", "count": "1"}, {"name": "school", "count": 2}]}
}`

const helmSource = `{
	"repoURL": "https://charts.example.invalid",
	"chart": "school",
	"targetRevision": "1.4.0",
	"helm": {"valueFiles": ["values-eks.yaml"], "valuesObject": {"image": {"tag": "v42"}, "app": {"replicas": 3, "resources": {"cpu": "500m"}}}}
}`

func writeArgoToken(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "argocd-token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// newArgoTest serves application "school" with src and returns a target on it with
// replicas 1..10 unless cfg changes them.
func newArgoTest(t *testing.T, src string, cfg func(*ArgoCDConfig)) (*argoFake, *ArgoApp, *backoffSleeps) {
	t.Helper()
	f := newArgoFake(t, "school", src)
	c := ArgoCDConfig{
		URL: f.srv.URL + "/", TokenFile: writeArgoToken(t, f.token), Application: "school",
		MinReplicas: 1, MaxReplicas: 10, Source: "kustomize",
	}
	if strings.Contains(src, `"helm"`) {
		c.Source, c.HelmValue = "helm", "app.replicas"
	}
	if cfg != nil {
		cfg(&c)
	}
	a, err := NewArgoApp(c, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	s := &backoffSleeps{}
	a.Backoff = Backoff{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond, Sleep: s.sleep}
	return f, a, s
}

// argoPatchSent decodes the merge patch of a PATCH request the fake saw.
func argoPatchSent(t *testing.T, r argoFakeRequest) any {
	t.Helper()
	if r.body["patchType"] != "merge" || r.body["name"] != "school" {
		t.Fatalf("patch request %v, want name school and patchType merge", r.body)
	}
	var p any
	if err := json.Unmarshal([]byte(r.body["patch"].(string)), &p); err != nil {
		t.Fatalf("patch %q is not JSON: %v", r.body["patch"], err)
	}
	return p
}

func argoJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestArgoSizeKustomizeReadsTheEntryNamedLikeTheApp(t *testing.T) {
	_, a, _ := newArgoTest(t, kustomizeSource, nil)
	n, err := a.Size(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Size = %d, %v; want 2 (the entry named school)", n, err)
	}
}

func TestArgoSizeKustomizeFallsBackToTheFirstEntry(t *testing.T) {
	_, a, _ := newArgoTest(t, `{"kustomize": {"replicas": [{"name": "web", "count": "4"}, {"name": "worker", "count": 1}]}}`, nil)
	n, err := a.Size(context.Background())
	if err != nil || n != 4 {
		t.Fatalf("Size = %d, %v; want 4 (the first entry, a string count)", n, err)
	}
}

func TestArgoSizeHelm(t *testing.T) {
	_, a, _ := newArgoTest(t, helmSource, nil)
	n, err := a.Size(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Size = %d, %v; want 3", n, err)
	}
}

func TestArgoSizeUnset(t *testing.T) {
	for name, src := range map[string]string{
		"kustomize without replicas": `{"kustomize": {}}`,
		"helm without the value":     `{"helm": {"valuesObject": {"app": {}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, a, _ := newArgoTest(t, src, func(c *ArgoCDConfig) {
				if strings.Contains(src, "helm") {
					c.Source, c.HelmValue = "helm", "app.replicas"
				}
			})
			if _, err := a.Size(context.Background()); err == nil || !strings.Contains(err.Error(), "sets no replicas") {
				t.Fatalf("Size = %v, want an error saying no replicas are set", err)
			}
		})
	}
}

func TestArgoResizeKustomizeUpThenDown(t *testing.T) {
	f, a, _ := newArgoTest(t, kustomizeSource, nil)
	f.OperationGets = 1
	ctx := context.Background()

	if err := a.Resize(ctx, 5); err != nil {
		t.Fatalf("Resize(5): %v", err)
	}
	patches := f.ops("patch")
	if len(patches) != 1 {
		t.Fatalf("%d patches, want 1", len(patches))
	}
	// The list is replaced whole: the other entry is kept as it was.
	want := argoJSON(t, `{"spec":{"source":{"kustomize":{"replicas":[{"name":"worker","count":"1"},{"name":"school","count":5}]}}}}`)
	if got := argoPatchSent(t, patches[0]); !reflect.DeepEqual(got, want) {
		t.Fatalf("patch %v, want %v", got, want)
	}
	if syncs := f.ops("sync"); len(syncs) != 1 || syncs[0].status != 200 || !reflect.DeepEqual(syncs[0].body, map[string]any{"name": "school"}) {
		t.Fatalf("syncs %+v, want one {name: school}", syncs)
	}
	// The repository and path are untouched by the merge patch.
	src := f.source().(map[string]any)
	if src["path"] != "overlays/onprem" || src["repoURL"] == nil {
		t.Fatalf("spec.source after the patch: %v", src)
	}

	// The sync runs for one GET: a change now is busy and patches nothing.
	if err := a.Resize(ctx, 7); !errors.Is(err, ErrBusy) {
		t.Fatalf("Resize during the operation = %v, want ErrBusy", err)
	}
	if len(f.ops("patch")) != 1 {
		t.Fatal("patched during an operation")
	}

	if n, err := a.Size(ctx); err != nil || n != 5 {
		t.Fatalf("Size = %d, %v; want 5", n, err)
	}
	if err := a.Resize(ctx, 3); err != nil {
		t.Fatalf("Resize(3): %v", err)
	}
	if n, err := a.Size(ctx); err != nil || n != 3 {
		t.Fatalf("Size = %d, %v; want 3", n, err)
	}
	// Already there and Synced at that size: nothing but the GET.
	before := len(f.ops(""))
	if err := a.Resize(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if got := f.ops("")[before:]; len(got) != 1 || got[0].op != "get" {
		t.Fatalf("requests for a no-op Resize: %+v", got)
	}
	if syncs, deployed := f.counts(); syncs != 2 || len(deployed) != 2 {
		t.Fatalf("%d syncs, %d finished; want 2 and 2", syncs, len(deployed))
	}
}

func TestArgoResizeClampsToMinAndMax(t *testing.T) {
	for _, tc := range []struct{ ask, want int }{{50, 10}, {0, 1}, {-3, 1}} {
		f, a, _ := newArgoTest(t, kustomizeSource, nil)
		if err := a.Resize(context.Background(), tc.ask); err != nil {
			t.Fatal(err)
		}
		want := argoJSON(t, `{"spec":{"source":{"kustomize":{"replicas":[{"name":"worker","count":"1"},{"name":"school","count":`+argoJSONInt(tc.want)+`}]}}}}`)
		if got := argoPatchSent(t, f.ops("patch")[0]); !reflect.DeepEqual(got, want) {
			t.Fatalf("Resize(%d) patched %v, want count %d", tc.ask, got, tc.want)
		}
	}
}

func argoJSONInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestArgoResizeHelm(t *testing.T) {
	f, a, _ := newArgoTest(t, helmSource, nil)
	if err := a.Resize(context.Background(), 6); err != nil {
		t.Fatal(err)
	}
	want := argoJSON(t, `{"spec":{"source":{"helm":{"valuesObject":{"app":{"replicas":6}}}}}}`)
	if got := argoPatchSent(t, f.ops("patch")[0]); !reflect.DeepEqual(got, want) {
		t.Fatalf("patch %v, want %v", got, want)
	}
	// The merge keeps the other values.
	helm := f.source().(map[string]any)["helm"].(map[string]any)
	wantHelm := argoJSON(t, `{"valueFiles":["values-eks.yaml"],"valuesObject":{"image":{"tag":"v42"},"app":{"replicas":6,"resources":{"cpu":"500m"}}}}`)
	if !reflect.DeepEqual(helm, wantHelm) {
		t.Fatalf("helm after the patch %v, want %v", helm, wantHelm)
	}
	if n, err := a.Size(context.Background()); err != nil || n != 6 {
		t.Fatalf("Size = %d, %v; want 6", n, err)
	}
}

func TestArgoResizeHelmCreatesTheValue(t *testing.T) {
	f, a, _ := newArgoTest(t, `{"chart": "school", "helm": {"valueFiles": ["values.yaml"]}}`, func(c *ArgoCDConfig) {
		c.Source, c.HelmValue = "helm", "replicaCount"
	})
	if err := a.Resize(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Size(context.Background()); err != nil || n != 4 {
		t.Fatalf("Size = %d, %v; want 4", n, err)
	}
	if len(f.ops("sync")) != 1 {
		t.Fatal("not synced")
	}
}

func TestArgoResizeHelmRefusesToHideInlineValues(t *testing.T) {
	f, a, _ := newArgoTest(t, `{"chart": "school", "helm": {"values": "image:\n  tag: v42\n"}}`, func(c *ArgoCDConfig) {
		c.Source, c.HelmValue = "helm", "replicaCount"
	})
	err := a.Resize(context.Background(), 4)
	if err == nil || !strings.Contains(err.Error(), "valuesObject") {
		t.Fatalf("Resize = %v, want an error about helm.values", err)
	}
	if len(f.ops("patch")) != 0 {
		t.Fatal("patched anyway")
	}
}

func TestArgoOperationInProgressIsBusy(t *testing.T) {
	f, a, _ := newArgoTest(t, kustomizeSource, nil)
	f.startOperation(5)
	if err := a.Resize(context.Background(), 5); !errors.Is(err, ErrBusy) {
		t.Fatalf("Resize = %v, want ErrBusy", err)
	}
	if len(f.ops("patch")) != 0 || len(f.ops("sync")) != 0 {
		t.Fatal("changed the application during an operation")
	}
}

func TestArgoSyncAnsweredInProgressIsBusyThenMadeUp(t *testing.T) {
	for _, status := range []int{400, 409} {
		f, a, s := newArgoTest(t, kustomizeSource, nil)
		ctx := context.Background()
		// An operation starts between the GET and the sync.
		f.failNext("sync", argoFault{status: status, inProgress: true})
		if err := a.Resize(ctx, 5); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "another operation is already in progress") {
			t.Fatalf("HTTP %d: Resize = %v, want ErrBusy", status, err)
		}
		if s.count() != 0 {
			t.Fatalf("HTTP %d: retried an in-progress answer", status)
		}
		// The spec holds 5 but was never synced: the next call syncs without patching.
		if err := a.Resize(ctx, 5); err != nil {
			t.Fatalf("HTTP %d: second Resize: %v", status, err)
		}
		if p, sy := len(f.ops("patch")), len(f.ops("sync")); p != 1 || sy != 2 {
			t.Fatalf("HTTP %d: %d patches, %d syncs; want 1 and 2", status, p, sy)
		}
		if syncs, _ := f.counts(); syncs != 1 {
			t.Fatalf("HTTP %d: %d syncs accepted, want 1", status, syncs)
		}
	}
}

func TestArgoRealInProgressAnswer(t *testing.T) {
	f, a, _ := newArgoTest(t, kustomizeSource, nil)
	f.InProgressStatus = 409
	// Straight at the API: the fake's own in-progress answer, as the target reads it.
	f.startOperation(5)
	token, _ := a.token()
	err := a.call(context.Background(), token, "POST", "/sync", argoSyncRequest{Name: "school"}, nil)
	var ae *argoError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &ae) || ae.Status != 409 || ae.Code != 9 {
		t.Fatalf("sync during an operation = %v, want ErrBusy from a 409 code 9", err)
	}
}

func TestArgoStaleComparisonIsSynced(t *testing.T) {
	f, a, _ := newArgoTest(t, kustomizeSource, nil)
	f.StaleStatus = true // the controller has not compared the new spec yet
	for range 4 {
		f.failNext("sync", argoFault{status: 503})
	}
	if err := a.Resize(context.Background(), 6); err == nil || errors.Is(err, ErrBusy) {
		t.Fatalf("Resize with every sync failing = %v, want an error", err)
	}
	// Status still says Synced, but against 2 replicas: the sync is made up.
	if err := a.Resize(context.Background(), 6); err != nil {
		t.Fatal(err)
	}
	if syncs, deployed := f.counts(); syncs != 1 || len(deployed) != 1 {
		t.Fatalf("%d syncs, want 1", syncs)
	}
	if len(f.ops("patch")) != 1 {
		t.Fatal("patched twice")
	}
}

func TestArgoRetries5xx(t *testing.T) {
	f, a, s := newArgoTest(t, kustomizeSource, nil)
	f.failNext("get", argoFault{status: 502})
	f.failNext("patch", argoFault{status: 500}, argoFault{status: 503})
	f.failNext("sync", argoFault{status: 500})
	if err := a.Resize(context.Background(), 8); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	if s.count() != 4 {
		t.Fatalf("%d backoff waits, want 4", s.count())
	}
	patches := f.ops("patch")
	if len(patches) != 3 || patches[2].status != 200 {
		t.Fatalf("patches %+v, want 2 failures then success", patches)
	}
	for _, p := range patches {
		if p.body["patch"] != patches[0].body["patch"] {
			t.Fatal("the retried patch differs")
		}
	}
	if syncs, _ := f.counts(); syncs != 1 {
		t.Fatalf("%d syncs accepted, want 1", syncs)
	}
}

func TestArgoRetryIsBounded(t *testing.T) {
	f, a, s := newArgoTest(t, kustomizeSource, nil)
	for range 10 {
		f.failNext("get", argoFault{status: 500})
	}
	_, err := a.Size(context.Background())
	if err == nil || !strings.Contains(err.Error(), "4 attempts") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Size = %v, want a give-up after 4 attempts", err)
	}
	if len(f.ops("get")) != 4 || s.count() != 3 {
		t.Fatalf("%d GETs, %d waits; want 4 and 3", len(f.ops("get")), s.count())
	}
}

func TestArgoUnauthorized(t *testing.T) {
	f, a, s := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.TokenFile = writeArgoToken(t, "wrong") })
	_, err := a.Size(context.Background())
	if err == nil || errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "token") {
		t.Fatalf("Size = %v, want a 401 error naming the token", err)
	}
	if len(f.ops("")) != 1 || s.count() != 0 {
		t.Fatal("retried a 401")
	}
	if err := a.Resize(context.Background(), 3); err == nil || !strings.Contains(err.Error(), "no session information") {
		t.Fatalf("Resize = %v, want Argo CD's 401", err)
	}
}

func TestArgoForbidden(t *testing.T) {
	f, a, s := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.TokenFile = writeArgoToken(t, "read-only") })
	err := a.Resize(context.Background(), 5)
	if err == nil || errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Resize = %v, want a 403 error", err)
	}
	if s.count() != 0 || len(f.ops("patch")) != 1 {
		t.Fatal("retried a 403")
	}
}

func TestArgoTokenFile(t *testing.T) {
	_, a, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.TokenFile = filepath.Join(t.TempDir(), "missing") })
	if _, err := a.Size(context.Background()); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("Size = %v, want a token error", err)
	}
	_, a, _ = newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.TokenFile = writeArgoToken(t, "  ") })
	if _, err := a.Size(context.Background()); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Size = %v, want an empty-token error", err)
	}
}

func TestArgoOtherApplicationNotFound(t *testing.T) {
	f, a, s := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.Application = "nope" })
	if _, err := a.Size(context.Background()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Size = %v, want a 404", err)
	}
	if len(f.ops("")) != 1 || s.count() != 0 {
		t.Fatal("retried a 404")
	}
}

func TestArgoKustomizeWithoutEntryIsAnError(t *testing.T) {
	f, a, _ := newArgoTest(t, `{"path": "base", "kustomize": {"images": ["school:v42"]}}`, nil)
	if err := a.Resize(context.Background(), 4); err == nil || !strings.Contains(err.Error(), "replicas entry") {
		t.Fatalf("Resize = %v, want an error asking for a replicas entry", err)
	}
	if len(f.ops("patch")) != 0 {
		t.Fatal("patched anyway")
	}
}

func TestNewArgoAppValidates(t *testing.T) {
	for _, c := range []ArgoCDConfig{
		{URL: "ftp://argocd", Application: "a", Source: "kustomize"},
		{URL: "https://argocd", Source: "kustomize"},
		{URL: "https://argocd", Application: "a", Source: "jsonnet"},
		{URL: "https://argocd", Application: "a", Source: "helm"},
		{URL: "https://argocd", Application: "a", Source: "helm", HelmValue: "app..replicas"},
	} {
		if _, err := NewArgoApp(c, nil); err == nil {
			t.Errorf("NewArgoApp(%+v) accepted", c)
		}
	}
}

// Argo CD behind a certificate of an internal CA: trusted with ca_file, refused without.
func TestArgoCAFile(t *testing.T) {
	f := newArgoFake(t, "school", kustomizeSource)
	ts := httptest.NewTLSServer(f.srv.Config.Handler)
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := ArgoCDConfig{URL: ts.URL, TokenFile: writeArgoToken(t, f.token), Application: "school",
		MinReplicas: 1, MaxReplicas: 10, Source: "kustomize"}
	a, err := NewArgoAppFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Backoff = Backoff{Attempts: 1}
	if _, err := a.Size(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without ca_file: %v, want a certificate error", err)
	}
	cfg.CAFile = caFile
	if a, err = NewArgoAppFromConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Size(t.Context()); err != nil || n != 2 {
		t.Errorf("with ca_file: %d, %v", n, err)
	}
	cfg.CAFile = writeArgoToken(t, "not a certificate")
	if _, err := NewArgoAppFromConfig(cfg); err == nil {
		t.Error("a ca_file without a certificate was accepted")
	}
}
