package k8s_test

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDockerfile reads the Dockerfile (there is no image builder here): both programs
// are built static (CGO_ENABLED=0) and copied into a distroless or scratch final stage
// that runs as a non-root user, at the paths the manifests run.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		from  string
		lines []string
	}
	var stages []*stage
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			stages = append(stages, &stage{from: f[1]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before the first FROM: %s", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	if len(stages) < 2 {
		t.Fatal("want a multi-stage build")
	}
	all := string(b)
	if !strings.Contains(all, "CGO_ENABLED=0") {
		t.Error("the binaries must be static: CGO_ENABLED=0")
	}
	for _, pkg := range []string{"./cmd/school", "./cmd/autoscaler"} {
		if !regexp.MustCompile(`go build [^\n]*-o /out/\S+ ` + regexp.QuoteMeta(pkg) + `\b`).MatchString(all) {
			t.Errorf("the build stage does not build %s", pkg)
		}
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s: want distroless/static or scratch", final.from)
	}
	var user string
	var copied []string
	for _, l := range final.lines {
		f := strings.Fields(l)
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = f[1]
		case "COPY":
			copied = append(copied, f[len(f)-1])
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("final stage USER %q: want a non-root user", user)
	}
	if !strings.Contains(all, `ENTRYPOINT ["/school"]`) {
		t.Error(`want ENTRYPOINT ["/school"]: the manifests pass serve or migrate as args`)
	}
	// The paths the manifests run must be in the image.
	for _, dir := range overlays {
		r := render(t, dir)
		for _, d := range r.deployments {
			for _, c := range d.Spec.Template.Spec.Containers {
				path := "/school"
				if len(c.Command) > 0 {
					path = c.Command[0]
				}
				if !slices.Contains(copied, path) {
					t.Errorf("%s: %s runs %s, which the image does not have (%v)", dir, d.Name, path, copied)
				}
			}
			if sc := d.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsUser == nil ||
				!strings.HasPrefix(user, strconv.FormatInt(*sc.RunAsUser, 10)+":") {
				t.Errorf("%s: %s's runAsUser is not the image's USER %s", dir, d.Name, user)
			}
		}
	}
}

// TestPipelines: GitHub Actions and Jenkins run the project's CI script, push the image
// tagged with the commit (never latest), and bump the tag in components/release, the one
// place the manifests take it from.
func TestPipelines(t *testing.T) {
	const release = "deploy/k8s/components/release"
	if _, err := os.Stat("../../" + release + "/kustomization.yaml"); err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			Needs any `yaml:"needs"`
			If    string
			Steps []struct {
				Name, Uses, Run string
				With            map[string]any
			}
		}
	}
	b, err := os.ReadFile("../../.github/workflows/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("ci.yml: %v", err)
	}
	var runs, tags []string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			runs = append(runs, s.Run)
			if v, ok := s.With["tags"].(string); ok {
				tags = append(tags, v)
			}
		}
	}
	all := strings.Join(runs, "\n")
	if !strings.Contains(all, "bash .ci/run") {
		t.Error("GitHub Actions does not run .ci/run (the README's test command)")
	}
	if len(tags) != 1 || !strings.HasSuffix(tags[0], ":${{ github.sha }}") {
		t.Errorf("GitHub Actions image tags %v: want only the commit", tags)
	}
	if !strings.Contains(all, "cd "+release) || !strings.Contains(all, `kustomize edit set image "school=${IMAGE}:${GITHUB_SHA}"`) {
		t.Error("GitHub Actions does not bump the release component's image tag")
	}
	jf, err := os.ReadFile("../../Jenkinsfile")
	if err != nil {
		t.Fatal(err)
	}
	// Jenkins pushes the tag it bumps to both registries the overlays pull from, and
	// skips the bump commits (its own would otherwise start it again).
	for _, want := range []string{"bash .ci/run", `docker push "$IMAGE:$GIT_COMMIT"`, "cd " + release,
		`GHCR_IMAGE = 'ghcr.io/schoolservice/school'`, `docker push "$GHCR_IMAGE:$GIT_COMMIT"`,
		`kustomize edit set image "school=ghcr.io/schoolservice/school:$GIT_COMMIT"`,
		`subject.startsWith('deploy: release ')`, `commit -m "deploy: release $GIT_COMMIT [skip ci]"`} {
		if !strings.Contains(string(jf), want) {
			t.Errorf("Jenkinsfile lacks %s", want)
		}
	}
	if bytes.Contains(b, []byte(":latest")) || bytes.Contains(jf, []byte(":latest")) {
		t.Error("a pipeline uses :latest")
	}
}
