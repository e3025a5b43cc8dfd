package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/adminclient"
)

// The phases of a Bench.
const (
	PhaseCheck    = "check"    // signed GET /auth/v2/check: TLS, signature, no database
	PhasePreauth  = "preauth"  // POST /auth/v2/preauth
	PhasePasscode = "passcode" // POST /auth/v2/auth factor=passcode, every one allowed
)

// Phases lists the phases in the order a Bench runs them by default.
var Phases = []string{PhaseCheck, PhasePasscode, PhasePreauth}

// Bench puts one twostepd under a bounded Auth API load from a fixed
// number of clients, phase after phase, and measures each phase.
//
// Each phase is either Requests requests in all, or as many as the
// clients make in Duration. Without Rate the clients send back to back
// (closed loop: the maximum throughput). With Rate they follow a fixed
// schedule of Rate requests a second in all (open loop), and a request's
// latency counts from when the schedule meant to send it, so a server
// that falls behind shows it in the latencies.
//
// The passcode phase logs in HOTP users that Setup creates through the
// Admin API (PasscodesPerUser codes each, below the per-user attempt
// limit; every user its own client address): client w owns users w,
// w+Clients, ... and sends each user's codes in counter order. It ends
// early, saying so, when the codes run out. The preauth phase preauths
// the same users, or, with Generated > 0, users picked at random among
// those `twostepd gen-users` wrote (GenPrefix + 7 digits).
type Bench struct {
	Auth     *authapi.AuthApi    // the Auth API client (see DuoClient)
	AuthTr   *DuoTransport       // its transport
	Admin    *adminclient.Client // for Setup; nil when no passcode or preauth phase needs users
	Clients  int
	Requests int           // per phase; 0: Duration
	Duration time.Duration // per phase, when Requests is 0
	Rate     float64       // requests a second over all clients; 0: closed loop
	Users    int           // HOTP users Setup creates (0: enough for Requests, else 1024)
	Prefix   string        // their name prefix (default bench-<random>)

	Generated int    // preauth users among gen-users' (0: the HOTP users)
	GenPrefix string // gen-users' prefix

	// RSS, if set, samples the server's resident memory during each phase.
	RSS func() (int64, error)

	users []HOTPUser
}

// Result is one phase's outcome.
type Result struct {
	Phase     string
	Requests  int // sent
	OK        int
	Errors    map[string]int // by kind
	FirstErr  string
	Elapsed   time.Duration
	Latencies Latencies
	Note      string // why the phase ended early, if it did
	RSSMax    int64  // bytes; 0 when not sampled
	RSSEnd    int64
}

// PerSecond is the phase's throughput, successes and failures alike.
func (r Result) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Failed is the number of requests that did not succeed.
func (r Result) Failed() int { return r.Requests - r.OK }

// DefaultBenchUsers is how many HOTP users a duration-bounded Bench makes.
const DefaultBenchUsers = 1024

// Check reports the first invalid setting.
func (b *Bench) Check() error {
	switch {
	case b.Clients < 1 || b.Clients > 1024:
		return fmt.Errorf("--clients %d: want 1 to 1024", b.Clients)
	case b.Requests < 0 || b.Requests > 10_000_000:
		return fmt.Errorf("--requests %d: want 0 to 10000000", b.Requests)
	case b.Requests == 0 && (b.Duration <= 0 || b.Duration > time.Hour):
		return fmt.Errorf("--duration %v: want more than 0 and at most 1h (or give --requests)", b.Duration)
	case b.Rate < 0 || math.IsNaN(b.Rate) || math.IsInf(b.Rate, 0) || b.Rate > 1e6:
		return fmt.Errorf("--rate %v: want 0 (closed loop) to 1000000", b.Rate)
	case b.Users < 0 || b.Users > 100_000:
		return fmt.Errorf("--users %d: want 0 to 100000", b.Users)
	case b.Generated < 0 || b.Generated > MaxGenUsers:
		return fmt.Errorf("--generated %d: want 0 to %d", b.Generated, MaxGenUsers)
	}
	return nil
}

