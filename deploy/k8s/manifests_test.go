// Package k8s_test renders every kustomize overlay the way Argo CD does (krusty, the
// library inside kustomize) and decodes each object strictly into the real Kubernetes
// API types: an unknown or misspelt field, a quantity that does not parse, a Secret
// with values, a reference to something that is not there all fail here.
package k8s_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/schoolservice/school/autoscaler"
)

// rendered is one kustomization's output, decoded.
type rendered struct {
	deployments  map[string]*appsv1.Deployment
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	accounts     map[string]*corev1.ServiceAccount
	jobs         map[string]*batchv1.Job
	pdbs         map[string]*policyv1.PodDisruptionBudget
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	roles        map[string]*rbacv1.Role
	clusterRoles map[string]*rbacv1.ClusterRole
	bindings     []*rbacv1.RoleBinding
	clusterBinds []*rbacv1.ClusterRoleBinding
	other        map[string][][]byte // kind -> YAML, for kinds outside k8s.io/api (Argo CD)
}

// render runs kustomize on dir.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := &rendered{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, accounts: map[string]*corev1.ServiceAccount{},
		jobs: map[string]*batchv1.Job{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, roles: map[string]*rbacv1.Role{},
		clusterRoles: map[string]*rbacv1.ClusterRole{}, other: map[string][][]byte{},
	}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		kind, name := r.GetApiVersion()+"/"+r.GetKind(), r.GetName()
		decode := func(obj any) {
			t.Helper()
			if err := sigsyaml.UnmarshalStrict(y, obj); err != nil {
				t.Errorf("%s: %s %s does not decode strictly: %v", dir, kind, name, err)
			}
		}
		switch kind {
		case "apps/v1/Deployment":
			o := &appsv1.Deployment{}
			decode(o)
			out.deployments[name] = o
		case "v1/Service":
			o := &corev1.Service{}
			decode(o)
			out.services[name] = o
		case "v1/ConfigMap":
			o := &corev1.ConfigMap{}
			decode(o)
			out.configMaps[name] = o
		case "v1/ServiceAccount":
			o := &corev1.ServiceAccount{}
			decode(o)
			out.accounts[name] = o
		case "batch/v1/Job":
			o := &batchv1.Job{}
			decode(o)
			out.jobs[name] = o
		case "policy/v1/PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			decode(o)
			out.pdbs[name] = o
		case "autoscaling/v2/HorizontalPodAutoscaler":
			o := &autoscalingv2.HorizontalPodAutoscaler{}
			decode(o)
			out.hpas[name] = o
		case "rbac.authorization.k8s.io/v1/Role":
			o := &rbacv1.Role{}
			decode(o)
			out.roles[name] = o
		case "rbac.authorization.k8s.io/v1/ClusterRole":
			o := &rbacv1.ClusterRole{}
			decode(o)
			out.clusterRoles[name] = o
		case "rbac.authorization.k8s.io/v1/RoleBinding":
			o := &rbacv1.RoleBinding{}
			decode(o)
			out.bindings = append(out.bindings, o)
		case "rbac.authorization.k8s.io/v1/ClusterRoleBinding":
			o := &rbacv1.ClusterRoleBinding{}
			decode(o)
			out.clusterBinds = append(out.clusterBinds, o)
		case "v1/Secret":
			t.Errorf("%s: Secret %s is in the repository; reference Secrets created out of band instead", dir, name)
		case "argoproj.io/v1alpha1/Application", "argoproj.io/v1alpha1/AppProject":
			out.other[r.GetKind()] = append(out.other[r.GetKind()], y)
		default:
			t.Errorf("%s: %s %s: a kind this test does not know; add its API type here", dir, kind, name)
		}
	}
	return out
}

var overlays = []string{"base", "migrate", "overlays/onprem", "overlays/onprem-harbor", "overlays/eks"}

func TestOverlaysAreValid(t *testing.T) {
	entries, err := os.ReadDir("overlays")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(overlays, "overlays/"+e.Name()) {
			t.Errorf("overlays/%s is not checked: add it to the overlays list", e.Name())
		}
	}
	releaseTag := releaseTag(t)
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			if len(r.deployments) == 0 && dir != "migrate" {
				t.Fatal("renders no Deployment")
			}
			for _, d := range r.deployments {
				checkPod(t, r, "Deployment "+d.Name, &d.Spec.Template, releaseTag)
				if d.Spec.Selector == nil || !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
					t.Errorf("Deployment %s: its selector does not select its own pods", d.Name)
				}
			}
			for _, j := range r.jobs {
				checkPod(t, r, "Job "+j.Name, &j.Spec.Template, releaseTag)
			}
			checkServices(t, r)
			checkTargets(t, r)
			checkRBAC(t, r)
		})
	}
}

