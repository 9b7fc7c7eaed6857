package dns

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// testServer is a real DNS server on 127.0.0.1, UDP and TCP on one free
// port, answering from a zone the test edits while it runs.
type testServer struct {
	Addr string // host:port, UDP and TCP

	mu       sync.Mutex
	records  map[string][]mdns.RR // by lowercase absolute name
	truncate bool                 // UDP answers carry TC and no records

	udpQueries, tcpQueries atomic.Int64
	udp, tcp               *mdns.Server
	done                   chan struct{} // one value per server that stopped
}

// startServer starts a server stopped when the test ends.
func startServer(t testing.TB) *testServer {
	t.Helper()
	s, err := newServer()
	if err != nil {
		t.Fatalf("test DNS server: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newServer starts a server; Close stops it.
func newServer() (*testServer, error) {
	s := &testServer{records: map[string][]mdns.RR{}}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 50 {
			return nil, fmt.Errorf("no port free for both UDP and TCP: %w", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(s.handle(&s.udpQueries, true)), NotifyStartedFunc: notify}
	s.tcp = &mdns.Server{Listener: ln, Handler: mdns.HandlerFunc(s.handle(&s.tcpQueries, false)), NotifyStartedFunc: notify}
	s.done = make(chan struct{}, 2)
	for _, srv := range []*mdns.Server{s.udp, s.tcp} {
		go func() {
			defer func() { s.done <- struct{}{} }()
			srv.ActivateAndServe()
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			s.Close()
			return nil, errors.New("not started within 10s")
		}
	}
	return s, nil
}

// Close stops the server and waits for it.
func (s *testServer) Close() {
	s.udp.Shutdown()
	s.tcp.Shutdown()
	<-s.done
	<-s.done
}

// Port returns the server's port.
func (s *testServer) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Set replaces the records of every name the given records belong to. An
// RR is written in zone-file syntax, such as "nodes.test. 0 IN A 127.0.0.1".
func (s *testServer) Set(t testing.TB, rrs ...string) {
	t.Helper()
	if err := s.set(rrs...); err != nil {
		t.Fatalf("test DNS server: %v", err)
	}
}

func (s *testServer) set(rrs ...string) error {
	parsed := map[string][]mdns.RR{}
	for _, text := range rrs {
		rr, err := mdns.NewRR(text)
		if err != nil || rr == nil {
			return fmt.Errorf("record %q: %v", text, err)
		}
		name := strings.ToLower(rr.Header().Name)
		parsed[name] = append(parsed[name], rr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, list := range parsed {
		s.records[name] = list
	}
	return nil
}

// Remove deletes every record of name (absolute, with the trailing dot).
func (s *testServer) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, strings.ToLower(name))
}

// SetTruncate makes UDP answers truncated, so clients must retry over TCP.
func (s *testServer) SetTruncate(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate = on
}

// handle answers from the zone: the records of the asked name and type
// (NOERROR with no answer when the name has records of other types only),
// NXDOMAIN for a name without any record.
func (s *testServer) handle(count *atomic.Int64, udp bool) func(mdns.ResponseWriter, *mdns.Msg) {
	return func(w mdns.ResponseWriter, req *mdns.Msg) {
		count.Add(1)
		resp := new(mdns.Msg)
		resp.SetReply(req)
		resp.Authoritative = true
		if len(req.Question) != 1 {
			resp.Rcode = mdns.RcodeFormatError
			w.WriteMsg(resp)
			return
		}
		q := req.Question[0]
		s.mu.Lock()
		list, exists := s.records[strings.ToLower(q.Name)]
		truncate := s.truncate && udp
		s.mu.Unlock()
		switch {
		case truncate:
			resp.Truncated = true
		case !exists:
			resp.Rcode = mdns.RcodeNameError
		default:
			for _, rr := range list {
				if rr.Header().Rrtype == q.Qtype {
					rr = mdns.Copy(rr)
					rr.Header().Name = q.Name
					resp.Answer = append(resp.Answer, rr)
				}
			}
		}
		w.WriteMsg(resp)
	}
}

// exampleServer starts a test DNS server with records for the package's
// examples; it returns its address and a function that stops it.
func exampleServer(rrs ...string) (addr string, stop func()) {
	s, err := newServer()
	if err != nil {
		panic(err)
	}
	if err := s.set(rrs...); err != nil {
		s.Close()
		panic(err)
	}
	return s.Addr, s.Close
}
