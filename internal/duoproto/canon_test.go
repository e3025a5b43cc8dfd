package duoproto

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The vectors in this file are copied from Duo's own client tests:
// duo_client_python tests/test_client.py (TestQueryParameters,
// TestCanonicalize, TestSign), duo_api_golang duo_test.go (TestCanonicalize,
// TestCanonicalizeV2, TestCanonicalizeV5, TestSign, TestSignV5) and
// duo_hmac_python test/test_canonicalization.py.

// unicodeParams are the four key/value pairs of duo_client_python's
// TestCanonicalize and TestSign.
var unicodeParams = url.Values{
	"\u469a\u287b\u35d0\u8ef3\u6727\u502a\u0810\ud091\u00c8\uc170": {"\u0f45\u1a76\u341a\u654c\uc23f\u9b09\uabe2\u8343\u1b27\u60d0"},
	"\u7449\u7e4b\uccfb\u59ff\ufe5f\u83b7\uadcc\u900c\ucfd1\u7813": {"\u8db7\u5022\u92d3\u42ef\u207d\u8730\uacfe\u5617\u0946\u4e30"},
	"\u7470\u9314\u901c\u9eae\u40d8\u4201\u82d8\u8c70\u1d31\ua042": {"\u17d9\u0ba8\u9358\uaadf\ua42a\u48be\ufb96\u6fe9\ub7ff\u32f3"},
	"\uc2c5\u2c1d\u2620\u3617\u96b3F\u8605\u20e8\uac21\u5934":      {"\ufba9\u41aa\ubd83\u840b\u2615\u3e6e\u652d\ua8b5\ud56bU"},
}

const unicodeCanon = "%E4%9A%9A%E2%A1%BB%E3%97%90%E8%BB%B3%E6%9C%A7%E5%80%AA%E0%A0%90%ED%82%91%C3%88%EC%85%B0=%E0%BD%85%E1%A9%B6%E3%90%9A%E6%95%8C%EC%88%BF%E9%AC%89%EA%AF%A2%E8%8D%83%E1%AC%A7%E6%83%90&%E7%91%89%E7%B9%8B%EC%B3%BB%E5%A7%BF%EF%B9%9F%E8%8E%B7%EA%B7%8C%E9%80%8C%EC%BF%91%E7%A0%93=%E8%B6%B7%E5%80%A2%E9%8B%93%E4%8B%AF%E2%81%BD%E8%9C%B0%EA%B3%BE%E5%98%97%E0%A5%86%E4%B8%B0&%E7%91%B0%E9%8C%94%E9%80%9C%E9%BA%AE%E4%83%98%E4%88%81%E8%8B%98%E8%B1%B0%E1%B4%B1%EA%81%82=%E1%9F%99%E0%AE%A8%E9%8D%98%EA%AB%9F%EA%90%AA%E4%A2%BE%EF%AE%96%E6%BF%A9%EB%9F%BF%E3%8B%B3&%EC%8B%85%E2%B0%9D%E2%98%A0%E3%98%97%E9%9A%B3F%E8%98%85%E2%83%A8%EA%B0%A1%E5%A4%B4=%EF%AE%A9%E4%86%AA%EB%B6%83%E8%90%8B%E2%98%95%E3%B9%AE%E6%94%AD%EA%A2%B5%ED%95%ABU"

const (
	signSKey   = "gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT"
	signDate   = "Fri, 07 Dec 2012 17:18:00 -0000"
	signHost   = "foO.BAr52.cOm"
	signMethod = "PoSt"
	signPath   = "/Foo/BaR2/qux"
)

