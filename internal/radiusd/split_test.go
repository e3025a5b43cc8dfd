package radiusd

import (
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

func TestSplitPassword(t *testing.T) {
	tests := []struct {
		give         string
		withPassword bool
		wantPassword string
		wantFactor   string
	}{
		{"123456", false, "", "123456"},
		{" push ", false, "", "push"},
		{"hunter2,123456", true, "hunter2", "123456"},
		{"hunter2,push2", true, "hunter2", "push2"},
		{"a,b,c,phone", true, "a,b,c", "phone"},
		{"pass,word", true, "pass,word", ""},         // "word" is no factor: all password
		{"hunter2123456", true, "hunter", "2123456"}, // the whole trailing run of digits: use the comma form
		{"secret1234567", true, "secret", "1234567"},
		{"secret123456789", true, "secret", "123456789"},
		{"secret1234567890", true, "secret1234567890", ""}, // 10 digits: ambiguous, no factor
		{"secret12345", true, "secret12345", ""},
		{"123456", true, "123456", ""}, // nothing before the digits: a password
		{"hunter2", true, "hunter2", ""},
	}
	for _, tt := range tests {
		p, f := splitPassword(tt.give, tt.withPassword)
		if p != tt.wantPassword || f != tt.wantFactor {
			t.Errorf("splitPassword(%q, %v) = %q, %q; want %q, %q", tt.give, tt.withPassword, p, f, tt.wantPassword, tt.wantFactor)
		}
	}
}

func TestMessageAuthenticator(t *testing.T) {
	secret := []byte("0123456789abcdef")
	p := radius.New(radius.CodeAccessRequest, secret)
	rfc2865.UserName_SetString(p, "alice")
	rfc2865.UserPassword_SetString(p, "123456")
	b, err := EncodeRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRequest(b, secret); err != nil {
		t.Errorf("checkRequest(signed) = %v, want nil", err)
	}
	if err := checkRequest(b, []byte("another-secret-0")); err != errBadMsgAuth {
		t.Errorf("checkRequest(wrong secret) = %v, want errBadMsgAuth", err)
	}
	tampered := append([]byte(nil), b...)
	tampered[len(tampered)-1] ^= 1
	if err := checkRequest(tampered, secret); err != errBadMsgAuth {
		t.Errorf("checkRequest(tampered) = %v, want errBadMsgAuth", err)
	}
	plain, _ := p.Encode()
	if err := checkRequest(plain, secret); err != errNoMsgAuth {
		t.Errorf("checkRequest(unsigned) = %v, want errNoMsgAuth", err)
	}
	// Two Message-Authenticators, or one of the wrong length, are refused.
	q := *p
	q.Attributes = append(radius.Attributes{{Type: attrMessageAuthenticator, Attribute: make(radius.Attribute, 16)}}, p.Attributes...)
	double, _ := EncodeRequest(&q)
	if err := checkRequest(double, secret); err != errBadMsgAuth {
		t.Errorf("checkRequest(two Message-Authenticators) = %v, want errBadMsgAuth", err)
	}
	q.Attributes = append(radius.Attributes{{Type: attrMessageAuthenticator, Attribute: make(radius.Attribute, 4)}}, p.Attributes...)
	short, _ := q.Encode()
	if err := checkRequest(short, secret); err != errBadMsgAuth {
		t.Errorf("checkRequest(short Message-Authenticator) = %v, want errBadMsgAuth", err)
	}

	// An answer: authentic to radius.IsAuthenticResponse and carrying a
	// valid Message-Authenticator as its first attribute.
	resp := reject(p, "no")
	out, err := encodeResponse(resp, p.Authenticator, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !radius.IsAuthenticResponse(out, b, secret) {
		t.Error("encodeResponse: not an authentic response")
	}
	if out[20] != attrMessageAuthenticator {
		t.Errorf("first attribute = %d, want Message-Authenticator", out[20])
	}
	if err := checkResponse(out, p.Authenticator, secret, true); err != nil {
		t.Errorf("checkResponse = %v, want nil", err)
	}
	if err := checkResponse(out, p.Authenticator, []byte("another-secret-0"), true); err == nil {
		t.Error("checkResponse(wrong secret) = nil, want an error")
	}
}

func TestAnswerCache(t *testing.T) {
	now := time.Unix(1e9, 0)
	c := newAnswerCache(30*time.Second, 2)
	var k1, k2, k3 [32]byte
	k1[0], k2[0], k3[0] = 1, 2, 3
	if _, st := c.begin(k1, now); st != cacheNew {
		t.Fatalf("begin(new) = %v, want cacheNew", st)
	}
	if _, st := c.begin(k1, now); st != cacheInFlight {
		t.Errorf("begin(in flight) = %v, want cacheInFlight", st)
	}
	c.finish(k1, []byte("a1"), now)
	if a, st := c.begin(k1, now.Add(29*time.Second)); st != cacheDone || string(a) != "a1" {
		t.Errorf("begin(done) = %q, %v; want a1, cacheDone", a, st)
	}
	if _, st := c.begin(k1, now.Add(31*time.Second)); st != cacheNew {
		t.Errorf("begin(expired) = %v, want cacheNew", st)
	}
	c.abandon(k1)
	if _, st := c.begin(k1, now.Add(31*time.Second)); st != cacheNew {
		t.Errorf("begin(abandoned) = %v, want cacheNew", st)
	}
	// At most max finished answers are kept: the oldest goes first.
	for _, k := range [][32]byte{k2, k3} {
		c.begin(k, now.Add(32*time.Second))
		c.finish(k, []byte("x"), now.Add(32*time.Second))
	}
	c.finish(k1, []byte("y"), now.Add(32*time.Second))
	if _, st := c.begin(k2, now.Add(32*time.Second)); st != cacheNew {
		t.Errorf("begin(oldest beyond max) = %v, want cacheNew", st)
	}
}

func TestState(t *testing.T) {
	key, other := []byte("key-0123456789abcdef0123456789ab"), []byte("other-0123456789abcdef0123456789")
	c := challenge{expires: time.Unix(2e9, 0), client: clientHash("vpn"), username: "alice",
		options: []option{{0, 1}, {1, 1}, {2, 1}}, reply: []byte{25, 5, 'a', 'b', 'c'}}
	c.nonce[3] = 7
	b, err := encodeState(c, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(b, [][]byte{other, key})
	if err != nil {
		t.Fatalf("decodeState(good, second key) = %v", err)
	}
	if got.username != "alice" || got.nonce != c.nonce || !got.expires.Equal(c.expires) || len(got.options) != 3 ||
		got.options[1].keyword() != "phone1" || string(got.reply) != string(c.reply) || got.client != c.client {
		t.Errorf("decodeState = %+v, want %+v", got, c)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x40
		if _, err := decodeState(bad, [][]byte{key}); err == nil {
			t.Errorf("decodeState(byte %d flipped) = nil error", i)
		}
	}
	if _, err := decodeState(b, [][]byte{other}); err == nil {
		t.Error("decodeState(wrong key) = nil error")
	}
	if _, err := decodeState(b[:10], [][]byte{key}); err == nil {
		t.Error("decodeState(short) = nil error")
	}
	c.username = string(make([]byte, 300))
	if _, err := encodeState(c, key); err != errStateTooBig {
		t.Errorf("encodeState(huge) = %v, want errStateTooBig", err)
	}
}
