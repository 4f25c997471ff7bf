package hub

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestMetadataConcurrent(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	th.acceptOptions(func(*http.Request) AcceptOptions {
		return AcceptOptions{Metadata: map[string]any{"user": "ann"}}
	})
	_, s := th.dial(t)
	if v, ok := s.Get("user"); !ok || v != "ann" {
		t.Fatalf("AcceptOptions.Metadata not copied: %v %v", v, ok)
	}
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprintf("w%d", w)
			for i := range rounds {
				s.Set(own, i)
				s.Set("tmp"+own, i)
				s.Get("user")
				s.Delete("tmp" + own)
				for k := range s.Metadata() { // a copy: safe to range while others write
					_ = k
				}
			}
		}()
	}
	wg.Wait()
	md := s.Metadata()
	if len(md) != workers+1 {
		t.Fatalf("Metadata has %d entries: %v", len(md), md)
	}
	for w := range workers {
		if v, _ := s.Get(fmt.Sprintf("w%d", w)); v != rounds-1 {
			t.Fatalf("w%d = %v", w, v)
		}
	}
	md["user"] = "mallory" // the copy is not the session's map
	if v, _ := s.Get("user"); v != "ann" {
		t.Fatalf("Metadata returned the live map")
	}
	s.Delete("user")
	if _, ok := s.Get("user"); ok {
		t.Fatal("Delete did not delete")
	}
}

