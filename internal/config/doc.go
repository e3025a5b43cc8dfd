// Package config owns twostepd's one configuration struct, [Config]: its
// defaults, how it is loaded from its sources, how it is validated, and how
// it is printed for `twostepd config check`.
//
// Sources, lowest to highest precedence:
//
//  1. [Defaults].
//  2. A TOML file (optional). Unknown keys are an error, so that a typo is
//     never silently ignored.
//  3. Environment variables TWOSTEP_*. The name of each is derived from the
//     koanf tag path of its field: "TWOSTEP_" + upper(path, "." -> "_"), so
//     tls.cert is TWOSTEP_TLS_CERT. Unknown TWOSTEP_* variables are ignored
//     (other tools share the prefix); an empty variable counts as unset.
//     Lists are comma-separated.
//  4. Command-line flags, which the caller applies to the struct that [Load]
//     returns, before calling [Config.Validate].
//
// Secret fields ([Secret]) can also be read from a file: TWOSTEP_X_FILE in the
// environment, or x_file in the TOML file. Setting both the value and the file
// in one source is an error; a higher source still overrides a lower one.
// Errors never contain a secret's value.
//
// Relative paths (data dir, TLS files, secret files, SQLite paths) are
// relative to the process's working directory, not to the config file.
//
// [Load] reports problems with the sources (unreadable files, bad syntax,
// unknown keys, wrong types); [Config.Validate] reports every problem with the
// values at once, including a logo_file that is missing, not a PNG or too
// large. Neither does I/O beyond reading the named files.
//
// This package imports only the standard library, the koanf stack (koanf,
// its file provider and TOML parser, mapstructure) and internal/seal (for the
// master key format). It must not import any other package of ours.
package config