// releaseTag is the tag components/release sets, the one every image must carry.
func releaseTag(t *testing.T) string {
	t.Helper()
	var k struct {
		Images []struct{ Name, NewName, NewTag string } `json:"images"`
	}
	b, err := os.ReadFile("components/release/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(b, &k); err != nil || len(k.Images) != 1 {
		t.Fatalf("components/release: want one image, err %v", err)
	}
	tag := k.Images[0].NewTag
	if len(tag) < 7 || tag == "latest" {
		t.Fatalf("components/release: tag %q must be a commit, never latest", tag)
	}
	return tag
}

func checkPod(t *testing.T, r *rendered, what string, pt *corev1.PodTemplateSpec, tag string) {
	t.Helper()
	spec := &pt.Spec
	if sa := spec.ServiceAccountName; sa == "" {
		t.Errorf("%s runs as the default ServiceAccount; name its own", what)
	} else if r.accounts[sa] == nil {
		t.Errorf("%s: ServiceAccount %q is not in the render", what, sa)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot must be true", what)
	}
	for _, ps := range spec.ImagePullSecrets {
		needSecret(t, what, ps.Name, "")
	}
	for _, v := range spec.Volumes {
		if cm := v.ConfigMap; cm != nil && r.configMaps[cm.Name] == nil {
			t.Errorf("%s: volume %s names ConfigMap %q, not in the render", what, v.Name, cm.Name)
		}
		if s := v.Secret; s != nil {
			for _, it := range s.Items {
				needSecret(t, what, s.SecretName, it.Key)
			}
			if len(s.Items) == 0 {
				needSecret(t, what, s.SecretName, "")
			}
		}
	}
	for _, c := range spec.Containers {
		what := what + " container " + c.Name
		image, ok := strings.CutSuffix(c.Image, ":"+tag)
		if !ok || !strings.Contains(image, "/") {
			t.Errorf("%s: image %q must be a registry image tagged %s (components/release)", what, c.Image, tag)
		}
		checkResources(t, what, c.Resources)
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: want allowPrivilegeEscalation false and a read-only root filesystem", what)
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil && r.configMaps[e.ConfigMapRef.Name] == nil {
				t.Errorf("%s: envFrom ConfigMap %q is not in the render", what, e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil {
				needSecret(t, what, e.SecretRef.Name, "")
			}
		}
		for _, e := range c.Env {
			if e.Value != "" && (strings.Contains(strings.ToUpper(e.Name), "PASSWORD") || strings.HasSuffix(e.Name, "DSN")) {
				t.Errorf("%s: %s has a literal value; take it from a Secret", what, e.Name)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				needSecret(t, what, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil && r.configMaps[e.ValueFrom.ConfigMapKeyRef.Name] == nil {
				t.Errorf("%s: %s names ConfigMap %q, not in the render", what, e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p != nil && p.HTTPGet != nil && p.HTTPGet.Port.Type == intstr.String && !hasPort(c, p.HTTPGet.Port.StrVal) {
				t.Errorf("%s: a probe names port %q, which the container does not have", what, p.HTTPGet.Port.StrVal)
			}
		}
		if c.Name == "school" && c.Args[0] == "serve" {
			checkServePorts(t, r, what, c)
		}
	}
}

// checkServePorts: the app listens where its container ports say (SCHOOL_ADDR on http,
// SCHOOL_OPS_ADDR on ops, from its ConfigMap), and the probes ask the ops port: /readyz
// is only there, and the kubelet needs nothing of the public one.
func checkServePorts(t *testing.T, r *rendered, what string, c corev1.Container) {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil && r.configMaps[e.ConfigMapRef.Name] != nil {
			maps.Copy(env, r.configMaps[e.ConfigMapRef.Name].Data)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	for name, variable := range map[string]string{"http": "SCHOOL_ADDR", "ops": "SCHOOL_OPS_ADDR"} {
		_, port, err := net.SplitHostPort(env[variable])
		if err != nil {
			t.Errorf("%s: %s=%q is not a listen address: %v", what, variable, env[variable], err)
			continue
		}
		if got := containerPort(c, name); got == 0 || strconv.Itoa(int(got)) != port {
			t.Errorf("%s: container port %q is %d, but the app listens on %s (%s)", what, name, got, port, variable)
		}
	}
	probes := []struct {
		name, path string
		p          *corev1.Probe
	}{{"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/healthz", c.LivenessProbe}, {"startup", "/healthz", c.StartupProbe}}
	for _, pr := range probes {
		if pr.p == nil || pr.p.HTTPGet == nil || pr.p.HTTPGet.Path != pr.path || pr.p.HTTPGet.Port.String() != "ops" {
			t.Errorf("%s: the %s probe must be GET %s on port ops", what, pr.name, pr.path)
		}
	}
}

// containerPort is the number of the container's port called name, 0 if it has none.
func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// checkResources guards against the seed's `cpu: "200"`: every container asks for CPU
// and memory, is capped in memory, and no figure is absurd.
func checkResources(t *testing.T, what string, res corev1.ResourceRequirements) {
	t.Helper()
	cpuReq, okCR := res.Requests[corev1.ResourceCPU]
	memReq, okMR := res.Requests[corev1.ResourceMemory]
	memLim, okML := res.Limits[corev1.ResourceMemory]
	if !okCR || !okMR || !okML {
		t.Errorf("%s: want cpu and memory requests and a memory limit, have %v / %v", what, res.Requests, res.Limits)
		return
	}
	if cpuLim, ok := res.Limits[corev1.ResourceCPU]; ok {
		if cpuLim.Cmp(cpuReq) < 0 {
			t.Errorf("%s: cpu limit %s below its request %s", what, cpuLim.String(), cpuReq.String())
		}
		if cpuLim.Cmp(resource.MustParse("4")) > 0 {
			t.Errorf("%s: cpu limit %s: more than a node has", what, cpuLim.String())
		}
	}
	if cpuReq.Cmp(resource.MustParse("10m")) < 0 || cpuReq.Cmp(resource.MustParse("4")) > 0 {
		t.Errorf("%s: cpu request %s is not a sensible figure", what, cpuReq.String())
	}
	if memLim.Cmp(memReq) < 0 {
		t.Errorf("%s: memory limit %s below its request %s", what, memLim.String(), memReq.String())
	}
	if memReq.Cmp(resource.MustParse("16Mi")) < 0 || memLim.Cmp(resource.MustParse("8Gi")) > 0 {
		t.Errorf("%s: memory %s..%s is not a sensible range", what, memReq.String(), memLim.String())
	}
}

func hasPort(c corev1.Container, name string) bool {
	for _, p := range c.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// needSecret checks that a referenced Secret (and key) is documented in deploy/README.md,
// where operators learn what to create: the repository holds references only.
func needSecret(t *testing.T, what, name, key string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("`"+name+"`")) {
		t.Errorf("%s: Secret %q is not documented in deploy/README.md", what, name)
	}
	if key != "" && !bytes.Contains(b, []byte("`"+name+"`: `"+key+"`")) && !bytes.Contains(b, []byte("`"+key+"`")) {
		t.Errorf("%s: key %q of Secret %q is not documented in deploy/README.md", what, key, name)
	}
}

func checkServices(t *testing.T, r *rendered) {
	t.Helper()
	for _, s := range r.services {
		var target *appsv1.Deployment
		for _, d := range r.deployments {
			if selects(s.Spec.Selector, d.Spec.Template.Labels) {
				target = d
			}
		}
		if target == nil {
			t.Errorf("Service %s selects no Deployment's pods", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.Type == intstr.String && !slices.ContainsFunc(target.Spec.Template.Spec.Containers,
				func(c corev1.Container) bool { return hasPort(c, p.TargetPort.StrVal) }) {
				t.Errorf("Service %s: targetPort %q is no port of Deployment %s", s.Name, p.TargetPort.StrVal, target.Name)
			}
			// The app's ops port (/readyz, /metrics) is for Prometheus inside the cluster:
			// only through a headless Service, never a NodePort or a load balancer.
			if target.Name == "school" && targetsOps(target, p) &&
				(s.Spec.ClusterIP != corev1.ClusterIPNone || s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP) {
				t.Errorf("Service %s exposes the app's ops port and is not headless: /readyz and /metrics must not be reachable from outside the cluster", s.Name)
			}
		}
	}
}

// targetsOps reports whether a Service port sends to the app's ops port, by name or
// number.
func targetsOps(d *appsv1.Deployment, p corev1.ServicePort) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		if ops := containerPort(c, "ops"); ops != 0 && (p.TargetPort.String() == "ops" || p.TargetPort.IntValue() == int(ops) ||
			p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0 && p.Port == ops) {
			return true
		}
	}
	return false
}

func checkTargets(t *testing.T, r *rendered) {
	t.Helper()
	for _, p := range r.pdbs {
		found := false
		for _, d := range r.deployments {
			found = found || (p.Spec.Selector != nil && selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels))
		}
		if !found {
			t.Errorf("PodDisruptionBudget %s selects no Deployment's pods", p.Name)
		}
	}
	for _, h := range r.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || r.deployments[ref.Name] == nil {
			t.Errorf("HorizontalPodAutoscaler %s targets %s %s, not in the render", h.Name, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: want 1 <= min <= max", h.Name)
		}
	}
}

// checkRBAC: every binding names a Role and ServiceAccounts that exist, and an account
// that no binding grants anything mounts no token.
func checkRBAC(t *testing.T, r *rendered) {
	t.Helper()
	bound := map[string]bool{}
	subjects := func(what string, ss []rbacv1.Subject) {
		for _, s := range ss {
			if s.Kind != "ServiceAccount" {
				t.Errorf("%s: subject %s %s: only ServiceAccounts of this render may be bound", what, s.Kind, s.Name)
			} else if r.accounts[s.Name] == nil {
				t.Errorf("%s: ServiceAccount %q is not in the render", what, s.Name)
			}
			bound[s.Name] = true
		}
	}
	for _, b := range r.bindings {
		ok := (b.RoleRef.Kind == "Role" && r.roles[b.RoleRef.Name] != nil) ||
			(b.RoleRef.Kind == "ClusterRole" && r.clusterRoles[b.RoleRef.Name] != nil)
		if !ok {
			t.Errorf("RoleBinding %s: %s %q is not in the render", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		subjects("RoleBinding "+b.Name, b.Subjects)
	}
	for _, b := range r.clusterBinds {
		if b.RoleRef.Kind != "ClusterRole" || r.clusterRoles[b.RoleRef.Name] == nil {
			t.Errorf("ClusterRoleBinding %s: %s %q is not in the render", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		subjects("ClusterRoleBinding "+b.Name, b.Subjects)
	}
	for _, rules := range append(collect(r.roles), collectCluster(r.clusterRoles)...) {
		for _, rule := range rules {
			if slices.Contains(rule.Verbs, "*") || slices.Contains(rule.Resources, "*") || slices.Contains(rule.APIGroups, "*") {
				t.Errorf("a Role grants a wildcard: %+v", rule)
			}
		}
	}
	for name, sa := range r.accounts {
		if !bound[name] && (sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken) {
			t.Errorf("ServiceAccount %s is granted nothing but mounts a token: set automountServiceAccountToken false", name)
		}
	}
}

func collect(m map[string]*rbacv1.Role) [][]rbacv1.PolicyRule {
	var out [][]rbacv1.PolicyRule
	for _, r := range m {
		out = append(out, r.Rules)
	}
	return out
}

func collectCluster(m map[string]*rbacv1.ClusterRole) [][]rbacv1.PolicyRule {
	var out [][]rbacv1.PolicyRule
	for _, r := range m {
		out = append(out, r.Rules)
	}
	return out
}

// TestReplicaOwnership: where the autoscaler sizes the app (onprem, eks) there is no HPA;
// the base alone keeps its HPA.
func TestReplicaOwnership(t *testing.T) {
	if len(render(t, "base").hpas) != 1 {
		t.Error("the base keeps its HorizontalPodAutoscaler for clusters without the autoscaler")
	}
	for _, dir := range []string{"overlays/onprem", "overlays/eks", "overlays/onprem-harbor"} {
		if n := len(render(t, dir).hpas); n != 0 {
			t.Errorf("%s: %d HorizontalPodAutoscalers besides the autoscaler: they would fight over spec.replicas", dir, n)
		}
	}
}

func TestOverlayDifferences(t *testing.T) {
	onprem, eks, harbor := render(t, "overlays/onprem"), render(t, "overlays/eks"), render(t, "overlays/onprem-harbor")

	if onprem.deployments["autoscaler"] == nil || eks.deployments["autoscaler"] != nil {
		t.Error("the autoscaler runs on-prem, once, and not on EKS")
	}
	// Unready (a target failing) is not unscraped: its metrics carry the alert.
	if s := onprem.services["autoscaler"]; s == nil || !s.Spec.PublishNotReadyAddresses {
		t.Error("the autoscaler's Service must publish the pod while /healthz fails, so Prometheus still scrapes it")
	}
	// The migration is its own Application (on-prem, next to the primary), no hook of the
	// app's: the autoscaler's resizes sync the app and must never wait on it.
	if migrate := render(t, "migrate"); migrate.jobs["school-migrate"] == nil || len(onprem.jobs) != 0 || len(eks.jobs) != 0 {
		t.Error("the schema migration is deploy/k8s/migrate's alone, not in the app's overlays")
	} else if j := migrate.jobs["school-migrate"]; j.Annotations["argocd.argoproj.io/hook"] != "" || j.Spec.TTLSecondsAfterFinished != nil {
		t.Error("the migration Job is a plain resource kept after it finishes (a hook or a TTL would rerun or drop it)")
	}
	if a := onprem.deployments["school"].Spec.Template.Spec.Affinity; a == nil || a.PodAntiAffinity == nil ||
		len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 ||
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey != "kubernetes.io/hostname" {
		t.Error("on-prem, one replica per node: the on-prem tier is the nodes nginx lists (deploy/nginx/upstream.conf)")
	}
	if s := onprem.services["school"]; s == nil || s.Spec.Type != corev1.ServiceTypeNodePort || s.Spec.Ports[0].NodePort != 30080 {
		t.Error("on-prem, the app is NodePort 30080: the port deploy/nginx/upstream.conf sends to")
	}
	// What nginx reaches, on-prem and on EKS, is the pages' port and nothing else.
	for name, r := range map[string]*rendered{"onprem": onprem, "eks": eks} {
		if s := r.services["school"]; s == nil || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort.String() != "http" {
			t.Errorf("%s: the school Service must send to the app's http port only, has %+v", name, s.Spec.Ports)
		}
	}
	nginx, err := os.ReadFile("../nginx/upstream.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(nginx, []byte(":30080 max_conns=")) {
		t.Error("deploy/nginx/upstream.conf does not send to NodePort 30080")
	}
	s := eks.services["school"]
	if s == nil || s.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Fatal("on EKS, the app is behind a LoadBalancer Service (the internal NLB)")
	}
	nlb := s.Annotations["service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses"]
	if nlb == "" || !bytes.Contains(nginx, []byte("server "+nlb+":80 backup")) {
		t.Errorf("the EKS NLB's address %q is not nginx's backup server", nlb)
	}

	d := eks.deployments["school"]
	pod := d.Spec.Template.Spec
	if pod.NodeSelector["eks.amazonaws.com/nodegroup"] == "" || len(pod.Tolerations) == 0 {
		t.Error("on EKS the app must run on the burst node group (nodeSelector and toleration)")
	}
	cfg := autoscalerConfig(t, onprem)
	if ng := pod.NodeSelector["eks.amazonaws.com/nodegroup"]; ng != cfg.EKS.Nodegroup {
		t.Errorf("EKS pods select node group %q, the autoscaler resizes %q", ng, cfg.EKS.Nodegroup)
	}
	env := map[string]*corev1.EnvVarSource{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.ValueFrom
	}
	if env["SCHOOL_DB_READ_DSN"] == nil || env["SCHOOL_DB_DSN"] == nil {
		t.Error("on EKS the app reads the catalog from the read replica and writes to the primary")
	}
	for _, e := range onprem.deployments["school"].Spec.Template.Spec.Containers[0].Env {
		if e.Name == "SCHOOL_DB_READ_DSN" {
			t.Error("on-prem the primary is next door: no read replica")
		}
	}
	for _, dep := range harbor.deployments {
		for _, c := range dep.Spec.Template.Spec.Containers {
			if !strings.HasPrefix(c.Image, "harbor.school.internal/") {
				t.Errorf("onprem-harbor: %s pulls %s, not from Harbor", dep.Name, c.Image)
			}
		}
		if len(dep.Spec.Template.Spec.ImagePullSecrets) == 0 {
			t.Errorf("onprem-harbor: %s has no pull secret for Harbor", dep.Name)
		}
	}
}

// autoscalerConfig is the config the autoscaler's ConfigMap carries, parsed by the
// autoscaler's own strict loader.
func autoscalerConfig(t *testing.T, r *rendered) autoscaler.Config {
	t.Helper()
	for name, cm := range r.configMaps {
		if strings.HasPrefix(name, "autoscaler-config") {
			cfg, err := autoscaler.Parse([]byte(cm.Data["autoscaler.yaml"]))
			if err != nil {
				t.Fatalf("the shipped autoscaler config: %v", err)
			}
			return cfg
		}
	}
	t.Fatal("no autoscaler-config ConfigMap")
	return autoscaler.Config{}
}

// The Argo CD objects are custom resources: these structs hold the fields the shipped
// files use, with Argo CD's JSON names, and decode strictly like the rest.
type argoApplication struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
		Finalizers  []string          `json:"finalizers"`
	} `json:"metadata"`
	Spec struct {
		Project string `json:"project"`
		Source  struct {
			RepoURL        string `json:"repoURL"`
			TargetRevision string `json:"targetRevision"`
			Path           string `json:"path"`
			Kustomize      *struct {
				Replicas []struct {
					Name  string             `json:"name"`
					Count intstr.IntOrString `json:"count"`
				} `json:"replicas"`
			} `json:"kustomize"`
		} `json:"source"`
		Destination struct {
			Name      string `json:"name"`
			Server    string `json:"server"`
			Namespace string `json:"namespace"`
		} `json:"destination"`
		IgnoreDifferences []struct {
			Group        string   `json:"group"`
			Kind         string   `json:"kind"`
			JSONPointers []string `json:"jsonPointers"`
		} `json:"ignoreDifferences"`
		SyncPolicy struct {
			Automated *struct {
				Prune    bool `json:"prune"`
				SelfHeal bool `json:"selfHeal"`
			} `json:"automated"`
			SyncOptions []string `json:"syncOptions"`
			Retry       *struct {
				Limit   int `json:"limit"`
				Backoff struct {
					Duration    string `json:"duration"`
					Factor      int    `json:"factor"`
					MaxDuration string `json:"maxDuration"`
				} `json:"backoff"`
			} `json:"retry"`
		} `json:"syncPolicy"`
	} `json:"spec"`
}

type argoProject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Description  string   `json:"description"`
		SourceRepos  []string `json:"sourceRepos"`
		Destinations []struct {
			Name      string `json:"name"`
			Server    string `json:"server"`
			Namespace string `json:"namespace"`
		} `json:"destinations"`
		ClusterResourceWhitelist   []struct{ Group, Kind string } `json:"clusterResourceWhitelist"`
		NamespaceResourceWhitelist []struct {
			Group string `json:"group"`
			Kind  string `json:"kind"`
		} `json:"namespaceResourceWhitelist"`
		Roles []struct {
			Name        string   `json:"name"`
			Description string   `json:"description"`
			Policies    []string `json:"policies"`
		} `json:"roles"`
	} `json:"spec"`
}

func strict(t *testing.T, y []byte, v any) {
	t.Helper()
	j, err := sigsyaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%T does not decode strictly: %v\n%s", v, err, y)
	}
}

// TestArgoCD: the Applications render the overlays; the autoscaler's Applications carry
// the replicas it sets, and the root Application ignores exactly that field; the
// project's autoscaler role grants what the autoscaler calls (get, update, sync) on
// those Applications and nothing else.
func TestArgoCD(t *testing.T) {
	r := render(t, "../argocd")
	apps := map[string]*argoApplication{}
	for _, y := range r.other["Application"] {
		a := &argoApplication{}
		strict(t, y, a)
		apps[a.Metadata.Name] = a
	}
	if len(r.other["AppProject"]) != 1 {
		t.Fatalf("want one AppProject, have %d", len(r.other["AppProject"]))
	}
	var proj argoProject
	strict(t, r.other["AppProject"][0], &proj)

	rootYAML, err := os.ReadFile("../argocd/bootstrap/root.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root argoApplication
	strict(t, rootYAML, &root)
	if root.Spec.Source.Path != "deploy/argocd" {
		t.Errorf("the root Application syncs %q, want deploy/argocd", root.Spec.Source.Path)
	}
	ignores := false
	for _, d := range root.Spec.IgnoreDifferences {
		if d.Group == "argoproj.io" && d.Kind == "Application" && slices.Equal(d.JSONPointers, []string{"/spec/source/kustomize/replicas"}) {
			ignores = true
		}
	}
	if !ignores || !slices.Contains(root.Spec.SyncPolicy.SyncOptions, "RespectIgnoreDifferences=true") {
		t.Error("the root Application must ignore, and not write back, the Applications' kustomize replicas the autoscaler owns")
	}

	cfg := autoscalerConfig(t, render(t, "overlays/onprem"))
	dests := map[string]bool{}
	for _, d := range proj.Spec.Destinations {
		dests[d.Name+"/"+d.Namespace] = true
	}
	granted := map[string]bool{}
	for _, role := range proj.Spec.Roles {
		for _, p := range role.Policies {
			f := strings.Split(strings.ReplaceAll(p, " ", ""), ",")
			if len(f) != 6 || f[0] != "p" || f[1] != "proj:"+proj.Metadata.Name+":"+role.Name || f[5] != "allow" {
				t.Errorf("role %s: policy %q is not `p, proj:%s:%s, RESOURCE, ACTION, OBJECT, allow`", role.Name, p, proj.Metadata.Name, role.Name)
				continue
			}
			if strings.Contains(f[3]+f[4], "*") {
				t.Errorf("role %s: policy %q uses a wildcard", role.Name, p)
			}
			app, ok := strings.CutPrefix(f[4], proj.Metadata.Name+"/")
			if !ok || apps[app] == nil {
				t.Errorf("role %s: policy %q names an Application not in deploy/argocd", role.Name, p)
			}
			granted[role.Name+" "+f[2]+" "+f[3]+" "+app] = true
		}
	}
	for _, a := range apps {
		if a.Spec.Project != proj.Metadata.Name || !dests[a.Spec.Destination.Name+"/"+a.Spec.Destination.Namespace] {
			t.Errorf("Application %s: project %s, destination %s/%s not allowed by the project", a.Metadata.Name,
				a.Spec.Project, a.Spec.Destination.Name, a.Spec.Destination.Namespace)
		}
		if st, err := os.Stat(filepath.Join("../..", a.Spec.Source.Path, "kustomization.yaml")); err != nil || st.IsDir() {
			t.Errorf("Application %s: path %s is no kustomization", a.Metadata.Name, a.Spec.Source.Path)
		}
	}
	for _, ac := range []autoscaler.ArgoCDConfig{cfg.OnPrem, cfg.EKSApp} {
		a := apps[ac.Application]
		if a == nil {
			t.Errorf("the autoscaler sets %s, which deploy/argocd does not define", ac.Application)
			continue
		}
		if ac.Source != "kustomize" || a.Spec.Source.Kustomize == nil || len(a.Spec.Source.Kustomize.Replicas) == 0 {
			t.Errorf("%s: the autoscaler sets spec.source.kustomize.replicas, which must have an entry", a.Metadata.Name)
			continue
		}
		entry := a.Spec.Source.Kustomize.Replicas[0]
		overlay := render(t, filepath.Join("../..", a.Spec.Source.Path))
		if overlay.deployments[entry.Name] == nil {
			t.Errorf("%s: replicas entry %q names no Deployment of %s", a.Metadata.Name, entry.Name, a.Spec.Source.Path)
		}
		if n := entry.Count.IntValue(); n < ac.MinReplicas || n > ac.MaxReplicas {
			t.Errorf("%s: starts at %d replicas, outside the autoscaler's %d..%d", a.Metadata.Name, n, ac.MinReplicas, ac.MaxReplicas)
		}
		for _, verb := range []string{"get", "update", "sync"} {
			if !granted[fmt.Sprintf("autoscaler applications %s %s", verb, a.Metadata.Name)] {
				t.Errorf("the autoscaler role may not %s %s, which the autoscaler does", verb, a.Metadata.Name)
			}
		}
	}
	if len(granted) != 6 {
		t.Errorf("the autoscaler role grants %d rights, want exactly get, update and sync on its two Applications: %v", len(granted), granted)
	}
	if cfg.OnPrem.URL != cfg.EKSApp.URL {
		t.Error("one Argo CD (on-prem) manages both clusters: the autoscaler's two URLs should agree")
	}
}

// TestAutoscalerIAMPolicy: the AWS policy allows the two EKS calls the autoscaler makes
// (autoscaler.EKSAPI) on its own node group, and nothing else.
func TestAutoscalerIAMPolicy(t *testing.T) {
	b, err := os.ReadFile("../aws/autoscaler-iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var pol struct {
		Version   string
		Statement []struct {
			Sid      string
			Effect   string
			Action   []string
			Resource string
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pol); err != nil {
		t.Fatal(err)
	}
	cfg := autoscalerConfig(t, render(t, "overlays/onprem"))
	if len(pol.Statement) != 1 {
		t.Fatalf("want one statement, have %d", len(pol.Statement))
	}
	st := pol.Statement[0]
	if st.Effect != "Allow" || !slices.Equal(st.Action, []string{"eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"}) {
		t.Errorf("want Allow eks:DescribeNodegroup and eks:UpdateNodegroupConfig, have %s %v", st.Effect, st.Action)
	}
	want := fmt.Sprintf("arn:aws:eks:%s:", cfg.EKS.Region)
	suffix := fmt.Sprintf(":nodegroup/%s/%s/*", cfg.EKS.Cluster, cfg.EKS.Nodegroup)
	if !strings.HasPrefix(st.Resource, want) || !strings.HasSuffix(st.Resource, suffix) {
		t.Errorf("resource %s: want the autoscaler's node group %s…%s", st.Resource, want, suffix)
	}
}

// TestPrometheusScrapesOpsPort: the Prometheus job for the app discovers the replicas
// through the headless Service and scrapes the port the app serves /metrics on.
func TestPrometheusScrapesOpsPort(t *testing.T) {
	b, err := os.ReadFile("../prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName      string `json:"job_name"`
			MetricsPath  string `json:"metrics_path"`
			DNSSDConfigs []struct {
				Names []string `json:"names"`
				Type  string   `json:"type"`
				Port  int32    `json:"port"`
			} `json:"dns_sd_configs"`
		} `json:"scrape_configs"`
	}
	if err := sigsyaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	r := render(t, "overlays/onprem")
	d := r.deployments["school"]
	var ops int32
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "school" {
			ops = containerPort(c, "ops")
		}
	}
	found := false
	for _, job := range cfg.ScrapeConfigs {
		if job.JobName != "school" {
			continue
		}
		found = true
		if job.MetricsPath != "" && job.MetricsPath != "/metrics" {
			t.Errorf("job school scrapes %s, the app serves /metrics", job.MetricsPath)
		}
		if len(job.DNSSDConfigs) != 1 || len(job.DNSSDConfigs[0].Names) != 1 {
			t.Fatalf("job school: want one DNS name, have %+v", job.DNSSDConfigs)
		}
		sd := job.DNSSDConfigs[0]
		svcName, ns, _ := strings.Cut(strings.TrimSuffix(sd.Names[0], ".svc.cluster.local"), ".")
		s := r.services[svcName]
		if s == nil || ns != "school" || s.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("job school looks up %s: want the headless Service of the app in namespace school", sd.Names[0])
		}
		if sd.Port != ops || ops == 0 {
			t.Errorf("job school scrapes port %d, the app's ops port (where /metrics is) is %d", sd.Port, ops)
		}
		if s != nil && (len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != ops || !targetsOps(d, s.Spec.Ports[0])) {
			t.Errorf("Service %s: want the ops port %d only, have %+v", s.Name, ops, s.Spec.Ports)
		}
	}
	if !found {
		t.Error("deploy/prometheus/prometheus.yml has no job school")
	}
}

// TestPodsMountCAAndTmp: in every rendered overlay the app's pods trust the internal CA
// through a mounted Secret at the file SCHOOL_LDAP_CA_FILE names, and have a writable
// /tmp (an emptyDir: the root filesystem is read-only, and a multipart upload over
// memory spills there), and read the waiting room's shuffle secret from a mounted Secret;
// the autoscaler mounts the CA at its ca_file and a writable
// volume at its state_file's folder. Removing any of these mounts fails here.
func TestPodsMountCAAndTmp(t *testing.T) {
	for _, dir := range []string{"overlays/onprem", "overlays/onprem-harbor", "overlays/eks"} {
		r := render(t, dir)
		d := r.deployments["school"]
		if d == nil {
			t.Fatalf("%s: no school Deployment", dir)
		}
		env := map[string]string{}
		for _, cm := range r.configMaps {
			if strings.HasPrefix(cm.Name, "school-config") {
				maps.Copy(env, cm.Data)
			}
		}
		caFile := env["SCHOOL_LDAP_CA_FILE"]
		if !strings.HasPrefix(env["SCHOOL_LDAP_URL"], "ldaps://") || caFile == "" {
			t.Errorf("%s: LDAPS to the internal directory needs SCHOOL_LDAP_CA_FILE, have %q", dir, caFile)
		}
		pod := &d.Spec.Template.Spec
		checkMount(t, dir+" school", pod, "school", caFile, true)
		checkMount(t, dir+" school", pod, "school", "/tmp/", false)
		// Every replica must derive the same shuffle seeds, from a secret outside the
		// database (the waiting room's commitment).
		if f := env["SCHOOL_SHUFFLE_SECRET_FILE"]; f == "" {
			t.Errorf("%s: no SCHOOL_SHUFFLE_SECRET_FILE: each replica would shuffle with its own random secret", dir)
		} else {
			checkMount(t, dir+" school", pod, "school", f, true)
		}
		if dir != "overlays/eks" {
			a := r.deployments["autoscaler"]
			cfg := autoscalerConfig(t, r)
			for _, f := range []string{cfg.OnPrem.CAFile, cfg.EKSApp.CAFile} {
				if f == "" {
					t.Errorf("%s: the autoscaler's Argo CD is https with an internal CA: set ca_file", dir)
				}
				checkMount(t, dir+" autoscaler", &a.Spec.Template.Spec, "autoscaler", f, true)
			}
			if cfg.StateFile == "" {
				t.Errorf("%s: the autoscaler keeps no state_file", dir)
			}
			checkMount(t, dir+" autoscaler", &a.Spec.Template.Spec, "autoscaler", cfg.StateFile, false)
		}
	}
}

// checkMount: file is under a mount of container's, from a Secret when secret (with the
// file's name as an item, or the whole Secret), else a writable emptyDir.
func checkMount(t *testing.T, what string, pod *corev1.PodSpec, container, file string, secret bool) {
	t.Helper()
	var c *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == container {
			c = &pod.Containers[i]
		}
	}
	if c == nil {
		t.Fatalf("%s: no container %s", what, container)
	}
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case secret && v.Secret != nil:
				if len(v.Secret.Items) == 0 || slices.ContainsFunc(v.Secret.Items, func(it corev1.KeyToPath) bool { return it.Path == rel }) {
					return
				}
			case !secret && v.EmptyDir != nil && !m.ReadOnly:
				return
			}
		}
	}
	kind := "a writable emptyDir"
	if secret {
		kind = "a Secret"
	}
	t.Errorf("%s: %s is not on %s mounted in container %s", what, file, kind, container)
}
