package autoscaler

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// eksFake is an EKS endpoint for one managed node group, speaking the REST-JSON wire
// format of DescribeNodegroup and UpdateNodegroupConfig:
//
//	GET  /clusters/{name}/node-groups/{nodegroupName}               -> {"nodegroup":{...}}
//	POST /clusters/{name}/node-groups/{nodegroupName}/update-config -> {"update":{...}}
//
// Errors come as EKS sends them: the HTTP status, an X-Amzn-Errortype header naming the
// exception (with the coral namespace suffix), and a JSON body {"message":...} plus the
// exception's members. After an accepted update the node group is UPDATING for
// UpdatingDescribes describes, then ACTIVE at the new desired size; an update while
// UPDATING is a 409 ResourceInUseException; a desired size outside minSize..maxSize is a
// 400 InvalidParameterException; a clientRequestToken seen before returns the update it
// made, without applying anything again.
type eksFake struct {
	t   *testing.T
	srv *httptest.Server

	mu                sync.Mutex
	cluster, ng       string
	status            string
	min, max, desired int
	pending           int // the desired size an UPDATING node group goes to
	UpdatingDescribes int // describes an update stays UPDATING for
	updatingLeft      int
	modifiedAt        time.Time
	byToken           map[string]eksFakeUpdate
	applied           []int // desired sizes applied by accepted updates, in order
	inject            map[string][]eksFakeFault
	requests          []eksFakeRequest
	creds             []string // the credential scope of each request's signature
}

type eksFakeUpdate struct {
	id      string
	desired int
	at      time.Time
}

// eksFakeFault is one failure injected into the next call of an operation.
type eksFakeFault struct {
	status int
	code   string
	// applied makes an update take effect before the failure is answered, as when a
	// response is lost after EKS has acted.
	applied bool
}

// eksFakeRequest is what the fake saw of one call.
type eksFakeRequest struct {
	op      string // "describe" or "update"
	token   string
	desired *int
	status  int // what the fake answered
}

