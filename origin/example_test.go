package origin_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/wsgate/wsgate/origin"
)

func Example() {
	c, err := origin.New(origin.Policy{
		AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"},
	})
	if err != nil {
		panic(err)
	}
	for _, o := range []string{
		"https://app.example.com",
		"https://a.b.example.org",
		"https://ws.example.net", // the server's own origin
		"https://example.org",
		"https://app.example.com.evil.com",
		"https://app.example.com@evil.com",
		"null",
	} {
		r := httptest.NewRequest(http.MethodGet, "https://ws.example.net/socket", nil)
		r.Header.Set("Origin", o)
		fmt.Printf("%-34s %v\n", o, c.Check(r))
	}
	// Output:
	// https://app.example.com            <nil>
	// https://a.b.example.org            <nil>
	// https://ws.example.net             <nil>
	// https://example.org                origin: not allowed: cross-origin request (Origin "https://example.org" is not "https://ws.example.net:443")
	// https://app.example.com.evil.com   origin: not allowed: cross-origin request (Origin "https://app.example.com.evil.com" is not "https://ws.example.net:443")
	// https://app.example.com@evil.com   origin: not allowed: malformed Origin header ("https://app.example.com@evil.com": userinfo not allowed)
	// null                               origin: not allowed: null Origin
}

func ExampleChecker_Middleware() {
	c, err := origin.New(origin.Policy{}) // same-origin only
	if err != nil {
		panic(err)
	}
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "upgrading") // a real handler calls Upgrader.Upgrade here
	}))

	for _, o := range []string{"http://chat.example.com", "https://evil.example"} {
		r := httptest.NewRequest(http.MethodGet, "http://chat.example.com/ws", nil)
		r.Header.Set("Origin", o)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%s: %d %s", o, w.Code, w.Body)
	}
	// Output:
	// http://chat.example.com: 200 upgrading
	// https://evil.example: 403 origin not allowed: cross-origin request
}

func ExampleNew() {
	_, err := origin.New(origin.Policy{
		AllowedOrigins: []string{"https://app.example.com", "https://*.com"},
	})
	fmt.Println(errors.Is(err, origin.ErrBadPattern))
	fmt.Println(err)
	// Output:
	// true
	// origin: bad pattern: AllowedOrigins[1] "https://*.com": a wildcard over a top-level domain allows too much: use at least two labels after "*."
}

func ExampleReason() {
	c, _ := origin.New(origin.Policy{RefuseMissing: true})
	r := httptest.NewRequest(http.MethodGet, "http://chat.example.com/ws", nil)
	err := c.Check(r)
	fmt.Println(origin.Reason(err))
	// Output:
	// missing Origin header
}
