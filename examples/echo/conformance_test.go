package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

// The conformance suite drives the /echo endpoint (the real hub and
// middleware) with hand-built frames over raw TCP, one named case per row,
// following the categories of the Autobahn test suite. Every row names the
// RFC section it checks and ends with its required outcome: an echo, a close
// code (after which the server must close the TCP connection), or a refusal.

// A step is one thing the raw client does or expects.
type step interface {
	run(rc *rawConn) error
	String() string
}

// send writes frames in one write.
type sendStep []frame

func send(f ...frame) step { return sendStep(f) }

func (s sendStep) run(rc *rawConn) error {
	for _, f := range s {
		if f.op == opClose {
			rc.sentClose = true
		}
	}
	return rc.send(s...)
}

func (s sendStep) String() string { return fmt.Sprintf("send %d frames", len(s)) }

// chop writes the frames' bytes in writes of n bytes, so frame headers and
// payloads reach the server split at every boundary.
type chopStep struct {
	n      int
	frames []frame
}

func chop(n int, f ...frame) step { return chopStep{n, f} }

func (s chopStep) run(rc *rawConn) error {
	var b []byte
	for _, f := range s.frames {
		b = append(b, f.encode()...)
	}
	for len(b) > 0 {
		k := min(s.n, len(b))
		if err := rc.write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

func (s chopStep) String() string { return fmt.Sprintf("send in %d-byte writes", s.n) }

// rawStep writes bytes as they are (a partial frame, for example).
type rawStep []byte

func (s rawStep) run(rc *rawConn) error { return rc.write(s) }
func (s rawStep) String() string        { return fmt.Sprintf("send %d raw bytes", len(s)) }

// echoStep expects the next message to be a data message of type op
// holding data; deflated > 0 requires it compressed, < 0 uncompressed.
type echoStep struct {
	op       byte
	data     []byte
	deflated int
}

func echoed(op byte, data []byte) step { return echoStep{op: op, data: data} }
func echoedText(s string) step         { return echoStep{op: opText, data: []byte(s)} }

func (s echoStep) run(rc *rawConn) error {
	op, data, wasCompressed, err := rc.readMessage()
	switch {
	case err != nil:
		return err
	case op != s.op:
		return fmt.Errorf("got op %d (%.60q), want op %d", op, data, s.op)
	case !bytes.Equal(data, s.data):
		return fmt.Errorf("got %d bytes %.40q, want %d bytes %.40q", len(data), data, len(s.data), s.data)
	case s.deflated > 0 && !wasCompressed:
		return errors.New("reply was not compressed")
	case s.deflated < 0 && wasCompressed:
		return errors.New("reply was compressed")
	}
	return nil
}

func (s echoStep) String() string { return fmt.Sprintf("echo of op %d, %d bytes", s.op, len(s.data)) }

// pongStep expects a pong carrying the payload.
type pongStep []byte

func (s pongStep) run(rc *rawConn) error {
	return echoStep{op: opPong, data: s}.run(rc)
}

func (s pongStep) String() string { return fmt.Sprintf("pong of %d bytes", len(s)) }

// closedStep expects the next frame to be a close frame with code (1005: an
// empty close frame), then, unless noEOF, the server to close TCP. If the
// server started the close, the client answers it first.
type closedStep struct {
	code  int
	noEOF bool // the server waits for the rest of a frame we never send
}

func closed(code int) step { return closedStep{code: code} }

func (s closedStep) run(rc *rawConn) error {
	op, p, _, err := rc.readMessage()
	if err != nil {
		return fmt.Errorf("waiting for close %d: %w", s.code, err)
	}
	if op != opClose {
		return fmt.Errorf("got op %d (%.60q), want close %d", op, p, s.code)
	}
	code, reason, err := closeCode(p)
	if err != nil {
		return err
	}
	if code != s.code {
		return fmt.Errorf("got close %d %q, want %d", code, reason, s.code)
	}
	if s.noEOF {
		return nil
	}
	if !rc.sentClose {
		rc.send(closeFrame(code, "")) // the server may already have closed TCP
	}
	return rc.expectEOF()
}

func (s closedStep) String() string { return fmt.Sprintf("close %d", s.code) }

// confCase is one row of the suite.
type confCase struct {
	name   string
	rfc    string // the section checked
	server string // which server: "" (plain), "deflate" or "small"
	offer  string // Sec-WebSocket-Extensions request header, if any
	steps  []step // what the client does and sees first
	want   step   // the required outcome
}

// confServers are the servers of the suite, each a run of the echo program.
func confServers() map[string][]string {
	return map[string][]string{
		"":        nil,                                    // defaults: 16 MiB messages, no compression
		"deflate": {"-compress"},                          // permessage-deflate offered
		"small":   {"-compress", "-max-message", "65536"}, // 64 KiB messages, to reach the limits
	}
}

const offerDeflate = "permessage-deflate; client_max_window_bits"

// pattern returns n bytes of a repeating, non-UTF-8 pattern.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range min(n, 251) {
		b[i] = byte(i*7 + 128)
	}
	for k := 251; k < n; k *= 2 {
		copy(b[k:], b[:k])
	}
	return b
}