// ParsePhases parses a comma-separated list of phases.
func ParsePhases(s string) ([]string, error) {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(Phases, p) {
			return nil, fmt.Errorf("unknown phase %q: want a comma-separated list of %s", p, strings.Join(Phases, ", "))
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("phase %q given twice", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// NeedsUsers reports whether phases need Setup's users.
func (b *Bench) NeedsUsers(phases []string) bool {
	return slices.Contains(phases, PhasePasscode) || (slices.Contains(phases, PhasePreauth) && b.Generated == 0)
}

// Setup creates the HOTP users, conc requests at a time.
func (b *Bench) Setup(ctx context.Context, conc int) error {
	n := b.Users
	if n == 0 {
		n = DefaultBenchUsers
		if b.Requests > 0 {
			// Enough for every client's share of the requests.
			perClient := (b.Requests + b.Clients - 1) / b.Clients
			n = b.Clients * ((perClient + PasscodesPerUser - 1) / PasscodesPerUser)
		}
	}
	n = max(n, 1)
	if b.Prefix == "" {
		r := make([]byte, 4)
		rand.Read(r)
		b.Prefix = "bench-" + hex.EncodeToString(r)
	}
	if b.Admin == nil {
		return errors.New("creating the load users needs the Admin API")
	}
	users, err := SetupHOTPUsers(ctx, b.Admin, b.Prefix, n, conc)
	if err != nil {
		return err
	}
	b.users = users
	return nil
}

// LoadUsers returns Setup's users.
func (b *Bench) LoadUsers() []HOTPUser { return b.users }

// job is one request of a phase: client w's j-th. It returns "" on
// success, else the error's kind and a description. done means client w
// has nothing more to send.
type job func(w, j int) (kind, desc string, done bool)

// Run runs one phase.
func (b *Bench) Run(ctx context.Context, phase string) (Result, error) {
	var fn job
	note := ""
	switch phase {
	case PhaseCheck:
		fn = func(int, int) (string, string, bool) {
			r, err := b.Auth.Check()
			if k, d := classify(err); k != "" {
				return k, d, false
			}
			if r.Stat != "OK" {
				return "fail", fmt.Sprintf("check: %s %q", r.Stat, deref(r.Message)), false
			}
			return "", "", false
		}
	case PhasePasscode:
		if len(b.users) == 0 {
			return Result{}, errors.New("the passcode phase needs Setup's users")
		}
		k := b.Clients
		users := b.users
		fn = func(w, j int) (string, string, bool) {
			own := (len(users) - w + k - 1) / k // users w, w+k, ...
			if own == 0 || j >= own*PasscodesPerUser {
				return "", "", true
			}
			u := users[w+(j%own)*k]
			c := j / own
			r, err := b.Auth.Auth("passcode", authapi.AuthUsername(u.Name), authapi.AuthPasscode(u.Codes[c]), authapi.AuthIpAddr(u.IP))
			if k, d := classify(err); k != "" {
				return k, d, false
			}
			if r.Stat != "OK" {
				return "fail", fmt.Sprintf("%s code %d: %s %q", u.Name, c, r.Stat, deref(r.Message)), false
			}
			if r.Response.Result != "allow" {
				return "deny", fmt.Sprintf("%s code %d: %s %q", u.Name, c, r.Response.Result, r.Response.Status_Msg), false
			}
			return "", "", false
		}
		note = fmt.Sprintf("stopped early: the %d users' %d codes each ran out (give more --users)", len(users), PasscodesPerUser)
	case PhasePreauth:
		var pick func(w, j int) (string, string)
		if b.Generated > 0 {
			rngs := make([]*mrand.Rand, b.Clients)
			for w := range rngs {
				rngs[w] = mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			}
			pick = func(w, _ int) (string, string) {
				i := rngs[w].IntN(b.Generated)
				return fmt.Sprintf("%s%07d", b.GenPrefix, i), IP(i)
			}
		} else {
			if len(b.users) == 0 {
				return Result{}, errors.New("the preauth phase needs Setup's users or --generated")
			}
			pick = func(w, j int) (string, string) {
				u := b.users[(w+j*b.Clients)%len(b.users)]
				return u.Name, u.IP
			}
		}
		fn = func(w, j int) (string, string, bool) {
			name, ip := pick(w, j)
			r, err := b.Auth.Preauth(authapi.PreauthUsername(name), authapi.PreauthIpAddr(ip))
			if k, d := classify(err); k != "" {
				return k, d, false
			}
			if r.Stat != "OK" {
				return "fail", fmt.Sprintf("preauth %s: %s %q", name, r.Stat, deref(r.Message)), false
			}
			if r.Response.Result != "auth" {
				return "not-auth", fmt.Sprintf("preauth %s: %s %q", name, r.Response.Result, r.Response.Status_Msg), false
			}
			return "", "", false
		}
	default:
		return Result{}, fmt.Errorf("unknown phase %q", phase)
	}
	return b.run(ctx, phase, fn, note)
}

// run drives fn from b.Clients clients until the phase's bound.
func (b *Bench) run(ctx context.Context, phase string, fn job, note string) (Result, error) {
	res := Result{Phase: phase, Errors: map[string]int{}}
	k := b.Clients
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stop <-chan time.Time
	if b.Requests == 0 {
		t := time.NewTimer(b.Duration)
		defer t.Stop()
		stop = t.C
	}
	// Bound every request by the phase (and a little past its end).
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	context.AfterFunc(ctx, pcancel)
	if b.AuthTr != nil {
		b.AuthTr.SetPhase(pctx)
	}

	// Sample the server's memory.
	var rssWG sync.WaitGroup
	rssDone := make(chan struct{})
	if b.RSS != nil {
		rssWG.Go(func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				if v, err := b.RSS(); err == nil {
					res.RSSMax = max(res.RSSMax, v)
					res.RSSEnd = v
				}
				select {
				case <-rssDone:
					return
				case <-tick.C:
				}
			}
		})
	}

	var mu sync.Mutex
	perClient := make([]Latencies, k)
	sent := make([]int, k)
	ok := make([]int, k)
	ranOut := make([]bool, k)
	errs := make([]map[string]int, k)
	var first string
	var ended sync.Once
	endCh := make(chan struct{})
	end := func() { ended.Do(func() { close(endCh) }) }
	go func() {
		select {
		case <-stop:
			end()
		case <-ctx.Done():
			end()
		case <-endCh:
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range k {
		errs[w] = map[string]int{}
		n := -1 // unbounded: until the duration ends
		if b.Requests > 0 {
			n = b.Requests / k
			if w < b.Requests%k {
				n++
			}
		}
		wg.Go(func() {
			var interval time.Duration
			var offset time.Duration
			if b.Rate > 0 {
				interval = time.Duration(float64(k) / b.Rate * float64(time.Second))
				offset = time.Duration(float64(w) / b.Rate * float64(time.Second))
			}
			for j := 0; n < 0 || j < n; j++ {
				t0 := time.Now()
				if b.Rate > 0 {
					t0 = start.Add(offset + time.Duration(j)*interval)
					if d := time.Until(t0); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-endCh:
							t.Stop()
							return
						case <-t.C:
						}
					}
				}
				select {
				case <-endCh:
					return
				default:
				}
				kind, desc, done := fn(w, j)
				if done {
					ranOut[w] = true
					return
				}
				perClient[w] = append(perClient[w], time.Since(t0))
				sent[w]++
				if kind == "" {
					ok[w]++
					continue
				}
				errs[w][kind]++
				mu.Lock()
				if first == "" {
					first = desc
				}
				mu.Unlock()
				if ctx.Err() != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	end()
	close(rssDone)
	rssWG.Wait()
	for w := range k {
		res.Latencies = append(res.Latencies, perClient[w]...)
		res.Requests += sent[w]
		res.OK += ok[w]
		for kind, n := range errs[w] {
			res.Errors[kind] += n
		}
	}
	res.FirstErr = first
	if slices.Contains(ranOut, true) {
		res.Note = note
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

// classify names a request error's kind: "" for none.
func classify(err error) (kind, desc string) {
	switch {
	case err == nil:
		return "", ""
	case errors.Is(err, ErrRateLimited):
		return "http-429", err.Error()
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "Timeout"):
		return "timeout", err.Error()
	default:
		return "transport", err.Error()
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Report writes the results as a table, then each phase's errors and
// notes.
func Report(w io.Writer, results []Result) {
	var checkRate float64
	for _, r := range results {
		if r.Phase == PhaseCheck && r.Elapsed > 0 {
			checkRate = r.PerSecond()
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\trequests\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tvs check\tserver RSS max/end MB\t")
	for _, r := range results {
		ratio := "-"
		if checkRate > 0 && r.Phase != PhaseCheck {
			ratio = fmt.Sprintf("%.2f", r.PerSecond()/checkRate)
		}
		rss := "-"
		if r.RSSMax > 0 {
			rss = fmt.Sprintf("%.1f / %.1f", float64(r.RSSMax)/(1<<20), float64(r.RSSEnd)/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t\n", r.Phase, r.Requests, r.Failed(), r.PerSecond(),
			r.Latencies.Pct(.5), r.Latencies.Pct(.9), r.Latencies.Pct(.99), r.Latencies.Pct(1), ratio, rss)
	}
	tw.Flush()
	for _, r := range results {
		if r.Failed() > 0 {
			kinds := make([]string, 0, len(r.Errors))
			for k := range r.Errors {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			var parts []string
			for _, k := range kinds {
				parts = append(parts, fmt.Sprintf("%s %d", k, r.Errors[k]))
			}
			fmt.Fprintf(w, "%s errors: %s; first: %s\n", r.Phase, strings.Join(parts, ", "), r.FirstErr)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Phase, r.Note)
		}
	}
}
