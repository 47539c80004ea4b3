package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// appManifest is the GitHub App manifest format, decoded strictly.
type appManifest struct {
	Name           string `yaml:"name"`
	URL            string `yaml:"url"`
	Description    string `yaml:"description"`
	Public         bool   `yaml:"public"`
	HookAttributes struct {
		URL    string `yaml:"url"`
		Active bool   `yaml:"active"`
	} `yaml:"hook_attributes"`
	RedirectURL        string            `yaml:"redirect_url"`
	DefaultPermissions map[string]string `yaml:"default_permissions"`
	DefaultEvents      []string          `yaml:"default_events"`
}

// TestAppManifestLeastPrivilege pins the App's permissions and events: a
// change here is a change to what every installation grants.
func TestAppManifestLeastPrivilege(t *testing.T) {
	data, err := os.ReadFile("../../app.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m appManifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("app.yml: %v", err)
	}
	wantPerms := map[string]string{
		"checks": "write", "contents": "read", "pull_requests": "write", "issues": "write",
		"deployments": "write", "members": "read", "metadata": "read", "merge_queues": "read", "statuses": "read",
	}
	t.Run("exact permission set", func(t *testing.T) {
		for k, v := range m.DefaultPermissions {
			if wantPerms[k] != v {
				t.Errorf("permission %s: %s, want %q", k, v, wantPerms[k])
			}
		}
		for k, v := range wantPerms {
			if m.DefaultPermissions[k] != v {
				t.Errorf("permission %s missing or %q, want %s", k, m.DefaultPermissions[k], v)
			}
		}
	})
	t.Run("no admin, no contents write", func(t *testing.T) {
		for k, v := range m.DefaultPermissions {
			if v == "admin" || strings.Contains(k, "administration") {
				t.Errorf("permission %s: %s grants administration", k, v)
			}
		}
		if m.DefaultPermissions["contents"] != "read" {
			t.Errorf("contents: %s, want read", m.DefaultPermissions["contents"])
		}
	})
	t.Run("events", func(t *testing.T) {
		want := []string{"check_run", "check_suite", "issue_comment", "membership", "merge_group",
			"pull_request", "pull_request_review", "push", "team"}
		got := slices.Clone(m.DefaultEvents)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("events = %v, want %v", got, want)
		}
	})
	t.Run("hook", func(t *testing.T) {
		if !strings.HasSuffix(m.HookAttributes.URL, "/api/github/hook") || !m.HookAttributes.Active {
			t.Fatalf("hook_attributes = %+v", m.HookAttributes)
		}
		if m.Public {
			t.Fatal("the App must not be public")
		}
	})
}
