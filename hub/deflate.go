package hub

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"strconv"
	"strings"
	"sync"

	kflate "github.com/klauspost/compress/flate"
)

// permessage-deflate (RFC 7692) is done by the hub, not by gorilla/websocket,
// which knows neither context takeover nor window sizes. gorilla is told
// nothing about compression: the hub negotiates (negotiateDeflate), writes
// compressed frames itself (flushConn.writeData with rsv1), and the frame
// inspector clears RSV1 on the first frame of each compressed message before
// gorilla reads it, noting the message in a queue the reader pops
// (frameInspector.deflated), so gorilla hands over the deflated bytes as
// they came and the reader inflates them (inflateMessage).
//
// Memory. Compressors and decompressors are shared by the hub through pools,
// never held by a session. A session with context takeover keeps only the
// last bytes it sent compressed (at most 2^ServerWindowBits) and the last
// bytes it received compressed (at most 2^ClientWindowBits): the window each side's
// compressor may refer back to. Each message is compressed by a pooled
// compressor primed with the session's window (ResetDict), and inflated by a
// pooled decompressor primed with the other (flate.Resetter); priming costs
// time proportional to the window, which is why small windows are cheap.

// Deflate is what a compressing session negotiated (RFC 7692); see
// Compression.
type Deflate struct {
	// ServerContextTakeover: the hub compresses each message against what
	// it sent the session before.
	ServerContextTakeover bool
	// ClientContextTakeover: the client does the same, and the hub inflates
	// each message against what it received before.
	ClientContextTakeover bool
	// ServerWindowBits and ClientWindowBits are the two LZ77 windows, in
	// bits: the hub's, and the largest the client may use.
	ServerWindowBits, ClientWindowBits int
	// WindowBytes is the most memory the session keeps for context
	// takeover: 2^ServerWindowBits with server takeover plus
	// 2^ClientWindowBits with client takeover. Compressors are shared.
	WindowBytes int
}

// Deflate reports what the session negotiated, and false when it does not
// compress.
func (s *Session) Deflate() (Deflate, bool) {
	if s.deflate == nil {
		return Deflate{}, false
	}
	return s.deflate.Deflate, true
}

// deflateOffer is the parsed form of one permessage-deflate offer.
type deflateOffer struct {
	serverNoTakeover bool
	clientNoTakeover bool
	serverBits       int  // server_max_window_bits, 0 when absent
	clientBitsParam  bool // client_max_window_bits is present
	clientBits       int  // its value, 0 when it has none
}

// negotiateDeflate returns the parameters and the response for the first
// permessage-deflate offer in the Sec-WebSocket-Extensions values vals that
// the hub can honour under c, or false. An offer is honoured when every
// parameter is known, appears once and has a valid value (RFC 7692 section
// 7.1); a value that is not well formed (RFC 6455 section 9.1) is ignored as
// a whole. Every window size is honoured: a client asking for a smaller
// server window gets one.
func negotiateDeflate(vals []string, c *Compression) (Deflate, string, bool) {
	for _, v := range vals {
		var off deflateOffer
		found := false
		ok := scanExtensions(v, func(name string, params []extParam) bool {
			if !found && name == "permessage-deflate" {
				off, found = parseDeflateOffer(params)
			}
			return true // the whole value must be well formed
		})
		if found && ok {
			p, resp := off.answer(c)
			return p, resp, true
		}
	}
	return Deflate{}, "", false
}

// parseDeflateOffer applies RFC 7692 section 7.1 to the parameters of one
// offer.
func parseDeflateOffer(params []extParam) (deflateOffer, bool) {
	var off deflateOffer
	var seen [4]bool
	for _, p := range params {
		var i int
		switch p.name {
		case "server_no_context_takeover":
			i, off.serverNoTakeover = 0, true
			if p.hasValue {
				return off, false
			}
		case "client_no_context_takeover":
			i, off.clientNoTakeover = 1, true
			if p.hasValue {
				return off, false
			}
		case "server_max_window_bits":
			i = 2
			if !p.hasValue || !validWindowBits(p.value) {
				return off, false
			}
			off.serverBits, _ = strconv.Atoi(p.value)
		case "client_max_window_bits":
			i, off.clientBitsParam = 3, true
			if p.hasValue {
				if !validWindowBits(p.value) {
					return off, false
				}
				off.clientBits, _ = strconv.Atoi(p.value)
			}
		default:
			return off, false
		}
		if seen[i] {
			return off, false
		}
		seen[i] = true
	}
	return off, true
}

