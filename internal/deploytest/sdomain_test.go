package deploytest

// s.domain.yaml: s.yaml plus a custom domain for the approve function
// (component fc3-domain, since fc3's function props have no customDomain),
// with APPROVE_URL derived from it. Rendered by the Serverless Devs CLI as
// `s deploy -t s.domain.yaml` renders it.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

type domainDoc struct {
	Resources map[string]struct {
		Component string         `json:"component"`
		Props     map[string]any `json:"props"`
	} `json:"resources"`
}

func decodeRendered(t *testing.T, data []byte) domainDoc {
	t.Helper()
	var d domainDoc
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSDomainYAMLRoutesTheApproveFunctionAndDerivesItsURL(t *testing.T) {
	tl := needTools(t)
	env := map[string]string{"APPROVE_DOMAIN": "approve.example.com", "APPROVE_CERT_ID": "12345"}
	rendered, err := renderFile(t, tl, "s.domain.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	out, ok := validate(t, tl, rendered)
	if !ok {
		t.Fatalf("s.domain.yaml's fc3 resources do not match the fc3 schema:\n%s", out)
	}
	for _, p := range checkRendered(rendered, tl.root) {
		t.Error(p)
	}
	got := decodeRendered(t, rendered)
	base := decodeRendered(t, render(t, tl, env))

	// The domain: fc3-domain's required props (region, domainName, protocol,
	// routeConfig), https with the certificate, every path to the approve
	// function with the methods its HTTP trigger takes.
	dom, ok := got.Resources["approve-domain"]
	if !ok || dom.Component != "fc3-domain" {
		t.Fatalf("no fc3-domain resource approve-domain: %+v", got.Resources["approve-domain"])
	}
	approve := got.Resources["approve"].Props
	want := map[string]any{
		"region": approve["region"], "domainName": "approve.example.com", "protocol": "HTTPS",
		"certConfig": map[string]any{"certId": "12345"},
		"routeConfig": map[string]any{"routes": []any{map[string]any{
			"functionName": approve["functionName"], "path": "/*", "methods": []any{"GET", "POST"}}}},
	}
	if a, b := jsonOf(t, dom.Props), jsonOf(t, want); a != b {
		t.Errorf("approve-domain props:\n got %s\nwant %s", a, b)
	}
	trig := approve["triggers"].([]any)[0].(map[string]any)["triggerConfig"].(map[string]any)
	for _, m := range trig["methods"].([]any) {
		if !slices.Contains([]any{"GET", "POST"}, m) {
			t.Errorf("the HTTP trigger takes %v, the domain routes GET and POST only", m)
		}
	}

	// APPROVE_URL: the domain's, for the function that signs links (guard)
	// and the one that checks them (approve); nothing else differs from s.yaml.
	for _, name := range []string{"guard", "approve"} {
		props := got.Resources[name].Props
		vars := props["environmentVariables"].(map[string]any)
		if vars["APPROVE_URL"] != "https://approve.example.com/" {
			t.Errorf("%s: APPROVE_URL %v, want https://approve.example.com/", name, vars["APPROVE_URL"])
		}
		delete(vars, "APPROVE_URL")
		bp := base.Resources[name].Props
		delete(bp["environmentVariables"].(map[string]any), "APPROVE_URL")
		if a, b := jsonOf(t, props), jsonOf(t, bp); a != b {
			t.Errorf("%s differs from s.yaml's beyond APPROVE_URL:\n got %s\nwant %s", name, a, b)
		}
	}
	if len(got.Resources) != len(base.Resources)+1 {
		t.Errorf("resources %d, want s.yaml's %d and the domain", len(got.Resources), len(base.Resources))
	}

	// Without the domain, the render fails and names the variable.
	_, err = renderFile(t, tl, "s.domain.yaml", map[string]string{"APPROVE_CERT_ID": "12345"})
	if err == nil || !strings.Contains(err.Error(), "APPROVE_DOMAIN") {
		t.Errorf("without APPROVE_DOMAIN: %v, want an error naming it", err)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