func stars(n int) string { return strings.Repeat("*", n) }

// fragments splits p into frames of op (then continuations) of at most n
// bytes; an empty p is one empty final frame.
func fragments(op byte, p []byte, n int) []frame {
	var out []frame
	for first := true; first || len(p) > 0; first = false {
		k := min(n, len(p))
		f := frame{op: opCont, payload: p[:k], fin: k == len(p)}
		if first {
			f.op = op
		}
		out = append(out, f)
		p = p[k:]
	}
	return out
}

func withRSV(f frame, rsv byte) frame { f.rsv = rsv; return f }
func unmasked(f frame) frame          { f.unmasked = true; return f }

func conformanceCases() []confCase {
	var cs []confCase
	add := func(c ...confCase) { cs = append(cs, c...) }

	// Framing and payload lengths (Autobahn 1.x).
	for _, n := range []int{0, 125, 126, 127, 128, 65535, 65536, 16 << 20} {
		s, p := stars(n), pattern(n)
		add(confCase{name: fmt.Sprintf("framing/text-%d", n), rfc: "5.2, 5.6",
			steps: []step{send(text(s))}, want: echoedText(s)})
		add(confCase{name: fmt.Sprintf("framing/binary-%d", n), rfc: "5.2, 5.6",
			steps: []step{send(binaryMsg(p))}, want: echoed(opBinary, p)})
	}
	add(
		confCase{name: "framing/1-byte-writes", rfc: "5.2",
			steps: []step{chop(1, binaryMsg(pattern(300)), text("after"))}, want: echoed(opBinary, pattern(300))},
		confCase{name: "framing/non-minimal-64-bit-length-accepted", rfc: "5.2 (lenient)",
			steps: []step{send(frame{fin: true, op: opText, payload: []byte("small"), len64: true})}, want: echoedText("small")},
		confCase{name: "framing/length-msb-set", rfc: "5.2",
			steps: []step{send(frame{fin: true, op: opBinary, length: 1<<63 | 5, len64: true})}, want: closed(1002)},
		confCase{name: "framing/unmasked-text", rfc: "5.1",
			steps: []step{send(unmasked(text("hi")))}, want: closed(1002)},
		confCase{name: "framing/unmasked-ping", rfc: "5.1",
			steps: []step{send(unmasked(ping([]byte("hi"))))}, want: closed(1002)},
		confCase{name: "framing/unmasked-close", rfc: "5.1",
			steps: []step{send(unmasked(closeFrame(1000, "")))}, want: closed(1002)},
	)

	// Ping and pong (Autobahn 2.x).
	add(
		confCase{name: "ping/empty", rfc: "5.5.2", steps: []step{send(ping(nil))}, want: pongStep{}},
		confCase{name: "ping/text-payload", rfc: "5.5.2", steps: []step{send(ping([]byte("Hello, world!")))}, want: pongStep("Hello, world!")},
		confCase{name: "ping/binary-payload-125", rfc: "5.5.2, 5.5", steps: []step{send(ping(pattern(125)))}, want: pongStep(pattern(125))},
		confCase{name: "ping/payload-126", rfc: "5.5", steps: []step{send(ping(pattern(126)))}, want: closed(1002)},
		confCase{name: "ping/chopped", rfc: "5.5.2", steps: []step{chop(1, ping([]byte("chopped")))}, want: pongStep("chopped")},
		confCase{name: "ping/ten-in-a-row", rfc: "5.5.2",
			steps: append([]step{send(ping([]byte("0")), ping([]byte("1")), ping([]byte("2")), ping([]byte("3")), ping([]byte("4")),
				ping([]byte("5")), ping([]byte("6")), ping([]byte("7")), ping([]byte("8")), ping([]byte("9")))},
				pongStep("0"), pongStep("1"), pongStep("2"), pongStep("3"), pongStep("4"), pongStep("5"), pongStep("6"), pongStep("7"), pongStep("8")),
			want: pongStep("9")},
		confCase{name: "pong/unsolicited-ignored", rfc: "5.5.3", steps: []step{send(pong([]byte("unsolicited")), text("after"))}, want: echoedText("after")},
		confCase{name: "pong/unsolicited-125-ignored", rfc: "5.5.3", steps: []step{send(pong(pattern(125)), text("after"))}, want: echoedText("after")},
		confCase{name: "pong/payload-126", rfc: "5.5", steps: []step{send(pong(pattern(126)))}, want: closed(1002)},
	)

	// Reserved bits (Autobahn 3.x).
	add(
		confCase{name: "rsv/rsv1-text-uncompressed", rfc: "5.2", steps: []step{send(withRSV(text("x"), rsv1))}, want: closed(1002)},
		confCase{name: "rsv/rsv2-text", rfc: "5.2", steps: []step{send(withRSV(text("x"), rsv2))}, want: closed(1002)},
		confCase{name: "rsv/rsv3-binary", rfc: "5.2", steps: []step{send(withRSV(binaryMsg([]byte("x")), rsv3))}, want: closed(1002)},
		confCase{name: "rsv/rsv123-ping", rfc: "5.2", steps: []step{send(withRSV(ping(nil), rsv1|rsv2|rsv3))}, want: closed(1002)},
		confCase{name: "rsv/rsv3-close", rfc: "5.2", steps: []step{send(withRSV(closeFrame(1000, ""), rsv3))}, want: closed(1002)},
		confCase{name: "rsv/after-valid-echo", rfc: "5.2",
			steps: []step{send(text("first")), echoedText("first"), send(withRSV(text("second"), rsv2))}, want: closed(1002)},
	)

	// Reserved opcodes (Autobahn 4.x).
	for _, op := range []byte{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		add(confCase{name: fmt.Sprintf("opcode/reserved-%d", op), rfc: "5.2",
			steps: []step{send(text("first")), echoedText("first"), send(frame{fin: true, op: op, payload: []byte("x")})},
			want:  closed(1002)})
	}

	// Fragmentation (Autobahn 5.x).
	add(
		confCase{name: "fragments/text-two", rfc: "5.4", steps: []step{send(fragment(opText, false, []byte("frag")), fragment(opCont, true, []byte("ment")))}, want: echoedText("fragment")},
		confCase{name: "fragments/binary-1-byte-frames", rfc: "5.4", steps: []step{send(fragments(opBinary, pattern(200), 1)...)}, want: echoed(opBinary, pattern(200))},
		confCase{name: "fragments/empty-fragments", rfc: "5.4",
			steps: []step{send(fragment(opText, false, nil), fragment(opCont, false, nil), fragment(opCont, true, nil))}, want: echoedText("")},
		confCase{name: "fragments/ping-between-fragments", rfc: "5.4, 5.5",
			steps: []step{send(fragment(opText, false, []byte("frag")), ping([]byte("p")), fragment(opCont, true, []byte("ment"))), pongStep("p")},
			want:  echoedText("fragment")},
		confCase{name: "fragments/pong-between-fragments", rfc: "5.4, 5.5",
			steps: []step{send(fragment(opText, false, []byte("frag")), pong([]byte("p")), fragment(opCont, true, []byte("ment")))},
			want:  echoedText("fragment")},
		confCase{name: "fragments/chopped-with-ping", rfc: "5.4",
			steps: []step{chop(1, fragment(opText, false, []byte("frag")), ping([]byte("p")), fragment(opCont, true, []byte("ment"))), pongStep("p")},
			want:  echoedText("fragment")},
		confCase{name: "fragments/continuation-without-start-final", rfc: "5.4",
			steps: []step{send(fragment(opCont, true, []byte("x")))}, want: closed(1002)},
		confCase{name: "fragments/continuation-without-start", rfc: "5.4",
			steps: []step{send(fragment(opCont, false, []byte("x")), fragment(opCont, true, []byte("y")))}, want: closed(1002)},
		confCase{name: "fragments/continuation-after-final", rfc: "5.4",
			steps: []step{send(text("done")), echoedText("done"), send(fragment(opCont, true, []byte("y")))}, want: closed(1002)},
		confCase{name: "fragments/text-inside-text", rfc: "5.4",
			steps: []step{send(fragment(opText, false, []byte("a")), text("b"))}, want: closed(1002)},
		confCase{name: "fragments/binary-inside-text", rfc: "5.4",
			steps: []step{send(fragment(opText, false, []byte("a")), fragment(opBinary, true, []byte("b")))}, want: closed(1002)},
		confCase{name: "fragments/fragmented-ping", rfc: "5.4, 5.5",
			steps: []step{send(fragment(opPing, false, []byte("a")), fragment(opCont, true, []byte("b")))}, want: closed(1002)},
		confCase{name: "fragments/fragmented-pong", rfc: "5.4, 5.5",
			steps: []step{send(fragment(opPong, false, []byte("a")), fragment(opCont, true, []byte("b")))}, want: closed(1002)},
		confCase{name: "fragments/fragmented-close", rfc: "5.4, 5.5",
			steps: []step{send(fragment(opClose, false, []byte{3, 232}), fragment(opCont, true, nil))}, want: closed(1002)},
		confCase{name: "fragments/close-inside-message", rfc: "5.4, 5.5.1",
			steps: []step{send(fragment(opText, false, []byte("a")), closeFrame(1000, ""))}, want: closed(1000)},
	)

	// UTF-8 (Autobahn 6.x). Invalid text fails with 1007 once the message is
	// complete; binary messages are not checked.
	kosme := "κόσμε"
	add(
		confCase{name: "utf8/valid", rfc: "8.1", steps: []step{send(text(kosme))}, want: echoedText(kosme)},
		confCase{name: "utf8/valid-max-code-point", rfc: "8.1", steps: []step{send(text("\U0010FFFF"))}, want: echoedText("\U0010FFFF")},
		confCase{name: "utf8/split-at-code-points", rfc: "5.6, 8.1",
			steps: []step{send(fragment(opText, false, []byte("κό")), fragment(opCont, false, []byte("σμ")), fragment(opCont, true, []byte("ε")))},
			want:  echoedText(kosme)},
		confCase{name: "utf8/split-inside-code-points", rfc: "5.6, 8.1",
			steps: []step{send(fragments(opText, []byte(kosme+"\U0001F600"), 1)...)}, want: echoedText(kosme + "\U0001F600")},
		confCase{name: "utf8/binary-not-checked", rfc: "5.6", steps: []step{send(binaryMsg([]byte{0xff, 0xfe}))}, want: echoed(opBinary, []byte{0xff, 0xfe})},
	)
	for name, bad := range map[string]string{
		"byte-ff":            "\xff",
		"overlong-slash":     "\xc0\xaf",
		"overlong-nul":       "\xe0\x80\x80",
		"surrogate":          "\xed\xa0\x80",
		"above-max":          "\xf4\x90\x80\x80",
		"lone-continuation":  "a\x80b",
		"truncated-sequence": "κ\xce",
		"5-byte-sequence":    "\xf8\x88\x80\x80\x80",
	} {
		add(confCase{name: "utf8/invalid-" + name, rfc: "8.1", steps: []step{send(text(bad))}, want: closed(1007)})
	}
	add(
		confCase{name: "utf8/invalid-in-first-fragment", rfc: "8.1",
			steps: []step{send(fragment(opText, false, []byte("\xed\xa0\x80")), fragment(opCont, true, []byte("ok")))}, want: closed(1007)},
		confCase{name: "utf8/invalid-in-last-fragment", rfc: "8.1",
			steps: []step{send(fragment(opText, false, []byte(kosme)), fragment(opCont, true, []byte("\xf4\x90\x80\x80")))}, want: closed(1007)},
		confCase{name: "utf8/sequence-cut-at-message-end", rfc: "8.1",
			steps: []step{send(fragment(opText, false, []byte("κ")), fragment(opCont, true, []byte("\xcf")))}, want: closed(1007)},
	)

	// Close handling (Autobahn 7.x).
	add(
		confCase{name: "close/empty", rfc: "5.5.1", steps: []step{send(closeFrame(0, ""))}, want: closed(1005)},
		confCase{name: "close/normal", rfc: "5.5.1, 7.4", steps: []step{send(closeFrame(1000, ""))}, want: closed(1000)},
		confCase{name: "close/with-reason", rfc: "5.5.1", steps: []step{send(closeFrame(1000, "bye ✓"))}, want: closed(1000)},
		confCase{name: "close/reason-123-bytes", rfc: "5.5.1, 5.5", steps: []step{send(closeFrame(1000, stars(123)))}, want: closed(1000)},
		confCase{name: "close/reason-124-bytes", rfc: "5.5", steps: []step{send(closeFrame(1000, stars(124)))}, want: closed(1002)},
		confCase{name: "close/1-byte-payload", rfc: "5.5.1", steps: []step{send(frame{fin: true, op: opClose, payload: []byte{3}})}, want: closed(1002)},
		confCase{name: "close/invalid-utf8-reason", rfc: "5.5.1, 8.1", steps: []step{send(closeFrame(1000, "\xed\xa0\x80"))}, want: closed(1002)},
		confCase{name: "close/data-after-close", rfc: "5.5.1", steps: []step{send(closeFrame(1000, ""), text("after"))}, want: closed(1000)},
		confCase{name: "close/ping-after-close", rfc: "5.5.1", steps: []step{send(closeFrame(1000, ""), ping([]byte("p")))}, want: closed(1000)},
		confCase{name: "close/close-after-close", rfc: "5.5.1", steps: []step{send(closeFrame(1000, ""), closeFrame(1001, ""))}, want: closed(1000)},
		confCase{name: "close/after-echo", rfc: "7.1.2", steps: []step{send(text("x")), echoedText("x"), send(closeFrame(1000, ""))}, want: closed(1000)},
	)
	// 1014 (Bad Gateway) was registered after gorilla/websocket's table of
	// received codes; the hub's frame inspector lets it through.
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		add(confCase{name: fmt.Sprintf("close/valid-code-%d", code), rfc: "7.4.1, 7.4.2",
			steps: []step{send(closeFrame(code, "r"))}, want: closed(code)})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		add(confCase{name: fmt.Sprintf("close/invalid-code-%d", code), rfc: "7.4.1, 7.4.2",
			steps: []step{send(frame{fin: true, op: opClose, payload: []byte{byte(code >> 8), byte(code)}})}, want: closed(1002)})
	}

	// permessage-deflate (RFC 7692; Autobahn 12.x and 13.x).
	big := []byte(strings.Repeat(`{"symbol":"ABC","price":101.25,"qty":300},`, 100))
	bad := deflate([]byte("ok \xed\xa0\x80"))
	full := deflate(big)
	add(
		confCase{name: "deflate/small-text", rfc: "RFC 7692 6", server: "deflate", offer: offerDeflate,
			steps: []step{send(compressed(opText, []byte("Hello")))}, want: echoStep{op: opText, data: []byte("Hello"), deflated: -1}},
		confCase{name: "deflate/large-text-compressed-reply", rfc: "RFC 7692 6", server: "deflate", offer: offerDeflate,
			steps: []step{send(compressed(opText, big))}, want: echoStep{op: opText, data: big, deflated: 1}},
		confCase{name: "deflate/binary-64KiB", rfc: "RFC 7692 6", server: "deflate", offer: offerDeflate,
			steps: []step{send(compressed(opBinary, pattern(65536)))}, want: echoed(opBinary, pattern(65536))},
		confCase{name: "deflate/empty", rfc: "RFC 7692 7.2.3.6", server: "deflate", offer: offerDeflate,
			steps: []step{send(compressed(opText, nil))}, want: echoedText("")},
		confCase{name: "deflate/uncompressed-message", rfc: "RFC 7692 6", server: "deflate", offer: offerDeflate,
			steps: []step{send(text("plain"))}, want: echoedText("plain")},
		confCase{name: "deflate/fragmented", rfc: "RFC 7692 6.1", server: "deflate", offer: offerDeflate,
			steps: []step{send(frame{rsv: rsv1, op: opText, payload: full[:len(full)/2]}, fragment(opCont, true, full[len(full)/2:]))},
			want:  echoStep{op: opText, data: big, deflated: 1}},
		confCase{name: "deflate/rsv1-on-continuation", rfc: "RFC 7692 6.1", server: "deflate", offer: offerDeflate,
			steps: []step{send(frame{rsv: rsv1, op: opText, payload: full[:len(full)/2]}, withRSV(fragment(opCont, true, full[len(full)/2:]), rsv1))},
			want:  closed(1002)},
		confCase{name: "deflate/rsv1-on-ping", rfc: "RFC 7692 6.1", server: "deflate", offer: offerDeflate,
			steps: []step{send(text("x")), echoedText("x"), send(withRSV(ping([]byte("p")), rsv1))}, want: closed(1002)},
		confCase{name: "deflate/rsv1-on-pong", rfc: "RFC 7692 6.1", server: "deflate", offer: offerDeflate,
			steps: []step{send(withRSV(pong([]byte("p")), rsv1))}, want: closed(1002)},
		confCase{name: "deflate/rsv1-on-close", rfc: "RFC 7692 6.1", server: "deflate", offer: offerDeflate,
			steps: []step{send(withRSV(closeFrame(1000, ""), rsv1))}, want: closed(1002)},
		confCase{name: "deflate/rsv2-on-compressed", rfc: "5.2", server: "deflate", offer: offerDeflate,
			steps: []step{send(withRSV(compressed(opText, []byte("x")), rsv1|rsv2))}, want: closed(1002)},
		confCase{name: "deflate/invalid-stream", rfc: "RFC 7692 7.2.2", server: "deflate", offer: offerDeflate,
			steps: []step{send(frame{fin: true, rsv: rsv1, op: opBinary, payload: []byte{0xff, 0xff, 0xff, 0xff}})}, want: closed(1007)},
		confCase{name: "deflate/inflates-to-invalid-utf8", rfc: "8.1", server: "deflate", offer: offerDeflate,
			steps: []step{send(frame{fin: true, rsv: rsv1, op: opText, payload: bad})}, want: closed(1007)},
		confCase{name: "deflate/rsv1-without-negotiation", rfc: "5.2, RFC 7692 6", server: "deflate",
			steps: []step{send(compressed(opText, []byte("Hello")))}, want: closed(1002)},
		confCase{name: "deflate/offer-ignored-when-disabled", rfc: "9.1", offer: offerDeflate,
			steps: []step{send(compressed(opText, []byte("Hello")))}, want: closed(1002)},
	)

	// Message-size limits on reassembled and inflated messages.
	zeros := make([]byte, 65537)
	bomb := frame{fin: true, rsv: rsv1, op: opBinary, payload: deflate(make([]byte, 16<<20))}.encode()
	add(
		confCase{name: "limit/text-at-limit", rfc: "10.4", server: "small", steps: []step{send(text(stars(65536)))}, want: echoedText(stars(65536))},
		confCase{name: "limit/text-over-limit", rfc: "10.4, 7.4.1", server: "small", steps: []step{send(text(stars(65537)))}, want: closed(1009)},
		confCase{name: "limit/fragments-over-limit", rfc: "10.4", server: "small",
			steps: []step{send(fragments(opBinary, zeros, 4096)...)}, want: closed(1009)},
		confCase{name: "limit/inflated-over-limit", rfc: "10.4, RFC 7692 8", server: "small", offer: offerDeflate,
			steps: []step{send(compressed(opBinary, zeros))}, want: closed(1009)},
		confCase{name: "limit/compression-bomb-refused-before-frame-ends", rfc: "10.4, RFC 7692 8", server: "small", offer: offerDeflate,
			steps: []step{rawStep(bomb[:len(bomb)/4])}, want: closedStep{code: 1009, noEOF: true}},
	)
	return cs
}