func TestCanonParams(t *testing.T) {
	tests := []struct {
		name string
		give url.Values
		want string
	}{
		{"zero", url.Values{}, ""},
		{"nil", nil, ""},
		{"one", url.Values{"realname": {"First Last"}}, "realname=First%20Last"},
		{
			"two",
			url.Values{"realname": {"First Last"}, "username": {"root"}},
			"realname=First%20Last&username=root",
		},
		{
			"stringified bool and int",
			url.Values{"words": {"First Last"}, "success": {"true"}, "digit": {"5"}},
			"digit=5&success=true&words=First%20Last",
		},
		{
			"printable ascii",
			url.Values{
				"digits":      {"0123456789"},
				"letters":     {"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
				"punctuation": {"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"},
				"whitespace":  {"\t\n\x0b\x0c\r "},
			},
			"digits=0123456789&letters=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ&punctuation=%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~&whitespace=%09%0A%0B%0C%0D%20",
		},
		{
			"unicode values",
			url.Values{
				"bar": {"\u2815\uaaa3\u37cf\u4bb7\u36e9\ucc05\u668e\u8162\uc2bd\ua1f1"},
				"baz": {"\u0df3\u84bd\u5669\u9985\ub8a4\uac3a\u7be7\u6f69\u934a\ub91c"},
				"foo": {"\ud4ce\ud6d6\u7938\u50c0\u8a20\u8f15\ufd0b\u8024\u5cb3\uc655"},
				"qux": {"\u8b97\uc846-\u828e\u831a\uccca\ua2d4\u8c3e\ub8b2\u99be"},
			},
			"bar=%E2%A0%95%EA%AA%A3%E3%9F%8F%E4%AE%B7%E3%9B%A9%EC%B0%85%E6%9A%8E%E8%85%A2%EC%8A%BD%EA%87%B1&baz=%E0%B7%B3%E8%92%BD%E5%99%A9%E9%A6%85%EB%A2%A4%EA%B0%BA%E7%AF%A7%E6%BD%A9%E9%8D%8A%EB%A4%9C&foo=%ED%93%8E%ED%9B%96%E7%A4%B8%E5%83%80%E8%A8%A0%E8%BC%95%EF%B4%8B%E8%80%A4%E5%B2%B3%EC%99%95&qux=%E8%AE%97%EC%A1%86-%E8%8A%8E%E8%8C%9A%EC%B3%8A%EA%8B%94%E8%B0%BE%EB%A2%B2%E9%A6%BE",
		},
		{"unicode keys and values", unicodeParams, unicodeCanon},
		{"common prefix", url.Values{"foo_bar": {"2"}, "foo": {"1"}}, "foo=1&foo_bar=2"},
		{
			"several values sorted (duo_api_golang TestCanonicalize)",
			url.Values{"username": {"H ell?o"}, "password": {"H-._~i", "A(!'*)"}},
			"password=A%28%21%27%2A%29&password=H-._~i&username=H%20ell%3Fo",
		},
		{"plus is not a space", url.Values{"a": {"1+1"}}, "a=1%2B1"},
		{"empty key and value", url.Values{"": {""}}, "="},
		{"non-UTF-8 byte", url.Values{"k": {"\xff"}}, "k=%FF"},
		{
			// Sorted by encoded key: "%2F" < "-" although '/' > '-'.
			"sorted by encoded key",
			url.Values{"a-": {"1"}, "a/": {"2"}},
			"a%2F=2&a-=1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanonParams(tt.give); got != tt.want {
				t.Errorf("CanonParams(%v) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}

func TestCanonParamsOrders(t *testing.T) {
	tests := []struct {
		name  string
		give  url.Values
		order paramOrder
		want  string
	}{
		{"python: encoded key", url.Values{"foo": {"1"}, "foo-bar": {"2"}}, orderEncodedKey, "foo=1&foo-bar=2"},
		// duo_unix strcmp()s whole "k=v" strings, and '-' < '='.
		{"duo_unix: encoded pair", url.Values{"foo": {"1"}, "foo-bar": {"2"}}, orderEncodedPair, "foo-bar=2&foo=1"},
		{"go: raw key", url.Values{"a-": {"1"}, "a/": {"2"}}, orderRawKey, "a-=1&a%2F=2"},
		{"go: raw values", url.Values{"k": {"~", " "}}, orderRawKey, "k=%20&k=~"},
		{"python: encoded values", url.Values{"k": {"~", " "}}, orderEncodedKey, "k=%20&k=~"},
		{"python: encoded values differ", url.Values{"k": {"é", "~"}}, orderEncodedKey, "k=%C3%A9&k=~"},
		{"go: raw values differ", url.Values{"k": {"é", "~"}}, orderRawKey, "k=~&k=%C3%A9"},
		{"node: values as given", url.Values{"k": {"b", "a"}, "j": {"z"}}, orderRawKeyWireValues, "j=z&k=b&k=a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonParams(tt.give, tt.order); got != tt.want {
				t.Errorf("canonParams(%v, %d) = %q, want %q", tt.give, tt.order, got, tt.want)
			}
		})
	}
}

func TestCanonParamsDoesNotModifyInput(t *testing.T) {
	give := url.Values{"k": {"b", "a"}}
	for _, o := range []paramOrder{orderEncodedKey, orderRawKey, orderEncodedPair, orderRawKeyWireValues} {
		canonParams(give, o)
	}
	if diff := cmp.Diff(url.Values{"k": {"b", "a"}}, give); diff != "" {
		t.Errorf("canonParams changed its input (-want +got):\n%s", diff)
	}
}

func TestCanonV1V2(t *testing.T) {
	tests := []struct {
		name string
		give func() string
		want string
	}{
		{
			"python test_v1",
			func() string { return CanonV1(signMethod, signHost, signPath, unicodeParams) },
			"POST\nfoo.bar52.com\n/Foo/BaR2/qux\n" + unicodeCanon,
		},
		{
			"python test_v2 and go TestCanonicalizeV2",
			func() string { return CanonV2(signDate, signMethod, signHost, signPath, unicodeParams) },
			signDate + "\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n" + unicodeCanon,
		},
		{
			"go TestCanonicalize",
			func() string {
				return CanonV2("5", "post", "API-XXX.duosecurity.COM", "/auth/v2/ping",
					url.Values{"username": {"H ell?o"}, "password": {"H-._~i", "A(!'*)"}})
			},
			"5\nPOST\napi-xxx.duosecurity.com\n/auth/v2/ping\npassword=A%28%21%27%2A%29&password=H-._~i&username=H%20ell%3Fo",
		},
		{
			"path keeps its case, no params",
			func() string { return CanonV1("get", "Example.COM:8443", "/Auth/V2/Check", nil) },
			"GET\nexample.com:8443\n/Auth/V2/Check\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give(); got != tt.want {
				t.Errorf("canonical string = %q, want %q", got, tt.want)
			}
		})
	}
}

// pythonJSONString is duo_client_python's JSON_STRING, the canonical JSON of
// its JSON_BODY.
const pythonJSONString = `{"alpha":["a","b","c","d"],"data":"abc123","info":{"another":2,"test":1}}`

func TestCanonV4V5(t *testing.T) {
	pyBodyHash := hashHex([]byte(pythonJSONString))
	tests := []struct {
		name string
		give func() string
		want string
	}{
		{
			"go TestCanonicalizeV5",
			func() string {
				body := `{"activation_code":"duo://x1bTAIQGWXppdi2ctPVn-YXBpLWR1bzEuZHVvLnRlc3Q","user_id":"DU439XKOX2W6LMYHWLEV"}`
				return CanonV5(signDate, "post", "FOO.example.CoM", signPath,
					url.Values{"username": {"H ell?o"}}, []byte(body), nil)
			},
			"Fri, 07 Dec 2012 17:18:00 -0000\nPOST\nfoo.example.com\n/Foo/BaR2/qux\nusername=H%20ell%3Fo\n" +
				"9ddab7d898836a76fafbb0dcef7bc83f14036b39bbb1ebbe43044f7c76338fa699eba8f0d3ecb329a084f32ef23c8a1609efad25032923b651e6f3f6d2f7b773\n" +
				"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
		},
		{
			"python test_v5_with_json",
			func() string {
				return CanonV5("Tue, 17 Nov 2020 14:12:00", "POST", "foO.BaR52.cOm", signPath, nil,
					[]byte(pythonJSONString), http.Header{"X-Duo-Header-1": {"header_value_1"}})
			},
			"Tue, 17 Nov 2020 14:12:00\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n\n" + pyBodyHash +
				"\n630b4bfe7e9abd03da2eee8f0a5d4e60a254ec880a839bcc2223bb5b9443e8ef24d58f0254f1f5934bf8c017ebd0fd5b1acf86766bdbe74185e712a4092df3ed",
		},
		{
			"python test_signature_v5_lowers_and_then_sorts_headers",
			func() string {
				return CanonV5("Tue, 17 Nov 2020 14:12:00", "POST", "foO.BaR52.cOm", signPath, nil,
					[]byte(pythonJSONString), http.Header{"x-duo-A": {"header_value_1"}, "X-Duo-B": {"header_value_2"}})
			},
			"Tue, 17 Nov 2020 14:12:00\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n\n" + pyBodyHash +
				"\n60be11a30e0756f2ee2afdce1db849b987dcf86c1133394bd7bbbc9877920330c4d78aceacbb377ab8cbd9a8efe6a410fed4047376635ac71226ab46ca10d2b1",
		},
		{
			"python test_v4_with_json",
			func() string {
				return CanonV4("Tue, 04 Jul 2017 14:12:00", "POST", "foO.BaR52.cOm", signPath, nil, []byte(pythonJSONString))
			},
			"Tue, 04 Jul 2017 14:12:00\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n\n" + pyBodyHash,
		},
		{
			// duo_hmac_python EXPECTED_GET_NO_PARAMS
			"duo_hmac get, no params",
			func() string {
				return CanonV5("date_string", "get", "TEST.duosecurity.com", "/test/the/api", nil, nil, nil)
			},
			"date_string\nGET\ntest.duosecurity.com\n/test/the/api\n\n" + emptySHA512 + "\n" + emptySHA512,
		},
		{
			// duo_hmac_python EXPECTED_POST_NO_PARAMS
			"duo_hmac post, empty json",
			func() string {
				return CanonV5("date_string", "POST", "test.duosecurity.com", "/test/the/api", nil, []byte("{}"), nil)
			},
			"date_string\nPOST\ntest.duosecurity.com\n/test/the/api\n\n" +
				"27c74670adb75075fad058d5ceaf7b20c4e7786c83bae8a32f626f9782af34c9a33c2046ef60fd2a7878d378e29fec851806bbd9a67878f3a9f1cda4830763fd\n" +
				emptySHA512,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give(); got != tt.want {
				t.Errorf("canonical string:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCanonXDuoHeaders(t *testing.T) {
	tests := []struct {
		name string
		give http.Header
		want string
	}{
		{"nil", nil, emptySHA512},
		{"no x-duo header", http.Header{"Date": {"x"}, "Content-Type": {"application/json"}}, emptySHA512},
		{
			"python/duo_hmac mixed case",
			http.Header{"x-duo-A": {"header_value_1"}, "X-Duo-B": {"header_value_2"}, "Date": {"ignored"}},
			"60be11a30e0756f2ee2afdce1db849b987dcf86c1133394bd7bbbc9877920330c4d78aceacbb377ab8cbd9a8efe6a410fed4047376635ac71226ab46ca10d2b1",
		},
		{
			"one header",
			http.Header{"X-Duo-Header-1": {"header_value_1"}},
			"630b4bfe7e9abd03da2eee8f0a5d4e60a254ec880a839bcc2223bb5b9443e8ef24d58f0254f1f5934bf8c017ebd0fd5b1acf86766bdbe74185e712a4092df3ed",
		},
		{
			// duo_hmac's prefix is "x-duo", without the dash.
			"prefix without dash",
			http.Header{"X-Duox": {"v"}},
			hashHex([]byte("x-duox\x00v")),
		},
		{
			"sorted by lower-cased name",
			http.Header{"X-Duo-B": {"2"}, "X-Duo-A": {"1"}},
			hashHex([]byte("x-duo-a\x001\x00x-duo-b\x002")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanonXDuoHeaders(tt.give); got != tt.want {
				t.Errorf("CanonXDuoHeaders(%v) = %s, want %s", tt.give, got, tt.want)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 256; c++ {
		all.WriteByte(byte(c))
	}
	got := escape(all.String())
	// url.PathUnescape inverts it, and only unreserved bytes survive as is.
	back, err := url.PathUnescape(got)
	if err != nil || back != all.String() {
		t.Fatalf("PathUnescape(escape(all bytes)) = %q, %v; want the input back", back, err)
	}
	for i := 0; i < len(got); i++ {
		c := got[i]
		switch {
		case c == '%':
			if i+2 >= len(got) || !strings.ContainsRune("0123456789ABCDEF", rune(got[i+1])) ||
				!strings.ContainsRune("0123456789ABCDEF", rune(got[i+2])) {
				t.Fatalf("escape(all bytes) = %q: not upper-case %%XX at %d", got, i)
			}
			i += 2
		case !unreserved(c):
			t.Fatalf("escape(all bytes) holds %q at %d", c, i)
		}
	}
	if want := 256 - 66; strings.Count(got, "%") != want {
		t.Errorf("escape(all bytes) escaped %d bytes, want %d", strings.Count(got, "%"), want)
	}
}
