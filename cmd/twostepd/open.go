package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/datadir"
	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// keyring is this node's master keys: the current one, which seals, and
// the others, which only open.
type keyring struct {
	ring       *seal.Keyring
	current    seal.Key
	others     []seal.Key
	configured bool // from master_key / TWOSTEP_MASTER_KEY[_FILE], not the data directory
	// generated is a fresh key for a data directory that has none, not
	// yet written: commitKey writes it once the database has been checked.
	generated bool
}

// keys resolves the master keys: the configured ones (a keyring, first
// key current), or the data directory's master.key plus the previous keys
// a rekey kept (master.key.<id>) and a key left by an interrupted rekey
// (master.key.next). A data directory without master.key gets a fresh key
// in memory only: see checkKeys and commitKey.
func keys(cfg config.Config, dir *datadir.Dir) (*keyring, error) {
	configured, err := cfg.MasterKeys()
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	k := &keyring{configured: len(configured) > 0}
	if k.configured {
		k.current, k.others = configured[0], configured[1:]
	} else {
		cur, ok, err := dir.ReadMasterKey()
		if err != nil {
			return nil, err
		}
		if !ok {
			if cur, err = seal.GenerateKey(rand.Reader, seal.DefaultKeyID); err != nil {
				return nil, err
			}
			k.generated = true
		}
		k.current = cur
		extra, err := dir.ExtraKeys()
		if err != nil {
			return nil, err
		}
		for _, e := range extra {
			if e.ID == cur.ID {
				continue // a copy (master.key.<id> of the current key after an interrupted rekey)
			}
			if i := slices.IndexFunc(k.others, func(o seal.Key) bool { return o.ID == e.ID }); i >= 0 {
				continue
			}
			k.others = append(k.others, e)
		}
	}
	if k.ring, err = seal.NewKeyring(k.current, k.others...); err != nil {
		return nil, err
	}
	return k, nil
}

// checkKeys refuses a database whose server keys this node's keyring
// cannot open, naming the key ids, before anything is written with the
// wrong key (a node started on a shared PostgreSQL database without the
// key the other nodes use).
func checkKeys(ctx context.Context, st *sqlstore.Store, cfg config.Config, k *keyring) error {
	kc, err := st.CheckKeys(ctx)
	if err != nil {
		return fmt.Errorf("check the master key against the database: %w", err)
	}
	if len(kc.Unopenable) == 0 {
		return nil
	}
	db := cfg.DatabaseRedacted()
	const fix = "give every node the same key with TWOSTEP_MASTER_KEY_FILE (or master_key_file)"
	var have string
	switch {
	case k.generated:
		have = "this node has none (its data directory has no master.key and none is configured)"
	case k.ring.Has(kc.Unopenable[0]):
		have = fmt.Sprintf("this node's key with id %s is a different key", kc.Unopenable[0])
	default:
		have = "this node has key id " + strings.Join(k.ring.IDs(), ", ")
	}
	return fmt.Errorf("the database %s was initialised with master key id %s; %s; %s. Nothing was written",
		db, strings.Join(kc.Unopenable, ", "), have, fix)
}

// commitKey writes a generated master key to the data directory, once
// the database has been checked (and initialised under it).
func commitKey(dir *datadir.Dir, k *keyring, log *slog.Logger) error {
	if !k.generated {
		return nil
	}
	if err := datadir.WriteFileAtomic(dir.File(datadir.MasterKeyFile), []byte(k.current.Encode()+"\n"), 0o600); err != nil {
		return err
	}
	k.generated = false
	log.Warn("generated a new master key; back it up, without it sealed secrets cannot be read",
		"path", dir.File(datadir.MasterKeyFile))
	return nil
}

// openChecked opens the store under the node's keys, checks them against
// the database, migrates it and checks again (another node may have
// initialised it meanwhile). A generated key is written once the first
// check passed, before anything is sealed under it; when the second check
// fails, it is removed again.
func openChecked(ctx context.Context, cfg config.Config, dir *datadir.Dir, log *slog.Logger) (_ *sqlstore.Store, _ *keyring, err error) {
	k, err := keys(cfg, dir)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg, k.ring, log)
	if err != nil {
		return nil, nil, err
	}
	wrote := false
	defer func() {
		if err != nil {
			st.Close()
			if wrote {
				os.Remove(dir.File(datadir.MasterKeyFile))
			}
		}
	}()
	if err := checkKeys(ctx, st, cfg, k); err != nil {
		return nil, nil, err
	}
	wrote = k.generated
	if err := commitKey(dir, k, log); err != nil {
		wrote = false
		return nil, nil, err
	}
	if err := migrate(ctx, st, log); err != nil {
		if kerr := checkKeys(ctx, st, cfg, k); kerr != nil {
			return nil, nil, kerr
		}
		return nil, nil, err
	}
	if err := checkKeys(ctx, st, cfg, k); err != nil {
		return nil, nil, err
	}
	return st, k, nil
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
	before, err := schemaVersion(e.ctx, cfg, log)
	if err != nil {
		return err
	}
	st, _, err := openChecked(e.ctx, cfg, dir, log)
	if err != nil {
		return err
	}
	defer st.Close()
	cur, _, err := st.SchemaVersion(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database %s: schema version %d (was %d)\n", cfg.DatabaseRedacted(), cur, before)
	return nil
}

