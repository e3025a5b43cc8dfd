package tokenfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/otp"
)

// PSKC (RFC 6030). Elements are matched by local name, so files with the
// pskc namespace bound to a prefix, or with none, read the same.

type pskcEncrypted struct {
	Method struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"EncryptionMethod"`
	CipherValue string `xml:"CipherData>CipherValue"`
}

// pskcValue is a PSKC data element: a plain value, or an encrypted one.
type pskcValue struct {
	Plain     *string        `xml:"PlainValue"`
	Encrypted *pskcEncrypted `xml:"EncryptedValue"`
	ValueMAC  string         `xml:"ValueMAC"`
}

func (v *pskcValue) present() bool { return v != nil && (v.Plain != nil || v.Encrypted != nil) }

type pskcKey struct {
	ID        string `xml:"Id,attr"`
	Algorithm string `xml:"Algorithm,attr"`
	Response  *struct {
		Length   string `xml:"Length,attr"`
		Encoding string `xml:"Encoding,attr"`
	} `xml:"AlgorithmParameters>ResponseFormat"`
	Secret       *pskcValue `xml:"Data>Secret"`
	Counter      *pskcValue `xml:"Data>Counter"`
	TimeInterval *pskcValue `xml:"Data>TimeInterval"`
}

type pskcPackage struct {
	SerialNo string    `xml:"DeviceInfo>SerialNo"`
	Keys     []pskcKey `xml:"Key"`
}

type pskcMACMethod struct {
	Algorithm string         `xml:"Algorithm,attr"`
	MACKey    *pskcEncrypted `xml:"MACKey"`
}

// pskcContext is what the container says about every key package.
type pskcContext struct {
	psk      []byte
	mac      *pskcMACMethod
	macKey   []byte
	macKeyOK bool
	macErr   string
}

const (
	algAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	algAES192CBC = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	algAES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	algHMACSHA1  = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	algHMACSHA2  = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
)

func parsePSKC(data []byte, opts Options) ([]Record, []RowError, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	ctx := &pskcContext{psk: opts.PreSharedKey}
	var recs []Record
	var bad []RowError
	sawContainer := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("tokenfile: PSKC: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		line, _ := d.InputPos()
		switch se.Name.Local {
		case "KeyContainer":
			sawContainer = true
			for _, a := range se.Attr {
				if a.Name.Local == "Version" && a.Value != "1.0" && a.Value != "1" {
					return nil, nil, fmt.Errorf("tokenfile: PSKC: unsupported version %q", a.Value)
				}
			}
		case "MACMethod":
			var m pskcMACMethod
			if err := d.DecodeElement(&m, &se); err != nil {
				return nil, nil, fmt.Errorf("tokenfile: PSKC: line %d: %w", line, err)
			}
			ctx.mac = &m
		case "KeyPackage", "Device":
			var p pskcPackage
			if err := d.DecodeElement(&p, &se); err != nil {
				return nil, nil, fmt.Errorf("tokenfile: PSKC: line %d: %w", line, err)
			}
			if len(p.Keys) == 0 {
				bad = append(bad, RowError{Line: line, Key: keyLabel(p.SerialNo, ""), Reason: "key package without a Key"})
			}
			for _, k := range p.Keys {
				rec, err := ctx.record(p, k)
				if err != nil {
					bad = append(bad, RowError{Line: line, Key: keyLabel(p.SerialNo, k.ID), Reason: err.Error()})
					continue
				}
				rec.Line = line
				recs = append(recs, rec)
			}
		}
	}
	if !sawContainer {
		return nil, nil, errors.New("tokenfile: PSKC: no KeyContainer element")
	}
	return recs, bad, nil
}

func keyLabel(serial, id string) string {
	serial, id = safeKey(strings.TrimSpace(serial)), safeKey(strings.TrimSpace(id))
	switch {
	case serial != "" && id != "":
		return "serial " + serial + ", key " + id
	case serial != "":
		return "serial " + serial
	case id != "":
		return "key " + id
	}
	return ""
}

// algorithmName returns "hotp" for urn:ietf:params:xml:ns:keyprov:pskc:hotp
// (and the drafts' ...pskc#hotp).
func algorithmName(uri string) string {
	uri = strings.TrimSpace(uri)
	for _, p := range []string{"urn:ietf:params:xml:ns:keyprov:pskc:", "urn:ietf:params:xml:ns:keyprov:pskc#"} {
		if strings.HasPrefix(uri, p) {
			return strings.ToLower(uri[len(p):])
		}
	}
	return ""
}

func (c *pskcContext) record(p pskcPackage, k pskcKey) (Record, error) {
	alg := algorithmName(k.Algorithm)
	if alg != "hotp" && alg != "totp" {
		if k.Algorithm == "" {
			return Record{}, errors.New("key has no Algorithm")
		}
		return Record{}, fmt.Errorf("algorithm %q not supported (HOTP and TOTP only)", clip(k.Algorithm))
	}
	serial := strings.TrimSpace(p.SerialNo)
	if serial == "" {
		serial = strings.TrimSpace(k.ID)
	}
	if serial == "" {
		return Record{}, errors.New("no serial: neither DeviceInfo/SerialNo nor Key Id")
	}
	if err := checkSerial(serial); err != nil {
		return Record{}, err
	}
	digits := 6
	if k.Response != nil {
		if e := strings.TrimSpace(k.Response.Encoding); e != "" && !strings.EqualFold(e, "DECIMAL") {
			return Record{}, fmt.Errorf("response encoding %q not supported (DECIMAL only)", clip(e))
		}
		if l := strings.TrimSpace(k.Response.Length); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || (n != 6 && n != 8) {
				return Record{}, fmt.Errorf("response length %q not supported (6 or 8)", clip(l))
			}
			digits = n
		}
	}
	if !k.Secret.present() {
		return Record{}, errors.New("secret: missing")
	}
	secret, err := c.binary(k.Secret)
	if err != nil {
		return Record{}, fmt.Errorf("secret: %w", err)
	}
	if len(secret) < otp.MinSecretBytes || len(secret) > otp.MaxSecretBytes {
		return Record{}, fmt.Errorf("secret: %d bytes, want %d to %d", len(secret), otp.MinSecretBytes, otp.MaxSecretBytes)
	}
	rec := Record{Serial: serial, Secret: secret, KeyID: strings.TrimSpace(k.ID)}
	if alg == "hotp" {
		rec.Type = "h" + strconv.Itoa(digits)
		if k.Counter.present() {
			n, err := c.integer(k.Counter)
			if err != nil {
				return Record{}, fmt.Errorf("counter: %w", err)
			}
			rec.Counter = n
		}
		return rec, nil
	}
	rec.Type = "t" + strconv.Itoa(digits)
	rec.TOTPStep = 30
	if k.TimeInterval.present() {
		n, err := c.integer(k.TimeInterval)
		if err != nil {
			return Record{}, fmt.Errorf("time interval: %w", err)
		}
		if n != 30 && n != 60 {
			return Record{}, fmt.Errorf("time interval %d not supported (30 or 60 seconds)", n)
		}
		rec.TOTPStep = int(n)
	}
	return rec, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// binary returns a data element's bytes: base64 plain value, or the
// decrypted (and, when the container has a MACMethod, authenticated)
// encrypted value.
func (c *pskcContext) binary(v *pskcValue) ([]byte, error) {
	if v.Plain != nil {
		b, err := decodeBase64(*v.Plain)
		if err != nil {
			return nil, errors.New("plain value is not base64")
		}
		return b, nil
	}
	return c.decrypt(v)
}

// integer returns a data element's integer: a decimal plain value, or a
// big-endian encrypted one.
func (c *pskcContext) integer(v *pskcValue) (uint64, error) {
	if v.Plain != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(*v.Plain), 10, 63)
		if err != nil {
			return 0, errors.New("not a non-negative integer")
		}
		return n, nil
	}
	b, err := c.decrypt(v)
	if err != nil {
		return 0, err
	}
	if len(b) == 0 || len(b) > 8 {
		return 0, errors.New("encrypted integer of unexpected length")
	}
	var buf [8]byte
	copy(buf[8-len(b):], b)
	n := binary.BigEndian.Uint64(buf[:])
	if n > 1<<62 {
		return 0, errors.New("too large")
	}
	return n, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}

func keyLenFor(alg string) int {
	switch strings.TrimSpace(alg) {
	case algAES128CBC:
		return 16
	case algAES192CBC:
		return 24
	case algAES256CBC:
		return 32
	}
	return 0
}

// cbcDecrypt decrypts XML Encryption's AES-CBC: the IV is the first block;
// the last byte of the plaintext gives the padding length.
func cbcDecrypt(key []byte, alg, cipherValue string) ([]byte, error) {
	want := keyLenFor(alg)
	if want == 0 {
		return nil, fmt.Errorf("encryption algorithm %q not supported (aes128-cbc, aes192-cbc, aes256-cbc)", clip(alg))
	}
	if len(key) != want {
		return nil, fmt.Errorf("the pre-shared key has %d bytes; %s needs %d", len(key), alg[strings.LastIndex(alg, "#")+1:], want)
	}
	ct, err := decodeBase64(cipherValue)
	if err != nil {
		return nil, errors.New("cipher value is not base64")
	}
	if len(ct) < 2*aes.BlockSize || len(ct)%aes.BlockSize != 0 {
		return nil, errors.New("cipher value has a bad length")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errors.New("bad pre-shared key")
	}
	iv, body := ct[:aes.BlockSize], ct[aes.BlockSize:]
	pt := make([]byte, len(body))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, body)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize || pad > len(pt) {
		return nil, errors.New("decryption failed (wrong pre-shared key?)")
	}
	return pt[:len(pt)-pad], nil
}

func (c *pskcContext) decrypt(v *pskcValue) ([]byte, error) {
	if v.Encrypted == nil {
		return nil, errors.New("missing")
	}
	if len(c.psk) == 0 {
		return nil, errors.New("encrypted; give the pre-shared key to decrypt it")
	}
	if c.mac != nil {
		if err := c.checkMAC(v); err != nil {
			return nil, err
		}
	}
	return cbcDecrypt(c.psk, v.Encrypted.Method.Algorithm, v.Encrypted.CipherValue)
}

// checkMAC verifies ValueMAC, the HMAC of IV and cipher text under the
// container's MAC key (itself encrypted with the pre-shared key), as RFC
// 6030 section 6.1.1 asks.
func (c *pskcContext) checkMAC(v *pskcValue) error {
	if !c.macKeyOK && c.macErr == "" {
		c.macErr = "the container's MACKey cannot be read"
		if c.mac.MACKey != nil {
			k, err := cbcDecrypt(c.psk, c.mac.MACKey.Method.Algorithm, c.mac.MACKey.CipherValue)
			if err != nil {
				c.macErr = "MAC key: " + err.Error()
			} else {
				c.macKey, c.macKeyOK, c.macErr = k, true, ""
			}
		}
	}
	if !c.macKeyOK {
		return errors.New(c.macErr)
	}
	var h func() hash.Hash
	switch strings.TrimSpace(c.mac.Algorithm) {
	case algHMACSHA1:
		h = sha1.New
	case algHMACSHA2:
		h = sha256.New
	default:
		return fmt.Errorf("MAC algorithm %q not supported", clip(c.mac.Algorithm))
	}
	if strings.TrimSpace(v.ValueMAC) == "" {
		return errors.New("ValueMAC missing although the container has a MACMethod")
	}
	want, err := decodeBase64(v.ValueMAC)
	if err != nil {
		return errors.New("ValueMAC is not base64")
	}
	ct, err := decodeBase64(v.Encrypted.CipherValue)
	if err != nil {
		return errors.New("cipher value is not base64")
	}
	m := hmac.New(h, c.macKey)
	m.Write(ct)
	if !hmac.Equal(m.Sum(nil), want) {
		return errors.New("MAC check failed (wrong pre-shared key or altered file)")
	}
	return nil
}
