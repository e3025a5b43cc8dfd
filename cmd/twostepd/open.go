package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/datadir"
	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// keys resolves the master key: the configured one, or the data directory's
// generated one (created on first start, and said so in the log). Keys left
// by an interrupted rekey (master.key.next) are added for opening only.
func keys(cfg config.Config, dir *datadir.Dir, log *slog.Logger) (*seal.Keyring, seal.Key, error) {
	current, ok, err := cfg.MasterKeyValue()
	if err != nil {
		return nil, seal.Key{}, fmt.Errorf("master key: %w", err)
	}
	if !ok {
		var created bool
		current, created, err = dir.MasterKey(rand.Reader)
		if err != nil {
			return nil, seal.Key{}, err
		}
		if created {
			log.Warn("generated a new master key; back it up, without it sealed secrets cannot be read",
				"path", dir.File(datadir.MasterKeyFile))
		}
	}
	var extra []seal.Key
	if b, err := os.ReadFile(dir.File(nextKeyFile)); err == nil {
		if k, err := seal.ParseKey(string(b)); err == nil && k.ID != current.ID {
			extra = append(extra, k)
		}
	}
	ring, err := seal.NewKeyring(current, extra...)
	if err != nil {
		return nil, seal.Key{}, err
	}
	return ring, current, nil
}

// dsn is the database the store opens.
func dsn(cfg config.Config) string {
	if cfg.DatabaseKind() == config.Postgres {
		return cfg.Database.Reveal()
	}
	return cfg.SQLitePath()
}

func openStore(ctx context.Context, cfg config.Config, ring *seal.Keyring, log *slog.Logger) (*sqlstore.Store, error) {
	if cfg.DatabaseKind() == config.SQLite {
		path := cfg.SQLitePath()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("database directory: %w", err)
		}
		// Create the database file private; SQLite gives its -wal and -shm
		// files the same mode.
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
	}
	st, err := sqlstore.Open(ctx, sqlstore.Options{
		DSN:          dsn(cfg),
		Sealer:       ring,
		Now:          time.Now,
		Rand:         rand.Reader,
		Logger:       log,
		MaxOpenConns: cfg.DB.MaxOpenConns,
		BusyTimeout:  cfg.DB.BusyTimeout,
		GroupCommit:  cfg.DatabaseKind() == config.SQLite,
	})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.DatabaseRedacted(), err)
	}
	return st, nil
}

// migrate brings the schema up to date, refusing a schema newer than this
// binary. Several processes may run it at once: the store serialises them.
func migrate(ctx context.Context, st *sqlstore.Store, log *slog.Logger) error {
	cur, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur > latest {
		return st.CheckSchema(ctx)
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n > 0 {
		log.Info("applied database migrations", "applied", n, "schema_version", latest)
	}
	return st.CheckSchema(ctx)
}

// prepare loads and validates the configuration, makes the logger, and
// opens the data directory holding its lock (so that processes sharing the
// directory agree on one master key, one CA, one bootstrap). Call unlock
// when initialisation is done.
func (e *env) prepare() (cfg config.Config, log *slog.Logger, dir *datadir.Dir, unlock func(), err error) {
	cfg, err = e.loadConfig()
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	log = e.logger(cfg)
	dir, err = datadir.Open(cfg.DataDir)
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	unlock, err = dir.Lock()
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	return cfg, log, dir, unlock, nil
}

type migrateCmd struct{}

func (migrateCmd) run(e *env) error {
	cfg, log, dir, unlock, err := e.prepare()
	if err != nil {
		return err
	}
	defer unlock()
	ring, _, err := keys(cfg, dir, log)
	if err != nil {
		return err
	}
	st, err := openStore(e.ctx, cfg, ring, log)
	if err != nil {
		return err
	}
	defer st.Close()
	before, latest, err := st.SchemaVersion(e.ctx)
	if err != nil {
		return err
	}
	if err := migrate(e.ctx, st, log); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database %s: schema version %d (was %d)\n", cfg.DatabaseRedacted(), latest, before)
	return nil
}

// nextKeyFile holds the new master key while a rekey is in progress.
const nextKeyFile = datadir.MasterKeyFile + ".next"

type rekeyCmd struct {
	NewKeyFile string `name:"new-key-file" help:"File holding the new master key; created with a fresh key if absent. Required when the current key is configured (TWOSTEP_MASTER_KEY[_FILE]); otherwise the data directory's master.key is replaced." placeholder:"FILE"`
}

// run re-seals every secret under a new key. Stop every twostepd node that
// uses the database first: a node still holding only the old key cannot
// read what is re-sealed.
func (c rekeyCmd) run(e *env) error {
	cfg, log, dir, unlock, err := e.prepare()
	if err != nil {
		return err
	}
	defer unlock()
	_, configured, err := cfg.MasterKeyValue()
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if configured && c.NewKeyFile == "" {
		return usageError{fmt.Errorf("the master key is configured (TWOSTEP_MASTER_KEY or master_key); give --new-key-file for the new one")}
	}
	_, old, err := keys(cfg, dir, log)
	if err != nil {
		return err
	}
	target := c.NewKeyFile
	if target == "" {
		target = dir.File(nextKeyFile)
	}
	next, err := loadOrCreateKey(target, nextID(old.ID))
	if err != nil {
		return err
	}
	if next.ID == old.ID {
		return fmt.Errorf("the new key in %s has the same id %q as the current one; give it another id (\"<id>:<base64>\")", target, old.ID)
	}
	ring, err := seal.NewKeyring(next, old)
	if err != nil {
		return err
	}
	st, err := openStore(e.ctx, cfg, ring, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(e.ctx); err != nil {
		return err
	}
	n, err := st.Reseal(e.ctx)
	if err != nil {
		return fmt.Errorf("rekey: nothing changed: %w", err)
	}
	if c.NewKeyFile == "" {
		if err := os.Rename(target, dir.File(datadir.MasterKeyFile)); err != nil {
			return fmt.Errorf("rekey: %d values re-sealed under key %s, but replacing %s failed (the new key is in %s): %w",
				n, next.ID, datadir.MasterKeyFile, target, err)
		}
		fmt.Fprintf(e.stdout, "re-sealed %d values under key %s; %s now holds it\n", n, next.ID, dir.File(datadir.MasterKeyFile))
		return nil
	}
	fmt.Fprintf(e.stdout, "re-sealed %d values under key %s; configure TWOSTEP_MASTER_KEY_FILE=%s on every node before starting them\n", n, next.ID, target)
	return nil
}

func loadOrCreateKey(path, id string) (seal.Key, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := seal.ParseKey(string(b))
		if err != nil {
			return seal.Key{}, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !os.IsNotExist(err) {
		return seal.Key{}, fmt.Errorf("new master key: %w", err)
	}
	k, err := seal.GenerateKey(rand.Reader, id)
	if err != nil {
		return seal.Key{}, err
	}
	if err := datadir.WriteFileAtomic(path, []byte(k.Encode()+"\n"), 0o600); err != nil {
		return seal.Key{}, err
	}
	return k, nil
}

// nextID numbers key ids: k1 -> k2; any other id is followed by a
// date-stamped one.
func nextID(id string) string {
	var n int
	if _, err := fmt.Sscanf(id, "k%d", &n); err == nil && fmt.Sprintf("k%d", n) == id {
		return fmt.Sprintf("k%d", n+1)
	}
	return "k" + time.Now().UTC().Format("20060102150405")
}