func TestConformance(t *testing.T) {
	addrs := make(map[string]string)
	for name, args := range confServers() {
		addr, stop := start(t, args...)
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Errorf("server %q: %v", name, err)
			}
		})
		addrs[name] = addr
	}
	for _, tc := range conformanceCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var extra []string
			if tc.offer != "" {
				extra = append(extra, "Sec-WebSocket-Extensions: "+tc.offer)
			}
			rc := dialRaw(t, addrs[tc.server], "/echo", extra...)
			if want := tc.offer != "" && tc.server != ""; rc.deflate != want {
				t.Fatalf("permessage-deflate negotiated: %v, want %v", rc.deflate, want)
			}
			for i, s := range append(tc.steps, tc.want) {
				if err := s.run(rc); err != nil {
					t.Fatalf("RFC 6455 %s: step %d (%v): %v", tc.rfc, i, s, err)
				}
			}
		})
	}
}

// TestHandshakeRefusals sends invalid upgrade requests (RFC 6455 section
// 4.2.1) and checks each HTTP answer.
func TestHandshakeRefusals(t *testing.T) {
	addr, stop := start(t)
	t.Cleanup(func() { stop() })
	key := newKey()
	valid := handshakeRequest(addr, "/echo", key)
	cases := []struct {
		name, rfc string
		request   string
		status    int
		header    [2]string // a response header that must be present
	}{
		{name: "valid", rfc: "4.2.2", request: valid, status: 101, header: [2]string{"Sec-WebSocket-Accept", acceptKey(key)}},
		{name: "http-1.0", rfc: "4.1, 4.2.1", request: strings.Replace(valid, "HTTP/1.1", "HTTP/1.0", 1), status: 400},
		{name: "wrong-version", rfc: "4.2.2, 4.4", request: strings.Replace(valid, "Version: 13", "Version: 8", 1), status: 426,
			header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "missing-version", rfc: "4.2.1, 4.4", request: strings.Replace(valid, "Sec-WebSocket-Version: 13\r\n", "", 1), status: 426,
			header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "missing-key", rfc: "4.2.1", request: strings.Replace(valid, "Sec-WebSocket-Key: "+key+"\r\n", "", 1), status: 400},
		{name: "key-not-base64", rfc: "4.2.1", request: strings.Replace(valid, key, "not base64 at all!!!!!!!", 1), status: 400},
		{name: "key-15-bytes", rfc: "4.2.1", request: strings.Replace(valid, key, "AAAAAAAAAAAAAAAAAAAA", 1), status: 400},
		{name: "post", rfc: "4.1, 4.2.1", request: strings.Replace(valid, "GET", "POST", 1), status: 400},
		{name: "missing-upgrade", rfc: "4.2.1", request: strings.Replace(valid, "Upgrade: websocket\r\n", "", 1), status: 400},
		{name: "upgrade-not-websocket", rfc: "4.2.1", request: strings.Replace(valid, "Upgrade: websocket", "Upgrade: h2c", 1), status: 400},
		{name: "missing-connection-upgrade", rfc: "4.2.1", request: strings.Replace(valid, "Connection: Upgrade", "Connection: keep-alive", 1), status: 400},
		{name: "cross-origin", rfc: "10.2", request: strings.Replace(valid, "\r\n\r\n", "\r\nOrigin: http://evil.example\r\n\r\n", 1), status: 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, _, _ := roundTrip(t, addr, tc.request)
			if resp.StatusCode != tc.status {
				t.Fatalf("RFC 6455 %s: status %s, want %d", tc.rfc, resp.Status, tc.status)
			}
			if h := tc.header; h[0] != "" && resp.Header.Get(h[0]) != h[1] {
				t.Fatalf("RFC 6455 %s: %s: %q, want %q", tc.rfc, h[0], resp.Header.Get(h[0]), h[1])
			}
		})
	}
}

