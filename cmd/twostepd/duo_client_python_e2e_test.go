package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pythonDuoClient is Debian's Python with python3-duo-client installed.
const pythonDuoClient = "/usr/bin/python3"

// needDuoClientPython skips unless Debian's python3-duo-client is
// importable (failing under CI=true, where .ci/run installs it).
func needDuoClientPython(t *testing.T) string {
	t.Helper()
	py := needProgram(t, pythonDuoClient, "python3-duo-client")
	if err := exec.Command(py, "-c", "import duo_client").Run(); err != nil {
		needProgram(t, "/usr/lib/python3/dist-packages/duo_client/__init__.py", "python3-duo-client")
	}
	return py
}

// TestDuoClientPythonGroups runs duo_client_python 4.5 (Debian's
// python3-duo-client) against a real twostepd over TLS, trusting
// twostep's CA through ca_certs: groups, user groups and the v2
// authentication log's groups filter.
func TestDuoClientPythonGroups(t *testing.T) {
	py := needDuoClientPython(t)
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/duo_client_admin.py",
		creds.AdminAPI.IKey, creds.AdminAPI.SKey, creds.APIHost, creds.CAFile, "pyuser")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("duo_client script: %v\nstdout: %s\nstderr: %s\nserver logs:\n%s", err, out, stderr, in.logs)
	}
	var got struct {
		Created          []string       `json:"created"`
		Modified         map[string]any `json:"modified"`
		ModifiedV1       string         `json:"modified_v1"`
		UserGroups       []string       `json:"user_groups"`
		UserGroupsPaged  []string       `json:"user_groups_paged"`
		UserObjectGroups []string       `json:"user_object_groups"`
		GroupUsers       []string       `json:"group_users"`
		Groups           []string       `json:"groups"`
		GroupsPaged      []string       `json:"groups_paged"`
		AfterRemove      []string       `json:"after_remove"`
		AfterDelete      []string       `json:"after_delete"`
		AuthLogGroups    [][]string     `json:"authlog_v2_groups"`
		AuthLogTotal     int            `json:"authlog_v2_total"`
		Duplicate        string         `json:"duplicate"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"created", got.Created, []string{"Staff", "bypass"}},
		{"modified status", got.Modified["status"], "disabled"},
		{"modified desc", got.Modified["desc"], "temporary"},
		{"get_group v1", got.ModifiedV1, "temporary"},
		{"get_user_groups", got.UserGroups, []string{"Staff", "Contractors"}},
		{"get_user_groups paged", got.UserGroupsPaged, []string{"Contractors"}},
		{"user object groups", got.UserObjectGroups, []string{"Staff", "Contractors"}},
		{"get_group_users", got.GroupUsers, []string{"pyuser"}},
		{"get_groups", got.Groups, []string{"Staff", "Contractors"}},
		{"get_groups paged", got.GroupsPaged, []string{"Contractors"}},
		{"after delete_user_group", got.AfterRemove, []string{"Staff"}},
		{"after delete_group", got.AfterDelete, []string{"Staff"}},
		{"authlog groups filter", len(got.AuthLogGroups), 0},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", c.name, diff)
		}
	}
	if !strings.Contains(got.Duplicate, "40002") && !strings.Contains(got.Duplicate, "name") {
		t.Errorf("duplicate create_group = %q, want a 400 naming name", got.Duplicate)
	}
}
