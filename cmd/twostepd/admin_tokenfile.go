package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/twostep-auth/twostep/internal/tokenfile"
)

// tokenFormat picks the tokenfile format from --format and --type. "auto"
// is PSKC when the file starts with "<", CSV otherwise; CSV needs --type
// (as Duo's import dialog asks for it), since a seed column does not say
// whether it is HOTP or TOTP.
func tokenFormat(format, typ string, head []byte) (tokenfile.Format, tokenfile.Options, error) {
	var opts tokenfile.Options
	if format == "auto" {
		format = "csv"
		if t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"); len(t) > 0 && t[0] == '<' {
			format = "pskc"
		}
	}
	switch format {
	case "pskc":
		if typ != "" {
			return "", opts, usageError{fmt.Errorf("--type does not apply to PSKC files, which name each key's algorithm")}
		}
		return tokenfile.PSKC, opts, nil
	case "csv":
	default:
		f, err := tokenfile.ParseFormat(format)
		return f, opts, err
	}
	switch typ {
	case "h6", "h8":
		opts.Digits = int(typ[1] - '0')
		return tokenfile.HOTPCSV, opts, nil
	case "t6", "t8":
		opts.Digits = int(typ[1] - '0')
		return tokenfile.TOTPCSV, opts, nil
	case "yk":
		return tokenfile.YubiKeyCSV, opts, nil
	case "":
		return "", opts, usageError{fmt.Errorf("a CSV token file needs --type: h6 or h8 (HOTP), t6 or t8 (TOTP), or yk (YubiKey)")}
	}
	return "", opts, usageError{fmt.Errorf("--type %q: want h6, h8, t6, t8 or yk", typ)}
}

// parseTokenFile reads a token file into records to create and rows
// rejected while parsing.
func parseTokenFile(format, typ string, totpStep int, psk []byte, r io.Reader) ([]importRecord, []importReject, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(512)
	f, opts, err := tokenFormat(format, typ, head)
	if err != nil {
		return nil, nil, err
	}
	if f == tokenfile.TOTPCSV {
		opts.TOTPStep = totpStep
	}
	if len(psk) > 0 {
		if opts.PreSharedKey, err = hex.DecodeString(string(psk)); err != nil {
			return nil, nil, fmt.Errorf("pre-shared key: not hex")
		}
	}
	recs, rows, err := tokenfile.Parse(f, br, opts)
	if err != nil {
		return nil, nil, err
	}
	out := make([]importRecord, 0, len(recs))
	for _, rec := range recs {
		p := url.Values{"type": {rec.Type}, "serial": {rec.Serial}}
		switch rec.Type {
		case "h6", "h8":
			p.Set("secret", hex.EncodeToString(rec.Secret))
			p.Set("counter", strconv.FormatUint(rec.Counter, 10))
		case "t6", "t8":
			p.Set("secret", hex.EncodeToString(rec.Secret))
			if rec.TOTPStep != 0 {
				p.Set("totp_step", strconv.Itoa(rec.TOTPStep))
			}
		case "yk":
			p.Set("private_id", hex.EncodeToString(rec.PrivateID))
			p.Set("aes_key", hex.EncodeToString(rec.AESKey))
		}
		out = append(out, importRecord{Line: rec.Line, Serial: rec.Serial, Params: p})
	}
	rej := make([]importReject, 0, len(rows))
	for _, e := range rows {
		rej = append(rej, importReject{Line: e.Line, Serial: e.Key, Reason: e.Reason})
	}
	return out, rej, nil
}
