package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gobento/bento/internal/instrument"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

const (
	rulesFile     = "prometheus/rules.yml"
	rulesTestFile = "prometheus/rules_test.yml"
	dashboardFile = "grafana/gobento-dashboard.json"
	k8sDir        = "kubernetes"
	monitoringDoc = "../docs/monitoring.md"
)

// defaultFamilies are the metric families gobento serves by default; the
// dashboard must chart each of them.
var defaultFamilies = instrument.FamilyNames("", "")

// ----------------------------------------------------------------- promtool

// promtool returns the path of promtool, or skips the test.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed; CI installs the Debian prometheus package")
	}
	return p
}

// runPromtool runs promtool with args and returns its combined output and
// whether it exited successfully.
func runPromtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), promtool(t), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPromtool(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"check config http", []string{"check", "config", "prometheus/prometheus-http.yml"}},
		{"check config grpc", []string{"check", "config", "prometheus/prometheus-grpc.yml"}},
		{"check rules", []string{"check", "rules", rulesFile}},
		{"test rules", []string{"test", "rules", rulesTestFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPromtool(t, tc.args...)
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
		})
	}
}

// ---------------------------------------------------------------- dashboard

type dashboard struct {
	SchemaVersion int     `json:"schemaVersion"`
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row keeps its panels here
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels flattens the dashboard, including panels nested in rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// dashboardExprs returns every query of the dashboard, keyed for messages.
func dashboardExprs(d dashboard) []struct{ where, expr string } {
	var out []struct{ where, expr string }
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			out = append(out, struct{ where, expr string }{fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr})
		}
	}
	return out
}

func TestDashboardPanels(t *testing.T) {
	d := loadDashboard(t)
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion = %d, want a current schema (>= 36)", d.SchemaVersion)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q / title %q must be set", d.UID, d.Title)
	}
	panels := allPanels(d.Panels)
	if len(panels) < 10 {
		t.Fatalf("only %d panels found", len(panels))
	}
	nested := 0
	for _, p := range d.Panels {
		nested += len(p.Panels)
	}
	if nested == 0 {
		t.Error("no panel nested in a collapsed row; the walk over nested panels is untested")
	}
	ids := map[int]string{}
	titles := map[string]bool{}
	for _, p := range panels {
		t.Run(fmt.Sprintf("%d %s", p.ID, p.Title), func(t *testing.T) {
			if strings.TrimSpace(p.Title) == "" {
				t.Error("empty title")
			}
			if prev, ok := ids[p.ID]; ok {
				t.Errorf("id %d also used by %q", p.ID, prev)
			}
			ids[p.ID] = p.Title
			if titles[p.Title] {
				t.Errorf("duplicate title %q", p.Title)
			}
			titles[p.Title] = true
			if p.Type == "row" || p.Type == "text" {
				return
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
				t.Errorf("datasource = %+v, want prometheus ${datasource}", p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Fatal("no targets")
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("target %s: empty expr", tg.RefID)
				}
				if !strings.Contains(tg.Expr, "$service_name") {
					t.Errorf("target %s: expr does not filter on $service_name: %s", tg.RefID, tg.Expr)
				}
				if tg.Datasource != nil && tg.Datasource.UID != "${datasource}" {
					t.Errorf("target %s: datasource uid %q, want ${datasource}", tg.RefID, tg.Datasource.UID)
				}
			}
		})
	}
}

func TestDashboardVariables(t *testing.T) {
	d := loadDashboard(t)
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	queryOf := func(v variable) string {
		var s string
		if json.Unmarshal(v.Query, &s) == nil {
			return s
		}
		var o struct {
			Query string `json:"query"`
		}
		_ = json.Unmarshal(v.Query, &o)
		return o.Query
	}
	for _, tc := range []struct {
		name, typ, query string
		multi            bool
	}{
		{"datasource", "datasource", "prometheus", false},
		{"service_name", "query", "label_values(bentoml_api_server_request_total, service_name)", false},
		{"endpoint", "query", `label_values(bentoml_api_server_request_total{service_name=~"$service_name"}, endpoint)`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := vars[tc.name]
			if !ok {
				t.Fatalf("no template variable %q", tc.name)
			}
			if v.Type != tc.typ {
				t.Errorf("type = %q, want %q", v.Type, tc.typ)
			}
			if q := queryOf(v); q != tc.query {
				t.Errorf("query = %q, want %q", q, tc.query)
			}
			if v.Multi != tc.multi {
				t.Errorf("multi = %v, want %v", v.Multi, tc.multi)
			}
			if tc.typ == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
				t.Errorf("datasource = %+v, want ${datasource}", v.Datasource)
			}
		})
	}
}

