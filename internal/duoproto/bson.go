package duoproto

import (
	"errors"
	"net/http"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ContentTypeBSON is the media type of legacy /rest/v1/*.bson answers.
const ContentTypeBSON = "application/bson"

// The legacy Auth API v1 (duo_unix up to 1.11.x) reads its answers as BSON
// and checks element types exactly: stat and message must be strings,
// response an embedded document and code an int32 (type 0x10). A double or
// int64 code makes the client report "BSON missing valid 'code'".

// WriteOKBSON writes HTTP 200 with the BSON document
// {stat:"OK", response:response}. response must encode as a BSON document
// (a struct with bson tags, a bson.D or a map); if it cannot be encoded,
// WriteOKBSON writes the 500 failure instead.
func WriteOKBSON(w http.ResponseWriter, response any) {
	body, err := bson.Marshal(bson.D{{Key: "stat", Value: "OK"}, {Key: "response", Value: response}})
	if err != nil {
		WriteErrorBSON(w, Internal())
		return
	}
	writeBSON(w, http.StatusOK, body)
}

// WriteErrorBSON is [WriteError] for legacy clients: the same status,
// Retry-After and fields, as the BSON document
// {stat:"FAIL", code:<int32>, message:"...", [message_detail:"..."]}.
func WriteErrorBSON(w http.ResponseWriter, err error) {
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
	doc := bson.D{
		{Key: "stat", Value: "FAIL"},
		{Key: "code", Value: int32(e.Code)},
		{Key: "message", Value: e.Message},
	}
	if e.Detail != "" {
		doc = append(doc, bson.E{Key: "message_detail", Value: e.Detail})
	}
	body, merr := bson.Marshal(doc)
	if merr != nil { // strings with NUL bytes cannot be BSON keys, but values can: unreachable
		status, body = http.StatusInternalServerError, internalBSON()
	}
	writeBSON(w, status, body)
}

// internalBSON is the 500 failure, built without the encoder.
func internalBSON() []byte {
	var b []byte
	b = appendString(b, "stat", "FAIL")
	b = append(b, 0x10)
	b = append(b, "code"...)
	b = append(b, 0, 0x50, 0xc3, 0, 0) // 50000, little-endian int32
	b = appendString(b, "message", "Internal server error")
	n := len(b) + 5
	out := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	out = append(out, b...)
	return append(out, 0)
}

func appendString(b []byte, key, val string) []byte {
	b = append(b, 0x02)
	b = append(b, key...)
	b = append(b, 0)
	n := len(val) + 1
	b = append(b, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	b = append(b, val...)
	return append(b, 0)
}

func writeBSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ContentTypeBSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