func TestCounters(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	got := make(chan Message, 4)
	th.OnMessage(func(_ *Session, m Message) { got <- m })
	c, s := th.dial(t)
	before := s.LastActivity()
	if !before.Equal(s.ConnectedAt()) {
		t.Fatalf("LastActivity %v before any message, want ConnectedAt %v", before, s.ConnectedAt())
	}
	in := []struct {
		typ  int
		data string
	}{{websocket.TextMessage, "hello"}, {websocket.BinaryMessage, "\x00\x01\x02"}, {websocket.TextMessage, ""}}
	for _, m := range in {
		if err := c.WriteMessage(m.typ, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
		r := <-got
		if int(r.Type) != m.typ || string(r.Data) != m.data {
			t.Fatalf("OnMessage got %v %q, want %d %q", r.Type, r.Data, m.typ, m.data)
		}
	}
	if s.LastActivity().Before(before) || s.LastActivity().Equal(s.ConnectedAt()) {
		t.Fatalf("LastActivity %v not updated (connected %v)", s.LastActivity(), s.ConnectedAt())
	}
	for _, out := range []string{"one", "three"} {
		if err := s.Send(Text(out)); err != nil {
			t.Fatal(err)
		}
		readText(t, c, out)
	}
	c.Close()
	th.awaitEnd(t, s) // the writer has finished counting
	want := Counters{MessagesSent: 2, BytesSent: 8, MessagesReceived: 3, BytesReceived: 8}
	if got := s.Counters(); got != want {
		t.Fatalf("Counters = %+v, want %+v", got, want)
	}
	st := th.Stats()
	if st.MessagesSent != 2 || st.BytesSent != 8 || st.MessagesReceived != 3 || st.BytesReceived != 8 ||
		st.Total != 1 || st.Active != 0 || st.Dropped != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	if err := s.Send(Text("late")); err != ErrClosed {
		t.Fatalf("Send after end: %v, want ErrClosed", err)
	}
}

func TestSessionAccessors(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	th.acceptOptions(func(r *http.Request) AcceptOptions { return AcceptOptions{Subprotocol: "chat.v2"} })
	hdr := http.Header{}
	hdr.Set("X-Custom", "yes")
	hdr.Set("Cookie", "session=abc; theme=dark")
	hdr.Set("Origin", th.srv.URL) // same origin
	d := &websocket.Dialer{HandshakeTimeout: waitFor, Subprotocols: []string{"chat.v1", "chat.v2"}}
	id := "accessors"
	th.waiters.Store(id, make(chan *Session, 1))
	hdr.Set(dialHeader, id)
	ch, _ := th.waiters.Load(id)
	c, _, err := d.Dial(th.url+"/chat/room?x=1", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s *Session
	select {
	case s = <-ch.(chan *Session):
	case <-time.After(waitFor):
		t.Fatal("no session")
	}
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	cases := []struct {
		name      string
		got, want any
	}{
		{"RemoteAddr", s.RemoteAddr(), local},
		{"RemoteAddr is IPv4", s.RemoteAddr().Addr().Is4(), true},
		{"Header", s.Header().Get("X-Custom"), "yes"},
		{"Origin", s.Origin(), th.srv.URL},
		{"URL path", s.URL().Path, "/chat/room"},
		{"URL query", s.URL().Query().Get("x"), "1"},
		{"Subprotocol", s.Subprotocol(), "chat.v2"},
		{"client subprotocol", c.Subprotocol(), "chat.v2"},
		{"cookie count", len(s.Cookies()), 2},
		{"Compressed", s.Compressed(), false},
		{"context open", s.Context().Err(), nil},
		{"context carries request values", s.Context().Value(http.ServerContextKey) != nil, true},
		{"not done", isDone(s.Done()), false},
		{"Err while open", s.Err(), nil},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if ck := s.Cookies(); len(ck) == 2 && (ck[0].Name != "session" || ck[0].Value != "abc") {
		t.Errorf("Cookies = %v", ck)
	}
	h := s.Header()
	h.Set("X-Custom", "changed")
	s.URL().Path = "/changed"
	if s.Header().Get("X-Custom") != "yes" || s.URL().Path != "/chat/room" {
		t.Error("Header or URL returned the request's own value")
	}
	if since := time.Since(s.ConnectedAt()); since < 0 || since > time.Hour {
		t.Errorf("ConnectedAt = %v", s.ConnectedAt())
	}
	c.Close()
	th.awaitEnd(t, s)
	if s.Context().Err() == nil {
		t.Error("context not cancelled after the session ended")
	}
	if CloseStatus(s.Err()) != CloseAbnormal {
		t.Errorf("Err = %v, want %d", s.Err(), CloseAbnormal)
	}
	if _, ok := th.Session(s.ID()); ok {
		t.Error("ended session still in the hub")
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// addrConn is a net.Conn that only tells its remote address.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

type strAddr string

func (a strAddr) Network() string { return "tcp" }
func (a strAddr) String() string  { return string(a) }

func TestRemoteAddrFolding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		addr net.Addr
		want string
	}{
		{"ipv4", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80}, "192.0.2.1:80"},
		{"mapped ipv6 text", strAddr("[::ffff:192.0.2.1]:443"), "192.0.2.1:443"},
		{"mapped ipv6 bytes", &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1"), Port: 8}, "10.0.0.1:8"},
		{"ipv6", strAddr("[2001:db8::1]:9"), "[2001:db8::1]:9"},
		{"unparsable", strAddr("pipe"), "invalid AddrPort"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := remoteAddrPort(addrConn{remote: tc.addr})
			if got.String() != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
			if strings.HasPrefix(tc.want, "1") && !got.Addr().Is4() {
				t.Fatalf("%v not folded to IPv4", got)
			}
		})
	}
}

// TestMaxFrameSize: with MaxFrameSize, a larger message goes out as a first
// frame and continuation frames of at most that size, and a client library
// reassembles it; smaller messages stay one frame.
func TestMaxFrameSize(t *testing.T) {
	t.Parallel()
	const max = 1000
	th := newTestHub(t, Config{PingInterval: -1, MaxFrameSize: max})
	rc, _, s := th.rawDialSession(t, "")
	big := strings.Repeat("0123456789", 250) // 2500 bytes: 1000 + 1000 + 500
	if err := s.Send(Text(big)); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(Binary([]byte("small"))); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		b0 byte
		n  int
	}{{0x01, 1000}, {0x00, 1000}, {0x80, 500}, {0x82, 5}}
	var got []byte
	for i, w := range want {
		b0, p, err := rc.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if b0 != w.b0 || len(p) != w.n {
			t.Fatalf("frame %d: first byte %#x with %d bytes, want %#x with %d", i, b0, len(p), w.b0, w.n)
		}
		if i < 3 {
			got = append(got, p...)
		}
	}
	if string(got) != big {
		t.Fatal("the fragments do not make the message")
	}
	// A client library reads the same as one message.
	c, s2 := th.dial(t)
	if err := s2.Send(Text(big)); err != nil {
		t.Fatal(err)
	}
	readText(t, c, big)
	if _, err := New(Config{MaxFrameSize: -1}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "MaxFrameSize") {
		t.Fatalf("New with MaxFrameSize -1: %v", err)
	}
}

// TestStatsSnapshots: while sessions come and go and messages flow both
// ways, every Stats snapshot has Total = Active + the sum of CloseCodes,
// and no snapshot (of the hub or of a session) counts a message without
// its bytes.
func TestStatsSnapshots(t *testing.T) {
	t.Parallel()
	const size, clients, rounds = 16, 4, 25
	th := newTestHub(t, Config{PingInterval: -1})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) }) // echo
	msg := strings.Repeat("x", size)

	stop := make(chan struct{})
	checked := make(chan error, 1)
	go func() {
		var snapshots int
		for {
			st := th.Stats()
			var ended uint64
			for _, n := range st.CloseCodes {
				ended += n
			}
			switch {
			case st.Total != uint64(st.Active)+ended:
				checked <- fmt.Errorf("Total %d != Active %d + %d ended (%v)", st.Total, st.Active, ended, st.CloseCodes)
				return
			case st.BytesReceived < size*st.MessagesReceived, st.BytesSent < size*st.MessagesSent:
				checked <- fmt.Errorf("messages counted before their bytes: %+v", st)
				return
			}
			snapshots++
			runtime.Gosched() // sample all along, without starving the sessions
			select {
			case <-stop:
				if snapshots == 0 {
					checked <- errors.New("no snapshot taken")
				}
				checked <- nil
				return
			default:
			}
		}
	}()

	errs := make(chan error, clients*rounds)
	for range rounds {
		var wg sync.WaitGroup
		var ss []*Session
		for range clients {
			c, s := th.dial(t)
			ss = append(ss, s)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for range 2 {
					if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
						errs <- err
						return
					}
					if _, _, err := c.ReadMessage(); err != nil {
						errs <- err
						return
					}
					if ct := s.Counters(); ct.BytesSent < size*ct.MessagesSent || ct.BytesReceived < size*ct.MessagesReceived {
						errs <- fmt.Errorf("session counts a message without its bytes: %+v", ct)
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, s := range ss {
			th.awaitEnd(t, s)
		}
	}
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if st := th.Stats(); st.Total != clients*rounds || st.Active != 0 {
		t.Fatalf("at the end: %d sessions, %d active; want %d, 0", st.Total, st.Active, clients*rounds)
	}
}
