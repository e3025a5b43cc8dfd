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
		AuthBypass       string         `json:"auth_bypass"`
		AuthLogV2        [][]string     `json:"authlog_v2"`
		AuthLogV2Next    []string       `json:"authlog_v2_next_offset"`
		AuthLogV2After   int            `json:"authlog_v2_after"`
		AuthLogV2Enroll  int            `json:"authlog_v2_enrollment"`
		Summary          map[string]any `json:"summary"`
		Credits          int            `json:"credits"`
		Attempts         map[string]int `json:"attempts"`
		UserAttempts     map[string]int `json:"user_attempts"`
		TelephonyV1      []any          `json:"telephony_v1"`
		ActivityActions  []string       `json:"activity_actions"`
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
		{"auth of a bypass user", got.AuthBypass, "allow"},
		{"v2 authlog filtered", got.AuthLogV2, [][]string{{"pyuser-bypass", "bypass_user"}}},
		{"v2 authlog after next_offset", got.AuthLogV2After, 0},
		{"v2 authlog enrollments", got.AuthLogV2Enroll, 0},
		{"summary users", got.Summary["user_count"], 2.0},
		{"summary integrations", got.Summary["integration_count"], 3.0},
		{"telephony credits", got.Credits, 0},
		{"authentication attempts", got.Attempts, map[string]int{"SUCCESS": 1, "FAILURE": 0, "FRAUD": 0, "ERROR": 0}},
		{"user authentication attempts", got.UserAttempts, map[string]int{"SUCCESS": 1, "FAILURE": 0, "FRAUD": 0, "ERROR": 0}},
		{"telephony log v1", len(got.TelephonyV1), 0},
		{"activity log actions", got.ActivityActions, []string{"group_create", "group_create", "group_update",
			"user_create", "group_member_add", "group_member_add", "group_member_remove", "group_delete",
			"integration_create", "user_create"}},
	}
	if len(got.AuthLogV2Next) != 2 || strings.Contains(got.AuthLogV2Next[0], ".") {
		t.Errorf("v2 authlog next_offset = %q, want [<integer ms>, <txid>]", got.AuthLogV2Next)
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
