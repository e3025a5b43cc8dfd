package duoproto

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// okEnvelope is the success body. Field order is the wire order.
type okEnvelope struct {
	Stat     string `json:"stat"`
	Response any    `json:"response"`
}

type okMetaEnvelope struct {
	Stat     string `json:"stat"`
	Response any    `json:"response"`
	Metadata any    `json:"metadata"`
}

type failEnvelope struct {
	Stat          string `json:"stat"`
	Code          int    `json:"code"`
	Message       string `json:"message"`
	MessageDetail string `json:"message_detail,omitempty"`
}

// WriteOK writes HTTP 200 with {"stat":"OK","response":response}. If
// response cannot be encoded as JSON it writes the 500 failure instead.
func WriteOK(w http.ResponseWriter, response any) {
	writeJSON(w, http.StatusOK, okEnvelope{Stat: "OK", Response: response})
}

// WriteOKMeta writes HTTP 200 with
// {"stat":"OK","response":response,"metadata":metadata}, the form Duo's
// paged Admin API responses take.
func WriteOKMeta(w http.ResponseWriter, response, metadata any) {
	writeJSON(w, http.StatusOK, okMetaEnvelope{Stat: "OK", Response: response, Metadata: metadata})
}

// WriteError writes err as a Duo failure body with its HTTP status:
// {"stat":"FAIL","code":N,"message":"...","message_detail":"..."}, without
// message_detail when it is empty. An err that is not an *Error (checked
// with errors.As) becomes 500/50000 with the generic message: its text never
// reaches the client, so log it before calling WriteError. A 429 carries a
// Retry-After header (whole seconds, at least 1).
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) || e == nil {
		e = Internal()
	}
	status, ok := e.httpStatus()
	if !ok {
		e = Internal()
		status = http.StatusInternalServerError
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(e.RetryAfter), 10))
	}
	writeJSON(w, status, failEnvelope{Stat: "FAIL", Code: e.Code, Message: e.Message, MessageDetail: e.Detail})
}

func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// internalBody is the failure body for a response that could not be
// encoded; it is a constant so that writing it cannot fail.
const internalBody = `{"stat":"FAIL","code":50000,"message":"Internal server error"}`

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(internalBody)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
