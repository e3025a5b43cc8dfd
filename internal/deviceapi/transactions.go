package deviceapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

type stepUpInfo struct {
	NumDigits int `json:"num_digits"`
}

type transaction struct {
	URGID          string      `json:"urgid"`
	TxID           string      `json:"txid"`
	Type           string      `json:"type"`
	Summary        string      `json:"summary"`
	Expiration     int64       `json:"expiration"`
	Attributes     [][2]string `json:"attributes"`
	Application    string      `json:"application"`
	Username       string      `json:"username"`
	IP             string      `json:"ip"`
	Hostname       string      `json:"hostname"`
	Time           int64       `json:"time"`
	PushInfo       [][2]string `json:"pushinfo"`
	RequireLock    bool        `json:"require_lock"`
	RequireTouchID bool        `json:"require_touch_id"`
	AKey           string      `json:"akey"`
	StepUp         *stepUpInfo `json:"step_up_code_info,omitempty"`
}

// maxSeen bounds the seen parameter.
const maxSeen = 100

type transactionsResponse struct {
	Transactions []transaction `json:"transactions"`
}

// transactions serves GET /push/v2/device/transactions[?wait=N].
func (h *Handler) transactions(w http.ResponseWriter, r *http.Request, d *device) error {
	var wait time.Duration
	if v := d.params.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > int(authflow.MaxDeviceWait/time.Second) {
			return duoproto.BadParam("wait: seconds from 0 to " + strconv.Itoa(int(authflow.MaxDeviceWait/time.Second)))
		}
		wait = time.Duration(n) * time.Second
	}
	var seen []string
	if v := d.params.Get("seen"); v != "" {
		seen = strings.Split(v, ",")
		if len(seen) > maxSeen {
			return duoproto.BadParam("seen: at most " + strconv.Itoa(maxSeen) + " transaction ids")
		}
	}
	reqs, err := h.flow.PendingRequests(r.Context(), d.install, wait, seen...)
	if err != nil {
		return err
	}
	out := transactionsResponse{Transactions: make([]transaction, 0, len(reqs))}
	for _, p := range reqs {
		out.Transactions = append(out.Transactions, view(p, d.install.PhoneID))
	}
	duoproto.WriteOK(w, out)
	return nil
}

// view turns a pending request into the app's transaction object.
func view(p authflow.PendingRequest, akey string) transaction {
	tx := p.Transaction
	app := p.Application
	if app == "" {
		app = "an application"
	}
	t := transaction{
		URGID: tx.ID, TxID: tx.ID, Type: tx.Type,
		Summary:     tx.Type + " to " + app + " for " + p.Username,
		Expiration:  unixTime(tx.Expires),
		Application: p.Application, Username: p.Username, IP: tx.IP, Hostname: tx.Hostname,
		Time: unixTime(tx.Created), AKey: akey, PushInfo: [][2]string{},
	}
	t.Attributes = [][2]string{{"Application", p.Application}, {"Username", p.Username}}
	if tx.IP != "" {
		t.Attributes = append(t.Attributes, [2]string{"IP Address", tx.IP})
	}
	if tx.Hostname != "" {
		t.Attributes = append(t.Attributes, [2]string{"Hostname", tx.Hostname})
	}
	t.Attributes = append(t.Attributes, [2]string{"Time", tx.Created.UTC().Format(time.RFC3339)})
	for _, kv := range pushInfo(tx.PushInfo) {
		t.PushInfo = append(t.PushInfo, kv)
		t.Attributes = append(t.Attributes, kv)
	}
	if tx.VerificationCode != "" {
		t.StepUp = &stepUpInfo{NumDigits: len(tx.VerificationCode)}
	}
	return t
}

// pushInfo splits "k=v&k=v" in order (url.ParseQuery would sort it).
func pushInfo(s string) [][2]string {
	var out [][2]string
	for part := range strings.SplitSeq(s, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || k == "" {
			continue
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

type answerResponse struct {
	Result string `json:"result"`
}

// answer serves POST /push/v2/device/transactions/{urgid}.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, d *device) error {
	urgid := r.PathValue("urgid")
	if hdr := r.Header.Get("txId"); hdr != "" && hdr != urgid {
		return duoproto.BadParam("txId header: does not match the transaction in the path")
	}
	var a authflow.Answer
	switch d.params.Get("answer") {
	case "approve":
		a.Approve = true
	case "deny":
	case "":
		return duoproto.BadParam("answer: required (approve or deny)")
	default:
		return duoproto.BadParam("answer: must be approve or deny")
	}
	switch f := d.params.Get("fraud"); f {
	case "", "false", "0":
	case "true", "1":
		if a.Approve {
			return duoproto.BadParam("fraud: only with answer=deny")
		}
		a.Fraud = true
	default:
		return duoproto.BadParam("fraud: must be true or false")
	}
	a.Code = d.params.Get("step_up_code")
	if err := h.flow.AnswerRequest(r.Context(), d.install, urgid, a); err != nil {
		return err
	}
	duoproto.WriteOK(w, answerResponse{Result: "SUCCESS"})
	return nil
}