// TestExtensionOffers checks which Sec-WebSocket-Extensions offers are
// accepted and what the answer says (RFC 7692 section 5 and 7.1): every
// valid offer is, with the window the client asked for echoed in
// server_max_window_bits (7.1.2.1); invalid ones are declined and the
// connection proceeds uncompressed. In both cases a large message is
// echoed, compressed only if negotiated.
func TestExtensionOffers(t *testing.T) {
	addr, stop := start(t, "-compress")
	t.Cleanup(func() { stop() })
	const noTakeover = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	cases := []struct {
		name   string
		offers []string // one header line each
		answer string   // "" when declined
	}{
		{"plain", []string{"permessage-deflate"}, noTakeover},
		{"client-max-window-bits", []string{"permessage-deflate; client_max_window_bits"}, noTakeover},
		{"client-max-window-bits-10", []string{"permessage-deflate; client_max_window_bits=10"}, noTakeover},
		{"no-context-takeover", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, noTakeover},
		{"server-max-window-bits-15", []string{"permessage-deflate; server_max_window_bits=15"}, noTakeover + "; server_max_window_bits=15"},
		{"quoted-value", []string{`permessage-deflate; server_max_window_bits="15"`}, noTakeover + "; server_max_window_bits=15"},
		{"server-max-window-bits-10", []string{"permessage-deflate; server_max_window_bits=10"}, noTakeover + "; server_max_window_bits=10"},
		{"server-max-window-bits-8", []string{"permessage-deflate; server_max_window_bits=8"}, noTakeover + "; server_max_window_bits=8"},
		{"first-offer-wins", []string{"permessage-deflate; server_max_window_bits=10, permessage-deflate"}, noTakeover + "; server_max_window_bits=10"},
		{"second-offer-acceptable", []string{"permessage-deflate; foo, permessage-deflate"}, noTakeover},
		{"second-header-line", []string{"x-webkit-deflate-frame", "permessage-deflate"}, noTakeover},
		{"unknown-parameter", []string{"permessage-deflate; foo=bar"}, ""},
		{"repeated-parameter", []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, ""},
		{"window-bits-out-of-range", []string{"permessage-deflate; client_max_window_bits=16"}, ""},
		{"server-window-bits-7", []string{"permessage-deflate; server_max_window_bits=7"}, ""},
		{"window-bits-leading-zero", []string{"permessage-deflate; server_max_window_bits=015"}, ""},
		{"value-on-flag-parameter", []string{"permessage-deflate; server_no_context_takeover=1"}, ""},
		{"server-window-bits-without-value", []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"other-extension-only", []string{"x-webkit-deflate-frame"}, ""},
		{"case-differs", []string{"PerMessage-Deflate"}, ""},
		{"malformed", []string{"permessage-deflate; ;"}, ""},
	}
	msg := []byte(strings.Repeat(`{"event":"tick","price":1.5},`, 50))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var extra []string
			for _, o := range tc.offers {
				extra = append(extra, "Sec-WebSocket-Extensions: "+o)
			}
			rc := dialRaw(t, addr, "/echo", extra...)
			if got := rc.resp.Header.Values("Sec-WebSocket-Extensions"); tc.answer == "" && len(got) != 0 ||
				tc.answer != "" && (len(got) != 1 || got[0] != tc.answer) {
				t.Fatalf("offer %q: answered %q, want %q", tc.offers, got, tc.answer)
			}
			f := text(string(msg))
			want := -1
			if tc.answer != "" {
				f, want = compressed(opText, msg), 1
			}
			rc.send(f)
			if err := (echoStep{op: opText, data: msg, deflated: want}).run(rc); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// startHub serves /echo from a hub built with cfg behind the middleware, and
// returns its address and the sessions as they connect.
func startHub(t *testing.T, cfg hub.Config) (string, *hub.Hub, <-chan *hub.Session) {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sessions := make(chan *hub.Session, 16)
	h.OnConnect(func(s *hub.Session) { sessions <- s })
	h.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	ws, err := middleware.New(h, middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), failBound)
		defer cancel()
		h.Shutdown(ctx)
	})
	return strings.TrimPrefix(srv.URL, "http://"), h, sessions
}

