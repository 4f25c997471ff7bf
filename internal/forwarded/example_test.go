package forwarded_test

import (
	"fmt"
	"net/netip"

	"github.com/wsgate/wsgate/internal/forwarded"
)

// A request reached us from 10.0.0.1, a trusted proxy, which forwarded it
// for 203.0.113.5 through another trusted proxy. The client's own
// left-most element is spoofed and never read.
func Example() {
	trusted, err := forwarded.NewPrefixes([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	if err != nil {
		panic(err)
	}
	peer := netip.MustParseAddr("10.0.0.1")
	lines := []string{`for=192.0.2.66;host=evil.example, for="203.0.113.5:51000";host=chat.example.com;proto=https, for=10.0.0.7`}

	els, err := forwarded.Parse(lines)
	if err != nil {
		fmt.Println("not read:", err)
		return
	}
	client, vouched := trusted.WalkForwarded(peer, els)
	fmt.Println("client:", client)
	for _, e := range els[len(els)-vouched:] {
		if e.Host != "" {
			fmt.Println("host:", e.Host, e.Proto)
		}
	}
	fmt.Println("X-Forwarded-For client:", trusted.WalkXFF(peer, []string{"192.0.2.66, 203.0.113.5, 10.0.0.7"}))

	_, err = forwarded.Parse([]string{"for=203.0.113.5:80"})
	fmt.Println("unquoted port:", err)
	// Output:
	// client: 203.0.113.5
	// host: chat.example.com https
	// X-Forwarded-For client: 203.0.113.5
	// unquoted port: forwarded: expected ";" or "," after a value
}
