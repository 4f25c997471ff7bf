package auth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// descriptions every extraction error may carry; anything else would mean
// input leaked into a message.
var extractDescriptions = []string{
	"", descMalformedHeader, descMultipleHeaders, descMalformedProtocol,
	descMultipleProtocol, descMultipleCookies, descMultipleQuery, descTooLarge,
}

// FuzzExtract feeds arbitrary Authorization, Sec-WebSocket-Protocol (one
// header line per '\n'), Cookie and query values to the extraction and
// checks its invariants, plus those of parseBearer and StripProtocolToken.
func FuzzExtract(f *testing.F) {
	f.Add("Bearer abc.def.ghi", "chat.v1", "", "")
	f.Add("", "chat.v1, base64url.bearer.authorization.YS5iLmM", "", "")
	f.Add("", "", "access_token=a.b.c", "access_token=x")
	f.Add("bearer   a-b_c~d+e/f==", "", "", "")
	f.Add("Basic Zm9vOmJhcg==", "base64url.bearer.authorization.", "", "")
	f.Add("Bearer", "base64url.bearer.authorization.a\nbase64url.bearer.authorization.b", "access_token=1; access_token=2", "access_token=1&access_token=2")
	v := &Verifier{
		sources:        []Source{FromHeader, FromProtocol, FromCookie, FromQuery},
		cookieName:     DefaultCookieName,
		queryParam:     DefaultQueryParam,
		protocolPrefix: DefaultProtocolPrefix,
	}
	f.Fuzz(func(t *testing.T, authz, proto, cookie, query string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: query}}
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if proto != "" {
			r.Header[protocolHeader] = strings.Split(proto, "\n")
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}

		tok, src, err := v.extract(r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if !slices.Contains(extractDescriptions, e.Description) {
				t.Fatalf("unexpected description %q", e.Description)
			}
			if e.Kind != ErrMissingToken && e.Kind != ErrInvalidToken {
				t.Fatalf("unexpected kind %v", e.Kind)
			}
		} else {
			if tok == "" || len(tok) > maxTokenLen || !src.valid() {
				t.Fatalf("extract = %q, %v", tok, src)
			}
			if src == FromProtocol {
				entry := EncodeProtocolToken(DefaultProtocolPrefix, tok)
				back, e := tokenFromProtocol(http.Header{protocolHeader: {entry}}, DefaultProtocolPrefix)
				if e != nil || back != tok {
					t.Fatalf("protocol round trip: %q -> %q (%v)", tok, back, e)
				}
			}
		}

		if btok, ok, isBearer := parseBearer(authz); ok {
			if !isBearer || !isB64Token(btok) || !strings.Contains(authz, btok) {
				t.Fatalf("parseBearer(%q) = %q", authz, btok)
			}
		}

		var before []string
		protocolEntries(r.Header, func(e string) {
			if !strings.HasPrefix(e, DefaultProtocolPrefix) {
				before = append(before, e)
			}
		})
		h := r.Header.Clone()
		StripProtocolToken(h, DefaultProtocolPrefix)
		var after []string
		protocolEntries(h, func(e string) { after = append(after, e) })
		if !slices.Equal(before, after) {
			t.Fatalf("strip: kept %q, want %q", after, before)
		}
		if len(h[protocolHeader]) > 1 {
			t.Fatalf("strip left %d header lines", len(h[protocolHeader]))
		}
	})
}