// schemaVersion reads the schema version without opening any sealed value.
func schemaVersion(ctx context.Context, cfg config.Config, log *slog.Logger) (int, error) {
	k, err := seal.GenerateKey(rand.Reader, "schema-probe") // seals nothing: SchemaVersion reads no secret
	if err != nil {
		return 0, err
	}
	ring, err := seal.NewKeyring(k)
	if err != nil {
		return 0, err
	}
	st, err := openStore(ctx, cfg, ring, log)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	cur, _, err := st.SchemaVersion(ctx)
	return cur, err
}

// nextKeyFile holds the new master key while a rekey is in progress.
const nextKeyFile = datadir.MasterKeyFile + ".next"

type rekeyCmd struct {
	NewKeyFile string `name:"new-key-file" help:"File holding the new master key. Required when the keys are configured (TWOSTEP_MASTER_KEY[_FILE]): if the file is absent, a fresh key is written to it and nothing else happens, so that it can be given to every node first. Without it, the data directory's master.key is replaced and the old key kept as master.key.<id>." placeholder:"FILE"`
	Reseal     bool   `help:"Only re-seal, under the current key, every value still sealed under another key; make no new key."`
	Retire     string `help:"Drop a previous key once no value is sealed under it (with --reseal, re-seal first). Refused while values remain." placeholder:"OLD_ID"`
}

// serveRunning is the refusal of a rekey beside a running server.
func serveRunning(dir *datadir.Dir) error {
	return fmt.Errorf("%w (%s); stop it before running twostepd rekey here. With several nodes, use the rolling procedure in docs/operations.md (\"Rotating the master key\") instead",
		datadir.ErrServing, dir.Path)
}

// run rotates the master key. A serve process on the same data directory
// holds its shared lock: rekey refuses to run beside it (the server would
// keep sealing under a key rekey replaces). Several nodes sharing a
// database follow the rolling procedure instead: every node gets the new
// key as an additional key first, so no node ever meets a value it cannot
// open, and previous keys are kept until --retire.
func (c rekeyCmd) run(e *env) error {
	cfg, log, dir, unlock, err := e.prepare()
	if err != nil {
		return err
	}
	defer unlock()
	unlockServe, err := dir.LockExclusive()
	if errors.Is(err, datadir.ErrServing) {
		return serveRunning(dir)
	}
	if err != nil {
		return err
	}
	defer unlockServe()
	k, err := keys(cfg, dir)
	if err != nil {
		return err
	}
	if k.generated {
		return fmt.Errorf("no master key: the data directory %s has no %s and none is configured; nothing to rekey", dir.Path, datadir.MasterKeyFile)
	}
	switch {
	case c.Retire != "":
		if c.NewKeyFile != "" {
			return usageError{errors.New("--retire and --new-key-file do not go together: retire an old key after the new one is in use")}
		}
		return c.retire(e, cfg, dir, k, log)
	case c.Reseal:
		if c.NewKeyFile != "" {
			return usageError{errors.New("--reseal re-seals under the current key; give --new-key-file without it to change keys")}
		}
		st, err := c.open(e, cfg, k.ring, log)
		if err != nil {
			return err
		}
		defer st.Close()
		n, err := st.Reseal(e.ctx)
		if err != nil {
			return fmt.Errorf("reseal: nothing changed: %w", err)
		}
		fmt.Fprintf(e.stdout, "re-sealed %d values under the current key %s\n", n, k.current.ID)
		return nil
	}
	if k.configured && c.NewKeyFile == "" {
		return usageError{fmt.Errorf("the master key is configured (TWOSTEP_MASTER_KEY or master_key); give --new-key-file for the new one")}
	}
	target := c.NewKeyFile
	if target == "" {
		target = dir.File(nextKeyFile)
	}
	next, created, err := loadOrCreateKey(target, nextID(k.current.ID))
	if err != nil {
		return err
	}
	if k.configured && created {
		fmt.Fprintf(e.stdout, "wrote a new master key with id %s to %s. Nothing is re-sealed yet: add it to every node's master key file as an additional key (a line after the current one), restart them, then run this command again\n", next.ID, target)
		return nil
	}
	if next.ID == k.current.ID {
		return fmt.Errorf("the new key in %s has the same id %q as the current one; give it another id (\"<id>:<base64>\")", target, next.ID)
	}
	var open []seal.Key
	for _, o := range append([]seal.Key{k.current}, k.others...) {
		if o.ID != next.ID {
			open = append(open, o)
		}
	}
	ring, err := seal.NewKeyring(next, open...)
	if err != nil {
		return err
	}
	st, err := c.open(e, cfg, ring, log)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Reseal(e.ctx)
	if err != nil {
		return fmt.Errorf("rekey: nothing changed: %w", err)
	}
	if k.configured {
		fmt.Fprintf(e.stdout, "re-sealed %d values under key %s. Make it the first key in every node's master key file, keeping %s after it, and restart them; then run twostepd rekey --reseal --retire %s\n",
			n, next.ID, k.current.ID, k.current.ID)
		return nil
	}
	// Keep the old key for opening first, then make the new one current:
	// interrupted anywhere, the next start still opens everything.
	old := dir.File(datadir.OldKeyFile(k.current.ID))
	if err := datadir.WriteFileAtomic(old, []byte(k.current.Encode()+"\n"), 0o600); err != nil {
		return fmt.Errorf("rekey: %d values re-sealed under key %s, but keeping the old key failed (both keys are still in %s and %s): %w",
			n, next.ID, datadir.MasterKeyFile, target, err)
	}
	if err := os.Rename(target, dir.File(datadir.MasterKeyFile)); err != nil {
		return fmt.Errorf("rekey: %d values re-sealed under key %s, but replacing %s failed (the new key is in %s): %w",
			n, next.ID, datadir.MasterKeyFile, target, err)
	}
	fmt.Fprintf(e.stdout, "re-sealed %d values under key %s; %s now holds it. The previous key %s stays in %s for opening until twostepd rekey --retire %s\n",
		n, next.ID, dir.File(datadir.MasterKeyFile), k.current.ID, old, k.current.ID)
	return nil
}

