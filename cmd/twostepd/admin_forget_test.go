package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/twostep-auth/twostep/internal/adminclient/adminclienttest"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

func TestAdminUserForgetDevices(t *testing.T) {
	calls := 0
	fake := userFake(t, map[string]adminclienttest.Handler{
		"DELETE /admin/v1/users/DUALICE0000000000001/trusted_devices": func(w http.ResponseWriter, r adminclienttest.Request) {
			calls++
			duoproto.WriteOK(w, map[string]int{"deleted": 2})
		},
	})
	out, _, err := runFake(t, fake, "user", "forget-devices", "alice")
	if err != nil || calls != 1 || out != "forgot 2 remembered devices of user alice (DUALICE0000000000001)\n" {
		t.Errorf("user forget-devices alice = %q, %v (%d calls)", out, err, calls)
	}
	out, _, err = runFake(t, fake, "user", "forget-devices", "DUALICE0000000000001", "--json")
	var got map[string]int
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got["deleted"] != 2 {
		t.Errorf("user forget-devices --json = %q, %v; want the response object", out, err)
	}
	_, _, err = runFake(t, fake, "user", "forget-devices", "nobody")
	if err == nil || exitCode(err) != 1 {
		t.Errorf("user forget-devices nobody = %v, want not found, exit 1", err)
	}
}