func awaitSession(t *testing.T, sessions <-chan *hub.Session) *hub.Session {
	t.Helper()
	select {
	case s := <-sessions:
		return s
	case <-time.After(failBound):
		t.Fatal("no session connected")
		return nil
	}
}

// TestCloseHandshake checks both directions of the close handshake (RFC
// 6455 sections 5.5.1, 7.1.1-7.1.3).
func TestCloseHandshake(t *testing.T) {
	addr, h, sessions := startHub(t, hub.Config{CloseTimeout: 200 * time.Millisecond, MaxTextMessage: 1000})

	t.Run("server-close-peer-answers", func(t *testing.T) {
		rc := dialRaw(t, addr, "/echo")
		s := awaitSession(t, sessions)
		s.Close(4000, "kicked")
		if err := closed(4000).run(rc); err != nil { // answers, then expects TCP closed
			t.Fatal(err)
		}
		<-s.Done()
		if code := hub.CloseStatus(s.Err()); code != 4000 {
			t.Fatalf("session ended with %v, want 4000", s.Err())
		}
	})
	t.Run("server-close-peer-silent", func(t *testing.T) {
		rc := dialRaw(t, addr, "/echo")
		s := awaitSession(t, sessions)
		s.Close(hub.ClosePolicy, "kicked")
		if err := (closedStep{code: hub.ClosePolicy, noEOF: true}).run(rc); err != nil {
			t.Fatal(err)
		}
		// Never answer: the server closes TCP after CloseTimeout.
		if err := rc.expectEOF(); err != nil {
			t.Fatal(err)
		}
		<-s.Done() // gone from the hub before the next case counts sessions
	})
	t.Run("limit-close-peer-answers", func(t *testing.T) {
		rc := dialRaw(t, addr, "/echo")
		s := awaitSession(t, sessions)
		rc.send(text(stars(1001)))
		if err := closed(1009).run(rc); err != nil {
			t.Fatal(err)
		}
		<-s.Done()
	})
	t.Run("peer-close-echoed", func(t *testing.T) {
		rc := dialRaw(t, addr, "/echo")
		s := awaitSession(t, sessions)
		rc.send(closeFrame(3001, "done"))
		if err := closed(3001).run(rc); err != nil {
			t.Fatal(err)
		}
		<-s.Done()
		if code := hub.CloseStatus(s.Err()); code != 3001 {
			t.Fatalf("session ended with %v, want 3001", s.Err())
		}
	})
	t.Run("shutdown-drains", func(t *testing.T) {
		rc := dialRaw(t, addr, "/echo")
		awaitSession(t, sessions)
		res := make(chan hub.ShutdownResult, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), failBound)
			defer cancel()
			r, _ := h.Shutdown(ctx)
			res <- r
		}()
		if err := closed(1001).run(rc); err != nil {
			t.Fatal(err)
		}
		if r := <-res; r.Drained != 1 || r.Forced != 0 {
			t.Fatalf("shutdown %+v, want the session drained", r)
		}
	})
}

