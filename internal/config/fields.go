package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// envPrefix starts every environment variable this package reads.
const envPrefix = "TWOSTEP_"

// kind is how a field's value is written in TOML and in the environment.
type kind int

const (
	kindString        kind = iota // TOML string; env as is
	kindSecret                    // like kindString, plus key_file / ENV_FILE
	kindInt                       // TOML integer; env decimal
	kindDuration                  // TOML string; env; both as a Go duration "300s"
	kindList                      // TOML array of strings; env comma-separated
	kindRadiusClients             // TOML array of tables [[radius.clients]]; no env form
)

// field is one leaf setting of [Config].
type field struct {
	key   string // koanf path: "tls.cert"
	env   string // "TWOSTEP_TLS_CERT"
	index []int  // for reflect.Value.FieldByIndex
	kind  kind
}

// fileKey and fileEnv name where a secret's file is given.
func (f field) fileKey() string { return f.key + "_file" }
func (f field) fileEnv() string { return f.env + "_FILE" }

// where names the environment variable(s) of f, for messages.
func (f field) where() string {
	if f.env == "" {
		return "in the config file"
	}
	if f.kind == kindSecret {
		return f.env + " or " + f.fileEnv()
	}
	return f.env
}

// value returns f's value in c.
func (f field) value(c *Config) any {
	return reflect.ValueOf(c).Elem().FieldByIndex(f.index).Interface()
}

// fields is the table of every leaf setting, in struct order, derived from
// the koanf tags of [Config]. It is built per call: no package state.
type fields []field

func newFields() fields {
	var fs fields
	walkFields(reflect.TypeFor[Config](), "", nil, &fs)
	return fs
}

func walkFields(t reflect.Type, prefix string, index []int, out *fields) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("koanf")
		if !sf.IsExported() || tag == "" || tag == "-" {
			// A programming error, caught by every test that loads a config.
			panic(fmt.Sprintf("config: field %s.%s needs a koanf tag", t.Name(), sf.Name))
		}
		key := prefix + tag
		idx := append(index[:len(index):len(index)], i)
		var k kind
		switch sf.Type {
		case reflect.TypeFor[string]():
			k = kindString
		case reflect.TypeFor[Secret]():
			k = kindSecret
		case reflect.TypeFor[int]():
			k = kindInt
		case reflect.TypeFor[time.Duration]():
			k = kindDuration
		case reflect.TypeFor[[]string]():
			k = kindList
		case reflect.TypeFor[[]RadiusClient]():
			k = kindRadiusClients
		default:
			if sf.Type.Kind() == reflect.Struct {
				walkFields(sf.Type, key+".", idx, out)
				continue
			}
			panic(fmt.Sprintf("config: field %s.%s has unsupported type %s", t.Name(), sf.Name, sf.Type))
		}
		env := envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if k == kindRadiusClients {
			env = "" // a list of tables has no environment form
		}
		*out = append(*out, field{key: key, env: env, index: idx, kind: k})
	}
}

// byKey returns the field with the given key.
func (fs fields) byKey(key string) (field, bool) {
	for _, f := range fs {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// mustKey is byKey for keys written in this package's code.
func (fs fields) mustKey(key string) field {
	f, ok := fs.byKey(key)
	if !ok {
		panic("config: no field " + key)
	}
	return f
}

// isGroup reports whether key is a table (nested struct) such as "tls".
func (fs fields) isGroup(key string) bool {
	for _, f := range fs {
		if strings.HasPrefix(f.key, key+".") {
			return true
		}
	}
	return false
}

// secretByFileKey returns the secret field whose file key ("master_key_file")
// is key.
func (fs fields) secretByFileKey(key string) (field, bool) {
	for _, f := range fs {
		if f.kind == kindSecret && f.fileKey() == key {
			return f, true
		}
	}
	return field{}, false
}
