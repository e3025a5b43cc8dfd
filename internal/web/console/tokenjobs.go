package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/tokenfile"
	"github.com/twostep-auth/twostep/internal/web"
)

// Token import jobs: an upload of more than directImportRows records is
// imported in the background, and its administrator is sent to a page
// showing "N of M rows" that follows the import (polled by
// /static/twostep.js; a "Check again" link without it) until the report
// is ready.
// A job lives in this node's memory only: its id is unguessable and bound
// to the administrator who started it (anyone else gets 404), each
// administrator has at most one (running, or finished: a new import
// replaces the last report), and a finished job's report is forgotten
// importJobTTL after it finished.
const (
	directImportRows = 200
	importJobTTL     = 30 * time.Minute
	importJobLimit   = time.Hour // a job still running after this is cancelled
	importRefresh    = 2         // seconds between the progress page's polls (/static/twostep.js)
)

// importJob is one background import. Its report holds no key material:
// the created tokens keep only their id, type and serial.
type importJob struct {
	id, admin   string
	done, total int
	finished    time.Time // zero while running
	created     []mfa.Token
	rejected    []tokenfile.RowError
	failed      error // what stopped the import early, if anything
}

// importJobs are the node's token import jobs.
type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

// prune forgets the jobs finished more than importJobTTL ago. Call with
// mu held.
func (j *importJobs) prune(now time.Time) {
	for id, job := range j.jobs {
		if !job.finished.IsZero() && now.Sub(job.finished) > importJobTTL {
			delete(j.jobs, id)
		}
	}
}

// ImportHook, when set, is called after each change of a background token
// import's progress (done of total rows; finished once the report is
// ready). Tests use it to look at a job at a moment of their choosing.
type ImportHook func(done, total int, finished bool)

// startImport starts a background import of records for the signed-in
// administrator and returns the job's id; parseRejected are the lines the
// file parser already refused.
func (p *Pages) startImport(c req, records []tokenfile.Record, parseRejected []tokenfile.RowError) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	// The lines the parser refused count as done: "N of M rows" is of
	// the file's rows.
	job := &importJob{id: hex.EncodeToString(b[:]), admin: c.Admin.ID, done: len(parseRejected), total: len(records) + len(parseRejected),
		rejected: parseRejected}
	p.imports.mu.Lock()
	p.imports.prune(p.now())
	for id, other := range p.imports.jobs {
		if other.admin != job.admin {
			continue
		}
		if other.finished.IsZero() {
			p.imports.mu.Unlock()
			return "", mfa.InvalidField("file", "An import you started is still running. Wait for it to finish, then import this file.")
		}
		delete(p.imports.jobs, id) // one report per administrator: the memory it holds is bounded
	}
	p.imports.jobs[job.id] = job
	p.imports.mu.Unlock()

	actor := c.Actor
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), importJobLimit)
		defer cancel()
		rep, err := p.admin.ImportTokens(ctx, actor, records, func(done, total int) {
			p.imports.mu.Lock()
			job.done = len(parseRejected) + done
			p.imports.mu.Unlock()
			if p.importHook != nil {
				p.importHook(done, total, false)
			}
		})
		created := make([]mfa.Token, len(rep.Created))
		for i, t := range rep.Created {
			created[i] = mfa.Token{ID: t.ID, Type: t.Type, Serial: t.Serial}
		}
		p.imports.mu.Lock()
		job.created, job.failed, job.finished = created, err, p.now()
		job.rejected = append(job.rejected, rep.Rejected...)
		slices.SortStableFunc(job.rejected, func(a, b tokenfile.RowError) int { return a.Line - b.Line })
		p.imports.mu.Unlock()
		if err != nil {
			p.log.Error("token import stopped", "admin", actor.ID, "done", job.done, "total", job.total, "err", err)
		}
		if p.importHook != nil {
			p.importHook(len(records), len(records), true)
		}
	}()
	return job.id, nil
}

// importProgressView is the progress page's model.
type importProgressView struct {
	Done, Total int
	Refresh     int
}

// importJob serves GET /console/tokens/import/{job}: the progress of a
// background import while it runs, then its report.
func (p *Pages) importJob(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.ImportTokens) {
		return mfa.E(mfa.Denied, "Your role may not import tokens.")
	}
	p.imports.mu.Lock()
	p.imports.prune(p.now())
	job, ok := p.imports.jobs[r.PathValue("job")]
	if !ok || job.admin != c.Admin.ID {
		p.imports.mu.Unlock()
		return mfa.NotFoundf("no such token import: its report is kept for %d minutes", int(importJobTTL.Minutes()))
	}
	j := *job
	j.created, j.rejected = slices.Clone(job.created), slices.Clone(job.rejected)
	p.imports.mu.Unlock()

	if j.finished.IsZero() {
		w.Header().Set("Cache-Control", "no-store")
		view := p.view(c, msgImportProgressTitle, "/console/tokens", importProgressView{Done: j.done, Total: j.total, Refresh: importRefresh})
		view.Script = true
		return p.tmpl.Render(w, r, http.StatusOK, "tokens_import.html", view)
	}
	v, err := p.tokensData(r, c)
	if err != nil {
		return err
	}
	v.Imported, v.Created, v.Rejected = true, j.created, j.rejected
	view := p.view(c, msgTokensTitle, "/console/tokens", v)
	if j.failed != nil {
		view.Alerts = []web.Alert{{Kind: web.AlertError, Text: fmt.Sprintf(msgImportStopped, j.done, j.total)}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "tokens.html", view)
}

// redirectToJob answers the import form with the job's page.
func redirectToJob(w http.ResponseWriter, r *http.Request, id string) error {
	return web.Redirect(w, r, "/console/tokens/import/"+id)
}
