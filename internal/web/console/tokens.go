package console

import (
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/tokenfile"
	"github.com/twostep-auth/twostep/internal/web"
)

// maxUpload bounds a token file upload (the form around it included).
const maxUpload = 4 << 20

// tokenTypes are the import form's choices: Duo's CSV token types, and
// PSKC, whose file names each key's algorithm.
var tokenTypes = []struct{ Value, Label string }{
	{"h6", "HOTP, 6 digits (CSV)"}, {"h8", "HOTP, 8 digits (CSV)"}, {"t6", "TOTP, 6 digits (CSV)"},
	{"t8", "TOTP, 8 digits (CSV)"}, {"yk", "YubiKey OTP (CSV)"}, {"pskc", "PSKC (XML)"},
}

// tokensView is the hardware tokens page's model, with the report of an
// import.
type tokensView struct {
	Tokens    []admin.TokenInfo
	Total     int
	Types     []struct{ Value, Label string }
	Type      string
	CanImport bool
	Imported  bool
	Created   []mfa.Token
	Rejected  []tokenfile.RowError
}

// tokens serves GET /console/tokens: the tokens and the import form.
func (p *Pages) tokens(w http.ResponseWriter, r *http.Request, c req) error {
	v, err := p.tokensData(r, c)
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "tokens.html", p.view(c, msgTokensTitle, "/console/tokens", v))
}

func (p *Pages) tokensData(r *http.Request, c req) (tokensView, error) {
	list, total, err := p.admin.ListTokens(r.Context(), c.Actor, mfa.TokenFilter{Page: mfa.Page{Limit: 200}})
	if err != nil {
		return tokensView{}, err
	}
	return tokensView{Tokens: list, Total: total, Types: tokenTypes, Type: "h6", CanImport: p.may(r, c, admin.ImportTokens)}, nil
}

// importTokens serves POST /console/tokens/import: a CSV or PSKC file by
// upload; the answer reports what was created and every rejected line
// with its reason (never key material).
func (p *Pages) importTokens(w http.ResponseWriter, r *http.Request, c req) error {
	v, err := p.tokensData(r, c)
	if err != nil {
		return err
	}
	v.Type = r.PostFormValue("type")
	web.Form(r, p.tmpl, "tokens.html", p.view(c, msgTokensTitle, "/console/tokens", v))
	if !p.may(r, c, admin.ImportTokens) {
		return mfa.E(mfa.Denied, "Your role may not import tokens.")
	}
	if !slices.ContainsFunc(tokenTypes, func(t struct{ Value, Label string }) bool { return t.Value == v.Type }) {
		return mfa.InvalidField("type", "Choose the kind of token file.")
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		return mfa.InvalidField("file", "Choose a token file to upload.")
	}
	defer file.Close()
	var f tokenfile.Format
	var opts tokenfile.Options
	switch v.Type {
	case "h6", "h8":
		f, opts.Digits = tokenfile.HOTPCSV, int(v.Type[1]-'0')
	case "t6", "t8":
		f, opts.Digits = tokenfile.TOTPCSV, int(v.Type[1]-'0')
	case "yk":
		f = tokenfile.YubiKeyCSV
	default:
		f = tokenfile.PSKC
		if psk := strings.TrimSpace(r.PostFormValue("psk")); psk != "" {
			if opts.PreSharedKey, err = hex.DecodeString(psk); err != nil {
				return mfa.InvalidField("psk", "Enter the pre-shared key in hexadecimal, or leave it empty.")
			}
		}
	}
	records, rejected, err := tokenfile.Parse(f, file, opts)
	if err != nil {
		return mfa.Wrap(mfa.Invalid, "The file cannot be read as that kind of token file.", err)
	}
	if len(records) > directImportRows {
		id, err := p.startImport(c, records, rejected)
		if err != nil {
			return err
		}
		return redirectToJob(w, r, id)
	}
	rep, err := p.admin.ImportTokens(r.Context(), c.Actor, records, nil)
	if err != nil {
		return err
	}
	if v, err = p.tokensData(r, c); err != nil {
		return err
	}
	v.Imported, v.Created = true, rep.Created
	v.Rejected = append(rejected, rep.Rejected...)
	slices.SortStableFunc(v.Rejected, func(a, b tokenfile.RowError) int { return a.Line - b.Line })
	return p.tmpl.Render(w, r, http.StatusOK, "tokens.html", p.view(c, msgTokensTitle, "/console/tokens", v))
}
