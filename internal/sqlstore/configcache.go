package sqlstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// The configuration cache. Every signed request reads its integration, and
// every authentication reads the settings; both change rarely, so the
// store keeps what it read in memory instead of reading and unsealing them
// again for each request.
//
// Correctness does not depend on the cache being present: it only ever
// answers with what the database held no longer ago than the last change
// it has heard of.
//   - A write here (UpdateIntegration, DeleteIntegration, PutSettings,
//     Reseal) empties this process's cache after it commits, and on
//     PostgreSQL sends topicConfig with pg_notify inside its transaction.
//   - Other nodes hear topicConfig through their event listener
//     (events.go) and empty their caches: a change reaches every node
//     within the LISTEN/NOTIFY delivery time (milliseconds).
//   - While the listener is not listening (not started yet, reconnecting),
//     notifications can be missed, so the cache is bypassed and emptied;
//     it fills again once the listener listens.
//   - A value read while a change was heard is not kept (generations), so
//     a slow read cannot put back what a change just removed.
//   - Entries are dropped after configCacheMaxAge whatever happens, which
//     bounds staleness if a database is written by a process that does not
//     notify (a second twostepd on one SQLite file, which is not
//     supported, or hand-written SQL).
//
// Only integrations that exist are cached: an unknown ikey is read from
// the database each time, so a flood of made-up ikeys cannot fill memory.
const (
	topicConfig          = "config"
	configCacheMaxAge    = 10 * time.Second
	configCacheMaxEntrys = 4096 // integrations; past this the map is emptied
)

type configCache struct {
	mu           sync.Mutex
	gen          uint64 // incremented by every invalidation
	integrations map[string]cachedIntegration
	settings     *cachedSettings
	epoch        uint64 // the hub's configEpoch when last synced
	hub          *hub
	now          func() time.Time
}

type cachedIntegration struct {
	in mfa.Integration
	at time.Time
}

type cachedSettings struct {
	st mfa.Settings
	at time.Time
}

func newConfigCache(h *hub, now func() time.Time) *configCache {
	_, epoch := h.config()
	return &configCache{integrations: map[string]cachedIntegration{}, epoch: epoch, hub: h, now: now}
}

// sync must be called with c.mu held: it empties the cache if a change was
// heard or the event source is not live, and reports whether the cache may
// be used.
func (c *configCache) sync() bool {
	live, epoch := c.hub.config()
	if epoch != c.epoch {
		c.epoch = epoch
		c.clearLocked()
	}
	if !live {
		c.clearLocked()
		return false
	}
	return true
}

func (c *configCache) clearLocked() {
	c.gen++
	clear(c.integrations)
	c.settings = nil
}

// invalidate empties the cache (after a local write commits).
func (c *configCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

// integration returns the cached integration and true, or the generation
// to pass to putIntegration after reading it from the database.
func (c *configCache) integration(ikey string) (mfa.Integration, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sync() {
		return mfa.Integration{}, c.gen, false
	}
	e, ok := c.integrations[ikey]
	if !ok || c.now().Sub(e.at) >= configCacheMaxAge {
		delete(c.integrations, ikey)
		return mfa.Integration{}, c.gen, false
	}
	return cloneIntegration(e.in), c.gen, true
}

// putIntegration keeps in, read from the database at generation gen,
// unless the cache was invalidated since.
func (c *configCache) putIntegration(gen uint64, in mfa.Integration, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sync() || c.gen != gen {
		return
	}
	if len(c.integrations) >= configCacheMaxEntrys {
		clear(c.integrations)
	}
	c.integrations[in.IKey] = cachedIntegration{in: cloneIntegration(in), at: at}
}

func (c *configCache) getSettings() (mfa.Settings, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sync() || c.settings == nil || c.now().Sub(c.settings.at) >= configCacheMaxAge {
		return mfa.Settings{}, c.gen, false
	}
	return c.settings.st, c.gen, true
}

func (c *configCache) putSettings(gen uint64, st mfa.Settings, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sync() || c.gen != gen {
		return
	}
	c.settings = &cachedSettings{st: st, at: at}
}

// cloneIntegration copies the fields callers could modify in place.
func cloneIntegration(in mfa.Integration) mfa.Integration {
	in.SKey = append(mfa.Secret(nil), in.SKey...)
	in.RedirectURIs = slices.Clone(in.RedirectURIs)
	in.GroupsAllowed = slices.Clone(in.GroupsAllowed)
	return in
}

// configChanged, called inside a write transaction that changes an
// integration or the settings, tells the other nodes (PostgreSQL) when it
// commits. The caller calls configCommitted after the commit.
func (s *Store) configChanged(ctx context.Context, c dbtx) error {
	return s.notify(ctx, c, topicConfig)
}

// configCommitted empties this process's configuration cache after a
// committed change (or one that may have committed: a failed commit can
// have happened); inside an Atomic transaction, once it ends.
func (s *Store) configCommitted(ctx context.Context) {
	s.afterCommit(ctx, s.cfg.invalidate)
}

// startListener makes sure the PostgreSQL event listener runs, so that the
// configuration cache can be used once it listens. It does not wait.
func (s *Store) startListener() {
	if s.ln != nil {
		s.ln.start()
	}
}
