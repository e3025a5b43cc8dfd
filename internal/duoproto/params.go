package duoproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/url"
	"strings"
)

// mediaType returns the lower-cased media type of a Content-Type value,
// without parameters such as charset.
func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func isForm(contentType string) bool {
	return mediaType(contentType) == "application/x-www-form-urlencoded"
}

func isJSON(contentType string) bool {
	return mediaType(contentType) == "application/json"
}

// parseForm decodes an application/x-www-form-urlencoded body ("+" is a
// space). On a malformed body it returns what it could decode and a 40002
// error.
func parseForm(body []byte) (url.Values, *Error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return v, BadParam("malformed form body")
	}
	return v, nil
}

// parseJSONParams decodes a flat JSON object into url.Values so that
// handlers read JSON (v5) and form (v1/v2) parameters the same way: strings
// as they are, numbers as written, booleans as "true"/"false", arrays of
// those as several values, null as absent. A nested object or array is a
// 40002 error naming its key. An empty body has no parameters.
func parseJSONParams(body []byte) (url.Values, *Error) {
	out := url.Values{}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, BadParam("JSON body must be an object")
		}
		return nil, BadParam("malformed JSON body")
	}
	if obj == nil { // the body was "null"
		return nil, BadParam("JSON body must be an object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, BadParam("malformed JSON body")
	}
	for k, raw := range obj {
		vals, ok := jsonValues(raw)
		if !ok {
			if k == "" {
				return nil, BadParam(`the parameter with the empty name "" must be a string, number, boolean or array of them`)
			}
			return nil, BadParam(k)
		}
		if len(vals) > 0 {
			out[k] = vals
		}
	}
	return out, nil
}

// jsonValues turns one member of the body object into parameter values;
// ok is false for an object, or an array holding an object or array.
func jsonValues(raw json.RawMessage) (vals []string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return nil, false
		}
		for _, el := range arr {
			s, isNull, ok := jsonScalar(el)
			if !ok {
				return nil, false
			}
			if !isNull {
				vals = append(vals, s)
			}
		}
		return vals, true
	}
	s, isNull, ok := jsonScalar(raw)
	if !ok {
		return nil, false
	}
	if isNull {
		return nil, true
	}
	return []string{s}, true
}

// jsonScalar formats a JSON string, number, boolean or null as a parameter
// value; ok is false for an object or array.
func jsonScalar(raw json.RawMessage) (s string, isNull, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false, false
	}
	switch v := v.(type) {
	case nil:
		return "", true, true
	case string:
		return v, false, true
	case json.Number:
		return v.String(), false, true
	case bool:
		if v {
			return "true", false, true
		}
		return "false", false, true
	}
	return "", false, false
}
