package origin

import "net/http"

// Check decides whether r may proceed. It returns nil when r's Origin is
// allowed and otherwise an error wrapping ErrNotAllowed; Reason(err) gives
// the short reason, err.Error() adds the offending value for logs.
//
// The rules, in order:
//   - InsecureAllowAnyOrigin: allowed.
//   - No Origin header: allowed, unless RefuseMissing.
//   - More than one Origin header: refused.
//   - "null": refused, unless AllowNull.
//   - Not a well-formed serialized origin "scheme://host[:port]" (userinfo,
//     a path, a query or a fragment make it malformed): refused.
//   - Equal to an entry of AllowedOrigins, or a subdomain of a wildcard
//     entry with the same scheme and port: allowed.
//   - Equal to the request's own origin (same-origin): allowed.
//   - Anything else: refused as cross-origin.
//
// Check looks at any request it is given; it does not require r to be a
// WebSocket handshake.
func (c *Checker) Check(r *http.Request) error {
	if c.anyOrigin {
		return nil
	}
	values := r.Header.Values("Origin")
	switch {
	case len(values) == 0:
		if c.refuseMissing {
			return &refusal{reason: reasonMissing}
		}
		return nil
	case len(values) > 1:
		return &refusal{reason: reasonMultiple}
	}
	v := values[0]
	if v == "null" {
		if c.allowNull {
			return nil
		}
		return &refusal{reason: reasonNull}
	}
	o, err := parseOrigin(v)
	if err != nil {
		return &refusal{reason: reasonMalformed, detail: quote(v) + ": " + err.Error()}
	}
	if _, ok := c.exact[o]; ok {
		return nil
	}
	for _, w := range c.wildcards {
		if w.match(o) {
			return nil
		}
	}
	self, err := c.selfOrigin(r)
	if err != nil {
		return &refusal{reason: reasonCross, detail: "Origin " + quote(v) + "; own origin unknown: " + err.Error()}
	}
	if o == self {
		return nil
	}
	return &refusal{reason: reasonCross, detail: "Origin " + quote(v) + " is not " + quote(self.String())}
}