func TestDashboardCoversDefaultFamilies(t *testing.T) {
	d := loadDashboard(t)
	var all strings.Builder
	for _, e := range dashboardExprs(d) {
		all.WriteString(e.expr)
		all.WriteByte('\n')
	}
	for _, fam := range defaultFamilies {
		// A family name is a prefix of its sample names (_bucket, _count).
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(fam) + `(_bucket|_count|_sum)?\b`)
		if !re.MatchString(all.String()) {
			t.Errorf("family %s is not charted by any panel", fam)
		}
	}
}

// grafanaVars substitutes the dashboard's template variables with values that
// make the query valid PromQL. Longer names come first.
var grafanaVars = strings.NewReplacer(
	"${service_name}", "x", "$service_name", "x",
	"${endpoint}", ".*", "$endpoint", ".*",
	"${__rate_interval}", "1m", "$__rate_interval", "1m",
	"$__interval_ms", "60000", "${__interval}", "1m", "$__interval", "1m",
	"$__range", "1h",
)

var leftoverVar = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*`)

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string `yaml:"name"`
	Rules []rule `yaml:"rules"`
}

type rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// checkExprs writes exprs as recording rules (one group each) to a temporary
// rules file and runs `promtool check rules` on it.
func checkExprs(t *testing.T, exprs []struct{ where, expr string }) error {
	t.Helper()
	var rf ruleFile
	for n, e := range exprs {
		rf.Groups = append(rf.Groups, ruleGroup{
			Name:  fmt.Sprintf("%d: %s", n, e.where),
			Rules: []rule{{Record: fmt.Sprintf("dashboard:panel_%d", n), Expr: e.expr}},
		})
	}
	b, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runPromtool(t, "check", "rules", path)
	if err != nil {
		return fmt.Errorf("promtool check rules: %w\n%s", err, out)
	}
	return nil
}

func TestDashboardExprsParse(t *testing.T) {
	promtool(t)
	d := loadDashboard(t)
	exprs := dashboardExprs(d)
	for i, e := range exprs {
		e.expr = grafanaVars.Replace(e.expr)
		if v := leftoverVar.FindString(e.expr); v != "" {
			t.Errorf("%s: unknown Grafana variable %s", e.where, v)
		}
		exprs[i] = e
	}
	t.Run("dashboard", func(t *testing.T) {
		if err := checkExprs(t, exprs); err != nil {
			t.Fatal(err)
		}
	})
	// The harness must be able to fail: promtool rejects a broken query.
	t.Run("broken expr is rejected", func(t *testing.T) {
		bad := []struct{ where, expr string }{{"broken", `sum by (le (rate(x[1m]))`}}
		if err := checkExprs(t, bad); err == nil {
			t.Fatal("promtool accepted a query that does not parse")
		}
	})
}

// recordingRuleRef matches a recording-rule name (level:metric:operations).
var recordingRuleRef = regexp.MustCompile(`\b[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*\b`)

func TestDashboardRecordingRulesExist(t *testing.T) {
	d := loadDashboard(t)
	records := recordNames(t, loadRules(t))
	for _, e := range dashboardExprs(d) {
		for _, ref := range recordingRuleRef.FindAllString(e.expr, -1) {
			if !records[ref] {
				t.Errorf("%s uses %s, which rules.yml does not record", e.where, ref)
			}
		}
	}
}

// -------------------------------------------------------------------- rules

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	if len(rf.Groups) == 0 {
		t.Fatalf("%s: no rule groups", rulesFile)
	}
	return rf
}

func recordNames(t *testing.T, rf ruleFile) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out[r.Record] = true
			}
		}
	}
	return out
}

func alertNames(rf ruleFile) []string {
	var out []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r.Alert)
			}
		}
	}
	return out
}

func TestAlertRules(t *testing.T) {
	rf := loadRules(t)
	wantAlerts := []string{
		"GobentoHighErrorRatio",
		"GobentoLatencySLOFastBurn",
		"GobentoLatencySLOSlowBurn",
		"GobentoSustainedShedding",
		"GobentoConnectionsRefused",
		"GobentoTargetDown",
	}
	got := alertNames(rf)
	for _, a := range wantAlerts {
		if !slices.Contains(got, a) {
			t.Errorf("alert %s missing from %s", a, rulesFile)
		}
	}
	templated := regexp.MustCompile(`\{\{.*\$(value|labels)`)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			t.Run(r.Alert, func(t *testing.T) {
				switch r.Labels["severity"] {
				case "critical", "warning", "info":
				default:
					t.Errorf("severity label = %q, want critical, warning or info", r.Labels["severity"])
				}
				for _, k := range []string{"summary", "description"} {
					if strings.TrimSpace(r.Annotations[k]) == "" {
						t.Errorf("annotation %s missing", k)
					}
				}
				if !templated.MatchString(r.Annotations["description"]) {
					t.Errorf("description has no templated value: %q", r.Annotations["description"])
				}
				if r.For == "" {
					t.Error("no `for` duration")
				}
			})
		}
	}
}

func TestRecordingRuleNames(t *testing.T) {
	rf := loadRules(t)
	full := regexp.MustCompile(`^` + recordingRuleRef.String() + `$`)
	seen := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			if !full.MatchString(r.Record) {
				t.Errorf("%s: not a level:metric:operations name", r.Record)
			}
			if seen[r.Record] {
				t.Errorf("%s: recorded twice", r.Record)
			}
			seen[r.Record] = true
		}
	}
	if len(seen) == 0 {
		t.Fatal("no recording rules")
	}
}

// TestEveryAlertTestedBothWays checks that rules_test.yml has, for every
// alert, at least one case where it fires and one where it does not.
func TestEveryAlertTestedBothWays(t *testing.T) {
	b, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var tf struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(b, &tf); err != nil {
		t.Fatalf("%s: %v", rulesTestFile, err)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, a := range alertNames(loadRules(t)) {
		if !firing[a] {
			t.Errorf("%s: no test case where it fires", a)
		}
		if !quiet[a] {
			t.Errorf("%s: no test case where it stays quiet", a)
		}
	}
}

// --------------------------------------------------------------- kubernetes

// yamlDocs decodes every document of a multi-document YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs
}

func TestKubernetesManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := map[string]bool{
		"ServiceMonitor": false, "PodMonitor": false, "PrometheusRule": false,
		"HorizontalPodAutoscaler": false, "ScaledObject": false,
	}
	rf := loadRules(t)
	records := recordNames(t, rf)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			docs := yamlDocs(t, path)
			if len(docs) == 0 {
				t.Fatal("no YAML documents")
			}
			for _, doc := range docs {
				kind, _ := doc["kind"].(string)
				api, _ := doc["apiVersion"].(string)
				meta, _ := doc["metadata"].(map[string]any)
				name, _ := meta["name"].(string)
				if kind == "" || api == "" || name == "" {
					t.Errorf("document needs apiVersion, kind and metadata.name; got %q %q %q", api, kind, name)
				}
				if _, ok := doc["spec"].(map[string]any); !ok {
					t.Errorf("%s %s: no spec", kind, name)
				}
				wantKinds[kind] = true
				if kind == "PrometheusRule" {
					checkPrometheusRule(t, doc, path)
				}
			}
			// Every recording rule an example queries must exist.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range recordingRuleRef.FindAllString(string(b), -1) {
				if !records[ref] {
					t.Errorf("refers to %s, which rules.yml does not record", ref)
				}
			}
		})
	}
	for kind, found := range wantKinds {
		if !found {
			t.Errorf("no %s example in %s", kind, k8sDir)
		}
	}
}

// checkPrometheusRule checks that the PrometheusRule carries exactly the
// groups of rules.yml.
func checkPrometheusRule(t *testing.T, doc map[string]any, path string) {
	t.Helper()
	spec, err := yaml.Marshal(doc["spec"])
	if err != nil {
		t.Fatal(err)
	}
	var got ruleFile
	if err := yaml.Unmarshal(spec, &got); err != nil {
		t.Fatalf("%s: spec: %v", path, err)
	}
	want := loadRules(t)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: spec.groups differ from %s; regenerate it (see the comment at the top of the file)", path, rulesFile)
	}
}

// --------------------------------------------------------------------- docs

func TestDocsMentionEveryRule(t *testing.T) {
	b, err := os.ReadFile(monitoringDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rf := loadRules(t)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			if !strings.Contains(doc, name) {
				t.Errorf("%s does not mention %s", monitoringDoc, name)
			}
		}
	}
	for _, a := range alertNames(rf) {
		// GitHub anchors of "### GobentoX" headings; descriptions link to them.
		if !strings.Contains(doc, "### "+a) {
			t.Errorf("%s has no runbook heading for %s", monitoringDoc, a)
		}
	}
	for _, fam := range defaultFamilies {
		if !strings.Contains(doc, fam) {
			t.Errorf("%s does not mention %s", monitoringDoc, fam)
		}
	}
}