// answer decides the parameters for an acceptable offer and writes the
// response (RFC 7692 section 7.1):
//   - the hub takes over its own context when configured to and the client
//     did not refuse (server_no_context_takeover);
//   - its window is the configured one, or the client's server_max_window_bits
//     when smaller, echoed in the response when the client sent it;
//   - the client may take over its context when configured and the hub can
//     bound the client's window to ClientWindowBits: it can when the client
//     offered client_max_window_bits (answered with the bound when smaller
//     than what the client would use) or when the bound is 15; otherwise
//     the response says client_no_context_takeover.
func (off deflateOffer) answer(c *Compression) (Deflate, string) {
	p := Deflate{
		ServerWindowBits: orDefault(c.WindowBits, 15),
		ClientWindowBits: 15,
	}
	if off.serverBits != 0 && off.serverBits < p.ServerWindowBits {
		p.ServerWindowBits = off.serverBits
	}
	p.ServerContextTakeover = c.ContextTakeover && !off.serverNoTakeover

	limit := orDefault(c.ClientWindowBits, 15)
	sayClientBits := false
	if c.ContextTakeover && !off.clientNoTakeover {
		switch {
		case off.clientBitsParam:
			p.ClientContextTakeover = true
			p.ClientWindowBits = orDefault(off.clientBits, 15)
			if limit < p.ClientWindowBits {
				p.ClientWindowBits, sayClientBits = limit, true
			}
		case limit == 15:
			p.ClientContextTakeover = true
		}
	}
	if p.ServerContextTakeover {
		p.WindowBytes += 1 << p.ServerWindowBits
	}
	if p.ClientContextTakeover {
		p.WindowBytes += 1 << p.ClientWindowBits
	}

	var b strings.Builder
	b.WriteString("permessage-deflate")
	if !p.ServerContextTakeover {
		b.WriteString("; server_no_context_takeover")
	}
	if !p.ClientContextTakeover {
		b.WriteString("; client_no_context_takeover")
	}
	if off.serverBits != 0 {
		b.WriteString("; server_max_window_bits=" + strconv.Itoa(p.ServerWindowBits))
	}
	if sayClientBits {
		b.WriteString("; client_max_window_bits=" + strconv.Itoa(p.ClientWindowBits))
	}
	return p, b.String()
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// deflateState is a compressing session's: what it negotiated and, with
// context takeover, its two windows.
type deflateState struct {
	Deflate
	sent []byte // the last bytes sent compressed, at most 2^ServerWindowBits; writer only
	recv []byte // the last bytes received compressed, at most 2^ClientWindowBits; reader only
}

// primer returns the part of the sent window a compressor is primed with
// for a message of n bytes: the most recent primeMin bytes, or 2n for a
// larger message. Priming costs time in proportion to its length (a
// compressor hashes all of it), while the matches a stream of similar
// messages finds are mostly in the last few; referring to less than the
// whole window is always allowed.
func (d *deflateState) primer(n int) []byte {
	k := max(primeMin, 2*n)
	if len(d.sent) <= k {
		return d.sent
	}
	return d.sent[len(d.sent)-k:]
}

const primeMin = 4 << 10

// remember appends msg to the window w of at most max bytes, keeping its
// last bytes.
func remember(w []byte, msg []byte, max int) []byte {
	if len(msg) >= max {
		if cap(w) < max {
			w = make([]byte, 0, max)
		}
		return append(w[:0], msg[len(msg)-max:]...)
	}
	if over := len(w) + len(msg) - max; over > 0 {
		w = w[:copy(w, w[over:])]
	}
	if cap(w) < max && len(w)+len(msg) > cap(w) {
		w = append(make([]byte, 0, min(max, 2*(len(w)+len(msg)))), w...)
	}
	return append(w, msg...)
}

// deflaters pools compressors: one pool per window size (8 to 15 bits),
// each made for the hub's level.
type deflaters struct {
	level int
	pools [8]sync.Pool // of *compressor
}

// compressor is a pooled compressor with the buffer it writes into.
type compressor struct {
	w   *kflate.Writer
	out bytes.Buffer
}

// deflateTail is the empty stored block a sync flush ends with; RFC 7692
// section 7.2.1 has the sender remove it and the receiver put it back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// compress appends to dst the deflated form of msg for a window of bits,
// primed with dict (the session's window, or nil), without the trailing
// empty block.
func (d *deflaters) compress(dst, msg, dict []byte, bits int) ([]byte, error) {
	pool := &d.pools[bits-8]
	c, _ := pool.Get().(*compressor)
	if c == nil {
		w, err := d.newWriter(bits)
		if err != nil {
			return dst, err
		}
		c = &compressor{w: w}
	}
	c.out.Reset()
	c.w.ResetDict(&c.out, dict)
	_, err := c.w.Write(msg)
	if err == nil {
		err = c.w.Flush()
	}
	c.w.ResetDict(nil, nil) // let go of dict
	if err == nil {
		dst = append(dst, bytes.TrimSuffix(c.out.Bytes(), deflateTail)...)
	}
	if c.out.Cap() > 64<<10 {
		c.out = bytes.Buffer{} // a large message's buffer is not kept
	}
	pool.Put(c)
	return dst, err
}

// newWriter makes a compressor for the hub's level and a window of bits.
// Stored blocks and Huffman-only coding refer back to nothing, so any
// window takes them; levels 1 to 9 below 15 bits use the compressor that
// bounds its back-references to the window.
func (d *deflaters) newWriter(bits int) (*kflate.Writer, error) {
	switch {
	case d.level == LevelNoCompression:
		return kflate.NewWriter(nil, kflate.NoCompression)
	case d.level == LevelHuffmanOnly:
		return kflate.NewWriter(nil, kflate.HuffmanOnly)
	case bits < 15:
		return kflate.NewWriterWindow(nil, 1<<bits)
	}
	return kflate.NewWriter(nil, d.level)
}

// inflaters pools decompressors (compress/flate's: 32 KiB of window and
// tables each) with their input buffers.
var inflaters sync.Pool

// inflater reads one compressed message: the deflated payload (src), put
// back together with the empty block the sender removed and an empty final
// block, so that the stream ends where the message does.
type inflater struct {
	fr   io.ReadCloser
	br   *bufio.Reader // over the inflater itself: flate reads bytes
	src  io.Reader
	tail int // bytes of inflateTail passed on
}

const inflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"

// inflateMessage returns a pooled inflater whose fr reads the inflated
// message that r yields deflated, referring back into dict (the session's
// received window, or nil). release returns it to the pool.
func inflateMessage(r io.Reader, dict []byte) *inflater {
	inf, _ := inflaters.Get().(*inflater)
	if inf == nil {
		inf = new(inflater)
		inf.br = bufio.NewReader(inf)
	}
	inf.src, inf.tail = r, 0
	inf.br.Reset(inf)
	if inf.fr == nil {
		inf.fr = flate.NewReaderDict(inf.br, dict)
	} else if err := inf.fr.(flate.Resetter).Reset(inf.br, dict); err != nil {
		panic(err) // compress/flate's Reset never fails
	}
	return inf
}

// release returns inf to the pool once its message is read.
func (inf *inflater) release() {
	inf.src = nil
	inflaters.Put(inf)
}

func (inf *inflater) Read(p []byte) (int, error) {
	if inf.src != nil {
		n, err := inf.src.Read(p)
		if err != io.EOF {
			return n, err
		}
		inf.src = nil
		if n > 0 {
			return n, nil
		}
	}
	if inf.tail == len(inflateTail) {
		return 0, io.EOF
	}
	n := copy(p, inflateTail[inf.tail:])
	inf.tail += n
	return n, nil
}

// compressedForms caches an outbound message's deflated payload per window
// size, for sessions without context takeover: a broadcast is compressed
// once per window size in use, not once per session.
type compressedForms [8]struct {
	once sync.Once
	data []byte
	err  error
}

// deflated returns o's payload deflated for a window of bits, computing it
// on first use.
func (o *outbound) deflated(d *deflaters, bits int) ([]byte, error) {
	forms := o.comp.Load()
	if forms == nil {
		o.comp.CompareAndSwap(nil, new(compressedForms))
		forms = o.comp.Load()
	}
	f := &forms[bits-8]
	f.once.Do(func() { f.data, f.err = d.compress(nil, o.data, nil, bits) })
	return f.data, f.err
}
