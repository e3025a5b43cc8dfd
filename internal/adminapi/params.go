package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Parameter parsing. Every failure is 400/40002 with message_detail naming
// the parameter and the problem, so a caller can fix its request.

func badParam(name, format string, args ...any) error {
	return duoproto.BadParam(name + ": " + fmt.Sprintf(format, args...))
}

// has reports whether the request carries the parameter at all.
func has(c *api.Caller, name string) bool {
	_, ok := c.Params.Params[name]
	return ok
}

// required returns a non-empty parameter.
func required(c *api.Caller, name string) (string, error) {
	v := strings.TrimSpace(c.Param(name))
	if v == "" {
		return "", duoproto.BadParam(name + ": required")
	}
	return v, nil
}

// intParam parses an optional integer within [lo, hi]; def when absent.
func intParam(c *api.Caller, name string, def, lo, hi int) (int, error) {
	if !has(c, name) {
		return def, nil
	}
	v := strings.TrimSpace(c.Param(name))
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badParam(name, "%q is not an integer", v)
	}
	if n < lo || n > hi {
		return 0, badParam(name, "must be between %d and %d", lo, hi)
	}
	return n, nil
}

// boolParam parses an optional boolean: "1"/"0", "true"/"false".
func boolParam(c *api.Caller, name string, def bool) (bool, error) {
	if !has(c, name) {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(c.Param(name))) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, badParam(name, "must be true or false (1 or 0)")
}

// page parses limit and offset with Duo's defaults: limit 100, at most max.
func page(c *api.Caller, max int) (mfa.Page, error) {
	limit, err := intParam(c, "limit", 100, 1, max)
	if err != nil {
		return mfa.Page{}, err
	}
	offset, err := intParam(c, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return mfa.Page{}, err
	}
	return mfa.Page{Limit: limit, Offset: offset}, nil
}

// metadata is Duo's paging metadata: next_offset absent on the last page,
// prev_offset absent on the first.
type metadata struct {
	TotalObjects int  `json:"total_objects"`
	NextOffset   *int `json:"next_offset,omitempty"`
	PrevOffset   *int `json:"prev_offset,omitempty"`
}

func pageMetadata(p mfa.Page, got, total int) metadata {
	m := metadata{TotalObjects: total}
	if next := p.Offset + got; got > 0 && next < total {
		m.NextOffset = &next
	}
	if p.Offset > 0 {
		prev := max(0, p.Offset-p.Limit)
		m.PrevOffset = &prev
	}
	return m
}

// unix renders a time as Duo does: seconds, or null for a zero time.
func unix(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	s := t.Unix()
	return &s
}

// optString returns a pointer to the parameter's value when the request
// carries it (possibly empty), nil otherwise.
func optString(c *api.Caller, name string) *string {
	if !has(c, name) {
		return nil
	}
	v := c.Param(name)
	return &v
}

// optInt parses an optional integer; the range is the service's to check.
func optInt(c *api.Caller, name string) (*int, error) {
	if !has(c, name) {
		return nil, nil
	}
	v := strings.TrimSpace(c.Param(name))
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, badParam(name, "%q is not an integer", v)
	}
	return &n, nil
}

// optBool parses an optional boolean ("1"/"0", "true"/"false").
func optBool(c *api.Caller, name string) (*bool, error) {
	if !has(c, name) {
		return nil, nil
	}
	b, err := boolParam(c, name, false)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// listParam collects a list parameter sent as repeated values, as
// comma-separated values, or as a JSON array of strings (how
// duo_client_python sends username_list and user_id_list). Empty items
// are dropped.
func listParam(c *api.Caller, name string) ([]string, error) {
	var out []string
	for _, v := range c.Params.Params[name] {
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "[") {
			var arr []string
			if err := json.Unmarshal([]byte(v), &arr); err != nil {
				return nil, badParam(name, "must be a JSON array of strings")
			}
			for _, s := range arr {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			continue
		}
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// empty answers a change whose response is Duo's empty string.
func empty(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, "")
	return nil
}

// pageOf cuts one page out of a whole list.
func pageOf[T any](all []T, p mfa.Page) []T {
	return all[min(p.Offset, len(all)):min(p.Offset+p.Limit, len(all))]
}
