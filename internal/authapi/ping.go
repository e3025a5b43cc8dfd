package authapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

type timeResponse struct {
	Time int64 `json:"time"`
}

// ping is unsigned: duo_unix 2.1+ calls it to learn the server's clock and
// offsets its own signed dates by the difference.
func (h *Handler) ping(w http.ResponseWriter, r *http.Request) error {
	duoproto.WriteOK(w, timeResponse{Time: h.now().Unix()})
	return nil
}

// check proves a key pair: it answers only a correctly signed request.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	duoproto.WriteOK(w, timeResponse{Time: h.now().Unix()})
	return nil
}