// TestFragmentedMessageOverLimit sends a 1000-fragment message over the
// limit and checks the server refuses it with 1009 while most fragments are
// still unsent: it never waits for, or buffers, the whole message.
func TestFragmentedMessageOverLimit(t *testing.T) {
	const (
		textLimit   = 64 << 10 // enforced by the hub on the reassembled message
		binaryLimit = 1 << 20  // also gorilla's frame-level limit (the larger one)
	)
	addr, h, _ := startHub(t, hub.Config{MaxTextMessage: textLimit, MaxBinaryMessage: binaryLimit})
	for _, tc := range []struct {
		name  string
		op    byte
		size  int // of each of the 1000 fragments
		limit int
	}{
		{"text-hub-limit", opText, 1024, textLimit},
		{"binary-frame-limit", opBinary, 2048, binaryLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr, "/echo")
			frags := fragments(tc.op, []byte(stars(1000*tc.size)), tc.size)
			over := tc.limit/tc.size + 1 // the first fragments that pass the limit
			if err := rc.send(frags[:over]...); err != nil {
				t.Fatal(err)
			}
			if err := closed(1009).run(rc); err != nil {
				t.Fatalf("after %d of %d fragments: %v", over, len(frags), err)
			}
			t.Logf("refused with 1009 after %d of %d fragments (%d bytes sent)", over, len(frags), over*tc.size)
		})
	}
	if st := h.Stats(); st.MessagesReceived != 0 {
		t.Fatalf("%d messages were delivered, want none", st.MessagesReceived)
	}
}
