package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// maxSecretFile bounds a secret file, so that pointing TWOSTEP_X_FILE at a
// device or a large file fails instead of reading it.
const maxSecretFile = 64 << 10

// Load returns [Defaults] overlaid with the TOML file at path (no file when
// path is "") and then with the TWOSTEP_* environment as seen through getenv.
//
// Load reports every problem with its sources at once: an unreadable or
// malformed file, unknown keys in it, values of the wrong type, a secret set
// both directly and as a file. It does not validate the values: apply
// command-line flags to the result, then call [Config.Validate].
func Load(path string, getenv func(string) string) (Config, error) {
	fs := newFields()
	k := koanf.New(".")
	def := Defaults()
	layers := []map[string]any{make(map[string]any)}
	for _, f := range fs {
		layers[0][f.key] = f.value(&def)
	}
	var errs []error
	if path != "" {
		vals, err := readTOML(path, fs)
		layers = append(layers, vals)
		errs = append(errs, err)
	}
	vals, err := readEnv(getenv, fs)
	layers = append(layers, vals)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}

	for _, layer := range layers {
		for key, v := range layer {
			if err := k.Set(key, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	var c Config
	err = k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{
		DecoderConfig: &mapstructure.DecoderConfig{
			// Every value is already of its field's type (see fromTOML and
			// fromEnv); these catch a mismatch between the table and Config.
			ErrorUnused: true,
			ErrorUnset:  true,
		},
	})
	if err != nil {
		return Config{}, fmt.Errorf("decode config: %w", err)
	}
	return c, nil
}

// readTOML reads the config file at path and returns its settings by key,
// each converted to its field's type, with secret files read.
func readTOML(path string, fs fields) (map[string]any, error) {
	fk := koanf.New(".")
	if err := fk.Load(file.Provider(path), toml.Parser()); err != nil {
		var pos interface{ Position() (row, column int) }
		if errors.As(err, &pos) {
			row, col := pos.Position()
			return nil, fmt.Errorf("config file %s:%d:%d: %w", path, row, col, err)
		}
		return nil, fmt.Errorf("config file: %w", err) // an *fs.PathError naming path
	}
	flat := fk.All()
	keys := make([]string, 0, len(flat))
	for key := range flat {
		keys = append(keys, key)
	}
	slices.Sort(keys)

	out := make(map[string]any)
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s (in %s)", key, fmt.Sprintf(format, args...), path))
	}
	for _, key := range keys {
		v := flat[key]
		if f, ok := fs.byKey(key); ok {
			val, err := fromTOML(f, v)
			if err != nil {
				bad(key, "%v", err)
				continue
			}
			out[key] = val
			continue
		}
		if f, ok := fs.secretByFileKey(key); ok {
			if _, both := flat[f.key]; both {
				bad(key, "%s is also set; use one of them", f.key)
				continue
			}
			p, ok := v.(string)
			if !ok {
				bad(key, "want a file name (a string), got %s", describe(v))
				continue
			}
			s, err := readSecretFile(p)
			if err != nil {
				bad(key, "%v", err)
				continue
			}
			out[f.key] = Secret(s)
			continue
		}
		if fs.isGroup(key) {
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				continue // an empty [table]
			}
			bad(key, "want a table [%s], got %s", key, describe(v))
			continue
		}
		if strings.HasPrefix(key, "radius.clients.") {
			bad(key, "radius clients are an array of tables: write [[radius.clients]], not [radius.clients]")
			continue
		}
		if s := suggest(key, fs); s != "" {
			bad(key, "unknown key; did you mean %q?", s)
		} else {
			bad(key, "unknown key")
		}
	}
	return out, errors.Join(errs...)
}

// fromTOML converts a value parsed from TOML to f's type. Errors do not
// repeat the value when it may be secret.
func fromTOML(f field, v any) (any, error) {
	switch f.kind {
	case kindString, kindSecret:
		if s, ok := v.(string); ok {
			if f.kind == kindSecret {
				return Secret(s), nil
			}
			return s, nil
		}
		return nil, fmt.Errorf("want a string, got %s", describe(v))
	case kindInt:
		if n, ok := v.(int64); ok && int64(int(n)) == n {
			return int(n), nil
		}
		return nil, fmt.Errorf("want an integer, got %s", describe(v))
	case kindDuration:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf(`want a duration string such as "300s" or "5m", got %s`, describe(v))
		}
		return parseDuration(s)
	case kindRadiusClients:
		return radiusClientsFromTOML(v)
	case kindList:
		if l, ok := v.([]any); ok {
			out := make([]string, 0, len(l))
			for _, e := range l {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("want an array of strings, got an array holding %s", describe(e))
				}
				out = append(out, s)
			}
			return out, nil
		}
		return nil, fmt.Errorf("want an array of strings, got %s", describe(v))
	}
	panic("config: unknown kind")
}

// describe names the TOML type of v.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}

// readEnv returns the settings given by TWOSTEP_* variables, by key, each
// converted to its field's type, with secret files read. An empty variable
// counts as unset.
func readEnv(getenv func(string) string, fs fields) (map[string]any, error) {
	out := make(map[string]any)
	var errs []error
	for _, f := range fs {
		if f.kind == kindRadiusClients {
			continue // no environment form
		}
		v := getenv(f.env)
		if f.kind == kindSecret {
			if p := getenv(f.fileEnv()); p != "" {
				if v != "" {
					errs = append(errs, fmt.Errorf("%s: both %s and %s are set; use one of them", f.key, f.env, f.fileEnv()))
					continue
				}
				s, err := readSecretFile(p)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %v (%s)", f.key, err, f.fileEnv()))
					continue
				}
				v = s
			}
		}
		if v == "" {
			continue
		}
		val, err := fromEnv(f, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v (%s)", f.key, err, f.env))
			continue
		}
		out[f.key] = val
	}
	return out, errors.Join(errs...)
}

// fromEnv converts an environment value to f's type.
func fromEnv(f field, v string) (any, error) {
	switch f.kind {
	case kindString:
		return v, nil
	case kindSecret:
		return Secret(v), nil
	case kindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", v)
		}
		return n, nil
	case kindDuration:
		return parseDuration(v)
	case kindList:
		var out []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	panic("config: unknown kind")
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`%q is not a duration such as "300s" or "5m"`, s)
	}
	return d, nil
}

// readSecretFile returns the trimmed content of a secret file. Its errors
// name the file, never its content.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d KiB", path, maxSecretFile>>10)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// suggest returns the known key closest to an unknown one, if it is close
// enough to be a typo.
func suggest(key string, fs fields) string {
	best, bestDist := "", 3 // at most two edits
	for _, f := range fs {
		cands := []string{f.key}
		if f.kind == kindSecret {
			cands = append(cands, f.fileKey())
		}
		for _, c := range cands {
			if d := editDistance(key, c); d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