func newEKSFake(t *testing.T, cluster, ng string, min, max, desired int) *eksFake {
	f := &eksFake{
		t: t, cluster: cluster, ng: ng, status: "ACTIVE",
		min: min, max: max, desired: desired,
		modifiedAt: time.Unix(1_700_000_000, 250_000_000),
		byToken:    map[string]eksFakeUpdate{},
		inject:     map[string][]eksFakeFault{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /clusters/{cluster}/node-groups/{nodegroup}", f.describe)
	mux.HandleFunc("POST /clusters/{cluster}/node-groups/{nodegroup}/update-config", f.update)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("eks fake: unexpected %s %s", r.Method, r.URL.Path)
		f.fail(w, http.StatusNotFound, "UnknownOperationException", "no such operation", nil)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// failNext makes the next calls of op ("describe" or "update") fail, one fault each.
func (f *eksFake) failNext(op string, faults ...eksFakeFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inject[op] = append(f.inject[op], faults...)
}

// setStatus puts the node group in status s (UPDATING, DEGRADED, ...) for describes
// describes, after which it is ACTIVE again.
func (f *eksFake) setStatus(s string, describes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.pending, f.updatingLeft = s, f.desired, describes
}

func (f *eksFake) snapshot() (desired int, applied []int, reqs []eksFakeRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.desired, append([]int(nil), f.applied...), append([]eksFakeRequest(nil), f.requests...)
}

func (f *eksFake) updates() []eksFakeRequest {
	_, _, reqs := f.snapshot()
	var out []eksFakeRequest
	for _, r := range reqs {
		if r.op == "update" {
			out = append(out, r)
		}
	}
	return out
}

// checkRequest answers what a wrong request deserves and returns its status, or 0 when
// the request may go on.
func (f *eksFake) checkRequest(w http.ResponseWriter, r *http.Request) int {
	// The SDK signs with SigV4: keep the credential scope for the tests to check.
	auth := r.Header.Get("Authorization")
	scope, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 Credential=")
	if !ok {
		f.fail(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token", nil)
		return http.StatusForbidden
	}
	scope, _, _ = strings.Cut(scope, ",")
	f.creds = append(f.creds, scope)
	if r.PathValue("cluster") != f.cluster || r.PathValue("nodegroup") != f.ng {
		f.fail(w, http.StatusNotFound, "ResourceNotFoundException",
			fmt.Sprintf("No node group found for name: %s.", r.PathValue("nodegroup")),
			map[string]any{"clusterName": r.PathValue("cluster"), "nodegroupName": r.PathValue("nodegroup")})
		return http.StatusNotFound
	}
	return 0
}

func (f *eksFake) injected(op string) (eksFakeFault, bool) {
	q := f.inject[op]
	if len(q) == 0 {
		return eksFakeFault{}, false
	}
	fault := q[0]
	f.inject[op] = q[1:]
	return fault, true
}

func (f *eksFake) answerFault(w http.ResponseWriter, fault eksFakeFault) {
	msg := "Rate exceeded"
	if fault.status >= 500 {
		msg = "An internal error occurred"
	}
	f.fail(w, fault.status, fault.code, msg, map[string]any{"clusterName": f.cluster})
}

func (f *eksFake) describe(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := eksFakeRequest{op: "describe"}
	defer func() { f.requests = append(f.requests, req) }()
	if req.status = f.checkRequest(w, r); req.status != 0 {
		return
	}
	if fault, ok := f.injected("describe"); ok {
		req.status = fault.status
		f.answerFault(w, fault)
		return
	}
	if f.status != "ACTIVE" {
		if f.updatingLeft <= 0 {
			f.status, f.desired, f.modifiedAt = "ACTIVE", f.pending, f.modifiedAt.Add(time.Minute)
		} else {
			f.updatingLeft--
		}
	}
	req.status = http.StatusOK
	f.ok(w, map[string]any{"nodegroup": map[string]any{
		"nodegroupName":  f.ng,
		"nodegroupArn":   fmt.Sprintf("arn:aws:eks:eu-west-1:111122223333:nodegroup/%s/%s/6ac8a7d4-0e4b-4a39-a3b6-9b1b3b1b3b1b", f.cluster, f.ng),
		"clusterName":    f.cluster,
		"version":        "1.31",
		"releaseVersion": "1.31.0-20250101",
		"createdAt":      float64(1_690_000_000),
		"modifiedAt":     float64(f.modifiedAt.UnixMilli()) / 1000,
		"status":         f.status,
		"capacityType":   "ON_DEMAND",
		"scalingConfig":  map[string]any{"minSize": f.min, "maxSize": f.max, "desiredSize": f.desired},
		"instanceTypes":  []string{"m6i.large"},
		"subnets":        []string{"subnet-0abc"},
		"amiType":        "AL2023_x86_64_STANDARD",
		"nodeRole":       "arn:aws:iam::111122223333:role/burst-nodes",
		"labels":         map[string]string{},
		"resources": map[string]any{"autoScalingGroups": []map[string]string{
			{"name": "eks-" + f.ng + "-6ac8a7d4"},
		}},
		"health":       map[string]any{"issues": []any{}},
		"updateConfig": map[string]any{"maxUnavailable": 1},
		"tags":         map[string]string{},
	}})
}

func (f *eksFake) update(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := eksFakeRequest{op: "update"}
	defer func() { f.requests = append(f.requests, req) }()
	if req.status = f.checkRequest(w, r); req.status != 0 {
		return
	}
	var body struct {
		ScalingConfig *struct {
			MinSize, MaxSize, DesiredSize *int
		} `json:"scalingConfig"`
		ClientRequestToken string `json:"clientRequestToken"`
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("eks fake: update-config Content-Type %q, want application/json", ct)
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		req.status = http.StatusBadRequest
		f.fail(w, http.StatusBadRequest, "SerializationException", err.Error(), nil)
		return
	}
	req.token = body.ClientRequestToken
	if body.ScalingConfig != nil {
		req.desired = body.ScalingConfig.DesiredSize
	}
	fault, faulty := f.injected("update")
	if faulty && !fault.applied {
		req.status = fault.status
		f.answerFault(w, fault)
		return
	}
	if u, ok := f.byToken[body.ClientRequestToken]; ok && body.ClientRequestToken != "" {
		// The same request again: the same update, nothing applied twice.
		req.status = http.StatusOK
		f.ok(w, f.updateBody(u))
		return
	}
	if f.status != "ACTIVE" {
		req.status = http.StatusConflict
		f.fail(w, http.StatusConflict, "ResourceInUseException",
			fmt.Sprintf("Nodegroup %s is currently %s and cannot be updated", f.ng, f.status),
			map[string]any{"clusterName": f.cluster, "nodegroupName": f.ng})
		return
	}
	minSize, maxSize, desired := f.min, f.max, f.desired
	if sc := body.ScalingConfig; sc != nil {
		if sc.MinSize != nil {
			minSize = *sc.MinSize
		}
		if sc.MaxSize != nil {
			maxSize = *sc.MaxSize
		}
		if sc.DesiredSize != nil {
			desired = *sc.DesiredSize
		}
	}
	if desired > maxSize || desired < minSize {
		req.status = http.StatusBadRequest
		f.fail(w, http.StatusBadRequest, "InvalidParameterException",
			fmt.Sprintf("desired capacity %d must be between minSize %d and maxSize %d", desired, minSize, maxSize),
			map[string]any{"clusterName": f.cluster, "nodegroupName": f.ng})
		return
	}
	u := eksFakeUpdate{id: fmt.Sprintf("5e0c6f8a-0000-4000-8000-%012d", len(f.byToken)+1), desired: desired, at: f.modifiedAt.Add(time.Second)}
	if body.ClientRequestToken != "" {
		f.byToken[body.ClientRequestToken] = u
	}
	f.min, f.max = minSize, maxSize
	f.applied = append(f.applied, desired)
	f.pending = desired
	f.status, f.updatingLeft, f.modifiedAt = "UPDATING", f.UpdatingDescribes, u.at
	if faulty {
		req.status = fault.status
		f.answerFault(w, fault)
		return
	}
	req.status = http.StatusOK
	f.ok(w, f.updateBody(u))
}

func (f *eksFake) updateBody(u eksFakeUpdate) map[string]any {
	return map[string]any{"update": map[string]any{
		"id":        u.id,
		"status":    "InProgress",
		"type":      "ConfigUpdate",
		"createdAt": float64(u.at.UnixMilli()) / 1000,
		"params":    []map[string]string{{"type": "DesiredSize", "value": strconv.Itoa(u.desired)}},
		"errors":    []any{},
	}}
}

func (f *eksFake) ok(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", "0a1b2c3d-0000-4000-8000-000000000000")
	w.WriteHeader(http.StatusOK)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("eks fake: %v", err)
	}
}

// fail answers an error the way EKS does.
func (f *eksFake) fail(w http.ResponseWriter, status int, code, msg string, members map[string]any) {
	body := map[string]any{"message": msg}
	for k, v := range members {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", "0a1b2c3d-0000-4000-8000-000000000001")
	w.Header().Set("X-Amzn-Errortype", code+":http://internal.amazon.com/coral/com.amazonaws.eks/")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		f.t.Errorf("eks fake: %v", err)
	}
}
