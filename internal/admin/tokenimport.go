package admin

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/tokenfile"
)

// ImportReport is what ImportTokens did: the tokens it created (without
// key material) and the records it rejected, each with its reason.
type ImportReport struct {
	Created  []mfa.Token
	Rejected []tokenfile.RowError
}

// NewTokenFromRecord turns a parsed token-file record into a create
// request, exactly as the Admin API would receive it (hex key material).
func NewTokenFromRecord(r tokenfile.Record) NewToken {
	nt := NewToken{Type: mfa.TokenType(r.Type), Serial: r.Serial}
	switch mfa.TokenType(r.Type) {
	case mfa.TokenYK:
		nt.PrivateID, nt.AESKey = hex.EncodeToString(r.PrivateID), hex.EncodeToString(r.AESKey)
	case mfa.TokenH6, mfa.TokenH8:
		c := r.Counter
		nt.Secret, nt.Counter = hex.EncodeToString(r.Secret), &c
	default:
		step := r.TOTPStep
		nt.Secret = hex.EncodeToString(r.Secret)
		if step != 0 {
			nt.TOTPStep = &step
		}
	}
	return nt
}

// ImportTokens creates a token for each record, validated like a create
// through the Admin API. A record that fails (bad value, serial already
// taken, also by an earlier record) is rejected with its reason and never
// stops the others. progress, if not nil, is called after each record.
// Only an authorization failure, a cancelled context or an internal error
// stops the import; the report then holds what was done so far.
func (s *Service) ImportTokens(ctx context.Context, a Actor, records []tokenfile.Record, progress func(done, total int)) (ImportReport, error) {
	var rep ImportReport
	if err := s.authorize(ctx, a, ImportTokens); err != nil {
		return rep, err
	}
	for i, r := range records {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		t, err := s.createToken(ctx, a, NewTokenFromRecord(r), "token_import")
		var me *mfa.Error
		switch {
		case err == nil:
			rep.Created = append(rep.Created, t)
		case errors.As(err, &me) && (me.Kind == mfa.Invalid || me.Kind == mfa.Conflict):
			reason := me.Msg
			if me.Field != "" {
				reason = me.Field + ": " + reason
			}
			key := r.Serial
			if key == "" {
				key = r.KeyID
			}
			rep.Rejected = append(rep.Rejected, tokenfile.RowError{Line: r.Line, Key: key, Reason: reason})
		default:
			return rep, err
		}
		if progress != nil {
			progress(i+1, len(records))
		}
	}
	return rep, nil
}