// open opens the store for rekey under ring, checking that the ring opens
// the database's keys and that the schema is current.
func (c rekeyCmd) open(e *env, cfg config.Config, ring *seal.Keyring, log *slog.Logger) (*sqlstore.Store, error) {
	st, err := openStore(e.ctx, cfg, ring, log)
	if err != nil {
		return nil, err
	}
	if err := st.CheckSchema(e.ctx); err != nil {
		st.Close()
		return nil, err
	}
	kc, err := st.CheckKeys(e.ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(kc.Unopenable) > 0 {
		st.Close()
		return nil, fmt.Errorf("the database is sealed under master key id %s, which these keys (%s) do not open; nothing changed",
			strings.Join(kc.Unopenable, ", "), strings.Join(ring.IDs(), ", "))
	}
	return st, nil
}

// retire drops a previous key once nothing is sealed under it.
func (c rekeyCmd) retire(e *env, cfg config.Config, dir *datadir.Dir, k *keyring, log *slog.Logger) error {
	id := c.Retire
	if id == k.current.ID {
		return fmt.Errorf("key %s is the current key, which seals new values; make another key current first (twostepd rekey)", id)
	}
	st, err := c.open(e, cfg, k.ring, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if c.Reseal {
		n, err := st.Reseal(e.ctx)
		if err != nil {
			return fmt.Errorf("reseal: nothing changed: %w", err)
		}
		fmt.Fprintf(e.stdout, "re-sealed %d values under the current key %s\n", n, k.current.ID)
	}
	counts, err := st.SealedKeyIDs(e.ctx)
	if err != nil {
		return err
	}
	if n := counts[id]; n > 0 {
		return fmt.Errorf("key %s still seals %d values; nothing was removed. Once every node seals under %s, run twostepd rekey --reseal --retire %s",
			id, n, k.current.ID, id)
	}
	if k.configured {
		fmt.Fprintf(e.stdout, "no value is sealed under key %s any more: remove it from every node's master key file and restart them\n", id)
		return nil
	}
	path := dir.File(datadir.OldKeyFile(id))
	if err := os.Remove(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stdout, "no value is sealed under key %s and the data directory holds no such key\n", id)
		return nil
	} else if err != nil {
		return fmt.Errorf("retire key %s: %w", id, err)
	}
	fmt.Fprintf(e.stdout, "retired key %s: no value is sealed under it; removed %s\n", id, path)
	return nil
}

func loadOrCreateKey(path, id string) (k seal.Key, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := seal.ParseKey(string(b))
		if err != nil {
			return seal.Key{}, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !os.IsNotExist(err) {
		return seal.Key{}, false, fmt.Errorf("new master key: %w", err)
	}
	k, err = seal.GenerateKey(rand.Reader, id)
	if err != nil {
		return seal.Key{}, false, err
	}
	if err := datadir.WriteFileAtomic(path, []byte(k.Encode()+"\n"), 0o600); err != nil {
		return seal.Key{}, false, err
	}
	return k, true, nil
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
